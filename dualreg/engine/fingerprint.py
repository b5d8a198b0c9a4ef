"""A digest of the ``dualreg`` code a process imports, to check that cluster workers run the
same code as the machine that submits to them.

Tasks are pickled by reference (module and function names), so a worker that imports another
copy of ``dualreg`` (an older install, another checkout) computes with *its* code and the
results differ silently. The digest is SHA-1 over the package's ``.py`` files (relative path
and bytes, in sorted order); two copies with the same sources agree wherever they live.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

__all__ = ["code_fingerprint"]


def code_fingerprint() -> str:
    """``"<version> <sha1 prefix>"`` of the imported ``dualreg`` package's sources."""
    import dualreg

    root = Path(dualreg.__file__).resolve().parent
    digest = hashlib.sha1()
    for path in sorted(root.rglob("*.py")):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(path.read_bytes())
    return f"{dualreg.__version__} {digest.hexdigest()[:12]}"
