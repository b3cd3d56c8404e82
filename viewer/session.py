"""Showing an agent: a prepared one in a window (or a video when there is no display), or a run's newest
policy while it trains (`watch`), with the HUD, keys and opponent."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.control import Controller
from core.files import new_file
from core.runs import new_run_dir
from envs.catalog import catalog_entry_for_id
from envs.games import game_variants
from envs.make import make_env
from viewer.hud import HudState
from viewer.keymaps import HumanController, keymap_for
from viewer.live import LiveTraining, WatchOptions
from viewer.opponents import SeatedPlayer, set_opponent
from viewer.window import Viewer, ViewerOptions


@dataclass
class ShowOptions:
    """How to show the episodes, as the command line asked.

    Args:
        window: A window (True) or a video in the run folder (False).
        episodes: How many episodes.
        seed: The first episode's seed.
        versus: Who plays the other side of a two-player game: scripted, human or self.
        record_to: A new file to record to (.mp4 or .gif), besides the window.
        runs_dir: Where a folder is made for the video when the agent has no run folder (random, human).
    """

    window: bool
    episodes: int
    seed: int
    versus: str = "scripted"
    record_to: Path | None = None
    runs_dir: Path = Path("runs")


def show(prepared: Any, options: ShowOptions) -> tuple[list[float], Path | None]:
    """Play a prepared agent's episodes in a window, or record them to a video; returns the returns and the video.

    Args:
        prepared: An `agents.session.PreparedAgent` (its controller, env id, agent name and run folder).
        options: How to show them.
    """
    folder = prepared.run_dir or new_run_dir(options.runs_dir, prepared.env_id, prepared.spec.name)
    record_to = options.record_to
    if record_to is None and not options.window:
        record_to = new_file(folder / "videos" / f"play-{time.strftime('%Y%m%d-%H%M%S')}.mp4")
    viewer = _viewer(prepared.env_id, prepared.spec.name, prepared.controller, options.versus,
                     ViewerOptions(window=options.window, record_to=record_to, screenshot_dir=folder / "screenshots"),
                     agent_is_human=prepared.spec.name == "human")
    return _play(viewer, options.episodes, options.seed)


def show_match(game: str, right: Any, left: Any, options: ShowOptions) -> tuple[list[float], Path | None]:
    """Two league players (`agents.players.Contestant`) play each other in the window; returns the right
    player's returns.

    Args:
        game: The two-player game (Pong).
        right: The player of the right side (the HUD's agent).
        left: The player of the left side.
        options: How to show the games.
    """
    env_id = next(env_id for env_id, obs_mode in game_variants(game) if obs_mode == "vector")
    env = make_env(env_id, render_mode="rgb_array")
    games = env.unwrapped.games  # the single game's batch of one: both players see it from their side
    env.unwrapped.opponent = SeatedPlayer(left.name, left.seat(games, options.seed + 1), games, on_right=False)
    controller = SeatedPlayer(right.name, right.seat(games, options.seed), games, on_right=True)
    entry = catalog_entry_for_id(env_id)
    state = HudState(agent=f"{right.name} (right)", env_id=env_id, episodes=options.episodes,
                     action_labels=list(entry.action_labels) if entry and entry.action_labels else None,
                     help_lines=[f"left paddle: {left.name}", ""])
    folder = options.runs_dir / "league" / "screenshots"
    viewer = Viewer(env, controller, state, ViewerOptions(window=options.window, record_to=options.record_to,
                                                          screenshot_dir=folder))
    return _play(viewer, options.episodes, options.seed)


def watch(options: WatchOptions) -> tuple[list[float], Path | None]:
    """Show a run in a window while it trains (or after): its newest policy, and its training in a strip.

    Once training is over, plays `options.episodes` episodes of the final policy and returns their returns
    (and the video, when recording).
    """
    live = LiveTraining(options.run_dir, options.trusted_code, options.control)
    viewer = _viewer(options.env_id, options.agent, live.policy, options.versus,
                     ViewerOptions(window=True, record_to=options.record_to,
                                   screenshot_dir=options.run_dir / "screenshots"), live=live)
    return _play(viewer, options.episodes, options.seed)


def _viewer(env_id: str, agent: str, controller: Controller, versus: str, options: ViewerOptions,
            agent_is_human: bool = False, live: LiveTraining | None = None) -> Viewer:
    """A viewer of `controller` in `env_id`, with the key map for take-over and the opponent `versus` asks for."""
    env = make_env(env_id, render_mode="rgb_array")
    keymap = keymap_for(env_id, env.action_space, required=agent_is_human)
    human = HumanController(keymap) if keymap and options.window else None
    entry = catalog_entry_for_id(env_id)
    state = HudState(agent=agent, env_id=env_id, episodes=1,
                     action_labels=list(entry.action_labels) if entry and entry.action_labels else None,
                     help_lines=keymap.help_lines() if keymap else [])
    state.help_lines += set_opponent(env, versus, controller)
    options.human = human
    return Viewer(env, human if agent_is_human else controller, state, options, live=live)


def _play(viewer: Viewer, episodes: int, seed: int) -> tuple[list[float], Path | None]:
    viewer.state.episodes = episodes
    try:
        returns = viewer.run(episodes, seed=seed)
    finally:
        video = viewer.close()
    return returns, video
