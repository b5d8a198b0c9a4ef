r"""Hard concrete / L0 gates (Louizos, Welling & Kingma 2018) as a dual-defined penalty."""

from __future__ import annotations

from functools import cached_property
from typing import Any

import numpy as np
from scipy import special

from dualreg import _numerics
from dualreg._validation import check_scalar
from dualreg.penalties.dual_defined import DualDefinedPenalty

__all__ = ["HardConcrete"]


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

    ``dual`` returns f = P(z ≠ 0) (docs/conventions.md §5). It generates Ω exactly
    through ½ min_η[w²/η + f(η)], but it is not the biconjugate sup_w[2Ω(w) − w²/η] for
    η > η* ≈ 2.35: there w(η) = η√f'(η) has passed its maximum and the canonical dual is
    1 − w₀²/η, w₀ = :attr:`saturation` (proofs/T7_dropout_penalties.md).
    """

    _LOG_ALPHA_RANGE = (-40.0, 40.0)
    #: The temperatures β whose tables this implementation inverts reliably.
    BETA_RANGE = (0.5, 12.0)

    def _table_error(self, err: Exception) -> ValueError:
        return ValueError(
            f"{self!r}: the gate moments are not monotone in log a for these parameters, so "
            f"the η-trick tables cannot be inverted (beta, gamma, zeta too far from the paper's "
            f"2/3, -0.1, 1.1; {err})"
        )

    def __init__(self, beta: float = 2.0 / 3.0, gamma: float = -0.1, zeta: float = 1.1):
        # The gate-moment tables are monotone (invertible) for β in [0.5, 12]; outside it the
        # inversion fails (β = 100 used to be accepted and broke at the first value()).
        self.beta = check_scalar(beta, "beta", *self.BETA_RANGE)
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
        try:
            return _numerics.MonotoneInverse(
                lambda la: np.log(self.eta_of_log_alpha(la)), *self._LOG_ALPHA_RANGE,
                size=20001, polish=0,
            )
        except ValueError as err:
            raise self._table_error(err) from err

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
        with np.errstate(invalid="ignore", divide="ignore"):
            peak = float(grid[np.argmax(self._log_w(grid))])
        # Dense table, no polishing at query time: interpolation error ~1e-11 in log a
        # (measured against the exact inverse in the tests), at a fraction of the cost.
        try:
            with np.errstate(invalid="ignore", divide="ignore"):
                inverse = _numerics.MonotoneInverse(self._log_w, lo, peak, size=20001, polish=0)
        except ValueError as err:
            raise self._table_error(err) from err

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
