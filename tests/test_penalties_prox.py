r"""The proximal operators of the catalogue: argmin_x ½(x − v)² + s·Ω(x).

Optimality is judged on objective values against a brute-force grid (never on argmins,
which are not unique at the thresholds of nonconvex penalties): the library's objective
must not exceed the grid's minimum. Because the grid's minimum is never below the true
minimum, a correct prox passes whatever the grid spacing, with a tolerance that only covers
rounding; the spacing decides how small an error the check can see (second order in the
spacing at a smooth minimum: ~1e-13 here).
"""

from __future__ import annotations

import numpy as np
import pytest

from dualreg.penalties import L1, MCP, SCAD, HardThreshold, LogSum, Lp, Ridge

V = np.array([0.0, 0.05, 0.3, 0.8, 1.2, 2.0, 3.5, 6.0, -1.7, -4.0])
STEPS = np.array([0.1, 0.7, 2.5])


def grid_minimum(p, v, step, coarse=20001, fine=2001):
    """Minimum of ½(x − v)² + step·Ω(x) over x ∈ [−|v|−1, |v|+1]: a uniform grid through 0,
    then a 1000× finer grid on the two cells around its best point."""
    r = abs(v) + 1.0
    x = np.linspace(-r, r, coarse)
    obj = 0.5 * (x - v) ** 2 + step * p.value(x)
    k = int(np.argmin(obj))
    h = x[1] - x[0]
    x2 = np.linspace(x[k] - h, x[k] + h, fine)
    obj2 = 0.5 * (x2 - v) ** 2 + step * p.value(x2)
    return min(obj.min(), obj2.min())


def test_prox_is_no_worse_than_a_brute_force_grid(case):
    p = case.penalty
    vs, steps = np.meshgrid(V, STEPS, indexing="ij")
    vs, steps = vs.ravel(), steps.ravel()
    if case.slow:
        # Table-based Ω costs microseconds per point: a representative subset.
        pick = np.array([2, 5, 7, 11, 16, 18, 23, 27])
        vs, steps = vs[pick], steps[pick]
    x = p.prox(vs, steps)
    obj = 0.5 * (x - vs) ** 2 + steps * p.value(x)
    for i in range(vs.size):
        ref = grid_minimum(p, vs[i], steps[i], coarse=4001 if case.slow else 20001)
        # Rounding of the objective only (see the module docstring).
        assert obj[i] <= ref + 1e-12 * (1 + abs(ref)), (vs[i], steps[i], x[i])
    # The minimiser has the sign of v and lies in [0, |v|] (Ω even, nondecreasing in |w|).
    assert np.all(x * vs >= 0) and np.all(np.abs(x) <= np.abs(vs))


def test_prox_with_zero_step_is_identity_and_broadcasts(case):
    p = case.penalty
    v = np.array([[-2.0, 0.3], [0.0, 5.0]])
    # Step 0: the identity (root finders return v to rounding).
    np.testing.assert_allclose(p.prox(v, 0.0), v, rtol=1e-14, atol=0)
    # Also with a zero step in only some elements.
    np.testing.assert_allclose(p.prox(v, np.array([[0.0, 1.0], [1.0, 0.0]]))[[0, 1], [0, 1]],
                               v[[0, 1], [0, 1]], rtol=1e-14, atol=0)
    # A step per element equals elementwise calls.
    steps = np.array([[0.1, 0.5], [1.0, 2.0]])
    each = np.array([[float(p.prox(v[i, j], steps[i, j])) for j in range(2)] for i in range(2)])
    np.testing.assert_allclose(p.prox(v, steps), each, rtol=1e-12, atol=1e-15)


# --------------------------------------------------------------------------- closed forms
def test_soft_threshold_and_ridge_shrinkage():
    v = np.array([-3.0, -0.5, 0.0, 0.2, 1.0, 4.0])
    np.testing.assert_allclose(L1().prox(v, 0.7), np.sign(v) * np.maximum(np.abs(v) - 0.7, 0),
                               rtol=1e-15, atol=1e-16)  # exact arithmetic on both sides
    np.testing.assert_allclose(Ridge().prox(v, 0.7), v / 1.7, rtol=1e-15)


def test_mcp_firm_threshold():
    # Firm thresholding (step < b): 0 below the step, (|v| − s)/(1 − s/b) up to b, v beyond.
    p = MCP(3.0, 1.0)
    s = 0.5
    v = np.array([0.3, 0.5001, 1.0, 2.0, 2.9, 3.5, -6.0])
    expected = np.where(np.abs(v) <= s, 0.0,
                        np.where(np.abs(v) <= 3.0, np.sign(v) * (np.abs(v) - s) / (1 - s / 3),
                                 v))
    np.testing.assert_allclose(p.prox(v, s), expected, rtol=1e-13)


def test_half_and_two_thirds_thresholds():
    # ℓ1/2 with Ω = 2√|w|: prox of s·Ω jumps from 0 at v = (3/2)(2s)^(2/3) (Xu et al.);
    # ℓ2/3 with Ω = (3/2)|w|^(2/3): at v = (2/3)(3(2·(3/2)s)^3)^(1/4) (Cao et al.).
    s = 0.4
    t_half = 1.5 * (2 * s) ** (2 / 3)
    p = Lp(0.5)
    assert p.prox(t_half * (1 - 1e-6), s) == 0.0
    assert p.prox(t_half * (1 + 1e-6), s) > 0.5 * t_half
    mu = 2 * 1.5 * s
    t_23 = (2 / 3) * (3 * mu**3) ** 0.25
    q = Lp(2 / 3)
    assert q.prox(t_23 * (1 - 1e-6), s) == 0.0
    assert q.prox(t_23 * (1 + 1e-6), s) > 0.5 * t_23


@pytest.mark.parametrize("p", [LogSum(0.5), SCAD(3.7, 1.0), Lp(0.3), Lp(1.3)],
                         ids=["LogSum", "SCAD", "Lp0.3", "Lp1.3"])
def test_prox_nonzero_is_stationary(p):
    # Where the prox is nonzero it solves x − v + s·Ω'(x) = 0 (first-order condition);
    # the closed forms and the root finder are exact to rounding.
    v = np.linspace(0.5, 8.0, 40)
    s = 0.6
    x = p.prox(v, s)
    nz = x > 0
    assert nz.sum() >= 10
    np.testing.assert_allclose(x[nz] - v[nz] + s * p.derivative(x[nz]), 0.0, atol=1e-9)


def test_hard_threshold_prox_keeps_the_k_largest():
    rng = np.random.default_rng(3)
    v = rng.normal(size=12)
    for k in (0, 1, 4, 12):
        x = HardThreshold(k).prox(v)
        keep = np.argsort(-np.abs(v))[:k]
        expected = np.zeros_like(v)
        expected[keep] = v[keep]
        np.testing.assert_array_equal(x, expected)
        assert HardThreshold(k).total(x) == 0.0
    # Ties are broken by position, and the step is irrelevant for an indicator.
    np.testing.assert_array_equal(HardThreshold(2).prox([1.0, -1.0, 1.0, 0.5], 3.0),
                                  [1.0, -1.0, 0.0, 0.0])
