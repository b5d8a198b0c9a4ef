r"""The penalties against external implementations: cvxpy expressions for the convex ones,
and skglm's values and proximal operators for the penalties it shares.

Scalings (read from skglm's source, ``skglm/penalties/separable.py``): with our Ω,

- ``L1(alpha)`` = alpha·|x| = λ·L1 with λ = alpha;
- ``L0_5(alpha)`` = alpha·√|x| = λ·Lp(0.5) (Ω = 2√|w|) with λ = alpha/2;
- ``L2_3(alpha)`` = alpha·|x|^(2/3) = λ·Lp(2/3) (Ω = (3/2)|w|^(2/3)) with λ = alpha/1.5;
- ``MCPenalty(alpha, gamma)`` = λ·MCP(a, scale) with alpha = λ, gamma = a·scale/λ;
- ``SCAD(alpha=s, gamma=a)`` = s·SCAD(a, scale=s);
- ``LogSumPenalty(alpha, eps)`` = alpha·log(1 + |x|/eps) = λ(LogSum(eps) − log eps), λ = alpha;
- ``L2(alpha)`` = alpha·x²/2 = λ·Ridge with λ = alpha.

``prox_1d(v, step, j)`` is the prox of step·(skglm penalty), i.e. our ``prox(v, λ·step)``.
"""

from __future__ import annotations

import numpy as np
import pytest

from dualreg.penalties import (
    L1,
    MCP,
    SCAD,
    LogSum,
    Lp,
    Ridge,
    Sparseout,
    TwoLevelQuadratic,
    YDrop,
)

W = np.array([0.0, 0.03, -0.4, 0.9, 1.6, -2.5, 4.0, 9.0])
V = np.array([0.0, 0.02, 0.3, -0.7, 1.1, 1.9, -3.0, 5.0, 12.0])
STEPS = (0.05, 0.6, 2.0)


# --------------------------------------------------------------------------- cvxpy
@pytest.mark.cases(lambda c: c.convex)
def test_cvxpy_value_equals_total(case):
    cp = pytest.importorskip("cvxpy")
    p = case.penalty
    assert p.is_convex
    expr = p.to_cvxpy(cp.Constant(W))
    assert expr.is_convex()
    # cvxpy evaluates the same closed form through its atoms: rounding only.
    assert float(expr.value) == pytest.approx(p.total(W), rel=1e-12, abs=1e-14)
    x = cp.Variable(W.size)
    x.value = W.copy()
    expr = p.to_cvxpy(x)
    assert expr.is_dcp()
    assert float(expr.value) == pytest.approx(p.total(W), rel=1e-12, abs=1e-14)


@pytest.mark.cases(lambda c: c.convex)
def test_cvxpy_prox_equals_library_prox(case):
    cp = pytest.importorskip("cvxpy")
    p = case.penalty
    v = np.array([-2.0, -0.3, 0.1, 0.9, 2.5])
    step = 0.8
    x = cp.Variable(v.size)
    cp.Problem(cp.Minimize(0.5 * cp.sum_squares(x - v) + step * p.to_cvxpy(x))).solve()
    ours = p.prox(v, step)
    obj_ours = 0.5 * np.sum((ours - v) ** 2) + step * p.total(ours)
    obj_cvx = 0.5 * np.sum((x.value - v) ** 2) + step * p.total(x.value)
    # The interior-point solver stops at ~1e-8 relative; a strictly convex objective pins
    # the minimiser to ~sqrt(1e-8).
    assert obj_ours <= obj_cvx + 1e-8
    np.testing.assert_allclose(ours, x.value, atol=1e-4)


@pytest.mark.cases(lambda c: not c.convex and c.curvature != "superquadratic" and not c.slow)
def test_cvxpy_refused_for_nonconvex(case):
    # Nonconvex penalties (every subquadratic one but ℓ1, ℓp with p ≥ 1, Sparseout q ≥ 1)
    # say so instead of building a non-DCP expression.
    cp = pytest.importorskip("cvxpy")
    assert not case.penalty.is_convex
    with pytest.raises(ValueError, match="not convex"):
        case.penalty.to_cvxpy(cp.Variable(3))


def test_cvxpy_two_level_and_sparseout_cover_the_brief():
    # The brief's list: Ridge, L1, Lp p ≥ 1, Sparseout q ≥ 1, Y-Drop bucket non-mirrored,
    # convex TwoLevelQuadratic all have a cvxpy form (the parametrised tests check values).
    cp = pytest.importorskip("cvxpy")
    x = cp.Variable(2)
    for p in (Ridge(), L1(), Lp(1.0), Lp(1.3), Lp(2.0), Sparseout(1.0, 0.2),
              Sparseout(3.0, 0.2, "autograd"), YDrop(0.1, 0.5, 1.0),
              TwoLevelQuadratic(0.3, 1.0, 0.5)):
        assert p.to_cvxpy(x).is_dcp()


# --------------------------------------------------------------------------- skglm
# skglm's penalties call numba-compiled kernels; compiling them costs ~30 s of CPU, more
# than this whole suite. They are therefore run in one subprocess per worker with
# NUMBA_DISABLE_JIT=1: the same Python source, executed by CPython (identical IEEE double
# arithmetic for these scalar kernels), without the compilation.
SKGLM_SCRIPT = r"""
import json, sys
import numpy as np
import skglm.penalties as sk
spec = json.load(sys.stdin)
out = {}
for name, cls, args in spec["penalties"]:
    pen = getattr(sk, cls)(*args)
    values = [float(pen.value(np.array(w, dtype=float))) for w in spec["w_sets"]]
    prox = None
    if hasattr(pen, "prox_1d"):
        prox = [[float(pen.prox_1d(float(v), float(s), 0)) for v in spec["v"]]
                for s in spec["steps"]]
    out[name] = {"values": values, "prox": prox}
json.dump(out, sys.stdout)
"""

LAM = 0.7
A_MCP, SCALE_MCP = 3.0, 0.5
# name: (skglm class, its arguments, our penalty, λ, c) with skglm = λ(Ω − c) elementwise.
SKGLM_PAIRS = {
    "L1": ("L1", [LAM], L1(), LAM, 0.0),
    "L0_5": ("L0_5", [LAM], Lp(0.5), LAM / 2, 0.0),
    "L2_3": ("L2_3", [LAM], Lp(2 / 3), LAM / 1.5, 0.0),
    "MCP": ("MCPenalty", [LAM, A_MCP * SCALE_MCP / LAM], MCP(A_MCP, SCALE_MCP), LAM, 0.0),
    "SCAD": ("SCAD", [0.8, 3.7], SCAD(3.7, 0.8), 0.8, 0.0),
    "LogSum": ("LogSumPenalty", [LAM, 0.5], LogSum(0.5), LAM, float(np.log(0.5))),
    "L2": ("L2", [LAM], Ridge(), LAM, 0.0),
}
# Both sides of every threshold (MCP's b = 1.5, SCAD's 0.8 and 2.96).
W_SETS = [W, W[::-1] * 0.37, np.array([0.5, 1.5, 2.96, 3.0, 7.0])]


@pytest.fixture(scope="module")
def skglm_results():
    import importlib.util
    import json
    import os
    import subprocess
    import sys

    if importlib.util.find_spec("skglm") is None:
        pytest.skip("skglm is not installed")
    spec = {
        "penalties": [[name, cls, args] for name, (cls, args, *_) in SKGLM_PAIRS.items()],
        "w_sets": [w.tolist() for w in W_SETS],
        "v": V.tolist(),
        "steps": list(STEPS),
    }
    env = {**os.environ, "NUMBA_DISABLE_JIT": "1"}
    run = subprocess.run([sys.executable, "-c", SKGLM_SCRIPT], input=json.dumps(spec),
                         capture_output=True, text=True, env=env, timeout=300, check=False)
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


@pytest.mark.parametrize("name", list(SKGLM_PAIRS))
def test_skglm_values(skglm_results, name):
    _, _, ours, lam, const = SKGLM_PAIRS[name]
    for w, theirs in zip(W_SETS, skglm_results[name]["values"], strict=True):
        # The same closed form evaluated twice: rounding only.
        assert theirs == pytest.approx(lam * (ours.total(w) - const * w.size), rel=1e-12,
                                       abs=1e-14)


@pytest.mark.parametrize("name", [n for n in SKGLM_PAIRS if n != "L2"])  # L2 has no prox_1d
def test_skglm_prox(skglm_results, name):
    _, _, ours, lam, _ = SKGLM_PAIRS[name]
    for step, x_sk in zip(STEPS, skglm_results[name]["prox"], strict=True):
        x_sk = np.array(x_sk)
        x_ours = ours.prox(V, lam * step)
        obj_sk = 0.5 * (x_sk - V) ** 2 + lam * step * ours.value(x_sk)
        obj_ours = 0.5 * (x_ours - V) ** 2 + lam * step * ours.value(x_ours)
        # Ours is never worse (rounding only) ...
        assert np.all(obj_ours <= obj_sk + 1e-12 * (1 + np.abs(obj_sk))), (step, x_ours, x_sk)
        # ... and the points agree: closed forms on both sides (skglm's LogSum threshold
        # comes from a 1e-8 bisection, hence 1e-7).
        np.testing.assert_allclose(x_ours, x_sk, rtol=1e-7, atol=1e-7)
