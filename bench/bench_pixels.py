"""Pixel agents: PPO training speed against stock stable-baselines3, and learning on Breakout-MinAtar.

    python bench/bench_pixels.py speed [--repeats 3]       # steps/s, ours vs SB3 CnnPolicy, same env & settings
    python bench/bench_pixels.py learn [--seed 0]          # PPO preset on Breakout-MinAtar, 2M steps: curve, time

Speed: for Breakout-MinAtar and Atari Breakout, the project's PPO (its env pipeline, preset settings and default
perception network) and stock SB3 PPO (`CnnPolicy`; on Atari `make_atari_env` + `VecFrameStack`, on MinAtar
the same MinAtar CNN written as SB3's documentation writes a custom extractor, since SB3's NatureCNN cannot
take 10x10 inputs) train for the same number of steps with the same hyperparameters, alternating, in one
process each time. Learning: the preset run through play.py, the evaluation curve read back from TensorBoard.
Run it alone: `flock /tmp/cpu-bench.lock python bench/bench_pixels.py ...`.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # as play.py sets it, for both sides
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

MINATAR = "playground/Breakout-MinAtar-v0"
ATARI = "ALE/Breakout-v5"
STEPS = {MINATAR: 65_536, ATARI: 8_192}


def sb3_minatar_extractor():
    """The MinAtar CNN as SB3's docs write a custom features extractor (the reference side)."""
    import torch
    from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
    from torch import nn

    class MinAtarExtractor(BaseFeaturesExtractor):
        def __init__(self, observation_space, features_dim: int = 128):
            super().__init__(observation_space, features_dim)
            channels = observation_space.shape[0]
            self.cnn = nn.Sequential(nn.Conv2d(channels, 16, 3, 1), nn.ReLU(), nn.Flatten())
            with torch.no_grad():
                flat = self.cnn(torch.as_tensor(observation_space.sample()[None]).float()).shape[1]
            self.linear = nn.Sequential(nn.Linear(flat, features_dim), nn.ReLU())

        def forward(self, observations):
            return self.linear(self.cnn(observations))

    return MinAtarExtractor


def stock_model(env_id: str, kwargs: dict, seed: int):
    """Stock SB3 PPO on the same env and settings."""
    from stable_baselines3 import PPO
    from stable_baselines3.common.env_util import make_atari_env, make_vec_env
    from stable_baselines3.common.vec_env import VecFrameStack

    import envs  # noqa: F401  (registers the MinAtar ids)

    if env_id == ATARI:
        import ale_py
        import gymnasium as gym

        gym.register_envs(ale_py)
        env = VecFrameStack(make_atari_env(env_id, n_envs=kwargs["n_envs"], seed=seed,
                                           env_kwargs={"frameskip": 1}), 4)
        policy_kwargs = {}
    else:
        env = make_vec_env(env_id, n_envs=kwargs["n_envs"], seed=seed)
        policy_kwargs = {"features_extractor_class": sb3_minatar_extractor(), "net_arch": []}
    settings = {k: v for k, v in kwargs.items() if k not in ("n_envs", "policy_kwargs")}
    return PPO("CnnPolicy", env, seed=seed, device="cpu", policy_kwargs=policy_kwargs, **settings)


def project_model(env_id: str, seed: int):
    """The project's PPO as play.py builds it: preset, env pipeline, default perception network."""
    import torch

    from agents.models import algorithm_kwargs, build_model
    from agents.presets import resolve_hyperparams
    from agents.registry import AGENTS
    from envs.factory import make_vector_env

    spec = AGENTS.get("ppo")
    hyperparams = resolve_hyperparams("ppo", env_id, spec.algorithm_class(), [])
    env = make_vector_env(env_id, hyperparams["n_envs"], seed, training=True)
    model = build_model(spec, hyperparams, env, seed, torch.device("cpu"), tensorboard_log=None)
    return model, {"n_envs": hyperparams["n_envs"], **algorithm_kwargs(hyperparams, env)}


def time_one(side: str, env_id: str, seed: int) -> float:
    """Steps per second of one training run of STEPS[env_id] steps (model building not timed)."""
    model, kwargs = project_model(env_id, seed)
    if side == "stock":
        model = stock_model(env_id, {k: v for k, v in kwargs.items() if k != "policy_kwargs"}, seed)
    start = time.perf_counter()
    model.learn(total_timesteps=STEPS[env_id])
    return model.num_timesteps / (time.perf_counter() - start)


def speed(repeats: int) -> None:
    results = {}
    for env_id in (MINATAR, ATARI):
        for side in ("project", "stock"):
            results[(env_id, side)] = []
        for repeat in range(repeats):
            for side in ("project", "stock") if repeat % 2 == 0 else ("stock", "project"):
                completed = subprocess.run([sys.executable, __file__, "_one", side, env_id, str(repeat)],
                                           capture_output=True, text=True, check=True)
                rate = float(completed.stdout.strip().splitlines()[-1])
                results[(env_id, side)].append(rate)
                print(f"{env_id} {side}: {rate:,.0f} steps/s", flush=True)
    print("\n| env | project steps/s | stock SB3 steps/s | project / stock |\n|---|---|---|---|")
    for env_id in (MINATAR, ATARI):
        ours, stock = (statistics.median(results[(env_id, side)]) for side in ("project", "stock"))
        print(f"| {env_id} | {ours:,.0f} | {stock:,.0f} | {ours / stock:.2f} |")


def learn(seed: int, runs_dir: Path, hp: list[str]) -> None:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    start = time.perf_counter()
    completed = subprocess.run(
        [sys.executable, str(ROOT / "play.py"), "--agent", "ppo", "--env", "Breakout-MinAtar", "--seed", str(seed),
         "--render", "none", "--episodes", "100", "--runs-dir", str(runs_dir), "--retrain", "--json",
         "--no-progress", *(f"--hp={pair}" for pair in hp)], capture_output=True, text=True, check=True)
    wall = time.perf_counter() - start
    summary = json.loads(completed.stdout.strip().splitlines()[-1])
    events = EventAccumulator(str(next(Path(summary["run_dir"]).glob("tensorboard_*")))).Reload()
    curve = [(event.step, event.value) for event in events.Scalars("eval/mean_reward")]
    print("step, eval mean return (20 episodes)")
    for step, value in curve:
        print(f"{step:>9,} {value:6.2f}")
    print(f"trained {summary['timesteps']:,} steps in {summary['train_seconds']:.0f} s ({wall:.0f} s in all); "
          f"final agent over 100 episodes: {summary['mean_return']:.2f} ± {summary['std_return']:.2f}")


def main() -> None:
    if sys.argv[1:2] == ["_one"]:
        side, env_id, repeat = sys.argv[2:5]
        print(time_one(side, env_id, int(repeat)))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=("speed", "learn"))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--runs-dir", type=Path, default=Path("/tmp/bench-pixels-runs"))
    parser.add_argument("--hp", action="append", default=[], help="a preset override for `learn` (repeatable)")
    args = parser.parse_args()
    speed(args.repeats) if args.what == "speed" else learn(args.seed, args.runs_dir, args.hp)


if __name__ == "__main__":
    main()
