r"""How penalties show themselves: a readable name for a user's rule, and a faces table.

:func:`describe_callable` names the rule a penalty was built from (its function name, or the
source text of a lambda), so ``from_keep_prob(lambda t: t / (t + 1), lam=0.5)`` prints as that,
not as ``from_eta_hat(<lambda>)``. :func:`faces_html` is a penalty's ``_repr_html_``: its curvature
class and a table of its faces — :math:`\Omega(w)`, :math:`\hat\eta(w)`, :math:`f(\hat\eta(w))`
and the keep probability :math:`\alpha = \hat\eta/(\hat\eta + 1)` (λ = c = 1) — at a few weights.
"""

from __future__ import annotations

import html
import inspect
from collections.abc import Callable
from typing import Any

import numpy as np

W_TABLE = (0.0, 0.1, 0.5, 1.0, 2.0, 5.0)


def _lambda_source(fn: Callable) -> str | None:
    """The text of a lambda from its source line (``lambda t: t**2``), or None."""
    try:
        line = inspect.getsource(fn)
    except (OSError, TypeError):
        return None
    start = line.find("lambda")
    if start < 0 or line.count("lambda") > 1:  # two lambdas on a line: ambiguous
        return None
    depth, end = 0, len(line)
    for i in range(start, len(line)):
        ch = line[i]
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            if depth == 0:
                end = i
                break
            depth -= 1
        elif ch in ",\n#" and depth == 0:
            end = i
            break
    text = " ".join(line[start:end].split())
    return text or None


def describe_callable(fn: Callable) -> str:
    """A short readable name of ``fn``: a bound method with its owner, its ``__name__``, a
    lambda's source, or its type."""
    name = getattr(fn, "__name__", None)
    if inspect.ismethod(fn):  # another penalty's face, e.g. LogSum(eps=0.5).eta_hat
        return f"{fn.__self__!r}.{name}"
    if name and name != "<lambda>":
        return name
    if name == "<lambda>":
        return _lambda_source(fn) or "<lambda>"
    return type(fn).__name__


def _cell(v: float) -> str:
    if np.isnan(v):
        return "n/a"
    if np.isinf(v):
        return "+∞" if v > 0 else "−∞"
    return f"{v:.4g}"


def faces_html(penalty: Any) -> str:
    """An HTML table of the penalty's faces at :data:`W_TABLE` (a notebook's display)."""
    w = np.array(W_TABLE)
    eta = np.asarray(penalty.eta_hat(w), dtype=float)
    columns = {"|w|": w, "Ω(w)": penalty.value(w), "η̂(w)": eta}
    if penalty.has_eta_form:
        with np.errstate(all="ignore"):
            columns["f(η̂)"] = np.where(eta > 0, penalty.dual(np.where(eta > 0, eta, 1.0)),
                                        np.nan)
    columns["α (λ = c = 1)"] = penalty.keep_prob(w, 1.0, 1.0)
    head = "".join(f"<th>{html.escape(k)}</th>" for k in columns)
    rows = "".join("<tr>" + "".join(f"<td>{_cell(float(col[i]))}</td>" for col in
                                    columns.values()) + "</tr>" for i in range(len(w)))
    return (f"<div><b>{html.escape(repr(penalty))}</b> — {html.escape(penalty.curvature_class)}"
            f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table></div>")
