"""Planted bugs: one plausible mistake each, applied in isolation by monkeypatching.

A :class:`Plant` names the layer it breaks, says what the mistake is, and applies it through a
:class:`Patcher`, which records every replacement so that it can be undone. The suite is worth
what it catches: ``dualreg mutate`` applies each plant in a fresh process, runs
``dualreg verify --quick`` against it, and reports which claim failed.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

PLANTS: dict[str, Plant] = {}
LAYERS = ("penalty faces", "duality", "families", "solvers", "torch layers", "trainer",
          "attribution", "expectations", "figures", "look-alikes", "pruning")


@dataclass(frozen=True)
class Plant:
    """One planted bug.

    Attributes
    ----------
    name : str
        Kebab-case identifier (``dualreg mutate --only NAME``).
    layer : str
        The layer it breaks (one of :data:`LAYERS`).
    what : str
        The mistake, in one sentence a reader can check against the code.
    apply : callable
        ``apply(patcher)`` installs the mistake.
    expect : tuple of str
        Claim-id prefixes expected to catch it: they run first, which only saves time — the plant
        counts as caught only if a claim of the quick suite actually fails.
    ci : bool
        Part of the fast subset that ``make test`` runs.
    """

    name: str
    layer: str
    what: str
    apply: Callable[[Patcher], None] = field(repr=False)
    expect: tuple[str, ...] = ()
    ci: bool = False


def plant(name: str, layer: str, what: str, expect: tuple[str, ...] = (), ci: bool = False):
    """Register the decorated ``apply(patcher)`` function as a plant."""
    if layer not in LAYERS:
        raise ValueError(f"layer must be one of {LAYERS}, got {layer!r}")

    def register(fn: Callable[[Patcher], None]) -> Callable[[Patcher], None]:
        if name in PLANTS:
            raise ValueError(f"plant {name!r} registered twice")
        PLANTS[name] = Plant(name, layer, what, fn, tuple(expect), ci)
        return fn

    return register


def _resolve(target: Any) -> Any:
    """``"pkg.module:Class"`` or ``"pkg.module"`` to the object; objects pass through."""
    if not isinstance(target, str):
        return target
    module, _, attr = target.partition(":")
    obj = importlib.import_module(module)
    for part in filter(None, attr.split(".")):
        obj = getattr(obj, part)
    return obj


class Patcher:
    """Installs replacements and remembers the originals (:meth:`undo` restores them)."""

    def __init__(self) -> None:
        self._undo: list[tuple[Any, str, Any]] = []

    def set(self, target: Any, name: str, value: Any, new: bool = False) -> None:
        """Replace attribute ``name`` of ``target``; the attribute must exist unless ``new``
        (a plant that patches nothing would survive for the wrong reason)."""
        obj = _resolve(target)
        if not new and name not in vars(obj) and not hasattr(obj, name):
            raise AttributeError(f"{obj!r} has no attribute {name!r} to plant a bug in")
        self._undo.append((obj, name, vars(obj).get(name, _MISSING)))
        setattr(obj, name, value)

    def wrap(self, target: Any, name: str, make: Callable[[Any], Any]) -> None:
        """Replace ``target.name`` by ``make(original)``."""
        obj = _resolve(target)
        self.set(obj, name, make(getattr(obj, name)))

    def set_function(self, target: str, value: Callable[..., Any]) -> None:
        """Replace the function ``"module:name"`` in its module and in every loaded dualreg
        module that imported it by name (``from m import f`` binds a second reference)."""
        module, _, name = target.partition(":")
        original = getattr(importlib.import_module(module), name)
        for mod_name, mod in list(sys.modules.items()):
            if mod_name.startswith("dualreg") and getattr(mod, name, None) is original:
                self.set(mod, name, value)

    def wrap_function(self, target: str, make: Callable[[Any], Any]) -> None:
        """:meth:`set_function` with ``make(original)``."""
        module, _, name = target.partition(":")
        self.set_function(target, make(getattr(importlib.import_module(module), name)))

    def undo(self) -> None:
        """Restore every original, last first."""
        while self._undo:
            obj, name, old = self._undo.pop()
            if old is _MISSING:
                delattr(obj, name)
            else:
                setattr(obj, name, old)


_MISSING = object()


def load_plants() -> dict[str, Plant]:
    """Import every module of :mod:`dualreg.verify.mutations.plants` (one per layer)."""
    import pkgutil

    from dualreg.verify.mutations import plants

    for info in pkgutil.iter_modules(plants.__path__):
        importlib.import_module(f"{plants.__name__}.{info.name}")
    return PLANTS
