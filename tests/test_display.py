"""Readable reprs: user rules, IRLS results, verification rows, and a penalty's HTML table."""

from __future__ import annotations

import re

import numpy as np

from dualreg.penalties import LogSum, YDrop, from_eta_hat, from_keep_prob
from dualreg.solvers import irls


def keep_large(t):
    return t / (t + 1.0)


def test_rule_penalties_print_their_rule_and_parameters():
    assert repr(from_keep_prob(keep_large, lam=0.5)) == "from_keep_prob(keep_large, lam=0.5, c=1.0)"
    pen = from_keep_prob(lambda t: t / (t + 2.0), lam=0.25, c=2.0)
    assert repr(pen) == "from_keep_prob(lambda t: t / (t + 2.0), lam=0.25, c=2.0)"
    pen = from_eta_hat(lambda t: t * (t + 1), t_max=3.0)
    assert repr(pen) == "from_eta_hat(lambda t: t * (t + 1), t_max=3)"
    # two lambdas in one statement: which is which is ambiguous, so the name stays generic
    pair = [from_eta_hat(lambda t: t + 1), from_eta_hat(lambda t: t + 2)]
    assert repr(pair[0]) == "from_eta_hat(<lambda>)"
    assert repr(from_eta_hat(keep_large, name="mine")) == "from_eta_hat(mine)"
    assert repr(from_eta_hat(LogSum(eps=0.5).eta_hat)) == "from_eta_hat(LogSum(eps=0.5).eta_hat)"


def test_irls_result_repr_summarises_the_fit():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 4))
    y = X @ np.array([2.0, 0.0, -1.0, 0.0]) + 0.1 * rng.standard_normal(40)
    res = irls(X, y, LogSum(eps=0.5), 0.05)
    text = repr(res)
    assert f"converged={res.converged}" in text and f"n_iter={res.n_iter}," in text
    assert f"nonzero={np.count_nonzero(res.coef)}/4" in text
    shown = [float(v) for v in re.search(r"coef=\[([^\]]*)\]", text).group(1).split(",")]
    np.testing.assert_allclose(shown, res.coef, atol=1e-4, rtol=1e-4)
    assert "\n" not in text


def test_verification_row_repr_says_pass_or_fail():
    from dualreg.verify.registry import Row

    row = Row("T4.eta-hat", "statement", "η̂ vs closed form", 3e-10, 1e-12, "why", False, 0.1,
              seed=7)
    assert repr(row) == "<Row T4.eta-hat seed 7 FAIL: 3e-10 ≤ 1e-12 — η̂ vs closed form>"


def _table(html: str) -> tuple[list[str], list[list[str]]]:
    head = re.findall(r"<th>(.*?)</th>", html)
    rows = [re.findall(r"<td>(.*?)</td>", r) for r in re.findall(r"<tr>(.*?)</tr>", html)[1:]]
    return head, rows


def test_penalty_html_table_holds_the_faces():
    head, rows = _table(LogSum(eps=1.0)._repr_html_())
    assert head == ["|w|", "Ω(w)", "η̂(w)", "f(η̂)", "α (λ = c = 1)"]
    at_one = next(r for r in rows if r[0] == "1")
    # LogSum(1) at |w| = 1: Ω = log 2, η̂ = |w|(|w| + ε) = 2, α = η̂/(η̂ + 1) = 2/3, and the
    # η-trick identity Ω = ½(w²/η̂ + f(η̂)) gives f(η̂) = 2 log 2 − 1/2.
    np.testing.assert_allclose([float(v) for v in at_one[1:]],
                               [np.log(2), 2.0, 2 * np.log(2) - 0.5, 2 / 3], rtol=1e-3)
    head, _ = _table(YDrop()._repr_html_())
    assert "f(η̂)" not in head  # superquadratic: no dual column
