r"""Linear solvers for the weighted ridge of every IRLS step,
:math:`(\tfrac1n \tilde X^\top\tilde X + \mathrm{diag}(\delta))\,v = r` with :math:`\delta \ge 0`
(:math:`\tilde X` the, possibly curvature-weighted, design of the active coordinates).

A solver is any object with ``solve(design, delta, rhs, gram=None)`` (:class:`LinearSolver`);
``irls(..., linear_solver=...)`` takes one or a name:

* ``"cholesky"`` (:class:`GramCholesky`) — the k × k form: :math:`G + \mathrm{diag}(\delta)`,
  G = X̃ᵀX̃/n (or the ``gram`` handed in), Jacobi-scaled (a huge :math:`\delta_j = \lambda/\eta_j`
  next to O(1) entries costs no accuracy) and Cholesky-factored.
* ``"woodbury"`` (:class:`Woodbury`) — the n × n form, which never builds a k × k matrix. With
  P = {δ_j > 0}, U = {δ_j = 0} (unpenalised coordinates, e.g. the intercept or η̂ = ∞),
  :math:`E = \mathrm{diag}(1/(n\delta_P))` and :math:`K = I + \tilde X_P E \tilde X_P^\top`:

  .. math::

      \tfrac1n \tilde X_U^\top K^{-1}\tilde X_U\, v_U
      = r_U - \tilde X_U^\top K^{-1}\tilde X_P E r_P,
      \qquad
      v_P = n\big[E q - E\tilde X_P^\top K^{-1}\tilde X_P E q\big],\;
      q = r_P - \tfrac1n\tilde X_P^\top\tilde X_U v_U ,

  from :math:`(\tfrac1n(E^{-1} + \tilde X_P^\top \tilde X_P))^{-1} = n[E - E\tilde X_P^\top K^{-1}
  \tilde X_P E]` and :math:`\tilde X_P M_{PP}^{-1}\tilde X_P^\top = n(I - K^{-1})`.
* ``"auto"`` (:class:`AutoLinearSolver`, the default) — Cholesky when k ≤ n, Woodbury when
  k > n: the smaller of the two systems.

:func:`try_cholesky` is the separate, jitter-free solve of a Newton system that may be
indefinite (nonconvex penalties), used by the polish.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import numpy as np
from scipy import linalg
from scipy.linalg.blas import dsyrk

Array = np.ndarray

__all__ = [
    "LINEAR_SOLVERS",
    "AutoLinearSolver",
    "GramCholesky",
    "LinearSolver",
    "Woodbury",
    "get_linear_solver",
    "gram_matrix",
    "solve_weighted_ridge",
    "try_cholesky",
]


@runtime_checkable
class LinearSolver(Protocol):
    """Solves :math:`(\\tfrac1n X^\\top X + \\mathrm{diag}(\\delta))v = r` for δ ≥ 0.

    ``design`` is the n × k matrix X; ``gram``, when given, is X^T X / n already formed (a
    solver may use it or ignore it).
    """

    def solve(self, design: Array, delta: Array, rhs: Array,
              gram: Array | None = None) -> Array: ...


def gram_matrix(A: Array, trans: bool = True) -> Array:
    """AᵀA (``trans``) or AAᵀ by the symmetric rank-k update (half the flops of a product),
    returned as a full symmetric matrix."""
    A = np.asarray(A, dtype=np.float64)
    if min(A.shape) < 128:  # small: the plain product beats syrk + symmetrisation
        return A.T @ A if trans else A @ A.T
    C = dsyrk(1.0, A, trans=1 if trans else 0, lower=0)
    iu = np.triu_indices_from(C, 1)
    C.T[iu] = C[iu]
    return C


def _cho_solve_psd(M: Array, rhs: Array) -> Array:
    """Solve M v = rhs for a symmetric positive (semi)definite M by Jacobi-scaled Cholesky.

    A singular M (a zero, unpenalised column) gets a jitter of 1e-12 × its mean scaled diagonal;
    that failing too, the least-squares solution.
    """
    d = np.diag(M).copy()
    s = np.where(d > 0, 1.0 / np.sqrt(np.where(d > 0, d, 1.0)), 1.0)
    Ms = M * s[:, None] * s[None, :]
    rs = rhs * s
    for jitter in (0.0, 1e-12, 1e-9):
        try:
            A = Ms if jitter == 0.0 else Ms + jitter * np.eye(Ms.shape[0])
            c = linalg.cho_factor(A, lower=False, check_finite=False)
            v = linalg.cho_solve(c, rs, check_finite=False)
            if np.all(np.isfinite(v)):
                return v * s
        except linalg.LinAlgError:
            continue
    v = linalg.lstsq(Ms, rs, check_finite=False)[0]
    return v * s


def try_cholesky(M: Array, rhs: Array) -> Array | None:
    """Solve M v = rhs if M is (numerically) positive definite, else return None.

    Used for Newton steps whose Hessian may be indefinite (nonconvex penalties): no jitter.
    """
    d = np.diag(M)
    if np.any(d <= 0) or not np.all(np.isfinite(M)):
        return None
    s = 1.0 / np.sqrt(d)
    try:
        c = linalg.cho_factor(M * s[:, None] * s[None, :], lower=False, check_finite=False)
    except linalg.LinAlgError:
        return None
    v = linalg.cho_solve(c, rhs * s, check_finite=False) * s
    return v if np.all(np.isfinite(v)) else None


class GramCholesky:
    r"""The k × k form: Jacobi-scaled Cholesky of :math:`G + \mathrm{diag}(\delta)`."""

    name = "cholesky"

    def solve(self, design: Array, delta: Array, rhs: Array,
              gram: Array | None = None) -> Array:
        G = _gram_of(design) if gram is None else gram
        return _cho_solve_psd(G + np.diag(delta), rhs)

    def __repr__(self) -> str:
        return "GramCholesky()"


def _gram_of(design: Array) -> Array:
    return gram_matrix(design) / design.shape[0]


class Woodbury:
    r"""The n × n form (module docstring); ``gram`` is not used."""

    name = "woodbury"

    def solve(self, design: Array, delta: Array, rhs: Array,
              gram: Array | None = None) -> Array:
        Xt = design
        n, k = Xt.shape
        # A weight negligible next to its own Gram diagonal (δ_j ≤ 1e-13 G_jj: η̂ → ∞ near the
        # flat part of MCP/SCAD) is treated as unpenalised: a relative perturbation of 1e-13 of
        # M that keeps K = I + X̃_P E X̃_Pᵀ well conditioned.
        gdiag = np.einsum("ij,ij->j", Xt, Xt) / n
        pen = delta > 1e-13 * gdiag
        P = np.flatnonzero(pen)
        U = np.flatnonzero(~pen)
        XP = Xt[:, P]
        e = 1.0 / (n * delta[P])
        K = gram_matrix(XP * np.sqrt(e), trans=False)
        K[np.diag_indices_from(K)] += 1.0
        cK = linalg.cho_factor(K, lower=False, check_finite=False)
        v = np.empty(k)
        rP = rhs[P]
        if U.size:
            XU = Xt[:, U]
            KiXU = linalg.cho_solve(cK, XU, check_finite=False)
            S = XU.T @ KiXU / n
            t = linalg.cho_solve(cK, XP @ (e * rP), check_finite=False)
            vU = _cho_solve_psd(S, rhs[U] - XU.T @ t)
            v[U] = vU
            q = rP - XP.T @ (XU @ vU) / n
        else:
            q = rP
        eq = e * q
        v[P] = n * (eq - e * (XP.T @ linalg.cho_solve(cK, XP @ eq, check_finite=False)))
        return v

    def __repr__(self) -> str:
        return "Woodbury()"


class AutoLinearSolver:
    """Cholesky on the Gram when k ≤ n (the ``gram`` handed in, if any), Woodbury when k > n."""

    name = "auto"

    def __init__(self) -> None:
        self._small, self._wide = GramCholesky(), Woodbury()

    def solve(self, design: Array, delta: Array, rhs: Array,
              gram: Array | None = None) -> Array:
        n, k = design.shape
        if gram is not None or k <= n:
            return self._small.solve(design, delta, rhs, gram)
        return self._wide.solve(design, delta, rhs)

    def __repr__(self) -> str:
        return "AutoLinearSolver()"


LINEAR_SOLVERS: dict[str, type] = {
    "auto": AutoLinearSolver,
    "cholesky": GramCholesky,
    "woodbury": Woodbury,
}
"""The linear solvers selectable by name."""


def get_linear_solver(linear_solver: Any = "auto") -> LinearSolver:
    """The solver named ``linear_solver`` (a :class:`LinearSolver` object passes through); the
    error names the argument and lists the choices."""
    if isinstance(linear_solver, str):
        cls = LINEAR_SOLVERS.get(linear_solver)
        if cls is not None:
            return cls()
    elif callable(getattr(linear_solver, "solve", None)):
        return linear_solver
    raise ValueError(
        f"linear_solver must be one of {tuple(LINEAR_SOLVERS)} or an object with a "
        f"solve(design, delta, rhs, gram=None) method, got {linear_solver!r}"
    )


def solve_weighted_ridge(Xt: Array, delta: Array, rhs: Array) -> Array:
    r"""Solve :math:`(\tfrac1n \tilde X^\top\tilde X + \mathrm{diag}(\delta))v = r`, δ ≥ 0, by the
    default (``"auto"``) solver."""
    return AutoLinearSolver().solve(Xt, delta, rhs)
