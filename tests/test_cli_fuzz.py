"""Property: any command line ends in success or a one-line error with exit code 2, never a traceback."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import play

GOOD_VALUES = {
    "--agent": ["ppo", "dqn", "a2c", "random", "sac"],
    "--env": ["CartPole", "cartpole", "Acrobot", "Pendulum", "MountainCar"],
    "--seed": ["0", "1", "7"],
    "--render": ["none", "video"],
    "--device": ["auto", "cpu"],
    "--hp": ["learning_rate=0.01", "n_steps=32", "gamma=0.9", "policy_kwargs.net_arch=[8]", "batch_size=16"],
    "--checkpoint-every": ["0", "30"],
    "--env-timeout": ["5", "60"],
}
BAD_VALUES = ["", " ", "-1", "1e-3", "x=1", "gamma=[1]", "n_envs=0", "tpu", "cuda", "human", "list", "a.gif",
              "a.txt", "nope/nothing.pt", "--", "\u00e9\u00e8", "CartPol", "ppp"]
SWITCHES = ["--retrain", "--json", "--trust-pickle", "--no-progress", "--bogus", "--resume", "--list"]


@st.composite
def option(draw: st.DrawFn) -> list[str]:
    """One flag with a value that is usually right for it, sometimes wrong, occasionally arbitrary text."""
    if draw(st.integers(0, 5)) == 0:
        return [draw(st.sampled_from(SWITCHES))]
    flag = draw(st.sampled_from([*GOOD_VALUES, "--record", "--load", "--episodes", "--timesteps"]))
    good = GOOD_VALUES.get(flag, ["a.gif", "2"])
    value = draw(st.one_of(st.sampled_from(good), st.sampled_from(good), st.sampled_from(good),
                           st.sampled_from(BAD_VALUES), st.text(max_size=8)))
    return [flag, value]


@pytest.mark.slow
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(options=st.lists(option(), max_size=4))
def test_any_command_line_succeeds_or_fails_in_one_line(tmp_path, capsys, options):
    # Keep every run small and local: a tiny budget and episode count, a private runs folder.
    argv = [part for pair in options for part in pair]
    argv += ["--timesteps", "64", "--episodes", "1", "--runs-dir", str(tmp_path / "runs")]
    code = play.main(argv)
    event(f"exit {code}")  # shown with --hypothesis-show-statistics
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    assert code in (0, 2), (argv, code, captured.err)
    if code == 2:
        lines = [line for line in captured.err.splitlines() if line.strip() and not line.startswith("warning:")]
        assert len(lines) == 1 and lines[0].startswith("error: "), (argv, captured.err)
