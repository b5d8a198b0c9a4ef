r"""Hoyer's sparsity measure, in numpy (the one copy: claims and figures use it).

.. math:: H(w) = \frac{\sqrt d - \|w\|_1/\|w\|_2}{\sqrt d - 1} \in [0, 1]

1 for a single nonzero coordinate, 0 when all magnitudes are equal (Hoyer 2004).
:func:`dualreg.torch.metrics.hoyer` is the same formula on tensors, for use inside a loss.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def hoyer(w: Any, axis: int = -1) -> np.ndarray | float:
    r"""Hoyer sparsity :math:`(\sqrt d - \|w\|_1/\|w\|_2)/(\sqrt d - 1)` along ``axis``.

    Parameters
    ----------
    w : array_like
        Coefficients; ``d`` is their length along ``axis`` (at least 2).
    axis : int
        The axis of the coordinates (default the last).

    Returns
    -------
    float or numpy.ndarray
        A float for a vector, an array over the other axes otherwise. An all-zero vector has
        sparsity 0 by convention (its ratio is taken as √d).

    Raises
    ------
    ValueError
        ``w`` has fewer than 2 coordinates along ``axis`` or is not finite.
    """
    w = np.asarray(w, dtype=float)
    if w.ndim == 0 or w.shape[axis] < 2:
        raise ValueError(f"w must have at least 2 coordinates along axis {axis}, got shape "
                         f"{w.shape}")
    if not np.all(np.isfinite(w)):
        raise ValueError("w must be finite")
    d = w.shape[axis]
    l1 = np.abs(w).sum(axis=axis)
    l2 = np.sqrt((w * w).sum(axis=axis))
    ratio = np.where(l2 > 0, l1 / np.where(l2 > 0, l2, 1.0), np.sqrt(d))
    out = (np.sqrt(d) - ratio) / (np.sqrt(d) - 1.0)
    return float(out) if out.ndim == 0 else out
