"""The dual-pair penalty library (numpy + scipy only)."""

from dualreg.penalties.base import NoEtaFormError, Penalty
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
