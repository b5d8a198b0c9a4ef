r"""Notebook helpers: draw a penalty's faces on your own axes.

:func:`plot_faces` draws the four faces of docs/conventions.md §3–4 for any penalty object —
catalogue entries, combinators, or your own rule from
:func:`dualreg.penalties.from_keep_prob` / :func:`~dualreg.penalties.from_eta_hat`:

1. :math:`\Omega(w) - \Omega(0)` against :math:`|w|`;
2. the reweighting :math:`\hat\eta(w) = |w| / \Omega'(|w|)` (log axis; where it is
   :math:`+\infty`, Ω is flat and the band is shaded);
3. the η-trick dual :math:`f(\eta)` with :math:`\Omega(w) = \tfrac12\min_\eta [w^2/\eta +
   f(\eta)]` (log axis; superquadratic penalties have none, and the panel says so);
4. the keep probability :math:`\alpha(w) = c\hat\eta / (c\hat\eta + \lambda)` of the adaptive
   dropout rule that implements :math:`\lambda\Omega`.

It is what ``dualreg penalty NAME --plot`` and the ``faces`` figure draw. matplotlib is imported
when the function is called (the ``plots`` extra), never at import.
"""

from __future__ import annotations

from typing import Any

import numpy as np

FACES = ("value", "eta_hat", "dual", "keep_prob")
TITLES = {"value": "Ω(w) − Ω(0)", "eta_hat": "η̂(w) = |w| / Ω′(|w|)", "dual": "dual f(η)",
          "keep_prob": "keep prob. α(w)"}


def _grid(values: Any, name: str) -> np.ndarray:
    x = np.asarray(values, dtype=float)
    if x.ndim != 1 or x.size < 2 or not np.all(np.isfinite(x)):
        raise ValueError(f"{name} must be a 1-D grid of at least 2 finite numbers, got shape "
                         f"{x.shape}")
    return x


def plot_faces(penalty: Any, ax: Any = None, w: Any = None, *, eta: Any = None,
               lam: float = 1.0, c: float = 1.0, color: Any = None) -> np.ndarray:
    r"""Draw the four faces of ``penalty`` (Ω, η̂, f, α) on four axes.

    Parameters
    ----------
    penalty : Penalty
        Any object with ``value``, ``eta_hat``, ``keep_prob``, ``has_eta_form`` and ``dual``
        (every penalty of :mod:`dualreg.penalties`).
    ax : sequence of 4 matplotlib Axes, optional
        Where to draw, in the order Ω, η̂, f, α; a new 1 × 4 figure when ``None``.
    w : array_like, optional
        The grid of magnitudes :math:`|w|` for Ω, η̂ and α (default ``linspace(0, 5, 400)``).
    eta : array_like, optional
        The grid of η for the dual (default ``geomspace(1e-3, 1e3, 400)``).
    lam, c : float
        λ and the column scale c of the keep probability
        :math:`\alpha = c\hat\eta/(c\hat\eta + \lambda)`.
    color : matplotlib colour, optional
        One colour for the four curves.

    Returns
    -------
    numpy.ndarray of Axes
        The four axes drawn on.

    Raises
    ------
    ValueError
        ``ax`` is not four axes, a grid is not 1-D and finite, ``lam`` < 0 or ``c`` <= 0.
    dualreg._extras.MissingExtra
        matplotlib is not installed (``pip install 'dualreg[plots]'``).

    Examples
    --------
    >>> from dualreg.penalties import LogSum
    >>> axes = plot_faces(LogSum(eps=0.5), lam=2.0)  # doctest: +SKIP
    """
    from dualreg._extras import require

    require("dualreg.plotting", "plots", "matplotlib")
    if not np.isfinite(lam) or lam < 0:
        raise ValueError(f"lam must be finite and >= 0, got {lam!r}")
    if not np.isfinite(c) or c <= 0:
        raise ValueError(f"c must be finite and > 0, got {c!r}")
    w = np.linspace(0.0, 5.0, 400) if w is None else np.abs(_grid(w, "w"))
    eta = np.geomspace(1e-3, 1e3, 400) if eta is None else _grid(eta, "eta")
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(1, 4, figsize=(14, 3.2), constrained_layout=True)
    axes = np.asarray(ax, dtype=object).ravel()
    if axes.size != 4:
        raise ValueError(f"ax must be 4 matplotlib Axes (Ω, η̂, f, α), got {axes.size}")
    style = {"lw": 1.6, **({"color": color} if color is not None else {})}
    band = {"color": color or "grey", "alpha": 0.12, "lw": 0}
    a_value, a_eta, a_dual, a_keep = axes

    a_value.plot(w, penalty.value(w) - penalty.value(np.zeros(1))[0], **style)
    eta_w = np.asarray(penalty.eta_hat(w), dtype=float)
    finite = np.isfinite(eta_w) & (eta_w > 0)
    a_eta.plot(w[finite], eta_w[finite], **style)
    if finite.any():
        a_eta.set_yscale("log")
    if np.isinf(eta_w).any():
        a_eta.axvspan(w[np.isinf(eta_w)].min(), w.max(), **band)
        a_eta.text(0.97, 0.08, "η̂ = +∞", ha="right", transform=a_eta.transAxes, fontsize=9)
    a_dual.set_xscale("log")
    a_dual.set_xlim(eta.min(), eta.max())
    if penalty.has_eta_form:
        f = np.asarray(penalty.dual(eta), dtype=float)
        ok = np.isfinite(f)
        a_dual.plot(eta[ok], f[ok], **style)
        if (~ok).any():
            a_dual.axvspan(eta[~ok].min(), eta.max(), **band)
            a_dual.text(0.97, 0.08, "f = +∞", ha="right", transform=a_dual.transAxes,
                        fontsize=9)
    else:
        a_dual.set_yticks([])
        a_dual.text(0.5, 0.5, "no η-form\n(superquadratic: Ω is a sup,\nnot an inf, of "
                    "quadratics)", ha="center", va="center", fontsize=9,
                    transform=a_dual.transAxes, **({"color": color} if color else {}))
    a_keep.plot(w, penalty.keep_prob(w, lam, c), **style)
    a_keep.set_ylim(-0.04, 1.04)
    for a, face in zip(axes, FACES, strict=True):
        title = TITLES[face] + (f", λ = {lam:g}, c = {c:g}" if face == "keep_prob" else "")
        a.set_title(title)
        a.set_xlabel("η" if face == "dual" else "|w|")
    return axes
