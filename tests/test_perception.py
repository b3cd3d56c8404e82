"""Perception networks: the built-in CNNs, user plug-ins, every network on every kind of pixel world, refusals."""

from __future__ import annotations

import re

import gymnasium as gym
import numpy as np
import pytest
import torch

import envs  # noqa: F401  (registers the playground/ ids)
from agents.session import SessionOptions, prepare
from core.errors import PlaygroundError
from tests.conftest import ROOT, assert_user_error, last_json, run_cli
from vision.perception import PERCEPTIONS, ImpalaCNN, MinAtarCNN, NatureCNN
from vision.plugins import check_perception

PIXEL_WORLDS = ("playground/CartPolePixels-v1", "playground/Breakout-MinAtar-v0", "ALE/Breakout-v5",
                "playground/SnakePixels-v0")
TINY_PPO = ["n_envs=2", "n_steps=16", "batch_size=32", "n_epochs=1", "eval_every=1000000", "eval_episodes=1"]


def _train(tmp_path, agent: str, env_id: str, hp: list[str], timesteps: int = 32):
    options = SessionOptions(agent=agent, env=env_id, timesteps=timesteps, runs_dir=tmp_path, retrain=True,
                             hp=hp, progress=False)
    return prepare(options, say=lambda message: None)


@pytest.mark.slow
@pytest.mark.parametrize("env_id", PIXEL_WORLDS)
@pytest.mark.parametrize("network", PERCEPTIONS.names())
def test_every_network_trains_on_every_kind_of_pixel_world(tmp_path, network, env_id):
    if network == "nature" and "MinAtar" in env_id:
        pytest.skip("nature needs 36x36 pixels: refused, see test_nature_refuses_minatar_grids")
    prepared = _train(tmp_path, "ppo", env_id, [*TINY_PPO, f"perception={network}"])
    model = prepared.controller.model
    assert type(model.policy.features_extractor) is PERCEPTIONS.get(network)
    assert model.rollout_buffer.observations.dtype == np.uint8  # stored as uint8, converted on the device
    env = gym.make(env_id) if not env_id.startswith("ALE/") else None
    if env is not None:
        observation, _ = env.reset(seed=0)
        assert prepared.controller.decide(observation).action in range(env.action_space.n)


@pytest.mark.parametrize("agent, extra", [
    ("dqn", ["buffer_size=500", "learning_starts=16", "train_freq=4", "eval_every=1000000", "eval_episodes=1"]),
    ("a2c", ["n_envs=2", "n_steps=8", "eval_every=1000000", "eval_episodes=1"]),
    ("ppo-lstm", TINY_PPO),
])
def test_other_agents_take_the_preset_perception(tmp_path, agent, extra):
    prepared = _train(tmp_path, agent, "playground/Breakout-MinAtar-v0", extra, timesteps=64)
    assert any(isinstance(module, MinAtarCNN) for module in prepared.controller.model.policy.modules())
    config = (prepared.run_dir / "config.json").read_text()
    assert '"perception": "minatar"' in config


def test_channels_last_input_sees_the_same_as_channels_first():
    first = gym.spaces.Box(0.0, 1.0, (3, 12, 12), np.float32)
    last = gym.spaces.Box(0.0, 1.0, (12, 12, 3), np.float32)
    net_first, net_last = ImpalaCNN(first), ImpalaCNN(last)
    net_last.load_state_dict(net_first.state_dict())
    images = torch.rand(5, 3, 12, 12)
    assert torch.allclose(net_first(images), net_last(images.permute(0, 2, 3, 1)), atol=1e-6)


def test_networks_size_their_output_from_the_observation():
    assert NatureCNN(gym.spaces.Box(0, 255, (4, 84, 84), np.uint8)).features_dim == 512
    assert NatureCNN(gym.spaces.Box(0, 255, (4, 84, 84), np.uint8)).linear[0].in_features == 64 * 7 * 7
    assert MinAtarCNN(gym.spaces.Box(0, 1, (4, 10, 10), np.uint8)).linear[0].in_features == 16 * 8 * 8
    assert check_perception("impala", gym.spaces.Box(0, 255, (64, 64, 3), np.uint8), {"features_dim": 32}) == 32


def test_nature_refuses_minatar_grids_and_vector_observations():
    with pytest.raises(PlaygroundError, match="at least 36x36.*--perception minatar"):
        check_perception("nature", gym.spaces.Box(0, 1, (4, 10, 10), np.uint8))
    with pytest.raises(PlaygroundError, match="needs image observations"):
        check_perception("minatar", gym.spaces.Box(-1, 1, (4,), np.float32))


def _readme_example() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"<!-- perception-example -->\s*```python\n(.*?)```", text, re.DOTALL)
    assert block, "README.md lost its perception example"
    return block.group(1)


@pytest.mark.slow
def test_the_readme_perception_example_trains_and_reloads(tmp_path):
    code = _readme_example()
    assert len(code.strip().splitlines()) <= 20
    (tmp_path / "my_nets.py").write_text(code, encoding="utf-8")
    runs = tmp_path / "runs"
    common = ["--render", "none", "--episodes", "1", "--runs-dir", str(runs), "--json", "--no-progress"]
    trained = last_json(run_cli("--agent", "ppo", "--env", "Pong", "--perception", "my_nets.py:TinyNet",
                                "--timesteps", "64", *[f"--hp={pair}" for pair in TINY_PPO], *common, cwd=tmp_path))
    assert trained["trained"] and trained["env_id"] == "playground/PongPixels-v0"
    config = (tmp_path / trained["run_dir"] / "config.json").read_text()
    assert str(tmp_path / "my_nets.py") in config  # saved as an absolute path: the run rebuilds from anywhere
    # Loading a run whose network is code asks for that code to be allowed by name (see "Sharing runs safely").
    assert_user_error(run_cli("--load", trained["run_dir"], *common, cwd=tmp_path), "--trust-code")
    reloaded = last_json(run_cli("--load", trained["run_dir"], "--trust-code", "my_nets.py", *common, cwd=tmp_path))
    assert reloaded["reused"] and reloaded["episodes"] == 1


BROKEN_NETS = '''
import torch
from torch import nn


class Scalar(nn.Module):
    def forward(self, images):
        return images.mean()


class Exploding(nn.Module):
    def __init__(self, observation_space):
        super().__init__()
        raise RuntimeError("out of ideas")


NotAModule = 42
'''


@pytest.mark.parametrize("perception, fragments", [
    ("nets.py:Scalar", ("Scalar returned ()", "expected a tensor of shape (1, features)")),
    ("nets.py:Exploding", ("does not fit", "RuntimeError: out of ideas")),
    ("nets.py:NotAModule", ("not an nn.Module class", "BaseFeaturesExtractor")),
    ("nets.py:Scaler", ("has no class 'Scaler'", "Did you mean Scalar?")),
    ("missing.py:Net", ("there is no file missing.py",)),
    ("broken.py:Net", ("importing", "ModuleNotFoundError")),
    ("no_such_package.nets:Net", ("importing no_such_package.nets failed",)),
    ("impalla", ("unknown", "Did you mean impala?")),
    ("nature", ("at least 36x36", "--perception minatar")),
])
@pytest.mark.slow
def test_a_network_that_does_not_fit_is_refused_before_training(tmp_path, perception, fragments):
    (tmp_path / "nets.py").write_text(BROKEN_NETS, encoding="utf-8")
    (tmp_path / "broken.py").write_text("import no_such_module_anywhere\n", encoding="utf-8")
    runs = tmp_path / "runs"
    completed = run_cli("--agent", "ppo", "--env", "Breakout-MinAtar", "--perception", perception,
                        "--render", "none", "--runs-dir", str(runs), cwd=tmp_path)
    assert_user_error(completed, *fragments)
    assert not runs.exists()  # refused before any run folder was made


@pytest.mark.slow
def test_images_for_an_mlp_policy_are_refused(tmp_path):
    completed = run_cli("--agent", "ppo", "--env", "CarRacing-v3", "--render", "none",
                        "--runs-dir", str(tmp_path / "runs"))
    assert_user_error(completed, "observes images", "--perception nature")


def test_perception_does_not_combine_with_load(tmp_path):
    completed = run_cli("--load", str(tmp_path), "--perception", "nature")
    assert_user_error(completed, "--perception", "Drop --perception")
