"""Helpers for attacker tests: payloads that leave a marker when run, and commands run under a memory cap.

A hostile file's payload writes a marker file when its code runs; a test asserts the marker never appears.
`run_capped` runs a command in a fresh process with an address-space limit (so a bomb cannot take the
machine down) and reports that program's own peak resident memory (VmHWM, written at exit by a small wrapper:
`wait4`'s ru_maxrss would include the forked test process's memory from before the exec).
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import ROOT, default_sigint

# Virtual address space for a child: torch, SB3 and their thread pools reserve far more address space than they
# touch, so the cap is generous; the bound that tests assert is the peak resident memory below.
ADDRESS_SPACE_CAP = 8 * 2**30


@dataclass
class CappedRun:
    """What a capped command did."""

    returncode: int
    stdout: str
    stderr: str
    peak_rss_mb: float


def payload_source(marker: Path) -> str:
    """Python code that creates `marker` when it runs: the body of every crafted module."""
    return f"from pathlib import Path\nPath({str(marker)!r}).write_text('code ran')\n"


def write_payload_module(folder: Path, marker: Path, name: str = "evil") -> Path:
    """A module `folder/name.py` that creates `marker` on import and defines an nn.Module `Net`."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.py"
    path.write_text(payload_source(marker) + "import torch\n\n\nclass Net(torch.nn.Module):\n"
                    "    def forward(self, x):\n        return x.flatten(1)\n", encoding="utf-8")
    return path


# Runs `python ARGV...` (a script, `-m module` or `-c code`), writing its peak resident memory at exit.
_WRAPPER = """
import atexit, runpy, sys
from pathlib import Path
out, argv = Path(sys.argv[1]), sys.argv[2:]
def record():
    out.write_text(Path("/proc/self/status").read_text().split("VmHWM:")[1].split()[0])
atexit.register(record)
if argv[0] == "-m":
    sys.argv = [argv[1], *argv[2:]]
    runpy.run_module(argv[1], run_name="__main__", alter_sys=True)
elif argv[0] == "-c":
    sys.argv = ["-c", *argv[2:]]
    sys.path.insert(0, "")
    exec(compile(argv[1], "<string>", "exec"), {"__name__": "__main__"})
else:
    sys.argv = argv
    sys.path.insert(0, str(Path(argv[0]).resolve().parent))
    runpy.run_path(argv[0], run_name="__main__")
"""


def run_capped(argv: list[str], cwd: Path | None = None, env: dict[str, str] | None = None,
               timeout: float = 300, address_space: int = ADDRESS_SPACE_CAP) -> CappedRun:
    """Run `argv` (a Python command line without the interpreter) and return its exit, output and peak RSS."""
    def limit() -> None:
        default_sigint()
        resource.setrlimit(resource.RLIMIT_AS, (address_space, address_space))

    # Files, not pipes: a pipe could fill while this loop polls for the exit.
    with tempfile.TemporaryFile() as out_file, tempfile.TemporaryFile() as err_file, \
            tempfile.TemporaryDirectory() as scratch:
        peak_file = Path(scratch) / "peak-kb"
        process = subprocess.Popen([sys.executable, "-c", _WRAPPER, str(peak_file), *argv], cwd=cwd or ROOT,
                                   env=env or os.environ.copy(), stdout=out_file, stderr=err_file, preexec_fn=limit)
        deadline = time.monotonic() + timeout
        pid, status, usage = os.wait4(process.pid, os.WNOHANG)
        while not pid and time.monotonic() < deadline:
            time.sleep(0.05)
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
        if not pid:
            process.kill()
            _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        out_file.seek(0)
        err_file.seek(0)
        peak_kb = int(peak_file.read_text()) if peak_file.is_file() else usage.ru_maxrss
        return CappedRun(process.returncode, out_file.read().decode(errors="replace"),
                         err_file.read().decode(errors="replace"), peak_kb / 1024)


def assert_refused_in_one_line(run: CappedRun, *fragments: str) -> str:
    """Exit code 2, no traceback, and one `error:` line, the last on stderr, naming every fragment.

    Library warnings (stable-baselines3's advice on batch sizes, say) may come before it, as users see them.
    """
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    assert run.returncode == 2, (run.returncode, run.stdout[-1500:], run.stderr[-1500:])
    assert "Traceback" not in run.stderr, run.stderr[-3000:]
    errors = [line for line in lines if line.startswith("error:")]
    assert len(errors) == 1 and lines[-1] == errors[0], run.stderr[-3000:]
    for fragment in fragments:
        assert fragment in errors[0], errors[0]
    return errors[0]
