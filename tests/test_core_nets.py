"""Tests for core.nets: the MLP builder and the shared LSTM block."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from core.nets import MLP, LSTMBlock


def test_mlp_shapes_and_activations():
    net = MLP([4, 32, 16, 2], activation="tanh")
    kinds = [type(layer) for layer in net]
    assert kinds == [nn.Linear, nn.Tanh, nn.Linear, nn.Tanh, nn.Linear]
    assert net(torch.zeros(5, 4)).shape == (5, 2)


def test_mlp_output_activation_and_class_activation():
    net = MLP([3, 2], activation=nn.ReLU, output_activation="tanh")
    assert [type(layer) for layer in net] == [nn.Linear, nn.Tanh]
    assert net(torch.full((1, 3), 100.0)).abs().max() <= 1.0


@pytest.mark.parametrize("sizes", [[4], [4, 0, 2], []])
def test_mlp_rejects_bad_sizes(sizes):
    with pytest.raises(ValueError):
        MLP(sizes)


def test_mlp_rejects_unknown_activation():
    with pytest.raises(ValueError, match="unknown activation"):
        MLP([2, 2, 2], activation="swishy")


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


def test_reset_state_zeroes_only_masked_rows():
    block = LSTMBlock(2, 4, num_layers=2)
    _, state = block(torch.randn(3, 5, 2))
    reset = LSTMBlock.reset_state(state, torch.tensor([True, False, True]))
    for before, after in zip(state, reset):
        assert not after[:, 0].any() and not after[:, 2].any()
        assert torch.equal(after[:, 1], before[:, 1])
    # Integer masks work too, and the input state is untouched.
    again = LSTMBlock.reset_state(state, torch.tensor([0, 1, 0]))
    assert not again[0][:, 1].any() and state[0][:, 1].any()


def test_reset_row_behaves_like_fresh_sequence():
    torch.manual_seed(1)
    block = LSTMBlock(2, 6)
    x = torch.randn(2, 3, 2)
    _, state = block(torch.randn(2, 7, 2))
    state = LSTMBlock.reset_state(state, torch.tensor([True, False]))
    out, _ = block(x, state)
    fresh, _ = block(x[:1])
    assert torch.allclose(out[:1], fresh, atol=1e-6)


def test_detach_state_cuts_gradient():
    block = LSTMBlock(2, 3)
    _, state = block(torch.randn(1, 2, 2))
    detached = LSTMBlock.detach_state(state)
    assert state[0].requires_grad and not detached[0].requires_grad


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
