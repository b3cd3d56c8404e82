"""A perception network with a linear head as an image classifier, and its training loop.

The network is the very features extractor the RL agents use (`vision.perception` or the user's class),
or the classifier-only `mlp`, built on a one-channel image space; a linear layer maps its features to one
logit per class. `NETWORKS` is the one list of names. Images stay uint8 until they are on the device, where
they are shifted (augmentation), scaled to [0, 1] and resized.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import gymnasium as gym
import numpy as np
import torch
import torch.nn.functional as F
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
from torch import nn

from core.optimizers import eager
from core.registry import Registry
from vision.perception import PERCEPTIONS
from vision.plugins import check_perception, perception_class

if TYPE_CHECKING:
    from torch.utils.tensorboard import SummaryWriter

UPSAMPLED_SIZE = 84
"""The side images are resized to for a network that cannot take them as they are (nature: Atari's 84)."""


class MLPFeatures(BaseFeaturesExtractor):
    """The seed tutorial's multi-layer perceptron up to its output layer: flatten, 128 ReLU units, dropout 0.2.

    With the classifier's linear head to 10 classes it is the whole tutorial network (101,770 weights on 28x28
    digits). It takes images of any size as they are: its first layer is sized from the observation space.

    Args:
        observation_space: An image space (the classifier's is `(1, side, side)`).
        features_dim: The hidden units.
        dropout: The probability of zeroing a hidden unit in training.
    """

    name = "mlp"
    minimum_size = 1  # `fitting_size` leaves the digits at their own size

    def __init__(self, observation_space: gym.Space, features_dim: int = 128, dropout: float = 0.2) -> None:
        super().__init__(observation_space, features_dim)
        inputs = int(np.prod(observation_space.shape))
        self.layers = nn.Sequential(nn.Flatten(), nn.Linear(inputs, features_dim), nn.ReLU(), nn.Dropout(dropout))

    def forward(self, observations: torch.Tensor) -> torch.Tensor:
        return self.layers(observations.float())


NETWORKS: Registry[type[BaseFeaturesExtractor]] = Registry("digit classifier network")
"""The networks `--network` names: every perception network the agents use, then the classifier-only ones."""
for _name, _network in (*PERCEPTIONS.items(), (MLPFeatures.name, MLPFeatures)):
    NETWORKS.register(_name, _network)


@dataclass
class ClassifierConfig:
    """Everything needed to rebuild and retrain a classifier; stored with its weights.

    Args:
        network: A name in `NETWORKS` (`nature`, `impala`, `minatar`, `mlp`) or `file.py:Class` /
            `package.module:Class`.
        image_size: The side of the square images the network sees (digits are resized to it when it differs).
        classes: The number of classes.
        epochs: Passes over the training images.
        batch_size: Images per step.
        lr: The peak learning rate of the one-cycle schedule.
        weight_decay: AdamW's weight decay.
        shift: Random translation of each training image by up to this many pixels (0: none).
        seed: The random seed.
    """

    network: str = "nature"
    image_size: int = 28
    classes: int = 10
    epochs: int = 5
    batch_size: int = 128
    lr: float = 2e-3
    weight_decay: float = 1e-4
    shift: int = 2
    seed: int = 0


def fitting_size(network: str, height: int, width: int) -> int:
    """The image side for `network`: the images' own when the network takes them, else 84 (or its minimum)."""
    cls, _ = perception_class(network, NETWORKS)
    minimum = int(getattr(cls, "minimum_size", 1))
    if min(height, width) >= minimum and height == width:
        return height
    return max(UPSAMPLED_SIZE, minimum, height, width)


class DigitClassifier(nn.Module):
    """A perception network and a linear head: `(N, 1, H, W)` uint8 images -> `(N, classes)` logits.

    Args:
        config: The configuration; `network` and `image_size` choose the features extractor.
    """

    def __init__(self, config: ClassifierConfig) -> None:
        super().__init__()
        self.config = config
        space = gym.spaces.Box(0, 255, (1, config.image_size, config.image_size), np.uint8)
        check_perception(config.network, space, networks=NETWORKS)  # one line, before training, if it does not fit
        network, extra = perception_class(config.network, NETWORKS)
        self.features = network(space, **extra)
        self.head = nn.Linear(self.features.features_dim, config.classes)

    def forward(
        self, images: torch.Tensor, targets: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Logits for a batch of uint8 images, and the cross-entropy loss when targets are given."""
        x = images.float() / 255.0
        if x.shape[-2:] != (self.config.image_size, self.config.image_size):
            x = F.interpolate(x, size=(self.config.image_size,) * 2, mode="bilinear", align_corners=False)
        logits = self.head(self.features(x))
        loss = None if targets is None else F.cross_entropy(logits, targets)
        return logits, loss


def random_shift(images: torch.Tensor, pixels: int) -> torch.Tensor:
    """Translate each image of `(N, C, H, W)` by its own random offset of up to `pixels` (zero fill)."""
    if pixels <= 0:
        return images
    n, channels, height, width = images.shape
    padded = F.pad(images, (pixels,) * 4)
    dy = torch.randint(0, 2 * pixels + 1, (n, 1, 1, 1), device=images.device)
    dx = torch.randint(0, 2 * pixels + 1, (n, 1, 1, 1), device=images.device)
    rows = dy + torch.arange(height, device=images.device).view(1, 1, height, 1)
    cols = dx + torch.arange(width, device=images.device).view(1, 1, 1, width)
    batch = torch.arange(n, device=images.device).view(n, 1, 1, 1)
    channel = torch.arange(channels, device=images.device).view(1, channels, 1, 1)
    return padded[batch, channel, rows, cols]  # (N, C, H, W) in the standard memory layout


def to_device(images: np.ndarray, labels: np.ndarray, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """`(N, H, W)` uint8 images and their labels as `(N, 1, H, W)` uint8 and int64 tensors on `device`.

    The images stay uint8 (a quarter of float32's bytes to move); the model scales them on the device.
    """
    return torch.tensor(images).unsqueeze(1).to(device), torch.tensor(labels, dtype=torch.int64).to(device)


@torch.no_grad()
def accuracy(model: DigitClassifier, images: torch.Tensor, labels: torch.Tensor, batch_size: int = 1000) -> int:
    """How many of `images` the model classifies correctly."""
    model.eval()
    correct = sum(
        int((model(chunk)[0].argmax(1) == target).sum())
        for chunk, target in zip(images.split(batch_size), labels.split(batch_size))
    )
    model.train()
    return correct


@dataclass
class TrainResult:
    """The outcome of training: correct test answers, how many test images, steps and training seconds."""

    correct: int
    total: int
    steps: int
    seconds: float

    @property
    def accuracy(self) -> float:
        return self.correct / self.total


def train(
    model: DigitClassifier,
    train_set: tuple[torch.Tensor, torch.Tensor],
    test_set: tuple[torch.Tensor, torch.Tensor],
    writer: SummaryWriter,
    progress: bool = True,
) -> TrainResult:
    """Train with AdamW on a one-cycle schedule, testing after every epoch.

    Args:
        model: The classifier, on the device of the data.
        train_set: `(N, 1, H, W)` uint8 images and `(N,)` int64 labels, on the device.
        test_set: The same for testing.
        writer: A TensorBoard SummaryWriter (`train/loss` per step, `eval/accuracy` per epoch).
        progress: Show a progress bar.
    """
    from tqdm import tqdm

    config, (images, labels) = model.config, train_set
    optimizer = eager(torch.optim.AdamW)(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    total_steps = config.epochs * math.ceil(len(images) / config.batch_size)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=config.lr, total_steps=total_steps)
    bar = tqdm(total=total_steps, disable=not progress, unit="step", leave=False)
    step, correct, start = 0, 0, time.perf_counter()
    for epoch in range(1, config.epochs + 1):
        for batch in torch.randperm(len(images), device=images.device).split(config.batch_size):
            shifted = random_shift(images[batch], config.shift)  # a new shift each time an image is seen
            _, loss = model(shifted, labels[batch])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()  # one-cycle: the learning rate changes every step
            step += 1
            if step % 10 == 0 or step == total_steps:
                writer.add_scalar("train/loss", loss.item(), step)
                bar.set_postfix(epoch=epoch, loss=f"{loss.item():.3f}")
            bar.update()
        correct = accuracy(model, *test_set)
        writer.add_scalar("eval/accuracy", correct / len(test_set[1]), step)
        if progress:
            bar.write(f"epoch {epoch}/{config.epochs}: test accuracy {correct / len(test_set[1]):.2%}")
    bar.close()
    return TrainResult(correct, len(test_set[1]), step, time.perf_counter() - start)
