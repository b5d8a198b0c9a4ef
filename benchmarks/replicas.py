"""Replica-steps per second of ``monte_carlo_module`` (K replicas of an nn.Module, vmapped)
against per-replica loops.

Model: a one-hidden-layer MLP ``Linear(d, h) → Tanh → BernoulliDropout(p) → Linear(h, 1)``,
float64, minibatches of ``--batch`` rows (per replica), SGD, Polyak averaging. Two peers, timed
in the same run:

- **plain loop**: the training loop a PyTorch user writes — ``nn.Dropout`` in the same place,
  ``torch.optim.SGD`` and ``swa_utils.AveragedModel`` — once per replica;
- **K = 1 loop**: ``monte_carlo_module(replicas=1)`` once per replica (the same program
  unbatched: the cost of vmap itself shows at K = 1).

A loop's rate does not depend on K, so each is timed on ``--loop-sample`` replicas. Every
time is the median of ``--repeats`` runs; the table gives the spread (max/min − 1) of the
repeats as the machine's noise.

Usage: ``python benchmarks/replicas.py [--steps 100] [--n 512] [--d 20] [--hidden 32]``.
Writes ``benchmarks/results/replicas.md`` atomically and prints the table.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.optim.swa_utils import AveragedModel

from dualreg import _io
from dualreg.torch import BernoulliDropout
from dualreg.torch.replicas import monte_carlo_module

KS = (1, 16, 256)


def _mlp(d: int, hidden: int, dropout: nn.Module) -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(d, hidden), nn.Tanh(), dropout, nn.Linear(hidden, 1)).double()


def _plain_run(X, y, d, hidden, p, steps, batch, lr, seed) -> None:
    model = _mlp(d, hidden, nn.Dropout(p))
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    avg = AveragedModel(model)
    gen = torch.Generator().manual_seed(seed)
    for t in range(steps):
        idx = torch.randint(X.shape[0], (batch,), generator=gen)
        opt.zero_grad()
        loss = ((model(X[idx]).squeeze(-1) - y[idx]) ** 2).mean()
        loss.backward()
        opt.step()
        if t >= steps // 2:
            avg.update_parameters(model)


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _median(fn, repeats: int) -> tuple[float, float]:
    times = [_timed(fn) for _ in range(repeats)]
    return statistics.median(times), max(times) / min(times) - 1.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--n", type=int, default=512)
    parser.add_argument("--d", type=int, default=20)
    parser.add_argument("--hidden", type=int, default=32)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--p", type=float, default=0.3)
    parser.add_argument("--lr", type=float, default=0.05)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--loop-sample", type=int, default=8)
    parser.add_argument("--threads", type=int, default=1,
                        help="torch intra-op threads on CPU (default 1: shared machines)")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "replicas.md"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    X = rng.standard_normal((args.n, args.d)) * np.geomspace(0.25, 4.0, args.d)
    y = np.tanh(X[:, 0]) + 0.1 * rng.standard_normal(args.n)
    Xt, yt = torch.as_tensor(X), torch.as_tensor(y)
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    m, T = args.loop_sample, args.steps

    def batched(K, device, seed=0):
        model = _mlp(args.d, args.hidden, BernoulliDropout(args.p, target="input"))
        monte_carlo_module(model, X, y, replicas=K, steps=T, batch=args.batch, lr=args.lr,
                           device=device, seed=seed, progress=False, trace_every=T)
        if device == "cuda":
            torch.cuda.synchronize()

    rows = []
    for device in devices:
        batched(2, device)  # warm-up
        t_plain, n_plain = _median(lambda: [
            _plain_run(Xt, yt, args.d, args.hidden, args.p, T, args.batch, args.lr, k)
            for k in range(m)], args.repeats)
        t_one, n_one = _median(lambda dev=device: [batched(1, dev, seed=k) for k in range(m)],
                               args.repeats)
        plain_rate, one_rate = m * T / t_plain, m * T / t_one
        for K in KS:
            t, noise = _median(lambda K=K, dev=device: batched(K, dev), args.repeats)
            rate = K * T / t
            rows.append((device, K, rate, plain_rate, one_rate, max(noise, n_plain, n_one)))
            print(f"{device:5s} K={K:4d} {rate:10.0f} replica-steps/s  plain loop "
                  f"{plain_rate:8.0f} (×{rate / plain_rate:5.2f})  K=1 loop {one_rate:8.0f} "
                  f"(×{rate / one_rate:5.2f})  noise {max(noise, n_plain, n_one):.0%}", flush=True)
    cpu = platform.processor() or platform.machine()
    lines = [
        "# Monte-Carlo replicas of an nn.Module: one vmapped program vs per-replica loops",
        "",
        f"Generated by `benchmarks/replicas.py` — MLP {args.d} → {args.hidden} (tanh, "
        f"Bernoulli p = {args.p} on the hidden units) → 1, n = {args.n}, minibatch "
        f"{args.batch}, {T} SGD steps, float64; CPU: {cpu}, {args.threads} torch thread(s); "
        f"torch {torch.__version__}. Median of {args.repeats} repeats; noise = the largest "
        "max/min − 1 of the repeats in the row.",
        "",
        "Rates are replica-steps per second. *plain loop*: a hand-written PyTorch loop "
        "(`nn.Dropout`, `torch.optim.SGD`, `AveragedModel`) once per replica; *K = 1 loop*: "
        f"`monte_carlo_module(replicas=1)` once per replica (each timed on {m} replicas).",
        "",
        "| device | K | batched | plain loop | batched / plain | K = 1 loop | batched / K = 1 "
        "| noise |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for device, K, rate, plain_rate, one_rate, noise in rows:
        lines.append(f"| {device} | {K} | {rate:,.0f} | {plain_rate:,.0f} | "
                     f"{rate / plain_rate:.2f}× | {one_rate:,.0f} | {rate / one_rate:.2f}× | "
                     f"{noise:.0%} |")
    if "cuda" not in devices:
        lines += ["", "No CUDA device in this run: GPU rows absent."]
    text = "\n".join(lines) + "\n"
    _io.write_text(args.out, text)
    print()
    print(text)


if __name__ == "__main__":
    main()
