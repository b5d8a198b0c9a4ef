r"""
Sparseout is an ℓq penalty: Monte-Carlo training against IRLS
=============================================================

Sparseout perturbs a weight by :math:`\operatorname{sgn}(w)|w|^{q/2}\xi` with a dropout noise
ξ of odds :math:`v = \delta/(1-\delta)`. Averaged over the noise, training a linear model with
it (stop-gradient convention) minimises
:math:`L(w) + \tfrac vq\sum_j c_j|w_j|^q`, with :math:`c_j` the column scales
(proofs/T3_sparseout_lq.md). We train replicas with real sampled noise in PyTorch, average
them (Polyak), and compare with the deterministic IRLS solution of the ℓq problem.
"""

import matplotlib.pyplot as plt
import numpy as np

from dualreg.solvers import irls
from dualreg.torch import Sparseout, monte_carlo

rng = np.random.default_rng(1)
n, d = 200, 4
X = rng.standard_normal((n, d)) * np.array([1.0, 2.0, 0.5, 1.5])
w_true = np.array([2.0, -1.0, 1.5, -0.5])
y = X @ w_true + 0.5 * rng.standard_normal(n)

drop, q = 0.2, 1.5
layer = Sparseout(drop, q, grad="stop")
penalty = layer.penalty()  # (v/q)|w|^q
c = (X**2).mean(axis=0)  # the column scales c_j = ‖X_j‖²/n
print(penalty)

# %%
# IRLS with the per-coordinate weights :math:`\lambda_j = c_j`.
fit = irls(X, y, penalty, c, fit_intercept=False)
print(fit)

# %%
# 32 replicas of noisy SGD, averaged after a burn-in; the spread gives standard errors.
ols = np.linalg.lstsq(X, y, rcond=None)[0]
mc = monte_carlo(X, y, layer, replicas=32, steps=1500, lr=0.05, schedule="inverse_sqrt",
                 init=ols, seed=0, progress=False)
z = (mc.coef_mean - fit.coef) / mc.coef_se
for j in range(d):
    print(f"w{j}: IRLS {fit.coef[j]: .4f}  Monte Carlo {mc.coef_mean[j]: .4f} "
          f"± {mc.coef_se[j]:.4f}  (z = {z[j]: .2f})")

# %%
fig, ax = plt.subplots(figsize=(7, 3.2), constrained_layout=True)
ax.errorbar(np.arange(d), mc.coef_mean, yerr=2 * mc.coef_se, fmt="o", label="Monte Carlo ± 2 SE")
ax.plot(np.arange(d), fit.coef, "x", ms=10, label="IRLS (ℓq penalty)")
ax.plot(np.arange(d), ols, "+", ms=10, label="least squares")
ax.set(xticks=range(d), xlabel="coordinate j", ylabel="w_j", title=f"Sparseout, q = {q:g}")
ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
