"""Our pygame games: the env contract, the rules of each game, seeding, drawing, and a small learning run."""

from __future__ import annotations

import math
import time
import warnings

import gymnasium as gym
import numpy as np
import pytest

import envs  # noqa: F401  (registers the playground/ ids)
from core.errors import PlaygroundError
from envs.games import game_ids
from envs.games.base import PIXEL_SIZE
from envs.games.bricks import BricksEnv
from envs.games.physics import Ball
from envs.games.pong import PADDLE_X, PongEnv, ScriptedOpponent, mirror_observation
from envs.games.snake import STRAIGHT, TURN_LEFT, TURN_RIGHT, SnakeEnv

GAME_CLASSES = (SnakeEnv, PongEnv, BricksEnv)


def stay(observation: np.ndarray) -> int:
    return 0


# --- the env contract ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("env_id", game_ids())
def test_gymnasium_and_sb3_env_checkers_pass(env_id):
    from gymnasium.utils.env_checker import check_env
    from stable_baselines3.common.env_checker import check_env as sb3_check_env

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # Snake-v0 is out of date: Gymnasium says so on make
        first, second = gym.make(env_id).unwrapped, gym.make(env_id).unwrapped
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a checker warning is a failure here
        check_env(first)
        sb3_check_env(second)


@pytest.mark.parametrize("env_id", game_ids())
def test_observation_mode_and_step_limit_come_with_the_id(env_id):
    env = gym.make(env_id)
    observation, _ = env.reset(seed=0)
    assert env.observation_space.contains(observation)
    if "Pixels" in env_id:
        assert observation.shape == (PIXEL_SIZE, PIXEL_SIZE, 3) and observation.dtype == np.uint8
    else:
        assert observation.ndim == 1 and observation.dtype == np.float32
    assert env.spec.max_episode_steps is not None and env.action_space == gym.spaces.Discrete(3)


def test_bad_modes_are_user_errors():
    with pytest.raises(PlaygroundError, match="obs_mode"):
        SnakeEnv(obs_mode="rgb")
    with pytest.raises(PlaygroundError, match="render_mode"):
        PongEnv(render_mode="window")


@pytest.mark.parametrize("env_class", GAME_CLASSES)
def test_step_limit_truncates(env_class):
    env = gym.make(f"playground/{env_class.title}-v0", max_episode_steps=5)
    env.reset(seed=0)
    env.unwrapped.step = lambda action: (env.unwrapped.observe(), 0.0, False, False, {})  # never ends by itself
    outcomes = [env.step(0)[2:4] for _ in range(5)]
    assert outcomes[-1] == (False, True) and all(outcome == (False, False) for outcome in outcomes[:-1])


@pytest.mark.parametrize("env_id", game_ids())
def test_same_seed_same_trajectory(env_id):
    def trajectory(seed: int) -> list:
        env = gym.make(env_id)
        observation, _ = env.reset(seed=seed)
        actions = np.random.default_rng(0).integers(3, size=150)
        steps = [observation]
        for action in actions:
            observation, reward, terminated, truncated, _ = env.step(int(action))
            steps += [observation, reward]
            if terminated or truncated:
                steps.append(env.reset()[0])
        return steps

    first, second, other = trajectory(3), trajectory(3), trajectory(4)
    assert all(np.array_equal(a, b) for a, b in zip(first, second))
    assert not all(np.array_equal(a, b) for a, b in zip(first, other))


# --- drawing ------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("env_class", GAME_CLASSES)
def test_rgb_frames_have_the_window_shape_and_follow_the_state(env_class):
    env = env_class(render_mode="rgb_array")
    env.reset(seed=0)
    first = env.render()
    width, height = env.window_size
    assert first.shape == (height, width, 3) and first.dtype == np.uint8
    env.step(1)
    env.step(1)
    assert not np.array_equal(first, env.render())


@pytest.mark.parametrize("env_class", GAME_CLASSES)
def test_pixel_observation_is_the_same_drawing_at_low_resolution(env_class):
    env = env_class(obs_mode="pixels", render_mode="rgb_array")
    observation, _ = env.reset(seed=0)
    big = env.frame((PIXEL_SIZE * 8, PIXEL_SIZE * 8)).astype(float)
    downscaled = big.reshape(PIXEL_SIZE, 8, PIXEL_SIZE, 8, 3).mean(axis=(1, 3))
    # Small objects are rounded to whole pixels, so compare mostly, not exactly; a different state differs more.
    assert np.mean(np.abs(downscaled - observation)) < 6
    assert np.array_equal(observation, env.frame((PIXEL_SIZE, PIXEL_SIZE)))
    moved, *_ = env.step(2)
    moved, *_ = env.step(2)
    assert not np.array_equal(observation, moved)


@pytest.mark.parametrize("env_class", GAME_CLASSES)
def test_human_render_mode_draws_a_window(env_class):
    import pygame

    env = env_class(render_mode="human")
    env.reset(seed=0)
    env.step(0)
    surface = pygame.display.get_surface()
    assert surface is not None and surface.get_size() == env.window_size
    assert env.render() is None
    env.close()
    assert not pygame.display.get_init()


# --- Snake --------------------------------------------------------------------------------------------------------

def snake_at(body, heading, food=(0, 0)) -> SnakeEnv:
    env = SnakeEnv(size=8)
    env.reset(seed=0)
    env.place(list(body), heading, food)
    return env


def test_eating_food_grows_the_snake_and_scores():
    env = snake_at([(3, 3), (2, 3), (1, 3)], heading=1, food=(4, 3))
    _, reward, terminated, _, info = env.step(STRAIGHT)
    assert reward == 1.0 and not terminated
    assert env.body == [(4, 3), (3, 3), (2, 3), (1, 3)] and info["score"] == 1
    assert env.food not in env.body
    _, reward, _, _, _ = env.step(STRAIGHT)
    assert reward == 0.0 and len(env.body) == 4


def test_hitting_a_wall_ends_the_snake():
    env = snake_at([(7, 3), (6, 3), (5, 3)], heading=1)
    assert env.vector_observation()[0] == 1.0  # danger straight ahead
    _, reward, terminated, _, _ = env.step(STRAIGHT)
    assert terminated and reward == -1.0


def test_hitting_itself_ends_the_snake_but_the_moving_tail_is_safe():
    body = [(3, 3), (4, 3), (4, 4), (3, 4), (2, 4), (1, 4), (1, 5)]  # heading up; turning left then down bites the body
    env = snake_at(body, heading=0)
    _, reward, terminated, _, _ = env.step(TURN_LEFT)  # to (2, 3)
    assert not terminated
    _, reward, terminated, _, _ = env.step(TURN_LEFT)  # down, onto (2, 4), the body
    assert terminated and reward == -1.0
    square = [(3, 3), (4, 3), (4, 4), (3, 4)]  # the head chases its own tail tip, which moves on
    env = snake_at(square, heading=3)
    _, _, terminated, _, _ = env.step(TURN_LEFT)  # down, onto (3, 4): the tail tip
    assert not terminated


def test_snake_features_point_to_the_food_in_the_snake_frame():
    env = snake_at([(3, 3), (2, 3), (1, 3)], heading=1, food=(3, 6))  # heading right, food below: on the right
    features = env.vector_observation()
    assert list(features[3:7]) == [0, 1, 0, 0]                            # heading right
    assert list(features[7:]) == [0, 0, 0, 1]                             # not ahead, not behind, right
    env.step(TURN_RIGHT)
    assert list(env.vector_observation()[7:]) == [1, 0, 0, 0]             # now straight ahead


def test_snake_starves_without_food():
    env = SnakeEnv(size=8, hunger_limit=3)
    env.reset(seed=0)
    env.place([(1, 1), (1, 2), (1, 3)], heading=1, food=(7, 7))
    outcomes = [env.step(STRAIGHT)[2:4] for _ in range(3)]
    assert outcomes == [(False, False), (False, False), (False, True)]


def test_snake_v1_sees_the_board_from_its_head_whatever_its_heading():
    body, food, size = [(3, 4), (3, 5), (4, 5), (5, 5)], (1, 2), 10  # heading up, food ahead on the left

    def view(turns: int) -> np.ndarray:
        turn = lambda x, y: (size - 1 - y, x)  # noqa: E731  (a quarter turn clockwise of the whole board)
        cells, meal = list(body), food
        for _ in range(turns):
            cells, meal = [turn(*cell) for cell in cells], turn(*meal)
        env = SnakeEnv(size=size, board=True)
        env.reset(seed=0)
        env.place(cells, heading=turns, food=meal)
        return env.vector_observation()

    upright = view(0)
    window = 2 * size - 1
    obstacles, meal = upright[11:11 + window * window].reshape(window, window), upright[11 + window * window:]
    centre = size - 1
    assert obstacles[centre, centre] == 1.0 and obstacles[centre + 1, centre] == 0.75  # head; the next of 4 cells
    assert obstacles[centre + 1, centre + 2] == 0.25 and obstacles[0, 0] == 1.0       # the tail tip; off the board
    assert meal.reshape(window, window)[centre - 2, centre - 2] == 1.0 and meal.sum() == 1.0
    for turns in (1, 2, 3):
        assert np.array_equal(view(turns)[11:], upright[11:])
    assert gym.make("playground/Snake-v1").observation_space.shape == (11 + 2 * window * window,)


# --- Pong ---------------------------------------------------------------------------------------------------------

def pong_with_ball(x, y, vx, vy, right_y=0.5, left_y=0.5) -> PongEnv:
    env = PongEnv(opponent=stay)
    env.reset(seed=0)
    env.ball, env.right_y, env.left_y = Ball(x, y, vx, vy), right_y, left_y
    return env


def test_a_missed_ball_scores_for_the_other_side():
    env = pong_with_ball(0.99, 0.5, 0.02, 0.0, right_y=0.15)  # past the agent's paddle, which is far away
    _, reward, terminated, _, info = env.step(0)
    assert reward == -1.0 and info == {"score": 0, "opponent_score": 1} and not terminated
    env = pong_with_ball(0.01, 0.5, -0.02, 0.0, left_y=0.85)
    _, reward, _, _, info = env.step(0)
    assert reward == 1.0 and info == {"score": 1, "opponent_score": 0}
    assert env.ball.x == 0.5  # served again from the middle


def test_first_to_the_points_ends_pong():
    env = pong_with_ball(0.01, 0.5, -0.02, 0.0, left_y=0.85)
    env.right_score = env.points_to_win - 1
    assert env.step(0)[2]


def test_the_ball_bounces_off_both_paddles():
    face = 1.0 - PADDLE_X
    env = pong_with_ball(face - 0.02, 0.5, 0.02, 0.0)
    _, reward, *_ = env.step(0)
    assert env.ball.vx < 0 and reward == 0.0
    env = pong_with_ball(PADDLE_X + 0.02, 0.5, -0.02, 0.0)
    env.step(0)
    assert env.ball.vx > 0


def test_where_the_ball_hits_the_paddle_sets_its_angle():
    face = 1.0 - PADDLE_X

    def outgoing_angle(hit_y: float) -> float:
        env = pong_with_ball(face - 0.02, hit_y, 0.02, 0.0)
        env.step(0)
        return math.atan2(env.ball.vy, -env.ball.vx)

    centre, low_end, high_end = outgoing_angle(0.5), outgoing_angle(0.58), outgoing_angle(0.42)
    assert abs(centre) < 1e-9 and low_end > 0.5 and high_end < -0.5


def test_the_opponent_can_be_swapped_and_sees_a_mirrored_world():
    seen = []
    env = PongEnv(opponent=lambda observation: seen.append(observation) or 1)  # always up
    own, _ = env.reset(seed=0)
    env.step(0)
    assert np.allclose(seen[0], mirror_observation(own)) and env.left_y < 0.5
    assert np.allclose(mirror_observation(mirror_observation(own)), own)
    pixels = PongEnv(obs_mode="pixels", opponent=stay, opponent_obs_mode="pixels")
    image, _ = pixels.reset(seed=0)
    assert np.array_equal(mirror_observation(image), image[:, ::-1])
    assert ScriptedOpponent()(np.array([0.5, 0.9, 0.5, 0.0, 0.5, 0.5])) in (0, 1, 2)


# --- Bricks -------------------------------------------------------------------------------------------------------

def bricks_with_ball(x, y, vx, vy, paddle_x=0.5) -> BricksEnv:
    env = BricksEnv()
    env.reset(seed=0)
    env.ball, env.paddle_x = Ball(x, y, vx, vy), paddle_x
    return env


def test_a_hit_brick_disappears_and_scores():
    x, y, width, height = BricksEnv().brick_rect(3, 2)  # bottom row
    env = bricks_with_ball(x + width / 2, y + height + 0.02, 0.0, -0.022)
    _, reward, _, _, info = env.step(0)
    assert reward == 1.0 and not env.bricks[3, 2] and env.bricks.sum() == env.bricks.size - 1
    assert env.ball.vy > 0 and info["score"] == 1
    assert env.vector_observation()[6 + 3 * env.columns + 2] == 0.0


def test_clearing_the_wall_ends_the_game():
    x, y, width, height = BricksEnv().brick_rect(3, 2)
    env = bricks_with_ball(x + width / 2, y + height + 0.02, 0.0, -0.022)
    env.bricks[:] = False
    env.bricks[3, 2] = True
    assert env.step(0)[2]


def test_where_the_ball_hits_the_paddle_aims_it():
    def outgoing(paddle_x: float) -> tuple[float, float]:
        env = bricks_with_ball(0.5, 0.90, 0.0, 0.022, paddle_x=paddle_x)
        env.step(0)
        return env.ball.vx, env.ball.vy

    straight, to_the_right, to_the_left = outgoing(0.5), outgoing(0.43), outgoing(0.57)
    assert straight[1] < 0 and abs(straight[0]) < 1e-9
    assert to_the_right[0] > 0.01 and to_the_left[0] < -0.01 and to_the_right[1] < 0


def test_a_missed_ball_costs_a_life_and_the_last_one_ends_the_game():
    env = bricks_with_ball(0.1, 1.0, 0.0, 0.022, paddle_x=0.8)
    _, reward, terminated, _, info = env.step(0)
    assert info["lives"] == 2 and not terminated and reward == 0.0 and env.ball.vy < 0
    env.lives = 1
    env.ball, env.paddle_x = Ball(0.1, 1.0, 0.0, 0.022), 0.8
    assert env.step(0)[2]


# --- learning -----------------------------------------------------------------------------------------------------

def mean_return(env_id: str, act, episodes: int, seed: int) -> float:
    env = gym.make(env_id)
    returns = []
    for episode in range(episodes):
        observation, _ = env.reset(seed=seed + episode)
        total, done = 0.0, False
        while not done:
            observation, reward, terminated, truncated, _ = env.step(act(observation))
            total += reward
            done = terminated or truncated
        returns.append(total)
    return float(np.mean(returns))


@pytest.mark.slow
def test_ppo_learns_the_batched_snake_beyond_a_random_agent():
    import torch
    from stable_baselines3 import PPO

    from agents.presets import preset_for
    from envs.factory import make_vector_env

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        start = time.perf_counter()
        preset = preset_for("ppo", "playground/Snake-v0")
        settings = {key: preset[key] for key in ("n_steps", "batch_size", "n_epochs", "learning_rate", "gamma",
                                                 "gae_lambda", "ent_coef") if key in preset}
        vec_env = make_vector_env("playground/Snake-v0", preset["n_envs"], seed=0, training=True)
        model = PPO("MlpPolicy", vec_env, seed=0, device="cpu", **settings)
        model.learn(total_timesteps=300_000)
        trained = mean_return("playground/Snake-v0", lambda obs: int(model.predict(obs, deterministic=True)[0]),
                              episodes=20, seed=1000)
        rng = np.random.default_rng(0)
        random = mean_return("playground/Snake-v0", lambda obs: int(rng.integers(3)), episodes=20, seed=1000)
        assert trained > random + 8.0, (trained, random)
        assert time.perf_counter() - start < 120
    finally:
        torch.set_num_threads(threads)
