"""One evaluation episode as an animated GIF in TensorBoard, so a run can be watched from TensorBoard alone.

TensorBoard's "video" is an animated GIF in an image summary (torch's `add_video` makes the same
thing through moviepy); imageio writes the GIF here, so no moviepy is needed. agents.clip_writer runs this
off training's critical path.
"""

from __future__ import annotations

import io
from pathlib import Path

import imageio.v2 as imageio
import numpy as np
from torch.utils.tensorboard import SummaryWriter
from torch.utils.tensorboard.summary import Summary

from core.control import Controller
from envs.make import make_env

MAX_FRAMES = 300
MAX_STEPS = 1000  # an Atari game played by a weak agent can last 27,000 steps: show its start
MAX_WIDTH = 320


def record_episode(controller: Controller, env_id: str, seed: int) -> tuple[list[np.ndarray], float, float]:
    """Play one episode; returns (frames, return, frames per second of real time).

    Long episodes keep every n-th frame (at most MAX_FRAMES) and play back at the same speed; an episode
    longer than MAX_STEPS is cut there.
    """
    env = make_env(env_id, render_mode="rgb_array")
    observation, _ = env.reset(seed=seed)
    controller.reset()
    frames, total, done = [env.render()], 0.0, False
    while not done and len(frames) <= MAX_STEPS:
        observation, reward, terminated, truncated, _ = env.step(controller.decide(observation).action)
        total += float(reward)
        done = terminated or truncated
        frames.append(env.render())
    env.close()
    stride = max(1, int(np.ceil(len(frames) / MAX_FRAMES)))
    fps = float(env.metadata.get("render_fps", 30)) / stride
    return [_shrink(frame) for frame in frames[::stride]], total, fps


def _shrink(frame: np.ndarray) -> np.ndarray:
    """Halve the frame until it is at most MAX_WIDTH wide (nearest-neighbour, cheap)."""
    while frame.shape[1] > MAX_WIDTH:
        frame = frame[::2, ::2]
    return np.ascontiguousarray(frame[..., :3])


def log_episode_gif(log_dir: Path, frames: list[np.ndarray], fps: float, step: int, tag: str = "eval/episode") -> None:
    """Write the frames as an animated GIF image summary into the TensorBoard folder `log_dir`."""
    buffer = io.BytesIO()
    imageio.mimsave(buffer, frames, format="GIF", duration=1000 / fps, loop=0)
    height, width = frames[0].shape[:2]
    image = Summary.Image(height=height, width=width, colorspace=3, encoded_image_string=buffer.getvalue())
    writer = SummaryWriter(str(log_dir))
    writer.file_writer.add_summary(Summary(value=[Summary.Value(tag=tag, image=image)]), step)
    writer.close()


def record_episode_clip(controller: Controller, env_id: str, seed: int, log_dir: Path, step: int) -> None:
    """Play one episode and write it into the TensorBoard folder `log_dir` as `eval/episode` at `step`."""
    frames, _, fps = record_episode(controller, env_id, seed)
    log_episode_gif(log_dir, frames, fps=fps, step=step)
