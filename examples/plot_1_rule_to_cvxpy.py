r"""
A dropout rule, its penalty, its faces, an IRLS fit, and cvxpy
==============================================================

Adaptive dropout keeps weight :math:`w_j` with a probability that depends on it. Here the rule
is :math:`\alpha(t) = ct/(ct + \lambda)`: large weights are kept, small ones dropped. By
docs/conventions.md §4 a keep probability is a reweighting
:math:`\hat\eta(t) = \lambda\alpha(t)/(c(1-\alpha(t)))`, and this one gives
:math:`\hat\eta(t) = t`: the rule is the ℓ1 penalty (the lasso) in disguise. We build the
penalty from the rule alone, draw its faces, fit it by the η-trick IRLS, and solve the same
lasso problem with cvxpy.
"""

import matplotlib.pyplot as plt
import numpy as np

from dualreg import duality
from dualreg.penalties import L1, from_keep_prob
from dualreg.plotting import plot_faces
from dualreg.solvers import irls
from dualreg.solvers.reference import solve_reference

lam, c = 0.1, 1.0


def keep_large(t):
    """Keep probability of a weight of magnitude t."""
    return c * t / (c * t + lam)


rule = from_keep_prob(keep_large, lam=lam, c=c)
print(rule)
print(duality.classify(rule))

# %%
# The penalty of the rule is ℓ1: :math:`\Omega(w) = |w|` (its value is an integral of the rule,
# computed numerically, compared here with the closed form).
w = np.linspace(0.0, 3.0, 7)
print(np.c_[w, rule.value(w), L1().value(w)])

# %%
# Its four faces: Ω, the reweighting η̂, the η-trick dual f and the keep probability.
fig, axes = plt.subplots(1, 4, figsize=(13, 3), constrained_layout=True)
plot_faces(rule, ax=axes, w=np.linspace(0.0, 3.0, 200), lam=lam, c=c)
fig.suptitle(repr(rule))

# %%
# Fit :math:`\tfrac1{2n}\|y - Xw - b\|^2 + \lambda\Omega(w)` by the η-trick IRLS with the
# rule's penalty, then the same problem with the ℓ1 atom in cvxpy (Clarabel).
rng = np.random.default_rng(0)
X = rng.standard_normal((80, 6))
w_true = np.array([1.5, 0.0, -2.0, 0.0, 0.0, 0.7])
y = X @ w_true + 0.3 * rng.standard_normal(80)

fit = irls(X, y, rule, lam)
ref = solve_reference(X, y, L1(), lam)
print(fit)
print("IRLS :", np.round(fit.coef, 4))
print("cvxpy:", np.round(ref.coef, 4), ref.status)
print("largest difference:", np.max(np.abs(fit.coef - ref.coef)))
