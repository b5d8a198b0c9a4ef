"""The solver's pieces on their own: the declared contract, injectable linear solvers, the one
line search, the iteration history and proximal gradient."""

from __future__ import annotations

import ast
import warnings
from pathlib import Path

import numpy as np
import pytest

from dualreg.families import get_family
from dualreg.penalties import L1, Lp, Ridge
from dualreg.solvers import (
    ConvergenceWarning,
    GLMLoss,
    History,
    IterationRecord,
    QuadraticLoss,
    armijo,
    irls,
    prox_gradient,
)
from dualreg.solvers.contract import (
    FAMILY_ATTRIBUTES,
    FAMILY_METHODS,
    PENALTY_FLAGS,
    PENALTY_METHODS,
    check_family,
)
from dualreg.solvers.linear import GramCholesky, Woodbury, get_linear_solver

SOLVERS = Path(__file__).resolve().parents[1] / "dualreg" / "solvers"


def _data(n, d, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    return X, X[:, :3] @ np.array([2.0, -1.5, 1.0]) + 0.3 * rng.standard_normal(n)


# --------------------------------------------------------------------------- the contract
class _Partial:
    """An L1 that forgets some of the methods the solver calls, and counts the others."""

    separable, has_eta_form, is_convex, kink_at_zero = True, True, True, True

    def __init__(self, *dropped):
        self._base, self.calls = L1(), []
        for name in ("value", "derivative", "eta_hat", "slope_at_zero", "subdiff_distance",
                     "prox"):
            if name not in dropped:
                setattr(self, name, self._counted(name))

    def _counted(self, name):
        def method(*args, **kwargs):
            self.calls.append(name)
            return getattr(self._base, name)(*args, **kwargs)
        return method


def test_a_penalty_missing_a_method_fails_before_any_iteration():
    X, y = _data(30, 5)
    pen = _Partial("subdiff_distance")
    seen = []
    with pytest.raises(ValueError, match="lacks subdiff_distance") as err:
        irls(X, y, pen, 0.1, callback=lambda k, w, b: seen.append(k))
    assert pen.calls == [] and seen == []  # nothing was evaluated, no iterate produced
    assert "_Partial" in str(err.value)
    # Every missing method is named in the one message.
    with pytest.raises(ValueError, match="lacks subdiff_distance, prox"):
        irls(X, y, _Partial("subdiff_distance", "prox"), 0.1)
    # The complete object solves the problem like the library's L1 (same arithmetic).
    np.testing.assert_array_equal(irls(X, y, _Partial(), 0.1).coef, irls(X, y, L1(), 0.1).coef)


def test_a_family_missing_a_method_is_named():
    class NoSeparation:
        constant_curvature, curvature_bound = False, np.inf

        def __getattr__(self, name):
            if name == "perfectly_separated":
                raise AttributeError(name)
            return getattr(get_family("poisson"), name)

    with pytest.raises(ValueError, match="family NoSeparation lacks perfectly_separated"):
        check_family(NoSeparation())
    check_family(get_family("binomial"))


def _attributes_used_on(name: str) -> set[str]:
    """Attributes read on ``name`` / ``….name`` (and getattr(name, "…")) in dualreg/solvers."""
    used = set()
    for path in SOLVERS.glob("*.py"):
        if path.name in ("reference.py", "contract.py"):  # cvxpy's faces; the declarations
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute):
                owner = node.value
                owner_name = owner.id if isinstance(owner, ast.Name) else getattr(owner, "attr", "")
                if owner_name == name:
                    used.add(node.attr)
            elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                  and node.func.id == "getattr" and len(node.args) >= 2
                  and isinstance(node.args[0], ast.Name) and node.args[0].id == name
                  and isinstance(node.args[1], ast.Constant)):
                used.add(node.args[1].value)
    return used


def test_the_solvers_call_only_what_the_contract_declares():
    assert _attributes_used_on("penalty") <= set(PENALTY_METHODS) | set(PENALTY_FLAGS) | {
        "curvature_class"}  # curvature_class: only in the NoEtaFormError message
    assert _attributes_used_on("family") <= set(FAMILY_METHODS) | set(FAMILY_ATTRIBUTES)


# --------------------------------------------------------------------------- linear solvers
@pytest.mark.parametrize("shape", [(60, 8), (15, 40)])
def test_cholesky_and_woodbury_give_the_same_fit(shape):
    X, y = _data(*shape, seed=1)
    for pen, lam, family, yy in [(Ridge(), 0.3, "gaussian", y), (L1(), 0.05, "gaussian", y),
                                 (L1(), 0.02, "binomial", (y > 0).astype(float))]:
        fits = [irls(X, yy, pen, lam, family=family, linear_solver=s, tol=1e-12)
                for s in ("cholesky", "woodbury", GramCholesky())]
        # Two direct solves of the same well-conditioned systems: rounding only.
        for other in fits[1:]:
            np.testing.assert_allclose(other.coef, fits[0].coef, rtol=1e-10, atol=1e-10)
            assert other.intercept == pytest.approx(fits[0].intercept, rel=1e-10, abs=1e-10)


def test_both_linear_solvers_solve_the_weighted_ridge():
    rng = np.random.default_rng(3)
    for n, k in [(40, 10), (10, 40)]:
        Xt = rng.standard_normal((n, k))
        delta = rng.uniform(0.1, 2.0, k)
        delta[[0, 3]] = 0.0  # unpenalised coordinates
        rhs = rng.standard_normal(k)
        v_c = GramCholesky().solve(Xt, delta, rhs)
        v_w = Woodbury().solve(Xt, delta, rhs)
        # κ ~ 1e2–1e3: 1e-10 is rounding with a margin.
        np.testing.assert_allclose(v_w, v_c, rtol=1e-10, atol=1e-10)


def test_a_custom_linear_solver_is_used_and_a_bad_name_is_refused():
    class Counting(Woodbury):
        calls = 0

        def solve(self, design, delta, rhs, gram=None):
            Counting.calls += 1
            return super().solve(design, delta, rhs, gram)

    X, y = _data(30, 6)
    res = irls(X, y, Lp(0.5), 0.05, linear_solver=Counting())
    assert Counting.calls > 0 and res.converged
    with pytest.raises(ValueError, match="linear_solver must be one of"):
        irls(X, y, L1(), 0.1, linear_solver="lu")
    with pytest.raises(ValueError, match="linear_solver"):
        get_linear_solver(object())


# --------------------------------------------------------------------------- line search
def test_armijo_accepts_the_first_sufficient_decrease_on_a_quadratic():
    # f(x) = (x − 1)², from x0 = 0 along d = 4 (f'(0) d = −8): α = 1 → f(4) = 9, α = ½ →
    # f(2) = 1 > 1 − 1e-4·4, α = ¼ → f(1) = 0 ≤ 1 − 1e-4·2: accepted.
    f = lambda x: (x - 1.0) ** 2  # noqa: E731
    tried = []

    def trial(alpha):
        tried.append(alpha)
        return f(4.0 * alpha), -8.0 * alpha, 4.0 * alpha

    assert armijo(trial, f(0.0)) == (0.25, 1.0)
    assert tried == [1.0, 0.5, 0.25]
    # An ascent direction is never accepted; nor is a non-finite value.
    assert armijo(lambda a: (f(-a), 2.0 * a, -a), 1.0, max_steps=10) is None
    assert armijo(lambda a: (np.inf, -1.0, a), 1.0, max_steps=3) is None
    # Within rounding: the full step of a predicted change below 1e-12 is accepted.
    assert armijo(lambda a: (1.0 + 1e-15, -1e-13 * a, a), 1.0, predicted=-1e-13) == (1.0, 1.0)
    assert armijo(lambda a: (1.0 + 1e-15, -1e-13 * a, a), 1.0, max_steps=2) is None


# --------------------------------------------------------------------------- history
def test_history_appends_truncates_and_feeds_the_result():
    h = History()
    for k in range(4):
        h.append(IterationRecord(10.0 - k, 11.0 - k, 1.0 / (k + 1), 0.1 * k, "eta"))
    assert len(h) == 4 and h.last.objective == 7.0
    assert h.column("phase") == ["eta"] * 4
    h.truncate(2)
    assert h.column("objective") == [10.0, 9.0] and h.last.surrogate == 10.0
    with pytest.raises(ValueError, match="name must be one of"):
        h.column("nope")
    X, y = _data(40, 6)
    res = irls(X, y, Lp(0.5), 0.05)
    assert len(res.history) == res.n_iter + 1 == len(res.objective)
    for name in ("objective", "surrogate", "stationarity", "eps", "phase"):
        assert getattr(res, name) == res.history.column(name)
    assert res.phase[0] == "init" and res.stationarity[-1] == res.history.last.stationarity


# --------------------------------------------------------------------------- prox gradient
@pytest.mark.parametrize("accelerated", [False, True])
def test_prox_gradient_is_soft_thresholding_for_an_orthogonal_lasso(accelerated):
    rng = np.random.default_rng(7)
    n, d = 40, 8
    Q, _ = np.linalg.qr(rng.standard_normal((n, d)))
    X = np.sqrt(n) * Q  # XᵀX/n = I
    y = X @ rng.standard_normal(d) + 0.5 * rng.standard_normal(n)
    lam = 0.4
    z = X.T @ y / n
    closed = np.sign(z) * np.maximum(np.abs(z) - lam, 0.0)
    for loss in (QuadraticLoss.least_squares(X, y), GLMLoss(X, y, "gaussian")):
        res = prox_gradient(loss, L1(), lam, np.zeros(d), accelerated=accelerated)
        assert res.converged
        # H = I up to QR rounding (~1e-15): the fixed point is the closed form to rounding.
        np.testing.assert_allclose(res.coef, closed, rtol=0, atol=1e-12)
        np.testing.assert_array_equal(res.coef == 0, closed == 0)


def test_prox_gradient_backtracks_without_a_lipschitz_constant_and_warns():
    rng = np.random.default_rng(8)
    X = rng.standard_normal((80, 5)) / 2
    y = rng.poisson(np.exp(X[:, 0] * 0.5)).astype(float)
    loss = GLMLoss(X, y, "poisson")
    assert loss.lipschitz == np.inf
    res = prox_gradient(loss, L1(), 0.02, np.zeros(5), tol=1e-13)
    ref = irls(X, y, L1(), 0.02, family="poisson", fit_intercept=False, tol=1e-11)
    # Two solvers of one convex problem, both stopped near rounding.
    np.testing.assert_allclose(res.coef, ref.coef, atol=1e-8)
    with pytest.warns(ConvergenceWarning, match="prox_gradient did not converge"):
        prox_gradient(loss, L1(), 0.02, np.zeros(5), max_iter=2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert not prox_gradient(loss, L1(), 0.02, np.zeros(5), max_iter=2, warn=False).converged
