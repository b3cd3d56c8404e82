"""Feeding text to the LSTM: parallel streams for stateful truncated BPTT, and held-out scoring."""

from __future__ import annotations

import torch

from textgen.model import CharLSTM


class StreamBatcher:
    """Cuts the training text into `batch_size` contiguous streams, read `seq_len` characters at a time.

    Row b of consecutive batches continues the same stream, so the LSTM state can be carried from one
    chunk to the next (detached): the model sees long context while gradients flow `seq_len` steps.
    Each epoch shifts the chunk boundaries so that no character always sits at a chunk start.

    Args:
        data: The training ids, shape `(n,)`, on the training device.
        batch_size: Number of streams (lowered for a short text so each stream holds one chunk).
        seq_len: Characters per chunk.
    """

    def __init__(self, data: torch.Tensor, batch_size: int, seq_len: int) -> None:
        self.data = data
        self.seq_len = seq_len
        self.batch_size = max(1, min(batch_size, (len(data) - 1) // seq_len))
        self.stream_len = (len(data) - 1) // self.batch_size
        self.chunks_per_epoch = max(1, (self.stream_len - seq_len) // seq_len)

    def batch(self, step: int) -> tuple[torch.Tensor, torch.Tensor, bool]:
        """The inputs and targets for a global step, and whether the streams start afresh there.

        Returns:
            x, y of shape `(batch_size, seq_len)`, and True at the first chunk of an epoch (where a
            carried LSTM state must be reset).
        """
        epoch, chunk = divmod(step, self.chunks_per_epoch)
        valid_offsets = self.stream_len - self.seq_len * self.chunks_per_epoch + 1
        offset = (epoch * 7919) % valid_offsets
        device = self.data.device
        starts = torch.arange(self.batch_size, device=device) * self.stream_len + offset + chunk * self.seq_len
        index = starts[:, None] + torch.arange(self.seq_len + 1, device=device)[None, :]
        window = self.data[index]
        return window[:, :-1], window[:, 1:], chunk == 0


@torch.no_grad()
def evaluate(model: CharLSTM, data: torch.Tensor, seq_len: int, max_streams: int = 64) -> float:
    """The mean cross-entropy (nats per character) of predicting each next character of `data`.

    The text is cut into parallel streams read chunk by chunk with the state carried, as in training.

    Args:
        model: The model.
        data: The held-out ids, shape `(n,)`, n >= 2.
        seq_len: Characters per chunk.
        max_streams: Parallel streams.

    Returns:
        Nats per character.
    """
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    streams = max(1, min(max_streams, (len(data) - 1) // max(seq_len, 1)))
    stream_len = (len(data) - 1) // streams
    x_all = data[: streams * stream_len].view(streams, stream_len).to(device)
    y_all = data[1 : streams * stream_len + 1].view(streams, stream_len).to(device)
    total, count, state = 0.0, 0, None
    for start in range(0, stream_len, seq_len):
        x, y = x_all[:, start : start + seq_len], y_all[:, start : start + seq_len]
        _, loss, state = model(x, y, state)
        total += float(loss) * y.numel()
        count += y.numel()
    model.train(was_training)
    return total / count
