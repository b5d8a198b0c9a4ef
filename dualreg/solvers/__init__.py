"""Solvers: the η-trick IRLS (:mod:`.irls`), its ε-schedules (:mod:`.schedules`) and the
cvxpy references (:mod:`.reference`, imported lazily: cvxpy is loaded only when used).

Never imports torch.
"""

from dualreg.solvers import schedules
from dualreg.solvers.irls import (
    ConvergenceWarning,
    IRLSResult,
    PathResult,
    SeparationWarning,
    UninformativeColumnWarning,
    check_penalty,
    eta_trick_update,
    irls,
    irls_path,
    lam_max,
)

__all__ = [
    "ConvergenceWarning",
    "IRLSResult",
    "PathResult",
    "SeparationWarning",
    "UninformativeColumnWarning",
    "check_penalty",
    "eta_trick_update",
    "irls",
    "irls_path",
    "lam_max",
    "schedules",
]
