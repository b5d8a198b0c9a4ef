"""The ``nn.Module`` classifiers of the network figures that use the library's torch layers.

- :func:`mlp` — ReLU multilayer perceptron, e.g. LeNet-300-100 (784-300-100-10);
- :func:`small_cnn` — a LeNet-5-sized CNN for 28×28 images: conv 1→8 5×5, max-pool 2,
  conv 8→16 5×5, max-pool 2, linear 256→64, linear 64→10 (ReLU after every hidden layer).

Both take flattened 784-pixel inputs, as :mod:`dualreg.plots._mlp` stores the images, and use
torch's default initialisation (draw them inside :func:`dualreg.plots._training.seeded_init`).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any


def mlp(dims: Sequence[int]) -> Any:
    """``nn.Sequential`` of ``Linear(dims[i], dims[i + 1])`` with ReLU between them."""
    from torch import nn

    layers: list = []
    for i, (a, b) in enumerate(itertools.pairwise(dims)):
        if i:
            layers.append(nn.ReLU())
        layers.append(nn.Linear(a, b))
    return nn.Sequential(*layers)


def small_cnn(n_classes: int = 10, side: int = 28) -> Any:
    """The small CNN above, on flattened ``side``×``side`` single-channel images."""
    from torch import nn

    after = ((side - 4) // 2 - 4) // 2  # two valid 5×5 convolutions, each pooled by 2
    if after < 1:
        raise ValueError(f"small_cnn needs images of side ≥ 16, got {side}")
    return nn.Sequential(
        nn.Unflatten(1, (1, side, side)),
        nn.Conv2d(1, 8, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(16 * after * after, 64), nn.ReLU(),
        nn.Linear(64, n_classes),
    )
