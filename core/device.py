"""Choosing the torch device: `auto`, `cpu` or `cuda`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.errors import PlaygroundError

if TYPE_CHECKING:
    import torch

DEVICE_CHOICES = ("auto", "cpu", "cuda")


def resolve_device(requested: str, prefer_gpu: bool = True) -> torch.device:
    """Turn a `--device` choice into a torch device.

    Args:
        requested: "auto", "cpu", "cuda" or "cuda:N".
        prefer_gpu: For "auto": whether the workload gains from a GPU. Small MLP policies
            run faster on the CPU (kernel launches cost more than the maths), CNNs and
            LSTMs over long sequences run faster on CUDA.

    Returns:
        The device to use.
    """
    import torch

    name = requested.lower()
    if name == "auto":
        return torch.device("cuda" if prefer_gpu and torch.cuda.is_available() else "cpu")
    if name == "cpu":
        return torch.device("cpu")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise PlaygroundError(
                f"--device {requested}: no CUDA GPU is available to this torch build "
                f"(torch {torch.__version__}). Use --device cpu or --device auto."
            )
        try:
            device = torch.device(name)
        except RuntimeError as error:
            raise PlaygroundError(f"--device {requested}: {error}. Use cuda or cuda:N.") from None
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise PlaygroundError(
                f"--device {requested}: only {torch.cuda.device_count()} GPU(s) are present. Use --device cuda."
            )
        return device
    raise PlaygroundError(f"--device {requested!r} is not a device. Choose one of: auto, cpu, cuda.")


def describe_device(device: torch.device) -> str:
    """A short human description, e.g. 'cuda:0 (NVIDIA H100)' or 'cpu (2 threads)'."""
    import torch

    if device.type == "cuda":
        return f"{device} ({torch.cuda.get_device_name(device)})"
    return f"cpu ({torch.get_num_threads()} threads)"


def choose_device(requested: str, small_model: bool) -> torch.device:
    """Where a model trains or plays, and with how many CPU threads: the one place this is decided.

    `auto` puts CNN policies on CUDA when present and small MLPs on the CPU. Small models run on one CPU
    thread: for an MLP of a few thousand weights, splitting each matrix product over threads costs more
    in synchronisation than it saves, and when other processes share the cores, spinning worker threads
    stall training by seconds at a time.

    Args:
        requested: `--device`: auto, cpu, cuda or cuda:N.
        small_model: Whether the policy is a small MLP (no CNN).
    """
    import torch

    device = resolve_device(requested, prefer_gpu=not small_model)
    if device.type == "cpu" and small_model:
        torch.set_num_threads(1)
    return device
