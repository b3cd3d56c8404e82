"""Tests for core.nets: the shared LSTM block and the CPU settings for it."""

from __future__ import annotations

import pytest
import torch

from core.nets import LSTMBlock


def test_lstm_block_shapes_and_state_continuation():
    torch.manual_seed(0)
    block = LSTMBlock(3, 8, num_layers=2)
    x = torch.randn(4, 10, 3)
    out, (h, c) = block(x)
    assert out.shape == (4, 10, 8) and h.shape == c.shape == (2, 4, 8)
    # Running in two halves with the state carried equals running the whole sequence.
    first, state = block(x[:, :6])
    second, _ = block(x[:, 6:], state)
    assert torch.allclose(torch.cat([first, second], dim=1), out, atol=1e-6)


def test_lstm_block_initial_state_equals_none():
    block = LSTMBlock(2, 5)
    x = torch.randn(3, 4, 2)
    state = block.initial_state(3)
    assert state[0].shape == (1, 3, 5) and not state[0].any()
    assert torch.allclose(block(x, state)[0], block(x)[0])


def test_lstm_block_forget_bias():
    block = LSTMBlock(2, 5, forget_bias=1.0)
    assert torch.all(block.lstm.bias_ih_l0[5:10] == 1.0)
    assert not block.lstm.bias_ih_l0[:5].any() and not block.lstm.bias_hh_l0.any()


def test_lstm_block_sequence_first_matches_batch_first_with_the_same_weights():
    torch.manual_seed(0)
    batch_first = LSTMBlock(3, 5, num_layers=2)
    sequence_first = LSTMBlock(3, 5, num_layers=2, batch_first=False)
    sequence_first.load_state_dict(batch_first.state_dict())  # same parameter names: old checkpoints still load
    x = torch.randn(4, 7, 3)  # (batch, time, features)
    state = batch_first.initial_state(4)
    out_bf, (h_bf, c_bf) = batch_first(x, state)
    out_sf, (h_sf, c_sf) = sequence_first(x.transpose(0, 1), state)
    assert out_sf.shape == (7, 4, 5)
    assert torch.allclose(out_sf.transpose(0, 1), out_bf, atol=1e-6)
    assert torch.allclose(h_sf, h_bf, atol=1e-6) and torch.allclose(c_sf, c_bf, atol=1e-6)


def test_lstm_block_reads_like_nn_lstm_to_callers():
    block = LSTMBlock(6, 9, num_layers=3, batch_first=False)
    assert (block.input_size, block.hidden_size, block.num_layers) == (6, 9, 3)
    assert not block.lstm.batch_first and LSTMBlock(6, 9).lstm.batch_first


@pytest.mark.parametrize("sizes", [(0, 4, 1), (3, 0, 1), (3, -2, 1), (3, 4, 0)])
def test_lstm_block_rejects_non_positive_sizes(sizes):
    with pytest.raises(ValueError, match="positive"):
        LSTMBlock(*sizes)


def test_flush_denormals_sets_flush_to_zero():
    from core.nets import flush_denormals

    torch.set_flush_denormal(False)
    tiny = torch.tensor([1e-39], dtype=torch.float32)  # a denormal float32
    assert float(tiny * 1.0) != 0.0
    if not flush_denormals():
        pytest.skip("this CPU cannot flush denormals")
    assert float(tiny * 1.0) == 0.0
