"""The figure registry: each figure module registers its ``make`` with :func:`figure`.

The same shape as the claims (:func:`dualreg.verify.registry.claim`): a decorator in the
figure's own module declares its name, title, what it shows and the claim ids it illustrates;
:mod:`dualreg.plots` imports every module of the package, so a new figure is one file.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from dualreg.plots._common import Context, Output

Make = Callable[[Context], Output]


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
    order : int
        Position in ``--list`` and in the index (smaller first).
    make : callable
        ``make(ctx) -> Output``.
    uses_mnist : bool
        Trains on MNIST (the shipped images, or ``--mnist DIR``).
    paper_budget : bool
        Has a ``--paper-budget`` mode (``Context.paper_budget``): the paper's full step budget.
    check : tuple of rules
        How closely a regeneration must reproduce each data value
        (:mod:`dualreg.plots.check`; unmatched values: ``check.DEFAULT``).
    """

    name: str
    module: str
    title: str
    shows: str
    claims: tuple[str, ...]
    order: int
    make: Make = field(repr=False)
    check: tuple = ()
    uses_mnist: bool = False
    paper_budget: bool = False

    def load(self) -> Make:
        """The module's ``make`` function."""
        return self.make


_REGISTERED: dict[str, FigureSpec] = {}
FIGURES: dict[str, FigureSpec] = {}
"""Registered figures by name, in ``order``."""


def figure(name: str, *, title: str, shows: str, claims: Sequence[str], order: int,
           check: Sequence = (), uses_mnist: bool = False, paper_budget: bool = False):
    """Register the decorated ``make(ctx) -> Output`` as the figure ``name``; ``check`` lists
    the rules of ``dualreg figures --check`` for its data (:mod:`dualreg.plots.check`)."""

    def register(make: Make) -> Make:
        if name in _REGISTERED:
            raise ValueError(f"figure {name!r} registered twice")
        module = make.__module__.rsplit(".", 1)[-1]
        _REGISTERED[name] = FigureSpec(name, module, title, shows, tuple(claims), order, make,
                                      tuple(check), uses_mnist, paper_budget)
        FIGURES.clear()
        FIGURES.update(sorted(_REGISTERED.items(), key=lambda kv: kv[1].order))
        return make

    return register


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
