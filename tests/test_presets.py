"""Preset files and `--hp` overrides: safe YAML, validation, resolution order."""

from __future__ import annotations

import pytest
from stable_baselines3 import DQN, PPO, SAC

from agents.models import algorithm_kwargs, schedule
from agents.presets import parse_overrides, preset_for, read_preset_file, resolve_hyperparams
from core.errors import PlaygroundError


def test_resolution_order_command_line_over_env_over_default():
    hyperparams = resolve_hyperparams("ppo", "CartPole-v1", PPO, ["n_epochs=3"])
    assert hyperparams["n_epochs"] == 3                      # --hp
    assert hyperparams["gae_lambda"] == 0.8                  # CartPole-v1 entry
    assert hyperparams["eval_episodes"] == 20                # default entry
    assert resolve_hyperparams("ppo", "Taxi-v3", PPO, [])["n_timesteps"] == read_preset_file("ppo")["default"][
        "n_timesteps"]


def test_overrides_are_yaml_values_never_code():
    assert parse_overrides(["net=[64, 64]", "flag=true", "lr=1e-3", "name=abc"]) == {
        "net": [64, 64], "flag": True, "lr": 1e-3, "name": "abc"}
    assert parse_overrides(["x=__import__('os').system('echo hi')"])["x"] == "__import__('os').system('echo hi')"
    with pytest.raises(PlaygroundError, match="cannot be parsed"):
        parse_overrides(["x=[1, 2"])


def test_policy_kwargs_sub_keys_merge():
    hyperparams = resolve_hyperparams("dqn", "CartPole-v1", DQN, ["policy_kwargs.net_arch=[32]"])
    assert hyperparams["policy_kwargs"] == {"net_arch": [32]}
    hyperparams = resolve_hyperparams("ppo", "CartPole-v1", PPO, ["policy_kwargs.activation_fn=relu"])
    kwargs = algorithm_kwargs(hyperparams, env=None)
    import torch

    assert kwargs["policy_kwargs"]["activation_fn"] is torch.nn.ReLU


def test_linear_schedules():
    decay = schedule("lin_0.001")
    assert decay(1.0) == pytest.approx(0.001) and decay(0.5) == pytest.approx(0.0005)
    assert schedule(0.1) == 0.1


def test_types_are_checked():
    with pytest.raises(PlaygroundError, match="expected a int"):
        resolve_hyperparams("ppo", "CartPole-v1", PPO, ["n_steps=1.5"])
    with pytest.raises(PlaygroundError, match="expected a bool"):
        resolve_hyperparams("ppo", "CartPole-v1", PPO, ["use_sde=3"])
    assert resolve_hyperparams("sac", "Pendulum-v1", SAC, ["ent_coef=auto_0.1"])["ent_coef"] == "auto_0.1"
    assert resolve_hyperparams("ppo", "CartPole-v1", PPO, ["learning_rate=1"])["learning_rate"] == 1.0


def test_every_preset_file_validates_for_every_env_entry():
    from agents.registry import AGENTS

    for name, spec in AGENTS.items():
        if not spec.trainable:
            continue
        for env_id in read_preset_file(name):
            if env_id != "default":
                resolve_hyperparams(name, env_id, spec.algorithm_class(), [])
                assert preset_for(name, env_id)["n_timesteps"] >= 1


def test_the_confirmation_margin_is_a_run_key_in_a_range():
    hyperparams = resolve_hyperparams("ppo", "CartPole-v1", PPO, ["confirm_margin=1.5"])
    assert hyperparams["confirm_margin"] == 1.5
    assert "confirm_margin" not in algorithm_kwargs(hyperparams, env=None)  # steers the run, not PPO
    for bad in ("confirm_margin=-1", "confirm_margin=11", "confirm_margin=nan"):
        with pytest.raises(PlaygroundError, match="confirm_margin"):
            resolve_hyperparams("ppo", "CartPole-v1", PPO, [bad])


def test_null_policy_kwargs_mean_the_algorithm_s_defaults():
    import torch

    from agents.models import build_model
    from agents.registry import AGENTS
    from envs.factory import make_vector_env

    hyperparams = resolve_hyperparams("ppo", "CartPole-v1", PPO, ["policy_kwargs=", "policy_kwargs.net_arch=[8]"])
    assert hyperparams["policy_kwargs"] == {"net_arch": [8]}  # a dotted key after a null starts a new mapping
    hyperparams = resolve_hyperparams("ppo", "CartPole-v1", PPO, ["policy_kwargs="])
    assert hyperparams["policy_kwargs"] is None and "policy_kwargs" not in algorithm_kwargs(hyperparams, env=None)
    env = make_vector_env("CartPole-v1", 2, 0, training=True)
    model = build_model(AGENTS.get("ppo"), {**hyperparams, "n_steps": 32}, env, 0, torch.device("cpu"), None)
    assert model.policy.net_arch == dict(pi=[64, 64], vf=[64, 64])  # SB3's own default
    env.close()


@pytest.mark.parametrize(("agent", "env_id", "arch", "accepted"), [
    ("dqn", "CartPole-v1", "{pi: [8], vf: [8]}", False), ("dqn", "CartPole-v1", "[8]", True),
    ("sac", "Pendulum-v1", "{pi: [8], vf: [8]}", False), ("sac", "Pendulum-v1", "{pi: [8]}", False),
    ("sac", "Pendulum-v1", "{pi: [8], qf: [8]}", True), ("ppo", "CartPole-v1", "{pi: [8], qf: [8]}", False),
    ("ppo", "CartPole-v1", "{pi: [8]}", True),
])
def test_a_net_arch_mapping_must_be_one_the_agent_s_policy_reads(agent, env_id, arch, accepted):
    from agents.presets import check_run_sizes
    from agents.registry import AGENTS
    from envs.make import env_spaces

    spec = AGENTS.get(agent)
    hyperparams = resolve_hyperparams(agent, env_id, spec.algorithm_class(), [f"policy_kwargs.net_arch={arch}"])
    if accepted:
        check_run_sizes(spec, hyperparams, env_spaces(env_id), "--hp")
    else:
        with pytest.raises(PlaygroundError, match=f"net_arch.*{agent} takes a list"):
            check_run_sizes(spec, hyperparams, env_spaces(env_id), "--hp")
