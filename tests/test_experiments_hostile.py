"""A sweep folder from someone else: `tune --resume` / `seeds --resume` never unpickle its Tune state unless the
folder is the user's own or the user says --trust-pickle, and its experiment.json is checked field by field.

The folders here are written by the real `new_experiment_folder`, under a "sender's" cache (their registry of
tokens) and copied into the user's runs folder, as an archive someone sent would be unpacked; their tuner.pkl
and the other pickles beside it create a marker file when unpickled.
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from core.errors import PlaygroundError
from experiments.provenance import CACHE_ENV, new_token, register, registry_dir
from experiments.setup import (
    MAX_BUDGET,
    MAX_COUNT,
    MAX_CPUS,
    MAX_SEED,
    MIN_CPUS,
    OPTIONS_FILE,
    ExperimentOptions,
    Prepared,
    new_experiment_folder,
    resumed_options,
    saved_options,
)
from tests.conftest import ROOT, assert_user_error, run_cli
from tests.hostile import assert_refused_in_one_line, payload_source, run_capped

PREPARED = Prepared("ppo", "CartPole-v1", object, {}, 1000, 100, 475.0)  # what new_experiment_folder reads of it


class Payload:
    """Unpickling this runs `payload_source(marker)`: the body of a crafted tuner.pkl."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return exec, (payload_source(self.marker),)


def make_experiment(runs_dir: Path, cache: Path, kind: str = "tune") -> Path:
    """An experiment folder as `play.py tune|seeds` starts one, its token registered in `cache`."""
    saved = os.environ.get(CACHE_ENV)
    os.environ[CACHE_ENV] = str(cache)
    try:
        options = ExperimentOptions(kind=kind, trials=2, seeds=2, budget=1000, runs_dir=runs_dir)
        return new_experiment_folder(options, PREPARED, [kind, "--budget", "1000"])
    finally:
        if saved is None:
            del os.environ[CACHE_ENV]
        else:
            os.environ[CACHE_ENV] = saved


def plant_pickles(folder: Path, marker: Path) -> None:
    """Tune's pickled state in `folder`, each file creating `marker` when unpickled."""
    crafted = pickle.dumps(Payload(marker))
    (folder / "tuner.pkl").write_bytes(crafted)
    (folder / "searcher-state-2025-01-01_00-00-00.pkl").write_bytes(crafted)
    (folder / "trial-0000").mkdir(exist_ok=True)
    (folder / "trial-0000" / "params.pkl").write_bytes(crafted)


def received(tmp_path: Path, runs_dir: Path, marker: Path, kind: str = "tune",
             name: str = "tune-20250101-000000") -> Path:
    """A folder someone else's playground wrote (valid shape and token: theirs), unpacked into `runs_dir`."""
    theirs = make_experiment(tmp_path / "sender" / "runs", tmp_path / "sender" / "cache", kind)
    plant_pickles(theirs, marker)
    folder = runs_dir / "CartPole-v1" / "ppo" / name.replace("tune", kind)
    shutil.copytree(theirs, folder)
    return folder


def edit_options(folder: Path, **changes: Any) -> None:
    """Change fields of the folder's experiment.json (None deletes one)."""
    path = folder / OPTIONS_FILE
    data = json.loads(path.read_text(encoding="utf-8"))
    data.update(changes)
    path.write_text(json.dumps({key: value for key, value in data.items() if value is not None}), encoding="utf-8")


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The user's playground cache (their registry of tokens), for this process and the ones it starts."""
    folder = tmp_path / "cache"
    monkeypatch.setenv(CACHE_ENV, str(folder))
    return folder


@pytest.fixture
def marker(tmp_path: Path) -> Path:
    return tmp_path / "code-ran"


# --- The gate, through the real command line: refused in one line, before Ray or torch is imported. ---

REFUSE_AND_SHOW_IMPORTS = (
    f"import sys\nsys.path.insert(1, {str(ROOT)!r})\nimport play\ncode = play.main(sys.argv[1:])\n"
    "print('imported', 'ray' in sys.modules, 'torch' in sys.modules)\nsys.exit(code)\n"
)


@pytest.mark.parametrize("forge", ["sender's token", "forged token", "no token"])
@pytest.mark.parametrize("kind", ["tune", "seeds"])
def test_received_folder_is_refused_without_ray(kind: str, forge: str, tmp_path: Path, runs_dir: Path,
                                                cache: Path, marker: Path) -> None:
    folder = received(tmp_path, runs_dir, marker, kind)
    if forge == "forged token":
        edit_options(folder, token=new_token())
    elif forge == "no token":  # as every folder written before tokens existed
        edit_options(folder, token=None)
    run = run_capped(["-c", REFUSE_AND_SHOW_IMPORTS, kind, "--resume", str(folder)], cwd=ROOT, timeout=60)
    line = assert_refused_in_one_line(run, f"{folder}/tuner.pkl", "can run any code", "--trust-pickle",
                                      str(registry_dir()))
    assert line.startswith("error: --resume")
    assert "imported False False" in run.stdout  # refused before Ray (or torch) was even imported
    assert not marker.exists()


def test_env_naming_a_module_is_not_imported(tmp_path: Path, runs_dir: Path, cache: Path, marker: Path) -> None:
    """`module:EnvId` imports the module to register the env: from a received folder, it is never reached."""
    folder = received(tmp_path, runs_dir, marker)
    (tmp_path / "evilenv.py").write_text(payload_source(marker), encoding="utf-8")
    edit_options(folder, env="evilenv:CartPole-v1")
    run = run_capped(["-c", REFUSE_AND_SHOW_IMPORTS, "tune", "--resume", str(folder)], cwd=tmp_path, timeout=60)
    assert_refused_in_one_line(run, "--trust-pickle")
    assert not marker.exists()


@pytest.mark.parametrize("kind_of_file", ["pipe", "/dev/zero", "folder"])
def test_experiment_file_that_is_not_a_file(kind_of_file: str, tmp_path: Path, runs_dir: Path, cache: Path,
                                            marker: Path) -> None:
    folder = received(tmp_path, runs_dir, marker)
    options_file = folder / OPTIONS_FILE
    options_file.unlink()
    if kind_of_file == "pipe":
        os.mkfifo(options_file)
    elif kind_of_file == "folder":
        options_file.mkdir()
    else:
        options_file.symlink_to(kind_of_file)
    run = run_capped(["play.py", "tune", "--resume", str(folder)], timeout=60)
    assert_refused_in_one_line(run, "not a regular file")


# --- The gate, in-process: every way a received folder could pass for the user's own is refused. ---

def _symlinked_options(folder: Path, own: Path) -> Path:
    (folder / OPTIONS_FILE).unlink()
    (folder / OPTIONS_FILE).symlink_to(own / OPTIONS_FILE)
    return folder


def _copied_token(folder: Path, own: Path) -> Path:
    """The user once shared a sweep of theirs: its token is known. Pasted into another folder, it is worthless."""
    edit_options(folder, token=json.loads((own / OPTIONS_FILE).read_text())["token"])
    return folder


def _over_own_folder(folder: Path, own: Path) -> Path:
    """Unpacked over the user's own sweep (same name): its registry entry exists, its token does not match."""
    shutil.rmtree(own)
    shutil.copytree(folder, own)
    return own


def _permission_in_file(folder: Path, own: Path) -> Path:
    edit_options(folder, trust_pickle=True)
    return folder


def _garbage_entry(folder: Path, own: Path) -> Path:
    """A damaged registry entry for the folder's path: refused, not a crash."""
    register(folder, new_token())
    for entry in registry_dir().glob("*.json"):
        entry.write_bytes(b"\x00\xff{[" * 1000)
    return folder


def _entry_with_other_token(folder: Path, own: Path) -> Path:
    register(folder, new_token())
    return folder


def _moved_own_folder(folder: Path, own: Path) -> Path:
    """The user's own sweep, moved: keyed by path, it no longer counts as theirs (--trust-pickle resumes it)."""
    moved = own.parent / "moved"
    own.rename(moved)
    return moved


HOSTILE_CASES = {
    "experiment.json symlinked to the user's own": _symlinked_options,
    "token of another own sweep copied in": _copied_token,
    "unpacked over the user's own folder": _over_own_folder,
    "trust_pickle: true in the file": _permission_in_file,
    "damaged registry entry": _garbage_entry,
    "registry entry with another token": _entry_with_other_token,
    "own folder moved elsewhere": _moved_own_folder,
}


@pytest.mark.parametrize("case", list(HOSTILE_CASES))
def test_received_folder_never_passes_for_own(case: str, tmp_path: Path, runs_dir: Path, cache: Path,
                                              marker: Path) -> None:
    own = make_experiment(runs_dir, cache)
    plant_pickles(own, marker)
    folder = HOSTILE_CASES[case](received(tmp_path, runs_dir, marker), own)
    with pytest.raises(PlaygroundError, match="--trust-pickle") as refusal:
        resumed_options(ExperimentOptions(kind="tune", resume=str(folder)))
    assert "tuner.pkl" in str(refusal.value)
    assert not marker.exists()


def test_newest_folder_is_checked_too(tmp_path: Path, runs_dir: Path, cache: Path, marker: Path) -> None:
    """`--resume` without a folder takes the newest one: a received folder named to sort last is refused."""
    make_experiment(runs_dir, cache)
    newest = received(tmp_path, runs_dir, marker, name="tune-99999999-999999")
    with pytest.raises(PlaygroundError, match="--trust-pickle") as refusal:
        resumed_options(ExperimentOptions(kind="tune", resume="", runs_dir=runs_dir))
    assert str(newest) in str(refusal.value) and not marker.exists()


def test_own_folder_resumes_without_the_flag(runs_dir: Path, cache: Path, marker: Path) -> None:
    """The user's own folder passes (reached through a symlink too); checking it unpickles nothing."""
    own = make_experiment(runs_dir, cache)
    plant_pickles(own, marker)
    link = runs_dir / "link"
    link.symlink_to(own)
    for path in (own, link):
        options, folder = resumed_options(ExperimentOptions(kind="tune", resume=str(path), num_cpus=3))
        assert folder == own and options.budget == 1000 and options.trials == 2 and options.num_cpus == 3
        assert options.trust_pickle is False
    assert "trust_pickle" not in json.loads((own / OPTIONS_FILE).read_text())
    assert not marker.exists()


def test_trust_pickle_lets_a_received_folder_through_with_a_warning(tmp_path: Path, runs_dir: Path, cache: Path,
                                                                    marker: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    folder = received(tmp_path, runs_dir, marker)
    options, _ = resumed_options(ExperimentOptions(kind="tune", resume=str(folder), trust_pickle=True))
    assert options.trust_pickle
    (warning,) = capsys.readouterr().err.splitlines()
    assert warning.startswith("warning:") and f"{folder}/tuner.pkl" in warning and "--trust-pickle" in warning


def test_folder_without_tune_state(runs_dir: Path, cache: Path) -> None:
    own = make_experiment(runs_dir, cache)  # stopped before Tune wrote anything
    with pytest.raises(PlaygroundError, match="no tuner.pkl"):
        resumed_options(ExperimentOptions(kind="tune", resume=str(own)))


def test_unwritable_cache_warns_and_the_experiment_still_starts(tmp_path: Path, runs_dir: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    folder = make_experiment(runs_dir, blocker / "cache")
    assert (folder / OPTIONS_FILE).is_file()
    (warning,) = capsys.readouterr().err.splitlines()
    assert warning.startswith("warning: cannot record the token") and "--trust-pickle" in warning


@pytest.mark.slow
def test_trust_pickle_reaches_tune_restore(tmp_path: Path, runs_dir: Path, cache: Path, marker: Path) -> None:
    """With --trust-pickle the pickle is what runs (the gate is what stopped it); a damaged state ends in one
    line, and Ray is shut down."""
    folder = received(tmp_path, runs_dir, marker)
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
    run = run_capped(["play.py", "tune", "--resume", str(folder), "--trust-pickle", "--num-cpus", "1"], env=env,
                     timeout=240)
    assert marker.exists(), run.stderr[-3000:]
    assert run.returncode == 2 and "Traceback" not in run.stderr, run.stderr[-3000:]
    lines = run.stderr.splitlines()  # Ray adds lines of its own once it runs
    (error,) = [line for line in lines if line.startswith("error:")]
    assert "Ray Tune cannot restore" in error and str(folder) in error
    (warning,) = [line for line in lines if line.startswith("warning:")]
    assert f"{folder}/tuner.pkl" in warning and "--trust-pickle" in warning
    assert lines.index(warning) < lines.index(error)


# --- experiment.json, field by field ---

@pytest.mark.parametrize(("changes", "fragment"), [
    ({"kind": "evil"}, "'kind'"),
    ({"kind": None}, "'kind' is missing"),
    ({"agent": {"__class__": "os.system"}}, "'agent'"),
    ({"env": 7}, "'env'"),
    ({"env": "x" * 10_000}, "'env'"),
    ({"trials": -1}, "'trials'"),
    ({"trials": 10**30}, "'trials'"),
    ({"trials": "3"}, "'trials'"),
    ({"trials": True}, "'trials'"),
    ({"seeds": 2.5}, "'seeds'"),
    ({"budget": 0}, "'budget'"),
    ({"budget": MAX_BUDGET + 1}, "'budget'"),
    ({"seed": -1}, "'seed'"),
    ({"cpus_per_trial": 0}, "'cpus_per_trial'"),
    ({"cpus_per_trial": float("nan")}, "'cpus_per_trial'"),
    ({"gpus_per_trial": float("inf")}, "'gpus_per_trial'"),
    ({"gpus_per_trial": -0.5}, "'gpus_per_trial'"),
    ({"max_concurrent": 0}, "'max_concurrent'"),
    ({"runs_dir": 5}, "'runs_dir'"),
    ({"runs_dir": ["a", "b"]}, "'runs_dir'"),
    ({"search_space": {"path": "/etc/passwd"}}, "'search_space'"),
    ({"search_space": "space\x00.yml"}, "'search_space'"),
    ({"search_space": ""}, "'search_space'"),
    ({"token": "not hex"}, "'token'"),
    ({"token": 12345}, "'token'"),
])
def test_bad_fields_are_refused(changes: dict[str, Any], fragment: str, runs_dir: Path, cache: Path) -> None:
    """Even in the user's own folder (its token matches): each field is checked before anything uses it."""
    own = make_experiment(runs_dir, cache)
    (own / "tuner.pkl").write_bytes(b"")
    data = json.loads((own / OPTIONS_FILE).read_text())
    data.update(changes)
    (own / OPTIONS_FILE).write_text(json.dumps({key: value for key, value in data.items() if value is not None}))
    with pytest.raises(PlaygroundError, match=fragment) as refusal:
        resumed_options(ExperimentOptions(kind="tune", resume=str(own)))
    assert str(own / OPTIONS_FILE) in str(refusal.value) and "\n" not in str(refusal.value)


@pytest.mark.parametrize("content", [b"[]", b"null", b"\xff\xfe", b"[" * 100_000, b"{" * 5 + b"}", b" " * (2 << 20)])
def test_broken_experiment_file_through_the_command_line(content: bytes, tmp_path: Path, runs_dir: Path,
                                                          cache: Path, marker: Path) -> None:
    folder = received(tmp_path, runs_dir, marker)
    (folder / OPTIONS_FILE).write_bytes(content)
    assert_user_error(run_cli("tune", "--resume", str(folder), timeout=60), str(folder))
    assert not marker.exists()


@pytest.mark.parametrize(("arguments", "fragment"), [
    (["--seed", "-1"], "--seed -1"),
    (["--trials", str(MAX_COUNT + 1)], "at most"),
    (["--budget", str(MAX_BUDGET + 1)], "at most"),
    (["--cpus-per-trial", str(MAX_CPUS * 2)], "--cpus-per-trial"),
    (["--cpus-per-trial", "nan"], "--cpus-per-trial"),
])
def test_command_line_keeps_to_the_bounds_a_saved_file_is_held_to(arguments: list[str], fragment: str) -> None:
    """What the command line accepts, experiment.json accepts when read back: the user's own folder resumes."""
    assert_user_error(run_cli("tune", *arguments, timeout=60), fragment)


def test_options_at_the_bounds_come_back_whole(tmp_path: Path, runs_dir: Path, cache: Path) -> None:
    """The user's own folder, started with the extreme values the command line takes, resumes as it was."""
    extreme = ExperimentOptions(kind="seeds", trials=MAX_COUNT, seeds=MAX_COUNT, budget=MAX_BUDGET, seed=MAX_SEED,
                                cpus_per_trial=MIN_CPUS, gpus_per_trial=MAX_CPUS, max_concurrent=MAX_COUNT,
                                runs_dir=runs_dir, search_space=tmp_path / "space.yml")
    own = new_experiment_folder(extreme, PREPARED, ["seeds"])
    (own / "tuner.pkl").write_bytes(b"")
    restored, folder = resumed_options(ExperimentOptions(kind="seeds", resume=str(own)))
    assert folder == own
    assert restored == ExperimentOptions(**{**extreme.__dict__, "runs_dir": runs_dir, "resume": str(own)})


# --- The search space a saved experiment.json names: the rules of a fresh one, and nothing endless. ---

# Nine levels of nine aliases: 400 bytes of YAML that stand for 387 million values.
ALIAS_BOMB = "anchors:\n  l0: &l0 [1, 1, 1, 1, 1, 1, 1, 1, 1]\n" + "".join(
    f"  l{level}: &l{level} [{', '.join([f'*l{level - 1}'] * 9)}]\n" for level in range(1, 9)
) + "default:\n  policy_kwargs.net_arch: {choice: [*l8]}\n"


@pytest.mark.parametrize(("text", "fragment"), [
    ("default:\n  learning_rate: !!python/object/apply:os.system ['touch {marker}']\n", "cannot be read as YAML"),
    ("default:\n  n_step: {choice: [64, 128]}\n", "unknown hyperparameter 'n_step'"),
    ("default:\n  learning_rate: {loguniform: [0, 1]}\n", "low > 0"),
    ("- a list\n", "must map env ids"),
    ("default:\n  policy_kwargs.net_arch: &a {choice: [*a]}\n", "space.yml"),
    ("default:\n  policy_kwargs.net_arch: {choice: " + "[" * 5000 + "]" * 5000 + "}\n", "space.yml"),
    (ALIAS_BOMB, "more than 10,000 values"),
])
def test_search_space_file_is_validated(text: str, fragment: str, tmp_path: Path, marker: Path) -> None:
    from stable_baselines3 import PPO

    from experiments.search_space import load_search_space

    path = tmp_path / "space.yml"
    path.write_text(text.replace("{marker}", str(marker)), encoding="utf-8")
    with pytest.raises(PlaygroundError, match=fragment):
        load_search_space("ppo", "CartPole-v1", PPO, path)
    assert not marker.exists()


@pytest.mark.parametrize("name", ["/dev/zero", "folder", "huge.yml", "missing.yml"])
def test_search_space_path_that_is_not_a_small_file(name: str, tmp_path: Path) -> None:
    from stable_baselines3 import PPO

    from experiments.search_space import load_search_space

    (tmp_path / "folder").mkdir()
    (tmp_path / "huge.yml").write_bytes(b"# " + b"x" * (4 << 20))
    path = Path(name) if name.startswith("/") else tmp_path / name
    with pytest.raises(PlaygroundError, match=str(path)):
        load_search_space("ppo", "CartPole-v1", PPO, path)


# --- Arbitrary JSON in place of a real experiment.json ---

JSON_SCALARS = (st.none() | st.booleans() | st.integers() | st.sampled_from([10**30, -(10**30), 2**63, -1, 0])
                | st.floats(allow_nan=True, allow_infinity=True, allow_subnormal=False) | st.text(max_size=20)
                | st.sampled_from(["tune", "seeds", "ppo", "CartPole", "/dev/zero", "a" * 64, "\x00"]))
JSON_VALUES = st.recursive(JSON_SCALARS, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=12), inner, max_size=4), max_leaves=16)
FIELDS = ["kind", "agent", "env", "trials", "seeds", "budget", "seed", "address", "cpus_per_trial",
          "gpus_per_trial", "max_concurrent", "num_cpus", "runs_dir", "search_space", "resume", "token",
          "trust_pickle", "extra"]
MUTATIONS = st.lists(st.tuples(st.sampled_from(FIELDS), JSON_VALUES | st.just("<delete>")), min_size=1, max_size=4)


def mutated(base: dict[str, Any], mutations: list[tuple[str, Any]], whole: Any) -> Any:
    """`base` with fields replaced or deleted, or (when `whole` is given) another document altogether."""
    if whole is not None:
        return whole
    data = dict(base)
    for key, value in mutations:
        if value == "<delete>":
            data.pop(key, None)
        else:
            data[key] = value
    return data


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(mutations=MUTATIONS, whole=st.none() | JSON_VALUES, depth=st.sampled_from([0, 0, 0, 50, 900, 5000]))
def test_arbitrary_experiment_json(mutations: list[tuple[str, Any]], whole: Any, depth: int, tmp_path: Path,
                                   runs_dir: Path, cache: Path, marker: Path) -> None:
    """The setup-level reader returns checked options or raises PlaygroundError: nothing else, nothing run."""
    own = _base_experiment(tmp_path, runs_dir, cache)
    data = mutated(json.loads((own / "pristine.json").read_text()), mutations, whole)
    try:
        options, token = saved_options(data, "experiment.json")
    except PlaygroundError:
        event("fields refused")  # shown with --hypothesis-show-statistics
    else:
        event("fields accepted")
        assert options.kind in ("tune", "seeds") and isinstance(options.agent, str) and isinstance(options.env, str)
        assert 1 <= options.trials <= MAX_COUNT and 1 <= options.seeds <= MAX_COUNT and 0 <= options.seed <= MAX_SEED
        assert options.budget is None or 1 <= options.budget <= MAX_BUDGET
        assert 0 < options.cpus_per_trial <= MAX_CPUS and 0 <= options.gpus_per_trial <= MAX_CPUS
        assert options.search_space is None or isinstance(options.search_space, Path)
        assert isinstance(options.runs_dir, Path) and options.trust_pickle is False
        assert token is None or len(token) == 64
    # Through the file, in the user's own folder: returns only while the token still matches, else refuses.
    text = json.dumps(data) if not depth else "[" * depth + json.dumps(data) + "]" * depth
    (own / OPTIONS_FILE).write_text(text, encoding="utf-8")
    try:
        resumed_options(ExperimentOptions(kind="tune", resume=str(own)))
        event("resumed")
    except PlaygroundError as error:
        event("resume refused")
        assert "\n" not in str(error)
    assert not marker.exists()


def _base_experiment(tmp_path: Path, runs_dir: Path, cache: Path) -> Path:
    """One own experiment folder per test (hypothesis reuses tmp_path across its examples)."""
    found = sorted(runs_dir.glob(f"*/*/tune-*/{OPTIONS_FILE}"))
    if found:
        return found[0].parent
    own = make_experiment(runs_dir, cache)
    plant_pickles(own, tmp_path / "code-ran")
    (own / "pristine.json").write_bytes((own / OPTIONS_FILE).read_bytes())
    return own
