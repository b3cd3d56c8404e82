"""Atari in batches: ale-py's C++ vector env behind stable-baselines3's VecEnv API.

ale-py's `AtariVectorEnv` emulates N games on worker threads and does frame skip 4, max-pooling of the last two
frames, grayscale and the 84x84 resize in C++. This module presents it to stable-baselines3 with the
observations of the single-env chain in envs/atari.py: `(4, 84, 84)` uint8, channels first, the stack padded
with the first frame at a reset (Gymnasium's `FrameStackObservation`), the id's own sticky actions (0.25 for
`-v5`), action set and frame limit. The layers mirror stable-baselines3's `make_atari_env`, whose Monitor sits
inside the Atari wrappers:

    AtariVecEnv (whole games, raw scores) -> VecMonitor -> LifeLossAndClipping (training only)

so episode statistics always count whole games and unclipped scores, while a training agent sees an episode end
at each lost life and rewards clipped to -1, 0, +1.

What differs from the single-env chain, all within the DQN papers' preprocessing: the C++ reset presses FIRE
for one frame (SB3: FIRE, then action 2, four frames each) and takes 0-29 no-op frames (SB3: 1-30); it max-pools
grayscale frames (SB3: colour frames, then grayscale); after a lost life in training the game goes on under
the agent's control, where SB3's `EpisodicLifeEnv` takes one no-op step and `FireResetEnv` presses FIRE for it.
Whole games (evaluation, the viewer) press FIRE once after a lost life in games that need it, as the single-env
chain does there (envs/atari.py, `FireAfterLifeLoss`): the agent's action for that one step is replaced.
"""

from __future__ import annotations

import os
from typing import Any

import gymnasium as gym
import numpy as np
from stable_baselines3.common.vec_env import VecEnv, VecEnvWrapper, VecMonitor
from stable_baselines3.common.vec_env.base_vec_env import VecEnvObs, VecEnvStepReturn

from envs.atari import FIRE, FRAME_STACK, SCREEN_SIZE, is_atari, needs_fire, register_atari
from envs.vector import GymnasiumVecEnv

FRAME_SKIP = 4
NOOP_MAX = 30
VECTOR_ENTRY_POINT = "ale_py.vector_env:AtariVectorEnv"


def can_batch_atari(env_id: str) -> bool:
    """Whether an `ALE/...` id can run on ale-py's vector env (RGB-screen games; not the `-ram` ids)."""
    if not is_atari(env_id):
        return False
    register_atari()
    try:
        spec = gym.spec(env_id)
    except gym.error.Error:
        return False  # unknown ids take the single-env path, which says what is wrong
    kwargs = spec.kwargs
    return (spec.vector_entry_point == VECTOR_ENTRY_POINT and kwargs.get("obs_type", "rgb") == "rgb"
            and kwargs.get("mode") is None and kwargs.get("difficulty") is None)


def make_atari_vector_env(env_id: str, n_envs: int, training: bool = False) -> VecEnv:
    """`n_envs` games of an `ALE/<Game>-v5` id stepped together, with whole-game episode statistics.

    Args:
        env_id: An id for which `can_batch_atari` holds.
        n_envs: How many games.
        training: Also end episodes at a lost life and clip rewards to their sign (statistics stay whole games).
    """
    vec_env: VecEnv = VecMonitor(AtariVecEnv(env_id, n_envs, fire_after_life_loss=not training))
    return LifeLossAndClipping(vec_env) if training else vec_env


def available_cores() -> int:
    """The CPU cores this process may run on (its affinity mask, not the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


class AtariVecEnv(GymnasiumVecEnv):
    """N whole Atari games on ale-py's vector env, as an SB3 VecEnv: raw scores, an episode is a game.

    Frames come from C++ one at a time (`stack_num=1`) and are stacked here, so that a reset pads the stack
    with its first frame as the single-env chain does (ale-py pads with zeros) and a lost life can restart it.
    Each info holds `lives`, `frame_number`, `episode_frame_number` and `TimeLimit.truncated`, as the
    single-env chain's do.

    Args:
        env_id: An `ALE/<Game>-v5` id (see `can_batch_atari`).
        n_envs: How many games.
        num_threads: Emulator threads; default one per core present, at most one per game.
        fire_after_life_loss: Press FIRE for a game on the step after it lost a life (whole games only: a
            training agent must not have its action replaced), in games whose second action is FIRE.
    """

    def __init__(self, env_id: str, n_envs: int, num_threads: int | None = None,
                 fire_after_life_loss: bool = False) -> None:
        from ale_py.vector_env import AtariVectorEnv

        register_atari()
        settings = gym.spec(env_id).kwargs
        games = AtariVectorEnv(
            settings["game"], n_envs, num_threads=num_threads or min(n_envs, available_cores()),
            autoreset_mode=gym.vector.AutoresetMode.SAME_STEP, frameskip=FRAME_SKIP, maxpool=True,
            img_height=SCREEN_SIZE, img_width=SCREEN_SIZE, grayscale=True, stack_num=1, noop_max=NOOP_MAX,
            use_fire_reset=True, episodic_life=False, life_loss_info=False, reward_clipping=False,
            repeat_action_probability=settings.get("repeat_action_probability", 0.25),
            full_action_space=settings.get("full_action_space", False),
            max_num_frames_per_episode=settings.get("max_num_frames_per_episode", 108_000))
        super().__init__(games)
        self.env_id = env_id
        self.observation_space = gym.spaces.Box(0, 255, (FRAME_STACK, SCREEN_SIZE, SCREEN_SIZE), np.uint8)
        self.stacks = np.zeros((n_envs, *self.observation_space.shape), dtype=np.uint8)
        self.lives = np.zeros(n_envs, dtype=np.int32)
        action_names = [action.name for action in games.ale.get_action_set()]
        self.fire_after_life_loss = fire_after_life_loss and needs_fire(action_names)
        self.fire_next = np.zeros(n_envs, dtype=bool)

    def reset(self) -> VecEnvObs:
        seeds = None if self._seeds[0] is None else np.asarray(self._seeds, dtype=np.int64)
        frames, info = self.vector_env.reset(seed=seeds)
        self._reset_seeds()
        self.stacks[:] = frames  # (n, 1, 84, 84) fills all four places with the first frame
        self.lives = info["lives"].copy()
        self.fire_next[:] = False
        self.reset_infos = self._infos(info, np.zeros(self.num_envs, dtype=bool))
        return self.stacks.copy()

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = np.asarray(actions, dtype=np.int64).reshape(self.num_envs).copy()
        self._actions[self.fire_next] = FIRE

    def step_wait(self) -> VecEnvStepReturn:
        frames, rewards, terminated, truncated, info = self.vector_env.step(self._actions)
        dones = terminated | truncated
        self.stacks[:, :-1] = self.stacks[:, 1:]
        self.stacks[:, -1] = frames[:, 0]
        infos = self._infos(info, truncated & ~terminated)
        for index in np.flatnonzero(dones):
            last = self.stacks[index].copy()
            last[-1] = info["final_obs"][index, 0]  # the game's last frame; `frames` holds the next game's first
            infos[index]["terminal_observation"] = last
            self.stacks[index] = frames[index]
        if self.fire_after_life_loss:
            self.fire_next = (info["lives"] > 0) & (info["lives"] < self.lives) & ~dones
        self.lives = info["lives"].copy()
        return self.stacks.copy(), rewards.astype(np.float32), dones, infos

    def restart_stacks(self, mask: np.ndarray) -> np.ndarray:
        """Fill the stacks of the masked games with their newest frame (an episode starts mid-game)."""
        self.stacks[mask] = self.stacks[mask, -1:]
        return self.stacks[mask].copy()

    def _infos(self, info: dict[str, np.ndarray], time_limit: np.ndarray) -> list[dict[str, Any]]:
        return [{"lives": int(lives), "frame_number": int(frame), "episode_frame_number": int(episode_frame),
                 "TimeLimit.truncated": bool(limited)}
                for lives, frame, episode_frame, limited in zip(
                    info["lives"], info["frame_number"], info["episode_frame_number"], time_limit)]


class LifeLossAndClipping(VecEnvWrapper):
    """Training only: a lost life ends an episode and rewards are clipped to -1, 0, +1.

    stable-baselines3's `EpisodicLifeEnv` and `ClipRewardEnv` for a batch: an episode ends when the lives counter
    drops and stays above zero; the game goes on, and the next episode's stack starts from its newest frame.
    Wrap it around the `VecMonitor`, so that episode statistics still count whole games and raw scores.

    Args:
        venv: A `VecMonitor` over an `AtariVecEnv`.
    """

    def __init__(self, venv: VecEnv) -> None:
        super().__init__(venv)
        self.games: AtariVecEnv = venv.unwrapped
        self.lives = np.zeros(self.num_envs, dtype=np.int32)

    def reset(self) -> VecEnvObs:
        observations = self.venv.reset()
        self.lives = self.games.lives.copy()
        return observations

    def step_wait(self) -> VecEnvStepReturn:
        observations, rewards, dones, infos = self.venv.step_wait()
        lives = self.games.lives
        lost = (lives > 0) & (lives < self.lives) & ~dones
        self.lives = lives.copy()
        if lost.any():
            for index in np.flatnonzero(lost):
                infos[index]["terminal_observation"] = observations[index].copy()
            observations[lost] = self.games.restart_stacks(lost)
        return observations, np.sign(rewards), dones | lost, infos
