"""The verification suite: claims from ``proofs/`` checked numerically (``dualreg verify``)."""

from dualreg.verify.registry import CLAIMS, Claim, Context, Measurement, claim
from dualreg.verify.runner import Row, run, select

__all__ = ["CLAIMS", "Claim", "Context", "Measurement", "Row", "claim", "run", "select"]
