"""What the solvers ask of a penalty and of a family, declared in one place and checked before
any iteration.

A penalty or family that lacks a method the solver calls fails up front with one
``ValueError`` naming every missing method, instead of an ``AttributeError`` deep inside an
iteration. The declarations are the single source: the solvers call nothing else on these
objects (a test greps for it).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

__all__ = [
    "FAMILY_ATTRIBUTES",
    "FAMILY_METHODS",
    "PENALTY_FLAGS",
    "PENALTY_METHODS",
    "check_family",
    "check_penalty",
    "missing_methods",
    "penalty_at",
]

PENALTY_METHODS: Mapping[str, str] = {
    "value": "Ω(w): the objective F and the history",
    "derivative": "dΩ/dw: Newton gradients, Ω'' by differences, stationarity",
    "eta_hat": "η̂(w) = |w|/Ω'(|w|): the MM (η-trick) weights",
    "slope_at_zero": "Ω'(0+): kinks, working sets and λ_max",
    "subdiff_distance": "dist(−∇L, λ∂Ω(w)): the stopping rule",
    "prox": "argmin ½(x − v)² + sΩ(x): the coordinate prox sweep",
}
"""Penalty methods the η-trick IRLS calls, with what each is used for."""

PENALTY_FLAGS: Mapping[str, Any] = {
    "separable": True,
    "has_eta_form": False,
    "is_convex": False,
    "kink_at_zero": False,
    "follows_lam": False,
}
"""Penalty properties the solver reads, with the value assumed when one is not declared."""

FAMILY_METHODS: Mapping[str, str] = {
    "check_y": "validates y",
    "pointwise_loss": "ℓ_i(θ_i): the loss L",
    "mean": "μ = A'(θ): gradients",
    "curvature": "A''(θ): Newton / IRLS weights",
    "link_of_mean": "(A')⁻¹(ȳ): the null intercept",
    "perfectly_separated": "the no-finite-minimiser stop",
}
"""Family methods the solvers call, with what each is used for."""

FAMILY_ATTRIBUTES: tuple[str, ...] = ("constant_curvature", "curvature_bound", "name")
"""Family properties the solvers read: A'' ≡ 1 (one linear solve, centring) and sup A''
(the prox sweep's and proximal gradient's Lipschitz factor)."""


def _implemented(obj: Any, name: str) -> bool:
    method = getattr(obj, name, None)
    if not callable(method):
        return False
    return not getattr(getattr(method, "__func__", method), "__isabstractmethod__", False)


def missing_methods(obj: Any, names: Iterable[str]) -> list[str]:
    """The names in ``names`` that ``obj`` does not implement as a callable (an abstract method
    counts as missing)."""
    return [name for name in names if not _implemented(obj, name)]


def _lacks(kind: str, obj: Any, missing: list[str], methods: Iterable[str], who: str) -> str:
    calls = ", ".join(f".{m}" for m in methods)
    return (f"{kind} {type(obj).__name__} lacks {', '.join(missing)}: {who} calls {kind}{calls} "
            f"(dualreg.solvers.contract)")


def check_penalty(penalty: Any, methods: Iterable[str] = PENALTY_METHODS, *,
                  who: str = "the η-trick IRLS", need_eta_form: bool = True) -> None:
    """Raise a ``ValueError`` naming why ``penalty`` cannot be handled by ``who``.

    In order: a coupled (non-separable) penalty; the methods of :data:`PENALTY_METHODS` (or
    ``methods``) it lacks, all named in one message; no η-form when ``need_eta_form`` (a
    :class:`~dualreg.penalties.NoEtaFormError`, a ``ValueError``: Ω(√θ) is not concave).
    """
    if not getattr(penalty, "separable", PENALTY_FLAGS["separable"]):
        raise ValueError(
            f"penalty {penalty!r} is not separable: the η-trick IRLS reweights one coefficient "
            "at a time (η_j = η̂(w_j)) and has no form for a coupled penalty"
        )
    methods = tuple(methods)
    missing = missing_methods(penalty, methods)
    if missing:
        raise ValueError(_lacks("penalty", penalty, missing, methods, who))
    if need_eta_form and not getattr(penalty, "has_eta_form", PENALTY_FLAGS["has_eta_form"]):
        from dualreg.penalties.base import NoEtaFormError

        raise NoEtaFormError(
            f"penalty {penalty!r} is {getattr(penalty, 'curvature_class', '?')}: Ω(√θ) is not "
            "concave, so Ω is a supremum (not an infimum) of quadratics and has no η-form; the "
            "η-trick IRLS does not apply"
        )


def penalty_at(penalty: Any, lam: float) -> Any:
    """The penalty to solve with at strength ``lam``: ``penalty.at_lam(lam)`` when the penalty
    declares ``follows_lam`` (its threshold moves with λ: the textbook MCP and SCAD of
    :mod:`dualreg.penalties.textbook`), else ``penalty`` itself. Paths and estimators call it
    at every λ; ``irls`` solves with the penalty it is given."""
    if getattr(penalty, "follows_lam", PENALTY_FLAGS["follows_lam"]):
        return penalty.at_lam(lam)
    return penalty


def check_family(family: Any, *, who: str = "the η-trick IRLS") -> None:
    """Raise a ``ValueError`` naming the methods of :data:`FAMILY_METHODS` and the attributes of
    :data:`FAMILY_ATTRIBUTES` that ``family`` lacks."""
    missing = missing_methods(family, FAMILY_METHODS)
    missing += [a for a in FAMILY_ATTRIBUTES if not hasattr(family, a)]
    if missing:
        raise ValueError(_lacks("family", family, missing,
                                (*FAMILY_METHODS, *FAMILY_ATTRIBUTES), who))
