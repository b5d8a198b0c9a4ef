r"""
Your own adaptive rule: classified and certified
================================================

Write a dropout rule as a function of the weight's magnitude and dualreg tells you which
penalty it implements and what kind of penalty that is. By T6 (proofs/T6_monotone_subquadratic.md)
a rule whose keep probability grows with :math:`|w|` is a *subquadratic* penalty — an infimum of
quadratics, with an η-trick and an IRLS — while one that drops large weights more is
*superquadratic* and densifies (T8). :func:`dualreg.duality.classify` certifies the class from
second differences of :math:`\Omega(\sqrt\theta)`.
"""

import matplotlib.pyplot as plt
import numpy as np

from dualreg import duality
from dualreg.penalties import NoEtaFormError, from_keep_prob
from dualreg.plotting import plot_faces
from dualreg.solvers import irls

lam = 0.5


def saturating(t):
    """Keep large weights, drop small ones: α(t) = 0.95 − 0.85 exp(−t)."""
    return 0.95 - 0.85 * np.exp(-t)


def protect_small(t):
    """The opposite: drop large weights more, α(t) = 0.2 + 0.75 exp(−t)."""
    return 0.2 + 0.75 * np.exp(-t)


rules = [from_keep_prob(saturating, lam=lam), from_keep_prob(protect_small, lam=lam)]
for rule in rules:
    cert = duality.classify(rule)
    print(f"{rule!r}: {cert}")

# %%
# The certificate is a statement about the penalty; the round trip is one about the rule: the
# penalty's own keep probability at the same λ gives the rule back.
w = np.linspace(0.05, 4.0, 9)
for rule, alpha in zip(rules, (saturating, protect_small), strict=True):
    print(f"{rule!r}: max |α_penalty − α_rule| = "
          f"{np.max(np.abs(rule.keep_prob(w, lam) - alpha(w))):.1e}")

# %%
# The subquadratic rule has an η-trick, so the η-trick IRLS fits its penalty: training with
# the rule and fitting λΩ are the same fixed point (T5). The superquadratic one has none, and
# the solver refuses it in one line.
rng = np.random.default_rng(0)
X = rng.standard_normal((60, 5))
y = X @ np.array([1.0, 0.0, -2.0, 0.0, 0.3]) + 0.2 * rng.standard_normal(60)
print(irls(X, y, rules[0], lam))
try:
    irls(X, y, rules[1], lam)
except NoEtaFormError as err:
    print(f"{type(err).__name__}: {err}")

# %%
# Both rules' faces; the superquadratic one has no dual f (the middle-right panel says so).
fig, axes = plt.subplots(2, 4, figsize=(13, 5.6), constrained_layout=True)
for row, rule in zip(axes, rules, strict=True):
    # η up to the largest η̂ the rule reaches (λ·0.95/0.05 = 9.5): f is +∞ beyond it
    plot_faces(rule, ax=row, w=np.linspace(0.0, 4.0, 200), eta=np.geomspace(1e-2, 9.0, 200),
               lam=lam)
    row[0].set_ylabel(f"{rule!r}\n{rule.curvature_class}", fontsize=8)
