r"""Deterministic dropout objectives: the exact expected loss and its second-order expansion.

The Monte-Carlo trainer estimates the minimiser of the **exact expected dropout objective**

.. math::

    \bar L(w, b) = E_s\,\tfrac1n\sum_i \big[A(b + x_i\cdot(s\odot w)) - y_i(b + x_i\cdot w)\big]

(E s = 1, so the linear term has no noise). This module computes it without sampling —
Bernoulli masks by enumerating the :math:`2^d` keep patterns, Gaussian masks by Gauss–Hermite
quadrature of the 1-D Gaussian :math:`x_i\cdot(s\odot w)` — together with Wager et al.'s
Fisher-weighted ridge (the second-order expansion, docs/conventions.md §2)

.. math::

    L(w, b) + \tfrac v2\,\tfrac1n\sum_i A''(\theta_i)\sum_j x_{ij}^2 w_j^2
    = L(w, b) + \tfrac v2\sum_j c_j(w) w_j^2,

and Newton minimisers for both, in float64 with autograd derivatives. It is the reference of
the GLM tests and of ``proofs/T2_glm_second_order.md``. Small d only (enumeration is 2^d).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import Tensor

from dualreg._validation import as_finite_array, check_rate, check_scalar
from dualreg.families import Family, get_family

__all__ = [
    "bernoulli_patterns",
    "expected_dropout_loss",
    "fisher_ridge_loss",
    "glm_mean_loss",
    "newton_minimize",
    "solve_expected_dropout",
    "solve_fisher_ridge",
    "solve_glm",
]

_MAX_ENUM_D = 14


def _A(theta: Tensor, family: str | Family) -> Tensor:
    r""":math:`A(\theta)`, the family's log-partition (torch twin)."""
    return get_family(family).log_partition_torch(theta)


def _A1(theta: Tensor, family: str | Family) -> Tensor:
    r""":math:`A'(\theta)`, the family's mean (torch twin)."""
    return get_family(family).mean_torch(theta)


def _A2(theta: Tensor, family: str | Family) -> Tensor:
    r""":math:`A''(\theta)`, the family's curvature (torch twin)."""
    return get_family(family).curvature_torch(theta)


def _A4(theta: Tensor, family: str | Family) -> Tensor:
    r""":math:`A''''(\theta)`, the family's fourth derivative (torch twin)."""
    return get_family(family).fourth_derivative_torch(theta)


def bernoulli_patterns(d: int, p: float) -> tuple[Tensor, Tensor]:
    r"""All :math:`2^d` inverted masks :math:`s = b/(1-p)` and their probabilities
    :math:`\prod_j (1-p)^{b_j} p^{1-b_j}`."""
    p = check_rate(p, "p")
    if d > _MAX_ENUM_D:
        raise ValueError(f"enumeration of 2^d masks needs d <= {_MAX_ENUM_D}, got {d}")
    keep = 1.0 - p
    b = torch.tensor(list(itertools.product([0.0, 1.0], repeat=d)), dtype=torch.float64)
    prob = torch.prod(torch.where(b > 0, keep, p), dim=1)
    return b / keep, prob


def glm_mean_loss(w: Tensor, b: Tensor, X: Tensor, y: Tensor, family: str) -> Tensor:
    r""":math:`L(w, b) = \tfrac1n\sum_i A(\theta_i) - y_i\theta_i`, :math:`\theta = Xw + b`."""
    theta = X @ w + b
    return torch.mean(_A(theta, family) - y * theta)


def expected_dropout_loss(
    w: Tensor, b: Tensor, X: Tensor, y: Tensor, family: str, mask: str, rate: float,
    nodes: int = 60,
) -> Tensor:
    r"""The exact :math:`E_s L(s\odot w, b)`.

    ``mask="bernoulli"``: ``rate`` is the drop probability p, the expectation a finite sum
    over the :math:`2^d` patterns. ``mask="gaussian"``: ``rate`` is σ²; with
    :math:`V_i = \sigma^2\sum_j x_{ij}^2w_j^2`, :math:`E A(\theta_i + \sqrt{V_i}Z)` by
    ``nodes``-point Gauss–Hermite (exact for polynomials of degree < 2·nodes; A is analytic in
    a strip, so the error decays geometrically).
    """
    theta = X @ w + b
    linear = torch.mean(y * theta)
    if mask == "bernoulli":
        S, prob = bernoulli_patterns(X.shape[1], rate)
        S, prob = S.to(X), prob.to(X)
        th = (X @ (S * w).T) + b  # (n, 2^d)
        return torch.mean(_A(th, family) @ prob) - linear
    if mask == "gaussian":
        z, wq = np.polynomial.hermite_e.hermegauss(nodes)
        z = torch.as_tensor(z).to(X)
        wq = torch.as_tensor(wq / np.sqrt(2 * np.pi)).to(X)
        var = rate * ((X * X) @ (w * w))
        th = theta[:, None] + torch.sqrt(var)[:, None] * z
        return torch.mean(_A(th, family) @ wq) - linear
    raise ValueError(f"mask must be 'bernoulli' or 'gaussian', got {mask!r}")


def fisher_ridge_loss(
    w: Tensor, b: Tensor, X: Tensor, y: Tensor, family: str, variance: float
) -> Tensor:
    r"""Wager et al.'s quadratic approximation
    :math:`L(w,b) + \tfrac v2\tfrac1n\sum_i A''(\theta_i)\sum_j x_{ij}^2w_j^2`
    (c depends on w and is differentiated: it is the second-order expansion of the expected
    loss, not a frozen-scale ridge)."""
    theta = X @ w + b
    pen = 0.5 * variance * torch.mean(_A2(theta, family) * ((X * X) @ (w * w)))
    return glm_mean_loss(w, b, X, y, family) + pen


def newton_minimize(
    fun: Callable[[Tensor], Tensor], x0: Tensor, tol: float = 1e-13, max_iter: int = 100
) -> Tensor:
    """Damped Newton on a smooth strictly convex (near the optimum) function of a vector.

    Stops when the gradient's max-norm is below ``tol``; backtracking halves the step until the
    objective does not increase (up to rounding). Raises if it does not converge.
    """
    x = x0.detach().clone()
    for _ in range(max_iter):
        xg = x.clone().requires_grad_(True)
        f = fun(xg)
        (g,) = torch.autograd.grad(f, xg)
        if float(g.abs().max()) < tol:
            return x
        H = torch.autograd.functional.hessian(fun, x)
        step = torch.linalg.solve(H, g)
        t = 1.0
        f0 = float(f.detach())
        while t > 1e-8:
            trial = x - t * step
            if float(fun(trial)) <= f0 + 1e-15 * abs(f0):
                break
            t /= 2
        x = x - t * step
    raise RuntimeError(f"Newton did not reach gradient {tol:g} in {max_iter} iterations")


def _prep(X: Any, y: Any) -> tuple[Tensor, Tensor]:
    Xn = as_finite_array(X, "X")
    yn = as_finite_array(y, "y")
    if Xn.ndim != 2 or yn.shape != (Xn.shape[0],):
        raise ValueError(f"X must be (n, d) and y (n,), got {Xn.shape} and {yn.shape}")
    return torch.as_tensor(Xn, dtype=torch.float64), torch.as_tensor(yn, dtype=torch.float64)


def _solve(objective, X, y, family, intercept, x0, tol):
    Xt, yt = _prep(X, y)
    d = Xt.shape[1]
    m = d + 1 if intercept else d

    def fun(v):
        b = v[d] if intercept else v.new_zeros(())
        return objective(v[:d], b, Xt, yt, family)

    x_init = torch.zeros(m, dtype=torch.float64)
    if x0 is not None:
        x0 = as_finite_array(x0, "x0")
        if x0.shape != (m,):
            raise ValueError(f"x0 must have shape ({m},) (coef, then intercept if fitted)")
        x_init[:] = torch.as_tensor(x0)
    sol = newton_minimize(fun, x_init, tol=tol).numpy()
    return sol[:d], (float(sol[d]) if intercept else 0.0)


def solve_glm(X: Any, y: Any, family: str = "binomial", intercept: bool = True,
              x0: Any = None, tol: float = 1e-13) -> tuple[np.ndarray, float]:
    """Unpenalised GLM (maximum likelihood) by Newton: ``(coef, intercept)``."""
    return _solve(glm_mean_loss, X, y, family, intercept, x0, tol)


def solve_expected_dropout(
    X: Any, y: Any, family: str, mask: str, rate: float, intercept: bool = True,
    x0: Any = None, tol: float = 1e-13,
) -> tuple[np.ndarray, float]:
    """Minimiser of the exact expected dropout objective (:func:`expected_dropout_loss`)."""
    rate = check_scalar(rate, "rate", 0.0, np.inf)

    def obj(w, b, Xt, yt, fam):
        return expected_dropout_loss(w, b, Xt, yt, fam, mask, rate)

    return _solve(obj, X, y, family, intercept, x0, tol)


def solve_fisher_ridge(
    X: Any, y: Any, family: str, variance: float, intercept: bool = True,
    x0: Any = None, tol: float = 1e-13,
) -> tuple[np.ndarray, float]:
    """Minimiser of the Fisher-weighted ridge (:func:`fisher_ridge_loss`) with mask variance v."""
    variance = check_scalar(variance, "variance", 0.0, np.inf)

    def obj(w, b, Xt, yt, fam):
        return fisher_ridge_loss(w, b, Xt, yt, fam, variance)

    return _solve(obj, X, y, family, intercept, x0, tol)


def _first_order_directions(X, y, family, penalties):
    """H⁻¹∇P at the unpenalised optimum (w, b) for each penalty function P(w, b, X)."""
    Xt, yt = _prep(X, y)
    d = Xt.shape[1]
    w_m, b_m = solve_glm(X, y, family)
    v0 = torch.as_tensor(np.r_[w_m, b_m])

    def loss(v):
        return glm_mean_loss(v[:d], v[d], Xt, yt, family)

    H = torch.autograd.functional.hessian(loss, v0)
    out = []
    for pen in penalties:
        v = v0.clone().requires_grad_(True)
        (g,) = torch.autograd.grad(pen(v[:d], v[d], Xt, family), v)
        out.append(torch.linalg.solve(H, g).numpy()[:d])
    return out


def _penalty_bregman(w, b, X, family):
    r"""The O(p) term of the Bernoulli expected loss (one unit dropped), a_ij = x_ij w_j:
    :math:`P_B = \tfrac1n\sum_i\sum_j [A(\theta_i - a_{ij}) - A(\theta_i) + a_{ij}A'(\theta_i)]`."""
    theta = X @ w + b
    a = X * w
    th = theta[:, None]
    return torch.mean(torch.sum(_A(th - a, family) - _A(th, family) + a * _A1(th, family), dim=1))


def _penalty_quadratic(w, b, X, family):
    r"""Fisher ridge per unit variance: :math:`P_Q = \tfrac1n\sum_i \tfrac12A''(\theta_i)
    \sum_j a_{ij}^2`."""
    theta = X @ w + b
    return 0.5 * torch.mean(_A2(theta, family) * ((X * X) @ (w * w)))


def _penalty_quartic(w, b, X, family):
    r""":math:`P_4 = \tfrac1n\sum_i \tfrac18A''''(\theta_i)(\sum_j a_{ij}^2)^2`: the O(σ⁴) term of
    the Gaussian-mask expected loss."""
    theta = X @ w + b
    return 0.125 * torch.mean(_A4(theta, family) * ((X * X) @ (w * w)) ** 2)


def bernoulli_gap_limit(X: Any, y: Any, family: str = "binomial") -> float:
    r"""The p → 0 limit of :math:`\|w_{drop} - w_{Fisher}\|/\|w_{mle} - w_{drop}\|` for
    Bernoulli masks (proofs/T2_glm_second_order.md, first order in p):
    :math:`\|[H^{-1}\nabla(P_B - P_Q)]_w\| / \|[H^{-1}\nabla P_B]_w\|` at the MLE."""
    dB, dQ = _first_order_directions(X, y, family, [_penalty_bregman, _penalty_quadratic])
    return float(np.linalg.norm(dB - dQ) / np.linalg.norm(dB))


def gaussian_gap_slope(X: Any, y: Any, family: str = "binomial") -> float:
    r"""The σ² → 0 limit of (relative gap)/σ² for Gaussian masks:
    :math:`\|[H^{-1}\nabla P_4]_w\| / \|[H^{-1}\nabla P_Q]_w\|` at the MLE."""
    d4, dQ = _first_order_directions(X, y, family, [_penalty_quartic, _penalty_quadratic])
    return float(np.linalg.norm(d4) / np.linalg.norm(dQ))
