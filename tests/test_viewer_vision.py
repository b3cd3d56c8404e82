"""The agent's view and saliency: the panel beside the game frame, the key that toggles saliency, the maps."""

from __future__ import annotations

import gymnasium as gym
import imageio.v2 as imageio
import numpy as np
import pygame
import pytest
import torch
from stable_baselines3 import DQN, PPO
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
from torch import nn

from agents.controllers import ModelController
from core.control import Decision
from envs.minatar import PALETTE
from viewer.agent_view import observation_image, plane_tiles, view_kind
from viewer.hud import PANEL_WIDTH, HudState
from viewer.view_panel import VIEW_PANEL_WIDTH, ViewPanel
from viewer.window import GAME_HEIGHT, Viewer, ViewerOptions
from vision.saliency import gradient_saliency, saliency_map

MINATAR = "playground/Breakout-MinAtar-v0"
ROWS, COLUMNS = slice(3, 6), slice(7, 10)  # the only pixels RegionNet looks at


class Explaining:
    """Always stays put; when asked, explains with a saliency map hot at one cell."""

    name = "explaining"

    def __init__(self) -> None:
        self.explain_pixels = False
        self.explained = 0

    def reset(self) -> None:
        pass

    def decide(self, observation: np.ndarray) -> Decision:
        decision = Decision(0, probabilities=np.array([0.8, 0.1, 0.1]))
        if self.explain_pixels:
            self.explained += 1
            decision.saliency = np.zeros(observation.shape[1:], np.float32)
            decision.saliency[2, 3] = 1.0
        return decision


def _viewer(env_id: str, options: ViewerOptions, controller: object | None = None) -> Viewer:
    if env_id == MINATAR:
        pytest.importorskip("minatar")
    from envs.make import make_env

    env = make_env(env_id, render_mode="rgb_array")
    return Viewer(env, controller or Explaining(), HudState(agent="x", env_id=env_id, episodes=1), options)


def test_panel_sits_between_game_and_hud_for_image_observations_only():
    pixels = _viewer(MINATAR, ViewerOptions(window=False))
    pixels.run(episodes=1, seed=0)
    assert pixels.canvas.get_size() == (GAME_HEIGHT + VIEW_PANEL_WIDTH + PANEL_WIDTH, GAME_HEIGHT)  # square game
    assert pixels.panel_rect() == pygame.Rect(GAME_HEIGHT, 0, VIEW_PANEL_WIDTH, GAME_HEIGHT)
    assert any("saliency" in line for line in pixels.state.help_lines)
    pixels.close()
    vector = _viewer("CartPole-v1", ViewerOptions(window=False))
    vector.run(episodes=1, seed=0)
    assert vector.panel_rect() is None
    assert vector.canvas.get_size() == (600 + PANEL_WIDTH, GAME_HEIGHT)  # the layout as before
    assert not any("saliency" in line for line in vector.state.help_lines)
    vector.close()


def test_key_g_cycles_saliency_on_the_view_then_the_game_too_then_off():
    controller = Explaining()
    viewer = _viewer(MINATAR, ViewerOptions(window=True, fps=10_000), controller)
    hot_cell = (3 * 40 + 20, 2 * 40 + 20)  # the centre of the saliency's hot cell (row 2, column 3) on the game
    for presses, explains, game_heated in ((1, True, False), (1, True, True), (1, False, False)):
        for _ in range(presses):
            pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_g))
        explained = controller.explained
        viewer.run(episodes=1, seed=0)
        assert controller.explain_pixels == explains and (controller.explained > explained) == explains
        panel = pygame.surfarray.array3d(viewer.canvas.subsurface(viewer.panel_rect())).reshape(-1, 3)
        assert ((panel == (255, 255, 255)).all(axis=1).sum() > 100) == explains  # the hot cell, scaled up
        assert (min(viewer.canvas.get_at(hot_cell)[:3]) > 180) == game_heated
    viewer.close()


def test_recording_with_the_panel_writes_one_frame_per_step_plus_the_reset(tmp_path):
    viewer = _viewer(MINATAR, ViewerOptions(window=False, record_to=tmp_path / "view.mp4"))
    steps = []
    decide = viewer.controller.decide
    viewer.controller.decide = lambda observation: steps.append(1) or decide(observation)
    viewer.run(episodes=2, seed=2)
    reader = imageio.get_reader(viewer.close())
    assert reader.count_frames() == len(steps) + 2
    assert reader.get_data(0).shape == (GAME_HEIGHT, GAME_HEIGHT + VIEW_PANEL_WIDTH + PANEL_WIDTH, 3)


def test_view_kinds_and_pictures():
    grid_space = gym.spaces.Box(0, 1, (4, 10, 10), np.uint8)
    stack_space = gym.spaces.Box(0, 255, (4, 84, 84), np.uint8)
    rgb_space = gym.spaces.Box(0, 255, (64, 64, 3), np.uint8)
    assert [view_kind(s) for s in (grid_space, stack_space, rgb_space)] == ["grid", "stack", "rgb"]
    assert view_kind(gym.spaces.Box(-1, 1, (4,))) is None
    grid = np.zeros((4, 10, 10), np.uint8)
    grid[1, 2, 3] = grid[1, 5, 5] = grid[3, 5, 5] = 1
    picture = observation_image(grid, grid_space, "grid")
    assert tuple(picture[2, 3]) == tuple(PALETTE[1]) and tuple(picture[5, 5]) == tuple(PALETTE[3])
    assert picture[0, 0].tolist() == [0, 0, 0]
    stack = np.zeros((4, 84, 84), np.uint8)
    stack[-1, 10, 20] = 255
    assert observation_image(stack, stack_space, "stack")[10, 20].tolist() == [255, 255, 255]
    assert len(plane_tiles(stack, stack_space, "stack")) == 4 and plane_tiles(stack, rgb_space, "rgb") == []


def test_saliency_overlay_only_where_the_map_is_hot():
    space = gym.spaces.Box(0, 1, (4, 10, 10), np.uint8)
    panel, surface = ViewPanel(space), pygame.Surface((VIEW_PANEL_WIDTH, GAME_HEIGHT))
    saliency = np.zeros((10, 10), np.float32)
    saliency[7, 1] = 1.0
    panel.draw(surface, surface.get_rect(), np.zeros((4, 10, 10), np.uint8), saliency, "on")
    white = np.argwhere((pygame.surfarray.array3d(surface) == 255).all(axis=-1))  # (x, y) of white pixels
    hot = white[(white[:, 1] > 40) & (white[:, 1] < 280)]  # inside the main picture, not the legend or text
    assert len(hot) > 100
    assert hot[:, 0].max() < VIEW_PANEL_WIDTH / 2 and hot[:, 1].min() > 140  # column 1 (left), row 7 (low)


def test_saliency_map_is_high_exactly_where_a_network_looks_and_follows_the_input():
    def region_only(x: torch.Tensor) -> torch.Tensor:
        return (x[:, :, ROWS, COLUMNS] ** 2).sum()  # gradient 2x: large where the region is bright

    observation = torch.rand(1, 3, 12, 12) * 0.1
    observation[0, 1, 4, 8] = 1.0
    heat = gradient_saliency(region_only, observation)
    assert heat.shape == (12, 12) and heat.dtype == np.float32 and np.isfinite(heat).all()
    assert heat.min() >= 0.0 and heat.max() == 1.0
    outside = np.ones((12, 12), bool)
    outside[ROWS, COLUMNS] = False
    assert (heat[outside] == 0).all() and np.unravel_index(heat.argmax(), heat.shape) == (4, 8)
    observation[0, 1, 4, 8], observation[0, 2, 5, 7] = 0.0, 1.0
    assert np.unravel_index(gradient_saliency(region_only, observation).argmax(), heat.shape) == (5, 7)
    channels_last = gradient_saliency(lambda x: region_only(x.permute(0, 3, 1, 2)), observation.permute(0, 2, 3, 1),
                                      channels_first=False)
    assert np.array_equal(channels_last, gradient_saliency(region_only, observation))
    assert saliency_map(torch.zeros(2, 5, 5)).tolist() == np.zeros((5, 5)).tolist()  # no NaN from 0/0
    assert gradient_saliency(region_only, observation, smooth=1)[outside].max() > 0  # blurred past the edge


class RegionNet(BaseFeaturesExtractor):
    """A plug-in perception network that sees only rows 3-5, columns 7-9 of the image."""

    def __init__(self, observation_space: gym.spaces.Box, features_dim: int = 8) -> None:
        super().__init__(observation_space, features_dim)
        self.linear = nn.Linear(3 * 3 * 3, features_dim)

    def forward(self, observations: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.linear(observations[:, :, ROWS, COLUMNS].flatten(1)))


class Blank(gym.Env):
    """Random 12x12 colour images, channels last (SB3 transposes them), three actions."""

    observation_space = gym.spaces.Box(0, 255, (12, 12, 3), np.uint8)
    action_space = gym.spaces.Discrete(3)

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        return self.observation_space.sample(), {}

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict]:
        return self.observation_space.sample(), 0.0, False, False, {}


@pytest.mark.parametrize("algorithm", [PPO, DQN])
def test_model_controller_explains_the_chosen_action_through_any_features_extractor(algorithm):
    kwargs = {"n_steps": 8, "batch_size": 8} if algorithm is PPO else {"buffer_size": 10, "learning_starts": 0}
    model = algorithm("CnnPolicy", Blank(), policy_kwargs={"features_extractor_class": RegionNet}, seed=0,
                      device="cpu", **kwargs)
    controller = ModelController(model, "test")
    observation = Blank.observation_space.sample()
    assert controller.decide(observation).saliency is None  # not asked
    controller.explain_pixels = True
    decision = controller.decide(observation)
    heat = decision.saliency
    assert heat.shape == (12, 12) and np.isfinite(heat).all() and heat.min() >= 0 and heat.max() == 1.0
    outside = np.ones((12, 12), bool)
    outside[ROWS, COLUMNS] = False
    assert heat[ROWS, COLUMNS].min() > 0 and (heat[outside] == 0).all()
    assert not any(p.grad is not None for p in model.policy.parameters())  # no gradient left behind
    assert controller.decide(observation).action == decision.action


def test_vector_policies_give_no_saliency():
    model = PPO("MlpPolicy", "CartPole-v1", n_steps=8, batch_size=8, device="cpu")
    controller = ModelController(model, "ppo")
    controller.explain_pixels = True
    assert controller.decide(np.zeros(4, np.float32)).saliency is None


def test_recurrent_controller_explains_with_its_memory_held():
    from sb3_contrib import RecurrentPPO

    model = RecurrentPPO("CnnLstmPolicy", Blank(), n_steps=8, batch_size=8, device="cpu", seed=0,
                         policy_kwargs={"features_extractor_class": RegionNet})
    controller = ModelController(model, "ppo-lstm")
    controller.explain_pixels = True
    observation = Blank.observation_space.sample()
    heat = controller.decide(observation).saliency
    assert heat.shape == (12, 12) and heat.max() == 1.0 and heat[ROWS, COLUMNS].min() > 0
    assert heat.sum() == pytest.approx(heat[ROWS, COLUMNS].sum())
    assert controller.decide(observation).hidden is not None  # the memory still moves on
