r"""Penalties defined by dropout methods (MATH.md §5), normalised at λ = c = 1.

For every class here, ``keep_prob(w, lam, c)`` is the Bernoulli rule that implements λΩ at
column scale c, and at λ = c = 1 it is the method's own rule.
"""

from __future__ import annotations

from abc import abstractmethod
from functools import cached_property
from typing import Any

import numpy as np
from scipy import special

from dualreg import _numerics
from dualreg._validation import check_rate, check_scalar
from dualreg.penalties.base import (
    QUADRATIC,
    SUBQUADRATIC,
    SUPERQUADRATIC,
    Penalty,
)
from dualreg.penalties.classical import Power, TwoLevelQuadratic

__all__ = [
    "HardConcrete",
    "Sparseout",
    "Standout",
    "TargetedDropout",
    "VarDrop",
    "VarDropApprox",
    "YDrop",
    "dawson_integral",
]

# --------------------------------------------------------------------------- dual-defined
class DualDefinedPenalty(Penalty):
    r"""A subquadratic penalty given by its η-trick dual f (and f').

    The minimiser of :math:`w^2/\eta + f(\eta)` satisfies :math:`w^2 = \eta^2 f'(\eta)`, so
    :math:`\hat\eta` inverts :math:`w(\eta) = \eta\sqrt{f'(\eta)}` (increasing for a valid
    dual), and :math:`\Omega(w) = \tfrac12[w^2/\hat\eta + f(\hat\eta)]`,
    :math:`\Omega'(w) = w/\hat\eta` (envelope theorem).

    Subclasses provide ``_dual``, ``_eta_hat`` and ``_slope_zero`` (= Ω'(0+) = √f'(0)).
    """

    curvature_class = SUBQUADRATIC
    kink_at_zero = True

    @abstractmethod
    def _slope_zero(self) -> float:
        """Ω'(0+) = √f'(0)."""

    def _omega(self, t):
        eta = self._eta_hat(t)
        with np.errstate(divide="ignore", invalid="ignore"):
            quad = np.where((t > 0) & np.isfinite(eta), t * t / eta, 0.0)
        return 0.5 * (quad + self._dual(eta))

    def _slope(self, t):
        eta = self._eta_hat(t)
        with np.errstate(divide="ignore", invalid="ignore"):
            s = np.where(np.isinf(eta), 0.0, t / eta)
        return np.where(t > 0, s, self._slope_zero())


class _VariationalDual(DualDefinedPenalty):
    r"""Shared inversion for the two variational-dropout duals (f' in closed form).

    :math:`\log w(\eta) = \log\eta + \tfrac12\log f'(\eta)` is tabulated on
    :math:`\eta \in [10^{-14}, 10^{20}]` and inverted with quasi-Newton polishing; outside the
    table each subclass gives its asymptote (``_eta_hat_small``, ``_eta_hat_large``).
    """

    _LOG_ETA_RANGE = (np.log(1e-14), np.log(1e20))

    @abstractmethod
    def dual_derivative(self, eta: Any) -> np.ndarray:
        """f'(η)."""

    @abstractmethod
    def _eta_hat_small(self, t):
        """η̂(t) below the table (its small-t asymptote)."""

    @abstractmethod
    def _eta_hat_large(self, t):
        """η̂(t) above the table (its large-t asymptote)."""

    @cached_property
    def _inverse(self) -> _numerics.MonotoneInverse:
        def log_w(s):
            return s + 0.5 * np.log(self.dual_derivative(np.exp(s)))

        return _numerics.MonotoneInverse(log_w, *self._LOG_ETA_RANGE)

    def _eta_hat(self, t):
        inv = self._inverse
        with np.errstate(divide="ignore"):
            logt = np.log(t)
        mid = np.exp(inv(logt))
        below, above = logt < inv.y_lo, logt > inv.y_hi
        return np.where(below, self._eta_hat_small(t),
                        np.where(above, self._eta_hat_large(t), mid))

    def _slope_zero(self):
        return 1.0  # f'(0) = 1 for both forms


# --------------------------------------------------------------------------- VarDrop
def _build_dawson_anchors() -> tuple[np.ndarray, np.ndarray]:
    """Anchors U_k and F(U_k) = ∫_0^{U_k} D(u) du, each panel by 40-point Gauss–Legendre."""
    fine = np.arange(0.0, 8.0, 0.25)
    coarse = 8.0 * 1.25 ** np.arange(0, 120)
    anchors = np.concatenate([fine, coarse[coarse <= 1e10]])
    panels = _numerics.integrate(special.dawsn, anchors[:-1], anchors[1:], nodes=40)
    return anchors, np.concatenate([[0.0], np.cumsum(panels)])


_DAWSON_ANCHORS: tuple[np.ndarray, np.ndarray] | None = None
_DAWSON_TAIL_CONST = (np.euler_gamma + 2.0 * np.log(2.0)) / 4.0


def dawson_integral(u: Any) -> np.ndarray:
    r""":math:`F(U) = \int_0^U D(u)\,du`, D Dawson's function, to ~1e-15 relative.

    Cumulative Gauss–Legendre values at fixed anchors plus a 16-point rule on the last
    partial panel; beyond :math:`U = 10^{10}` the asymptote
    :math:`\tfrac12\log U + (\gamma_E + 2\log 2)/4 - 1/(8U^2)` (error < 1e-40).
    """
    global _DAWSON_ANCHORS
    if _DAWSON_ANCHORS is None:
        _DAWSON_ANCHORS = _build_dawson_anchors()
    anchors, cumulative = _DAWSON_ANCHORS
    u = np.asarray(u, dtype=float)
    inside = u <= anchors[-1]
    uc = np.where(inside, u, anchors[-1])
    k = np.clip(np.searchsorted(anchors, uc, side="right") - 1, 0, anchors.size - 1)
    near = cumulative[k] + _numerics.integrate(special.dawsn, anchors[k], uc, nodes=16)
    with np.errstate(divide="ignore"):
        far = 0.5 * np.log(u) + _DAWSON_TAIL_CONST - 0.125 / u**2
    return np.where(inside, near, far)


class VarDrop(_VariationalDual):
    r"""Variational dropout (Kingma et al. 2015) with the log-uniform prior, exact form.

    Dual :math:`f(\eta) = \int_0^\eta \frac{D(\sqrt{s/2})}{\sqrt{s/2}}ds
    = 4\int_0^{\sqrt{\eta/2}} D(u)\,du`, so :math:`f(0) = 0`, :math:`f'(0) = 1`,
    :math:`f(\eta) - \log\eta \to \gamma_E + \log 2`. The Gaussian mask variance is
    :math:`\sigma^2 = \lambda/(c\eta)`; at λ = c = 1, :math:`\sigma^2 = 1/\eta` is the variance
    ratio α of Molchanov et al. Ω ≈ |w| near 0 and ≈ log|w| + (1 + γ_E + log 2)/2 far out.
    """

    def _dual(self, eta):
        with np.errstate(invalid="ignore"):
            out = 4.0 * dawson_integral(np.sqrt(eta / 2.0))
        return np.where(np.isinf(eta), np.inf, out)

    def dual_derivative(self, eta: Any) -> np.ndarray:
        r""":math:`f'(\eta) = D(u)/u` with :math:`u = \sqrt{\eta/2}` (1 at η = 0)."""
        eta = np.asarray(eta, dtype=float)
        u = np.sqrt(eta / 2.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = special.dawsn(u) / u
        return np.where(u < 1e-6, 1.0 - eta / 3.0, ratio)

    def _eta_hat_small(self, t):
        return t * (1.0 + t / 6.0)  # η = w(1 + w/6) + O(w³) from f'(η) = 1 − η/3 + O(η²)

    def _eta_hat_large(self, t):
        return t * t - 1.0  # f'(η) = 1/η + 1/η² + O(η⁻³) ⇒ w² = η + 1


class VarDropApprox(_VariationalDual):
    r"""Variational dropout with Molchanov et al.'s (2017) sigmoid approximation of the KL.

    With α = 1/η (λ = c = 1): :math:`f(\eta) = 2\,\mathrm{KL} = 2k_1(1 - \sigma(k_2 - k_3\log\eta))
    + \log(1+\eta)`, k1 = 0.63576, k2 = 1.87320, k3 = 1.48695; f(0) = 0, f'(0) = 1 and
    :math:`f - \log\eta \to 2k_1`. Its gap to :class:`VarDrop` is at most 0.0188 in f
    (0.0094 in KL units) on η ∈ [1e-3, 1e4].
    """

    K1, K2, K3 = 0.63576, 1.87320, 1.48695

    def _dual(self, eta):
        with np.errstate(divide="ignore"):
            s = special.expit(self.K2 - self.K3 * np.log(eta))
        return 2.0 * self.K1 * (1.0 - s) + np.log1p(eta)

    def dual_derivative(self, eta: Any) -> np.ndarray:
        r""":math:`f'(\eta) = 2k_1k_3\,\sigma(1-\sigma)/\eta + 1/(1+\eta)`,
        :math:`\sigma = \sigma(k_2 - k_3\log\eta)`."""
        eta = np.asarray(eta, dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            s = special.expit(self.K2 - self.K3 * np.log(eta))
            sig_term = np.where(eta > 0, 2 * self.K1 * self.K3 * s * (1 - s) / eta, 0.0)
        return sig_term + 1.0 / (1.0 + eta)

    def _eta_hat_small(self, t):
        return t  # f'(η) → 1 below the table

    def _eta_hat_large(self, t):
        return t * t - 1.0  # f'(η) ≈ 1/(1 + η) above the table


# --------------------------------------------------------------------------- hard concrete
def _sigmoid(z):
    """Logistic function, stable for real and complex arguments (complex-step safe)."""
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        pos = 1.0 / (1.0 + np.exp(-z))
        ez = np.exp(z)
        neg = ez / (1.0 + ez)
    return np.where(np.real(z) >= 0, pos, neg)


class HardConcrete(DualDefinedPenalty):
    r"""Hard concrete / L0 gates (Louizos, Welling & Kingma 2018).

    A gate :math:`z = \min(1, \max(0, (\zeta-\gamma)\sigma((\mathrm{logit}\,u + \log a)/\beta)
    + \gamma))`, u ~ U(0,1), scales the weight without rescaling; on the effective weight
    :math:`\tilde w = E[z]w` the mask variance is :math:`v = E[z^2]/E[z]^2 - 1`, so
    :math:`\eta(a) = 1/v = E[z]^2/\mathrm{Var}(z)` (λ = c = 1) and the dual is the expected
    L0 cost :math:`f(\eta(a)) = P(z \ne 0) = \sigma(\log a - \beta\log(-\gamma/\zeta))`.
    Gate moments by 48-point Gauss–Legendre quadrature in the logit variable (no sampling).
    Bounded (Ω ≤ ½) and MCP-like: η̂ = +inf beyond a finite |w| (:attr:`saturation`).

    ``dual`` returns MATH.md's f = P(z ≠ 0). It generates Ω exactly through
    ½ min_η[w²/η + f(η)], but it is not the biconjugate sup_w[2Ω(w) − w²/η] for
    η > η* ≈ 2.35: there w(η) = η√f'(η) has passed its maximum and the canonical dual is
    1 − w₀²/η, w₀ = :attr:`saturation` (proofs/T7_dropout_penalties.md).
    """

    _LOG_ALPHA_RANGE = (-40.0, 40.0)

    def __init__(self, beta: float = 2.0 / 3.0, gamma: float = -0.1, zeta: float = 1.1):
        self.beta = check_scalar(beta, "beta", 0.0, np.inf, low_inclusive=False)
        self.gamma = check_scalar(gamma, "gamma", -np.inf, 0.0, high_inclusive=False)
        self.zeta = check_scalar(zeta, "zeta", 1.0, np.inf, low_inclusive=False)
        span = self.zeta - self.gamma
        self._y0 = np.log(-self.gamma / self.zeta)  # logit of the lower clip point
        self._y1 = np.log((1.0 - self.gamma) / (self.zeta - 1.0))  # upper clip point
        nodes, weights = _numerics.gauss_legendre(48)
        self._y = self._y0 + (self._y1 - self._y0) * nodes
        self._wq = weights * (self._y1 - self._y0) * self.beta
        self._sbar = span * special.expit(self._y) + self.gamma

    @property
    def params(self):
        return {"beta": self.beta, "gamma": self.gamma, "zeta": self.zeta}

    def gate_moments(self, log_alpha: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        r"""Mean, variance and :math:`P(z \ne 0)` of the gate, by quadrature (chunked)."""
        la = np.asarray(log_alpha)
        flat = la.reshape(-1)
        chunk = 1 << 15
        if flat.size <= chunk:
            return self._gate_moments(la)
        parts = [self._gate_moments(flat[i : i + chunk]) for i in range(0, flat.size, chunk)]
        return tuple(np.concatenate(p).reshape(la.shape) for p in zip(*parts, strict=True))

    def _gate_moments(self, log_alpha: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        r"""Gate moments for one chunk.

        With x = logit u (standard logistic), z = 0 for x ≤ x₀ = βy₀ − log a, z = 1 for
        x ≥ x₁ = βy₁ − log a, and the stretched sigmoid in between; the interior integral is
        taken in y = (x + log a)/β on the fixed interval [y₀, y₁]. The variance is summed from
        nonnegative pieces (no cancellation when z is nearly deterministic).
        """
        la = np.asarray(log_alpha)
        la_e = la[..., None]
        x = self.beta * self._y - la_e
        density = _sigmoid(x) * _sigmoid(-x)
        p_zero = _sigmoid(self.beta * self._y0 - la)
        p_one = _sigmoid(la - self.beta * self._y1)
        w = self._wq * density
        mean = np.sum(w * self._sbar, axis=-1) + p_one
        one_minus_mean = p_zero + np.sum(w * (1.0 - self._sbar), axis=-1)
        centred = (self._sbar - 1.0) + one_minus_mean[..., None]
        var = mean**2 * p_zero + np.sum(w * centred**2, axis=-1) + one_minus_mean**2 * p_one
        # P(z ≠ 0) = σ(log a − βy₀) directly: 1 − p_zero loses its relative accuracy when
        # P is tiny (log a ≲ −20), which is where f(η)/η → κ is read.
        return mean, var, _sigmoid(la - self.beta * self._y0)

    def eta_of_log_alpha(self, log_alpha: Any) -> np.ndarray:
        """η(a) = E[z]² / Var(z): the η-trick weight of a gate with parameter log a."""
        mean, var, _ = self.gate_moments(log_alpha)
        return mean**2 / var

    def _deta_dla(self, la):
        h = 1e-20  # complex step: exact derivative, no subtraction
        return np.imag(self.eta_of_log_alpha(la + 1j * h)) / h

    def _log_w(self, la):
        eta = self.eta_of_log_alpha(la)
        x0 = self.beta * self._y0 - la
        dfdla = _sigmoid(x0) * _sigmoid(-x0)
        return np.log(eta) + 0.5 * np.log(dfdla / self._deta_dla(la))

    @cached_property
    def _eta_inverse(self):
        return _numerics.MonotoneInverse(
            lambda la: np.log(self.eta_of_log_alpha(la)), *self._LOG_ALPHA_RANGE, size=20001,
            polish=0,
        )

    @cached_property
    def _branch(self) -> tuple[_numerics.MonotoneInverse, float]:
        r"""The increasing branch of :math:`w(\log a) = \eta\sqrt{f'(\eta)}` and the cut-off.

        w rises to a maximum and then decreases slightly towards its limit, so for large |w|
        the stationary point on the increasing branch is only a local minimum of
        :math:`h(\eta) = w^2/\eta + f(\eta)`; the global one is min(h(branch), f(∞) = 1).
        Returns the branch inverse and the cut-off |w| where h(branch) = 1 (beyond: η̂ = ∞).
        """
        lo, hi = self._LOG_ALPHA_RANGE
        grid = np.linspace(lo, hi, 8001)
        peak = float(grid[np.argmax(self._log_w(grid))])
        # Dense table, no polishing at query time: interpolation error ~1e-11 in log a
        # (measured against the exact inverse in the tests), at a fraction of the cost.
        inverse = _numerics.MonotoneInverse(self._log_w, lo, peak, size=20001, polish=0)

        def branch_value(t):
            la = inverse(np.log(t))
            eta = self.eta_of_log_alpha(la)
            return t * t / eta + _sigmoid(la - self.beta * self._y0)

        w_max = np.exp(inverse.y_hi)
        cut = _numerics.bisect_increasing(branch_value, np.array(1.0), np.array(1e-3 * w_max),
                                          np.array(w_max), iterations=200)
        return inverse, float(cut)

    @cached_property
    def _fprime_zero(self) -> float:
        """f'(0) = lim f/η as log a → −∞ (both vanish like a), read at the table's end."""
        la = self._LOG_ALPHA_RANGE[0]
        return float(np.exp(2.0 * self._log_w(la) - 2.0 * np.log(self.eta_of_log_alpha(la))))

    @property
    def saturation(self) -> float:
        """|w| beyond which η̂ = +inf and the penalty is flat at ½."""
        return self._branch[1]

    def _dual(self, eta):
        inv = self._eta_inverse
        with np.errstate(divide="ignore"):
            log_eta = np.log(eta)
        la = inv(log_eta)
        f = _sigmoid(la - self.beta * self._y0)
        f = np.where(log_eta < inv.y_lo, self._fprime_zero * eta, f)
        return np.where(log_eta > inv.y_hi, 1.0, f)

    def _eta_hat(self, t):
        inv, cut = self._branch
        with np.errstate(divide="ignore"):
            logt = np.log(t)
        eta = self.eta_of_log_alpha(inv(logt))
        eta = np.where(logt < inv.y_lo, t / np.sqrt(self._fprime_zero), eta)
        return np.where(t >= cut, np.inf, eta)

    def _slope_zero(self):
        return float(np.sqrt(self._fprime_zero))

    def _omega(self, t):
        # One inversion: η and f both follow from the gate parameter on the branch.
        inv, cut = self._branch
        with np.errstate(divide="ignore"):
            logt = np.log(t)
        la = inv(logt)
        eta = self.eta_of_log_alpha(la)
        f = _sigmoid(la - self.beta * self._y0)
        small = logt < inv.y_lo
        eta = np.where(small, t / np.sqrt(self._fprime_zero), eta)
        f = np.where(small, self._fprime_zero * eta, f)
        with np.errstate(divide="ignore", invalid="ignore"):
            inner = 0.5 * np.where(t > 0, t * t / eta + f, 0.0)
        return np.where(t >= cut, 0.5, inner)


# --------------------------------------------------------------------------- standout
class Standout(Penalty):
    r"""Standout (Ba & Frey 2013) with keep probability σ(|w|) at λ = c = 1.

    :math:`\Omega = 1 - (1+|w|)e^{-|w|}`, :math:`\hat\eta = e^{|w|}`;
    :math:`f(\eta) = 2 - (2(1 + \log\eta) + \log^2\eta)/\eta` for η ≥ 1, 0 below.
    Bounded, quadratic near 0 (η̂(0) = 1: no exact zeros).
    """

    def _omega(self, t):
        return -special.expm1(-t) - t * np.exp(-t)

    def _slope(self, t):
        return t * np.exp(-t)

    def _eta_hat(self, t):
        with np.errstate(over="ignore"):
            return np.exp(t)

    def _dual(self, eta):
        with np.errstate(divide="ignore", invalid="ignore"):
            log_eta = np.log(eta)
            upper = 2.0 - (2.0 * (1.0 + log_eta) + log_eta**2) / eta
        upper = np.where(np.isinf(eta), 2.0, upper)
        return np.where(eta <= 1.0, 0.0, upper)


# --------------------------------------------------------------------------- Sparseout
class Sparseout(Power):
    r"""Sparseout (Khan & Stavness 2019) on the weights of a linear model, λ = c = 1.

    Drop probability δ, odds :math:`v = \delta/(1-\delta)`; the noise has variance
    :math:`v|w|^q`. The penalty depends on the gradient convention:

    - ``grad="stop"`` (the reference implementation): :math:`\Omega = (v/q)|w|^q`, the
      adaptive-dropout rule with odds :math:`v t^{q-2}`;
    - ``grad="autograd"``: :math:`\Omega = (v/2)|w|^q`.

    q < 2 subquadratic (sparsifying), q = 2 inverted dropout, q > 2 superquadratic.
    """

    def __init__(self, q: float = 1.0, drop: float = 0.5, grad: str = "stop"):
        self.drop = check_rate(drop, "drop")
        if grad not in ("stop", "autograd"):
            raise ValueError(f"grad must be 'stop' or 'autograd', got {grad!r}")
        self.grad = grad
        q = check_scalar(q, "q", 0.0, np.inf, low_inclusive=False)
        odds = self.drop / (1.0 - self.drop)
        weight = odds if grad == "stop" else odds * q / 2.0
        super().__init__(q, weight)

    @property
    def odds(self) -> float:
        """v = δ/(1 − δ)."""
        return self.drop / (1.0 - self.drop)

    @property
    def params(self):
        return {"q": self.q, "drop": self.drop, "grad": self.grad}


# --------------------------------------------------------------------------- targeted
class TargetedDropout(TwoLevelQuadratic):
    r"""Targeted dropout (Gomez et al. 2019): drop weights below a magnitude threshold with
    probability a (``rate``), never rescaled.

    Every function of this object takes the **effective weights** :math:`u = (1-\delta)\odot w`
    (δ_j = a·1[targeted]). Exactly, for gaussian,
    :math:`E L = L(u) + \tfrac12\sum_{targeted}\tfrac{a}{1-a} c_j u_j^2`, so as a function of
    |u| the penalty is the truncated quadratic
    :math:`\Omega(u) = \tfrac{r}{2}\min(u^2, \tau^2)`, r = a/(1−a), with τ the threshold in
    units of u (a raw-weight threshold τ_w maps to τ = (1 − a)τ_w, see
    :meth:`from_weight_threshold`). η̂ = 1/r below τ, +inf beyond; the keep probability at
    λ = c = 1 is 1 − a on the targeted set and 1 elsewhere.
    """

    def __init__(self, rate: float = 0.5, tau: float = 1.0):
        self.rate = check_rate(rate, "rate")
        super().__init__(self.rate / (1.0 - self.rate), 0.0, tau)

    @classmethod
    def from_weight_threshold(cls, rate: float, tau_w: float) -> TargetedDropout:
        """The same rule with its threshold given on the raw weights w."""
        rate = check_rate(rate, "rate")
        return cls(rate, (1.0 - rate) * check_scalar(tau_w, "tau_w", 0.0, np.inf, False))

    @property
    def params(self):
        return {"rate": self.rate, "tau": self.tau}

    def gate_mean(self, w: Any, tau_w: float) -> np.ndarray:
        """E[gate] = 1 − a·1[|w| < τ_w]: the unscaled keep rate of each raw weight."""
        w = np.asarray(w, dtype=float)
        return 1.0 - self.rate * (np.abs(w) < tau_w)


# --------------------------------------------------------------------------- Y-Drop
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
        return self.r0 + (self.r1 - self.r0) * t * t / (t * t + self.tau**2)

    def _omega(self, t):
        tau2 = self.tau**2
        return 0.5 * self.r0 * t * t + 0.5 * (self.r1 - self.r0) * (
            t * t - tau2 * np.log1p(t * t / tau2)
        )

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
        if mapping not in ("bucket", "continuous"):
            raise ValueError(f"mapping must be 'bucket' or 'continuous', got {mapping!r}")
        self.mapping, self.mirrored = mapping, bool(mirrored)
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
