r"""The family protocol: one canonical exponential family and everything the layers ask of it.

For the natural parameter :math:`\theta_i = x_i^\top w + b` (docs/conventions.md §1),

.. math::

    \ell_i = A(\theta_i) - y_i\theta_i\;(+\,\text{a reported constant}),\qquad
    \mu = A'(\theta),\qquad c_j(w) = \tfrac1n\sum_i A''(\theta_i)\,x_{ij}^2 .

A subclass sets :attr:`Family.name` and implements :math:`A`, :math:`A'`, :math:`A''`,
:math:`A''''` and its y check, in numpy and as a torch twin (imported lazily: numpy and scipy
stay the only dependencies of this package), plus its cvxpy loss. Every subclass registers itself
under its ``name``: adding a family is one file in this folder.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

import numpy as np

from dualreg._validation import as_finite_array

Array = np.ndarray

_REGISTRY: dict[str, type[Family]] = {}


class Family(ABC):
    r"""A canonical GLM family.

    Attributes
    ----------
    name : str
        The registry key (``"gaussian"``, ``"binomial"``, ``"poisson"``, …).
    curvature_bound : float
        :math:`\sup_\theta A''(\theta)` (``inf`` when unbounded): the Lipschitz constant of
        :math:`A'`, so :math:`\tfrac1n\sum_i\|x_{ij}\|^2\cdot` this bounds :math:`c_j(w)`.
    constant_curvature : bool
        Whether :math:`A'' \equiv 1` (the loss is quadratic in θ: one linear solve per weighted
        ridge, exact centring for the intercept, c independent of w).
    """

    name: ClassVar[str]
    curvature_bound: ClassVar[float] = np.inf
    constant_curvature: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "name" in cls.__dict__:
            _REGISTRY[cls.name] = cls

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self)

    def __hash__(self) -> int:
        return hash(type(self))

    # -------------------------------------------------------------- numpy faces
    @abstractmethod
    def log_partition(self, theta: Array) -> Array:
        r""":math:`A(\theta)` (overflow-safe; +inf rather than a warning)."""

    @abstractmethod
    def mean(self, theta: Array) -> Array:
        r""":math:`\mu = A'(\theta)`."""

    @abstractmethod
    def curvature(self, theta: Array) -> Array:
        r""":math:`A''(\theta)` (the IRLS weights)."""

    def third_derivative(self, theta: Array) -> Array:
        r""":math:`A^{(3)}(\theta)` (the first-order gap between frozen column scales and the
        Fisher ridge, proofs/T14).

        Every built-in family overrides it with its closed form. This default is the central
        difference of :meth:`curvature`, :math:`[A''(\theta + h) - A''(\theta - h)]/2h` with
        :math:`h = 10^{-4}(1 + |\theta|)`: error :math:`h^2 A^{(5)}/6`, about 1e-9 for an
        :math:`A^{(5)}` of order one."""
        theta = np.asarray(theta, dtype=float)
        h = 1e-4 * (1.0 + np.abs(theta))
        return (self.curvature(theta + h) - self.curvature(theta - h)) / (2.0 * h)

    @abstractmethod
    def fourth_derivative(self, theta: Array) -> Array:
        r""":math:`A''''(\theta)` (the second-order dropout gap of proofs/T2)."""

    def pointwise_loss(self, theta: Array, y: Array) -> Array:
        r"""Per-sample loss :math:`\ell_i = A(\theta_i) - y_i\theta_i` (+ the reported constant)."""
        return self.log_partition(theta) - y * theta

    def link_of_mean(self, mu: float) -> float:
        r"""The natural parameter of a constant mean, :math:`(A')^{-1}(\mu)` (the intercept of
        the null model).

        Built-in families override it with their closed form, clipped into their domain. This
        default solves :math:`A'(\theta) = \mu` by Brent's method (A' is nondecreasing) in a
        bracket doubled from [-1, 1] up to [-2^40, 2^40].

        Raises
        ------
        ValueError
            ``mu`` is not finite or not a mean the family attains in that range.
        """
        from scipy.optimize import brentq

        mu = float(mu)
        if not np.isfinite(mu):
            raise ValueError(f"mu must be finite, got {mu!r}")

        def gap(theta: float) -> float:
            return float(self.mean(np.array([theta]))[0]) - mu

        lo, hi = -1.0, 1.0
        for _ in range(40):
            if gap(lo) <= 0.0 <= gap(hi):
                return float(brentq(gap, lo, hi, xtol=1e-14, rtol=4 * np.finfo(float).eps))
            lo, hi = 2.0 * lo, 2.0 * hi
        raise ValueError(f"mu = {mu!r} is not a mean of {self!r} (A'(theta) = mu has no root "
                         f"with |theta| <= {hi:g})")

    def perfectly_separated(self, theta: Array, y: Array) -> bool:
        """Whether the data are fitted perfectly by θ so that the loss has no finite minimiser
        along θ's direction (logistic separation); ``False`` for families where that cannot
        happen."""
        return False

    @abstractmethod
    def sample(self, theta: Array, rng: np.random.Generator, noise: float = 1.0) -> Array:
        """A response drawn from the family at natural parameter θ (``noise``: the gaussian
        standard deviation; ignored by families whose variance is fixed by the mean)."""

    # -------------------------------------------------------------- validation
    def _check_y_values(self, y: Array) -> None:  # noqa: B027 (every real y is valid here)
        """Raise ``ValueError`` naming ``y`` when y is outside the family's support."""

    def check_y(self, y: Any) -> Array:
        """``y`` as a finite 1-D float array valid for the family (errors name ``y``)."""
        y = as_finite_array(y, "y")
        if y.ndim != 1:
            raise ValueError(f"y must be 1-D, got shape {y.shape}")
        self._check_y_values(y)
        return y

    # -------------------------------------------------------------- other backends
    @abstractmethod
    def cvxpy_loss(self, theta: Any, y: Array) -> Any:
        r""":math:`\sum_i \ell_i(\theta_i)` as a DCP-convex cvxpy expression."""

    @abstractmethod
    def log_partition_torch(self, theta: Any) -> Any:
        r""":math:`A(\theta)` on torch tensors (differentiable)."""

    @abstractmethod
    def mean_torch(self, theta: Any) -> Any:
        r""":math:`A'(\theta)` on torch tensors."""

    @abstractmethod
    def curvature_torch(self, theta: Any) -> Any:
        r""":math:`A''(\theta)` on torch tensors."""

    @abstractmethod
    def fourth_derivative_torch(self, theta: Any) -> Any:
        r""":math:`A''''(\theta)` on torch tensors."""

    def pointwise_loss_torch(self, theta: Any, y: Any) -> Any:
        r""":math:`A(\theta) - y\theta` (+ the reported constant) on torch tensors."""
        return self.log_partition_torch(theta) - y * theta


def registered() -> dict[str, type[Family]]:
    """Every family class by name, in registration order."""
    return dict(_REGISTRY)


def get_family(family: str | Family) -> Family:
    """The family named ``family`` (an instance passes through; the error lists the names)."""
    if isinstance(family, Family):
        return family
    cls = _REGISTRY.get(family) if isinstance(family, str) else None
    if cls is None:
        raise ValueError(f"family must be one of {tuple(_REGISTRY)}, got {family!r}")
    return cls()
