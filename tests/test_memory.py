"""Memory: the ppo-lstm agent on core's LSTM block, the partially observable worlds, and recurrent state handling."""

from __future__ import annotations

import warnings

import gymnasium as gym
import numpy as np
import pytest
import torch

import envs  # noqa: F401  (registers the playground/ ids)
from agents.controllers import ModelController
from agents.evaluation import evaluate
from agents.session import SessionOptions, prepare
from core.control import Decision
from core.errors import PlaygroundError
from core.nets import LSTMBlock
from envs.games.cue_corridor import DOWN, FORWARD, UP, CueCorridorEnv
from envs.masking import MASKED, masked_ids
from tests.conftest import assert_user_error, run_cli

CUE_IDS = ["playground/CueCorridor-v0", "playground/CueCorridorPixels-v0"]
# A tiny ppo-lstm: one update of 64 steps, an LSTM of 8 units.
TINY_LSTM = ["n_steps=32", "batch_size=32", "n_envs=2", "policy_kwargs.lstm_hidden_size=8", "eval_every=64",
             "eval_episodes=2"]


def quiet(message: str) -> None:
    pass


def tiny_agent(runs_dir, env: str = "CueCorridor", **options) -> object:
    return prepare(SessionOptions(agent="ppo-lstm", env=env, seed=1, timesteps=64, runs_dir=runs_dir,
                                  hp=TINY_LSTM, progress=False, checkpoint_every=0, **options), say=quiet)


# --- the worlds -------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("env_id", CUE_IDS)
def test_cue_corridor_passes_the_env_checkers(env_id):
    from gymnasium.utils.env_checker import check_env
    from stable_baselines3.common.env_checker import check_env as sb3_check_env

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a checker warning is a failure here
        check_env(gym.make(env_id).unwrapped)
        sb3_check_env(gym.make(env_id).unwrapped)


@pytest.mark.parametrize("env_id", [masked_id for masked_id, _ in MASKED.values()])
def test_masked_worlds_pass_check_env_and_keep_the_underlying_limits(env_id):
    from gymnasium.utils.env_checker import check_env

    if env_id not in masked_ids():
        pytest.skip(f"{env_id} is not registered in this Gymnasium")
    base_id = next(base for base, (masked, _) in MASKED.items() if masked == env_id)
    try:
        env, base = gym.make(env_id), gym.make(base_id)
    except gym.error.DependencyNotInstalled:
        pytest.skip("Box2D is not installed")
    check_env(env)
    assert env.spec.max_episode_steps == base.spec.max_episode_steps
    assert env.spec.reward_threshold == base.spec.reward_threshold
    visible = list(MASKED[base_id][1])
    assert env.observation_space.shape == (len(visible),)
    observation, _ = env.reset(seed=4)
    full, _ = base.reset(seed=4)
    assert np.array_equal(observation, full[visible])
    for _ in range(5):
        action = env.action_space.sample()
        observation, *_ = env.step(action)
        full, *_ = base.step(action)
    assert np.array_equal(observation, full[visible])


def test_cartpole_no_vel_shows_position_and_angle_only():
    env = gym.make("playground/CartPoleNoVel-v1")
    env.reset(seed=0)
    cart = env.unwrapped
    cart.state = np.array([0.5, 2.0, -0.1, -3.0])
    observation, *_ = env.step(0)
    assert observation.shape == (2,)
    assert np.allclose(observation, cart.state[[0, 2]], atol=1e-6)


def walk_to_fork(env: CueCorridorEnv) -> list[np.ndarray]:
    observations = []
    while not env.at_fork:
        observations.append(env.step(FORWARD)[0])
    return observations


def test_the_cue_shows_only_at_the_start():
    env = CueCorridorEnv(length=6)
    first, _ = env.reset(seed=0)
    assert first[:2].sum() == 1 and first[env.cue] == 1
    later = walk_to_fork(env)
    assert len(later) == 5 and all(observation[:2].sum() == 0 for observation in later)
    assert later[-1][3] == 1 and later[-1][2] == 1  # at the fork, at the far end


@pytest.mark.parametrize("right_exit", [True, False])
def test_the_exit_of_the_cue_colour_succeeds(right_exit):
    env = CueCorridorEnv(length=4)
    env.reset(seed=3)
    walk_to_fork(env)
    exit_action = (UP if env.cue == 0 else DOWN) if right_exit else (DOWN if env.cue == 0 else UP)
    _, reward, terminated, truncated, info = env.step(exit_action)
    assert terminated and not truncated
    assert info["is_success"] is right_exit and reward == (1.0 if right_exit else 0.0)


def test_exits_do_nothing_before_the_fork_and_the_limit_truncates():
    env = gym.make("playground/CueCorridor-v0")
    observation, _ = env.reset(seed=0)
    _, reward, terminated, _, info = env.step(UP)
    assert reward == 0 and not terminated and "is_success" not in info and env.unwrapped.position == 0
    outcomes = [env.step(DOWN)[2:4] for _ in range(env.spec.max_episode_steps - 1)]
    assert outcomes[-1] == (False, True)


def test_the_pixel_cue_shows_in_the_first_frame_only():
    env = CueCorridorEnv(obs_mode="pixels")
    first, _ = env.reset(seed=0)
    second, *_ = env.step(UP)  # a bump: only the cue can change the picture
    assert not np.array_equal(first, second)
    assert np.array_equal(second, env.step(UP)[0])


def test_memory_is_needed_a_memoryless_rule_wins_half_the_time():
    env = gym.make("playground/CueCorridor-v0")
    wins = []
    for seed in range(200):
        env.reset(seed=seed)
        done, info = False, {}
        while not done:  # the best rule without memory: walk on, then always take the upper exit
            _, _, terminated, truncated, info = env.step(UP if env.unwrapped.at_fork else FORWARD)
            done = terminated or truncated
        wins.append(info["is_success"])
    assert 0.4 < np.mean(wins) < 0.6


# --- one LSTM block for agents/ and textgen/ --------------------------------------------------------------------------

def test_ppo_lstm_and_textgen_run_on_the_same_core_lstm_block(runs_dir):
    from textgen.model import CharLSTM, CharLSTMConfig

    policy = tiny_agent(runs_dir).controller.model.policy
    assert type(policy.lstm_actor) is LSTMBlock and type(policy.lstm_critic) is LSTMBlock
    assert not policy.lstm_actor.batch_first
    optimised = {id(p) for group in policy.optimizer.param_groups for p in group["params"]}
    assert {id(p) for p in policy.lstm_actor.parameters()} <= optimised  # the block is what trains
    assert not any(isinstance(m, torch.nn.LSTM) and m is not policy.lstm_actor.lstm and m is not policy.lstm_critic.lstm
                   for m in policy.modules())
    char_lstm = CharLSTM(CharLSTMConfig(vocab_size=5, embed_size=4, hidden_size=6, num_layers=1))
    assert type(char_lstm.lstm) is LSTMBlock and char_lstm.lstm.batch_first


# --- recurrent state --------------------------------------------------------------------------------------------------

def test_the_policy_resets_the_state_where_an_episode_starts_inside_a_sequence(runs_dir):
    policy = tiny_agent(runs_dir).controller.model.policy
    observations = torch.rand(6, 4)
    zero = (torch.zeros(1, 1, 8), torch.zeros(1, 1, 8))
    # One sequence of 6 steps whose second episode starts at step 3 (the layout of a rollout minibatch).
    starts = torch.tensor([1.0, 0, 0, 1, 0, 0])

    def probabilities(obs: torch.Tensor, episode_starts: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():  # SB3 reuses one distribution object: read it before the next call
            return policy.get_distribution(obs, zero, episode_starts)[0].distribution.probs.clone()

    whole = probabilities(observations, starts)
    tail = probabilities(observations[3:], torch.tensor([1.0, 0, 0]))
    leaked = probabilities(observations, torch.tensor([1.0, 0, 0, 0, 0, 0]))
    assert torch.allclose(whole[3:], tail, atol=1e-6)
    assert not torch.allclose(leaked[3:], tail, atol=1e-6)


def play(controller: ModelController, env: gym.Env, seed: int) -> list[Decision]:
    observation, _ = env.reset(seed=seed)
    decisions, done = [], False
    while not done:
        decisions.append(controller.decide(observation))
        observation, _, terminated, truncated, _ = env.step(decisions[-1].action)
        done = terminated or truncated
    return decisions


def test_the_controller_carries_the_state_and_reset_clears_it(runs_dir):
    model = tiny_agent(runs_dir).controller.model
    env = gym.make("playground/CueCorridor-v0")
    fresh = play(ModelController(model, "ppo-lstm"), env, seed=2)
    controller = ModelController(model, "ppo-lstm")
    play(controller, env, seed=9)
    controller.reset()  # the viewer and the episode recorder call this at every episode start
    again = play(controller, env, seed=2)
    assert [d.action for d in again] == [d.action for d in fresh]
    assert all(np.array_equal(a.hidden, b.hidden) for a, b in zip(again, fresh))
    # Without the reset the state of the last episode leaks into the next one, and the memory differs.
    play(controller, env, seed=9)
    leaked = play(controller, env, seed=2)
    assert not np.allclose(leaked[0].hidden, fresh[0].hidden)
    # Within an episode the state moves on: the same observation twice does not give the same memory.
    assert not np.allclose(fresh[0].hidden, fresh[1].hidden)


def test_decisions_show_the_hidden_state_value_and_probabilities(runs_dir):
    controller = tiny_agent(runs_dir).controller
    controller.reset()
    decision = controller.decide(gym.make("playground/CueCorridor-v0").reset(seed=0)[0])
    assert decision.hidden.shape == (8,) and np.all(np.abs(decision.hidden) < 1)
    assert decision.probabilities.shape == (3,) and np.isclose(decision.probabilities.sum(), 1)
    assert decision.value is not None and decision.action in (0, 1, 2)


def test_batch_evaluation_matches_one_at_a_time_play(runs_dir):
    controller = tiny_agent(runs_dir).controller
    # evaluate_policy passes the state and the episode starts through predict(); decide() keeps its own.
    returns = evaluate(controller, "playground/CueCorridor-v0", episodes=4, seed=11)
    assert len(returns) == 4 and all(r in (0.0, 1.0) for r in returns)
    env = gym.make("playground/CueCorridor-v0")
    first = play(controller, env, seed=5)
    controller.reset()
    assert [d.action for d in play(controller, env, seed=5)] == [d.action for d in first]


def test_the_hud_draws_the_hidden_state():
    import pygame

    from viewer.hud import Hud, HudState

    def panel(hidden: np.ndarray | None) -> np.ndarray:
        surface = pygame.Surface((300, 500))
        decision = Decision(0, probabilities=np.array([0.2, 0.8]), value=1.0, hidden=hidden)
        Hud().draw(surface, surface.get_rect(), HudState(agent="ppo-lstm", env_id="x", episodes=1, decision=decision,
                                                        values=[0.0, 1.0]))
        return pygame.surfarray.array3d(surface)

    without, low, high = panel(None), panel(-np.ones(64)), panel(np.ones(64))
    assert not np.array_equal(without, low) and not np.array_equal(low, high)


# --- saving, reusing, loading -----------------------------------------------------------------------------------------

def test_a_saved_ppo_lstm_is_reused_and_loaded_with_the_same_behaviour(runs_dir):
    trained = tiny_agent(runs_dir)
    reused = tiny_agent(runs_dir)
    loaded = prepare(SessionOptions(agent=None, env=None, load=str(trained.run_dir), runs_dir=runs_dir), say=quiet)
    assert trained.trained and reused.reused and loaded.reused
    env = gym.make("playground/CueCorridor-v0")
    for prepared in (trained, reused, loaded):
        prepared.controller.reset()
    expected = play(trained.controller, env, seed=3)
    for prepared in (reused, loaded):
        decisions = play(prepared.controller, env, seed=3)
        assert [d.action for d in decisions] == [d.action for d in expected]
        assert np.allclose(decisions[-1].hidden, expected[-1].hidden)


# --- bad input --------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("size", ["0", "-3", "2.5"])
def test_non_positive_lstm_sizes_are_refused(runs_dir, size):
    options = SessionOptions(agent="ppo-lstm", env="CueCorridor", timesteps=64, runs_dir=runs_dir, progress=False,
                             hp=[f"policy_kwargs.lstm_hidden_size={size}"])
    with pytest.raises(PlaygroundError, match="lstm_hidden_size") as error:
        prepare(options, say=quiet)
    assert "\n" not in str(error.value) and "--hp policy_kwargs.lstm_hidden_size=" in str(error.value)


def test_non_positive_layer_counts_are_refused(runs_dir):
    options = SessionOptions(agent="ppo-lstm", env="CartPoleNoVel", timesteps=64, runs_dir=runs_dir, progress=False,
                             hp=["policy_kwargs.n_lstm_layers=0"])
    with pytest.raises(PlaygroundError, match="n_lstm_layers"):
        prepare(options, say=quiet)


def test_an_incompatible_observation_space_is_refused(runs_dir):
    options = SessionOptions(agent="ppo-lstm", env="Blackjack-v1", timesteps=64, runs_dir=runs_dir, progress=False,
                             hp=["n_steps=32", "batch_size=32", "n_envs=2"])
    with pytest.raises(PlaygroundError, match="ppo-lstm reads vector or image observations"):
        prepare(options, say=quiet)


@pytest.mark.slow
def test_cli_errors_are_one_line(runs_dir):
    assert_user_error(run_cli("--agent", "ppo-lstm", "--env", "CueCorridor", "--runs-dir", str(runs_dir),
                              "--hp", "policy_kwargs.lstm_hidden_size=0", "--render", "none"),
                      "lstm_hidden_size=0")


def test_a_recurrent_model_loaded_as_another_agent_is_refused(runs_dir):
    trained = tiny_agent(runs_dir)
    with pytest.raises(PlaygroundError, match="holds a ppo-lstm agent, not ppo. Use --agent ppo-lstm"):
        prepare(SessionOptions(agent="ppo", env=None, load=str(trained.run_dir), runs_dir=runs_dir), say=quiet)


# --- learning ---------------------------------------------------------------------------------------------------------

def success_rate(prepared, episodes: int = 100) -> float:
    returns = evaluate(prepared.controller, prepared.env_id, episodes=episodes, seed=123)
    return float(np.mean(np.asarray(returns) == 1.0))  # +1 exactly when the right exit was taken


@pytest.mark.slow
def test_ppo_lstm_learns_the_memory_game_and_ppo_cannot(runs_dir):
    common = dict(env="CueCorridor", seed=0, runs_dir=runs_dir, progress=False, checkpoint_every=0)
    lstm = prepare(SessionOptions(agent="ppo-lstm", timesteps=30_000, **common), say=quiet)
    plain = prepare(SessionOptions(agent="ppo", timesteps=20_000, **common), say=quiet)
    assert success_rate(lstm) >= 0.9
    assert success_rate(plain) <= 0.7
