#!/usr/bin/env bash
# The core install as a user gets it: build the wheel and the sdist, install the wheel with no
# extras into a fresh venv, and check that the light parts work there (penalties, duality, the
# IRLS solver, the estimators) while the heavy ones (dualreg.torch, dualreg verify) say in one
# line which extra to install. Run by .ci/run after `make test` (needs PyPI for numpy, scipy,
# scikit-learn and the build backend).
#
#   scripts/check_install.sh [PYTHON]      # PYTHON builds the artefacts (default: python3)
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${1:-python3}"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/dualreg-install-check.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
start=$SECONDS

# 1. Both artefacts, in an isolated build environment (pyproject's build-system).
"$PY" -m venv "$WORK/build-env"
"$WORK/build-env/bin/python" -m pip install --quiet --upgrade pip build
"$WORK/build-env/bin/python" -m build --sdist --wheel --outdir "$WORK/dist" . \
    >"$WORK/build.log" 2>&1 || { cat "$WORK/build.log"; exit 1; }
wheel=$(ls "$WORK"/dist/dualreg-*.whl)
sdist=$(ls "$WORK"/dist/dualreg-*.tar.gz)
echo "built $(basename "$wheel") and $(basename "$sdist")"
tar -tzf "$sdist" >"$WORK/sdist.txt"  # (grep -q on a pipe would SIGPIPE tar under pipefail)
grep -q "/proofs/README.md$" "$WORK/sdist.txt" || { echo "the sdist lacks proofs/"; exit 1; }
"$WORK/build-env/bin/python" - "$wheel" <<'EOF'
import sys, zipfile
names = zipfile.ZipFile(sys.argv[1]).namelist()
for need in ("dualreg/py.typed", "dualreg/penalties/__init__.py", "dualreg/torch/__init__.py"):
    assert need in names, f"the wheel lacks {need}"
assert not any(n.startswith("tests/") for n in names), "the wheel ships the tests"
EOF

# 2. A fresh venv with the wheel and no extras; run from an empty folder so that the source
#    tree cannot be imported instead of the installed package.
"$PY" -m venv "$WORK/venv"
"$WORK/venv/bin/python" -m pip install --quiet "$wheel"
cd "$WORK"
"$WORK/venv/bin/python" - <<'EOF'
import importlib.util
import subprocess
import sys

import numpy as np

import dualreg
import dualreg.penalties
from dualreg import duality
from dualreg.estimators import IRLSRegressor
from dualreg.penalties import LogSum, from_keep_prob
from dualreg.solvers import irls

assert "site-packages" in dualreg.__file__, dualreg.__file__
for heavy in ("torch", "cvxpy", "matplotlib", "sympy"):
    assert importlib.util.find_spec(heavy) is None, f"the core install pulled in {heavy}"

p = LogSum(eps=0.5)
assert abs(p.value(np.array([1.0]))[0] - np.log(1.5)) < 1e-12
assert duality.classify(p).curvature_class == "subquadratic"
rule = from_keep_prob(lambda w: w**2 / (w**2 + 1.0), lam=1.0)
assert np.isfinite(rule.value(np.array([0.5]))).all()

rng = np.random.default_rng(0)
X = rng.standard_normal((40, 5))
y = X @ np.array([2.0, 0.0, -1.0, 0.0, 0.5]) + 0.1 * rng.standard_normal(40)
res = irls(X, y, LogSum(eps=0.5), 0.05)
assert res.converged and abs(res.coef[0] - 2.0) < 0.2, res
IRLSRegressor(penalty=LogSum(eps=0.5), alpha=0.05).fit(X, y)

try:
    import dualreg.torch  # noqa: F401
except ImportError as err:
    message = str(err)
else:
    raise AssertionError("import dualreg.torch worked without torch")
assert message == "dualreg.torch needs PyTorch: pip install 'dualreg[torch]'", message

cli = subprocess.run([sys.executable, "-m", "dualreg", "verify", "--list"],
                     capture_output=True, text=True)
assert cli.returncode == 2 and cli.stderr.count("\n") == 1, (cli.returncode, cli.stderr)
assert "pip install 'dualreg[verify]'" in cli.stderr, cli.stderr
out = subprocess.run([sys.executable, "-m", "dualreg", "penalty", "LogSum", "--json"],
                     capture_output=True, text=True, check=True)
assert '"penalty"' in out.stdout
print(f"fresh venv: dualreg {dualreg.__version__} core imports, irls fit in {res.n_iter} "
      f"iterations; without torch: {message!r}")
EOF
echo "install check passed in $((SECONDS - start)) s"
