"""``dualreg.lookalike``: the certified sup gap and the best classical match (proofs/T10) on
cases with known answers, and its argument checks."""

from __future__ import annotations

import numpy as np
import pytest

from dualreg import lookalike
from dualreg.lookalike import FAMILIES, Family, best_match, pairing_gap, sup_gap, tail_slope
from dualreg.penalties import (
    MCP,
    SCAD,
    HardConcrete,
    LogSum,
    Lp,
    Penalty,
    Rescaled,
    Ridge,
    Sparseout,
    VarDrop,
)


@pytest.mark.parametrize(("target", "family", "params", "scale"), [
    (LogSum(0.7), "LogSum", {"eps": 0.7}, 1.0),
    # Ω(w/2) = log(|w| + 1) − log 2: measured from 0 it is LogSum(1) at λ = 1.
    (Rescaled(LogSum(0.5), 2.0), "LogSum", {"eps": 1.0}, 1.0),
    (MCP(1.3, 1.0), "MCP", {"b": 1.3}, 1.0),
    (MCP(0.5, 2.0), "MCP", {"b": 1.0}, 1.0),
    # stop-gradient Sparseout with v = 3: (v/q)|w|^q = 3·|w|^1.5/1.5.
    (Sparseout(q=1.5, drop=0.75, grad="stop"), "Lp", {"p": 1.5}, 3.0),
    (SCAD(3.0, 0.8), "SCAD", {"a": 3.0, "s": 0.8}, 1.0),
])
def test_a_member_of_the_family_is_recovered_with_gap_zero(target, family, params, scale):
    m = best_match(target, family, interval=(0.0, 4.0))
    assert m.gap < 1e-5
    assert m.scale == pytest.approx(scale, rel=1e-3)
    for k, v in params.items():
        assert m.params[k] == pytest.approx(v, rel=1e-3)
    # An exact match (gap ≈ 0) needs cells of width tol/slope to certify to 1e-7; the bounded
    # refinement stops earlier and says so through gap_upper.
    assert m.gap <= m.gap_upper < 1e-4


def test_ridge_against_scaled_l1_is_the_hand_computed_minimax():
    # min_λ max_{0≤t≤1} |t²/2 − λt|: the interior extremum −λ²/2 (at t = λ) equioscillates with
    # the end value 1/2 − λ, so λ² + 2λ − 1 = 0: λ = √2 − 1 and the gap is (3 − 2√2)/2.
    l1 = Family("L1", lambda x: Lp(1.0), lambda x: {}, ((0.0, 0.0),), ((0.0, 0.0),))
    m = best_match(Ridge(), l1, interval=(0.0, 1.0))
    assert m.scale == pytest.approx(np.sqrt(2.0) - 1.0, abs=1e-6)
    assert m.gap == pytest.approx((3.0 - 2.0 * np.sqrt(2.0)) / 2.0, abs=1e-7)
    assert m.argmax == pytest.approx(1.0, abs=1e-6) or m.argmax == pytest.approx(m.scale, 1e-3)


def test_sup_gap_is_the_sup_of_the_definition_on_a_dense_grid():
    t = np.linspace(0.0, 5.0, 500_001)
    brute = np.max(np.abs(VarDrop().value(t) - 2.0 * np.log1p(t / 2.0)))
    gap, where, upper = sup_gap(VarDrop(), LogSum(2.0), 2.0)
    # |e'| ≤ 1 + 1 on [0, 5]: the dense grid is within 2·h/2 = 1e-5 of the sup.
    assert brute - 1e-12 <= upper and abs(gap - brute) <= 1e-5
    assert upper - gap <= 1e-7 and 0.0 <= where <= 5.0


def test_sup_gap_covers_the_infinite_slope_of_lp_at_zero():
    # |w|^0.1/0.1 against 0: the sup on [0, 1e-6] is at the right end, 10·1e-6^0.1.
    gap, where, upper = sup_gap(Lp(0.1), MCP(1.0, 1.0), 1e-12, interval=(0.0, 1e-6))
    assert gap == pytest.approx(10.0 * 1e-6**0.1, rel=1e-6) and where == pytest.approx(1e-6)
    assert upper <= gap + 1e-7


def test_tail_slopes_and_divergence():
    assert tail_slope(VarDrop()) == pytest.approx(1.0, abs=1e-9)
    assert tail_slope(LogSum(2.0), 2.0) == pytest.approx(2.0 * 1e6 / (1e6 + 2.0), rel=1e-12)
    assert tail_slope(HardConcrete()) == 0.0 and tail_slope(MCP(1.0, 1.0)) == 0.0
    drawn = pairing_gap(VarDrop(), LogSum(2.0), 2.0)
    assert drawn.diverges
    assert not pairing_gap(HardConcrete(), MCP(0.5, np.sqrt(2.0)), np.sqrt(2.0)).diverges
    assert not pairing_gap(VarDrop(), LogSum(0.3), 1.0).diverges


def test_paper_pairings_are_the_figures_and_their_best_is_better():
    labels = [p.label for p in lookalike.PAPER_PAIRINGS]
    assert labels == ["VarDrop ≈ 2·LogSum(2)", "HardConcrete ≈ √2·MCP(½, √2)"]
    hc = lookalike.PAPER_PAIRINGS[1]
    drawn, best = lookalike.compare(hc)
    assert best.gap < drawn.gap and best.family == "MCP"


class _Decreasing(Penalty):
    def _omega(self, t):
        return -t

    def _slope(self, t):
        return -np.ones_like(t)

    def _eta_hat(self, t):
        return np.full_like(t, np.inf)

    def _dual(self, eta):
        return np.zeros_like(eta)


@pytest.mark.parametrize(("call", "match"), [
    (lambda: best_match(VarDrop(), "Huber"), "family must be one of LogSum, MCP, SCAD, Lp"),
    (lambda: best_match(np.log1p, "LogSum"), "penalty must be a separable dualreg Penalty"),
    (lambda: best_match(VarDrop(), "LogSum", interval=(5.0, 1.0)), "interval must have lo < hi"),
    (lambda: best_match(VarDrop(), "LogSum", interval=(-1.0, 1.0)), r"interval\[0\] must be in"),
    (lambda: best_match(VarDrop(), "LogSum", interval=(0.0, np.inf)), r"interval\[1\] must be a"),
    (lambda: best_match(VarDrop(), "LogSum", interval="wide"), "interval must be a pair"),
    (lambda: best_match(VarDrop(), "LogSum", scale=-1.0), "scale must be in"),
    (lambda: sup_gap(VarDrop(), LogSum(1.0), tol=0.0), "tol must be in"),
    (lambda: sup_gap(VarDrop(), "LogSum"), "member must be a separable dualreg Penalty"),
    (lambda: sup_gap(_Decreasing(), LogSum(1.0)), "target decreases on the interval"),
    (lambda: tail_slope(VarDrop(), w_tail=0.0), "w_tail must be in"),
])
def test_bad_arguments_raise_one_clear_value_error(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_families_are_the_four_stated():
    assert list(FAMILIES) == ["LogSum", "MCP", "SCAD", "Lp"]
