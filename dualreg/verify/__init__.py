"""The verification suite: claims from ``proofs/`` checked numerically (``dualreg verify``).

Needs the ``verify`` extra (PyTorch, cvxpy + Clarabel, SymPy, matplotlib, tqdm); without it,
importing this package raises one line naming the extra.
"""
# ruff: noqa: E402  (the imports follow the check that names the extra)

from dualreg._extras import require

require("dualreg.verify", "verify", "torch", "cvxpy", "clarabel", "sympy", "matplotlib", "tqdm")

from dualreg.verify.registry import CLAIMS, Claim, Context, Measurement, claim
from dualreg.verify.runner import Row, run, select

__all__ = ["CLAIMS", "Claim", "Context", "Measurement", "Row", "claim", "run", "select"]
