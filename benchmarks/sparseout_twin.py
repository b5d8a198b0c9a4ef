"""Why Sparseout and its explicit ℓq twin move apart as q grows on the MNIST network.

The ``sparseout`` figure trains a 784-100-10 ReLU network twice at each q: with Sparseout noise
on the hidden activations h, and without noise on the cross-entropy plus the penalty that the
noise implements to second order, the "twin" (:mod:`dualreg.plots.sparseout`). Their Hoyer
sparsities part as q grows. The twin is the second-order term of the noise's expected loss:

    E_ξ CE(h + sgn(h)|h|^{q/2} ξ) − CE(h) ≈ (v/2) Σ_j c_j |h_j|^q,

with c_j the softmax curvature along unit j's outgoing weights. That approximation needs
v c_j |h_j|^q small. This script measures, at networks trained by each method (the figure's own
training function and settings, its seeds):

- the size of the activations (the RMS of the nonzero test-set activations) and the fraction of
  hidden units never active on the test set (dead);
- at the Sparseout-trained network, the exact expected cross-entropy increase under the noise
  (Monte Carlo over ``--draws`` noise draws, with its standard error) against the second-order
  value (v/2) Σ c |h|^q, their ratio showing where the twin over- or under-states the noise.

Usage: ``python benchmarks/sparseout_twin.py [--q 1 2 3] [--seeds 0 1 2] [--out FILE.md]``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from dualreg import _io
from dualreg.plots import sparseout
from dualreg.plots._common import Context, mean_ci
from dualreg.plots._mlp import network_data


def _measure(net, data, q, draws, gen):
    v = sparseout.DROP_NET / (1.0 - sparseout.DROP_NET)
    W1, W2 = net.weights
    b1, b2 = net.biases
    with torch.no_grad():
        X = torch.as_tensor(data.X_test)
        y = torch.as_tensor(data.y_test)
        h = torch.relu(torch.addmm(b1, X, W1.T))
        active = h[h > 0]
        rms = float(active.pow(2).mean().sqrt()) if active.numel() else 0.0
        dead = float((h.max(0).values == 0).double().mean())
        logits = torch.addmm(b2, h, W2.T)
        ce = torch.nn.functional.cross_entropy(logits, y, reduction="none")
        p = torch.softmax(logits, dim=1)
        c = p @ (W2 * W2) - (p @ W2) ** 2
        second = 0.5 * v * (c * h.abs().pow(q)).sum(1)
        keep = 1.0 - sparseout.DROP_NET
        incr = torch.zeros_like(ce)
        incr_sq = torch.zeros_like(ce)
        for _ in range(draws):
            m = (torch.rand(h.shape, generator=gen, dtype=h.dtype) < keep).to(h.dtype)
            xi = m / keep - 1.0
            noisy = h + torch.sign(h) * h.abs().pow(q / 2) * xi
            d = torch.nn.functional.cross_entropy(torch.addmm(b2, noisy, W2.T), y,
                                                  reduction="none") - ce
            incr += d
            incr_sq += d * d
        mean_d = incr / draws
        exact = float(mean_d.mean())
        # SE of the test-set mean of per-image Monte-Carlo means
        var_mc = (incr_sq / draws - mean_d**2).clamp(min=0) / draws
        se = float(var_mc.mean().sqrt() / np.sqrt(len(y)))
    return {"rms": rms, "dead": dead, "exact": exact, "exact_se": se,
            "second": float(second.mean())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--q", type=float, nargs="+", default=[1.0, 2.0, 3.0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--draws", type=int, default=200)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    torch.set_num_threads(1)
    ctx = Context(progress=False)
    data = network_data(None, ctx.rng(12))  # the figure's split
    gen = torch.Generator()
    gen.manual_seed(12345)
    rows = []
    for q in args.q:
        res = {mode: [] for mode in ("sparseout", "twin")}
        for s in args.seeds:
            for mode in res:
                run = sparseout._train_net(data, q, mode, sparseout.NET_EPOCHS,
                                           ctx.torch_seed(300 + s), ctx, keep_net=True)
                res[mode].append({**_measure(run["net"], data, q, args.draws, gen),
                                  "hoyer": run["hoyer"]})

        def cell(mode, key, fmt="{:.3f}", res=res):
            mean, half = mean_ci([r[key] for r in res[mode]])
            return (fmt + " ± " + fmt).format(mean, half)

        ratio = [r["second"] / r["exact"] for r in res["sparseout"]]
        mean, half = mean_ci(ratio)
        rows.append(f"| {q:g} | {cell('sparseout', 'hoyer')} | {cell('twin', 'hoyer')} | "
                    f"{cell('sparseout', 'rms')} | {cell('twin', 'rms')} | "
                    f"{cell('sparseout', 'dead')} | {cell('twin', 'dead')} | "
                    f"{cell('sparseout', 'exact', '{:.4f}')} | "
                    f"{cell('sparseout', 'second', '{:.4f}')} | {mean:.2f} ± {half:.2f} |")
    text = "\n".join([
        f"Sparseout (drop {sparseout.DROP_NET}) vs its ℓq twin on {data.name}, "
        f"{len(data.y_train)} training images, {sparseout.NET_EPOCHS} epochs, seeds "
        f"{args.seeds}; mean ± 95 % t half-width over seeds; exact = Monte-Carlo expected "
        f"CE increase under the noise ({args.draws} draws per test image) at the "
        "Sparseout-trained net; second = (v/2) Σ c|h|^q there.",
        "",
        "| q | Hoyer (Sparseout) | Hoyer (twin) | RMS active h (Sparseout) | RMS active h (twin) "
        "| dead units (Sparseout) | dead units (twin) | exact E ΔCE | second-order | "
        "second / exact |",
        "|---|---|---|---|---|---|---|---|---|---|",
        *rows,
    ]) + "\n"
    print(text)
    if args.out is not None:
        _io.write_text(args.out, text)


if __name__ == "__main__":
    main()
