"""The dual-pair penalty library: every penalty with its faces Ω, Ω', η̂, f, α and prox.

numpy and scipy only: importing this package never imports torch, cvxpy or matplotlib.
"""

from dualreg.penalties.base import (
    CURVATURE_CLASSES,
    INDEFINITE,
    QUADRATIC,
    SUBQUADRATIC,
    SUPERQUADRATIC,
    NoEtaFormError,
    Penalty,
)
from dualreg.penalties.catalogue import CATALOGUE
from dualreg.penalties.classical import (
    L1,
    MCP,
    SCAD,
    CappedL2,
    Log2Sum,
    LogSum,
    Lp,
    Power,
    Ridge,
    TwoLevelQuadratic,
)
from dualreg.penalties.combinators import Floored, Rescaled, Smoothed
from dualreg.penalties.hard_concrete import HardConcrete
from dualreg.penalties.nonseparable import ARD, HardThreshold
from dualreg.penalties.ranked import OrderedRidge, TopHalfRidge, TrimmedRidge
from dualreg.penalties.rules import RulePenalty, from_eta_hat, from_keep_prob
from dualreg.penalties.sparseout import Sparseout
from dualreg.penalties.standout import Standout
from dualreg.penalties.targeted import TargetedDropout
from dualreg.penalties.textbook import TextbookMCP, TextbookSCAD
from dualreg.penalties.variational import VarDrop, VarDropApprox, dawson_integral
from dualreg.penalties.ydrop import YDrop

__all__ = [
    "ARD",
    "CATALOGUE",
    "CURVATURE_CLASSES",
    "INDEFINITE",
    "L1",
    "MCP",
    "QUADRATIC",
    "SCAD",
    "SUBQUADRATIC",
    "SUPERQUADRATIC",
    "CappedL2",
    "Floored",
    "HardConcrete",
    "HardThreshold",
    "Log2Sum",
    "LogSum",
    "Lp",
    "NoEtaFormError",
    "OrderedRidge",
    "Penalty",
    "Power",
    "Rescaled",
    "Ridge",
    "RulePenalty",
    "Smoothed",
    "Sparseout",
    "Standout",
    "TargetedDropout",
    "TextbookMCP",
    "TextbookSCAD",
    "TopHalfRidge",
    "TrimmedRidge",
    "TwoLevelQuadratic",
    "VarDrop",
    "VarDropApprox",
    "YDrop",
    "dawson_integral",
    "from_eta_hat",
    "from_keep_prob",
]
