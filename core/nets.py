"""Network building blocks shared by the agents and the text generator: activations and the LSTM block.

Importing this module imports torch; import it only where a network is built.
"""

from __future__ import annotations

import torch
from torch import nn

LSTMState = tuple[torch.Tensor, torch.Tensor]
"""The recurrent state `(h, c)`, each of shape `(num_layers, batch, hidden_size)`."""

ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "tanh": nn.Tanh,
    "gelu": nn.GELU,
    "elu": nn.ELU,
    "silu": nn.SiLU,
    "leaky_relu": nn.LeakyReLU,
}
"""Activation functions by the names presets and `--hp policy_kwargs.activation_fn=...` use."""


class LSTMBlock(nn.Module):
    """A multi-layer LSTM over sequences, with explicit state in and out.

    The shared recurrent block: the character LSTM of textgen runs it over text chunks (truncated
    backpropagation through time), recurrent RL policies (agents/recurrent.py) run it over rollouts and
    reset the state of the rows whose episode starts. It is a drop-in for `nn.LSTM` where callers read
    `input_size`, `hidden_size` and `num_layers` and call `block(x, (h, c)) -> (out, (h, c))`.

    Args:
        input_size: Features per time step.
        hidden_size: Units per layer.
        num_layers: Stacked layers.
        dropout: Dropout between layers (not after the last), as in nn.LSTM.
        forget_bias: Initial bias of the forget gates; 1.0 helps gradients flow early in training.
        batch_first: Inputs and outputs are `(batch, time, features)` (the default, as textgen uses them);
            False for `(time, batch, features)`, the layout of sb3-contrib's recurrent policies.
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        dropout: float = 0.0,
        forget_bias: float = 1.0,
        batch_first: bool = True,
    ) -> None:
        super().__init__()
        if int(input_size) < 1 or int(hidden_size) < 1 or int(num_layers) < 1:
            raise ValueError(
                f"LSTMBlock sizes must be positive, got input_size={input_size}, "
                f"hidden_size={hidden_size}, num_layers={num_layers}"
            )
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.batch_first = batch_first
        self.lstm = nn.LSTM(
            input_size,
            hidden_size,
            num_layers=num_layers,
            batch_first=batch_first,
            dropout=dropout if num_layers > 1 else 0.0,
        )
        with torch.no_grad():
            for name, parameter in self.lstm.named_parameters():
                if name.startswith("bias_"):
                    # PyTorch orders the gates input, forget, cell, output; the two biases add up.
                    parameter.zero_()
                    if name.startswith("bias_ih"):
                        parameter[hidden_size : 2 * hidden_size].fill_(forget_bias)

    def initial_state(self, batch_size: int, device: torch.device | str | None = None) -> LSTMState:
        """Zero state for `batch_size` sequences.

        Args:
            batch_size: Number of parallel sequences.
            device: Where the state lives; defaults to the block's device.

        Returns:
            `(h, c)`, each of shape `(num_layers, batch_size, hidden_size)`.
        """
        if device is None:
            device = next(self.parameters()).device
        shape = (self.num_layers, batch_size, self.hidden_size)
        return torch.zeros(shape, device=device), torch.zeros(shape, device=device)

    def forward(self, x: torch.Tensor, state: LSTMState | None = None) -> tuple[torch.Tensor, LSTMState]:
        """Run the LSTM over a batch of sequences.

        Args:
            x: Inputs of shape `(batch, time, input_size)`; `(time, batch, input_size)` when not batch_first.
            state: The state to start from, or None for zeros.

        Returns:
            The outputs of the last layer, laid out as `x` with `hidden_size` features, and the final state.
        """
        output, (h, c) = self.lstm(x, state)
        return output, (h, c)


def flush_denormals() -> bool:
    """Treat denormal floats as zero on every CPU thread torch computes with.

    Recurrent networks drive gradients and Adam's second moments into the denormal range, where x86
    arithmetic runs up to 100x slower: with 2 threads a CPU LSTM step then takes 2-5 s instead of 0.15 s.
    `torch.set_flush_denormal` only sets the calling thread, and torch's OpenMP workers may exist
    already, so it is also run once inside an OpenMP parallel region over all workers.

    Returns:
        Whether flushing is on in the calling thread (False where the CPU does not support it).
    """
    import ctypes
    import os

    supported = torch.set_flush_denormal(True)
    library = os.path.join(os.path.dirname(torch.__file__), "lib", "libgomp.so.1")
    if not supported or torch.get_num_threads() < 2 or not os.path.isfile(library):
        return supported
    try:
        gomp = ctypes.CDLL(library)  # the copy torch has loaded already
        callback_type = ctypes.CFUNCTYPE(None, ctypes.c_void_p)
        callback = callback_type(lambda _: torch.set_flush_denormal(True))
        gomp.GOMP_parallel.argtypes = [callback_type, ctypes.c_void_p, ctypes.c_uint, ctypes.c_uint]
        gomp.GOMP_parallel.restype = None
        gomp.GOMP_parallel(callback, None, torch.get_num_threads(), 0)
    except (OSError, AttributeError):
        pass  # another OpenMP runtime: the calling thread is still covered
    return supported
