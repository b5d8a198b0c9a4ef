r"""What one sweep cell computes: an η-trick IRLS fit (:func:`dualreg.solvers.irls`) of

.. math::

    \min_{w,b}\ \frac1n\sum_i \ell(y_i, x_i^\top w + b) + \lambda\sum_j \Omega(w_j)

(mean-loss scaling, docs/conventions.md §1) on the training part of a :class:`Design`, and the
numbers a user compares across penalties, λ and seeds:

``support``
    :math:`\#\{j: w_j \ne 0\}` (exact zeros of the solver).
``objective``
    :math:`F(w, b)` above at the solution, on the training data.
``train_loss``, ``test_loss``
    mean :math:`\ell` (the family's negative log-likelihood, up to terms free of θ) on the
    training and held-out rows.
``test_error``
    held-out mean squared error :math:`\frac1m\sum_i(y_i - \mu_i)^2` of the fitted mean
    :math:`\mu = A'(\theta)` (for binomial data, the Brier score).
``keep_prob``
    mean over the support of the adaptive-dropout keep probability
    :math:`\alpha_j = c_j\hat\eta_j/(c_j\hat\eta_j + \lambda)`, :math:`c_j = \|X_{:,j}\|^2/n`
    (docs/conventions.md §4): the dropout rate the same fit implies; NaN on an empty support.
``coef_error``, ``support_f1``
    synthetic designs only: :math:`\|w - w^\star\|_2` and the F1 score of the recovered
    support against the true one (NaN for user data).
``converged``, ``n_iter``, ``seconds``
    the solver's flag, its iteration count, and the fit's wall time (the only column that
    differs between two runs of the same cell).

Everything random derives from the cell's seed, so a cell gives the same numbers wherever it
runs.
"""

from __future__ import annotations

import hashlib
import math
import re
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from dualreg.sweeps.grid import Cell

__all__ = ["METRICS", "Design", "fit_cell", "load_data"]

METRICS = ("support", "objective", "train_loss", "test_loss", "test_error", "keep_prob",
           "coef_error", "support_f1", "converged", "n_iter", "seconds")


def load_data(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """X and y from ``.npz`` (arrays ``X`` and ``y``) or ``.csv`` (numbers, comma-separated,
    the last column is y, an optional header line); ``ValueError`` names ``--data``."""
    path = Path(path)
    try:
        if path.suffix == ".npz":
            with np.load(path) as f:
                X, y = np.asarray(f["X"], float), np.asarray(f["y"], float)
        else:
            try:
                table = np.loadtxt(path, delimiter=",", ndmin=2)
            except ValueError:
                table = np.loadtxt(path, delimiter=",", ndmin=2, skiprows=1)
            X, y = table[:, :-1], table[:, -1]
    except (OSError, KeyError, ValueError) as err:
        raise ValueError(f"--data {str(path)!r}: cannot read X and y ({err})") from None
    if X.ndim != 2 or len(X) != len(y) or len(y) < 8 or X.shape[1] < 1:
        raise ValueError(f"--data {str(path)!r}: need X of shape (n, d) and y of length n "
                         f"with n >= 8, got X {X.shape} and y {y.shape}")
    return X, y


@dataclass(frozen=True)
class Design:
    """The data each cell is fitted on.

    Synthetic (default): ``n + n_test`` rows of a gaussian design with equicorrelation
    ``corr`` (:func:`dualreg.datasets.gaussian_design`), a true :math:`w^\\star` with ``k``
    nonzeros of random sign and magnitude in [0.5, 2] at random places, and a response of
    ``family`` at θ = Xw* (gaussian noise s.d. ``noise``); the first ``n`` rows train.
    With ``X`` and ``y`` given (a user's data), the seed draws which 25 % of the rows are
    held out.
    """

    n: int = 200
    d: int = 50
    k: int = 5
    noise: float = 1.0
    corr: float = 0.0
    n_test: int = 1000
    family: str = "gaussian"
    X: np.ndarray | None = field(default=None, repr=False, compare=False)
    y: np.ndarray | None = field(default=None, repr=False, compare=False)
    name: str = "synthetic"

    def __post_init__(self) -> None:
        from dualreg.families import get_family

        for arg in ("n", "d", "n_test"):
            if int(getattr(self, arg)) != getattr(self, arg) or getattr(self, arg) < 1:
                raise ValueError(f"--{arg.replace('_', '-')} must be an integer >= 1, "
                                 f"got {getattr(self, arg)!r}")
        if not 0 <= self.k <= self.d or int(self.k) != self.k:
            raise ValueError(f"--k must be an integer in [0, d={self.d}], got {self.k!r}")
        if not (self.noise >= 0 and 0 <= self.corr < 1):
            raise ValueError("--noise must be >= 0 and --corr in [0, 1)")
        try:
            get_family(self.family)
        except ValueError as err:
            raise ValueError(f"--family: {err}") from None
        if (self.X is None) != (self.y is None):
            raise ValueError("give both X and y, or neither")

    def record(self) -> dict[str, Any]:
        """JSON-able description (user data by a digest of its bytes): part of each cell's
        key, so a resumed sweep never mixes two designs."""
        if self.X is None:
            return {"kind": "synthetic", "n": self.n, "d": self.d, "k": self.k,
                    "noise": self.noise, "corr": self.corr, "n_test": self.n_test,
                    "family": self.family}
        digest = hashlib.sha1(np.ascontiguousarray(self.X).tobytes()
                              + np.ascontiguousarray(self.y).tobytes()).hexdigest()[:16]
        return {"kind": "data", "name": self.name, "shape": list(self.X.shape),
                "sha1": digest, "family": self.family}

    def split(self, seed: int) -> tuple[np.ndarray, ...]:
        """(X_train, y_train, X_test, y_test, w_true or None) for ``seed``."""
        from dualreg.datasets import gaussian_design, response, signed_magnitudes

        rng = np.random.default_rng([seed, 2026])
        if self.X is not None:
            order = rng.permutation(len(self.y))
            cut = len(order) - max(1, len(order) // 4)
            tr, te = order[:cut], order[cut:]
            return self.X[tr], self.y[tr], self.X[te], self.y[te], None
        X = gaussian_design(rng, self.n + self.n_test, self.d, corr=self.corr)
        w = np.zeros(self.d)
        w[rng.choice(self.d, self.k, replace=False)] = signed_magnitudes(rng, self.k, 0.5, 2.0)
        y = response(rng, X @ w, self.family, self.noise)
        return X[:self.n], y[:self.n], X[self.n:], y[self.n:], w


def _f1(found: np.ndarray, true: np.ndarray) -> float:
    hits = np.sum(found & true)
    total = found.sum() + true.sum()
    return 1.0 if total == 0 else float(2 * hits / total)


def fit_cell(cell: Cell, design: Design) -> dict[str, Any]:
    """Fit ``cell`` on ``design`` and return its row: the cell's fields, one column per
    hyperparameter, then :data:`METRICS` (module docstring)."""
    from dualreg.estimators import resolve_penalty
    from dualreg.families import get_family
    from dualreg.solvers import irls

    fam = get_family(design.family)
    X, y, Xt, yt, w_true = design.split(cell.seed)
    name = cell.penalty
    lp = re.fullmatch(r"l(\d+(?:\.\d*)?)", name.strip().lower())
    penalty = resolve_penalty(name, None if lp else dict(cell.params))
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # non-convergence is a column, not a warning
        res = irls(X, y, penalty, cell.lam, family=fam, warn=False)
    seconds = time.perf_counter() - start
    w, b = np.asarray(res.coef, float), float(res.intercept)
    theta_t = Xt @ w + b
    test_error = float(np.mean((yt - fam.mean(theta_t)) ** 2))
    on = w != 0
    with np.errstate(all="ignore"):
        keep = penalty.keep_prob(w[on], cell.lam, (X[:, on] ** 2).mean(0)) if on.any() else []
    row = {**cell.record(), **dict(cell.params)}
    del row["params"]
    row.update(
        support=int(on.sum()),
        objective=float(res.objective[-1]),
        train_loss=float(np.mean(fam.pointwise_loss(X @ w + b, y))),
        test_loss=float(np.mean(fam.pointwise_loss(theta_t, yt))),
        test_error=test_error,
        keep_prob=float(np.mean(keep)) if len(keep) else math.nan,
        coef_error=math.nan if w_true is None else float(np.linalg.norm(w - w_true)),
        support_f1=math.nan if w_true is None else _f1(on, w_true != 0),
        converged=bool(res.converged), n_iter=int(res.n_iter), seconds=seconds)
    return row
