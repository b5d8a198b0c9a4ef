r"""Reference solutions in cvxpy (Clarabel) for the convex problems :func:`irls` solves.

.. math::

    \min_{w, b}\ \frac1n\sum_i \big[A(x_i^\top w + b) - y_i(x_i^\top w + b)\big]
    + \sum_j \lambda_j\,\Omega(w_j)

with the loss written in DCP form — gaussian :math:`\tfrac1{2n}\|y - Xw - b\|^2`
(``sum_squares``), binomial :math:`\tfrac1n\sum \mathrm{logistic}(\theta_i) - y_i\theta_i`,
poisson :math:`\tfrac1n\sum e^{\theta_i} - y_i\theta_i` — and the penalty from
``penalty.to_cvxpy`` (ridge, ℓ1, ℓp with 1 ≤ p ≤ 2, …; a vector λ gives the weighted penalty).
The solver is pinned to ``cp.CLARABEL`` with tight tolerances (a plain ``solve()`` may pick a less
accurate one). cvxpy is imported inside the functions: importing this module costs nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from dualreg._extras import require
from dualreg._validation import as_finite_array
from dualreg.families import get_family

Array = np.ndarray

#: Clarabel settings used by :func:`solve_reference`: gaps and feasibility to 1e-11, enough for
#: coefficients to ~1e-7 on well-conditioned problems (an interior point method's accuracy).
CLARABEL_TIGHT = {
    "tol_gap_abs": 1e-11,
    "tol_gap_rel": 1e-11,
    "tol_feas": 1e-11,
    "tol_ktratio": 1e-9,
    "max_iter": 500,
}


@dataclass
class ReferenceResult:
    """cvxpy solution: coefficients, intercept, the objective F (recomputed in numpy from the
    solution, in the package's scaling) and the cvxpy status."""

    coef: Array
    intercept: float
    objective: float
    status: str


def build_problem(X: Any, y: Any, penalty: Any, lam: Any, family: str = "gaussian",
                  fit_intercept: bool = True) -> tuple[Any, Any, Any]:
    """The cvxpy ``Problem`` and its variables ``(problem, w, b)`` (b is None without
    intercept). Raises ``ValueError`` for a penalty without a DCP form, and
    :class:`dualreg._extras.MissingExtra` (one line) without the ``cvxpy`` extra."""
    require("the cvxpy reference", "cvxpy", "cvxpy", "clarabel")
    import cvxpy as cp

    fam = get_family(family)
    X = as_finite_array(X, "X")
    y = fam.check_y(y)
    if X.ndim != 2 or X.shape[0] != y.shape[0]:
        raise ValueError(f"X and y have mismatched shapes: {X.shape} and {y.shape}")
    n, d = X.shape
    if not getattr(penalty, "is_convex", False):
        raise ValueError(f"{penalty!r} is not convex: no cvxpy reference")
    lamv = np.broadcast_to(np.asarray(lam, dtype=float), (d,))
    if np.any(lamv < 0) or not np.all(np.isfinite(lamv)):
        raise ValueError(f"lam must be finite and >= 0, got {lam!r}")
    w = cp.Variable(d)
    b = cp.Variable() if fit_intercept else None
    theta = X @ w + b if b is not None else X @ w
    data = fam.cvxpy_loss(theta, y) / n
    if np.all(lamv == lamv[0]):
        reg = float(lamv[0]) * penalty.to_cvxpy(w) if lamv[0] > 0 else 0
    else:
        reg = sum(float(lamv[j]) * penalty.to_cvxpy(w[j]) for j in range(d) if lamv[j] > 0)
    return cp.Problem(cp.Minimize(data + reg)), w, b


def solve_reference(X: Any, y: Any, penalty: Any, lam: Any, family: str = "gaussian",
                    fit_intercept: bool = True, **solver_opts: Any) -> ReferenceResult:
    r"""Solve the convex problem with cvxpy + Clarabel (:data:`CLARABEL_TIGHT` unless
    overridden by ``solver_opts``), retried with other settings while the status is
    ``optimal_inaccurate`` (``status`` reports the final one). The objective is recomputed in
    numpy as
    :math:`L(w, b) + \sum_j\lambda_j\Omega(w_j)` with :func:`dualreg.families.loss`."""
    require("the cvxpy reference", "cvxpy", "cvxpy", "clarabel")
    import cvxpy as cp

    from dualreg.families import loss

    prob, w, b = build_problem(X, y, penalty, lam, family, fit_intercept)
    # Clarabel's static regularisation can stall an exponential-cone problem (poisson,
    # logistic) at "optimal_inaccurate" with coefficients off by ~1e-5; the retries switch it
    # off, then the equilibration, and keep the first fully optimal solve (none optimal: the
    # first solve, often accurate all the same, with its status).
    first = None
    for retry in ({}, {"static_regularization_enable": False}, {"equilibrate_enable": False}):
        prob.solve(solver=cp.CLARABEL, **{**CLARABEL_TIGHT, **retry, **solver_opts})
        if prob.status == cp.OPTIMAL or solver_opts or w.value is None:
            break
        if first is None:
            first = (np.array(w.value), None if b is None else float(b.value), prob.status)
    else:
        w.value = first[0]
        if b is not None:
            b.value = first[1]
    status = prob.status if first is None or prob.status == cp.OPTIMAL else first[2]
    if w.value is None:
        raise RuntimeError(f"cvxpy/Clarabel failed: status {prob.status}")
    coef = np.asarray(w.value, dtype=float).reshape(-1)
    intercept = float(b.value) if b is not None else 0.0
    X = np.asarray(X, dtype=float)
    lamv = np.broadcast_to(np.asarray(lam, dtype=float), coef.shape)
    obj = loss(X, y, coef, intercept, family) + float(np.sum(lamv * penalty.value(coef)))
    return ReferenceResult(coef, intercept, obj, str(status))
