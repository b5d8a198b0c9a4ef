"""Input validation at every public boundary: one clear ``ValueError`` naming the argument,
never a silent NaN, never a flag read as its opposite.

The one mechanism the library's public functions and constructors use:

- numbers: :func:`check_scalar` (a finite real in an interval; bool and str are not numbers),
  :func:`check_int` (an integer, not 1.7 and not True), :func:`check_seed`;
- arrays: :func:`as_finite_array` (numeric, finite; no strings, no booleans);
- flags and choices: :func:`check_bool` (``'no'`` is not False), :func:`check_choice`;
- callables: :func:`check_callable`.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def _reject_non_numeric(x: Any, name: str) -> None:
    """Strings, bytes and booleans (or arrays of them) are not numbers here."""
    if x is None or isinstance(x, str | bytes | bool | np.bool_):
        raise ValueError(f"{name} must be numeric, got {type(x).__name__} {x!r}")
    if isinstance(x, np.ndarray) and x.dtype.kind in "bUSO" and x.size:
        if x.dtype.kind != "O" or any(isinstance(v, str | bytes | bool) for v in x.flat):
            raise ValueError(f"{name} must be numeric, got an array of dtype {x.dtype}")
    if isinstance(x, list | tuple) and any(isinstance(v, str | bytes | bool | np.bool_)
                                           for v in x):
        raise ValueError(f"{name} must be numeric, got a sequence holding a non-number")


def as_finite_array(x: Any, name: str) -> np.ndarray:
    """``x`` as a float array; raises if it is not numeric or holds NaN or ±inf."""
    _reject_non_numeric(x, name)
    try:
        arr = np.asarray(x, dtype=float)
    except (TypeError, ValueError, OverflowError) as err:
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
    if isinstance(x, str | bytes) or np.ndim(x) != 0:
        raise ValueError(f"{name} must be a real number in {allowed}, got {x!r}")
    try:
        val = float(x)
    except (TypeError, ValueError, OverflowError) as err:
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


def check_int(x: Any, name: str, low: int | None = None, high: int | None = None) -> int:
    """An integer (Python or numpy; not bool, not 1.7, not "3") in ``[low, high]``."""
    if isinstance(x, bool | np.bool_) or not isinstance(x, int | np.integer):
        if isinstance(x, float | np.floating) and np.isfinite(x) and float(x).is_integer():
            x = int(x)  # 3.0 is the integer 3; 1.7 is not an integer
        else:
            raise ValueError(f"{name} must be an integer{_int_range(low, high)}, got {x!r}")
    val = int(x)
    if (low is not None and val < low) or (high is not None and val > high):
        raise ValueError(f"{name} must be an integer{_int_range(low, high)}, got {val}")
    return val


def _int_range(low: int | None, high: int | None) -> str:
    if low is not None and high is not None:
        return f" in [{low}, {high}]"
    if low is not None:
        return f" >= {low}"
    return f" <= {high}" if high is not None else ""


def check_seed(x: Any, name: str = "seed") -> int:
    """A seed: an integer in [0, 2**63) (a float seed would be silently truncated)."""
    return check_int(x, name, 0, 2**63 - 1)


def check_bool(x: Any, name: str) -> bool:
    """A flag: ``True``/``False`` (or numpy bools); strings such as ``'no'`` are refused,
    since ``bool('no')`` is True."""
    if not isinstance(x, bool | np.bool_):
        raise ValueError(f"{name} must be True or False, got {x!r}")
    return bool(x)


def check_choice(x: Any, name: str, choices: tuple[str, ...]) -> str:
    """One of a fixed set of string options."""
    if not isinstance(x, str) or x not in choices:
        allowed = ", ".join(repr(c) for c in choices)
        raise ValueError(f"{name} must be one of {allowed}; got {x!r}")
    return x


def check_callable(x: Any, name: str) -> Any:
    """A callable (a function t -> array, typically)."""
    if not callable(x):
        raise ValueError(f"{name} must be callable, got {type(x).__name__} {x!r}")
    return x


def as_nonnegative_array(x: Any, name: str, allow_inf: bool = False) -> np.ndarray:
    """``x`` as a float array of values >= 0 (no NaN; +inf only with ``allow_inf``)."""
    _reject_non_numeric(x, name)
    try:
        arr = np.asarray(x, dtype=float)
    except (TypeError, ValueError, OverflowError) as err:
        raise ValueError(f"{name} must be numeric, got {type(x).__name__}") from err
    bad = np.isnan(arr) | (arr < 0) | (np.isinf(arr) & (not allow_inf))
    if np.any(bad):
        what = "nonnegative (+inf allowed)" if allow_inf else "finite and nonnegative"
        raise ValueError(f"{name} must be {what}, got {arr[bad].reshape(-1)[0]!r}")
    return arr
