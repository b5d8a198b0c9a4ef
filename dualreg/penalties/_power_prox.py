r"""Closed-form and root-finding proxes of the power penalty :math:`\mu|x|^q/q` (ℓ1/2, ℓ2/3,
any q), used by :class:`dualreg.penalties.classical.Power`; moved out of ``classical.py``
unchanged to keep that module under the 500-line limit."""

from __future__ import annotations

import numpy as np


def _prox_half(v: np.ndarray, lam: np.ndarray) -> np.ndarray:
    r"""Closed-form prox of :math:`\lambda\sqrt{|x|}`: argmin ½(x−v)² + λ√|x| (v ≥ 0).

    Half thresholding (Xu et al. 2012, written for (x−v)² + 2λ√|x|): for
    :math:`v > \tfrac32 \lambda^{2/3}`, :math:`x = \tfrac23 v (1 + \cos(\tfrac{2\pi}{3} -
    \tfrac23\varphi))` with :math:`\cos\varphi = \tfrac{\lambda}{4}(v/3)^{-3/2}`; else 0.
    """
    lam = np.broadcast_to(lam, v.shape)
    thresh = 1.5 * lam ** (2.0 / 3.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        arg = np.clip((lam / 4.0) * (v / 3.0) ** -1.5, -1.0, 1.0)
        phi = np.arccos(arg)
        x = (2.0 / 3.0) * v * (1.0 + np.cos(2.0 * np.pi / 3.0 - 2.0 * phi / 3.0))
    return np.where(v > thresh, x, 0.0)


def _prox_two_thirds(v: np.ndarray, lam: np.ndarray) -> np.ndarray:
    r"""Closed-form prox of :math:`\lambda|x|^{2/3}` (Cao, Sun & Xu 2013), v ≥ 0.

    With :math:`\mu = 2\lambda` (their scaling (x−v)² + μ|x|^{2/3}), the nonzero root is
    :math:`x = ((A + \sqrt{2v/A - A^2})/2)^3`, :math:`A = \tfrac{2}{\sqrt3}\mu^{1/4}
    \cosh(\varphi/3)^{1/2}`, :math:`\cosh\varphi = \tfrac{27 v^2}{16}\mu^{-3/2}`, taken when
    :math:`v > \tfrac23 (3\mu^3)^{1/4}`; the objective decides the tie region exactly.
    """
    mu = np.broadcast_to(2.0 * lam, v.shape)
    thresh = (2.0 / 3.0) * (3.0 * mu**3) ** 0.25
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        phi = np.arccosh(np.maximum(27.0 * v**2 / 16.0 * mu**-1.5, 1.0))
        a = (2.0 / np.sqrt(3.0)) * mu**0.25 * np.sqrt(np.cosh(phi / 3.0))
        x = ((a + np.sqrt(np.maximum(2.0 * v / a - a**2, 0.0))) / 2.0) ** 3
    x = np.where((v > thresh) & np.isfinite(x), x, 0.0)
    # Keep x only where it beats zero (the threshold is exact; this guards rounding at it).
    better = 0.5 * (x - v) ** 2 + lam * x ** (2.0 / 3.0) < 0.5 * v**2
    return np.where(better, x, 0.0)


def _prox_power_root(v: np.ndarray, mu: np.ndarray, q: float) -> np.ndarray:
    r"""Prox of :math:`\mu|x|^q/q` for any q by the stationary equation
    :math:`h(x) = x + \mu x^{q-1} = v`.

    q > 1: h is increasing on [0, v], one root. q < 1: h is convex with its minimum at
    :math:`x^* = (\mu(1-q))^{1/(2-q)}`; the local minimiser is the root on :math:`[x^*, v]`,
    kept only where it beats x = 0.
    """
    from dualreg._numerics import bisect_increasing

    mu = np.broadcast_to(mu, v.shape)

    def h(x):
        with np.errstate(divide="ignore", invalid="ignore"):
            return x + mu * x ** (q - 1)

    if q > 1:
        return bisect_increasing(h, v, np.zeros_like(v), v.copy())
    xstar = (mu * (1 - q)) ** (1 / (2 - q))
    lo = np.minimum(xstar, v)
    x = bisect_increasing(h, v, lo, np.maximum(v, lo))
    feasible = h(xstar) < v
    obj_x = 0.5 * (x - v) ** 2 + mu * x**q / q
    return np.where(feasible & (obj_x < 0.5 * v**2), x, 0.0)
