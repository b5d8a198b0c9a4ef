r"""Cross-validated IRLS estimators: ``alpha`` chosen by K-fold CV along warm-started paths.

For a grid :math:`\alpha_1 > \dots > \alpha_K` (by default :func:`dualreg.solvers.lam_grid`
on the whole data: ``n_alphas`` values log-spaced from λ_max down to ``alpha_min_ratio``·λ_max,
as scikit-learn's ``LassoCV``), each fold f fits :func:`dualreg.solvers.irls_path` on its
training part and scores every :math:`\alpha_k` on its held-out part by the family's mean
deviance

.. math::

    D_{kf} = \frac{1}{|V_f|}\sum_{i\in V_f} 2\,[\ell(\theta_{ik}, y_i) - \ell_{sat}(y_i)],

that is the mean squared error (gaussian), twice the log-loss (binomial) and the mean Poisson
deviance (poisson). ``alpha_`` minimises :math:`\frac1F\sum_f D_{kf}` (the largest α among ties,
as ``np.argmin`` over the decreasing grid); the final model is the path on all the data down to
``alpha_``, warm-started as in the folds, so that a nonconvex penalty is refitted on the branch
the CV scored. A penalty declaring ``follows_lam`` (``TextbookMCP``, ``TextbookSCAD``) is
rebuilt at every α. Folds: ``sklearn.model_selection.check_cv`` (KFold, or StratifiedKFold for
the classifier), in parallel over ``n_jobs`` with joblib.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np
from joblib import Parallel, delayed
from scipy.special import xlogy
from sklearn.base import is_classifier
from sklearn.model_selection import check_cv

from dualreg._validation import check_bool
from dualreg.estimators import (
    IRLSClassifier,
    IRLSPoissonRegressor,
    IRLSRegressor,
    resolve_penalty,
)
from dualreg.solvers import irls_path
from dualreg.solvers.contract import penalty_at
from dualreg.solvers.path import lam_grid, lam_max

__all__ = ["IRLSClassifierCV", "IRLSPoissonRegressorCV", "IRLSRegressorCV"]


def _gaussian_deviance(y: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """Mean of (y − θ)² per column of θ (n, K)."""
    return np.mean((y[:, None] - theta) ** 2, axis=0)


def _binomial_deviance(y: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """Mean of 2[log(1 + e^θ) − yθ] per column (y ∈ {0, 1}: the saturated loss is 0)."""
    return 2.0 * np.mean(np.logaddexp(0.0, theta) - y[:, None] * theta, axis=0)


def _poisson_deviance(y: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """Mean of 2[y log(y/μ) − (y − μ)] per column, μ = e^θ (y log y = 0 at y = 0)."""
    yy = y[:, None]
    with np.errstate(over="ignore"):
        mu = np.exp(theta)
    return 2.0 * np.mean(xlogy(yy, yy) - yy * theta - yy + mu, axis=0)


def _check_alphas(alphas: Any) -> np.ndarray:
    if isinstance(alphas, str):
        raise ValueError(f"alphas must be None or a 1-D sequence of numbers, got {alphas!r}")
    try:
        arr = np.asarray(alphas, dtype=float)
    except (TypeError, ValueError) as err:
        raise ValueError(f"alphas must be None or a 1-D sequence of numbers, got {alphas!r}"
                         ) from err
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"alphas must be a non-empty 1-D sequence, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)) or np.any(arr < 0):
        raise ValueError("alphas must be finite and >= 0")
    return np.sort(arr)[::-1]


def _check_n_jobs(n_jobs: Any) -> int | None:
    if n_jobs is None:
        return None
    if isinstance(n_jobs, bool | np.bool_) or not isinstance(n_jobs, numbers.Integral) \
            or n_jobs == 0:
        raise ValueError(f"n_jobs must be None or a nonzero integer, got {n_jobs!r}")
    return int(n_jobs)


def _fold_deviances(X, y, train, test, penalty, alphas, deviance, path_kwargs):
    path = irls_path(X[train], y[train], penalty, alphas, **path_kwargs)
    theta = X[test] @ path.coefs.T + path.intercepts
    return deviance(y[test], theta)


class _CVMixin:
    """The CV fit shared by the three estimators (they differ by family, y and deviance)."""

    _deviance = staticmethod(_gaussian_deviance)
    _path_alias: str | None = None  # another name for deviance_path_ (LassoCV's mse_path_)

    def __init__(self, penalty: Any = "l1", *, alphas: Any = None, n_alphas: int = 100,
                 alpha_min_ratio: float | None = None, cv: Any = None,
                 n_jobs: int | None = None, penalty_params: dict[str, Any] | None = None,
                 fit_intercept: bool = True, max_iter: int = 1000, tol: float = 1e-8,
                 eps_schedule: Any = "auto", init: Any = "auto", linear_solver: Any = "auto"):
        self.penalty = penalty
        self.alphas = alphas
        self.n_alphas = n_alphas
        self.alpha_min_ratio = alpha_min_ratio
        self.cv = cv
        self.n_jobs = n_jobs
        self.penalty_params = penalty_params
        self.fit_intercept = fit_intercept
        self.max_iter = max_iter
        self.tol = tol
        self.eps_schedule = eps_schedule
        self.init = init
        self.linear_solver = linear_solver

    def _grid(self, X: np.ndarray, y: np.ndarray, penalty: Any) -> np.ndarray:
        if self.alphas is not None:
            return _check_alphas(self.alphas)
        fit_intercept = check_bool(self.fit_intercept, "fit_intercept")
        try:
            top = lam_max(X, y, penalty, self._family, fit_intercept)
        except ValueError as err:
            raise ValueError(f"{err}; give the grid as alphas=[...]") from err
        if top == 0.0:
            return np.zeros(1)  # y is fitted by the null model: w = 0 at every α
        return lam_grid(X, y, penalty, self._family, fit_intercept, self.n_alphas,
                        self.alpha_min_ratio, name="alpha")

    def fit(self, X: Any, y: Any) -> Any:
        """Cross-validate ``alpha`` along the grid, then refit on all of X, y; returns self."""
        X, y_fit = self._prepare(X, y)
        n_jobs = _check_n_jobs(self.n_jobs)
        penalty = resolve_penalty(self.penalty, self.penalty_params)
        alphas = self._grid(X, y_fit, penalty)
        folds = list(check_cv(self.cv, y_fit, classifier=is_classifier(self)).split(X, y_fit))
        kwargs = self._solver_kwargs()
        scores = Parallel(n_jobs=n_jobs)(
            delayed(_fold_deviances)(X, y_fit, train, test, penalty, alphas, self._deviance,
                                     kwargs)
            for train, test in folds)
        self.alphas_ = alphas
        self.deviance_path_ = np.column_stack(scores)
        if self._path_alias:
            setattr(self, self._path_alias, self.deviance_path_)
        best = int(np.argmin(self.deviance_path_.mean(axis=1)))
        self.alpha_ = float(alphas[best])
        refit = irls_path(X, y_fit, penalty, alphas[: best + 1], **kwargs)
        self.penalty_ = penalty_at(penalty, self.alpha_)
        self._store_result(refit.results[-1])
        return self


_CV_DOC = """
    Parameters
    ----------
    penalty, penalty_params, fit_intercept, max_iter, tol, eps_schedule, init, linear_solver
        As for the estimator without CV (``init``: the start of each path).
    alphas : array-like of float >= 0, optional
        The grid; None: ``n_alphas`` values from λ_max down to ``alpha_min_ratio``·λ_max.
    n_alphas : int, default 100
    alpha_min_ratio : float in (0, 1], optional
        Default 1e-4 when n > d, else 1e-3.
    cv : int, CV splitter or iterable, optional
        As in scikit-learn (None: 5 folds; KFold, StratifiedKFold for classifiers).
    n_jobs : int, optional
        Folds fitted in parallel (joblib).

    Attributes
    ----------
    alpha_ : float
        The α with the smallest mean held-out deviance.
    alphas_ : ndarray (K,)
        The grid, decreasing.
    deviance_path_ : ndarray (K, n_folds)
        Mean held-out deviance of each α on each fold.
    coef_, intercept_, n_iter_, penalty_, stationarity_, converged_, n_features_in_
        Of the refit at ``alpha_`` (``n_iter_``: its last solve).
"""


class IRLSRegressorCV(_CVMixin, IRLSRegressor):
    __doc__ = ("Penalised least squares with ``alpha`` chosen by cross-validation (mean squared "
               "error), the IRLS counterpart of scikit-learn's ``LassoCV``.\n" + _CV_DOC +
               "    mse_path_ : ndarray (K, n_folds)\n        ``deviance_path_`` (LassoCV's "
               "name).\n")
    _deviance = staticmethod(_gaussian_deviance)
    _path_alias = "mse_path_"


class IRLSClassifierCV(_CVMixin, IRLSClassifier):
    __doc__ = ("Penalised logistic regression with ``alpha`` chosen by stratified "
               "cross-validation (binomial deviance, twice the log-loss).\n" + _CV_DOC)
    _deviance = staticmethod(_binomial_deviance)


class IRLSPoissonRegressorCV(_CVMixin, IRLSPoissonRegressor):
    __doc__ = ("Penalised Poisson regression with ``alpha`` chosen by cross-validation (mean "
               "Poisson deviance).\n" + _CV_DOC)
    _deviance = staticmethod(_poisson_deviance)
