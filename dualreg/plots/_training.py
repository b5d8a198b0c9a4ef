"""Training and scoring an ``nn.Module`` classifier on a :class:`dualreg.plots._mlp.Split`,
shared by the network figures that use the library's torch layers (targeted-pruning,
ydrop-width).

:func:`fit` is Adam (β = (0.9, 0.999)) on the mean cross-entropy plus every dropout layer's
regulariser (:func:`dualreg.torch.regularization`) plus an optional explicit penalty, batch
``batch`` drawn epoch by epoch without replacement, the learning rate decayed linearly to 0
over the steps (``torch.optim.lr_scheduler.LambdaLR``), the layers' schedules stepped with the
optimizer (:func:`dualreg.torch.attach_schedules`). Everything random comes from ``seed``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np


def seeded_init(build: Callable[[], Any], seed: int) -> Any:
    """``build()`` with torch's global generator seeded by ``seed`` and restored afterwards
    (``nn.Module`` initialisers draw from it)."""
    import torch

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return build()


def fit(model: Any, data: Any, *, steps: int, lr: float, seed: int, batch: int = 128,
        penalty: Callable[[Any, Any], Any] | None = None, device: str = "cpu",
        on_step: Callable[[Any, int], None] | None = None,
        forward: Callable[[Any, Any, Any], Any] | None = None) -> Any:
    """Train ``model`` in place on ``data.X_train``; returns it (in eval mode).

    Parameters
    ----------
    penalty : callable, optional
        ``penalty(model, x_batch)`` -> a scalar added to the loss.
    on_step : callable, optional
        ``on_step(model, step)`` after every optimizer step (under ``no_grad``).
    forward : callable, optional
        ``forward(model, x_batch, y_batch)`` -> logits (default ``model(x_batch)``), for a
        network whose dropout reads the labels (Y-Drop's conductance of the true class).
    """
    import torch
    from torch.nn import functional as F

    from dualreg.torch import attach_schedules, dropout_layers, regularization

    gen = torch.Generator().manual_seed(seed)
    for k, layer in enumerate(dropout_layers(model)):
        layer.generator = torch.Generator(device=device).manual_seed(seed + 7919 * (k + 1))
    X = torch.as_tensor(data.X_train, device=device)
    y = torch.as_tensor(data.y_train, device=device)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda t: 1.0 - t / steps)
    hook = attach_schedules(model, optimizer)
    n = X.shape[0]
    order = torch.randperm(n, generator=gen)
    cursor = 0
    model.train()
    for step in range(steps):
        if cursor + batch > n:
            order, cursor = torch.randperm(n, generator=gen), 0
        idx = order[cursor : cursor + batch].to(device)
        cursor += batch
        xb, yb = X[idx], y[idx]
        logits = model(xb) if forward is None else forward(model, xb, yb)
        loss = F.cross_entropy(logits, yb) + regularization(model)
        if penalty is not None:
            loss = loss + penalty(model, xb)
        if not torch.isfinite(loss):
            raise FloatingPointError(f"training diverged at step {step + 1} (loss {loss.item()})")
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        schedule.step()
        if on_step is not None:
            with torch.no_grad():
                on_step(model, step)
    hook.remove()
    return model.eval()


def accuracy(model: Any, X: np.ndarray, y: np.ndarray, device: str = "cpu",
             chunk: int = 2000) -> float:
    """Fraction of ``X`` classified as ``y`` by ``model`` in eval mode."""
    import torch

    model.eval()
    right = 0
    with torch.no_grad():
        for start in range(0, len(y), chunk):
            xb = torch.as_tensor(X[start : start + chunk], device=device)
            pred = model(xb).argmax(1).cpu().numpy()
            right += int((pred == y[start : start + chunk]).sum())
    return right / len(y)
