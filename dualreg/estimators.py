r"""scikit-learn estimators over the η-trick IRLS (:func:`dualreg.solvers.irls`).

Each estimator minimises, with the mean-loss scaling of docs/conventions.md §1,

.. math::

    \frac1n\sum_i \ell_i(x_i^\top w + b) + \alpha\,\sum_j \Omega(w_j),

``alpha`` playing λ, so that ``IRLSRegressor(penalty="l1", alpha=a)`` is scikit-learn's
``Lasso(alpha=a)``, ``IRLSClassifier(penalty="l1", alpha=a)`` is
``LogisticRegression(l1_ratio=1, C=1/(n a))`` with an unpenalised intercept, and
``IRLSPoissonRegressor(penalty="ridge", alpha=a)`` is ``PoissonRegressor(alpha=a)``.

``penalty`` is a :class:`dualreg.penalties.Penalty` or a name: a key of
:data:`dualreg.penalties.CATALOGUE` (case-insensitive, built with its defaults overridden by
``penalty_params``), ``"TextbookMCP"``/``"TextbookSCAD"`` (with ``penalty_params={"gamma": γ}``),
``"lasso"``/``"l1"``, ``"ridge"``/``"l2"``, or ``"l<p>"`` for ℓp (``"l0.5"``, ``"l1.5"``).

A penalty that declares ``follows_lam`` — :class:`~dualreg.penalties.TextbookMCP` and
:class:`~dualreg.penalties.TextbookSCAD`, the literature's MCP(λ, γ) and SCAD(λ, γ) — is rebuilt
at ``alpha`` before the fit, so ``alpha`` moves its thresholds as well as its height and
``GridSearchCV`` over ``alpha`` searches the textbook family (skglm's ``MCPenalty(alpha,
gamma)``). The fixed-threshold :class:`~dualreg.penalties.MCP` (a, scale) keeps its knot
b = a·scale whatever ``alpha`` (``penalty_`` is the penalty solved with).

Conventions: ``__init__`` only stores parameters, validation happens in ``fit``, ``fit`` returns
``self``, learned attributes end in ``_``. The CV variants are in :mod:`dualreg.estimators_cv`.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from dualreg._validation import check_bool
from dualreg.solvers import irls
from dualreg.solvers.contract import penalty_at

__all__ = [
    "IRLSClassifier",
    "IRLSPoissonRegressor",
    "IRLSRegressor",
    "check_alpha",
    "resolve_penalty",
]

_ALIASES = {"lasso": "L1", "l1": "L1", "ridge": "Ridge", "l2": "Ridge"}

SPARSE = ("csr", "csc")
"""Sparse formats the estimators take as they are (the solver never densifies them)."""


def resolve_penalty(penalty: Any, params: dict[str, Any] | None = None) -> Any:
    """A penalty object from an object or a name (module docstring); errors list the names."""
    from dualreg.penalties import CATALOGUE, Lp, Penalty
    from dualreg.penalties.textbook import TEXTBOOK

    if isinstance(penalty, Penalty):
        if params:
            raise ValueError("penalty_params is only used with a penalty given by name")
        return penalty
    if not isinstance(penalty, str):
        raise ValueError(
            f"penalty must be a Penalty or a name, got {type(penalty).__name__}"
        )
    key = penalty.strip()
    low = key.lower()
    if low in _ALIASES:
        key = _ALIASES[low]
    else:
        m = re.fullmatch(r"l(\d+(?:\.\d*)?)", low)
        if m and low not in ("l1", "l2"):
            if params:
                raise ValueError(f"penalty {penalty!r} takes no penalty_params")
            return Lp(float(m.group(1)))
    textbook = {k.lower(): cls for k, cls in TEXTBOOK.items()}
    if key.lower() in textbook:
        try:
            return textbook[key.lower()](**(params or {}))
        except TypeError as err:
            raise ValueError(f"bad penalty_params for {penalty!r}: {err}") from err
    names = {k.lower(): k for k in CATALOGUE}
    if key.lower() not in names:
        raise ValueError(
            f"unknown penalty {penalty!r}; use a Penalty object, 'l<p>', one of "
            f"{sorted(_ALIASES)}, of {sorted(TEXTBOOK)} or of {sorted(CATALOGUE)}"
        )
    return CATALOGUE[names[key.lower()]].build(**(params or {}))


def check_alpha(alpha: Any, name: str = "alpha") -> float:
    """``alpha`` as a finite float >= 0; ValueError naming ``name`` otherwise."""
    if isinstance(alpha, bool | np.bool_) or not np.isscalar(alpha) or isinstance(alpha, str):
        raise ValueError(f"{name} must be a nonnegative number, got {alpha!r}")
    if not np.isfinite(alpha) or alpha < 0:
        raise ValueError(f"{name} must be finite and >= 0, got {alpha!r}")
    return float(alpha)


class _IRLSBase(BaseEstimator):
    """Shared parameters and fitting of the IRLS estimators."""

    _family = "gaussian"

    def __init__(
        self,
        penalty: Any = "l1",
        alpha: float = 1.0,
        *,
        penalty_params: dict[str, Any] | None = None,
        fit_intercept: bool = True,
        max_iter: int = 1000,
        tol: float = 1e-8,
        eps_schedule: Any = "auto",
        init: Any = "auto",
        linear_solver: Any = "auto",
    ):
        self.penalty = penalty
        self.alpha = alpha
        self.penalty_params = penalty_params
        self.fit_intercept = fit_intercept
        self.max_iter = max_iter
        self.tol = tol
        self.eps_schedule = eps_schedule
        self.init = init
        self.linear_solver = linear_solver

    def _solver_kwargs(self) -> dict[str, Any]:
        """The arguments of :func:`~dualreg.solvers.irls` that the parameters set."""
        return dict(family=self._family, fit_intercept=self.fit_intercept, init=self.init,
                    eps_schedule=self.eps_schedule, tol=self.tol, max_iter=self.max_iter,
                    linear_solver=self.linear_solver)

    def _fit_irls(self, X: np.ndarray, y: np.ndarray, alpha: Any = None,
                  sample_weight: Any = None) -> Any:
        alpha = check_alpha(self.alpha if alpha is None else alpha)
        check_bool(self.fit_intercept, "fit_intercept")
        self.penalty_ = penalty_at(resolve_penalty(self.penalty, self.penalty_params), alpha)
        res = irls(X, y, self.penalty_, alpha, sample_weight=sample_weight,
                   **self._solver_kwargs())
        self._store_result(res)
        return res

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True  # CSR/CSC go to the solver as they are
        return tags

    def _store_result(self, res: Any) -> None:
        """The learned attributes of one :class:`~dualreg.solvers.IRLSResult`."""
        self.coef_ = res.coef
        self.intercept_ = float(res.intercept)
        self.n_iter_ = int(res.n_iter)
        self.stationarity_ = float(res.stationarity[-1])
        self.converged_ = bool(res.converged)

    def _linear(self, X: Any) -> np.ndarray:
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, accept_sparse=SPARSE)
        return X @ self.coef_ + self.intercept_


class IRLSRegressor(RegressorMixin, _IRLSBase):
    """Penalised least squares, :math:`\\tfrac1{2n}\\|y - Xw - b\\|^2 + \\alpha\\Omega(w)`,
    by the η-trick IRLS.

    Parameters
    ----------
    penalty : Penalty or str, default "l1"
        A penalty declaring ``follows_lam`` (``TextbookMCP(gamma)``, ``TextbookSCAD(gamma)``)
        is solved as ``penalty.at_lam(alpha)``: the literature's MCP/SCAD at λ = alpha.
    alpha : float, default 1.0
        λ (mean-loss scaling: ``Lasso(alpha)`` is ``IRLSRegressor("l1", alpha)``).
    penalty_params : dict, optional
        Parameters of a penalty given by name.
    fit_intercept : bool, default True
    max_iter, tol, eps_schedule, init, linear_solver
        Passed to :func:`dualreg.solvers.irls` (tol: stationarity, gradient units;
        linear_solver: "auto", "cholesky", "woodbury" or a LinearSolver).

    Attributes
    ----------
    coef_, intercept_, n_iter_, penalty_, stationarity_, converged_, n_features_in_
    """

    _family = "gaussian"

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> IRLSRegressor:
        """Fit on ``X`` (n, d) and real ``y`` (n,); returns self."""
        self._fit_irls(*self._prepare(X, y), sample_weight=sample_weight)
        return self

    def _prepare(self, X: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
        """Validated X and the y the solver fits."""
        return validate_data(self, X, y, y_numeric=True, dtype=np.float64,
                             accept_sparse=SPARSE)

    def predict(self, X: Any) -> np.ndarray:
        """:math:`Xw + b`."""
        return self._linear(X)


class IRLSPoissonRegressor(RegressorMixin, _IRLSBase):
    """Penalised Poisson regression (log link),
    :math:`\\tfrac1n\\sum_i (e^{\\theta_i} - y_i\\theta_i) + \\alpha\\Omega(w)`.

    ``IRLSPoissonRegressor("ridge", alpha)`` is scikit-learn's ``PoissonRegressor(alpha)``.
    ``score`` is the D² (fraction of Poisson deviance explained), as in scikit-learn.
    Parameters and attributes as :class:`IRLSRegressor`; y must be nonnegative counts.
    """

    _family = "poisson"

    def __init__(
        self,
        penalty: Any = "ridge",
        alpha: float = 1.0,
        *,
        penalty_params: dict[str, Any] | None = None,
        fit_intercept: bool = True,
        max_iter: int = 1000,
        tol: float = 1e-8,
        eps_schedule: Any = "auto",
        init: Any = "auto",
        linear_solver: Any = "auto",
    ):
        super().__init__(
            penalty, alpha, penalty_params=penalty_params, fit_intercept=fit_intercept,
            max_iter=max_iter, tol=tol, eps_schedule=eps_schedule, init=init,
            linear_solver=linear_solver,
        )

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> IRLSPoissonRegressor:
        """Fit on ``X`` (n, d) and counts ``y >= 0``; returns self."""
        self._fit_irls(*self._prepare(X, y), sample_weight=sample_weight)
        return self

    def _prepare(self, X: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
        """Validated X and counts y."""
        X, y = validate_data(self, X, y, y_numeric=True, dtype=np.float64,
                             accept_sparse=SPARSE)
        if np.any(y < 0):
            raise ValueError(f"y must be nonnegative counts for {type(self).__name__}")
        if np.all(y == 0) and self.fit_intercept:
            raise ValueError("y is all zero: the Poisson intercept would be -inf")
        return X, y

    def predict(self, X: Any) -> np.ndarray:
        """Expected counts :math:`e^{Xw + b}`."""
        with np.errstate(over="ignore"):
            return np.exp(self._linear(X))

    def score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        """D² = 1 − deviance(model) / deviance(mean model)."""
        from sklearn.metrics import d2_tweedie_score

        return float(d2_tweedie_score(y, self.predict(X), sample_weight=sample_weight, power=1))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.positive_only = True
        return tags


class IRLSClassifier(ClassifierMixin, _IRLSBase):
    """Penalised logistic regression (binary),
    :math:`\\tfrac1n\\sum_i [\\log(1+e^{\\theta_i}) - y_i\\theta_i] + \\alpha\\Omega(w)`.

    The two classes are mapped to 0 (``classes_[0]``) and 1 (``classes_[1]``).
    ``IRLSClassifier("l1", alpha)`` is ``LogisticRegression(l1_ratio=1, C=1/(n·alpha))`` with
    an unpenalised intercept (solver "saga"; liblinear penalises the intercept). Perfectly
    separable data with a penalty bounded far out (or alpha = 0) has no finite solution: the fit
    stops and warns (:class:`dualreg.solvers.SeparationWarning`).
    Parameters and attributes as :class:`IRLSRegressor`, plus ``classes_``.
    """

    _family = "binomial"

    def __init__(
        self,
        penalty: Any = "l1",
        alpha: float = 0.01,
        *,
        penalty_params: dict[str, Any] | None = None,
        fit_intercept: bool = True,
        max_iter: int = 1000,
        tol: float = 1e-8,
        eps_schedule: Any = "auto",
        init: Any = "auto",
        linear_solver: Any = "auto",
    ):
        super().__init__(
            penalty, alpha, penalty_params=penalty_params, fit_intercept=fit_intercept,
            max_iter=max_iter, tol=tol, eps_schedule=eps_schedule, init=init,
            linear_solver=linear_solver,
        )

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> IRLSClassifier:
        """Fit on ``X`` (n, d) and binary labels ``y``; returns self."""
        self._fit_irls(*self._prepare(X, y), sample_weight=sample_weight)
        return self

    def _prepare(self, X: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
        """Validated X and y as 0 (``classes_[0]``) / 1 (``classes_[1]``); sets ``classes_``."""
        X, y = validate_data(self, X, y, dtype=np.float64, accept_sparse=SPARSE)
        check_classification_targets(y)
        self.classes_ = np.unique(y)
        if self.classes_.size > 2:
            raise ValueError(
                f"Only binary classification is supported by {type(self).__name__}: y has "
                f"{self.classes_.size} classes"
            )
        if self.classes_.size < 2:
            raise ValueError(f"{type(self).__name__} needs 2 classes in y, got 1 class")
        return X, (y == self.classes_[1]).astype(np.float64)

    def decision_function(self, X: Any) -> np.ndarray:
        """Log-odds of ``classes_[1]``: :math:`Xw + b`."""
        return self._linear(X)

    def predict_proba(self, X: Any) -> np.ndarray:
        """Columns: P(classes_[0]), P(classes_[1]) = σ(Xw + b)."""
        from scipy.special import expit

        t = self.decision_function(X)
        return np.column_stack([expit(-t), expit(t)])  # no 1 − p cancellation

    def predict_log_proba(self, X: Any) -> np.ndarray:
        """log of :meth:`predict_proba`, computed stably (−log(1 + e^{∓θ}))."""
        t = self.decision_function(X)
        return np.column_stack([-np.logaddexp(0.0, t), -np.logaddexp(0.0, -t)])

    def predict(self, X: Any) -> np.ndarray:
        """``classes_[1]`` where the log-odds are > 0, else ``classes_[0]``."""
        positive = self.decision_function(X) > 0
        return self.classes_[positive.astype(int)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        return tags
