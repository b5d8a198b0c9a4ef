r"""MCP and SCAD in the literature's (λ, γ) parametrisation, where λ scales the threshold.

The catalogue's :class:`~dualreg.penalties.MCP` (a, scale) and
:class:`~dualreg.penalties.SCAD` (a, scale) have **fixed thresholds**: in F = L + λΩ the knot
b = a·scale of MCP does not move with λ. The literature (Zhang 2010; Fan & Li 2001) and skglm's
``MCPenalty(alpha, gamma)`` / ``SCAD(alpha, gamma)`` write the penalty so that λ moves the knots:

.. math::

    \text{MCP}_{\lambda,\gamma}(t) = \begin{cases} \lambda t - t^2/(2\gamma) & t \le \gamma\lambda
    \\ \gamma\lambda^2/2 & t > \gamma\lambda \end{cases}
    \qquad
    \text{SCAD}_{\lambda,\gamma}(t) = \begin{cases} \lambda t & t \le \lambda \\
    \dfrac{2\gamma\lambda t - t^2 - \lambda^2}{2(\gamma - 1)} & \lambda < t \le \gamma\lambda \\
    \lambda^2(\gamma + 1)/2 & t > \gamma\lambda \end{cases}

(t = |w|). Written as λ·Ω (docs/conventions.md §1), :math:`\text{MCP}_{\lambda,\gamma} =
\lambda\,\text{MCP}(a=\gamma, \text{scale}=\lambda)` and :math:`\text{SCAD}_{\lambda,\gamma} =
\lambda\,\text{SCAD}(a=\gamma, \text{scale}=\lambda)`: the objects below are exactly those, and
they declare :attr:`~dualreg.penalties.Penalty.follows_lam`, so that
:func:`dualreg.solvers.irls`, :func:`dualreg.solvers.irls_path` and the estimators of
:mod:`dualreg.estimators` rebuild them at every λ (alpha) they solve at (:meth:`at_lam`): the
``lam`` given at construction only matters where the penalty is used alone (its faces).

The other catalogue penalties with a threshold keep it in the units of w by definition:
CappedL2's and TargetedDropout's τ and YDrop's τ are magnitude thresholds of a dropout rule
(docs/conventions.md §5), independent of the dropout strength λ.
"""

from __future__ import annotations

from typing import Any

from dualreg._validation import check_scalar
from dualreg.penalties.classical import MCP, SCAD

__all__ = ["TEXTBOOK", "TextbookMCP", "TextbookSCAD"]


def _check_lam(lam: Any) -> float:
    return check_scalar(lam, "lam", 0.0, float("inf"), low_inclusive=False)


class TextbookMCP(MCP):
    r"""MCP in the (λ, γ) form: λΩ = MCP_{λ,γ} (module docstring), i.e. ``MCP(a=gamma,
    scale=lam)`` whose knot b = γλ follows λ.

    Ω(t) = t − t²/(2γλ) on t ≤ γλ, γλ/2 beyond; η̂(t) = γλt/(γλ − t) below γλ, +inf beyond;
    f(η) = γλη/(η + γλ). skglm's ``MCPenalty(alpha=lam, gamma=gamma)`` is λΩ.

    Parameters
    ----------
    gamma : float > 0
        γ: the knot sits at γλ (the literature takes γ > 1; the univariate problem
        ½(x − v)² + MCP_{λ,γ}(x) is convex iff γ ≥ 1).
    lam : float > 0, default 1.0
        The λ this instance is built at; :meth:`at_lam` gives the same γ at another λ.
    """

    follows_lam = True

    def __init__(self, gamma: float = 3.0, lam: float = 1.0):
        self.gamma = check_scalar(gamma, "gamma", 0.0, float("inf"), low_inclusive=False)
        self.lam = _check_lam(lam)
        super().__init__(a=self.gamma, scale=self.lam)

    @property
    def params(self) -> dict[str, Any]:
        return {"gamma": self.gamma, "lam": self.lam}

    def at_lam(self, lam: float) -> TextbookMCP:
        """The same γ at strength ``lam`` (``self`` at λ = 0, where λΩ vanishes whatever Ω)."""
        lam = check_scalar(lam, "lam", 0.0, float("inf"))
        return self if lam == 0 else type(self)(self.gamma, lam)


class TextbookSCAD(SCAD):
    r"""SCAD in the (λ, γ) form: λΩ = SCAD_{λ,γ} (module docstring), i.e. ``SCAD(a=gamma,
    scale=lam)`` whose knots λ and γλ follow λ.

    Ω(t) = t on t ≤ λ, (2γλt − t² − λ²)/(2λ(γ − 1)) up to γλ, λ(γ + 1)/2 beyond.
    skglm's ``SCAD(alpha=lam, gamma=gamma)`` is λΩ.

    Parameters
    ----------
    gamma : float > 1, default 3.7 (Fan & Li's choice)
    lam : float > 0, default 1.0
        The λ this instance is built at; :meth:`at_lam` gives the same γ at another λ.
    """

    follows_lam = True

    def __init__(self, gamma: float = 3.7, lam: float = 1.0):
        self.gamma = check_scalar(gamma, "gamma", 1.0, float("inf"), low_inclusive=False)
        self.lam = _check_lam(lam)
        super().__init__(a=self.gamma, scale=self.lam)

    @property
    def params(self) -> dict[str, Any]:
        return {"gamma": self.gamma, "lam": self.lam}

    def at_lam(self, lam: float) -> TextbookSCAD:
        """The same γ at strength ``lam`` (``self`` at λ = 0, where λΩ vanishes whatever Ω)."""
        lam = check_scalar(lam, "lam", 0.0, float("inf"))
        return self if lam == 0 else type(self)(self.gamma, lam)


#: The textbook forms by name, for :func:`dualreg.estimators.resolve_penalty`
#: (``penalty="TextbookMCP", penalty_params={"gamma": 3}``).
TEXTBOOK: dict[str, type] = {"TextbookMCP": TextbookMCP, "TextbookSCAD": TextbookSCAD}
