"""What every figure module shares: the run context, the output record, styling and writers.

A figure module exposes ``make(ctx) -> Output``: a matplotlib figure and the data behind it.
The runner (:mod:`dualreg.plots`) saves the figure as PNG and PDF and the data files beside it,
each atomically (:mod:`dualreg._io`). Data files hold floats in their exact shortest form and no
timestamps, so the same seed gives byte-identical files on the same platform.
"""

from __future__ import annotations

import contextlib
import io
import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

# Curvature classes (dualreg.penalties.base) -> colour, used by every figure that marks them.
CLASS_COLOURS = {
    "subquadratic": "#1f77b4",
    "quadratic": "#7f7f7f",
    "superquadratic": "#d62728",
    "indefinite": "#9467bd",
}


@dataclass(frozen=True)
class Context:
    """Settings of one ``dualreg figures`` run.

    Attributes
    ----------
    out : Path
        Output folder.
    quick : bool
        Small budgets (all figures together in well under three minutes on two CPU cores).
    seed : int
        Everything random derives from it (:meth:`rng`, :meth:`torch_generator`).
    device : str
        Torch device for the Monte-Carlo and network figures (``"cpu"`` or ``"cuda"``).
    mnist : Path or None
        Folder with the MNIST IDX files for the case study (digits when ``None``).
    progress : bool
        Show tqdm progress bars (on stderr).
    jobs : int
        Worker processes for the independent training runs of a figure (results do not
        depend on it, :mod:`dualreg.plots._parallel`).
    paper_budget : bool
        Train at the papers' full step budgets whatever the data (the case study: 75,000 Adam
        steps at the paper's learning rates).
    """

    out: Path = Path("figures")
    quick: bool = False
    seed: int = 0
    device: str = "cpu"
    mnist: Path | None = None
    progress: bool = True
    jobs: int = 1
    paper_budget: bool = False

    def rng(self, *salt: int) -> np.random.Generator:
        """A numpy generator for this seed and ``salt`` (same seed and salt, same numbers)."""
        return np.random.default_rng([self.seed, *(salt or (0,))])

    def torch_seed(self, *salt: int) -> int:
        """An integer seed for torch derived from the run seed and ``salt``."""
        return int(np.random.SeedSequence([self.seed, *(salt or (0,))]).generate_state(1)[0])

    def torch_generator(self, *salt: int) -> Any:
        """A seeded :class:`torch.Generator` on :attr:`device`."""
        import torch

        gen = torch.Generator(device=self.device)
        gen.manual_seed(self.torch_seed(*salt))
        return gen

    @contextlib.contextmanager
    def torch_threads(self) -> Iterator[None]:
        """Run torch on one intra-op thread, with deterministic algorithms and denormals
        flushed to zero, while inside.

        The figures' tensors are small: on a CPU shared with other work, a second thread
        mostly spins (measured 7× slower per step on a loaded two-core machine), and one
        thread keeps the sums in a fixed order. On CUDA, ``CUBLAS_WORKSPACE_CONFIG`` must be
        set before the first cuBLAS call for deterministic matrix products; torch warns when
        an operation has no deterministic version.
        """
        import os

        import torch

        old = torch.get_num_threads()
        old_det = torch.are_deterministic_algorithms_enabled()
        torch.set_num_threads(1)
        torch.set_flush_denormal(True)  # weights shrunk towards 0 must not turn into denormals
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True, warn_only=True)
        try:
            yield
        finally:
            torch.set_num_threads(old)
            torch.set_flush_denormal(False)
            torch.use_deterministic_algorithms(old_det)

    def bar(self, iterable: Iterable | None = None, **kwargs: Any) -> Any:
        """A tqdm progress bar (disabled without :attr:`progress`), never left on screen."""
        from tqdm.auto import tqdm

        kwargs.setdefault("leave", False)
        kwargs.setdefault("dynamic_ncols", True)
        return tqdm(iterable, disable=None if self.progress else True, **kwargs)  # TTY only


@dataclass
class Output:
    """What a figure module returns.

    Attributes
    ----------
    figure : matplotlib.figure.Figure
        Saved as ``<name>.png`` and ``<name>.pdf``.
    data : dict
        File name (relative to the output folder) -> content: ``str`` (written as is) or any
        JSON-serialisable object (``.json`` files).
    summary : str
        One or two sentences of measured facts for the index (e.g. a fitted slope).
    dpi : int
        Resolution of the PNG.
    """

    figure: Any
    data: dict[str, Any] = field(default_factory=dict)
    summary: str = ""
    dpi: int = 110


# --------------------------------------------------------------------------- matplotlib
def pyplot() -> Any:
    """``matplotlib.pyplot`` on the Agg backend, with the house style applied."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update(
        {
            "font.size": 9,
            "axes.titlesize": 10,
            "axes.labelsize": 9,
            "legend.fontsize": 8,
            "xtick.labelsize": 8,
            "ytick.labelsize": 8,
            "axes.grid": True,
            "grid.alpha": 0.3,
            "grid.linewidth": 0.5,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "figure.dpi": 100,
            "pdf.fonttype": 42,
            "svg.hashsalt": "dualreg",
        }
    )
    return plt


def freeze_layout(fig: Any) -> None:
    """Run the figure's layout engine once and keep the result.

    Every later draw (one per saved format) then skips the layout solve, which on a figure
    with many axes costs more than the drawing itself.
    """
    fig.canvas.draw()
    fig.set_layout_engine("none")


def save_figure(fig: Any, path: Path, dpi: int) -> None:
    """Save ``fig`` to ``path`` (PNG or PDF from the suffix) atomically, without timestamps."""
    from dualreg import _io

    metadata = {"CreationDate": None} if path.suffix == ".pdf" else {"Software": None}
    _io.save_figure(fig, path, dpi=dpi, metadata=metadata)


# --------------------------------------------------------------------------- data writers
def fmt(x: Any) -> str:
    """A number as text: integers as is, floats exactly (shortest round-trip form), ``inf``,
    ``-inf``, ``nan``."""
    if isinstance(x, bool | np.bool_):
        return "1" if x else "0"
    if isinstance(x, int | np.integer):
        return str(int(x))
    if isinstance(x, float | np.floating):
        x = float(x)
        if math.isnan(x):
            return "nan"
        if math.isinf(x):
            return "inf" if x > 0 else "-inf"
        return repr(x)  # the shortest text that reads back as the same double
    return str(x)


def csv_text(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """CSV text (comma-separated, one header line); cells with commas or quotes are quoted."""
    buf = io.StringIO()

    def cell(v: Any) -> str:
        s = fmt(v)
        if any(ch in s for ch in ',"\n'):
            s = '"' + s.replace('"', '""') + '"'
        return s

    buf.write(",".join(cell(h) for h in header) + "\n")
    for row in rows:
        buf.write(",".join(cell(v) for v in row) + "\n")
    return buf.getvalue()


def columns_csv(columns: dict[str, Sequence[Any]]) -> str:
    """CSV text from equally long named columns."""
    names = list(columns)
    length = {len(v) for v in columns.values()}
    if len(length) != 1:
        sizes = {k: len(v) for k, v in columns.items()}
        raise ValueError(f"columns have different lengths: {sizes}")
    return csv_text(names, zip(*(columns[k] for k in names), strict=True))


def jsonable(obj: Any) -> Any:
    """``obj`` with numpy scalars/arrays turned into Python numbers/lists, non-finite floats as
    the strings ``"inf"``, ``"-inf"``, ``"nan"`` (JSON has no such numbers)."""
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return [jsonable(v) for v in obj.tolist()]
    if isinstance(obj, bool | np.bool_):
        return bool(obj)
    if isinstance(obj, int | np.integer):
        return int(obj)
    if isinstance(obj, float | np.floating):
        x = float(obj)
        return x if math.isfinite(x) else fmt(x)
    return obj


def markdown_table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A GitHub Markdown table; a ``|`` inside a cell is escaped (``\\|``)."""

    def cell(value: Any) -> str:
        return str(value).replace("|", "\\|")

    lines = ["| " + " | ".join(map(cell, header)) + " |", "|" + "---|" * len(header)]
    for row in rows:
        lines.append("| " + " | ".join(map(cell, row)) + " |")
    return "\n".join(lines) + "\n"


def mean_ci(values: Sequence[float]) -> tuple[float, float]:
    r"""Mean and the half-width of its 95 % Student-t interval,
    :math:`t_{0.975,\,n-1}\,s/\sqrt n` (nan for a single value)."""
    from scipy import stats

    v = np.asarray(values, float)
    if v.size < 2:
        return float(v.mean()), float("nan")
    half = stats.t.ppf(0.975, v.size - 1) * v.std(ddof=1) / np.sqrt(v.size)
    return float(v.mean()), float(half)


def loglog_slope(x: Sequence[float], y: Sequence[float]) -> tuple[float, float, float]:
    """Least-squares slope, intercept and the slope's standard error of log y against log x
    (``scipy.stats.linregress``; the standard error is nan with two points)."""
    from scipy import stats

    fit = stats.linregress(np.log(np.asarray(x, float)), np.log(np.asarray(y, float)))
    return float(fit.slope), float(fit.intercept), float(fit.stderr)


def class_label(curvature_class: str) -> str:
    """Short text for a curvature class, as printed on the figures."""
    return {
        "subquadratic": "subquadratic (η-form)",
        "quadratic": "quadratic",
        "superquadratic": "superquadratic (no η-form)",
        "indefinite": "indefinite",
    }.get(curvature_class, curvature_class)
