r"""The penalty protocol: one object that knows every face of a separable penalty.

Conventions (docs/conventions.md §3–4): for a penalty :math:`\Omega` and its η-trick dual :math:`f`,

.. math::

    \Omega(w) = \tfrac12 \min_{\eta > 0} \Big[\frac{w^2}{\eta} + f(\eta)\Big], \qquad
    \hat\eta(w) = \frac{|w|}{\Omega'(|w|)}, \qquad
    \alpha(w) = \frac{c\,\hat\eta(w)}{c\,\hat\eta(w) + \lambda}.

Subclasses implement the magnitude hooks ``_omega(t)``, ``_slope(t)``, ``_eta_hat(t)`` and
``_dual(eta)`` on ``t = |w| >= 0``; this module turns them into the public, validated,
vectorised methods.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np

from dualreg import _numerics
from dualreg._conventions import (
    CURVATURE_CLASSES,
    INDEFINITE,
    QUADRATIC,
    SUBQUADRATIC,
    SUPERQUADRATIC,
    CurvatureClass,
    eta_to_keep_prob,
    eta_to_noise_variance,
)
from dualreg._validation import (
    as_finite_array,
    as_nonnegative_array,
    check_nonnegative,
    check_positive,
)

__all__ = [
    "CURVATURE_CLASSES",
    "INDEFINITE",
    "QUADRATIC",
    "SUBQUADRATIC",
    "SUPERQUADRATIC",
    "CurvatureClass",
    "NoEtaFormError",
    "Penalty",
]


class NoEtaFormError(ValueError):
    """Raised when an η-trick quantity is asked of a penalty that has no η-form."""


class Penalty(ABC):
    r"""A separable penalty :math:`\sum_j \Omega(w_j)` with all its faces.

    Attributes
    ----------
    curvature_class : str
        ``"subquadratic"`` (:math:`\Omega(\sqrt\theta)` concave: has an η-form),
        ``"quadratic"``, ``"superquadratic"`` (convex in :math:`\theta`: no η-form) or
        ``"indefinite"``.
    is_convex : bool
        Whether :math:`\Omega` is convex in ``w``.
    kink_at_zero : bool
        Whether :math:`\Omega'(0^+) > 0`, i.e. :math:`\hat\eta(t) = O(t)`: exact zeros.
    separable : bool
        Always ``True`` here; non-separable penalties say ``False``.
    """

    separable: ClassVar[bool] = True
    curvature_class: CurvatureClass = SUBQUADRATIC
    is_convex: bool = False
    kink_at_zero: bool = False
    #: Whether a parameter of Ω follows λ (the textbook MCP and SCAD of
    #: :mod:`dualreg.penalties.textbook`, whose thresholds scale with λ); paths and estimators
    #: solve at λ with :meth:`at_lam` (λ) instead of the object itself.
    follows_lam: ClassVar[bool] = False

    # ----------------------------------------------------------------- hooks (t = |w| >= 0)
    @abstractmethod
    def _omega(self, t: np.ndarray) -> np.ndarray:
        """Ω(t) for t >= 0."""

    @abstractmethod
    def _slope(self, t: np.ndarray) -> np.ndarray:
        """Ω'(t) for t >= 0; at t = 0 the right derivative Ω'(0+)."""

    @abstractmethod
    def _eta_hat(self, t: np.ndarray) -> np.ndarray:
        """t / Ω'(t), with its limit at t = 0 and +inf where Ω'(t) = 0."""

    @abstractmethod
    def _dual(self, eta: np.ndarray) -> np.ndarray:
        """f(η) for η >= 0 (only called when the penalty has an η-form)."""

    def _prox(self, v: np.ndarray, step: np.ndarray) -> np.ndarray:
        """Prox of ``step * Ω`` at ``v >= 0``: a global 1-D search on [0, v].

        Ω is even and nondecreasing in |w|, so the minimiser has the sign of v and lies in
        [0, |v|]. Subclasses with a closed form override this.
        """
        vv = v.reshape(-1, 1)
        ss = np.broadcast_to(step, v.shape).reshape(-1, 1)

        def objective(x: np.ndarray) -> np.ndarray:
            return 0.5 * (x - vv) ** 2 + ss * self._omega(x)

        x, _ = _numerics.minimize_on_interval(objective, np.zeros(v.size), v.reshape(-1))
        return x.reshape(v.shape)

    # ----------------------------------------------------------------- public API
    @property
    def name(self) -> str:
        """Class name, as used by the CLI and the catalogue."""
        return type(self).__name__

    @property
    def params(self) -> dict[str, Any]:
        """The hyperparameters this penalty was built with."""
        return {}

    @property
    def has_eta_form(self) -> bool:
        """True when Ω(w) = ½ min_η [w²/η + f(η)] holds (subquadratic or quadratic)."""
        return CurvatureClass(self.curvature_class).has_eta_form

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"{self.name}({args})"

    def _repr_html_(self) -> str:
        """A notebook's display: the class and a table of the faces at a few weights."""
        from dualreg.penalties._display import faces_html

        return faces_html(self)

    def value(self, w: Any) -> np.ndarray:
        """Elementwise Ω(w)."""
        t = np.abs(as_finite_array(w, "w"))
        with np.errstate(over="ignore"):  # a true value beyond 1.8e308 is +inf, not a warning
            return self._omega(t)

    def total(self, w: Any) -> float:
        """Σ_j Ω(w_j)."""
        return float(np.sum(self.value(w)))

    def derivative(self, w: Any) -> np.ndarray:
        """Signed derivative dΩ/dw = sgn(w) Ω'(|w|); 0 at w = 0 (the least-norm subgradient).

        The kink size Ω'(0+) is :meth:`slope_at_zero`; see :meth:`subdiff_distance`.
        """
        w = as_finite_array(w, "w")
        # sgn(0)·Ω'(0+) is 0·inf where the slope is infinite; overflow is a true +inf
        with np.errstate(invalid="ignore", over="ignore"):
            signed = np.sign(w) * self._slope(np.abs(w))
        return np.where(w == 0, 0.0, signed)

    def slope_at_zero(self) -> float:
        """Ω'(0+): the half-width of the subdifferential ∂Ω(0) = [−Ω'(0+), Ω'(0+)]."""
        return float(self._slope(np.zeros(1))[0])

    def eta_hat(self, w: Any) -> np.ndarray:
        """The η-trick reweighting η̂(w) = |w| / Ω'(|w|) (+inf where Ω'(|w|) = 0)."""
        t = np.abs(as_finite_array(w, "w"))
        with np.errstate(over="ignore"):
            return self._eta_hat(t)

    def eta_hat_torch(self, t: Any) -> Any:
        r""":math:`\hat\eta(t)` on a torch tensor of magnitudes ``t = |w|`` (same dtype/device).

        Rates are computed under ``no_grad``, so the default runs the numpy :meth:`eta_hat` on
        the detached values (one host round trip); closed forms override it with tensor
        arithmetic. numpy only here: the tensor's own methods, never an ``import torch``.
        """
        values = self.eta_hat(t.detach().cpu().numpy())
        return t.new_tensor(np.asarray(values, dtype=float))

    def dual_torch(self, eta: Any) -> Any:
        r"""The dual :math:`f(\eta)` on a torch tensor. The default runs the numpy :meth:`dual`
        on the detached values (not differentiable); closed forms override it with
        differentiable tensor arithmetic."""
        return eta.new_tensor(np.asarray(self.dual(eta.detach().cpu().numpy()), dtype=float))

    def dual(self, eta: Any) -> np.ndarray:
        """The η-trick dual f(η) = sup_w [2Ω(w) − w²/η], η >= 0 (+inf allowed)."""
        self._require_eta_form("dual")
        eta = as_nonnegative_array(eta, "eta", allow_inf=True)
        with np.errstate(over="ignore"):
            return self._dual(eta)

    def keep_prob(self, w: Any, lam: float, c: Any = 1.0) -> np.ndarray:
        """Bernoulli keep probability α = c η̂ / (c η̂ + λ) of the adaptive dropout rule that
        implements λΩ at column scale c (docs/conventions.md §4)."""
        return eta_to_keep_prob(self.eta_hat(w), lam, c)

    def noise_variance(self, w: Any, lam: float, c: Any = 1.0) -> np.ndarray:
        """Gaussian-mask variance σ² = λ / (c η̂) of the rule that implements λΩ at scale c."""
        return eta_to_noise_variance(self.eta_hat(w), lam, c)

    #: Above this |v| the objective ½(x − v)² overflows; :meth:`prox` uses its asymptotic form.
    PROX_ASYMPTOTIC_FROM: ClassVar[float] = 1e150

    def prox(self, v: Any, step: Any) -> np.ndarray:
        r"""argmin_x ½(x − v)² + step·Ω(x), elementwise (the global minimiser).

        step = 0 is the identity. For :math:`|v| > 10^{150}` (where ½(x − v)² overflows) the
        minimiser is the far stationary point :math:`x = v/(1 + \mathrm{step}/\hat\eta(x))`
        (x + step·Ω'(x) = v with Ω'(x) = x/η̂(x)), reached by three fixed-point steps from
        x = v: exact for a quadratic tail (η̂ constant), within step²/η̂² of it otherwise.
        """
        v = as_finite_array(v, "v")
        step = as_finite_array(check_nonnegative(step, "step"), "step")
        step = np.broadcast_to(step, v.shape).reshape(-1)
        mag = np.abs(v).reshape(-1)
        big = mag > self.PROX_ASYMPTOTIC_FROM
        moving = (step > 0) & ~big
        out = mag.copy()
        if np.any(moving):
            with np.errstate(over="ignore"):
                out[moving] = self._prox(mag[moving], step[moving])
        far = big & (step > 0)
        if np.any(far):
            with np.errstate(divide="ignore", over="ignore"):
                out[far] = self._prox_far(mag[far], step[far])
        return np.sign(v) * out.reshape(v.shape)

    def _prox_far(self, v: np.ndarray, step: np.ndarray) -> np.ndarray:
        """The prox at v > 1e150: three steps of x ← v/(1 + step/η̂(x)) from x = v (at most
        quadratic growth; superquadratic penalties override it)."""
        x = v
        for _ in range(3):
            x = v / (1.0 + step / self._eta_hat(x))
        return x

    def subdiff_distance(self, w: Any, grad: Any, lam: float) -> np.ndarray:
        """Distance of −grad to λ∂Ω(w), elementwise: the stationarity residual for
        min L(w) + λΩ(w) with grad = ∇L(w). Nonconvex-safe (uses the Clarke subdifferential)."""
        w = as_finite_array(w, "w")
        grad = as_finite_array(grad, "grad")
        lam = float(check_nonnegative(lam, "lam"))
        nonzero = np.abs(grad + lam * self.derivative(w))
        # λ = 0 leaves no subdifferential to absorb the gradient (and 0·∞ would be NaN for
        # penalties with an infinite slope at 0, such as ℓp with p < 1).
        kink = lam * self.slope_at_zero() if lam > 0 else 0.0
        at_zero = np.maximum(np.abs(grad) - kink, 0.0)
        return np.where(w != 0, nonzero, at_zero)

    def at_lam(self, lam: float) -> Penalty:
        """The penalty Ω_λ to use at strength λ in F = L + λΩ_λ: ``self`` unless
        :attr:`follows_lam` (then a copy with its λ-dependent parameters set from ``lam``)."""
        return self

    def to_cvxpy(self, expr: Any) -> Any:
        """Σ_j Ω(expr_j) as a cvxpy expression (convex penalties only)."""
        raise ValueError(f"{self!r} is not convex: it has no cvxpy (DCP) form")

    def as_dropout_rule(self, lam: float, c: Any = 1.0) -> Callable[[np.ndarray], np.ndarray]:
        """The adaptive dropout rule w ↦ α(w) that implements λΩ at scale c."""
        check_nonnegative(lam, "lam")
        check_positive(c, "c")
        return lambda w: self.keep_prob(w, lam, c)

    def _require_eta_form(self, what: str) -> None:
        if not self.has_eta_form:
            raise NoEtaFormError(
                f"{self!r} is {self.curvature_class}: Ω(√θ) is not concave, so Ω is not an "
                f"infimum of quadratics and has no η-trick {what}"
            )
