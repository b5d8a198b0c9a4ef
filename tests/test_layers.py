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
    core = _modules("penalties", "duality.py", "vector_rules.py", "lookalike.py",
                    "pruning_cost.py", "sparsity.py", "_conventions.py", "_numerics.py",
                    "_quadrature.py", "_validation.py", "families", "datasets.py", "solvers",
                    "estimators.py", "estimators_cv.py", "torch")
    for path in core:
        bad = {m for m in _imports(path) if m.startswith(("dualreg.verify", "dualreg.plots"))}
        assert not bad, f"{path.relative_to(PACKAGE)} imports {bad}"


def test_solvers_and_penalties_never_import_torch():
    for path in _modules("penalties", "duality.py", "vector_rules.py", "lookalike.py",
                         "pruning_cost.py", "sparsity.py", "_conventions.py", "_quadrature.py",
                         "solvers", "estimators.py", "estimators_cv.py"):
        bad = {m for m in _imports(path) if m.split(".")[0] == "torch" or
               m.startswith("dualreg.torch")}
        assert not bad, f"{path.relative_to(PACKAGE)} imports {bad}"


def test_solver_import_loads_no_torch():
    code = ("import sys, dualreg.solvers, dualreg.families, dualreg.estimators_cv\n"
            "print('torch' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, check=True)
    assert out.stdout.strip() == "False", out.stdout + out.stderr


# --------------------------------------------------------------------------- the module graph
def _module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _import_graph() -> dict[str, set[str]]:
    """Module → the dualreg modules it imports, anywhere in its body (lazy imports count: a
    cycle through a function-level import is still a design cycle)."""
    paths = sorted(PACKAGE.rglob("*.py"))
    modules = {_module_name(p): p for p in paths}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        edges = set()
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(anchor + ([base] if base else []))
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base
                           for a in node.names]
            else:
                continue
            edges.update(t for t in targets if t in modules and t != name)
        graph[name] = edges
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in graph:
        if v not in index:
            visit(v)
    return out


def test_no_import_cycle_inside_the_package():
    assert _cycles(_import_graph()) == []


def test_the_cycle_finder_finds_a_planted_cycle():
    graph = _import_graph()
    graph["dualreg._conventions"] = graph["dualreg._conventions"] | {"dualreg.duality"}
    assert ["dualreg._conventions", "dualreg.duality"] in _cycles(graph)


def test_no_module_is_over_500_lines():
    long = {str(p.relative_to(PACKAGE)): n for p in PACKAGE.rglob("*.py")
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > 500}
    assert not long, f"modules over 500 lines: {long}"


def test_no_family_name_dispatch_outside_families():
    # Code asks the family object; comparing against a family's name is the string dispatch
    # ARCHITECTURE.md rules out (names may appear as arguments, e.g. family="binomial"; a
    # mask named "gaussian" is not a family).
    names = ("gaussian", "binomial", "poisson")
    bad = []
    for path in PACKAGE.rglob("*.py"):
        if "families" in path.relative_to(PACKAGE).parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Compare):
                consts = [c for c in [node.left, *node.comparators] if isinstance(c, ast.Constant)]
                consts += [e for c in node.comparators if isinstance(c, ast.Tuple | ast.List)
                           for e in c.elts if isinstance(e, ast.Constant)]
                others = [ast.unparse(c) for c in [node.left, *node.comparators]
                          if not isinstance(c, ast.Constant)]
                if any(c.value in names for c in consts) and any("fam" in o for o in others):
                    bad.append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
    assert not bad, f"family-name comparisons outside families/: {bad}"
