"""Seeing a vector env only through its rendered frames (`CartPolePixels`).

`RenderedFrames` replaces the observation by the env's own "rgb_array" frame, turned to grayscale and
shrunk by area averaging; a frame stack of 4 makes motion visible. The observation is
`(4, height, width)` uint8, channels first.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from core.errors import PlaygroundError

STACK = 4
# (env id, id of the pixel variant, shrink factor): CartPole's 400x600 frames become 80x120.
PIXEL_VARIANTS = (("CartPole-v1", "playground/CartPolePixels-v1", 5),)


class RenderedFrames(gym.ObservationWrapper):
    """Observe the env's rendered frame, `shrink` times smaller on each side, in grayscale.

    Args:
        env: An env made with `render_mode="rgb_array"`.
        shrink: The side of the square of pixels averaged into one.
    """

    def __init__(self, env: gym.Env, shrink: int) -> None:
        super().__init__(env)
        self.shrink = shrink
        self.metadata = {**env.metadata, "render_modes": ["rgb_array"]}  # frames come from rgb_array rendering
        height, width = env.unwrapped.screen_height, env.unwrapped.screen_width  # classic-control frame size
        self.observation_space = gym.spaces.Box(0, 255, (height // shrink, width // shrink), np.uint8)

    def observation(self, observation: Any) -> np.ndarray:
        # Brightness is the green channel: closest of the three to luma, and a weighted sum of all three
        # would cost more than rendering the frame did.
        green = np.ascontiguousarray(self.env.render()[:, :, 1])
        height, width = self.observation_space.shape
        side = self.shrink
        blocks = green[: height * side, : width * side].reshape(height, side, width, side)
        return blocks.mean(axis=(1, 3)).astype(np.uint8)


def make_pixel_variant(base_id: str, shrink: int, render_mode: str | None = None, **kwargs: Any) -> gym.Env:
    """`base_id` observed through its frames (the time limit comes from the registration)."""
    if render_mode not in (None, "rgb_array"):
        raise PlaygroundError(f"{base_id} observed through pixels renders only as rgb_array, not {render_mode}.")
    env = gym.make(base_id, render_mode="rgb_array", disable_env_checker=True, **kwargs).unwrapped
    return gym.wrappers.FrameStackObservation(RenderedFrames(env, shrink), STACK)


def register_pixel_variants() -> None:
    """Register every pixel variant (once), with the underlying env's step limit and reward threshold."""
    for base_id, pixel_id, shrink in PIXEL_VARIANTS:
        if pixel_id not in gym.envs.registry:
            base = gym.spec(base_id)
            gym.register(pixel_id, entry_point="envs.pixels:make_pixel_variant",
                         kwargs={"base_id": base_id, "shrink": shrink},
                         max_episode_steps=base.max_episode_steps, reward_threshold=base.reward_threshold)
