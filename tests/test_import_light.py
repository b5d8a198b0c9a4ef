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


# ------------------------------------------------------------------ the core install and extras
HEAVIER = (*HEAVY, "sympy")


def _run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)


def test_core_parts_import_without_heavy_dependencies():
    # Every part that the core install promises (README, pyproject's dependencies).
    code = ("import sys\n"
            "import dualreg, dualreg.penalties, dualreg.duality, dualreg.solvers\n"
            "import dualreg.estimators, dualreg.families\n"
            f"print(sorted(m for m in {HEAVIER!r} if m in sys.modules))\n")
    out = _run(code)
    assert out.returncode == 0 and out.stdout.strip() == "[]", out.stdout + out.stderr


def test_core_dependencies_are_the_light_ones():
    import tomllib
    from pathlib import Path

    meta = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())["project"]
    names = {d.split(">")[0].split("=")[0].split("[")[0].strip() for d in meta["dependencies"]}
    assert names == {"numpy", "scipy", "scikit-learn"}
    extras = meta["optional-dependencies"]
    for extra in ("torch", "cvxpy", "plots", "verify", "figures", "all", "docs"):
        assert extra in extras, extra
    # `all` pulls every runtime extra (the Makefile installs it for make test / make verify).
    assert set(extras["all"][0].split("[")[1].rstrip("]").split(",")) >= {
        "torch", "cvxpy", "plots", "verify", "figures"}


def test_import_without_torch_names_the_extra_in_one_line():
    # sys.modules[name] = None is how Python blocks an import: torch is "not installed".
    code = ("import sys\nsys.modules['torch'] = None\n"
            "try:\n    import dualreg.torch\nexcept ImportError as err:\n    print(err)\n")
    out = _run(code)
    assert out.stdout == "dualreg.torch needs PyTorch: pip install 'dualreg[torch]'\n", (
        out.stdout + out.stderr)


def test_plots_without_matplotlib_names_the_extra():
    code = ("import sys\nsys.modules['matplotlib'] = None\n"
            "try:\n    import dualreg.plots\nexcept ImportError as err:\n    print(err)\n")
    out = _run(code)
    assert out.stdout == "dualreg.plots needs matplotlib: pip install 'dualreg[plots]'\n", (
        out.stdout + out.stderr)


def test_cli_without_an_extra_exits_2_with_one_line():
    code = ("import sys\nsys.modules['sympy'] = None\n"
            "from dualreg.cli import main\nsys.exit(main(['verify', '--list']))\n")
    out = _run(code)
    assert out.returncode == 2, out.stderr
    assert out.stderr == ("dualreg: error: dualreg.verify needs SymPy: "
                          "pip install 'dualreg[verify]'\n"), out.stderr
    assert out.stdout == ""


def test_cvxpy_reference_without_cvxpy_names_the_extra():
    code = ("import sys\nsys.modules['cvxpy'] = None\n"
            "import numpy as np\nfrom dualreg.penalties import L1\n"
            "from dualreg.solvers.reference import solve_reference\n"
            "try:\n    solve_reference(np.eye(3), np.ones(3), L1(), 0.1)\n"
            "except ImportError as err:\n    print(err)\n")
    out = _run(code)
    assert out.stdout == ("the cvxpy reference needs cvxpy: pip install 'dualreg[cvxpy]'\n"), (
        out.stdout + out.stderr)
