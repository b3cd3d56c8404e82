"""Real sweeps and seed runs on a local Ray instance of 2 CPUs, with tiny budgets (slow: about a minute each)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

from agents.presets import validate
from experiments.stats import summarize_seeds
from tests.conftest import ROOT, default_sigint, last_json, run_cli

pytestmark = pytest.mark.slow
os.environ["RAY_USAGE_STATS_ENABLED"] = "0"


def last_reports(folder: Path) -> dict[str, dict]:
    """The last result each trial reported, read from Tune's own result.json files (one JSON object a line)."""
    reports = {}
    for result_file in sorted(folder.glob("trial-*/result.json")):
        lines = result_file.read_text(encoding="utf-8").strip().splitlines()
        reports[result_file.parent.name] = json.loads(lines[-1])
    return reports


def test_sweep_writes_best_preset_table_and_plot(runs_dir: Path) -> None:
    summary = last_json(run_cli("tune", "--agent", "ppo", "--env", "CartPole", "--trials", "4", "--budget", "3000",
                                "--num-cpus", "2", "--runs-dir", str(runs_dir), "--json"))
    folder = Path(summary["folder"])
    assert folder.parent == runs_dir.resolve() / "CartPole-v1" / "ppo" and folder.name.startswith("tune-")
    assert summary["trials"] == 4 and summary["failed"] == 0
    assert summary["complete"] + summary["pruned"] == 4 and summary["complete"] >= 1
    reports = last_reports(folder)
    assert len(reports) == 4
    complete = {name: report for name, report in reports.items() if report["timesteps"] >= 3000}
    assert summary["best_trial"] == max(complete, key=lambda name: complete[name]["eval_return"])
    assert summary["best_return"] == pytest.approx(complete[summary["best_trial"]]["eval_return"])
    for name in reports:  # every trial logged its training curves to TensorBoard inside the sweep folder
        assert list((folder / name).glob("tensorboard_1/events.out.tfevents.*")), name

    entry = yaml.safe_load(Path(summary["preset"]).read_text(encoding="utf-8"))["CartPole-v1"]
    from stable_baselines3 import PPO

    validate(entry, PPO, "best-preset.yml")
    best = summary["best_hyperparams"]
    assert entry["learning_rate"] == pytest.approx(best["learning_rate"], rel=1e-3)
    assert entry["policy_kwargs"]["net_arch"] == best["policy_kwargs.net_arch"]
    assert entry["n_steps"] == best["n_steps"]

    table = Path(summary["summary"]).read_text(encoding="utf-8")
    assert table.count("| trial-") == 4 and "python play.py --agent ppo --env CartPole-v1 --hp=" in table
    assert Path(summary["plot"]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_seeds_report_matches_the_trials(runs_dir: Path) -> None:
    summary = last_json(run_cli("seeds", "--agent", "ppo", "--env", "CartPole", "--seeds", "3", "--budget", "4096",
                                "--seed", "5", "--num-cpus", "2", "--runs-dir", str(runs_dir), "--json"))
    folder = Path(summary["folder"])
    assert folder.name.startswith("seeds-") and summary["seeds"] == [5, 6, 7]
    reports = last_reports(folder)
    finals_by_seed = {report["config"]["seed"]: report["eval_return"] for report in reports.values()}
    assert summary["final_returns"] == pytest.approx([finals_by_seed[seed] for seed in (5, 6, 7)])
    assert all(report["timesteps"] >= 4096 for report in reports.values())  # the whole budget, no early stop
    finals = np.array(summary["final_returns"])
    assert summary["mean"] == pytest.approx(finals.mean()) and summary["std"] == pytest.approx(finals.std(ddof=1))
    assert summary["iqm"] == pytest.approx(summarize_seeds(finals).iqm)
    assert summary["ci_low"] <= summary["mean"] <= summary["ci_high"]
    assert len(set(summary["final_returns"])) > 1  # the seeds really differ
    solved = sum(report["best_eval_return"] >= 475 for report in reports.values())
    assert summary["solved"] == solved
    text = Path(summary["summary"]).read_text(encoding="utf-8")
    assert f"| mean | {summary['mean']:.4g} |" in text and f"{solved} of 3" in text
    assert Path(summary["plot"]).read_bytes()[:4] == b"\x89PNG"


def test_interrupted_sweep_resumes(runs_dir: Path) -> None:
    command = [sys.executable, str(ROOT / "play.py"), "tune", "--trials", "3", "--budget", "2000", "--num-cpus", "2",
               "--max-concurrent", "1", "--runs-dir", str(runs_dir)]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               preexec_fn=default_sigint)
    assert process.stdout is not None
    for line in process.stdout:  # Ctrl-C once the first trial has finished
        if "finished (1 of" in line:
            process.send_signal(signal.SIGINT)
            break
    output = process.stdout.read()
    assert process.wait(timeout=120) == 130, output
    assert "continue with: python play.py tune --resume" in output
    (folder,) = (runs_dir / "CartPole-v1" / "ppo").glob("tune-*")
    started = time.perf_counter()
    summary = last_json(run_cli("tune", "--resume", "--runs-dir", str(runs_dir), "--json"))
    assert Path(summary["folder"]) == folder.resolve()
    assert summary["trials"] == 3 and summary["failed"] == 0
    assert len(last_reports(folder)) == 3
    assert time.perf_counter() - started < 120
