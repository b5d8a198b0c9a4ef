"""What the solvers return and warn: :class:`IRLSResult`, :class:`PathResult` and the three
warnings (non-convergence, uninformative columns, logistic separation)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from sklearn.exceptions import ConvergenceWarning as _SkConvergenceWarning

from dualreg.solvers.history import History

Array = np.ndarray

__all__ = [
    "ConvergenceWarning",
    "IRLSResult",
    "PathResult",
    "SeparationWarning",
    "UninformativeColumnWarning",
]


class ConvergenceWarning(_SkConvergenceWarning):
    """The solver stopped before reaching ``tol``. Subclass of scikit-learn's
    ``ConvergenceWarning`` (so existing filters apply); carries the diagnostics."""

    def __init__(self, message: str, stationarity: float = np.nan, eps: float = np.nan,
                 n_iter: int = 0):
        super().__init__(message)
        self.stationarity = stationarity
        self.eps = eps
        self.n_iter = n_iter


class UninformativeColumnWarning(UserWarning):
    """Some columns of X are constant (with an intercept) or zero: their coefficient is 0."""


class SeparationWarning(UserWarning):
    """Binomial data perfectly separated with a penalty that does not grow without bound."""


@dataclass
class IRLSResult:
    r"""Output of :func:`dualreg.solvers.irls`.

    Attributes
    ----------
    coef, intercept
        The solution (exact zeros off the support).
    history : History
        One :class:`~dualreg.solvers.history.IterationRecord` per iterate (entry 0 is the
        initial point); its columns are the five lists below.
    objective : list of float
        F(w_t) = L + Σ λ_j Ω(w_j) for the *target* penalty, one entry per iterate.
    surrogate : list of float
        :math:`F_{\varepsilon_t}(w_t)` (= F in the polish phase): the majorised quantity,
        nonincreasing by construction.
    stationarity : list of float
        max_j dist(−∇_j L, λ_j ∂Ω(w_j)) (and |∂_b L|) per iterate.
    eps : list of float
        Smoothing used for each iterate (0 in the polish phase).
    phase : list of str
        ``"init"``, ``"eta"`` (smoothed MM), ``"support"``, ``"newton"`` (polish) or
        ``"prox"`` (coordinate sweep) per iterate.
    n_iter : int
        Number of iterations (len(objective) − 1).
    converged : bool
        Final stationarity ≤ tol.
    """

    coef: Array
    intercept: float
    history: History = field(default_factory=History)
    n_iter: int = 0
    converged: bool = False

    @property
    def objective(self) -> list[float]:
        return self.history.column("objective")

    @property
    def surrogate(self) -> list[float]:
        return self.history.column("surrogate")

    @property
    def stationarity(self) -> list[float]:
        return self.history.column("stationarity")

    @property
    def eps(self) -> list[float]:
        return self.history.column("eps")

    @property
    def phase(self) -> list[str]:
        return self.history.column("phase")

    @property
    def support(self) -> Array:
        """Boolean mask of the nonzero coefficients."""
        return self.coef != 0

    def __repr__(self) -> str:
        """One line: convergence, iterations, final F, support size and the coefficients
        (4 significant digits, the middle elided past 8)."""
        coef = np.asarray(self.coef)
        text = np.array2string(coef, precision=4, separator=", ", threshold=8, edgeitems=3,
                               max_line_width=10**6, suppress_small=False)
        objective = self.objective
        final = f", objective={objective[-1]:.6g}" if len(objective) else ""
        return (f"IRLSResult(converged={self.converged}, n_iter={self.n_iter}{final}, "
                f"nonzero={int(np.count_nonzero(coef))}/{coef.size}, coef={text}, "
                f"intercept={self.intercept:.4g})")


@dataclass
class PathResult:
    """Output of :func:`dualreg.solvers.irls_path`: ``lams`` in decreasing order, one row of
    ``coefs`` each."""

    lams: Array
    coefs: Array
    intercepts: Array
    results: list[IRLSResult]

    @property
    def n_iter(self) -> Array:
        """Iterations of each solve, in the order of ``lams``."""
        return np.array([r.n_iter for r in self.results], dtype=int)
