r"""Classical penalties in closed form: ridge, ℓ1, ℓp (and general powers), LogSum, Log²Sum,
SCAD, MCP, and the two-level quadratics (capped ridge) behind targeted dropout and Y-Drop.

Each class gives Ω, Ω', η̂ = t/Ω'(t) and the dual f in closed form (docs/conventions.md §5) and a
closed-form prox where one exists.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dualreg._validation import check_scalar
from dualreg.penalties._power_prox import _prox_half, _prox_power_root, _prox_two_thirds
from dualreg.penalties.base import (
    QUADRATIC,
    SUBQUADRATIC,
    SUPERQUADRATIC,
    Penalty,
)


def _prox_by_candidates(penalty: Penalty, v: np.ndarray, step: np.ndarray, cands: list) -> Any:
    """Pick, per element, the candidate minimising ½(x − v)² + step·Ω(x).

    For piecewise penalties the stationary point of every piece (clipped to its piece) and the
    breakpoints form a finite set that contains the global minimiser.
    """
    stacked = np.stack([np.broadcast_to(c, v.shape) for c in cands], axis=0)
    obj = 0.5 * (stacked - v) ** 2 + step * penalty._omega(stacked)
    idx = np.argmin(obj, axis=0)
    return np.take_along_axis(stacked, idx[None], axis=0)[0]


class Power(Penalty):
    r"""Weighted power :math:`\Omega(w) = m|w|^q/q`, any q > 0 (the engine of ℓp and Sparseout).

    :math:`\hat\eta = t^{2-q}/m`; for q < 2, :math:`f(\eta) = m (m\eta)^r / r` with
    :math:`r = q/(2-q)`; q = 2 is the ridge :math:`m w^2/2` (f = 0 on :math:`m\eta \le 1`,
    +inf beyond); q > 2 is superquadratic (no dual).
    """

    def __init__(self, q: float, weight: float = 1.0):
        self.q = check_scalar(q, "q", 0.0, np.inf, low_inclusive=False)
        self.weight = check_scalar(weight, "weight", 0.0, np.inf)
        if self.q < 2:
            self.curvature_class = SUBQUADRATIC
        elif self.q == 2:
            self.curvature_class = QUADRATIC
        else:
            self.curvature_class = SUPERQUADRATIC
        self.is_convex = self.q >= 1
        self.kink_at_zero = self.q <= 1

    @property
    def params(self) -> dict[str, Any]:
        return {"q": self.q, "weight": self.weight}

    def _omega(self, t):
        return self.weight * t**self.q / self.q

    def _slope(self, t):
        q = self.q
        if q == 1:
            return np.full_like(t, self.weight)
        with np.errstate(divide="ignore"):
            return self.weight * t ** (q - 1)

    def _eta_hat(self, t):
        q = self.q
        if self.weight == 0:  # Ω ≡ 0: Ω' = 0, η̂ = +inf everywhere (Sparseout with drop = 0)
            return np.full_like(t, np.inf)
        with np.errstate(divide="ignore", over="ignore"):
            if q == 2:
                return np.full_like(t, 1.0 / self.weight)
            return t ** (2 - q) / np.float64(self.weight)

    def eta_hat_torch(self, t):
        """:math:`t^{2-q}/m` in tensor arithmetic (1/m for the ridge)."""
        if self.q == 2:
            return t.new_full(t.shape, float("inf") if self.weight == 0 else 1.0 / self.weight)
        return t.pow(2.0 - self.q) / self.weight

    def _dual(self, eta):
        m, q = self.weight, self.q
        if m == 0:  # Ω ≡ 0: f(η) = sup_w [−w²/η] = 0 for every η (also η = +inf)
            return np.zeros_like(eta)
        if q == 2:
            return np.where(m * eta <= 1.0, 0.0, np.inf)
        r = q / (2 - q)
        with np.errstate(over="ignore"):
            return m * (m * eta) ** r / r

    def _prox(self, v, step):
        q, mu = self.q, self.weight * step
        if q == 1:
            return np.maximum(v - mu, 0.0)
        if q == 2:
            return v / (1.0 + mu)
        if q == 0.5:
            return _prox_half(v, 2.0 * mu)
        # A zero step or weight (Sparseout with drop = 0) is the identity; the q < 1 formulas
        # divide by mu.
        if q == 2.0 / 3.0:
            return np.where(mu > 0, _prox_two_thirds(v, 1.5 * mu), v)
        return np.where(mu > 0, _prox_power_root(v, mu, q), v)

    def _prox_far(self, v, step):
        if self.q <= 2:
            return super()._prox_far(v, step)
        # Superquadratic: x + μx^{q−1} = v, solved as log(x + μx^{q−1}) = log v in z = log x
        # (x ≈ (v/μ)^{1/(q−1)} ≪ v; μx^{q−1} is formed in logs, so it never overflows).
        from dualreg._numerics import bisect_increasing

        log_mu = np.log(self.weight * step)

        def log_h(z):
            return np.logaddexp(z, log_mu + (self.q - 1) * z)

        z = bisect_increasing(log_h, np.log(v), np.full_like(v, -700.0), np.log(v),
                              iterations=200)
        return np.exp(z)

    def to_cvxpy(self, expr):
        import cvxpy as cp

        if not self.is_convex:
            return super().to_cvxpy(expr)
        if self.q == 1:
            return self.weight * cp.norm1(expr)
        return (self.weight / self.q) * cp.sum(cp.power(cp.abs(expr), self.q))


class Ridge(Power):
    r"""Ridge :math:`\Omega(w) = w^2/2`: :math:`\hat\eta = 1`, f = 0 on η ≤ 1 (+inf beyond),
    keep probability :math:`c/(c+\lambda)` whatever w."""

    def __init__(self):
        super().__init__(2.0)

    @property
    def params(self):
        return {}

    def to_cvxpy(self, expr):
        import cvxpy as cp

        return 0.5 * cp.sum_squares(expr)


class L1(Power):
    r"""Lasso :math:`\Omega(w) = |w|`: :math:`\hat\eta = |w|`, :math:`f(\eta) = \eta`,
    prox = soft thresholding."""

    def __init__(self):
        super().__init__(1.0)

    @property
    def params(self):
        return {}


class Lp(Power):
    r""":math:`\Omega(w) = |w|^p/p` for p ∈ (0, 2]: :math:`\hat\eta = |w|^{2-p}`,
    :math:`f(\eta) = \eta^r/r`, r = p/(2−p). Closed-form prox for p ∈ {1/2, 2/3, 1, 2}."""

    def __init__(self, p: float):
        p = check_scalar(p, "p", 0.0, 2.0, low_inclusive=False)
        super().__init__(p)

    @property
    def params(self):
        return {"p": self.q}


class LogSum(Penalty):
    r"""LogSum :math:`\Omega(w) = \log(|w| + \varepsilon)`.

    :math:`\hat\eta = |w|(|w|+\varepsilon)`; :math:`f(\eta) = 2\log(t_\eta+\varepsilon) -
    t_\eta^2/\eta` with :math:`t_\eta = (\sqrt{\varepsilon^2 + 4\eta} - \varepsilon)/2`;
    Ω(0) = log ε, f(0) = 2 log ε. Closed-form prox from the quadratic stationary equation.
    """

    kink_at_zero = True

    def __init__(self, eps: float = 1.0):
        self.eps = check_scalar(eps, "eps", 0.0, np.inf, low_inclusive=False)

    @property
    def params(self):
        return {"eps": self.eps}

    def _omega(self, t):
        return np.log(t + self.eps)

    def _slope(self, t):
        return 1.0 / (t + self.eps)

    def _eta_hat(self, t):
        return t * (t + self.eps)

    def eta_hat_torch(self, t):
        r""":math:`t(t+\varepsilon)` in tensor arithmetic."""
        return t * (t + self.eps)

    def dual_torch(self, eta):
        r""":math:`f(\eta)` for η > 0 in differentiable tensor arithmetic (the stable root)."""
        t = 2.0 * eta / ((self.eps**2 + 4.0 * eta).sqrt() + self.eps)
        return 2.0 * (t + self.eps).log() - t * t / eta

    def _dual(self, eta):
        e = self.eps
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            # the stable root t = 2η/(√(ε²+4η) + ε), written without 4η or 2η (overflow)
            root = np.sqrt(eta) * np.sqrt(1.0 + e**2 / (4.0 * np.where(eta > 0, eta, 1.0)))
            t = eta / (root + 0.5 * e)
            out = 2.0 * np.log(t + e) - np.where(eta > 0, t * (t / np.where(eta > 0, eta, 1)),
                                                  0.0)
        return np.where(np.isinf(eta), np.inf, out)

    def _prox(self, v, step):
        # x + step/(x + eps) = v  <=>  x² + (eps − v)x + (step − v·eps) = 0
        e = self.eps
        disc = (v + e) ** 2 - 4.0 * step
        root = np.where(disc >= 0, 0.5 * ((v - e) + np.sqrt(np.maximum(disc, 0.0))), 0.0)
        return _prox_by_candidates(self, v, step, [np.zeros_like(v), np.clip(root, 0.0, v)])


class Log2Sum(Penalty):
    r"""Log²Sum :math:`\Omega(w) = \log(w^2 + \varepsilon)`.

    :math:`\hat\eta = (w^2+\varepsilon)/2`;
    :math:`f(\eta) = 2\log(2\eta) - 2 + \varepsilon/\eta` for :math:`\eta \ge \varepsilon/2`,
    :math:`2\log\varepsilon` below (the sign the LeJeune et al. reference code gets wrong).
    Smooth at 0 (η̂(0) = ε/2 > 0): no exact zeros.
    """

    def __init__(self, eps: float = 1.0):
        self.eps = check_scalar(eps, "eps", 0.0, np.inf, low_inclusive=False)

    @property
    def params(self):
        return {"eps": self.eps}

    def _omega(self, t):
        # log(t² + ε) = logaddexp(2 log t, log ε): no overflow of t² (log(1e600) = 1381.6).
        with np.errstate(divide="ignore"):
            return np.logaddexp(2.0 * np.log(t), np.log(self.eps))

    def _slope(self, t):
        # 2t/(t² + ε) = 2/(t + ε/t) above 1, where t² may overflow.
        with np.errstate(divide="ignore", over="ignore"):
            big = 2.0 / (np.maximum(t, 1.0) + self.eps / np.maximum(t, 1.0))
            return np.where(t > 1.0, big, 2.0 * t / (t * t + self.eps))

    def _eta_hat(self, t):
        with np.errstate(over="ignore"):  # +inf beyond 1e154: t/Ω'(t) ≈ t²/2 overflows
            return 0.5 * (t * t + self.eps)

    def eta_hat_torch(self, t):
        r""":math:`(t^2+\varepsilon)/2` in tensor arithmetic."""
        return 0.5 * (t * t + self.eps)

    def _dual(self, eta):
        e = self.eps
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            upper = 2.0 * np.log(2.0 * eta) - 2.0 + e / eta
        return np.where(eta >= e / 2.0, upper, 2.0 * np.log(e))


class MCP(Penalty):
    r"""Minimax concave penalty with a fixed knot b = a·scale (λ does not move it):
    :math:`\Omega = |w| - w^2/(2b)` on :math:`|w| \le b`, b/2 beyond. The literature's
    MCP(λ, γ), knot γλ, is :class:`~dualreg.penalties.TextbookMCP` (= λ·MCP(a=γ, scale=λ)).

    :math:`\hat\eta = b|w|/(b-|w|)` below b, +inf beyond; :math:`f(\eta) = b\eta/(\eta + b)`.
    Prox by the candidates of each piece (firm thresholding when step < b).
    """

    kink_at_zero = True

    def __init__(self, a: float = 3.0, scale: float = 1.0):
        self.a = check_scalar(a, "a", 0.0, np.inf, low_inclusive=False)
        self.scale = check_scalar(scale, "scale", 0.0, np.inf, low_inclusive=False)
        self.b = self.a * self.scale

    @property
    def params(self):
        return {"a": self.a, "scale": self.scale}

    def _omega(self, t):
        b = self.b
        return np.where(t <= b, t - t * t / (2 * b), b / 2)

    def _slope(self, t):
        return np.maximum(1.0 - t / self.b, 0.0)

    def _eta_hat(self, t):
        b = self.b
        with np.errstate(divide="ignore"):
            return np.where(t < b, b * t / (b - np.minimum(t, b)), np.inf)

    def _dual(self, eta):
        b = self.b
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(np.isinf(eta), b, b / (1.0 + b / eta))  # bη/(η + b), no overflow

    def _prox(self, v, step):
        b = self.b
        with np.errstate(divide="ignore", invalid="ignore"):
            inner = np.where(step < b, (v - step) / (1.0 - step / b), 0.0)
        cands = [np.zeros_like(v), np.clip(inner, 0.0, b), np.full_like(v, b), np.maximum(v, b)]
        return _prox_by_candidates(self, v, step, cands)


class SCAD(Penalty):
    r"""SCAD (Fan & Li) with threshold s = scale and a > 1, normalised to slope 1 at 0:
    :math:`\Omega = |w|` on :math:`|w| \le s`,
    :math:`(2as|w| - w^2 - s^2)/(2s(a-1))` on :math:`s < |w| \le as`,
    :math:`s(a+1)/2` beyond.

    :math:`\hat\eta = |w|` below s, :math:`s(a-1)|w|/(as - |w|)` up to as, +inf beyond.
    With :math:`t_\eta = as\eta/(s(a-1)+\eta)`: f(η) = η for η ≤ s, else
    :math:`2\Omega(t_\eta) - t_\eta^2/\eta`. skglm's ``SCAD(alpha=s, gamma=a)`` is s·Ω. The
    knots s, as are fixed (λ does not move them); the literature's SCAD(λ, γ), knots λ and γλ,
    is :class:`~dualreg.penalties.TextbookSCAD` (= λ·SCAD(a=γ, scale=λ)).
    """

    kink_at_zero = True

    def __init__(self, a: float = 3.7, scale: float = 1.0):
        self.a = check_scalar(a, "a", 1.0, np.inf, low_inclusive=False)
        self.scale = check_scalar(scale, "scale", 0.0, np.inf, low_inclusive=False)

    @property
    def params(self):
        return {"a": self.a, "scale": self.scale}

    def _omega(self, t):
        a, s = self.a, self.scale
        tc = np.minimum(t, a * s)  # the middle piece only where it applies (no inf − inf)
        mid = (2 * a * s * tc - tc * tc - s * s) / (2 * s * (a - 1))
        return np.where(t <= s, t, np.where(t <= a * s, mid, s * (a + 1) / 2))

    def _slope(self, t):
        a, s = self.a, self.scale
        return np.where(t <= s, 1.0, np.maximum(a * s - t, 0.0) / (s * (a - 1)))

    def _eta_hat(self, t):
        a, s = self.a, self.scale
        with np.errstate(divide="ignore", invalid="ignore"):
            mid = s * (a - 1) * t / (a * s - t)
        return np.where(t <= s, t, np.where(t < a * s, mid, np.inf))

    def _dual(self, eta):
        a, s = self.a, self.scale
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            t = np.where(np.isinf(eta), a * s, a * s / (s * (a - 1) / eta + 1.0))
            upper = 2 * self._omega(t) - np.where(np.isinf(eta), 0.0, t * t / eta)
        return np.where(eta <= s, eta, upper)

    def _prox(self, v, step):
        a, s = self.a, self.scale
        first = np.clip(v - step, 0.0, s)
        denom = s * (a - 1) - step
        with np.errstate(divide="ignore", invalid="ignore"):
            mid = np.where(denom > 0, (v * s * (a - 1) - step * a * s) / denom, s)
        cands = [np.zeros_like(v), first, np.clip(mid, s, a * s), np.full_like(v, a * s),
                 np.maximum(v, a * s)]
        return _prox_by_candidates(self, v, step, cands)


class TwoLevelQuadratic(Penalty):
    r"""A quadratic whose curvature switches at |w| = τ:
    :math:`\Omega = \tfrac{r_b}{2}\min(|w|,\tau)^2 + \tfrac{r_a}{2}(w^2 - \tau^2)_+`.

    The penalty of a dropout rule with odds :math:`r_b` below the threshold and :math:`r_a`
    above it (at λ = c = 1): :math:`\hat\eta = 1/r`. :math:`r_b > r_a`: subquadratic, with
    :math:`f(\eta) = \tau^2 (r_b - 1/\eta)_+` on :math:`\eta \le 1/r_a` (+inf beyond);
    :math:`r_b < r_a`: superquadratic (and convex); equal: ridge.
    """

    def __init__(self, r_below: float, r_above: float, tau: float):
        self.r_below = check_scalar(r_below, "r_below", 0.0, np.inf)
        self.r_above = check_scalar(r_above, "r_above", 0.0, np.inf)
        self.tau = check_scalar(tau, "tau", 0.0, np.inf, low_inclusive=False)
        if self.r_below > self.r_above:
            self.curvature_class = SUBQUADRATIC
        elif self.r_below == self.r_above:
            self.curvature_class = QUADRATIC
        else:
            self.curvature_class = SUPERQUADRATIC
        self.is_convex = self.r_below <= self.r_above

    @property
    def params(self):
        return {"r_below": self.r_below, "r_above": self.r_above, "tau": self.tau}

    def _odds(self, t):
        return np.where(t < self.tau, self.r_below, self.r_above)

    def _omega(self, t):
        tau = self.tau
        below = 0.5 * self.r_below * np.minimum(t, tau) ** 2
        if self.r_above == 0:  # flat beyond τ (capped ridge): no 0·inf where t² overflows
            return below
        with np.errstate(over="ignore"):
            return below + 0.5 * self.r_above * (np.maximum(t - tau, 0.0) * (t + tau))

    def _slope(self, t):
        return self._odds(t) * t

    def _eta_hat(self, t):
        with np.errstate(divide="ignore"):
            return 1.0 / self._odds(t)

    def _dual(self, eta):
        rb, ra, tau = self.r_below, self.r_above, self.tau
        with np.errstate(divide="ignore", invalid="ignore"):
            inner = tau**2 * np.maximum(rb - 1.0 / eta, 0.0)
            inner = np.where(np.isinf(eta), tau**2 * rb, inner)
        return np.where(ra * eta <= 1.0, inner, np.inf) if ra > 0 else inner

    def _prox(self, v, step):
        tau = self.tau
        below = np.clip(v / (1.0 + step * self.r_below), 0.0, tau)
        above = np.maximum(v / (1.0 + step * self.r_above), tau)
        return _prox_by_candidates(self, v, step, [below, above])

    def to_cvxpy(self, expr):
        import cvxpy as cp

        if not self.is_convex:
            return super().to_cvxpy(expr)
        rb, ra, tau = self.r_below, self.r_above, self.tau
        excess = cp.sum(cp.maximum(cp.square(expr), tau**2)) - expr.size * tau**2
        return 0.5 * rb * cp.sum_squares(expr) + 0.5 * (ra - rb) * excess


class CappedL2(TwoLevelQuadratic):
    r"""Capped ridge (truncated quadratic) :math:`\Omega = \min(w^2, \tau^2)/2`:
    :math:`\hat\eta = 1` below τ, +inf beyond; :math:`f(\eta) = \tau^2(1 - 1/\eta)_+`."""

    def __init__(self, tau: float = 1.0):
        super().__init__(1.0, 0.0, tau)

    @property
    def params(self):
        return {"tau": self.tau}
