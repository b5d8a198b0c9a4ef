r"""Penalties of rank-based dropout rules: an ordered weighted ridge of :math:`c\odot w^2`.

A rank rule gives the coordinate of rank k (by importance, ascending) the drop odds
:math:`\rho_k`. When the importance ranks :math:`c_jw_j^2` (equal :math:`c_j/\kappa_j^2` for
a rule ranking :math:`\kappa_j|w_j|`, proofs/T13), the rule's mean field is the gradient of

.. math:: \Omega(w) = \tfrac12\sum_{k=1}^d \rho_k\,(c\odot w^2)_{(k)},

:math:`(x)_{(1)} \le \dots \le (x)_{(d)}` the sorted entries (an ordered weighted sum).
ρ nonincreasing (targeted dropout: odds on the bottom ranks) makes Ω concave in
:math:`\theta = w^2`, with an η-form (:class:`TrimmedRidge`); ρ nondecreasing (Y-Drop: odds
rising with importance) makes it convex, superquadratic, with none (:class:`TopHalfRidge`).
They are not separable and their parameters include the column scales c (like ARD's design),
so they stay out of the separable catalogue: ``total``, ``gradient``, ``eta_hat``,
``keep_prob`` are their faces; ``value`` raises.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from dualreg._conventions import (
    INDEFINITE,
    QUADRATIC,
    SUBQUADRATIC,
    SUPERQUADRATIC,
    eta_to_keep_prob,
)
from dualreg._validation import as_finite_array, check_bool, check_positive, check_rate

__all__ = ["OrderedRidge", "TopHalfRidge", "TrimmedRidge"]


class OrderedRidge:
    r"""Ordered weighted ridge :math:`\Omega(w) = \tfrac12\sum_k\rho_k(c\odot w^2)_{(k)}`.

    Parameters
    ----------
    rho : array (d,)
        Drop odds by rank, ascending importance (``rho[0]`` for the smallest
        :math:`c_jw_j^2`); ``inf`` is not allowed (use :class:`~dualreg.penalties.HardThreshold`
        for the indicator limit).
    c : array (d,)
        Column scales :math:`c_j > 0` (docs/conventions.md §1).

    Notes
    -----
    Ranks break ties by position (lower index, lower rank); Ω itself is continuous across
    ties, only its gradient jumps there. The gradient (a supergradient where ρ is
    nonincreasing, a subgradient where nondecreasing) is :math:`c_j\rho_{\mathrm{rank}(j)}w_j`
    and :math:`\hat\eta_j(w) = 1/(c_j\rho_{\mathrm{rank}(j)})` (+inf where ρ = 0): the IRLS
    weights ``(λ/2)Σ w_j²/η_j`` reproduce λΩ's field.
    """

    separable: ClassVar[bool] = False

    def __init__(self, rho: Any, c: Any):
        self.rho = as_finite_array(rho, "rho").reshape(-1)
        self.c = np.asarray(check_positive(as_finite_array(c, "c"), "c"), float).reshape(-1)
        if self.rho.shape != self.c.shape or self.rho.size == 0:
            raise ValueError(f"rho and c must be nonempty vectors of one length, got "
                             f"{self.rho.shape} and {self.c.shape}")
        if np.any(self.rho < 0):
            raise ValueError("rho must be nonnegative (drop odds)")
        step = np.diff(self.rho)
        if np.all(step == 0):
            self.curvature_class = QUADRATIC
        elif np.all(step <= 0):
            self.curvature_class = SUBQUADRATIC
        elif np.all(step >= 0):
            self.curvature_class = SUPERQUADRATIC
        else:
            self.curvature_class = INDEFINITE
        self.is_convex = self.curvature_class in (QUADRATIC, SUPERQUADRATIC)

    @property
    def name(self) -> str:
        return type(self).__name__

    @property
    def params(self) -> dict[str, Any]:
        return {"rho": self.rho.tolist(), "c": self.c.tolist()}

    @property
    def has_eta_form(self) -> bool:
        return self.curvature_class in (SUBQUADRATIC, QUADRATIC)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"{self.name}({args})"

    def _check_w(self, w: Any) -> np.ndarray:
        w = as_finite_array(w, "w")
        if w.shape[-1:] != self.c.shape:
            raise ValueError(f"w must have {self.c.size} entries on its last axis, got "
                             f"{w.shape}")
        return w

    def ranks(self, w: Any) -> np.ndarray:
        """Rank (0 = least important) of each :math:`c_jw_j^2` along the last axis."""
        w = self._check_w(w)
        return np.argsort(np.argsort(self.c * w**2, axis=-1, kind="stable"), axis=-1,
                          kind="stable")

    def value(self, w: Any) -> np.ndarray:
        raise ValueError(f"{self.name} is not separable: use total(w) for the vector penalty")

    def total(self, w: Any) -> np.ndarray:
        r""":math:`\tfrac12\sum_k\rho_k(c\odot w^2)_{(k)}` over the last axis."""
        w = self._check_w(w)
        return 0.5 * np.sum(np.sort(self.c * w**2, axis=-1) * self.rho, axis=-1)

    def odds(self, w: Any) -> np.ndarray:
        """Drop odds :math:`\\rho_{\\mathrm{rank}(j)}` of each coordinate (λ = 1)."""
        return self.rho[self.ranks(w)]

    def gradient(self, w: Any) -> np.ndarray:
        r""":math:`c_j\rho_{\mathrm{rank}(j)}w_j` (the rule's mean field at λ = 1)."""
        w = self._check_w(w)
        return self.c * self.odds(w) * w

    def eta_hat(self, w: Any) -> np.ndarray:
        r""":math:`\hat\eta_j = 1/(c_j\rho_{\mathrm{rank}(j)})`, +inf where the odds are 0."""
        with np.errstate(divide="ignore"):
            return 1.0 / (self.c * self.odds(w))

    def keep_prob(self, w: Any, lam: float = 1.0) -> np.ndarray:
        r"""Bernoulli keep probability implementing λΩ on data with these column scales:
        :math:`\alpha_j = c_j\hat\eta_j/(c_j\hat\eta_j + \lambda) = 1/(1 + \lambda\rho_j)`."""
        return eta_to_keep_prob(self.eta_hat(w), lam, self.c)


class TrimmedRidge(OrderedRidge):
    r"""Rank-based targeted dropout's penalty: odds r = a/(1 − a) on the k least important
    coordinates, 0 on the others,

    .. math:: \Omega(w) = \tfrac{r}{2}\,(\text{sum of the } k \text{ smallest } c_jw_j^2),

    concave and nondecreasing in θ = w² (a minimum of linear functions): subquadratic, with
    η-form :math:`\hat\eta = 1/(c_jr)` on the k smallest, +inf on the rest. In the effective
    weights u = (1 − δ) ⊙ w of targeted dropout (proofs/T7 §3) with k = ⌊γd⌋.
    """

    def __init__(self, rate: float, k: int, c: Any):
        self.rate = check_rate(rate, "rate")
        c = as_finite_array(c, "c").reshape(-1)
        if isinstance(k, bool) or int(k) != k or not 0 <= k <= c.size:
            raise ValueError(f"k must be an integer in [0, {c.size}], got {k!r}")
        self.k = int(k)
        rho = np.where(np.arange(c.size) < self.k, self.rate / (1.0 - self.rate), 0.0)
        super().__init__(rho, c)

    @property
    def params(self) -> dict[str, Any]:
        return {"rate": self.rate, "k": self.k, "c": self.c.tolist()}


class TopHalfRidge(OrderedRidge):
    r"""Rank-based Y-Drop's penalty (bucket mapping, absolute rule): odds r_low on the
    ⌊d/2⌋ least important coordinates, r_high on the ⌈d/2⌉ most important,

    .. math:: \Omega(w) = \tfrac{r_{low}}2\sum_jc_jw_j^2 + \tfrac{r_{high}-r_{low}}2\,
              (\text{sum of the } \lceil d/2\rceil \text{ largest } c_jw_j^2),

    convex (a maximum of linear functions of θ): superquadratic for p_high > p_low, no
    η-form. ``mirrored=True`` swaps the two rates: concave, subquadratic.
    """

    def __init__(self, p_low: float, p_high: float, c: Any, mirrored: bool = False):
        self.p_low, self.p_high = check_rate(p_low, "p_low"), check_rate(p_high, "p_high")
        self.mirrored = check_bool(mirrored, "mirrored")
        c = as_finite_array(c, "c").reshape(-1)
        lo, hi = self.p_low / (1.0 - self.p_low), self.p_high / (1.0 - self.p_high)
        if self.mirrored:
            lo, hi = hi, lo
        rho = np.where(np.arange(c.size) >= c.size // 2, hi, lo)
        super().__init__(rho, c)

    @property
    def params(self) -> dict[str, Any]:
        return {"p_low": self.p_low, "p_high": self.p_high, "c": self.c.tolist(),
                "mirrored": self.mirrored}
