"""Input validation: one clear ``ValueError`` naming the argument, never a silent NaN."""

from __future__ import annotations

from typing import Any

import numpy as np


def as_finite_array(x: Any, name: str) -> np.ndarray:
    """``x`` as a float array; raises if it holds NaN or ±inf."""
    try:
        arr = np.asarray(x, dtype=float)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name} must be numeric, got {type(x).__name__}") from err
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or inf")
    return arr


def check_nonnegative(x: Any, name: str) -> Any:
    """Raise unless ``x`` (scalar or array) is finite and >= 0; return it unchanged."""
    arr = as_finite_array(x, name)
    if np.any(arr < 0):
        raise ValueError(f"{name} must be >= 0, got {x!r}")
    return x


def check_positive(x: Any, name: str) -> Any:
    """Raise unless ``x`` (scalar or array) is finite and > 0; return it unchanged."""
    arr = as_finite_array(x, name)
    if np.any(arr <= 0):
        raise ValueError(f"{name} must be > 0, got {x!r}")
    return x


def check_scalar(
    x: Any,
    name: str,
    low: float = -np.inf,
    high: float = np.inf,
    low_inclusive: bool = True,
    high_inclusive: bool = True,
) -> float:
    """A finite real scalar in the stated interval; the error names the allowed range."""
    lo_b = "[" if low_inclusive and np.isfinite(low) else "("
    hi_b = "]" if high_inclusive and np.isfinite(high) else ")"
    allowed = f"{lo_b}{low:g}, {high:g}{hi_b}"
    if isinstance(x, bool | np.bool_):
        raise ValueError(f"{name} must be a real number in {allowed}, got the boolean {x!r}")
    try:
        val = float(x)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name} must be a real number in {allowed}, got {x!r}") from err
    if not np.isfinite(val):
        raise ValueError(f"{name} must be a finite real number in {allowed}, got {x!r}")
    ok_lo = val >= low if low_inclusive else val > low
    ok_hi = val <= high if high_inclusive else val < high
    if not (ok_lo and ok_hi):
        raise ValueError(f"{name} must be in {allowed}, got {x!r}")
    return val


def check_rate(x: Any, name: str) -> float:
    """A dropout probability in [0, 1)."""
    return check_scalar(x, name, 0.0, 1.0, True, False)


def check_flag(x: Any, name: str) -> bool:
    """``x`` as a bool; a string, number or None is an error (``'no'`` is not False)."""
    if isinstance(x, bool | np.bool_):
        return bool(x)
    raise ValueError(f"{name} must be True or False, got {x!r}")


def check_count(x: Any, name: str, low: int = 1) -> int:
    """``x`` as an int ≥ ``low``; bools, floats with a fraction and strings are errors."""
    if isinstance(x, bool | np.bool_) or not isinstance(x, int | np.integer):
        if not (isinstance(x, float | np.floating) and float(x).is_integer()):
            raise ValueError(f"{name} must be an integer >= {low}, got {x!r}")
    if int(x) < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {x!r}")
    return int(x)
