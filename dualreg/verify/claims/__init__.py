"""Importing this package registers every claim."""

from dualreg.verify.claims import eta_trick  # noqa: F401
