"""Optional dependencies: one line naming the extra to install when a part needs one.

The core install (``pip install dualreg``) has numpy, scipy and scikit-learn only; the parts
that need more declare it here, and importing such a part without its extra raises
:class:`MissingExtra` (an ``ImportError``) with one line such as
``dualreg.torch needs PyTorch: pip install 'dualreg[torch]'``. The command line turns it into
``dualreg: error: ...`` and exit status 2.

The check uses :func:`importlib.util.find_spec`, which locates a module without importing it,
so a part can check all its dependencies before paying for any of them.
"""

from __future__ import annotations

import importlib.util
import sys

#: import name -> the name a user knows it by (used in the message)
_LABELS = {"torch": "PyTorch", "cvxpy": "cvxpy", "clarabel": "Clarabel",
           "matplotlib": "matplotlib", "sympy": "SymPy", "tqdm": "tqdm", "mlxtend": "mlxtend"}


class MissingExtra(ImportError):
    """A part of dualreg was used without the optional dependencies of its extra."""


def _absent(module: str) -> bool:
    if module in sys.modules:
        return sys.modules[module] is None  # ``None`` is how Python blocks an import
    try:
        return importlib.util.find_spec(module) is None
    except (ImportError, ValueError):
        return True


def missing(*modules: str) -> list[str]:
    """The import names among ``modules`` that cannot be imported here."""
    return [m for m in modules if _absent(m)]


def require(part: str, extra: str, *modules: str) -> None:
    """Raise :class:`MissingExtra` unless every module of ``modules`` can be imported.

    Parameters
    ----------
    part : str
        What the user asked for, e.g. ``"dualreg.torch"`` or ``"dualreg verify"``.
    extra : str
        The extra of ``pyproject.toml`` that installs the modules, e.g. ``"torch"``.
    *modules : str
        Top-level import names, e.g. ``"torch"``.

    Raises
    ------
    MissingExtra
        ``"<part> needs <labels>: pip install 'dualreg[<extra>]'"`` (one line).
    """
    absent = missing(*modules)
    if absent:
        labels = ", ".join(_LABELS.get(m, m) for m in absent)
        raise MissingExtra(f"{part} needs {labels}: pip install 'dualreg[{extra}]'")
