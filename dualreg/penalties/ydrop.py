r"""Y-Drop (Georgiou et al. 2024) on a linear/GLM model as a penalty frozen at a threshold τ:
a two-level quadratic (bucket mapping) or smooth odds (continuous mapping)."""

from __future__ import annotations

import numpy as np

from dualreg._validation import check_bool, check_choice, check_rate, check_scalar
from dualreg.penalties.base import QUADRATIC, SUBQUADRATIC, SUPERQUADRATIC, Penalty
from dualreg.penalties.classical import TwoLevelQuadratic

__all__ = ["YDrop"]


class _SmoothOdds(Penalty):
    r"""Odds :math:`r(t) = r_0 + (r_1 - r_0)\,t^2/(t^2+\tau^2)` (λ = c = 1):
    :math:`\Omega = \tfrac{r_0}{2}t^2 + \tfrac{r_1-r_0}{2}[t^2 - \tau^2\log(1+t^2/\tau^2)]`."""

    def __init__(self, r0: float, r1: float, tau: float):
        self.r0, self.r1, self.tau = r0, r1, tau
        if r0 > r1:
            self.curvature_class = SUBQUADRATIC
        elif r0 == r1:
            self.curvature_class = QUADRATIC
        else:
            self.curvature_class = SUPERQUADRATIC
        self.is_convex = r0 <= r1

    def _odds(self, t):
        # r1 − (r1 − r0)τ²/(t² + τ²): the same odds, and r1 (not NaN) where t² overflows.
        with np.errstate(over="ignore"):
            return self.r1 - (self.r1 - self.r0) * self.tau**2 / (t * t + self.tau**2)

    def _omega(self, t):
        tau2, r0, r1 = self.tau**2, self.r0, self.r1
        with np.errstate(over="ignore", invalid="ignore"):
            t2 = t * t
            # log(1 + t²/τ²) without overflow: 2 log(t/τ) + log1p(τ²/t²) above τ.
            big = np.maximum(t, self.tau)
            log_term = np.where(t > self.tau, 2.0 * np.log(big / self.tau)
                                + np.log1p(tau2 / big**2), np.log1p(t2 / tau2))
            if r0 > r1:  # ½ r1 t² + ½ (r0 − r1) τ² log(1 + t²/τ²): two nonnegative terms
                low = 0.5 * r1 * t2 if r1 else 0.0
                return low + 0.5 * (r0 - r1) * tau2 * log_term
            excess = np.where(np.isinf(t2), np.inf, t2 - tau2 * log_term)
            low = 0.5 * r0 * t2 if r0 else 0.0
            high = 0.5 * (r1 - r0) * excess if r1 != r0 else 0.0
        return low + high + np.zeros_like(t)

    def _slope(self, t):
        return t * self._odds(t)

    def _eta_hat(self, t):
        with np.errstate(divide="ignore"):
            return 1.0 / self._odds(t)

    def _dual(self, eta):
        r0, r1, tau2 = self.r0, self.r1, self.tau**2
        with np.errstate(divide="ignore", invalid="ignore"):
            inv = 1.0 / eta
            rho = np.clip((r0 - inv) / (r0 - r1), 0.0, 1.0)
            t2 = tau2 * rho / (1.0 - rho)
            t = np.sqrt(t2)
            inner = 2.0 * self._omega(t) - t2 * inv
        out = np.where(inv >= r0, 0.0, inner)
        return np.where(inv <= r1, np.inf, out)


class YDrop(Penalty):
    r"""Y-Drop (Georgiou et al. 2024) on a linear/GLM model, frozen at a threshold τ.

    For a linear head the conductance of unit j is exactly :math:`w_j(x_j - x'_j)`, so ranking
    by conductance is ranking by |w_j|: the more important units (|w| ≥ τ, τ the median) are
    dropped with ``p_high``, the others with ``p_low`` — odds increase with |w|: an
    anti-monotone rule, hence a superquadratic, densifying penalty (λ = c = 1):

    - ``mapping="bucket"``: :math:`\Omega = \tfrac{r_{low}}{2}w^2 +
      \tfrac{r_{high}-r_{low}}{2}(w^2-\tau^2)_+`, r = p/(1−p);
    - ``mapping="continuous"``: odds :math:`r_{low} + (r_{high}-r_{low})w^2/(w^2+\tau^2)`.

    ``mirrored=True`` drops the less important half more (odds decrease with |w|): a monotone
    rule, subquadratic and sparsifying, with an η-form.
    """

    def __init__(
        self,
        p_low: float = 0.1,
        p_high: float = 0.5,
        tau: float = 1.0,
        mapping: str = "bucket",
        mirrored: bool = False,
    ):
        self.p_low = check_rate(p_low, "p_low")
        self.p_high = check_rate(p_high, "p_high")
        if self.p_low > self.p_high:
            raise ValueError(
                f"p_low must be <= p_high (got {p_low} > {p_high}); use mirrored=True to drop "
                "the less important units more"
            )
        self.tau = check_scalar(tau, "tau", 0.0, np.inf, low_inclusive=False)
        self.mapping = check_choice(mapping, "mapping", ("bucket", "continuous"))
        self.mirrored = check_bool(mirrored, "mirrored")
        r_low = self.p_low / (1.0 - self.p_low)
        r_high = self.p_high / (1.0 - self.p_high)
        r_small_w, r_big_w = (r_high, r_low) if self.mirrored else (r_low, r_high)
        if mapping == "bucket":
            self._impl: Penalty = TwoLevelQuadratic(r_small_w, r_big_w, self.tau)
        else:
            self._impl = _SmoothOdds(r_small_w, r_big_w, self.tau)
        self.curvature_class = self._impl.curvature_class
        self.is_convex = self._impl.is_convex

    @property
    def params(self):
        return {
            "p_low": self.p_low,
            "p_high": self.p_high,
            "tau": self.tau,
            "mapping": self.mapping,
            "mirrored": self.mirrored,
        }

    def _omega(self, t):
        return self._impl._omega(t)

    def _slope(self, t):
        return self._impl._slope(t)

    def _eta_hat(self, t):
        return self._impl._eta_hat(t)

    def _dual(self, eta):
        return self._impl._dual(eta)

    def _prox(self, v, step):
        return self._impl._prox(v, step)

    def to_cvxpy(self, expr):
        if self.mapping == "bucket" and self.is_convex:
            return self._impl.to_cvxpy(expr)
        if self.is_convex:
            raise ValueError(
                f"{self!r} is convex, but its log term has no cvxpy (DCP) form; "
                "use mapping='bucket' for a cvxpy reference"
            )
        return super().to_cvxpy(expr)
