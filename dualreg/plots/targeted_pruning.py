r"""Figure ``targeted-pruning``: networks trained with targeted dropout survive magnitude
pruning (Gomez et al. 2019, the headline of "Learning Sparse Networks Using Targeted Dropout").

Two classifiers on MNIST — LeNet-300-100 (784-300-100-10) and a small CNN
(:func:`dualreg.plots._networks.small_cnn`) — are trained five ways, the dropout acting on the
weights of every layer but the classifier head (the layers that are pruned):

- **none**: no dropout;
- **dropout**: inverted Bernoulli dropout on the weights (:class:`dualreg.torch.BernoulliDropout`,
  DropConnect) at rate p·γ, the fraction targeted dropout drops on average;
- **targeted (weight)** / **targeted (unit)**: :class:`dualreg.torch.TargetedDropout` with
  drop probability p on the bottom-γ weights of every output unit, or on the bottom-γ units by
  L2 norm, ramped with the reference code's piecewise schedule over the first half of training;
- **TD penalty**: no dropout, but the weight-mode layer's effective penalty trained explicitly,
  the trimmed ridge :math:`\tfrac12\frac{p_t}{1-p_t}\sum_{j\ \mathrm{targeted}} c_j w_j^2`
  (``docs/conventions.md``; c_j the minibatch second moment of the input that w_j multiplies —
  per input feature of a linear layer, per input channel of a convolution), the targeted set
  and (p_t, γ_t) those of the same ramped layer. It is the η-trick's quadratic form of the
  dropout noise (exact for a squared loss; for the cross-entropy of a network it is the
  gaussian-likelihood version).

After training, a fraction f of the weights (per output unit, smallest |w|) or of the units
(smallest row norm; row and bias zeroed) of the pruned layers is removed by magnitude
(:func:`dualreg.torch.pruning.prune`) and the test accuracy measured, for f from 0 to 0.99.

Budget: Adam (lr 1e-3, linear decay to 0, batch 128), ``STEPS`` steps (quick: ``QUICK_STEPS``),
``SEEDS`` training seeds (initialisation, minibatch order, masks) on one data split; curves are
the mean over seeds with the min–max range shaded; the table gives mean ± the half-width of the
95 % Student-t interval.
"""

from __future__ import annotations

import numpy as np

from dualreg.plots import _mlp, _networks
from dualreg.plots._common import Context, Output, markdown_table, mean_ci, pyplot
from dualreg.plots._parallel import map_runs
from dualreg.plots._training import accuracy, fit, seeded_init
from dualreg.plots.check import SeedMeans, Skip
from dualreg.plots.registry import figure

P = 0.66  # drop probability of a targeted weight or unit (Gomez et al.'s α = 0.66, γ = 0.75)
GAMMA = 0.75
DROPOUT = 0.5  # ≈ p·γ = 0.495, the fraction of weights targeted dropout drops on average
LR = 1e-3
STEPS = 3000  # 120 epochs of the 3,200 shipped training images
QUICK_STEPS = 10
SEEDS = 3
QUICK_SEEDS = 2
FRACTIONS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 0.99)
QUICK_FRACTIONS = (0.0, 0.5, 0.75, 0.9)
MODELS = ("LeNet-300-100", "CNN")
METHODS = ("none", "dropout", "targeted (weight)", "targeted (unit)", "TD penalty")
KINDS = ("weight", "unit")
SALT = 31


def build(model: str, data: _mlp.Split):
    """The untrained ``model`` for ``data``."""
    if model == "LeNet-300-100":
        return _networks.mlp([data.n_features, 300, 100, data.n_classes])
    side = round(data.n_features**0.5)
    return _networks.small_cnn(data.n_classes, side)


class TrimmedRidge:
    r"""The explicit effective penalty of weight-mode targeted dropout on ``modules``:
    :math:`\tfrac12\frac{p_t}{1-p_t}\sum_{\mathrm{targeted}} c_j w_j^2`, with the targeted
    set and schedule of ``layer`` (a :class:`dualreg.torch.TargetedDropout` not attached to
    anything) and c_j from each module's input, recorded by a forward pre-hook."""

    def __init__(self, modules, layer):
        self.modules = list(modules)
        self.layer = layer
        self.inputs: dict[int, object] = {}
        self.hooks = [m.register_forward_pre_hook(self._record) for m in self.modules]

    def _record(self, module, args):
        self.inputs[id(module)] = args[0].detach()

    def _second_moment(self, module):
        x = self.inputs[id(module)]
        if x.dim() == 2:  # linear: per input feature
            return (x * x).mean(0)
        c = (x * x).mean(dim=[d for d in range(x.dim()) if d != 1])  # conv: per channel
        return c.view(1, -1, *(1,) * (x.dim() - 2))

    def __call__(self, model, xb):
        p = self.layer.current_p()
        if p == 0.0:
            return 0.0
        total = 0.0
        for module in self.modules:
            w = module.weight
            targeted = self.layer.targeted_mask(w)
            total = total + (targeted * self._second_moment(module) * w * w).sum()
        return 0.5 * p / (1.0 - p) * total

    def step(self, model, step):
        self.layer.step()

    def remove(self):
        for hook in self.hooks:
            hook.remove()


def train(model_name: str, method: str, data: _mlp.Split, steps: int,
          fractions: tuple[float, ...], ctx: Context, seed: int) -> dict:
    """Train one (model, method, seed); test accuracy after pruning each fraction."""
    from torch.nn.utils import parametrize

    from dualreg.torch import BernoulliDropout, TargetedDropout, parametrize_weight
    from dualreg.torch.pruning import prunable_modules, prune

    with ctx.torch_threads():
        torch_seed = ctx.torch_seed(SALT, MODELS.index(model_name), seed)
        model = seeded_init(lambda: build(model_name, data), torch_seed)
        layers = prunable_modules(model)
        ramp = max(steps // 2, 1)
        penalty = on_step = None
        for module in layers:
            if method == "dropout":
                parametrize_weight(module, BernoulliDropout(DROPOUT))
            elif method.startswith("targeted"):
                mode = "weight" if "weight" in method else "unit"
                parametrize_weight(module, TargetedDropout(P, GAMMA, mode=mode, ramp=ramp,
                                                           schedule="piecewise"))
        if method == "TD penalty":
            ridge = TrimmedRidge(layers, TargetedDropout(P, GAMMA, ramp=ramp,
                                                         schedule="piecewise"))
            penalty, on_step = ridge, ridge.step
        model.to(ctx.device)
        fit(model, data, steps=steps, lr=LR, seed=torch_seed, penalty=penalty,
            on_step=on_step, device=ctx.device)
        if method == "TD penalty":
            ridge.remove()
        for module in layers:
            if parametrize.is_parametrized(module, "weight"):
                parametrize.remove_parametrizations(module, "weight", leave_parametrized=False)
        trained = {k: v.clone() for k, v in model.state_dict().items()}
        out: dict = {}
        for kind in KINDS:
            out[kind] = []
            for fraction in fractions:
                model.load_state_dict(trained)
                prune(layers, fraction, kind)
                out[kind].append(accuracy(model, data.X_test, data.y_test, ctx.device))
        return out


@figure(
    "targeted-pruning",
    title="Targeted dropout: robustness to magnitude pruning on real MNIST",
    shows=(
        "Gomez et al. (2019): test accuracy of LeNet-300-100 and a small CNN on MNIST against "
        "the fraction of weights (per output unit) or units pruned by magnitude after "
        "training, for no dropout, weight dropout at the same average rate, targeted dropout "
        "on weights and on units (p = 0.66 on the bottom γ = 0.75, dashed), and the targeted "
        "dropout's effective penalty (a trimmed ridge) trained explicitly; mean of 3 training "
        "seeds, min–max shaded."
    ),
    claims=("T7.targeted-dropout", "T7.targeted-training"),
    order=7,
    uses_mnist=True,
    check=(
        SeedMeans("targeted-pruning.json/accuracy/*",
                  "test accuracy of trained networks: a mean over training seeds"),
        Skip("targeted-pruning_table.md", "the table's text: its numbers are checked in the "
             "JSON"),
    ),
)
def make(ctx: Context) -> Output:
    """Train every (model, method, seed), prune, and draw accuracy against pruned fraction."""
    data = _mlp.network_data(ctx.mnist, ctx.rng(7), ctx.quick)
    steps = QUICK_STEPS if ctx.quick else STEPS
    seeds = list(range(QUICK_SEEDS if ctx.quick else SEEDS))
    fractions = QUICK_FRACTIONS if ctx.quick else FRACTIONS
    keys = [(m, meth, s) for m in MODELS for meth in METHODS for s in seeds]
    bar = ctx.bar(total=len(keys), desc=f"targeted pruning ({data.name}): runs", unit="run")
    runs = map_runs(train, [(m, meth, data, steps, fractions, ctx, s) for m, meth, s in keys],
                    ctx.jobs, bar)
    bar.close()
    acc = {m: {meth: {kind: [[None] * len(seeds) for _ in fractions] for kind in KINDS}
               for meth in METHODS} for m in MODELS}
    for (m, meth, s), run in zip(keys, runs, strict=True):
        for kind in KINDS:
            for i, value in enumerate(run[kind]):
                acc[m][meth][kind][i][s] = value
    record = {"data": data.name, "n_train": len(data.y_train), "n_test": len(data.y_test),
              "steps": steps, "lr": LR, "p": P, "gamma": GAMMA, "dropout_rate": DROPOUT,
              "fractions": list(fractions), "seeds": seeds, "accuracy": acc}
    fig = _draw(acc, data, steps, len(seeds), fractions)
    return Output(fig, {"targeted-pruning.json": record,
                        "targeted-pruning_table.md": _table(acc, data, steps, seeds, fractions)},
                  _summary(acc, fractions))


COLOURS = dict(zip(METHODS, ["#7f7f7f", "#1f77b4", "#d62728", "#ff7f0e", "#2ca02c"],
                   strict=True))
STYLES = dict(zip(METHODS, ["-", "-", "-", "-", "--"], strict=True))


def _draw(acc, data, steps, n_seeds, fractions):
    plt = pyplot()
    fig, axes = plt.subplots(2, 2, figsize=(11, 7.4), sharex=True, sharey=True,
                             constrained_layout=True)
    x = 100 * np.asarray(fractions)
    for r, m in enumerate(MODELS):
        for c, kind in enumerate(KINDS):
            ax = axes[r, c]
            for meth in METHODS:
                curves = 100 * np.asarray(acc[m][meth][kind], dtype=float)  # (fractions, seeds)
                ax.plot(x, curves.mean(1), STYLES[meth], color=COLOURS[meth], lw=1.6,
                        marker="o", ms=3, label=meth)
                ax.fill_between(x, curves.min(1), curves.max(1), color=COLOURS[meth],
                                alpha=0.15, lw=0)
            ax.axvline(100 * GAMMA, color="k", ls=":", lw=1)
            ax.axhline(100 / data.n_classes, color="0.6", ls="--", lw=0.8)
            ax.set_title(f"{m}: {kind}s pruned by magnitude")
            ax.set_ylim(0, 100)
            ax.set_xlim(0, 100)
            if r == 1:
                ax.set_xlabel(f"{kind}s pruned (%)" + (", per output unit" if kind == "weight"
                                                       else ", by row norm"))
            if c == 0:
                ax.set_ylabel("test accuracy (%)")
    axes[0, 0].text(100 * GAMMA, 3, " targeted γ", fontsize=8)
    axes[0, 0].text(1, 100 / data.n_classes + 1.5, "chance", fontsize=8, color="0.4")
    axes[0, 0].legend(frameon=False, loc="lower left", bbox_to_anchor=(0.0, 0.12))
    fig.suptitle(f"Magnitude pruning after training on {data.name}: {len(data.y_train)} "
                 f"training images, {steps} Adam steps\ntargeted dropout p = {P}, γ = {GAMMA}; "
                 f"dropout {DROPOUT}; mean of {n_seeds} seeds, range shaded", fontsize=10)
    return fig


def _cell(values) -> str:
    mean, half = mean_ci(values)
    return f"{100 * mean:.1f} ± {100 * half:.1f}"


def _table(acc, data, steps, seeds, fractions) -> str:
    shown = [f for f in (0.0, 0.5, GAMMA, 0.9) if f in fractions]
    cols = [fractions.index(f) for f in shown]
    rows = []
    for m in MODELS:
        for kind in KINDS:
            for meth in METHODS:
                rows.append((m, kind, meth,
                             *(_cell(acc[m][meth][kind][i]) for i in cols)))
    return (f"Test accuracy (%) on {data.name} after magnitude pruning ({steps} Adam steps; "
            f"mean over training seeds {', '.join(map(str, seeds))} ± the half-width of the "
            "95 % Student-t interval).\n\n"
            + markdown_table(["model", "pruned", "training",
                              *(f"{100 * f:g} % pruned" for f in shown)], rows))


def _summary(acc, fractions) -> str:
    i = fractions.index(GAMMA)
    parts = []
    for m in MODELS:
        for kind in KINDS:
            means = {meth: 100 * np.mean(acc[m][meth][kind][i]) for meth in METHODS}
            parts.append(f"{m}, {100 * GAMMA:g} % of {kind}s pruned: " + ", ".join(
                f"{meth} {v:.1f} %" for meth, v in means.items()))
    return "; ".join(parts) + " (test accuracy, mean over seeds)."
