"""The GPU paths: every pixel agent, saliency, plug-in perception, vision.digits, textgen's gpu preset and Ray Tune.

Every test here is marked `cuda` and runs on `cuda` when `torch.cuda.is_available()`; without a GPU each one skips
with the reason "no CUDA GPU: run `python -m pytest -m cuda` on a GPU machine". On a GPU machine:

    python -m pytest -m cuda

`PLAYGROUND_TEST_DEVICE=cpu python -m pytest -m cuda` runs them on the CPU instead, so that their logic can be
checked on a machine without a GPU (the Ray Tune test, which reserves a whole GPU per trial, still skips there).
Settings are tiny (a few hundred steps at most): these tests check where the work happens and that the results
travel between devices, not how well anything learns.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch

import envs  # noqa: F401  (registers the playground/ ids)
from agents.controllers import ModelController
from agents.session import SessionOptions, prepare
from tests.conftest import ROOT, default_sigint, last_json, run_cli

_CHOICE = os.environ.get("PLAYGROUND_TEST_DEVICE", "").strip().lower()
if _CHOICE not in ("", "cpu", "cuda"):
    raise pytest.UsageError(f"PLAYGROUND_TEST_DEVICE={_CHOICE!r}: give cpu (or leave it unset for cuda).")
DEVICE = "cpu" if _CHOICE == "cpu" else "cuda" if torch.cuda.is_available() else None
NO_GPU = "no CUDA GPU: run `python -m pytest -m cuda` on a GPU machine"
pytestmark = [pytest.mark.cuda, pytest.mark.slow, pytest.mark.skipif(DEVICE is None, reason=NO_GPU)]

PIXEL_ENV = "playground/Breakout-MinAtar-v0"  # MinAtar (installed with the project's `minatar` extra)
if "playground/Breakout-MinAtar-v0" not in gym.registry:  # without minatar: our own game's pixel variant
    PIXEL_ENV = "playground/SnakePixels-v0"
QUIET = ["eval_every=1000000", "eval_episodes=1"]
TINY = {  # one or two updates each, so every test stays within seconds on a CPU
    "ppo": ["n_envs=2", "n_steps=16", "batch_size=32", "n_epochs=1", *QUIET],
    "a2c": ["n_envs=2", "n_steps=8", *QUIET],
    "dqn": ["buffer_size=500", "learning_starts=16", "train_freq=4", "batch_size=16", *QUIET],
    "ppo-lstm": ["n_envs=2", "n_steps=16", "batch_size=32", "n_epochs=1", "policy_kwargs.lstm_hidden_size=16",
                 *QUIET],
}
CLI_COMMON = ["--render", "none", "--episodes", "1", "--json", "--no-progress", "--no-clips"]


def quiet(message: str) -> None:
    pass


def on_device(tensor: torch.Tensor) -> bool:
    return tensor.device.type == DEVICE


def train_tiny(runs_dir: Path, agent: str, hp: list[str], perception: str | None = None, timesteps: int = 64):
    """Train `agent` on the pixel world on DEVICE through the session play.py uses; the prepared agent."""
    options = SessionOptions(agent=agent, env=PIXEL_ENV, timesteps=timesteps, runs_dir=runs_dir, retrain=True,
                             hp=hp, perception=perception, device=DEVICE, progress=False, checkpoint_every=0,
                             clips="none")
    return prepare(options, say=quiet)


def buffered_observations(model) -> torch.Tensor:
    """A batch of observations as the algorithm's buffer hands them to the policy for an update."""
    if getattr(model, "replay_buffer", None) is not None:
        return model.replay_buffer.sample(8).observations
    return next(iter(model.rollout_buffer.get(batch_size=8))).observations


def first_observation() -> np.ndarray:
    observation, _ = gym.make(PIXEL_ENV).reset(seed=0)
    return observation


def load_on_cpu(run_dir: str | Path, *extra: str, cwd: Path | None = None) -> dict:
    """`play.py --load RUN --device cpu` in a fresh process: the run plays one episode on the CPU."""
    summary = last_json(run_cli("--load", str(run_dir), "--device", "cpu", *extra, *CLI_COMMON, cwd=cwd))
    assert summary["reused"] and summary["episodes"] == 1 and len(summary["returns"]) == 1, summary
    return summary


# --- the four pixel agents ------------------------------------------------------------------------------------------

@pytest.fixture(scope="module", params=list(TINY))
def trained(request, tmp_path_factory):
    """Each pixel agent trained for a few updates on DEVICE."""
    agent = request.param
    return agent, train_tiny(tmp_path_factory.mktemp(f"runs-{agent}"), agent, TINY[agent])


def test_agent_trains_on_the_device_and_keeps_pixels_uint8(trained):
    agent, prepared = trained
    model = prepared.controller.model
    assert prepared.trained and prepared.timesteps >= 64
    assert model.device.type == DEVICE
    assert all(on_device(parameter) for parameter in model.policy.parameters())
    buffer = model.replay_buffer if agent == "dqn" else model.rollout_buffer
    assert buffer.observations.dtype == np.uint8  # stored as the env gives them
    batch = buffered_observations(model)
    assert batch.dtype == torch.uint8 and on_device(batch)  # moved as uint8, scaled by preprocess_obs there
    as_tensor, _ = model.policy.obs_to_tensor(first_observation())
    assert as_tensor.dtype == torch.uint8 and on_device(as_tensor)
    record = json.loads((prepared.run_dir / "config.json").read_text(encoding="utf-8"))
    assert record["device"].startswith(DEVICE)


def test_saved_run_plays_on_the_cpu(trained):
    agent, prepared = trained
    summary = load_on_cpu(prepared.run_dir)
    assert summary["agent"] == agent and summary["env_id"] == PIXEL_ENV
    again = prepare(SessionOptions(agent=None, env=None, load=str(prepared.run_dir), device="cpu"), say=quiet)
    cpu_model, model = again.controller.model, prepared.controller.model
    assert cpu_model.device.type == "cpu"
    trained_weights = model.policy.state_dict()
    for name, tensor in cpu_model.policy.state_dict().items():  # the same weights, now on the CPU
        assert tensor.device.type == "cpu" and torch.equal(tensor, trained_weights[name].cpu()), name


# --- saliency -------------------------------------------------------------------------------------------------------

@pytest.fixture
def exact_cuda_maths():
    """Full float32 convolutions and matrix products on CUDA (no TF32), so device and CPU maps compare closely."""
    saved = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    yield
    torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = saved


def test_saliency_is_computed_on_the_device(trained, exact_cuda_maths):
    agent, prepared = trained
    controller = ModelController(prepared.controller.model, agent)
    controller.explain_pixels = True
    observation = first_observation()
    controller.reset()
    decision = controller.decide(observation)
    heat = decision.saliency
    side = observation.shape[1:] if observation.shape[0] < observation.shape[-1] else observation.shape[:2]
    assert heat is not None and heat.dtype == np.float32 and heat.shape == side
    assert np.all(np.isfinite(heat)) and heat.min() >= 0.0 and heat.max() == pytest.approx(1.0)
    # The same weights on the CPU, asked for the same action's map, give the same picture.
    cpu = prepare(SessionOptions(agent=None, env=None, load=str(prepared.run_dir), device="cpu"), say=quiet)
    cpu_controller = ModelController(cpu.controller.model, agent)
    cpu_controller.explain_pixels = True
    cpu_controller.reset()
    if agent == "ppo-lstm":  # the recurrent map depends on the action taken; greedy on both sides
        expected = cpu_controller.decide(observation)
        assert expected.action == decision.action
        expected = expected.saliency
    else:
        expected = cpu_controller._saliency(observation, decision.action)
    np.testing.assert_allclose(heat, expected, atol=1e-3)


# --- a plug-in perception network ---------------------------------------------------------------------------------

PLUGIN = '''
import torch
from torch import nn


class TinyNet(nn.Module):
    """One convolution, pooled to 4x4: fits MinAtar's 10x10 grids and larger frames alike."""

    def __init__(self, observation_space):
        super().__init__()
        self.layers = nn.Sequential(nn.Conv2d(observation_space.shape[0], 8, 3), nn.ReLU(),
                                    nn.AdaptiveAvgPool2d(4), nn.Flatten(), nn.Linear(8 * 4 * 4, 32), nn.ReLU())

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.layers(images)
'''


def test_plugged_in_perception_trains_on_the_device_and_plays_on_the_cpu(tmp_path):
    (tmp_path / "my_nets.py").write_text(PLUGIN, encoding="utf-8")
    prepared = train_tiny(tmp_path / "runs", "ppo", TINY["ppo"], perception=f"{tmp_path / 'my_nets.py'}:TinyNet")
    policy = prepared.controller.model.policy
    plugged = [module for module in policy.modules() if type(module).__name__ == "TinyNet"]
    assert plugged, "the plug-in is not in the policy"
    assert all(on_device(parameter) for parameter in plugged[0].parameters())
    features = policy.extract_features(policy.obs_to_tensor(first_observation())[0], policy.pi_features_extractor)
    assert features.shape == (1, 32) and on_device(features)
    load_on_cpu(prepared.run_dir, "--trust-code", "my_nets.py", cwd=tmp_path)


# --- self-play's stacked snapshots (Pong's MLP policies, on the device with --device cuda) ------------------------

def test_stacked_self_play_snapshots_act_on_the_device(exact_cuda_maths):
    from stable_baselines3 import PPO

    from agents.policy_stack import StackedActors
    from agents.self_play import frozen_copy
    from envs.factory import make_vector_env

    learner = PPO("MlpPolicy", make_vector_env("playground/Pong-v0", 2, seed=0), n_steps=32, batch_size=64,
                  n_epochs=1, seed=0, device=DEVICE)
    snapshots = [frozen_copy(learner.policy) for _ in range(3)]
    for shift, snapshot in zip((0.0, 0.5, -0.5), snapshots):
        with torch.no_grad():
            for parameter in snapshot.parameters():
                parameter.add_(shift * torch.randn_like(parameter))
    observations = torch.rand(64, learner.observation_space.shape[0]) * 2 - 1  # as the games hand them: CPU
    members = torch.arange(64) % 3
    actions = StackedActors(snapshots).sample(observations, members, torch.Generator().manual_seed(0))
    assert actions.device.type == "cpu" and actions.shape == (64,)
    on_cpu = StackedActors([snapshot.to("cpu") for snapshot in snapshots])
    assert torch.equal(on_cpu.sample(observations, members, torch.Generator().manual_seed(0)), actions)


# --- vision.digits ------------------------------------------------------------------------------------------------

def test_digits_trains_an_epoch_on_the_device(tmp_path):
    from tests.test_vision_digits import write_set
    from vision.classify import ClassifierConfig, DigitClassifier, accuracy, to_device
    from vision.mnist import load_digits

    folder = write_set(tmp_path / "mnist", train=300, test=100)
    completed = subprocess.run(
        [sys.executable, "-m", "vision.digits", "--data", str(folder), "--epochs", "1", "--batch-size", "32",
         "--device", DEVICE, "--runs-dir", str(tmp_path / "runs"), "--json", "--no-progress"],
        cwd=ROOT, capture_output=True, text=True, timeout=300, preexec_fn=default_sigint)  # fmt: skip
    summary = last_json(completed)
    assert summary["device"].startswith(DEVICE) and summary["network"] == "nature"  # the default: resized on device
    assert summary["epochs"] == 1 and summary["test_images"] == 100
    # The saved model, read on the CPU, answers the test set as it did on the device.
    saved = torch.load(Path(summary["run_dir"]) / "model.pt", map_location="cpu", weights_only=True)
    model = DigitClassifier(ClassifierConfig(**saved["config"]))
    model.load_state_dict(saved["model"])
    digits = load_digits(folder, holdout=None)
    correct = accuracy(model, *to_device(digits.test_images, digits.test_labels, torch.device("cpu")))
    assert abs(correct - summary["correct"]) <= 2, (correct, summary["correct"])


# --- textgen's gpu preset -----------------------------------------------------------------------------------------

def test_textgen_gpu_preset_trains_on_the_device(tmp_path):
    from textgen.checkpoint import LATEST_FILE
    from textgen.generator import load_generator
    from textgen.presets import choose_preset
    from textgen.train import train

    corpus = tmp_path / "corpus.txt"
    corpus.write_text("the quick brown fox jumps over the lazy dog.\n" * 400, encoding="utf-8")
    preset = choose_preset("gpu", "cuda")
    gpu_recipe = (preset.num_layers, preset.dropout, preset.lr)
    # The gpu preset as it is on a GPU; on the CPU dry run its widths shrink (3 x 1024 units would take minutes).
    small = {} if DEVICE == "cuda" else {"hidden_size": 32, "embed_size": 8, "batch_size": 8, "seq_len": 16}
    preset = preset.with_overrides(minutes=None, steps=3, eval_interval=2, **small)
    said: list[str] = []
    result = train(str(corpus), preset, torch.device(DEVICE), tmp_path / "runs", progress=False, log=said.append)
    assert result.step == 3 and np.isfinite(result.final_val) and np.isfinite(result.best_val)
    assert any(f"on {DEVICE}" in line for line in said), said
    latest = torch.load(result.run_dir / LATEST_FILE, map_location="cpu", weights_only=True)
    saved = latest["trainer"]["preset"]
    assert (saved["num_layers"], saved["dropout"], saved["lr"]) == gpu_recipe
    generator = load_generator(result.run_dir, device="cpu")  # trained on the device, written on the CPU
    assert next(generator.model.parameters()).device.type == "cpu"
    assert len(generator.generate("the", 20, temperature=0)) == 20


# --- Ray Tune with a GPU per trial --------------------------------------------------------------------------------

def gpu_processes() -> set[int] | None:
    """The ids of the processes holding a CUDA context now (nvidia-smi), None when nvidia-smi is missing."""
    if shutil.which("nvidia-smi") is None:
        return None
    listed = subprocess.run(["nvidia-smi", "--query-compute-apps=pid", "--format=csv,noheader"],
                            capture_output=True, text=True, timeout=30)
    return {int(line) for line in listed.stdout.split() if line.strip().isdigit()}


BUDGET = 8192  # the largest rollout the ppo search space can sample on MinAtar: 16 envs x 512 steps


def test_tune_trial_trains_on_its_gpu(tmp_path):
    if DEVICE != "cuda":
        pytest.skip("a Ray trial with --gpus-per-trial 1 needs a real GPU (PLAYGROUND_TEST_DEVICE=cpu skips it)")
    pytest.importorskip("ray", reason="Ray Tune is not installed: pip install -e '.[scale]'")
    torch.zeros(1, device="cuda")  # this process holds a context: a check that nvidia-smi can see our processes
    seen: set[int] = set()
    done = threading.Event()

    def watch() -> None:
        while not done.wait(0.2):
            seen.update(gpu_processes() or ())

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        completed = run_cli("tune", "--agent", "ppo", "--env", PIXEL_ENV, "--trials", "1", "--budget", str(BUDGET),
                            "--gpus-per-trial", "1", "--num-cpus", "2", "--runs-dir", str(tmp_path / "runs"), "--json",
                            timeout=400)
    finally:
        done.set()
        watcher.join()
    summary = last_json(completed)  # a trial Ray could not give a GPU would never start: the command would hang
    assert summary["trials"] == 1 and summary["failed"] == 0 and summary["complete"] == 1, summary
    (result_file,) = Path(summary["folder"]).glob("trial-*/result.json")
    report = json.loads(result_file.read_text(encoding="utf-8").strip().splitlines()[-1])
    assert report["timesteps"] >= BUDGET
    if os.getpid() in seen:  # nvidia-smi sees this machine's process ids (not so in every container)
        assert report["pid"] in seen, f"the trial's worker {report['pid']} held no CUDA context ({seen})"
