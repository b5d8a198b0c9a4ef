r"""The iteration history of a solver run: one record per iterate, truncated in one place.

Each record holds, at an iterate :math:`(w_t, b_t)` with smoothing :math:`\varepsilon_t`,

* ``objective`` — :math:`F(w_t) = L(w_t, b_t) + \sum_j\lambda_j\Omega(w_{t,j})` (the target);
* ``surrogate`` — :math:`F_{\varepsilon_t}(w_t) = L + \sum_j\lambda_j\Omega(\sqrt{w_{t,j}^2 +
  \varepsilon_t})`, the quantity the MM phase never increases (= F when ε = 0);
* ``stationarity`` — :math:`\max_j \mathrm{dist}(-\nabla_j L, \lambda_j\partial\Omega(w_{t,j}))`
  (and :math:`|\partial_b L|`);
* ``eps`` — :math:`\varepsilon_t`; ``phase`` — which step produced the iterate (``"init"``,
  ``"eta"``, ``"support"``, ``"newton"``, ``"prox"``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

__all__ = ["FIELDS", "History", "IterationRecord"]


class IterationRecord(NamedTuple):
    """One iterate's diagnostics (module docstring)."""

    objective: float
    surrogate: float
    stationarity: float
    eps: float
    phase: str


FIELDS: tuple[str, ...] = IterationRecord._fields
"""The names of a record's entries, in order."""


class History:
    """An append-only list of :class:`IterationRecord` that a run may roll back.

    ``append`` adds a record, ``truncate(k)`` keeps the first k (a rejected trial's iterates are
    dropped this way, and nowhere else); ``column(name)`` is one entry of every record as a
    list, which is what :class:`dualreg.solvers.IRLSResult` exposes as ``objective``,
    ``surrogate``, ``stationarity``, ``eps`` and ``phase``.
    """

    __slots__ = ("_records",)

    def __init__(self, records: list[IterationRecord] | None = None) -> None:
        self._records: list[IterationRecord] = list(records or [])

    def append(self, record: IterationRecord) -> None:
        """Add one iterate's record."""
        self._records.append(IterationRecord(*record))

    def truncate(self, length: int) -> None:
        """Keep the first ``length`` records (``0 <= length``; a longer length keeps all)."""
        if length < 0:
            raise ValueError(f"length must be >= 0, got {length!r}")
        del self._records[length:]

    def set_last_stationarity(self, value: float) -> None:
        """Replace the latest record's stationarity (a working-set run records its inner
        problem's; the full problem's is known only at the end)."""
        self._records[-1] = self._records[-1]._replace(stationarity=float(value))

    def column(self, name: str) -> list:
        """Entry ``name`` (one of :data:`FIELDS`) of every record, in order."""
        if name not in FIELDS:
            raise ValueError(f"name must be one of {FIELDS}, got {name!r}")
        index = FIELDS.index(name)
        return [record[index] for record in self._records]

    @property
    def last(self) -> IterationRecord:
        """The latest record (``IndexError`` when empty)."""
        return self._records[-1]

    def __len__(self) -> int:
        return len(self._records)

    def __iter__(self) -> Iterator[IterationRecord]:
        return iter(self._records)

    def __getitem__(self, index: int) -> IterationRecord:
        return self._records[index]

    def __repr__(self) -> str:
        return f"History({len(self)} records)"
