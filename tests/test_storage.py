"""Saved agents reload exactly: weights, observation statistics, checkpoints with replay buffers."""

from __future__ import annotations

import numpy as np
import torch

from agents.evaluation import evaluate
from agents.session import SessionOptions, prepare
from agents.training_state import load_checkpoint, restore_checkpoint, save_checkpoint


def test_reloaded_agent_scores_what_it_scored_with_its_normalisation(tmp_path):
    options = SessionOptions(agent="ppo", env="Acrobot", timesteps=2048, runs_dir=tmp_path, progress=False,
                             hp=["n_steps=64", "n_envs=4", "batch_size=64"])
    trained = prepare(options, say=lambda message: None)
    assert trained.normalizer is not None and (trained.run_dir / "normalization.json").is_file()
    before = evaluate(trained.controller, trained.env_id, episodes=4, seed=11, normalizer=trained.normalizer)
    loaded = prepare(SessionOptions(agent=None, env=None, load=str(trained.run_dir), progress=False),
                     say=lambda message: None)
    after = evaluate(loaded.controller, loaded.env_id, episodes=4, seed=11, normalizer=loaded.normalizer)
    assert after == before
    np.testing.assert_array_equal(loaded.normalizer.mean, trained.normalizer.mean)
    from agents.controllers import ModelController

    forgetful = ModelController(loaded.controller.model, "ppo", normalizer=None)
    observations = np.random.default_rng(0).uniform(-1, 1, size=(20, 6)).astype(np.float32)
    for observation in observations:
        original, reloaded = trained.controller.decide(observation), loaded.controller.decide(observation)
        np.testing.assert_allclose(reloaded.probabilities, original.probabilities, rtol=1e-6)
        assert reloaded.value == original.value
    values_without = [forgetful.decide(observation).value for observation in observations]
    assert values_without != [loaded.controller.decide(observation).value for observation in observations]


def test_checkpoint_round_trip_restores_optimizer_counters_and_replay_buffer(tmp_path):
    import gymnasium as gym
    from stable_baselines3 import DQN
    from stable_baselines3.common.vec_env import DummyVecEnv

    def make() -> DQN:
        env = DummyVecEnv([lambda: gym.make("CartPole-v1")])
        return DQN("MlpPolicy", env, learning_starts=50, buffer_size=1000, seed=0, device="cpu")

    model = make()
    model.learn(300)
    save_checkpoint(tmp_path, model, model.get_env())
    fresh = make()
    restore_checkpoint(fresh, fresh.get_env(), load_checkpoint(tmp_path))
    assert fresh.num_timesteps == model.num_timesteps == 300
    assert fresh._n_updates == model._n_updates > 0
    assert fresh.replay_buffer.pos == model.replay_buffer.pos
    np.testing.assert_array_equal(fresh.replay_buffer.observations[:300], model.replay_buffer.observations[:300])
    for (name, a), (_, b) in zip(model.policy.state_dict().items(), fresh.policy.state_dict().items()):
        assert torch.equal(a, b), name
    old_state = model.policy.optimizer.state_dict()["state"]
    new_state = fresh.policy.optimizer.state_dict()["state"]
    assert torch.equal(old_state[0]["exp_avg"], new_state[0]["exp_avg"])
