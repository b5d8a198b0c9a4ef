"""The textbook (λ, γ) MCP and SCAD: the literature's formulas, skglm's fits on the same
objective, and the λ-following through irls_path, the estimators and GridSearchCV."""

import warnings

import numpy as np
import pytest
from sklearn.datasets import load_diabetes

from dualreg.estimators import IRLSRegressor, resolve_penalty
from dualreg.penalties import MCP, SCAD, TextbookMCP, TextbookSCAD
from dualreg.solvers import irls, irls_path


def _mcp_literature(t, lam, gamma):
    # Zhang (2010), written out: λt − t²/(2γ) up to γλ, γλ²/2 beyond.
    return np.where(t <= gamma * lam, lam * t - t**2 / (2 * gamma), gamma * lam**2 / 2)


def _scad_literature(t, lam, gamma):
    # Fan & Li (2001), written out.
    mid = (2 * gamma * lam * t - t**2 - lam**2) / (2 * (gamma - 1))
    return np.where(t <= lam, lam * t, np.where(t <= gamma * lam, mid, lam**2 * (gamma + 1) / 2))


@pytest.mark.parametrize("lam", [0.3, 2.0, 7.0])
def test_lam_times_omega_is_the_literature_formula_at_every_lam(lam):
    t = np.linspace(0.0, 40.0, 4001)
    for gamma in (1.5, 3.0):
        built = TextbookMCP(gamma, lam=1.0).at_lam(lam)
        np.testing.assert_allclose(lam * built.value(t), _mcp_literature(t, lam, gamma),
                                   rtol=1e-13, atol=1e-13)
        built = TextbookSCAD(gamma + 1.0, lam=1.0).at_lam(lam)
        np.testing.assert_allclose(lam * built.value(t), _scad_literature(t, lam, gamma + 1.0),
                                   rtol=1e-13, atol=1e-13)
    # The fixed-threshold form does not follow λ: at λ = 7, λ·MCP(a=3) keeps its knot at 3.
    if lam == 7.0:
        assert not np.allclose(lam * MCP(3.0).value(t), _mcp_literature(t, lam, 3.0))
        assert not MCP(3.0).follows_lam and MCP(3.0).at_lam(lam) is not None


def test_bad_textbook_arguments_name_the_argument():
    with pytest.raises(ValueError, match="gamma"):
        TextbookSCAD(gamma=1.0)
    with pytest.raises(ValueError, match="gamma"):
        TextbookMCP(gamma=-3)
    with pytest.raises(ValueError, match="lam"):
        TextbookMCP(lam=0.0)
    with pytest.raises(ValueError, match="lam"):
        TextbookMCP().at_lam(-1.0)
    assert TextbookMCP(3.0, 2.0).at_lam(0.0).lam == 2.0  # λ = 0: λΩ vanishes whatever Ω
    assert isinstance(resolve_penalty("textbookmcp", {"gamma": 2.5}), TextbookMCP)
    with pytest.raises(ValueError, match="penalty_params"):
        resolve_penalty("TextbookSCAD", {"a": 3.0})


def _diabetes():
    X, y = load_diabetes(return_X_y=True)
    X = (X - X.mean(0)) / X.std(0)
    return X, y - y.mean()


def _unequal_scales(seed=0):
    # Independent columns with scales 0.8 … 2.5 (c_j = ‖X_j‖²/n from ~0.6 to ~6), sparse truth.
    rng = np.random.default_rng(seed)
    n, d = 200, 8
    X = rng.normal(size=(n, d)) * np.linspace(0.8, 2.5, d)
    X -= X.mean(0)
    w = np.array([3.0, -2.0, 0.0, 1.5, 0.0, 0.0, -1.0, 0.0])
    y = X @ w + rng.normal(size=n)
    return X, y - y.mean()


def _skglm_fit(X, y, penalty, w0):
    from skglm.datafits import Quadratic
    from skglm.solvers import AndersonCD

    solver = AndersonCD(tol=1e-12, fit_intercept=False, max_iter=1000, max_epochs=100_000)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # numba's contiguity performance hint
        # skglm takes Xw_init separately: without it a warm start is inconsistent.
        return solver.solve(X, y, Quadratic(), penalty, w_init=w0.copy(), Xw_init=X @ w0)[0]


def test_textbook_mcp_and_scad_match_skglm_on_the_same_objective():
    """One test for skglm (numba compiles ~8 s a penalty).

    Uniqueness: on the synthetic design the objective is convex (λ_min(XᵀX/n) > 1/γ for MCP,
    > 1/(γ − 1) for SCAD: checked), so its minimiser is unique. Diabetes is nearly collinear
    (λ_min ≈ 0.009) and not convex; there both solvers start from the same two points (zero and
    least squares) at (λ, γ) where all four runs land on one point, compared to 1e-8.
    """
    sk = pytest.importorskip("skglm.penalties")
    cases = {"diabetes": (_diabetes(), [(10.0, 2.5), (8.0, 3.0)], [(10.0, 3.2), (8.0, 3.7)]),
             "unequal scales": (_unequal_scales(), [(0.5, 3.0), (0.2, 4.0)],
                                [(0.5, 3.7), (0.2, 4.0)])}
    for name, ((X, y), mcp_cases, scad_cases) in cases.items():
        n, d = X.shape
        min_eig = np.linalg.eigvalsh(X.T @ X / n).min()
        w_ls = np.linalg.lstsq(X, y, rcond=None)[0]
        pairs = ([(TextbookMCP(g, lam), sk.MCPenalty(lam, g), lam, 1 / g) for lam, g in mcp_cases]
                 + [(TextbookSCAD(g, lam), sk.SCAD(lam, g), lam, 1 / (g - 1))
                    for lam, g in scad_cases])
        for ours, theirs, lam, concavity in pairs:
            if name == "unequal scales":
                assert min_eig > concavity, (name, ours)
            for w0 in (np.zeros(d), w_ls):
                got = irls(X, y, ours, lam, fit_intercept=False, tol=1e-12, init=w0)
                ref = _skglm_fit(X, y, theirs, w0)
                np.testing.assert_allclose(got.coef, ref, rtol=0, atol=1e-8,
                                           err_msg=f"{name} {ours!r}")
                assert np.count_nonzero(ref) < d  # a real (sparse) nonconvex fit
            # The same λ reached through the λ-following paths: estimator and irls_path.
            base = type(ours)(ours.gamma)  # built at λ = 1
            est = IRLSRegressor(base, alpha=lam, fit_intercept=False, tol=1e-12).fit(X, y)
            np.testing.assert_allclose(est.coef_, ref, rtol=0, atol=1e-8)
            path = irls_path(X, y, base, [lam], fit_intercept=False, tol=1e-12)
            np.testing.assert_allclose(path.coefs[0], ref, rtol=0, atol=1e-8)


def test_grid_search_over_alpha_searches_the_textbook_family():
    from sklearn.model_selection import GridSearchCV, KFold

    X, y = _unequal_scales(1)
    alphas = [0.05, 0.3, 1.5]
    search = GridSearchCV(IRLSRegressor(TextbookMCP(3.0)), {"alpha": alphas},
                          cv=KFold(3)).fit(X, y)
    best = search.best_estimator_
    assert best.penalty_.lam == best.alpha and best.penalty_.gamma == 3.0
    # Each candidate is the textbook MCP at its own α (knot γα), not a fixed knot.
    for alpha in alphas:
        fit = IRLSRegressor(TextbookMCP(3.0), alpha=alpha).fit(X, y)
        assert fit.penalty_.b == pytest.approx(3.0 * alpha, rel=1e-15)
        fixed = IRLSRegressor(MCP(3.0, alpha), alpha=alpha).fit(X, y)
        np.testing.assert_allclose(fit.coef_, fixed.coef_, rtol=0, atol=1e-8)
    assert SCAD(3.7).at_lam(2.0).scale == 1.0  # the fixed-threshold form is left alone
