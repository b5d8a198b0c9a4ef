r"""The local rate of the η-trick (MM) iteration: predicted from the map's derivative, and
measured from iterates.

At a fixed point :math:`w^\star` of the smoothed MM map :math:`T_\varepsilon`
(proofs/T11_irls_convergence.md, Theorem T11.3) the derivative of the map is

.. math::

    DT_\varepsilon(w^\star) = I - H_Q^{-1}\nabla^2F_\varepsilon(w^\star)
    = H_Q^{-1}\,\mathrm{diag}\big(\lambda_j\kappa_j/\eta_j\big),
    \qquad H_Q = \nabla^2L(w^\star) + \mathrm{diag}(\lambda_j/\eta_j),

with :math:`\eta_j = \hat\eta(s_j)`, :math:`s_j = \sqrt{w_j^{\star2}+\varepsilon}` and the
elasticity of the smoothed reweighting

.. math::

    \kappa_j = \frac{w_j^{\star2}}{s_j^2}\,\hat\kappa(s_j),\qquad
    \hat\kappa(s) = \frac{d\log\hat\eta}{d\log s} = \frac{s\,\hat\eta'(s)}{\hat\eta(s)} .

Its eigenvalues are real (it is similar to a symmetric matrix) and lie in [0, 1) at a strict
local minimum of :math:`F_\varepsilon`; the spectral radius is the linear rate, and it tends to 1
exactly where :math:`\nabla^2F_\varepsilon` becomes singular. For one coordinate with
:math:`L = \tfrac c2(w - z)^2` and :math:`\mu = \lambda/c` it is
:math:`\rho = \kappa\,\mu/(\eta + \mu)`: :math:`\mu/|z|` at the lasso point of ℓ1.

Numpy only; the caller supplies :math:`\nabla^2L` (``X.T @ X / n`` for gaussian,
:math:`X^\top\mathrm{diag}(A''(\theta))X/n` otherwise).
"""

from __future__ import annotations

from typing import Any

import numpy as np

Array = np.ndarray

__all__ = ["eta_elasticity", "mm_jacobian", "mm_rate", "observed_rate"]

_LOG_STEP = 1e-4  # relative step of the central difference in log s (error ~1e-8·κ''')


def eta_elasticity(penalty: Any, s: Any) -> Array:
    r""":math:`\hat\kappa(s) = d\log\hat\eta(s)/d\log s` for s > 0, by a central difference in
    log s (relative step 1e-4, error ~1e-8); 0 where η̂ is infinite (Ω flat: no ridge weight).

    ℓ1: 1; ℓp: 2 − p; LogSum(δ): (2s + δ)/(s + δ).
    """
    s = np.asarray(s, dtype=float)
    up = penalty.eta_hat(s * np.exp(_LOG_STEP))
    dn = penalty.eta_hat(s * np.exp(-_LOG_STEP))
    with np.errstate(all="ignore"):
        k = (np.log(up) - np.log(dn)) / (2.0 * _LOG_STEP)
    return np.where(np.isfinite(k), k, 0.0)


def mm_jacobian(hess_loss: Any, penalty: Any, lam: Any, w: Any, eps: float = 0.0) -> Array:
    r"""The derivative :math:`DT_\varepsilon(w) = H_Q^{-1}\mathrm{diag}(\lambda\kappa/\eta)` of
    the MM map at a fixed point w (module docstring).

    Parameters
    ----------
    hess_loss : array (d, d)
        :math:`\nabla^2L(w)`.
    penalty : Penalty
        A separable subquadratic penalty (its ``eta_hat``).
    lam : float or array (d,)
    w : array (d,)
        The fixed point.
    eps : float
        The smoothing ε of the map (0: plain η-trick).

    Returns
    -------
    array (d, d)
        Rows and columns of coordinates the map freezes (η = 0: w_j = 0 with ε = 0) are 0.
    """
    w = np.asarray(w, dtype=float)
    H = np.asarray(hess_loss, dtype=float)
    lam = np.broadcast_to(np.asarray(lam, dtype=float), w.shape)
    s = np.sqrt(w**2 + eps)
    with np.errstate(all="ignore"):
        eta = penalty.eta_hat(s)
        free = (eta > 0) | (lam == 0)
        delta = np.where(np.isinf(eta) | (lam == 0), 0.0, lam / eta)
        kappa = np.where(s > 0, w**2 / np.where(s > 0, s**2, 1.0), 0.0) * eta_elasticity(
            penalty, np.where(s > 0, s, 1.0))
    idx = np.flatnonzero(free)
    J = np.zeros((w.size, w.size))
    HQ = H[np.ix_(idx, idx)] + np.diag(delta[idx])
    J[np.ix_(idx, idx)] = np.linalg.solve(HQ, np.diag(delta[idx] * kappa[idx]))
    return J


def mm_rate(hess_loss: Any, penalty: Any, lam: Any, w: Any, eps: float = 0.0) -> float:
    r"""The predicted linear rate: the spectral radius of :func:`mm_jacobian` (≥ 1 means no
    linear convergence there: a degenerate or non-minimising fixed point)."""
    J = mm_jacobian(hess_loss, penalty, lam, w, eps)
    return float(np.max(np.abs(np.linalg.eigvals(J)))) if J.size else 0.0


def observed_rate(iterates: Any, limit: Any = None, window: tuple[float, float] = (1e-10, 1e-5),
                  scale: float | None = None) -> tuple[float, int]:
    r"""The measured linear rate of a sequence: the median of :math:`e_{t+1}/e_t` with
    :math:`e_t = \|w_t - w^\star\|_\infty` (``limit`` given) or
    :math:`e_t = \|w_{t+1} - w_t\|_\infty` (same asymptotic ratio for linear convergence),
    over the steps whose :math:`e_t/\text{scale}` lies in ``window`` — small enough that the
    nonlinear remainder (relative :math:`O(e_t)`) is negligible, large enough that rounding
    (~1e-16·scale) is. ``scale`` defaults to the limit's (or last iterate's) sup norm.

    Returns (rate, number of ratios used); (nan, 0) when no step lies in the window.
    """
    W = np.atleast_2d(np.asarray(iterates, dtype=float))
    if W.shape[0] == 1 and np.ndim(iterates) == 1:
        W = W.T
    if limit is None:
        err = np.max(np.abs(np.diff(W, axis=0)), axis=1)
        ref = W[-1]
    else:
        ref = np.atleast_1d(np.asarray(limit, dtype=float))
        err = np.max(np.abs(W - ref), axis=1)
    if scale is None:
        scale = max(float(np.max(np.abs(ref))), 1e-300)
    lo, hi = window
    ratios = [err[t + 1] / err[t] for t in range(err.size - 1)
              if lo <= err[t] / scale <= hi and err[t + 1] > 0]
    if not ratios:
        return float("nan"), 0
    return float(np.median(ratios)), len(ratios)
