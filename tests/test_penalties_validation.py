"""Invalid input: one clear ValueError that names the parameter (and, for hyperparameters,
the allowed range) — never a silent NaN."""

from __future__ import annotations

import numpy as np
import pytest

from dualreg import duality
from dualreg.penalties import (
    ARD,
    MCP,
    SCAD,
    CappedL2,
    HardConcrete,
    HardThreshold,
    Log2Sum,
    LogSum,
    Lp,
    NoEtaFormError,
    Sparseout,
    TargetedDropout,
    YDrop,
    from_eta_hat,
    from_keep_prob,
)

NAN = float("nan")

HYPERPARAMETERS = [
    # (constructor, message pattern: the parameter and the allowed range)
    (lambda: Lp(0.0), r"p must be in \(0, 2\], got 0"),
    (lambda: Lp(-1.0), r"p must be in \(0, 2\]"),
    (lambda: Lp(2.5), r"p must be in \(0, 2\], got 2.5"),
    (lambda: Lp(NAN), r"p must be a finite real number in \(0, 2\]"),
    (lambda: Lp(True), r"p must be a real number in \(0, 2\], got the boolean"),
    (lambda: LogSum(np.inf), r"eps must be a finite real number in \(0, inf\)"),
    (lambda: LogSum(0.0), r"eps must be in \(0, inf\)"),
    (lambda: LogSum(-1.0), r"eps must be in \(0, inf\)"),
    (lambda: Log2Sum(0.0), r"eps must be in \(0, inf\)"),
    (lambda: SCAD(1.0), r"a must be in \(1, inf\), got 1"),
    (lambda: SCAD(0.5), r"a must be in \(1, inf\)"),
    (lambda: SCAD(3.7, 0.0), r"scale must be in \(0, inf\)"),
    (lambda: MCP(0.0), r"a must be in \(0, inf\)"),
    (lambda: MCP(3.0, -1.0), r"scale must be in \(0, inf\)"),
    (lambda: CappedL2(0.0), r"tau must be in \(0, inf\)"),
    (lambda: Sparseout(0.0), r"q must be in \(0, inf\), got 0"),
    (lambda: Sparseout(-2.0), r"q must be in \(0, inf\)"),
    (lambda: Sparseout(1.0, 1.0), r"drop must be in \[0, 1\), got 1"),
    (lambda: Sparseout(1.0, -0.1), r"drop must be in \[0, 1\)"),
    (lambda: Sparseout(1.0, 0.5, "backprop"), r"grad must be one of 'stop', 'autograd'"),
    (lambda: TargetedDropout(1.0), r"rate must be in \[0, 1\), got 1"),
    (lambda: TargetedDropout(-0.2), r"rate must be in \[0, 1\)"),
    (lambda: TargetedDropout(0.5, 0.0), r"tau must be in \(0, inf\)"),
    (lambda: TargetedDropout.from_weight_threshold(1.5, 1.0), r"rate must be in \[0, 1\)"),
    (lambda: YDrop(1.2), r"p_low must be in \[0, 1\)"),
    (lambda: YDrop(0.1, 1.0), r"p_high must be in \[0, 1\)"),
    (lambda: YDrop(0.6, 0.5), r"p_low must be <= p_high"),
    (lambda: YDrop(0.1, 0.5, -1.0), r"tau must be in \(0, inf\)"),
    (lambda: YDrop(0.1, 0.5, 1.0, "linear"), r"mapping must be one of 'bucket', 'continuous'"),
    (lambda: HardConcrete(beta=0.0), r"beta must be in \[0.5, 12\]"),
    (lambda: HardConcrete(gamma=0.1), r"gamma must be in \(-inf, 0\)"),
    (lambda: HardConcrete(zeta=1.0), r"zeta must be in \(1, inf\)"),
    (lambda: HardThreshold(-1), r"k must be an integer >= 0, got -1"),
    (lambda: HardThreshold(1.5), r"k must be an integer >= 0, got 1.5"),
    (lambda: ARD(np.ones(3)), r"X must be a nonempty 2-D array"),
    (lambda: ARD(np.ones((2, 2)), tau=0.0), r"tau must be in \(0, inf\)"),
]


@pytest.mark.parametrize("build, message", HYPERPARAMETERS,
                         ids=[m.split(" ")[0].replace("\\", "") + f"-{i}"
                              for i, (_, m) in enumerate(HYPERPARAMETERS)])
def test_invalid_hyperparameters(build, message):
    with pytest.raises(ValueError, match=message):
        build()


def test_valid_boundaries_are_accepted():
    # The closed ends of the documented ranges.
    Lp(2.0)
    Sparseout(1.0, 0.0)
    TargetedDropout(0.0)
    YDrop(0.0, 0.0)
    HardThreshold(0)


@pytest.mark.cases(lambda c: c.id in ("L1", "LogSum(0.5)", "VarDrop", "Standout",
                                      "Sparseout(3.0,0.3,stop)"))
def test_invalid_inputs_to_the_faces(case):
    p = case.penalty
    for bad in (NAN, [1.0, NAN], np.inf, [-np.inf, 0.0]):
        with pytest.raises(ValueError, match="w contains NaN or inf"):
            p.value(bad)
        with pytest.raises(ValueError, match="w contains NaN or inf"):
            p.eta_hat(bad)
        with pytest.raises(ValueError, match="w contains NaN or inf"):
            p.derivative(bad)
        with pytest.raises(ValueError, match="v contains NaN or inf"):
            p.prox(bad, 1.0)
    with pytest.raises(ValueError, match="w must be numeric"):
        p.value("abc")
    with pytest.raises(ValueError, match="lam must be >= 0"):
        p.keep_prob(1.0, -0.5)
    with pytest.raises(ValueError, match="c must be > 0"):
        p.keep_prob(1.0, 1.0, 0.0)
    with pytest.raises(ValueError, match="lam must be >= 0"):
        p.noise_variance(1.0, -1.0)
    with pytest.raises(ValueError, match="step must be >= 0"):
        p.prox(1.0, -0.1)
    if p.has_eta_form:
        for bad_eta in (-1.0, [0.5, -1e-9], NAN):
            with pytest.raises(ValueError, match="eta must be nonnegative"):
                p.dual(bad_eta)
    else:
        with pytest.raises(NoEtaFormError, match=r"superquadratic.*has no η-trick dual"):
            p.dual(1.0)


@pytest.mark.cases(lambda c: c.curvature == "superquadratic")
def test_superquadratic_dual_says_it_has_no_eta_form(case):
    with pytest.raises(NoEtaFormError, match=r"not an infimum of quadratics.*no η-trick dual"):
        case.penalty.dual(np.array([0.5, 2.0]))
    assert issubclass(NoEtaFormError, ValueError)


def test_conversions_reject_invalid_input():
    with pytest.raises(ValueError, match=r"alpha \(keep probability\) must be in \[0, 1\]"):
        duality.keep_prob_to_eta(1.5, 1.0)
    with pytest.raises(ValueError, match="eta must be nonnegative"):
        duality.eta_to_keep_prob(-1.0, 1.0)
    with pytest.raises(ValueError, match="lam must be >= 0"):
        duality.eta_to_keep_prob(1.0, -1.0)
    with pytest.raises(ValueError, match="sigma2 must be nonnegative"):
        duality.noise_variance_to_eta(-1.0, 1.0)
    with pytest.raises(ValueError, match="eta must be nonnegative"):
        duality.eta_to_noise_variance(NAN, 1.0)
    with pytest.raises(ValueError, match="w contains NaN or inf"):
        duality.eta_hat_from_value(np.abs, [NAN])


def test_rule_constructors_reject_invalid_rules():
    with pytest.raises(ValueError, match="eta_hat must be callable"):
        from_eta_hat(3.0)
    with pytest.raises(ValueError, match="eta_hat must map an array of t >= 0"):
        from_eta_hat(lambda t: -np.ones_like(t))
    with pytest.raises(ValueError, match=r"lam must be in \(0, inf\)"):
        from_keep_prob(lambda t: np.full_like(t, 0.5), 0.0)
    with pytest.raises(ValueError, match="keep_prob must return probabilities in"):
        from_keep_prob(lambda t: 1.0 + t, 1.0)


def test_nonseparable_faces_say_so():
    ard = ARD(np.eye(2), tau=1.0)
    with pytest.raises(ValueError, match="not separable: use total"):
        ard.value([1.0, 2.0])
    with pytest.raises(ValueError, match=r"w must have shape \(2,\)"):
        ard.total(np.ones(3))
    with pytest.raises(ValueError, match="eta must be a finite nonnegative vector"):
        ard.dual([-1.0, 1.0])
    with pytest.raises(ValueError, match="not separable"):
        HardThreshold(1).value([1.0])
    with pytest.raises(ValueError, match="not convex"):
        LogSum(1.0).to_cvxpy(None)


def test_subdiff_distance_at_zero_lambda_is_gradient_norm():
    # λ = 0: the stationarity residual is |∇L| everywhere, also at w = 0 for ℓp with p < 1,
    # whose slope at 0 is infinite (0·∞ must not leak a NaN).
    from dualreg.penalties import Lp

    d = Lp(0.5).subdiff_distance([0.0, 1.0], [0.3, -0.2], 0.0)
    np.testing.assert_array_equal(d, [0.3, 0.2])
    # With λ > 0 a zero coordinate is stationary for any finite gradient (infinite slope).
    assert Lp(0.5).subdiff_distance([0.0], [5.0], 0.1)[0] == 0.0
