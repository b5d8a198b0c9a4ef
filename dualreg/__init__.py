"""dualreg: adaptive dropout and regularization as two faces of one reweighted coin."""

import sys as _sys

try:
    from importlib.metadata import PackageNotFoundError, version

    try:
        __version__ = version("dualreg")
    except PackageNotFoundError:  # a source tree that is not installed
        __version__ = "0+unknown"
except KeyboardInterrupt:
    # ``python -m dualreg`` imports this package before its __main__: a Ctrl-C this early
    # still gets the command's one line and status 130 (sys.argv[0] is "-m" only then).
    if _sys.argv[:1] == ["-m"]:
        import os as _os

        print("dualreg: interrupted", file=_sys.stderr, flush=True)
        _os._exit(130)
    raise

__all__ = ["__version__"]
