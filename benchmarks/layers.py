"""Per-step cost of every dropout layer in a small CNN, as a ratio to ``nn.Dropout``.

Network: ``Conv2d(1, C, 3, padding=1) → Tanh → [layer] → Flatten → Linear(C·S², 10)`` on
S × S inputs, batch B, float32, one SGD step (forward, cross-entropy, backward, update,
``step_schedules``) per timing. Placement as in ``tests/test_layer_contract.py``: a weight
layer goes on the conv weight (``parametrize_weight``); an elementwise activation layer acts on
the feature maps; a per-unit activation layer on the flattened features, linked to the head by
``set_weight_of``. The peer, timed in the same run, is ``nn.Dropout(0.5)`` on the feature maps
(and no dropout at all, for the floor). Each time is the median of ``--repeats`` blocks of
``--steps`` steps, the configurations timed round robin; the noise column is a row's
max/min − 1 over its blocks.

Usage: ``python benchmarks/layers.py [--steps 50] [--batch 64] [--side 16] [--channels 8]``.
Writes ``benchmarks/results/layers.md`` atomically and prints the table.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from pathlib import Path

import torch
from torch import nn
from tqdm.auto import tqdm

from dualreg import _io
from dualreg.torch import parametrize_weight, step_schedules
from dualreg.torch.layers import registered_layers


def _network(layer: nn.Module | None, args) -> tuple[nn.Sequential, str]:
    """The CNN with ``layer`` in its place, and where that place is."""
    torch.manual_seed(0)
    conv = nn.Conv2d(1, args.channels, 3, padding=1)
    head = nn.Linear(args.channels * args.side**2, 10)
    if layer is None:
        return nn.Sequential(conv, nn.Tanh(), nn.Flatten(), head), "—"
    if isinstance(layer, nn.Dropout):
        return nn.Sequential(conv, nn.Tanh(), layer, nn.Flatten(), head), "feature maps"
    if layer.target == "weight":
        parametrize_weight(conv, layer)
        return nn.Sequential(conv, nn.Tanh(), nn.Flatten(), head), "conv kernel"
    layer.set_weight_of(head)
    if layer.elementwise_input:
        return nn.Sequential(conv, nn.Tanh(), layer, nn.Flatten(), head), "feature maps"
    return nn.Sequential(conv, nn.Tanh(), nn.Flatten(), layer, head), "flat features"


def _stepper(model: nn.Module, args):
    """A callable timing one block of ``args.steps`` SGD steps (seconds per step)."""
    g = torch.Generator().manual_seed(1)
    x = torch.randn(args.batch, 1, args.side, args.side, generator=g)
    y = torch.randint(10, (args.batch,), generator=g)
    with torch.no_grad():
        model.eval()(x)  # the documented dry run (lazy layers build their state)
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=0.01)

    def block() -> float:
        start = time.perf_counter()
        for _ in range(args.steps):
            opt.zero_grad(set_to_none=True)
            nn.functional.cross_entropy(model(x), y).backward()
            opt.step()
            step_schedules(model)
        return (time.perf_counter() - start) / args.steps

    block()  # warm-up (and a failure here means the network cannot host the layer)
    return block


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--side", type=int, default=16)
    parser.add_argument("--channels", type=int, default=8)
    parser.add_argument("--threads", type=int, default=1,
                        help="torch intra-op threads (default 1: shared machines)")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "layers.md"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    configs = [("no dropout", None), ("nn.Dropout(0.5)", nn.Dropout(0.5))]
    configs += [(f"{name}({layer.extra_repr()})", layer)
                for name, cls in registered_layers().items() for layer in cls.contract_examples()]
    rows, blocks = [], []
    for label, layer in configs:
        model, place = _network(layer, args)
        try:
            blocks.append(_stepper(model, args))
            rows.append([label, place, []])
        except (ValueError, RuntimeError) as err:  # a network this layer cannot live in
            print(f"{label}: {str(err).splitlines()[0][:90]}", flush=True)
            raise SystemExit(1) from err
    # Round robin: every repeat times each configuration once, so a slow spell of the
    # machine lands on all of them rather than on one row.
    for _ in tqdm(range(args.repeats), desc="repeats", disable=not sys.stderr.isatty()):
        for row, block in zip(rows, blocks, strict=True):
            row[2].append(block())
    peer = statistics.median(rows[1][2])
    rows = [(label, place, statistics.median(ts), max(ts) / min(ts) - 1.0)
            for label, place, ts in rows]
    for label, _, t, noise in rows:
        print(f"{label:70s} {t * 1e3:8.3f} ms/step  {t / peer:5.2f}x  noise {noise:.0%}")
    cpu = platform.processor() or platform.machine()
    lines = [
        "# Dropout layers in a small CNN: time per SGD step against nn.Dropout",
        "",
        f"Generated by `benchmarks/layers.py` — Conv2d(1, {args.channels}, 3) on "
        f"{args.side}×{args.side} inputs, batch {args.batch}, Linear head, float32; CPU: {cpu}, "
        f"{args.threads} torch thread(s); torch {torch.__version__}. Median of {args.repeats} "
        f"blocks of {args.steps} steps, the configurations timed round robin (each repeat "
        "times every row once, so machine drift is shared); noise = max/min − 1 over a row's "
        "blocks. The *place* column says what the layer acts on: nn.Dropout and the "
        f"elementwise layers on the {args.batch}×{args.channels}×{args.side}×{args.side} "
        "feature maps, the per-unit layers on the same numbers flattened, the weight layers "
        f"on the {args.channels}×1×3×3 conv kernel.",
        "",
        "| layer | place | ms / step | ÷ nn.Dropout | noise |",
        "|---|---|---:|---:|---:|",
    ]
    for label, place, t, noise in rows:
        lines.append(f"| `{label}` | {place} | {t * 1e3:.3f} | {t / peer:.2f}× | {noise:.0%} |")
    text = "\n".join(lines) + "\n"
    _io.write_text(args.out, text)
    print()
    print(text)


if __name__ == "__main__":
    main()
