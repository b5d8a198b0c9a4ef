"""Solvers for :math:`\\min L(w, b) + \\sum_j \\lambda_j\\Omega(w_j)`.

========================  ==========================================================
:mod:`.irls`              the η-trick IRLS driver: :func:`irls`
:mod:`.problem`           the problem object (data, centring, caches, F, ∇L, stationarity)
:mod:`.contract`          the penalty and family methods the solvers call, checked up front
:mod:`.linear`            injectable weighted-ridge solvers (Cholesky on the Gram, Woodbury)
:mod:`.line_search`       the one Armijo backtracking search
:mod:`.mm`                the MM (η-trick) step: :func:`eta_trick_update`
:mod:`.support`           the support rule (exact zeros)
:mod:`.polish`            active-set Newton / Levenberg–Marquardt polish
:mod:`.working_set`       working sets for penalties with a finite kink at 0
:mod:`.prox_sweep`        proximal coordinate sweep (nonconvex penalties)
:mod:`.prox_gradient`     plain / accelerated proximal gradient
:mod:`.path`              :func:`irls_path`, :func:`lam_grid`, :func:`lam_max`
:mod:`.history`           the iteration history; :mod:`.result` results and warnings
:mod:`.trace`             where a run records its iterates and calls the user's callback
:mod:`.schedules`         ε-schedules; :mod:`.reference` cvxpy references (lazy: cvxpy)
:mod:`.rate`              the MM map's derivative and local rate; measured rates
:mod:`.frozen_scales`     frozen column scales vs the Fisher ridge on a GLM (proofs/T14)
========================  ==========================================================

Never imports torch (nor cvxpy, until a reference is asked for).
"""

from dualreg.solvers import rate, schedules
from dualreg.solvers.contract import FAMILY_METHODS, PENALTY_METHODS, check_penalty
from dualreg.solvers.history import History, IterationRecord
from dualreg.solvers.irls import irls
from dualreg.solvers.line_search import armijo
from dualreg.solvers.linear import (
    LINEAR_SOLVERS,
    AutoLinearSolver,
    GramCholesky,
    LinearSolver,
    Woodbury,
    get_linear_solver,
)
from dualreg.solvers.mm import eta_trick_update
from dualreg.solvers.path import irls_path, lam_grid, lam_max
from dualreg.solvers.prox_gradient import (
    GLMLoss,
    ProxGradientResult,
    QuadraticLoss,
    prox_gradient,
)
from dualreg.solvers.result import (
    ConvergenceWarning,
    IRLSResult,
    PathResult,
    SeparationWarning,
    UninformativeColumnWarning,
)

__all__ = [
    "FAMILY_METHODS",
    "LINEAR_SOLVERS",
    "PENALTY_METHODS",
    "AutoLinearSolver",
    "ConvergenceWarning",
    "GLMLoss",
    "GramCholesky",
    "History",
    "IRLSResult",
    "IterationRecord",
    "LinearSolver",
    "PathResult",
    "ProxGradientResult",
    "QuadraticLoss",
    "SeparationWarning",
    "UninformativeColumnWarning",
    "Woodbury",
    "armijo",
    "check_penalty",
    "eta_trick_update",
    "get_linear_solver",
    "irls",
    "irls_path",
    "lam_grid",
    "lam_max",
    "prox_gradient",
    "rate",
    "schedules",
]
