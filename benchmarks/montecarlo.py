"""Replica-steps per second of the batched Monte-Carlo dropout trainer against a per-replica loop.

The batched program (``monte_carlo(..., replicas=K)``) trains K replicas as one tensor
program; the baseline is the plain Python loop ``for k in range(K): monte_carlo(...,
replicas=1, seed=k)`` over the same trainer. A loop's rate does not depend on K (each
replica costs the same), so it is timed on ``min(K, --loop-sample)`` replicas and reported
as a rate. Problem: gaussian, n × d design, full batch, two layers — fixed Bernoulli dropout
on the weights (one mask per weight and step) and adaptive LogSum dropout on the inputs (one
mask per sample and unit, rates recomputed every step). On CUDA (when present) the table also
gives the achieved memory bandwidth from a lower bound on the bytes each step must move.

Usage: ``python benchmarks/montecarlo.py [--steps 200] [--n 256] [--d 32] [--threads 1]``.
Writes ``benchmarks/results/montecarlo.md`` atomically and prints the table.
"""

from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path

import numpy as np
import torch

from dualreg import _io
from dualreg.penalties import LogSum
from dualreg.torch import AdaptiveDropout, BernoulliDropout, monte_carlo

KS = (1, 16, 256)
# Peak DRAM bandwidth (bytes/s) by device-name fragment, for the achieved fraction on GPU.
PEAK_BANDWIDTH = {"H100": 3.35e12, "H200": 4.8e12, "A100": 2.0e12}


def _layers():
    return {
        "Bernoulli p=0.5, weights": lambda: BernoulliDropout(0.5, target="weight"),
        "adaptive LogSum, inputs": lambda: AdaptiveDropout(LogSum(0.1), 0.05, keep_floor=0.05,
                                                           target="input"),
    }


def _bytes_per_step(layer_name: str, K: int, n: int, d: int, itemsize: int) -> float:
    """Lower bound on DRAM traffic per step: read X once, write and read the (K, n) natural
    parameters and residuals; for input masks also write and read the (K, n, d) noisy inputs
    (mask generation fused in at best)."""
    base = n * d * itemsize + 4 * K * n * itemsize
    if "inputs" in layer_name:
        base += 2 * K * n * d * itemsize
    return float(base)


def _time_run(X, y, make_layer, K, steps, device, seed, init):
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    start = time.perf_counter()
    monte_carlo(X, y, make_layer(), replicas=K, steps=steps, lr=0.01, device=device, seed=seed,
                init=init, progress=False, trace_every=steps)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--n", type=int, default=256)
    parser.add_argument("--d", type=int, default=32)
    parser.add_argument("--loop-sample", type=int, default=16)
    parser.add_argument("--threads", type=int, default=1,
                        help="torch intra-op threads on CPU (default 1: shared machines)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "montecarlo.md"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(args.seed)
    X = rng.standard_normal((args.n, args.d))
    w_true = rng.standard_normal(args.d) * (rng.random(args.d) < 0.5)
    y = X @ w_true + 0.5 * rng.standard_normal(args.n)
    init = np.linalg.lstsq(X, y, rcond=None)[0]
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    rows = []
    for device in devices:
        ks = KS + ((4096,) if device == "cuda" else ())
        for name, make in _layers().items():
            _time_run(X, y, make, 2, 20, device, args.seed, init)  # warm-up (allocators, JIT)
            m = min(max(ks), args.loop_sample)
            t_loop = sum(_time_run(X, y, make, 1, args.steps, device, args.seed + k, init)
                         for k in range(m))
            loop_rate = m * args.steps / t_loop
            for K in ks:
                t = _time_run(X, y, make, K, args.steps, device, args.seed, init)
                rate = K * args.steps / t
                bw = ""
                if device == "cuda":
                    gpu = torch.cuda.get_device_name()
                    peak = next((v for k, v in PEAK_BANDWIDTH.items() if k in gpu), None)
                    moved = _bytes_per_step(name, K, args.n, args.d, 8) * args.steps / t
                    bw = f"{moved / 1e9:.1f} GB/s" + (f" ({moved / peak:.1%})" if peak else "")
                rows.append((device, name, K, rate, loop_rate, rate / loop_rate, bw))
                print(f"{device:5s} {name:28s} K={K:5d} {rate:12.0f} replica-steps/s "
                      f"(loop {loop_rate:8.0f}, ×{rate / loop_rate:6.1f}) {bw}", flush=True)
    cpu = platform.processor() or platform.machine()
    lines = [
        "# Monte-Carlo dropout trainer: batched replicas vs a per-replica loop",
        "",
        f"Generated by `benchmarks/montecarlo.py` — n = {args.n}, d = {args.d}, full batch, "
        f"{args.steps} steps, float64, gaussian; CPU: {cpu}, {args.threads} torch thread(s); "
        f"torch {torch.__version__}.",
        "",
        "Rates are replica-steps per second. The loop runs `monte_carlo(replicas=1)` once per "
        f"replica (timed on {args.loop_sample} replicas; its rate does not depend on K). "
        "GPU bandwidth is a lower bound on the bytes moved per step over the peak DRAM bandwidth.",
        "",
        "| device | layer | K | batched (replica-steps/s) | loop (replica-steps/s) | "
        "speed-up | GPU bandwidth |",
        "|---|---|---:|---:|---:|---:|---|",
    ]
    for device, name, K, rate, loop_rate, ratio, bw in rows:
        lines.append(f"| {device} | {name} | {K} | {rate:,.0f} | {loop_rate:,.0f} | "
                     f"{ratio:.1f}× | {bw or '—'} |")
    if "cuda" not in devices:
        lines += ["", "No CUDA device in this run: GPU rows absent."]
    text = "\n".join(lines) + "\n"
    _io.write_text(args.out, text)
    print()
    print(text)


if __name__ == "__main__":
    main()
