r"""Regularisation paths: :func:`lam_max`, the smallest λ with w = 0 stationary; :func:`lam_grid`,
the geometric grid below it; and :func:`irls_path`, warm-started solves along a decreasing grid.

The grid is scikit-learn's (``lasso_path``): ``n_lams`` values log-spaced from λ_max down to
``lam_min_ratio``·λ_max. Along the path each solve starts from the previous solution, largest λ
first (where the solution is sparsest), so a nonconvex penalty follows one branch of local
minima as λ decreases. A penalty that declares ``follows_lam`` (the textbook MCP and SCAD) is
rebuilt at every λ (:func:`dualreg.solvers.contract.penalty_at`).
"""

from __future__ import annotations

import inspect
import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np

from dualreg._validation import check_bool, check_scalar
from dualreg.families import get_family
from dualreg.solvers.contract import check_penalty, penalty_at
from dualreg.solvers.irls import irls
from dualreg.solvers.problem import Problem, check_data
from dualreg.solvers.result import PathResult

Array = np.ndarray

__all__ = ["irls_path", "lam_grid", "lam_max"]

# Arguments of irls that irls_path sets itself (the rest pass through **kwargs).
_PATH_OWNED = ("X", "y", "penalty", "lam", "family", "fit_intercept")


def lam_max(X: Any, y: Any, penalty: Any, family: Any = "gaussian",
            fit_intercept: bool = True) -> float:
    r"""Smallest λ for which w = 0 is stationary (optimal when Ω is convex).

    .. math:: \lambda_{max} = \|\nabla_w L(0, b_0)\|_\infty / \Omega'(0^+)

    with :math:`b_0` the fitted null intercept (0 without one); for the gaussian family with an
    intercept, :math:`\|X^\top(y - \bar y)\|_\infty / n` (scikit-learn's ``alpha_max``).

    Raises
    ------
    ValueError
        On bad X, y, family or ``fit_intercept`` (the message names the argument), and for
        penalties without a finite kink at 0: with Ω'(0+) = 0 zero is never optimal, with
        Ω'(0+) = ∞ it always is.
    """
    fam = get_family(family)
    fit_intercept = check_bool(fit_intercept, "fit_intercept")
    check_penalty(penalty, ("slope_at_zero", "eta_hat"), who="lam_max", need_eta_form=False)
    X, y = check_data(X, y, fam)
    slope = float(penalty.slope_at_zero())
    if not slope > 0:
        raise ValueError(f"{penalty!r} has no kink at 0 (Ω'(0+) = 0): no λ makes w = 0 optimal")
    if not np.isfinite(slope):
        raise ValueError(f"{penalty!r} has Ω'(0+) = ∞: w = 0 is stationary for every λ > 0")
    problem = Problem(X, y, penalty, np.zeros(X.shape[1]), fam, fit_intercept)
    theta = problem.theta(np.zeros(X.shape[1]), problem.null_intercept())
    g, _ = problem.grad(theta)
    return float(np.max(np.abs(g))) / slope


def check_n_lams(n_lams: Any, name: str = "n_lams") -> int:
    """A positive integer (not a bool); ValueError naming ``name`` otherwise."""
    if isinstance(n_lams, bool | np.bool_) or not isinstance(n_lams, numbers.Integral):
        raise ValueError(f"{name} must be a positive integer, got {n_lams!r}")
    if n_lams < 1:
        raise ValueError(f"{name} must be >= 1, got {n_lams!r}")
    return int(n_lams)


def default_lam_min_ratio(n_samples: int, n_features: int) -> float:
    """1e-4 when n > d (the unpenalised fit exists: the grid may go close to it), else 1e-3."""
    return 1e-4 if n_samples > n_features else 1e-3


def lam_grid(X: Any, y: Any, penalty: Any, family: Any = "gaussian", fit_intercept: bool = True,
             n_lams: int = 100, lam_min_ratio: float | None = None,
             name: str = "lam") -> Array:
    r"""``n_lams`` values of λ, log-spaced and decreasing, from :func:`lam_max` to
    ``lam_min_ratio``·λ_max:

    .. math:: \lambda_k = \lambda_{max}\, r^{k/(K-1)}, \quad k = 0, \dots, K-1

    (one value, λ_max, when K = 1). ``lam_min_ratio`` None: :func:`default_lam_min_ratio`.
    ``name`` is the prefix of the argument names in error messages (``alpha`` for the
    estimators). Raises ValueError for a penalty without a finite kink at 0 (no λ_max: give
    the grid yourself).
    """
    n_lams = check_n_lams(n_lams, f"n_{name}s")
    lmax = lam_max(X, y, penalty, family, fit_intercept)
    if lam_min_ratio is None:
        shape = np.shape(X)
        lam_min_ratio = default_lam_min_ratio(shape[0], shape[1])
    ratio = check_scalar(lam_min_ratio, f"{name}_min_ratio", 0.0, 1.0, low_inclusive=False)
    if lmax == 0.0:
        raise ValueError("lam_max is 0 (y is fitted by the null model): w = 0 for every λ, "
                         f"there is no {name} grid to search")
    if n_lams == 1:
        return np.array([lmax])
    return lmax * np.geomspace(1.0, ratio, n_lams)


def _check_path_kwargs(kwargs: dict[str, Any]) -> None:
    allowed = set(inspect.signature(irls).parameters) - set(_PATH_OWNED)
    unknown = sorted(set(kwargs) - allowed)
    if unknown:
        raise ValueError(f"irls_path got unknown argument(s) {', '.join(unknown)}; it passes "
                         f"these on to irls: {', '.join(sorted(allowed))}")


def irls_path(
    X: Any,
    y: Any,
    penalty: Any,
    lams: Sequence[float] | Array | None = None,
    family: Any = "gaussian",
    fit_intercept: bool = True,
    *,
    n_lams: int = 100,
    lam_min_ratio: float | None = None,
    **kwargs: Any,
) -> PathResult:
    r""":func:`~dualreg.solvers.irls` along a decreasing grid of λ, each solve warm-started from
    the previous solution (the first from ``kwargs.get('init', 'auto')``).

    Each point minimises :math:`F_k(w, b) = L(w, b) + \lambda_k \Omega_k(w)` with
    :math:`\Omega_k` = ``penalty.at_lam(λ_k)`` for a penalty that declares ``follows_lam``
    (textbook MCP/SCAD), else ``penalty``.

    Parameters
    ----------
    X, y, penalty, family, fit_intercept
        As for :func:`~dualreg.solvers.irls`.
    lams : sequence of float >= 0, optional
        The grid (any order: solved and returned largest first). None: :func:`lam_grid`
        with ``n_lams`` and ``lam_min_ratio`` (needs a penalty with a finite kink at 0).
    n_lams : int, default 100
    lam_min_ratio : float in (0, 1], optional
        Default 1e-4 when n > d, else 1e-3.
    **kwargs
        Passed to :func:`~dualreg.solvers.irls` (``tol``, ``max_iter``, ``init``, ...).

    Returns
    -------
    PathResult
        ``lams`` in decreasing order, ``coefs`` (K, d), ``intercepts`` (K,), ``n_iter`` (K,)
        and the K :class:`~dualreg.solvers.IRLSResult` s.
    """
    _check_path_kwargs(kwargs)
    fit_intercept = check_bool(fit_intercept, "fit_intercept")
    check_penalty(penalty, who="irls_path")
    if lams is None:
        order = lam_grid(X, y, penalty, family, fit_intercept, n_lams, lam_min_ratio)
    else:
        if isinstance(lams, str):
            raise ValueError(f"lams must be a non-empty 1-D sequence of numbers, got {lams!r}")
        try:
            lams = np.asarray(lams, dtype=float)
        except (TypeError, ValueError) as err:
            raise ValueError(f"lams must be a 1-D sequence of numbers, got {lams!r}") from err
        if lams.ndim != 1 or lams.size == 0:
            raise ValueError("lams must be a non-empty 1-D sequence")
        if np.any(~np.isfinite(lams)) or np.any(lams < 0):
            raise ValueError("lams must be finite and >= 0")
        order = np.sort(lams)[::-1]
    init = kwargs.pop("init", "auto")
    results = []
    for lam_k in order:
        r = irls(X, y, penalty_at(penalty, lam_k), lam_k, family=family,
                 fit_intercept=fit_intercept, init=init, **kwargs)
        results.append(r)
        init = r
    return PathResult(
        lams=order,
        coefs=np.array([r.coef for r in results]),
        intercepts=np.array([r.intercept for r in results]),
        results=results,
    )
