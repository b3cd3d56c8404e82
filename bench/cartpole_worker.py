"""One benchmark run in a fresh process: train on CartPole-v1 until solved, then confirm.

Run by bench/bench_cartpole.py; prints one JSON line. `--who project` trains through the
project's own code path and preset; `--who zoo` trains stock stable-baselines3 with the
RL Zoo CartPole-v1 hyperparameters. Both follow the same protocol: evaluate every
`--eval-every` steps on 20 deterministic episodes, stop at mean >= 475, then confirm on
100 fresh episodes.
"""

from __future__ import annotations

import time

START = time.time()  # as early as possible: the parent compares it with its spawn time

import argparse  # noqa: E402
import json  # noqa: E402
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402

THRESHOLD = 475.0

ZOO = {
    "ppo": dict(n_envs=8, n_steps=32, batch_size=256, gae_lambda=0.8, gamma=0.98, n_epochs=20, ent_coef=0.0,
                learning_rate="lin_0.001", clip_range="lin_0.2", n_timesteps=100_000),
    "dqn": dict(learning_rate=2.3e-3, batch_size=64, buffer_size=100_000, learning_starts=1000, gamma=0.99,
                target_update_interval=10, train_freq=256, gradient_steps=128, exploration_fraction=0.16,
                exploration_final_eps=0.04, policy_kwargs={"net_arch": [256, 256]}, n_timesteps=50_000),
}


def train_project(algo: str, seed: int, eval_every: int, hp: list[str]) -> tuple[object, float, float, bool, int]:
    """Train through agents.training, the path `python play.py` takes."""
    import torch

    from agents.presets import resolve_hyperparams
    from agents.registry import AGENTS
    from agents.training import train

    spec = AGENTS.get(algo)
    hyperparams = resolve_hyperparams(algo, "CartPole-v1", spec.algorithm_class(), [*hp, f"eval_every={eval_every}"])
    with tempfile.TemporaryDirectory() as run_dir:
        result = train(spec, "CartPole-v1", hyperparams, THRESHOLD, seed, torch.device("cpu"), Path(run_dir),
                       progress=False)
    return result.model, result.seconds, time.time(), result.solved, result.timesteps


def train_zoo(algo: str, seed: int, eval_every: int) -> tuple[object, float, float, bool, int]:
    """Stock SB3 with the RL Zoo settings: DummyVecEnv of Monitor-wrapped CartPoles."""
    import stable_baselines3 as sb3
    from stable_baselines3.common.callbacks import EvalCallback, StopTrainingOnRewardThreshold
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.utils import LinearSchedule

    settings = dict(ZOO[algo])
    budget = settings.pop("n_timesteps")
    n_envs = settings.pop("n_envs", 1)
    for key in ("learning_rate", "clip_range"):
        if isinstance(settings.get(key), str):
            settings[key] = LinearSchedule(float(settings[key][4:]), 0.0, 1.0)
    start = time.perf_counter()
    env = make_vec_env("CartPole-v1", n_envs=n_envs, seed=seed)
    eval_env = make_vec_env("CartPole-v1", n_envs=20, seed=seed + 10_000)
    model = getattr(sb3, algo.upper())("MlpPolicy", env, seed=seed, device="cpu", verbose=0, **settings)
    stop = StopTrainingOnRewardThreshold(THRESHOLD, verbose=0)
    evaluation = EvalCallback(eval_env, callback_on_new_best=stop, n_eval_episodes=20,
                              eval_freq=max(eval_every // n_envs, 1), verbose=0, warn=False)
    model.learn(budget, callback=evaluation)
    solved_at = time.time()
    return model, time.perf_counter() - start, solved_at, evaluation.best_mean_reward >= THRESHOLD, model.num_timesteps


def confirm(model: object, seed: int) -> float:
    """Mean return over 100 fresh deterministic episodes."""
    from stable_baselines3.common.evaluation import evaluate_policy
    from stable_baselines3.common.vec_env import DummyVecEnv, VecMonitor

    from envs.factory import make_vector_env

    env = make_vector_env("CartPole-v1", 100, seed + 50_000)
    assert isinstance(env, (VecMonitor, DummyVecEnv))
    mean, _ = evaluate_policy(model, env, n_eval_episodes=100, deterministic=True, warn=False)
    return float(mean)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--who", choices=("project", "zoo"), required=True)
    parser.add_argument("--algo", choices=("ppo", "dqn"), required=True)
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--eval-every", type=int, default=5000)
    parser.add_argument("--hp", action="append", default=[])
    args = parser.parse_args()
    if args.who == "project":
        model, seconds, solved_at, solved, steps = train_project(args.algo, args.seed, args.eval_every, args.hp)
    else:
        model, seconds, solved_at, solved, steps = train_zoo(args.algo, args.seed, args.eval_every)
    print(json.dumps({"start": START, "solved_at": solved_at, "train_seconds": seconds, "solved": bool(solved),
                      "steps": steps, "confirm_mean": confirm(model, args.seed)}))


if __name__ == "__main__":
    main()
