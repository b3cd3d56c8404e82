"""Gradient saliency: which input pixels the network's output is most sensitive to.

For a score `s(x)` computed from an observation `x` (an action's logit, a Q-value), the saliency of a pixel is
`|ds/dx|`, the largest over the pixel's channels, smoothed if asked, and scaled so that the most sensitive
pixel is 1 (Simonyan et al. 2013, "Deep inside convolutional networks"). Works for any differentiable
network, built-in or plugged in, since it only needs the score as a function of the input tensor.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import numpy as np
import torch
from torch.nn import functional


def gradient_saliency(score: Callable[[torch.Tensor], torch.Tensor], observation: torch.Tensor,
                      channels_first: bool = True, smooth: int = 0) -> np.ndarray:
    """The saliency map of `score` at one observation.

    The gradient is taken with `torch.autograd.grad`, so no parameter's `.grad` is touched.

    Args:
        score: Maps a batch of one observation (float, as `observation`) to a score; a non-scalar result is summed.
        observation: A batch of one, `(1, C, H, W)` (or `(1, H, W, C)` with `channels_first=False`); any dtype,
            taken as float. Gradients w.r.t. raw pixels and w.r.t. pixels scaled by a constant (SB3's 1/255)
            differ by that constant only, which the normalisation removes.
        channels_first: Where the channel axis is.
        smooth: Radius of a box blur applied to the map (0: none); helps on large, noisy frames.

    Returns:
        A `(H, W)` float32 array in [0, 1] (all zeros when the score does not depend on the input).
    """
    inputs = observation.detach().float().clone().requires_grad_(True)
    with torch.enable_grad(), _without_cudnn():
        (gradient,) = torch.autograd.grad(score(inputs).sum(), inputs, allow_unused=True)
    if gradient is None:  # the score ignores the input altogether
        gradient = torch.zeros_like(inputs)
    gradient = gradient[0] if channels_first else gradient[0].permute(2, 0, 1)
    return saliency_map(gradient, smooth)


@contextmanager
def _without_cudnn() -> Iterator[None]:
    """cuDNN off for one gradient: its LSTM backward refuses a network in eval mode (the policy acts in it)."""
    enabled = torch.backends.cudnn.enabled
    torch.backends.cudnn.enabled = False
    try:
        yield
    finally:
        torch.backends.cudnn.enabled = enabled


def saliency_map(gradient: torch.Tensor, smooth: int = 0) -> np.ndarray:
    """Turn a `(C, H, W)` input gradient into an `(H, W)` map in [0, 1]: max |gradient| over channels, blurred.

    Args:
        gradient: The gradient of the score with respect to one observation, channels first.
        smooth: Radius of the box blur (0: none).
    """
    heat = gradient.detach().abs().amax(dim=0)
    if smooth > 0:
        side = 2 * smooth + 1
        heat = functional.avg_pool2d(heat[None, None], side, stride=1, padding=smooth, count_include_pad=False)[0, 0]
    peak = float(heat.max()) if heat.numel() else 0.0
    if not np.isfinite(peak) or peak <= 0.0:
        return np.zeros(tuple(heat.shape), dtype=np.float32)
    return (heat / peak).clamp(0.0, 1.0).cpu().numpy().astype(np.float32)


def smoothing_for(height: int, width: int) -> int:
    """A blur radius that suits the image size: none on MinAtar's 10x10 grids, 2 on 84x84 Atari frames."""
    return min(height, width) // 40
