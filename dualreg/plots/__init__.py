"""``dualreg figures``: one module per figure, a registry, and the runner that writes them.

Each figure module has ``make(ctx) -> Output`` (:mod:`dualreg.plots._common`). The runner saves
``<name>.png`` and ``<name>.pdf`` plus the data files the module returns, all atomically, and
keeps ``index.json`` (machine-readable) and ``README.md`` (the index a reader opens) in the
output folder: each figure, what it shows, the claim ids of ``proofs/`` it illustrates, its files
and the exact command that made it. Figures made by earlier runs into the same folder stay
listed.

Importing this package imports neither matplotlib nor torch; a figure's module is imported
when it is made.
"""

from __future__ import annotations

import importlib
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dualreg.plots._common import Context, Output

__all__ = ["FIGURES", "Context", "FigureSpec", "Output", "run", "select", "write_index"]


@dataclass(frozen=True)
class FigureSpec:
    """A registered figure.

    Attributes
    ----------
    name : str
        The name given to ``--only`` and the stem of its files.
    module : str
        Module (under ``dualreg.plots``) whose ``make(ctx)`` draws it.
    title : str
        Heading in the index.
    shows : str
        What the figure shows (one paragraph, for the index).
    claims : tuple of str
        Claim ids of ``proofs/README.md`` it illustrates (or the paper figure it regenerates).
    """

    name: str
    module: str
    title: str
    shows: str
    claims: tuple[str, ...]

    def load(self) -> Callable[[Context], Output]:
        """The module's ``make`` function (imports the module)."""
        return importlib.import_module(f"dualreg.plots.{self.module}").make


FIGURES: dict[str, FigureSpec] = {
    spec.name: spec
    for spec in [
        FigureSpec(
            "penalties",
            "penalties",
            "Dropout penalties against classical sparse penalties (the paper's figure)",
            "LeJeune, Javadi & Baraniuk (2021), penalty figure. Left: λ[Ω(w) − Ω(0.01)] against "
            "|w| on a log grid. Right: λ[Ω(w) − min_k Ω] for unit-norm vectors in d = 32 with k "
            "equal nonzero entries. VarDrop (exact), standout and hard concrete at λ = 1, "
            "HardThreshold(16) (right only), LogSum(ε = 2) at λ = 2, MCP(a = ½, scale = √2) at "
            "λ = √2.",
            ("T7.vardrop", "T7.standout", "T7.hard-concrete", "T7.magnitude-pruning"),
        ),
        FigureSpec(
            "faces",
            "faces",
            "The four faces of every catalogue penalty",
            "For each separable penalty of the catalogue (default parameters): Ω(w) − Ω(0), the "
            "reweighting η̂(w) = |w|/Ω'(|w|), the η-trick dual f(η) (absent for superquadratic "
            "penalties) and the keep probability α(w) = η̂/(η̂ + 1) of the adaptive dropout rule "
            "at λ = c = 1; the curvature class is written and colour-coded on each row.",
            ("T4.identity", "T4.eta-hat", "T4.dual-pairs", "T4.keep-prob", "T4.classification"),
        ),
        FigureSpec(
            "duality",
            "duality",
            "Monte-Carlo adaptive dropout converges to the IRLS solution",
            "Gaussian linear model. Adaptive Bernoulli dropout implementing λ·LogSum (with its "
            "keep floor) and Sparseout (stop-gradient, q = 1.5) trained by SGD with real masks, "
            "K replicas: running Polyak averages of the coefficients against the IRLS solution "
            "of the same (floored) penalty, and the RMS error of the per-replica averages "
            "against the number of steps on log–log axes with the fitted slope.",
            ("T5.dropout-step-is-irls-step", "T9.adaptive-irls", "T3.stop-gradient-constant",
             "T9.expected-gradient"),
        ),
        FigureSpec(
            "sparseout",
            "sparseout",
            "Sparseout: q controls sparsity",
            "Left: the weights of a gaussian linear model under Sparseout (stop-gradient) "
            "against q — the deterministic solution of L + (v/q)Σc_j|w_j|^q (IRLS for q ≤ 2, "
            "L-BFGS for q > 2) with Monte-Carlo Sparseout training at a few q (mean ± 2 se). "
            "Middle/right: a one-hidden-layer ReLU network on scikit-learn's digits with "
            "Sparseout on the hidden activations against its explicit twin, a curvature-weighted "
            "ℓq activation penalty: Hoyer sparsity of the test-set activations and test error "
            "against q.",
            ("T3.stop-gradient-constant", "T3.adaptive-odds", "T3.gaussian-exact"),
        ),
        FigureSpec(
            "monotone-map",
            "monotone_map",
            "Monotone rules are subquadratic, anti-monotone rules superquadratic",
            "Left: keep-probability rules α(t) at λ = c = 1 of the named methods, coloured by "
            "the certified curvature class. Right: the certificate plane of "
            "dualreg.duality.classify — smallest and largest normalised second difference of "
            "g(θ) = Ω(√θ) — with the regions of each class; families of rules (logistic keep "
            "probabilities σ(β(t − 1)), Sparseout odds v·t^(q−2), non-monotone bumps) and the "
            "classical and dropout penalties placed in it, marker shape = monotonicity of the "
            "rule.",
            ("T6.monotone-subquadratic", "T4.classification", "T8.antimonotone-superquadratic",
             "T3.adaptive-odds", "T7.targeted-dropout"),
        ),
        FigureSpec(
            "paths",
            "paths",
            "Regularization paths by warm-started IRLS (diabetes)",
            "Standardised diabetes data (10 features, y standardised). Coefficients against λ "
            "(from λ_max down, each solve warm-started from the previous one) for ℓ1, ℓ0.5, "
            "LogSum(ε = 0.1), MCP(a = 3) and the penalty variational dropout with KL weight λ "
            "induces, λΩ_VD(w/√λ) (c_j = 1); last panel: number of nonzeros.",
            ("T5.fixed-point-stationary", "T5.zero-absorbing", "T7.vardrop"),
        ),
        FigureSpec(
            "case-study",
            "case_study",
            "Sparsification case study on a 300-100 MLP (the paper's experiment)",
            "LeJeune, Javadi & Baraniuk (2021), sparse MLP study: fraction of nonzero weights "
            "(keep probability ≥ 0.05) and validation error (pruned weights zeroed) per epoch "
            "for variational dropout (local reparameterisation), LogSum, the η-trick with "
            "learned η, AdaProx and AdaTikhonov; Adam, batch 128, linear learning-rate decay. "
            "Default data scikit-learn's digits; --mnist DIR for MNIST. The final table (test "
            "error, fraction nonzero) is written beside the figure.",
            ("T5.dropout-step-is-irls-step", "T7.vardrop", "T5.floor-penalty"),
        ),
    ]
}


def select(names: Sequence[str] | None) -> list[str]:
    """The figure names to make, in registry order; ``ValueError`` names an unknown one."""
    if not names:
        return list(FIGURES)
    unknown = [n for n in names if n not in FIGURES]
    if unknown:
        raise ValueError(
            f"unknown figure {unknown[0]!r}; choose from: {', '.join(FIGURES)}"
        )
    return [n for n in FIGURES if n in set(names)]


def _load_index(out: Path) -> dict[str, Any]:
    path = out / "index.json"
    if not path.exists():
        return {}
    try:
        entries = json.loads(path.read_text(encoding="utf-8")).get("figures", {})
    except (OSError, ValueError, AttributeError):
        return {}
    return {k: v for k, v in entries.items() if k in FIGURES}


def write_index(out: Path, entries: dict[str, Any]) -> None:
    """Write ``index.json`` and ``README.md`` for ``entries`` (figure name -> record)."""
    from dualreg import _io

    ordered = {k: entries[k] for k in FIGURES if k in entries}
    _io.write_json(out / "index.json", {"figures": ordered})
    lines = [
        "# Figures",
        "",
        "Generated by `dualreg figures` (do not edit by hand: the command rewrites this index).",
        "Each figure is a PNG and a PDF with the data behind it beside it; the claim ids refer to",
        "[`proofs/README.md`](../proofs/README.md), where each id names a numerical check of",
        "`dualreg verify`.",
        "",
        "| figure | shows | claims | files | command |",
        "|---|---|---|---|---|",
    ]
    for name, rec in ordered.items():
        files = ", ".join(f"[{f}]({f})" for f in rec["files"])
        claims = ", ".join(f"`{c}`" for c in rec["claims"])
        lines.append(f"| [{name}](#{name}) | {rec['title']} | {claims} | {files} | "
                     f"`{rec['command']}` |")
    lines.append("")
    for name, rec in ordered.items():
        lines += [
            f"## {name}",
            "",
            f"**{rec['title']}.** {rec['shows']}",
            "",
        ]
        if rec.get("summary"):
            lines += [f"Measured: {rec['summary']}", ""]
        lines += [
            f"Illustrates: {', '.join(f'`{c}`' for c in rec['claims'])}.",
            "",
            f"Made by `{rec['command']}` ({'quick' if rec['quick'] else 'full'} budget, seed "
            f"{rec['seed']}, device {rec['device']}).",
            "",
            f"![{name}]({name}.png)",
            "",
        ]
    _io.write_text(out / "README.md", "\n".join(lines))


def run(
    names: Sequence[str],
    ctx: Context,
    command: Callable[[str], str],
    stream: Any = None,
) -> dict[str, float]:
    """Make the figures ``names`` into ``ctx.out`` and update the index after each one.

    Parameters
    ----------
    names : sequence of str
        Registered figure names (see :func:`select`).
    ctx : Context
        Run settings.
    command : callable
        ``command(name)`` -> the command line recorded in the index for that figure.
    stream : file-like, optional
        Where to print one line per figure (name, files, seconds).

    Returns
    -------
    dict
        Seconds per figure.
    """
    from dualreg import _io
    from dualreg.plots._common import freeze_layout, jsonable, pyplot, save_figure

    out = Path(ctx.out)
    out.mkdir(parents=True, exist_ok=True)
    entries = _load_index(out)
    timings: dict[str, float] = {}
    bar = ctx.bar(names, desc="figures", unit="fig")
    for name in bar:
        spec = FIGURES[name]
        bar.set_postfix_str(name)
        start = time.perf_counter()
        result = spec.load()(ctx)
        files = [f"{name}.png", f"{name}.pdf"]
        for fname, content in result.data.items():
            if isinstance(content, str):
                _io.write_text(out / fname, content)
            else:
                _io.write_json(out / fname, jsonable(content))
            files.append(fname)
        freeze_layout(result.figure)
        save_figure(result.figure, out / f"{name}.png", result.dpi)
        save_figure(result.figure, out / f"{name}.pdf", result.dpi)
        pyplot().close(result.figure)
        seconds = time.perf_counter() - start
        timings[name] = seconds
        entries[name] = {
            "title": spec.title,
            "shows": spec.shows,
            "claims": list(spec.claims),
            "files": files,
            "command": command(name),
            "summary": result.summary,
            "quick": ctx.quick,
            "seed": ctx.seed,
            "device": ctx.device,
        }
        write_index(out, entries)
        if stream is not None:
            print(f"{name:<13} {seconds:7.1f} s  {', '.join(files)}", file=stream, flush=True)
    return timings
