"""Atari games through ale-py, with the standard preprocessing of the DQN papers.

No-op starts (up to 30), frame skip 4 with max-pooling, 84x84 grayscale, a frame stack of 4 (the
observation is `(4, 84, 84)` uint8, channels first), FIRE at reset where the game needs it. Losing a life
ends the episode and rewards are clipped to their sign only while training (`training=True`); evaluation
and the viewer see whole games and real scores, and FIRE is pressed once after a lost life where the game
needs it (as RL Zoo's evaluation does through SB3's life-loss reset), so that an agent that never presses FIRE
cannot freeze a game until its 108,000-frame limit. The wrappers are stable-baselines3's `AtariWrapper`, the
same as its `make_atari_env`. ale-py ships the game ROMs.
"""

from __future__ import annotations

import copy
import importlib.util
from collections.abc import Sequence
from typing import Any

import gymnasium as gym
from gymnasium.envs.registration import EnvSpec, WrapperSpec

from core.errors import PlaygroundError

PREFIX = "ALE/"
FRAME_STACK = 4
SCREEN_SIZE = 84
FIRE = 1  # FIRE's place in the action set of the games that need it (SB3's `FireResetEnv` test)
INSTALL_HINT = "pip install ale-py opencv-python-headless (or pip install -e '.[atari]')"


def is_atari(env_id: str) -> bool:
    """Whether an id names an ale-py game (`ALE/Pong-v5`)."""
    return env_id.lower().startswith(PREFIX.lower())


def register_atari() -> None:
    """Register the `ALE/...` ids with Gymnasium (importing ale-py), or say what to install."""
    if importlib.util.find_spec("ale_py") is None or importlib.util.find_spec("cv2") is None:
        raise PlaygroundError(f"Atari games need ale-py and OpenCV: {INSTALL_HINT}.")
    import ale_py

    ale_py.ALEInterface.setLoggerMode(ale_py.LoggerMode.Error)  # no banner in the middle of our output
    gym.register_envs(ale_py)


def make_atari(env_id: str, render_mode: str | None = None, training: bool = False, **kwargs: Any) -> gym.Env:
    """One preprocessed Atari env.

    Args:
        env_id: An `ALE/<Game>-v5` id.
        render_mode: None, "human" or "rgb_array" (the full-colour screen).
        training: Also end episodes at a lost life and clip rewards to -1, 0, +1.
        kwargs: Passed on to the ALE env (for example `repeat_action_probability`).
    """
    register_atari()
    # The preprocessing skips frames itself, so the ALE env must not skip any.
    return AtariPreprocessing(gym.make(env_id, render_mode=render_mode, frameskip=1, **kwargs), training=training)


class AtariPreprocessing(gym.Wrapper, gym.utils.RecordConstructorArgs):
    """The whole preprocessing chain as one wrapper, so that Gymnasium can remake the env from its spec.

    Args:
        env: An ALE env made with `frameskip=1`.
        training: End episodes at a lost life and clip rewards.
    """

    def __init__(self, env: gym.Env, training: bool = False) -> None:
        from stable_baselines3.common.atari_wrappers import AtariWrapper

        gym.utils.RecordConstructorArgs.__init__(self, training=training)
        chain = AtariWrapper(env, screen_size=SCREEN_SIZE, terminal_on_life_loss=training, clip_reward=training)
        if not training:
            chain = FireAfterLifeLoss(chain)
        chain = gym.wrappers.ReshapeObservation(chain, (SCREEN_SIZE, SCREEN_SIZE))
        super().__init__(gym.wrappers.FrameStackObservation(chain, FRAME_STACK))
        self.training = training

    @property
    def spec(self) -> EnvSpec | None:
        """The ALE env's spec plus this wrapper (the inner stable-baselines3 wrappers cannot be remade alone)."""
        base = self.unwrapped.spec
        if base is None:
            return None
        spec = copy.deepcopy(base)
        spec.additional_wrappers = (*base.additional_wrappers, WrapperSpec(
            type(self).__name__, f"{__name__}:{type(self).__name__}", {"training": self.training}))
        return spec


def needs_fire(action_names: Sequence[str]) -> bool:
    """Whether a game's minimal action set has FIRE second (SB3's `FireResetEnv` test for games that need it)."""
    return len(action_names) >= 3 and action_names[FIRE] == "FIRE"


class FireAfterLifeLoss(gym.Wrapper):
    """Whole games only: after a lost life, press FIRE for one step in games that need it to go on.

    In training, SB3's `EpisodicLifeEnv` ends the episode at a lost life and `FireResetEnv` presses FIRE as the
    next one starts; a whole game has no such reset, so this does the same inside `step`, adding the FIRE step's
    reward. Games whose second action is not FIRE pass through unchanged.

    Args:
        env: The AtariWrapper chain (frames skipped, so one step here is one agent step).
    """

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        self.active = needs_fire(env.unwrapped.get_action_meanings())
        self.lives = 0

    def reset(self, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        observation, info = self.env.reset(**kwargs)
        self.lives = info.get("lives", 0)
        return observation, info

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        observation, reward, terminated, truncated, info = self.env.step(action)
        lives = info.get("lives", 0)
        if self.active and 0 < lives < self.lives and not (terminated or truncated):
            observation, extra, terminated, truncated, info = self.env.step(FIRE)
            reward += extra
            lives = info.get("lives", 0)
        self.lives = lives
        return observation, reward, terminated, truncated, info
