"""The reference side of bench/bench_cli.py: stock stable-baselines3 with RL Zoo's hyperparameters.

    python bench/zoo_reference.py --env CartPole-v1 --agent ppo --seed 100 --eval-every 4096 --stop-at 475

Run as its own process, like `python play.py`, and timed from process start to exit. It imports nothing of
this project: plain `make_vec_env` (a DummyVecEnv of Monitor-wrapped Gymnasium envs), `VecNormalize` where
Zoo normalises, and the settings of bench/zoo_hyperparams.yml (copied from rl-baselines3-zoo). The protocol
is the project's: evaluate every `--eval-every` steps on `--eval-episodes` deterministic episodes (SB3's
EvalCallback on envs seeded seed + 10,000), stop when the mean reaches `--stop-at` or at Zoo's budget, then
play the final policy (the one training stopped with, not the best one seen) on `--episodes` fresh
deterministic episodes (seeded seed + 20,000, one env each). Prints play.py's JSON summary fields as one line.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import yaml

HYPERPARAMS = Path(__file__).with_name("zoo_hyperparams.yml")
CONFIRM_SEED_OFFSET = 20_000  # play.py evaluates `--episodes` on envs seeded --seed + 20,000
EVAL_SEED_OFFSET = 10_000  # agents/training.py seeds its evaluation envs with seed + 10,000
# Zoo registers <Name>NoVel-v<n> as the base env under its MaskVelocityWrapper: observation indices set to 0.
MASKED = {"CartPoleNoVel-v1": ("CartPole-v1", (1, 3))}


def zoo_settings(agent: str, env_id: str) -> dict[str, Any]:
    """Zoo's entry for this agent and env (a copy: the caller pops keys)."""
    table = yaml.safe_load(HYPERPARAMS.read_text(encoding="utf-8"))
    try:
        return dict(table[agent][env_id])
    except KeyError:
        known = ", ".join(f"{a}:{e}" for a, envs in table.items() for e in envs)
        raise SystemExit(f"no RL Zoo settings for {agent} on {env_id} in {HYPERPARAMS.name}; known: {known}") from None


def algorithm(agent: str) -> type:
    """The stock algorithm class of an agent name."""
    if agent == "ppo-lstm":
        from sb3_contrib import RecurrentPPO

        return RecurrentPPO
    import stable_baselines3

    return getattr(stable_baselines3, agent.upper())


def _mask_velocity(indices: tuple[int, ...]) -> type:
    """Zoo's MaskVelocityWrapper (rl_zoo3/wrappers.py): multiply the velocity entries by 0."""
    import gymnasium as gym
    import numpy as np

    class MaskVelocityWrapper(gym.ObservationWrapper):
        def __init__(self, env: gym.Env) -> None:
            super().__init__(env)
            self.mask = np.ones(env.observation_space.shape, dtype=env.observation_space.dtype)
            self.mask[list(indices)] = 0

        def observation(self, observation: Any) -> Any:
            return observation * self.mask

    return MaskVelocityWrapper


def make_envs(env_id: str, n_envs: int, seed: int) -> Any:
    """A DummyVecEnv of Monitor-wrapped envs, as Zoo (and SB3's make_vec_env) builds them."""
    from stable_baselines3.common.env_util import make_vec_env

    if env_id in MASKED:
        base, indices = MASKED[env_id]
        return make_vec_env(base, n_envs=n_envs, seed=seed, wrapper_class=_mask_velocity(indices))
    return make_vec_env(env_id, n_envs=n_envs, seed=seed)


def normalized(env: Any, settings: dict[str, Any] | None, trained: Any = None) -> Any:
    """VecNormalize as Zoo sets it up; an evaluation env (given `trained`) shares its statistics, frozen."""
    if settings is None:
        return env
    from stable_baselines3.common.vec_env import VecNormalize

    if trained is None:
        return VecNormalize(env, **settings)
    evaluation = VecNormalize(env, **{**settings, "training": False, "norm_reward": False})
    evaluation.obs_rms = trained.obs_rms
    return evaluation


def model_arguments(settings: dict[str, Any], env: Any) -> dict[str, Any]:
    """Zoo's strings and names turned into objects: linear schedules, activation functions, action noise."""
    import numpy as np
    import torch
    from stable_baselines3.common.noise import NormalActionNoise, OrnsteinUhlenbeckActionNoise
    from stable_baselines3.common.utils import LinearSchedule

    for key in ("learning_rate", "clip_range"):
        if isinstance(settings.get(key), str) and settings[key].startswith("lin_"):
            # Zoo's linear_schedule: progress_remaining * initial value.
            settings[key] = LinearSchedule(float(settings[key][4:]), 0.0, 1.0)
    kwargs = dict(settings.get("policy_kwargs") or {})
    if "activation_fn" in kwargs:
        kwargs["activation_fn"] = {"relu": torch.nn.ReLU, "tanh": torch.nn.Tanh}[kwargs["activation_fn"]]
    if kwargs:
        settings["policy_kwargs"] = kwargs
    noise_type, noise_std = settings.pop("noise_type", None), settings.pop("noise_std", None)
    if noise_type is not None:
        n_actions = env.action_space.shape[0]
        noise = NormalActionNoise if noise_type == "normal" else OrnsteinUhlenbeckActionNoise
        settings["action_noise"] = noise(mean=np.zeros(n_actions), sigma=noise_std * np.ones(n_actions))
    return settings


def train_and_confirm(args: argparse.Namespace) -> dict[str, Any]:
    """Train until solved or out of budget, then play the final policy on fresh episodes."""
    from stable_baselines3.common.callbacks import EvalCallback, StopTrainingOnRewardThreshold
    from stable_baselines3.common.evaluation import evaluate_policy

    start = time.perf_counter()
    settings = zoo_settings(args.agent, args.env)
    budget = int(settings.pop("n_timesteps"))
    budget = budget if args.budget is None else args.budget
    n_envs = int(settings.pop("n_envs", 1))
    policy = settings.pop("policy", "MlpPolicy")
    normalize = settings.pop("normalize", None)
    norm = None
    if normalize:
        norm = dict(normalize) if isinstance(normalize, dict) else {}
        if "gamma" in settings:  # Zoo: "use the same discount factor as for the algorithm"
            norm["gamma"] = settings["gamma"]
    env = normalized(make_envs(args.env, n_envs, args.seed), norm)
    eval_env = normalized(make_envs(args.env, args.eval_episodes, args.seed + EVAL_SEED_OFFSET), norm, trained=env)
    model = algorithm(args.agent)(policy, env, seed=args.seed, device="cpu", verbose=0,
                                  **model_arguments(settings, env))
    evaluation = EvalCallback(eval_env, callback_on_new_best=StopTrainingOnRewardThreshold(args.stop_at, verbose=0),
                              n_eval_episodes=args.eval_episodes, eval_freq=max(args.eval_every // n_envs, 1),
                              deterministic=True, verbose=0, warn=False)
    model.learn(budget, callback=evaluation)
    train_seconds = time.perf_counter() - start

    confirm_env = normalized(make_envs(args.env, args.episodes, args.seed + CONFIRM_SEED_OFFSET), norm, trained=env)
    returns, _ = evaluate_policy(model, confirm_env, n_eval_episodes=args.episodes, deterministic=True,
                                 return_episode_rewards=True, warn=False)
    returns = [float(r) for r in returns]
    best = evaluation.best_mean_reward
    mean = sum(returns) / len(returns)
    return {
        "env_id": args.env, "agent": args.agent, "trained": True, "reused": False,
        "solved": bool(best >= args.stop_at), "train_seconds": round(train_seconds, 3),
        "timesteps": int(model.num_timesteps), "episodes": len(returns),
        "best_eval_return": None if best == float("-inf") else float(best),
        "mean_return": mean, "std_return": (sum((r - mean) ** 2 for r in returns) / len(returns)) ** 0.5,
        "min_return": min(returns), "max_return": max(returns), "budget": budget,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env", required=True, help="Gymnasium id (CartPoleNoVel-v1: Zoo's masked CartPole)")
    parser.add_argument("--agent", required=True, choices=("ppo", "dqn", "sac", "td3", "ppo-lstm"))
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--eval-every", type=int, required=True, help="env steps between evaluations")
    parser.add_argument("--eval-episodes", type=int, default=20)
    parser.add_argument("--stop-at", type=float, required=True, help="stop when the evaluation mean reaches this")
    parser.add_argument("--episodes", type=int, default=100, help="fresh episodes to play the final policy on")
    parser.add_argument("--budget", type=int, help="replace Zoo's step budget (smoke tests only)")
    print(json.dumps(train_and_confirm(parser.parse_args())), flush=True)


if __name__ == "__main__":
    main()
