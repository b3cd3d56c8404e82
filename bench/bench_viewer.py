"""Frames per second of the viewer, HUD on, for the classic-control envs (target: at least 60).

    python bench/bench_viewer.py --frames 600
    python bench/bench_viewer.py --frames 300 --pixels   # pixel worlds: agent's view, saliency off and on

Runs the real Viewer (window mode) under SDL's dummy video driver with the frame cap lifted, so
the figure is the time to step the env, ask the agent (a PPO policy with probabilities and value),
render the game, draw the HUD (and for pixel worlds the agent's-view panel, with the saliency map's
backward pass when it is on) and present the frame.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")

ENVS = ["CartPole-v1", "Acrobot-v1", "MountainCar-v0", "MountainCarContinuous-v0", "Pendulum-v1"]
# Pixel worlds and the perception network their PPO preset uses.
PIXEL_ENVS = {"playground/CartPolePixels-v1": "nature", "playground/Breakout-MinAtar-v0": "minatar",
              "playground/SnakePixels-v0": "nature"}


def frames_per_second(env_id: str, frames: int, perception: str | None = None, saliency: bool = False) -> float:
    """Uncapped viewer frame rate with an untrained PPO agent (same network size as a trained one).

    Args:
        env_id: The env.
        frames: How many frames to time.
        perception: The CNN for a pixel world (None: an MLP policy).
        saliency: Show the saliency map (key `g` pressed).
    """
    import torch
    from stable_baselines3 import PPO

    from agents.controllers import ModelController
    from agents.models import perception_policy_kwargs
    from envs.factory import make_vector_env
    from envs.make import make_env
    from viewer.hud import HudState
    from viewer.window import Viewer, ViewerOptions

    torch.set_num_threads(1)
    policy = "CnnPolicy" if perception else "MlpPolicy"
    model = PPO(policy, make_vector_env(env_id, 1, 0), device="cpu",
                policy_kwargs=perception_policy_kwargs({"perception": perception}))
    env = make_env(env_id, render_mode="rgb_array")
    state = HudState(agent="ppo", env_id=env_id, episodes=10**6)
    viewer = Viewer(env, ModelController(model, "ppo"), state, ViewerOptions(window=True, fps=100_000))
    viewer.controls.saliency = saliency
    counted = 0
    original = viewer._frame

    def counting_frame(advanced: bool) -> None:
        nonlocal counted
        counted += 1
        original(advanced)
        if counted >= frames:
            viewer.controls.quit = True

    viewer._frame = counting_frame  # stop after a fixed number of frames
    start = time.perf_counter()
    viewer.run(episodes=10**6, seed=0)
    elapsed = time.perf_counter() - start
    viewer.close()
    return counted / elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=600)
    parser.add_argument("--pixels", action="store_true", help="time the pixel worlds, saliency off and on")
    args = parser.parse_args()
    if args.pixels:
        print("| env | perception | viewer frames/s, agent's view | with saliency |\n|---|---|---|---|")
        for env_id, perception in PIXEL_ENVS.items():
            plain = frames_per_second(env_id, args.frames, perception)
            explained = frames_per_second(env_id, args.frames, perception, saliency=True)
            print(f"| {env_id} | {perception} | {plain:.0f} | {explained:.0f} |", flush=True)
        return 0
    print("| env | viewer frames/s, HUD on |\n|---|---|")
    for env_id in ENVS:
        print(f"| {env_id} | {frames_per_second(env_id, args.frames):.0f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
