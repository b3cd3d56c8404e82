"""OpenMP settings that must be made before torch is imported."""

from __future__ import annotations

import os
import sys


def quiet_openmp_threads() -> None:
    """Let idle OpenMP workers sleep instead of spinning, unless the user chose otherwise.

    On a small shared machine (2 vCPUs) spinning workers made small CPU networks (an LSTM step, a digit
    classifier) erratically 2-20x slower; sleeping ones kept them steady. It only counts when set before
    torch is first imported.
    """
    if "torch" not in sys.modules:
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
