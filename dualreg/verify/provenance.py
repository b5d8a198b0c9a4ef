"""Where a verification report came from: versions, commit, machine, command, time.

Nothing here may fail a run: a missing package reads ``"absent"``, a missing or unusable git
leaves the commit out.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from datetime import UTC, datetime
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any

#: Distributions whose versions a report records (``"absent"`` when not installed).
PACKAGES = ("numpy", "scipy", "torch", "cvxpy", "sympy", "scikit-learn", "mpmath")


def repository_root() -> Path | None:
    """The checkout holding this package (the folder with ``proofs/``), or ``None``."""
    root = Path(__file__).resolve().parents[2]
    return root if (root / "proofs").is_dir() else None


def version(distribution: str) -> str:
    """The installed version of ``distribution``, or ``"absent"``."""
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "absent"


def _git(root: Path, *args: str) -> str | None:
    try:
        proc = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True,
                              timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return proc.stdout if proc.returncode == 0 else None


@lru_cache(maxsize=1)
def git_state() -> dict[str, Any] | None:
    """``{"commit": sha, "dirty": bool}`` when the package sits in a git checkout, else ``None``.

    ``dirty`` is true when ``git status --porcelain`` lists anything (modified, staged or
    untracked files; ignored ones such as ``verification/`` do not count).
    """
    root = repository_root()
    if root is None:
        return None
    top = _git(root, "rev-parse", "--show-toplevel")
    if top is None or Path(top.strip()).resolve() != root:
        return None  # the package is not at the top of its own checkout
    commit = _git(root, "rev-parse", "HEAD")
    if commit is None:
        return None
    status = _git(root, "status", "--porcelain")
    return {"commit": commit.strip(), "dirty": None if status is None else bool(status.strip())}


def utc_now() -> str:
    """The current time, UTC, ISO 8601 to the second (``2025-01-31T12:00:00+00:00``)."""
    return datetime.now(UTC).replace(microsecond=0).isoformat()


def collect(*, seeds: list[int], mode: str, device: str, claims: list[str], command: str,
            started: str, wall_seconds: float) -> dict[str, Any]:
    """Everything a reader needs to reproduce a run, as a JSON-ready dict."""
    meta: dict[str, Any] = {
        "dualreg": version("dualreg"),
        "git": git_state(),
        "packages": {name: version(name) for name in PACKAGES},
        "python": platform.python_version(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "seed": seeds[0] if len(seeds) == 1 else None,
        "seeds": seeds,
        "mode": mode,
        "device": device,
        "claims": claims,
        "command": command,
        "started": started,
        "wall_seconds": round(wall_seconds, 3),
    }
    return meta


def default_command() -> str:
    """The command line of this process, as a shell would read it back."""
    import shlex

    argv = list(sys.argv)
    if argv and Path(argv[0]).name in ("dualreg", "__main__.py"):
        argv[0] = "dualreg"
    return shlex.join(argv)
