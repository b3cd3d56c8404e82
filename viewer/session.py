"""Showing a prepared agent: a window (or a video when there is no display) with the HUD, keys and opponent."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.files import new_file
from core.runs import new_run_dir
from envs.catalog import catalog_entry_for_id
from envs.factory import make_env
from viewer.hud import HudState
from viewer.keymaps import HumanController, keymap_for
from viewer.opponents import set_opponent
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
    env = make_env(prepared.env_id, render_mode="rgb_array")
    is_human = prepared.spec.name == "human"
    keymap = keymap_for(prepared.env_id, env.action_space, required=is_human)
    human = HumanController(keymap) if keymap and options.window else None
    controller = human if is_human else prepared.controller
    folder = prepared.run_dir or new_run_dir(options.runs_dir, prepared.env_id, prepared.spec.name)
    record_to = options.record_to
    if record_to is None and not options.window:
        record_to = new_file(folder / "videos" / f"play-{time.strftime('%Y%m%d-%H%M%S')}.mp4")
    entry = catalog_entry_for_id(prepared.env_id)
    state = HudState(agent=prepared.spec.name, env_id=prepared.env_id, episodes=options.episodes,
                     action_labels=list(entry.action_labels) if entry and entry.action_labels else None,
                     help_lines=keymap.help_lines() if keymap else [])
    state.help_lines += set_opponent(env, options.versus, prepared.controller)
    viewer = Viewer(env, controller, state, ViewerOptions(window=options.window, record_to=record_to, human=human,
                                                          screenshot_dir=folder / "screenshots"))
    try:
        returns = viewer.run(options.episodes, seed=options.seed)
    finally:
        video = viewer.close()
    return returns, video
