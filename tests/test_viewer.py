"""The viewer under SDL's dummy driver: quitting, the HUD, key maps, video files."""

from __future__ import annotations

import gymnasium as gym
import imageio.v2 as imageio
import numpy as np
import pygame
import pytest

from core.control import Decision
from viewer.hud import Hud, HudState, format_action
from viewer.keymaps import KEYMAPS, HumanController, keymap_for
from viewer.video import VideoWriter
from viewer.window import Viewer, ViewerOptions


class AlwaysLeft:
    name = "left"

    def reset(self) -> None:
        pass

    def decide(self, observation: np.ndarray) -> Decision:
        return Decision(0, probabilities=np.array([0.9, 0.1]), value=12.5)


def _viewer(options: ViewerOptions) -> Viewer:
    env = gym.make("CartPole-v1", render_mode="rgb_array")
    state = HudState(agent="left", env_id="CartPole-v1", episodes=2, action_labels=["left", "right"])
    return Viewer(env, AlwaysLeft(), state, options)


def test_window_plays_episodes_and_escape_quits():
    viewer = _viewer(ViewerOptions(window=True, fps=1000))
    returns = viewer.run(episodes=2, seed=0)
    assert len(returns) == 2 and all(5 <= r < 20 for r in returns)  # always pushing left falls fast
    pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_ESCAPE))
    assert viewer.run(episodes=5, seed=0) == []
    assert viewer.quit
    viewer.close()


def test_window_close_button_quits():
    viewer = _viewer(ViewerOptions(window=True, fps=1000))
    viewer.run(episodes=1, seed=0)  # opens the window
    pygame.event.post(pygame.event.Event(pygame.QUIT))
    assert viewer.run(episodes=1, seed=0) == []
    viewer.close()


def test_recording_writes_one_frame_per_step_plus_the_reset(tmp_path):
    viewer = _viewer(ViewerOptions(window=False, record_to=tmp_path / "left.mp4"))
    returns = viewer.run(episodes=2, seed=1)
    path = viewer.close()
    assert path.stat().st_size > 0
    assert imageio.get_reader(path).count_frames() == int(sum(returns)) + 2


def test_gif_recording(tmp_path):
    writer = VideoWriter(tmp_path / "clip.gif", fps=10)
    for shade in range(0, 250, 50):
        writer.add(np.full((20, 30, 3), shade, dtype=np.uint8))
    frames = imageio.mimread(writer.close())
    assert len(frames) == 5 and frames[0].shape[:2] == (20, 30)


def test_hud_draws_probability_bars_in_the_chosen_colour():
    surface = pygame.Surface((300, 400))
    state = HudState(agent="ppo", env_id="CartPole-v1", episodes=1, action_labels=["left", "right"],
                     decision=Decision(1, probabilities=np.array([0.2, 0.8]), value=3.0))
    Hud().draw(surface, surface.get_rect(), state)
    pixels = pygame.surfarray.array3d(surface).reshape(-1, 3)
    assert (pixels == (255, 190, 70)).all(axis=1).any()  # the chosen action's bar
    assert format_action(1, ["left", "right"]) == "1 (right)"


def test_human_controller_follows_held_keys(monkeypatch):
    pygame.init()
    keymap = keymap_for("MountainCar-v0", gym.spaces.Discrete(3))
    controller = HumanController(keymap)
    held = {pygame.K_RIGHT}
    monkeypatch.setattr(pygame.key, "get_pressed", lambda: _Pressed(held))
    assert controller.decide(np.zeros(2)).action == 2
    held.clear()
    assert controller.decide(np.zeros(2)).action == keymap.idle == 1
    assert any("RIGHT" in line for line in keymap.help_lines())


def test_every_catalog_keymap_action_is_valid():
    from envs.catalog import CATALOG
    from envs.make import make_env

    for _, entry in CATALOG.items():
        if entry.missing_requirement():
            continue
        space = make_env(entry.env_id).action_space  # make_env registers the ALE/ ids (ale-py) when needed
        keymap = KEYMAPS[entry.env_id]
        for _, action, _ in keymap.bindings:
            assert space.contains(action), (entry.env_id, action)
        assert space.contains(keymap.idle)


def test_unknown_env_without_small_discrete_space_has_no_keymap():
    from core.errors import PlaygroundError

    with pytest.raises(PlaygroundError, match="no key map"):
        keymap_for("Foo-v0", gym.spaces.Box(-1, 1, (3,)))


class _Pressed:
    def __init__(self, held: set[int]) -> None:
        self.held = held

    def __getitem__(self, code: int) -> bool:
        return code in self.held


class Counting:
    """Always pushes right; counts its decisions."""

    name = "counting"

    def __init__(self) -> None:
        self.calls = 0

    def reset(self) -> None:
        pass

    def decide(self, observation: np.ndarray) -> Decision:
        self.calls += 1
        return Decision(1, value=float(self.calls))


def _key(key: int, text: str = "") -> pygame.event.Event:
    return pygame.event.Event(pygame.KEYDOWN, key=key, unicode=text)


def _script(monkeypatch, frames: list[list[pygame.event.Event]]) -> None:
    """Feed one list of events per frame to the viewer; ESC once the script runs out."""
    queue = list(frames)
    monkeypatch.setattr(pygame.event, "get", lambda: queue.pop(0) if queue else [_key(pygame.K_ESCAPE)])


def _scripted_viewer(tmp_path, human=None) -> tuple[Viewer, Counting]:
    agent = Counting()
    env = gym.make("CartPole-v1", render_mode="rgb_array")
    state = HudState(agent="counting", env_id="CartPole-v1", episodes=1)
    options = ViewerOptions(window=True, fps=1000, human=human, screenshot_dir=tmp_path / "shots",
                            record_to=tmp_path / "view.mp4")
    return Viewer(env, agent, state, options), agent


def test_pause_single_step_and_quit(monkeypatch, tmp_path):
    viewer, agent = _scripted_viewer(tmp_path)
    pause, step = _key(pygame.K_SPACE, " "), _key(pygame.K_PERIOD, ".")
    _script(monkeypatch, [[pause]] + [[]] * 10 + [[step]] + [[]] * 10 + [[step]] + [[]] * 5)
    assert viewer.run(episodes=1, seed=0) == []  # ESC before the episode ended
    assert agent.calls == 2 and viewer.state.step == 2 and viewer.controls.paused
    path = viewer.close()
    assert imageio.get_reader(path).count_frames() == 3  # reset frame + two steps; paused frames not recorded


def test_speed_keys_double_and_halve(monkeypatch, tmp_path):
    viewer, _ = _scripted_viewer(tmp_path)
    _script(monkeypatch, [[_key(pygame.K_PLUS, "+")], [_key(pygame.K_PLUS, "+")], [_key(pygame.K_MINUS, "-")]])
    viewer.run(episodes=1, seed=0)
    assert viewer.controls.speed == 2.0
    viewer.close()


def test_take_over_and_give_back(monkeypatch, tmp_path):
    class Human(Counting):
        def decide(self, observation: np.ndarray) -> Decision:
            self.calls += 1
            return Decision(0)

    human = Human()
    viewer, agent = _scripted_viewer(tmp_path, human=human)
    take = _key(pygame.K_t, "t")
    _script(monkeypatch, [[], [], [take], [], [], [take], [], []])
    viewer.run(episodes=1, seed=0)
    assert (agent.calls, human.calls) == (5, 3)
    viewer.close()


def test_screenshot_and_reset(monkeypatch, tmp_path):
    viewer, agent = _scripted_viewer(tmp_path)
    _script(monkeypatch, [[], [], [_key(pygame.K_s, "s")], [], [_key(pygame.K_r, "r")], []])
    viewer.run(episodes=1, seed=0)
    assert len(viewer.screenshots) == 1
    shot = pygame.image.load(str(viewer.screenshots[0]))
    assert shot.get_size() == viewer.canvas.get_size()
    assert viewer.state.step == 1  # the restart began a fresh episode, which ran one step before ESC
    assert agent.calls == 5
    viewer.close()
