r"""Figure ``ydrop-width``: Y-Drop against dropout as the hidden layer widens (Georgiou et al.
2024, "Y-Drop: a conductance-based dropout for fully connected layers").

A one-hidden-layer ReLU network 784 → d → 10 on MNIST is trained with the hidden activations h
dropped four ways:

- **none**; **dropout**: :class:`dualreg.torch.BernoulliDropout` at p = 0.5 (inverted);
- **Y-Drop (reference)**: :class:`dualreg.torch.YDrop` with ``rule="reference"`` (the code of
  efthymisgeo/regit): units ranked by the batch mean of their *signed* conductance, the top
  half dropped with p_high = 0.75 and the rest with p_low = 0.25, survivors rescaled by the mean
  keep probability 0.5;
- **Y-Drop (theory)**: ``rule="absolute"`` (this project's variant, T8): ranked by the batch
  mean of |conductance|, the same two rates, each unit rescaled by its own keep probability.

The first ``WARMUP`` of the steps use uniform dropout at 0.5 (the reference's warm-up). With
one hidden layer the head is linear, so the conductance of unit j for sample i with respect to
the logit of its true class y_i is exactly :math:`w_{y_i j}(h_{ij} - h'_j)` (Dhamdhere et al.'s
path integral telescopes) — no Riemann sum is needed; the baseline activation is h′ = 0, the
layer's default (:meth:`dualreg.torch.YDrop.head_conductance`).

At the end, the importance of unit j is :math:`m_j = \overline{|w_{y_i j} h_{ij}|}` over the
test images; the **effective fraction of important units**
:math:`(\sum_j m_j)^2 / (d\sum_j m_j^2) \in [1/d, 1]` is 1 when every unit matters equally and
k/d when k units share the importance (Y-Drop's claim: more units become important). The
right panel shows the distribution of :math:`m_j/\bar m` at the widest layer.

Budget: Adam (lr 1e-3, linear decay to 0, batch 128), ``STEPS`` steps, ``SEEDS`` training
seeds; curves are the mean over seeds with the min–max range shaded.
"""

from __future__ import annotations

import numpy as np

from dualreg.plots import _mlp
from dualreg.plots._common import Context, Output, markdown_table, mean_ci, pyplot
from dualreg.plots._parallel import map_runs
from dualreg.plots._training import accuracy, fit, seeded_init
from dualreg.plots.check import SeedMeans, Skip
from dualreg.plots.registry import figure

WIDTHS = (64, 128, 256, 512, 1024, 2048)
QUICK_WIDTHS = (32, 128)
METHODS = ("none", "dropout", "Y-Drop (reference)", "Y-Drop (theory)")
P_DROPOUT = 0.5
P_LOW, P_HIGH = 0.25, 0.75
WARMUP = 0.1  # fraction of the steps with uniform dropout at (p_low + p_high)/2
LR = 1e-3
STEPS = 1500  # ≈ 60 epochs of the 3,200 shipped training images
QUICK_STEPS = 10
SEEDS = 3
QUICK_SEEDS = 2
QUANTILES = tuple(np.round(np.linspace(0.0, 1.0, 41), 3))
SALT = 47


def _network(n_in: int, width: int, n_out: int, method: str, steps: int):
    """The untrained one-hidden-layer network with ``method``'s dropout on h."""
    import torch
    from torch import nn

    from dualreg.torch import BernoulliDropout, YDrop

    class OneHidden(nn.Module):
        def __init__(self):
            super().__init__()
            self.hidden = nn.Linear(n_in, width)
            self.head = nn.Linear(width, n_out)
            self.drop = None
            if method == "dropout":
                self.drop = BernoulliDropout(P_DROPOUT, target="input")
            elif method.startswith("Y-Drop"):
                rule = "reference" if "reference" in method else "absolute"
                self.drop = YDrop(P_LOW, P_HIGH, rule=rule, warmup=round(WARMUP * steps))

        def features(self, x):
            return torch.relu(self.hidden(x))

        def forward(self, x, labels=None):
            h = self.features(x)
            if isinstance(self.drop, YDrop):
                h = self.drop(h, weight=self.head.weight, output=labels)
            elif self.drop is not None:
                h = self.drop(h)
            return self.head(h)

    return OneHidden()


def _with_labels(model, xb, yb):
    return model(xb, yb)


def importance(model, X: np.ndarray, y: np.ndarray, device: str = "cpu") -> np.ndarray:
    r"""Per-unit :math:`m_j = \overline{|w_{y_i j} h_{ij}|}` over (X, y): the mean |conductance|
    of the hidden units for the true-class logit."""
    import torch

    with torch.no_grad():
        xb = torch.as_tensor(X, device=device)
        h = model.features(xb)
        w = model.head.weight[torch.as_tensor(y, device=device)]
        return (w * h).abs().mean(0).cpu().numpy().astype(float)


def effective_fraction(m: np.ndarray) -> float:
    r""":math:`(\sum m)^2/(d\sum m^2)`: 1 for equal importances, k/d for k equal ones."""
    total = float(np.sum(m * m))
    return float(np.sum(m)) ** 2 / (m.size * total) if total > 0 else float("nan")


def train(width: int, method: str, data: _mlp.Split, steps: int, ctx: Context, seed: int
          ) -> dict:
    """Train one (width, method, seed): test accuracy and the importance statistics."""
    with ctx.torch_threads():
        torch_seed = ctx.torch_seed(SALT, width, seed)
        model = seeded_init(lambda: _network(data.n_features, width, data.n_classes, method,
                                             steps), torch_seed).to(ctx.device)
        fit(model, data, steps=steps, lr=LR, seed=torch_seed, forward=_with_labels,
            device=ctx.device)
        m = importance(model, data.X_test, data.y_test, ctx.device)
        scaled = m / m.mean() if m.mean() > 0 else m
        return {"accuracy": accuracy(model, data.X_test, data.y_test, ctx.device),
                "effective_fraction": effective_fraction(m),
                "quantiles": np.quantile(scaled, QUANTILES).tolist()}


@figure(
    "ydrop-width",
    title="Y-Drop against dropout as the hidden layer widens, on real MNIST",
    shows=(
        "Georgiou et al. (2024): test accuracy of a 784-d-10 ReLU network against the width d "
        "for no dropout, dropout 0.5 and Y-Drop (the reference code's signed-conductance "
        "median split, and the theory's |conductance| rule; p = 0.25 / 0.75); the effective "
        "fraction of important units (Σm)²/(dΣm²) of the mean |conductance| m_j; and the "
        "distribution of m_j/m̄ at the widest layer. Mean of 3 training seeds, min–max shaded."
    ),
    claims=("T8.ydrop-denser", "T8.conductance-identity"),
    order=9,
    uses_mnist=True,
    check=(
        SeedMeans("ydrop-width.json/results/*",
                  "trained networks: means over training seeds"),
        Skip("ydrop-width_table.md", "the table's text: its numbers are checked in the JSON"),
    ),
)
def make(ctx: Context) -> Output:
    """Train every (width, method, seed); draw accuracy, effective fraction, distribution."""
    data = _mlp.network_data(ctx.mnist, ctx.rng(7), ctx.quick)
    steps = QUICK_STEPS if ctx.quick else STEPS
    widths = QUICK_WIDTHS if ctx.quick else WIDTHS
    seeds = list(range(QUICK_SEEDS if ctx.quick else SEEDS))
    # The widest runs first: the pool then finishes with short ones.
    keys = [(w, meth, s) for w in reversed(widths) for meth in METHODS for s in seeds]
    bar = ctx.bar(total=len(keys), desc=f"ydrop width ({data.name}): runs", unit="run")
    runs = map_runs(train, [(w, meth, data, steps, ctx, s) for w, meth, s in keys], ctx.jobs,
                    bar)
    bar.close()
    results: dict = {meth: {str(w): {"accuracy": [None] * len(seeds),
                                     "effective_fraction": [None] * len(seeds),
                                     "quantiles": [[None] * len(seeds) for _ in QUANTILES]}
                            for w in widths} for meth in METHODS}
    for (w, meth, s), run in zip(keys, runs, strict=True):
        cell = results[meth][str(w)]
        cell["accuracy"][s] = run["accuracy"]
        cell["effective_fraction"][s] = run["effective_fraction"]
        for q, value in enumerate(run["quantiles"]):
            cell["quantiles"][q][s] = value
    record = {"data": data.name, "n_train": len(data.y_train), "steps": steps, "lr": LR,
              "p_dropout": P_DROPOUT, "p_low": P_LOW, "p_high": P_HIGH, "warmup": WARMUP,
              "widths": list(widths), "seeds": seeds, "quantile_levels": list(QUANTILES),
              "results": results}
    fig = _draw(results, widths, data, steps, len(seeds))
    return Output(fig, {"ydrop-width.json": record,
                        "ydrop-width_table.md": _table(results, widths, data, steps, seeds)},
                  _summary(results, widths))


COLOURS = dict(zip(METHODS, ["#7f7f7f", "#1f77b4", "#d62728", "#ff7f0e"], strict=True))


def _draw(results, widths, data, steps, n_seeds):
    plt = pyplot()
    from matplotlib.ticker import FixedLocator, NullFormatter, NullLocator

    fig, axes = plt.subplots(1, 3, figsize=(13, 4.2), constrained_layout=True)
    for meth in METHODS:
        for ax, key, scale in ((axes[0], "accuracy", 100), (axes[1], "effective_fraction", 1)):
            vals = scale * np.array([results[meth][str(w)][key] for w in widths], dtype=float)
            ax.plot(widths, vals.mean(1), "-o", ms=3, color=COLOURS[meth], label=meth)
            ax.fill_between(widths, vals.min(1), vals.max(1), color=COLOURS[meth], alpha=0.15,
                            lw=0)
        q = np.array(results[meth][str(widths[-1])]["quantiles"], dtype=float).mean(1)
        axes[2].plot(q, 100 * (1 - np.asarray(QUANTILES)), color=COLOURS[meth], label=meth)
    for ax in axes[:2]:
        ax.set_xscale("log", base=2)
        ax.xaxis.set_major_locator(FixedLocator(list(widths)))
        ax.xaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:g}"))
        ax.xaxis.set_minor_locator(NullLocator())
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_xlabel("hidden width d")
    axes[0].set(ylabel="test accuracy (%)", title="accuracy")
    axes[1].set(ylabel="(Σm)² / (d Σm²)", title="effective fraction of important units")
    axes[2].set(xlabel="m_j / mean m (mean |conductance|, true class)",
                ylabel="units with at least this importance (%)",
                title=f"importance distribution at d = {widths[-1]}")
    axes[2].set_xscale("symlog", linthresh=0.1)
    axes[0].legend(frameon=False, loc="lower right")
    fig.suptitle(f"784-d-10 ReLU network on {data.name}: {len(data.y_train)} training images, "
                 f"{steps} Adam steps; Y-Drop p = {P_LOW} / {P_HIGH}, dropout {P_DROPOUT}; "
                 f"mean of {n_seeds} seeds, range shaded", fontsize=10)
    return fig


def _cell(values, scale=100.0, digits=1) -> str:
    mean, half = mean_ci(values)
    return f"{scale * mean:.{digits}f} ± {scale * half:.{digits}f}"


def _table(results, widths, data, steps, seeds) -> str:
    rows = [(str(w), meth, _cell(results[meth][str(w)]["accuracy"]),
             _cell(results[meth][str(w)]["effective_fraction"], 1.0, 3))
            for w in widths for meth in METHODS]
    return (f"784-d-10 network on {data.name}, {steps} Adam steps; mean over training seeds "
            f"{', '.join(map(str, seeds))} ± the half-width of the 95 % Student-t interval.\n\n"
            + markdown_table(["width", "training", "test accuracy (%)",
                              "effective fraction of important units"], rows))


def _summary(results, widths) -> str:
    parts = []
    for w in (widths[0], widths[-1]):
        parts.append(f"d = {w}: " + ", ".join(
            f"{meth} {100 * np.mean(results[meth][str(w)]['accuracy']):.2f} % "
            f"(effective fraction {np.mean(results[meth][str(w)]['effective_fraction']):.2f})"
            for meth in METHODS))
    return "; ".join(parts) + " (test accuracy, mean over seeds)."
