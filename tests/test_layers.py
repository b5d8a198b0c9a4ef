"""The architecture's import rules: each layer imports only the layers below it."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "dualreg"


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def _modules(*parts: str) -> list[Path]:
    files = []
    for part in parts:
        target = PACKAGE / part
        files += sorted(target.rglob("*.py")) if target.is_dir() else [target]
    return files


def test_core_never_imports_consumers():
    # verify/ and plots/ consume the library; nothing in the core may import them.
    core = _modules("penalties", "duality.py", "_numerics.py", "_validation.py", "glm.py",
                    "solvers", "estimators.py", "torch")
    for path in core:
        bad = {m for m in _imports(path) if m.startswith(("dualreg.verify", "dualreg.plots"))}
        assert not bad, f"{path.relative_to(PACKAGE)} imports {bad}"


def test_solvers_and_penalties_never_import_torch():
    for path in _modules("penalties", "duality.py", "glm.py", "solvers", "estimators.py"):
        bad = {m for m in _imports(path) if m.split(".")[0] == "torch" or
               m.startswith("dualreg.torch")}
        assert not bad, f"{path.relative_to(PACKAGE)} imports {bad}"


def test_solver_import_loads_no_torch():
    code = ("import sys, dualreg.solvers, dualreg.glm, dualreg.estimators\n"
            "print('torch' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, check=True)
    assert out.stdout.strip() == "False", out.stdout + out.stderr
