r"""Figure ``case-study``: the sparsification study of LeJeune, Javadi & Baraniuk (2021).

A 300-100 ReLU perceptron (input → 300 → 100 → 10) is trained by Adam (β = (0.9, 0.999), batch
128) on the mean cross-entropy L, with the learning rate decayed linearly from lr₀ to 0 over the
epochs (the factor 1 − e/E at epoch e of E). Every weight :math:`w` of the three weight
matrices has a keep probability :math:`\alpha \in [0, 1]`; a weight **counts as zero when
α < 0.05**, and at evaluation (validation and test error) those weights are **set to zero**
(the reference implementation built this mask but never applied it). Biases are never
penalised or pruned. With λ = 1e-3 and :math:`\hat\eta(w) = |w|(|w| + \varepsilon)`,
ε = 2 (the reweighting of LogSum, :class:`dualreg.penalties.LogSum`), the five methods are:

**VarDrop** — sparse variational dropout with the local reparameterisation trick (Kingma et
al. 2015, Molchanov et al. 2017). Each weight has a learned log variance ratio
:math:`\theta = \log a` (init −5; W ~ N(0, 0.02²), b = 0). In training the pre-activation of a
layer is sampled as :math:`b + xW^\top + \sqrt{(x\odot x)(a\odot W\odot W)^\top + 10^{-8}}\,\xi`,
ξ ~ N(0, 1) per sample and unit; the loss is :math:`L + \tfrac1N\sum \mathrm{KL}(a)` with
Molchanov's approximation of the KL (from :class:`dualreg.torch.VariationalDropout`, normalised
to 0 at a = ∞; N the number of training images), log a clipped at 12 in the noise and the KL.
A Gaussian mask of variance a has the second moments of Bernoulli dropout with keep
probability :math:`\alpha = 1/(1 + a)`, so a weight is zero when log a > log 19. lr₀ = 1e-3.

**LogSum** — explicit penalty: loss :math:`L + \lambda\sum\log(|w| + \varepsilon)`;
:math:`\alpha = \hat\eta/(\hat\eta + \lambda)` (the adaptive dropout rule that implements
λ·LogSum, docs/conventions.md §4). lr₀ = 1e-4.

**η-trick** (learned η) — each weight has a learned :math:`s = \log(\eta/\lambda)` (init 5);
loss :math:`L + \tfrac\lambda2\sum[w^2/\eta + f(\eta) + \rho s]` with :math:`\eta = \lambda e^s`,
f the η-trick dual of LogSum(ε = 2),
:math:`f(\eta) = 2\log\frac{\varepsilon + \sqrt{\varepsilon^2+4\eta}}{2}
- \frac{(\sqrt{\varepsilon^2+4\eta} - \varepsilon)^2}{4\eta}` (:meth:`LogSum.dual`), and a small
weight decay ρ = 1e-3 on s; :math:`\alpha = \eta/(\eta + \lambda) = \sigma(s)`. lr₀ = 1e-3.

**AdaProx** — loss L; after every Adam step, with Adam's per-coordinate step
:math:`\gamma = \mathrm{lr}_t/(\sqrt{\hat v} + 10^{-8})` (:math:`\hat v` its bias-corrected
second moment), :math:`\alpha = \hat\eta(w)/(\hat\eta(w) + \gamma\lambda)` and
:math:`w \leftarrow \alpha w` — the proximal step of the η-trick ridge
:math:`\tfrac\lambda2 w^2/\hat\eta`, i.e. the expected effect of adaptive dropout with keep
probability α applied as a prox. lr₀ = 1e-4.

**AdaTikhonov** — loss :math:`L + \tfrac12\sum w^2(1-\alpha)/\alpha` with
:math:`\alpha = \max(\hat\eta/(\hat\eta + \lambda), 10^{-3})` recomputed from the weights after
every step and held fixed in the gradient: the expected dropout penalty
:math:`\tfrac12\sum v w^2`, v = (1 − α)/α, of the adaptive rule, i.e. one η-trick IRLS step per
SGD step (T5). lr₀ = 1e-4.

Data: scikit-learn's digits by default (64 inputs; 20 % test, then 20 % of the rest for
validation; N ≈ 1150) — one digits epoch is 9 Adam steps instead of MNIST's 375, so on digits
every lr₀ above is multiplied by ``DIGITS_LR_SCALE`` = 40 ≈ 75000/1800, the ratio of the Adam
steps of the two 200-epoch runs, so that every parameter can travel as far in total.
``--mnist DIR`` uses the user's MNIST IDX files (784 inputs, the paper's 48k/12k/10k split and
learning rates, no scaling). Full budget: 200 epochs (the paper's); quick: 4 epochs (on MNIST
with at most 6000 training images).

What to expect (Adam): a weight that the penalty drives to zero oscillates around 0 with an
amplitude of about the current step size, so the keep probabilities computed from |w| (LogSum,
AdaTikhonov) fall below 0.05 only once the decayed learning rate is small — in the last epochs —
while AdaProx's multiplicative prox zeroes weights throughout. The learned-variance methods
(VarDrop's log a, the η-trick's s) must then also travel to their thresholds, and within the
digits budget they lag (measured: see the table).

Outputs: per-epoch fraction of nonzero weights and validation error for every method
(``case-study_history.csv``), and the final table — test error and fraction of nonzero weights
— as ``case-study_table.csv`` and ``case-study_table.md``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np

from dualreg.penalties import LogSum
from dualreg.plots import _mlp
from dualreg.plots._common import Context, Output, csv_text, markdown_table, pyplot
from dualreg.plots.registry import figure

LAM = 1e-3
EPS = 2.0
TOL = 0.05  # keep probability below which a weight counts as zero
BATCH = 128
HIDDEN = (300, 100)
RHO = 1e-3
ALPHA_MIN = 1e-3
LOG_A_MAX = 12.0
DIGITS_LR_SCALE = 40.0
METHODS = ("VarDrop", "LogSum", "η-trick", "AdaProx", "AdaTikhonov")
BASE_LR = {"VarDrop": 1e-3, "LogSum": 1e-4, "η-trick": 1e-3, "AdaProx": 1e-4,
           "AdaTikhonov": 1e-4}


# --------------------------------------------------------------------------- the methods
PENALTY = LogSum(EPS)


def eta_hat(w):
    """η̂(w) = |w|(|w| + ε), the LogSum reweighting (``PENALTY.eta_hat_torch``)."""
    return PENALTY.eta_hat_torch(w.abs())


def logsum_dual(eta):
    r"""f(η) of LogSum(ε) on tensors, differentiable (``PENALTY.dual_torch``)."""
    return PENALTY.dual_torch(eta)


class _Method(ABC):
    """One training method: extra parameters, the loss, the post-step hook, keep probabilities.

    Subclasses implement :meth:`keep_probs` and override the hooks they need.
    """

    init = "uniform"

    def __init__(self, net: _mlp.MLP, n_train: int):
        self.net = net
        self.n_train = n_train
        self.extra: list = []

    def logits(self, x):
        return self.net.forward(x)

    def penalty(self):
        return None

    def after_step(self, optimizer, lr: float) -> None:  # noqa: B027 (optional hook)
        """Called after every optimiser step (under ``no_grad``); nothing by default."""

    @abstractmethod
    def keep_probs(self) -> list:
        """Keep probability of every weight, per layer (a weight is pruned when < TOL)."""

    def eval_weights(self) -> list:
        """Weights with the pruned ones (α < TOL) set to zero."""
        return [w.detach() * (a >= TOL) for w, a in zip(self.net.weights, self.keep_probs(),
                                                         strict=True)]


class _VarDrop(_Method):
    init = "normal"

    def __init__(self, net, n_train):
        from dualreg.torch import VariationalDropout

        super().__init__(net, n_train)
        # One dualreg VariationalDropout per layer holds log a and gives Molchanov's KL.
        self.layers = []
        for w in net.weights:
            layer = VariationalDropout(1.0 / n_train, init_log_sigma2=-5.0, kl="molchanov",
                                       log_sigma2_max=LOG_A_MAX)
            layer.build(tuple(w.shape), device=w.device, dtype=w.dtype)
            self.layers.append(layer)
            self.extra.append(layer.log_sigma2)
        self.generator = None

    def logits(self, x):
        import torch

        def linear(i, h, w, b):
            log_a = self.layers[i].log_sigma2.clamp(max=LOG_A_MAX)
            mean = torch.addmm(b, h, w.T)
            var = (h * h) @ (torch.exp(log_a) * w * w).T
            noise = torch.randn(mean.shape, generator=self.generator, device=mean.device,
                                dtype=mean.dtype)
            return mean + torch.sqrt(var + 1e-8) * noise

        return self.net.forward(x, linear=linear)

    def penalty(self):
        return sum(layer.kl_divergence().sum() for layer in self.layers) / self.n_train

    def keep_probs(self):
        import torch

        return [torch.sigmoid(-layer.log_sigma2.detach().clamp(max=LOG_A_MAX))
                for layer in self.layers]  # 1/(1 + a)


class _LogSum(_Method):
    def penalty(self):
        import torch

        return LAM * sum(torch.log(w.abs() + EPS).sum() for w in self.net.weights)

    def keep_probs(self):
        out = []
        for w in self.net.weights:
            e = eta_hat(w.detach())
            out.append(e / (e + LAM))
        return out


class _EtaTrick(_Method):
    def __init__(self, net, n_train):
        import torch

        super().__init__(net, n_train)
        self.log_ratio = [torch.full_like(w.detach(), 5.0).requires_grad_(True)
                          for w in net.weights]
        self.extra = list(self.log_ratio)

    def penalty(self):
        import torch

        total = 0.0
        for w, s in zip(self.net.weights, self.log_ratio, strict=True):
            eta = LAM * torch.exp(s)
            total = total + (w * w / eta + logsum_dual(eta) + RHO * s).sum()
        return 0.5 * LAM * total

    def keep_probs(self):
        import torch

        return [torch.sigmoid(s.detach()) for s in self.log_ratio]


class _AdaProx(_Method):
    def __init__(self, net, n_train):
        import torch

        super().__init__(net, n_train)
        self.alpha = [torch.ones_like(w.detach()) for w in net.weights]

    def after_step(self, optimizer, lr):
        import torch

        beta2 = optimizer.param_groups[0]["betas"][1]
        for k, w in enumerate(self.net.weights):
            state = optimizer.state[w]
            step = float(state["step"])
            v_hat = state["exp_avg_sq"] / (1.0 - beta2**step)
            gamma = lr / (torch.sqrt(v_hat) + 1e-8)
            e = eta_hat(w)
            self.alpha[k] = e / (e + gamma * LAM)
            w.mul_(self.alpha[k])

    def keep_probs(self):
        return self.alpha


class _AdaTikhonov(_Method):
    def __init__(self, net, n_train):
        super().__init__(net, n_train)
        self.alpha = self._rule()

    def _rule(self):
        out = []
        for w in self.net.weights:
            e = eta_hat(w.detach())
            out.append((e / (e + LAM)).clamp(min=ALPHA_MIN))
        return out

    def penalty(self):
        return 0.5 * sum((w * w * (1.0 - a) / a).sum()
                         for w, a in zip(self.net.weights, self.alpha, strict=True))

    def after_step(self, optimizer, lr):
        self.alpha = self._rule()

    def keep_probs(self):
        return self._rule()


_CLASSES = {"VarDrop": _VarDrop, "LogSum": _LogSum, "η-trick": _EtaTrick,
            "AdaProx": _AdaProx, "AdaTikhonov": _AdaTikhonov}


# --------------------------------------------------------------------------- training
def _error(method: _Method, X, y) -> float:
    import torch

    with torch.no_grad():
        logits = method.net.forward(X, weights=method.eval_weights())
        return float((logits.argmax(1) != y).double().mean())


def _fraction_nonzero(method: _Method) -> float:
    kept = sum(int((a >= TOL).sum()) for a in method.keep_probs())
    total = sum(a.numel() for a in method.keep_probs())
    return kept / total


def train(name: str, data: _mlp.Split, epochs: int, lr0: float, ctx: Context, bar) -> dict:
    """Train one method; per-epoch history and the final test error / fraction nonzero."""
    import torch

    dev = ctx.device
    Xtr = torch.as_tensor(data.X_train, device=dev)
    ytr = torch.as_tensor(data.y_train, device=dev)
    Xva, yva = torch.as_tensor(data.X_val, device=dev), torch.as_tensor(data.y_val, device=dev)
    Xte, yte = torch.as_tensor(data.X_test, device=dev), torch.as_tensor(data.y_test, device=dev)
    dims = [data.n_features, *HIDDEN, data.n_classes]
    cls = _CLASSES[name]
    net = _mlp.MLP(dims, ctx.torch_generator(1), device=dev, init=cls.init)
    method = cls(net, Xtr.shape[0])
    if isinstance(method, _VarDrop):
        method.generator = ctx.torch_generator(2)
    optimizer = torch.optim.Adam(net.parameters() + method.extra, lr=lr0)
    order_gen = torch.Generator()  # minibatch order, drawn on the CPU whatever the device
    order_gen.manual_seed(ctx.torch_seed(3))
    n = Xtr.shape[0]
    history = {"epoch": [0], "fraction_nonzero": [_fraction_nonzero(method)],
               "val_error": [_error(method, Xva, yva)], "train_loss": [float("nan")]}
    for epoch in range(epochs):
        lr = lr0 * (1.0 - epoch / epochs)
        for group in optimizer.param_groups:
            group["lr"] = lr
        perm = torch.randperm(n, generator=order_gen, device="cpu").to(dev)
        total, count = 0.0, 0
        for start in range(0, n, BATCH):
            idx = perm[start : start + BATCH]
            logits = method.logits(Xtr[idx])
            loss = torch.nn.functional.cross_entropy(logits, ytr[idx])
            pen = method.penalty()
            objective = loss if pen is None else loss + pen
            optimizer.zero_grad(set_to_none=True)
            objective.backward()
            optimizer.step()
            with torch.no_grad():
                method.after_step(optimizer, lr)
            total += float(objective.detach()) * idx.numel()
            count += idx.numel()
        if not np.isfinite(total):
            raise FloatingPointError(f"case study: {name} diverged at epoch {epoch + 1}")
        history["epoch"].append(epoch + 1)
        history["fraction_nonzero"].append(_fraction_nonzero(method))
        history["val_error"].append(_error(method, Xva, yva))
        history["train_loss"].append(total / count)
        bar.update(1)
    return {"history": history, "test_error": _error(method, Xte, yte),
            "fraction_nonzero": history["fraction_nonzero"][-1],
            "val_error": history["val_error"][-1], "lr0": lr0}


def load_data(ctx: Context) -> _mlp.Split:
    """Digits by default, MNIST from ``ctx.mnist`` when given."""
    if ctx.mnist is not None:
        return _mlp.mnist(ctx.mnist, ctx.rng(7), max_train=6000 if ctx.quick else None)
    return _mlp.digits(ctx.rng(7))


@figure(
    "case-study",
    title="Sparsification case study on a 300-100 MLP (the paper's experiment)",
    shows=(
        "LeJeune, Javadi & Baraniuk (2021), sparse MLP study: fraction of nonzero weights (keep "
        "probability ≥ 0.05) and validation error (pruned weights zeroed) per epoch for "
        "variational dropout (local reparameterisation), LogSum, the η-trick with learned η, "
        "AdaProx and AdaTikhonov; Adam, batch 128, linear learning-rate decay. Default data "
        "scikit-learn's digits; --mnist DIR for MNIST. The final table (test error, fraction "
        "nonzero) is written beside the figure."
    ),
    claims=("T5.dropout-step-is-irls-step", "T7.vardrop", "T5.floor-penalty"),
    order=6,
)
def make(ctx: Context) -> Output:
    """Train the five methods and draw fraction nonzero / validation error against epoch."""
    plt = pyplot()
    data = load_data(ctx)
    epochs = 4 if ctx.quick else 200
    scale = DIGITS_LR_SCALE if data.name == "digits" else 1.0
    results = {}
    bar = ctx.bar(total=epochs * len(METHODS), desc=f"case study ({data.name}): epochs")
    with ctx.torch_threads():
        for name in METHODS:
            results[name] = train(name, data, epochs, BASE_LR[name] * scale, ctx, bar)
    bar.close()

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11.5, 4.2), constrained_layout=True)
    colours = dict(zip(METHODS, ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd"],
                       strict=True))
    styles = dict(zip(METHODS, ["-", "-", "-", "-", "--"], strict=True))
    for name, res in results.items():
        h = res["history"]
        ax1.plot(h["epoch"], 100 * np.asarray(h["fraction_nonzero"]), styles[name],
                 color=colours[name], lw=1.6, label=name)
        ax2.plot(h["epoch"], 100 * np.asarray(h["val_error"]), styles[name],
                 color=colours[name], lw=1.6, label=name)
    ax1.set_yscale("log")
    from matplotlib.ticker import FuncFormatter

    plain = FuncFormatter(lambda v, _: f"{v:g}")
    ax1.yaxis.set_major_formatter(plain)
    ax1.yaxis.set_minor_formatter(plain)
    ax1.tick_params(axis="y", which="minor", labelsize=7)
    ax1.set(xlabel="epoch", ylabel="nonzero weights (%, keep prob. ≥ 0.05, log scale)",
            title="sparsity")
    ax2.set(xlabel="epoch", ylabel="validation error (%), pruned weights zeroed",
            title="accuracy")
    finals = [100 * r["val_error"] for r in results.values()]
    ax2.set_ylim(0, min(100.0, max(5.0, 1.3 * max(finals), 2.0 * float(np.median(finals)))))
    ax1.legend(frameon=False)
    dims = "-".join(str(d) for d in [data.n_features, *HIDDEN, data.n_classes])
    fig.suptitle(f"Sparsifying a {dims} MLP on {data.name} ({len(data.y_train)} train / "
                 f"{len(data.y_val)} validation / {len(data.y_test)} test, {epochs} epochs, "
                 "Adam, batch 128, λ = 1e-3)", fontsize=10)

    rows = [(name, r["test_error"], r["fraction_nonzero"], r["val_error"], r["lr0"])
            for name, r in results.items()]
    table_csv = csv_text(["method", "test_error", "fraction_nonzero", "val_error", "lr0"], rows)
    table_md = (
        f"Case study on {data.name}, {epochs} epochs (seed {ctx.seed}). A weight is nonzero "
        f"when its keep probability is at least {TOL}; errors are with the pruned weights "
        "zeroed.\n\n"
        + markdown_table(
            ["method", "test error (%)", "nonzero weights (%)", "validation error (%)", "lr₀"],
            [(m, f"{100 * te:.2f}", f"{100 * fn:.2f}", f"{100 * ve:.2f}", f"{lr:g}")
             for m, te, fn, ve, lr in rows],
        )
    )
    hist_rows = []
    for name, r in results.items():
        h = r["history"]
        for i in range(len(h["epoch"])):
            hist_rows.append((name, h["epoch"][i], h["fraction_nonzero"][i], h["val_error"][i],
                              h["train_loss"][i]))
    history_csv = csv_text(["method", "epoch", "fraction_nonzero", "val_error", "train_loss"],
                           hist_rows)
    summary = "; ".join(f"{m}: test error {100 * te:.1f} %, nonzero {100 * fn:.1f} %"
                        for m, te, fn, _, _ in rows) + f" ({data.name}, {epochs} epochs)."
    return Output(fig, {"case-study_history.csv": history_csv,
                        "case-study_table.csv": table_csv,
                        "case-study_table.md": table_md}, summary)
