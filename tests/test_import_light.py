"""Importing the penalty library must stay light: numpy and scipy only (the issue)."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("torch", "cvxpy", "matplotlib")


def test_penalties_and_duality_import_no_heavy_dependency():
    code = (
        "import sys\n"
        "import dualreg.penalties, dualreg.duality\n"
        "from dualreg.penalties import from_eta_hat, VarDrop\n"
        "VarDrop().value([0.5]); from_eta_hat(lambda t: 1 + t).value([1.0])\n"
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    # A fresh interpreter: nothing imported by the test session can leak in.
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


def test_the_check_can_fail():
    # The same probe reports a heavy module once one is loaded (so the check has power);
    # a stub stands in for the real import, which would cost seconds.
    code = (
        "import sys, types\n"
        "import dualreg.penalties\n"
        "sys.modules['cvxpy'] = types.ModuleType('cvxpy')\n"
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, check=True)
    assert out.stdout.strip() == "['cvxpy']"
