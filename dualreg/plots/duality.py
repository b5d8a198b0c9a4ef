r"""Figure ``duality``: Monte-Carlo adaptive dropout against the IRLS solution.

A gaussian linear model (n = 200, d = 6, standardised columns so that every column scale is
:math:`c_j = \|X_{:,j}\|^2/n = 1`, true weights (2, −1.5, 1, 0.5, 0, 0), noise 0.5) is trained by
SGD on the sampled dropout loss with real masks (:func:`dualreg.torch.monte_carlo`, K replicas,
shared start at the least-squares solution, step ``lr·min(1, √(t₀/t))`` with t₀ = T/2, Polyak
average over the second half). Two rules:

- **Bernoulli** — :class:`dualreg.torch.AdaptiveDropout` implementing λ·LogSum(ε = 0.1), λ = 0.05,
  keep probability :math:`\alpha_j = \max(c_j\hat\eta(w_j)/(c_j\hat\eta(w_j)+\lambda), 0.2)`
  recomputed from the current weights every step. Its fixed point is the IRLS solution of the
  *floored* penalty the layer implements (``layer.effective_penalty``, docs/conventions.md §4 and
  T5).
- **Sparseout** — :class:`dualreg.torch.Sparseout` on the weights, drop 0.2, q = 1.5,
  stop-gradient convention: adaptive dropout with odds :math:`v|w|^{q-2}`, whose fixed point is
  the IRLS solution of :math:`L + (v/q)\sum_j c_j|w_j|^q` (T3).

Both references come from :func:`dualreg.solvers.irls` (tol 1e-12). Left panels: the Polyak
average over steps t/2…t of the replica mean, against t, with the IRLS coefficients dashed.
Right: for T in a doubling grid, an independent run of T steps; the RMS distance of the K
per-replica averages to the IRLS solution against T on log–log axes, with the least-squares
slope (−½ is the Polyak–Ruppert rate). The summary gives the largest z-score
:math:`|\bar w - w_{IRLS}|/se` separately for coefficients within 0.05 of zero, where the noise
is heavy-tailed (docs/conventions.md §6): for Sparseout with q < 2 the stop-gradient factor
:math:`|w|^{(q-2)/2}` diverges there and a finite-step bias remains visible.
"""

from __future__ import annotations

import numpy as np

from dualreg import datasets
from dualreg.plots._common import Context, Output, loglog_slope, pyplot
from dualreg.plots.check import Close
from dualreg.plots.registry import figure

W_TRUE = np.array([2.0, -1.5, 1.0, 0.5, 0.0, 0.0])
N = 200
LAM = 0.05
KEEP_FLOOR = 0.2
EPS = 0.1
DROP, Q = 0.2, 1.5
NEAR_ZERO = 0.05  # coefficients reported apart: heavy-tailed noise near 0 (docs/conventions.md §6)


def design(ctx: Context) -> tuple[np.ndarray, np.ndarray]:
    """The seeded gaussian design (unit column scales) and response."""
    rng = ctx.rng(3)
    X = datasets.gaussian_design(rng, N, W_TRUE.size, unit_scale=True)
    return X, datasets.response(rng, X @ W_TRUE, noise=0.5)


def problems(X: np.ndarray, y: np.ndarray) -> list[dict]:
    """For each rule: label, the torch layer, the IRLS reference and the SGD step size."""
    from dualreg.penalties import LogSum
    from dualreg.penalties import Sparseout as SparseoutPenalty
    from dualreg.solvers import irls
    from dualreg.torch import AdaptiveDropout, Sparseout

    n = X.shape[0]
    c = (X**2).sum(0) / n
    w0 = np.linalg.solve(X.T @ X, X.T @ y)
    bern = AdaptiveDropout(LogSum(EPS), LAM, keep_floor=KEEP_FLOOR)
    ref_b = irls(X, y, bern.effective_penalty(float(c.mean())), LAM, fit_intercept=False,
                 init=w0, tol=1e-12).coef
    spo = Sparseout(DROP, Q, grad="stop")
    ref_s = irls(X, y, SparseoutPenalty(Q, DROP, grad="stop"), c, fit_intercept=False, init=w0,
                 tol=1e-12).coef
    return [
        {"key": "bernoulli", "label": f"Bernoulli, adaptive λ·LogSum(ε={EPS}), λ={LAM}, "
                                      f"keep floor {KEEP_FLOOR}",
         "layer": bern, "reference": ref_b, "lr": 0.02, "init": w0},
        {"key": "sparseout", "label": f"Sparseout (stop-gradient), q={Q}, drop {DROP}",
         "layer": spo, "reference": ref_s, "lr": 0.05, "init": w0},
    ]


@figure(
    "duality",
    title="Monte-Carlo adaptive dropout against the IRLS solution",
    shows=(
        "The Bernoulli LogSum rule converges (within a few se of IRLS on every coefficient); "
        "stop-gradient Sparseout (q = 1.5) does not within the run on its coefficients near 0, "
        "where its noise factor |w|^((q−2)/2) diverges (see the measured line). "
        "Gaussian linear model. Adaptive Bernoulli dropout implementing λ·LogSum (with its keep "
        "floor) and Sparseout (stop-gradient, q = 1.5) trained by SGD with real masks, K replicas:"
        " running Polyak averages of the coefficients against the IRLS solution of the same "
        "(floored) penalty, and the RMS error of the per-replica averages against the number of "
        "steps on log–log axes with the fitted slope."
    ),
    claims=("T5.dropout-step-is-irls-step", "T9.adaptive-irls", "T3.stop-gradient-constant",
            "T9.expected-gradient"),
    order=2,
    check=(Close("duality.json/*", rtol=1e-6, atol=1e-9,
                 why="seeded float64 Monte Carlo of a linear model: rounding moves it by "
                 "~1e-12 unless a Bernoulli mask falls the other way"),),
)
def make(ctx: Context) -> Output:
    """Run the Monte-Carlo replicas and draw the figure."""
    from dualreg.torch import monte_carlo

    plt = pyplot()
    X, y = design(ctx)
    steps = [250, 500, 1000] if ctx.quick else [500, 1000, 2000, 4000, 8000]
    replicas = 16 if ctx.quick else 32
    results = {}
    with ctx.torch_threads():
        probs = problems(X, y)
        bar = ctx.bar(total=len(probs) * sum(steps), desc="duality: Monte-Carlo steps")
        for k, prob in enumerate(probs):
            runs = []
            for i, T in enumerate(steps):
                res = monte_carlo(X, y, prob["layer"], replicas=replicas, steps=T, lr=prob["lr"],
                                  schedule="inverse_sqrt", init=prob["init"],
                                  seed=ctx.torch_seed(100 * k + i), device=ctx.device,
                                  progress=False, trace_every=1)
                runs.append(res)
                bar.update(T)
            results[prob["key"]] = (prob, runs)
        bar.close()

    fig, axes = plt.subplots(1, 3, figsize=(14, 4.2), constrained_layout=True)
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    data: dict = {"settings": {"n": N, "w_true": W_TRUE, "replicas": replicas, "steps": steps,
                               "schedule": "inverse_sqrt", "burn_in": "T/2",
                               "seed": ctx.seed}, "methods": {}}
    summary = []
    markers = {"bernoulli": "o", "sparseout": "s"}
    for ax, (key, (prob, runs)) in zip(axes[:2], results.items(), strict=True):
        ref = prob["reference"]
        longest = runs[-1]
        trace = longest.trace["coef"]  # (T, d): replica mean of the current iterate
        t = np.arange(1, trace.shape[0] + 1)
        csum = np.vstack([np.zeros((1, trace.shape[1])), np.cumsum(trace, axis=0)])
        half = t // 2
        running = (csum[t] - csum[half]) / (t - half)[:, None]
        shown = np.unique(np.geomspace(10, t[-1], 300).astype(int)) - 1
        se = longest.coef_se
        for j in range(ref.size):
            ax.plot(t[shown], running[shown, j] - ref[j], color=colours[j], lw=1.4,
                    label=f"w{j + 1} = {ref[j]:.3g}")
        ax.axhspan(-2 * se.max(), 2 * se.max(), color="0.5", alpha=0.15, lw=0,
                   label="±2 se, final (largest)")
        ax.axhline(0.0, color="black", lw=0.8)
        ax.set_xscale("log")
        ax.set_yscale("symlog", linthresh=1e-3, linscale=0.6)
        ax.set(xlabel="SGD step t", ylabel="Polyak average over t/2…t  −  IRLS solution",
               title=prob["label"], xlim=(10, t[-1]))
        ax.title.set_fontsize(9)
        ax.legend(ncol=3, loc="upper center", bbox_to_anchor=(0.5, -0.16), frameon=False,
                  fontsize=7.5, title="replica mean − IRLS solution (the IRLS value)",
                  title_fontsize=7.5, handlelength=1.2, columnspacing=0.8)
        rms = np.array([np.sqrt(np.mean(np.sum((r.coef - ref) ** 2, axis=1))) for r in runs])
        mean_err = np.array([np.linalg.norm(r.coef_mean - ref) for r in runs])
        z = np.abs(runs[-1].coef_mean - ref) / runs[-1].coef_se
        slope, icpt, slope_se = loglog_slope(steps, rms)
        colour = "#1f77b4" if key == "bernoulli" else "#d62728"
        axes[2].loglog(steps, rms, marker=markers[key], color=colour, lw=1.5,
                       label=f"{key}: slope {slope:.2f} ± {slope_se:.2f}")
        axes[2].loglog(steps, np.exp(icpt) * np.asarray(steps, float) ** slope, ":",
                       color=colour, lw=1)
        data["methods"][key] = {
            "label": prob["label"], "irls": ref, "lr": prob["lr"],
            "steps": steps, "rms_error": rms, "error_of_replica_mean": mean_err,
            "fitted_slope": slope, "z_scores_longest_run": z,
            "mc_mean_longest_run": runs[-1].coef_mean, "mc_se_longest_run": runs[-1].coef_se,
            "trace_steps": t[shown], "trace_running_average": running[shown],
        }
        far = np.abs(ref) >= NEAR_ZERO
        summary.append(
            f"{key}: RMS error slope {slope:.2f}; at T = {steps[-1]} the replica mean is within "
            f"{z[far].max():.1f} se of IRLS on the coefficients with |w| ≥ {NEAR_ZERO:g}"
            + (f" and {z[~far].max():.1f} se on those nearer 0" if (~far).any() else "")
        )
    ref_line = rms[0] * (np.asarray(steps, float) / steps[0]) ** -0.5
    axes[2].loglog(steps, ref_line, color="gray", lw=1, ls="-", alpha=0.6, label="slope −½")
    from matplotlib.ticker import FixedLocator, LogLocator, NullFormatter, NullLocator

    axes[2].xaxis.set_major_locator(FixedLocator(steps))
    axes[2].xaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:g}"))
    axes[2].xaxis.set_minor_locator(NullLocator())
    axes[2].yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    axes[2].yaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:.0e}".replace(
        "e-0", "e-")))
    axes[2].yaxis.set_minor_formatter(NullFormatter())
    axes[2].set(xlabel="steps T (Polyak average over T/2…T)",
                ylabel="RMS ‖w̄_k − w_IRLS‖₂ over replicas",
                title="distance to the IRLS solution")
    axes[2].legend(frameon=False)
    fig.suptitle("Adaptive dropout trained with real masks against the η-trick IRLS solution "
                 "of its effective penalty (Sparseout q = 1.5 keeps a bias near 0)", fontsize=10)
    return Output(fig, {"duality.json": data}, "; ".join(summary) + ".")
