"""End to end: the main command trains PPO on CartPole until solved, reuses it, records video headless."""

from __future__ import annotations

from pathlib import Path

import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from tests.conftest import headless_env, last_json, run_cli


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict, str]:
    """One real training run of the main command, shared by the tests below."""
    runs = tmp_path_factory.mktemp("cli") / "runs"
    completed = run_cli("--agent", "ppo", "--env", "CartPole", "--render", "none", "--episodes", "20",
                        "--runs-dir", str(runs), "--json")
    return runs, last_json(completed), completed.stdout


@pytest.mark.slow
def test_first_run_trains_until_solved(trained):
    _, summary, stdout = trained
    assert summary["trained"] and not summary["reused"]
    assert summary["solved"] is True
    assert summary["episodes"] == 20 and summary["mean_return"] >= 475
    assert summary["env_id"] == "CartPole-v1" and summary["agent"] == "ppo"
    run_dir = Path(summary["run_dir"])
    for name in ("model.pt", "config.json", "command.txt"):
        assert (run_dir / name).is_file(), name
    assert "Training ppo on CartPole-v1" in stdout


@pytest.mark.slow
def test_second_run_reuses_the_saved_model(trained):
    runs, first, _ = trained
    completed = run_cli("--agent", "ppo", "--env", "cartpole", "--render", "none", "--episodes", "5",
                        "--runs-dir", str(runs), "--json")
    summary = last_json(completed)
    assert summary["reused"] and not summary["trained"]
    assert summary["run_dir"] == first["run_dir"]
    assert "Reusing the ppo agent trained before" in completed.stdout
    assert summary["mean_return"] >= 475


@pytest.mark.slow
def test_other_settings_or_seed_train_anew_and_keep_the_old_run(trained):
    runs, first, _ = trained
    for extra in (["--seed", "1"], ["--hp", "n_epochs=5", "--timesteps", "2048"]):
        completed = run_cli("--agent", "ppo", "--env", "CartPole", "--render", "none", "--episodes", "1",
                            "--runs-dir", str(runs), "--json", "--no-progress", *extra)
        summary = last_json(completed)
        assert summary["trained"] and summary["run_dir"] != first["run_dir"]
    assert Path(first["model_path"]).is_file()


@pytest.mark.slow
def test_load_plays_a_saved_model(trained):
    runs, first, _ = trained
    completed = run_cli("--load", first["run_dir"], "--render", "none", "--episodes", "3",
                        "--runs-dir", str(runs), "--json")
    summary = last_json(completed)
    assert summary["agent"] == "ppo" and summary["env_id"] == "CartPole-v1" and summary["mean_return"] >= 475


@pytest.mark.slow
def test_headless_falls_back_to_video(trained):
    import imageio.v2 as imageio

    runs, first, _ = trained
    completed = run_cli("--agent", "ppo", "--env", "CartPole", "--render", "human", "--episodes", "1",
                        "--runs-dir", str(runs), "--json", env=headless_env())
    summary = last_json(completed)
    assert "No display here" in completed.stdout
    video = Path(summary["video"])
    assert video.suffix == ".mp4" and video.stat().st_size > 10_000
    assert Path(first["run_dir"]) in video.parents
    frames = imageio.get_reader(video).count_frames()
    assert frames == int(summary["returns"][0]) + 1  # the reset frame plus one per step


def _episode_image(event_dir: Path, timeout: float = 60) -> list:
    """The `eval/episode` image events, once the background process has written them."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        events = EventAccumulator(str(event_dir), size_guidance={"images": 0})
        events.Reload()
        if "eval/episode" in events.Tags()["images"] or time.monotonic() > deadline:
            return events.Images("eval/episode")
        time.sleep(0.5)


@pytest.mark.slow
def test_tensorboard_holds_training_curves_eval_and_hparams(trained):
    _, summary, _ = trained
    event_dirs = list(Path(summary["run_dir"]).glob("tensorboard_*"))
    assert len(event_dirs) == 1
    events = EventAccumulator(str(event_dirs[0]), size_guidance={"scalars": 0, "images": 0})
    events.Reload()
    scalars = set(events.Tags()["scalars"])
    for tag in ("rollout/ep_rew_mean", "rollout/ep_len_mean", "train/loss", "train/value_loss",
                "train/policy_gradient_loss", "time/fps", "eval/mean_reward"):
        assert tag in scalars, (tag, sorted(scalars))
    eval_returns = [event.value for event in events.Scalars("eval/mean_reward")]
    assert max(eval_returns) >= 475
    episode = _episode_image(event_dirs[0])  # filmed by a background process, one per evaluation and the final
    filmed = sorted({image.step for image in episode})
    assert len(filmed) >= 2 and filmed[-1] == summary["timesteps"]
    import io

    import imageio.v2 as imageio

    final = [image for image in episode if image.step == summary["timesteps"]][-1]  # the solved policy
    gif = imageio.get_reader(io.BytesIO(final.encoded_image_string), format="GIF")
    assert gif.get_length() > 100  # a solved CartPole episode: 500 steps, every 2nd frame kept
    hparams = events.PluginTagToContent("hparams")
    assert "_hparams_/session_start_info" in hparams, sorted(hparams)
    recorded = hparams["_hparams_/session_start_info"]
    for name in (b"n_steps", b"learning_rate", b"gae_lambda"):
        assert name in recorded
