"""dualreg: adaptive dropout and regularization as two faces of one reweighted coin."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("dualreg")
except PackageNotFoundError:  # a source tree that is not installed
    __version__ = "0+unknown"

__all__ = ["__version__"]
