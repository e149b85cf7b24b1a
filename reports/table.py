"""A report as data: titled columns (wire key, Chinese heading as on the official form, English) and rows.

Every output format (:mod:`reports.formats`) and every frozen copy (:mod:`reports.store`) is made from the
canonical JSON of a :class:`Report`, so a report computed again as of the same moment is byte for byte the
same (no wall-clock time inside; the publication's own time is stored beside it).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

Cell = str | int | float | None


@dataclass(frozen=True, slots=True)
class Column:
    """One column: ``key`` is the wire/CSV name, ``zh`` the heading of the official form, ``en`` English."""

    key: str
    zh: str
    en: str


@dataclass(frozen=True)
class Report:
    """One report: what, over which period, as of when, and its table."""

    kind: str
    title: str
    period: str
    period_start: dt.date
    period_end: dt.date
    as_of: dt.datetime
    columns: tuple[Column, ...]
    rows: tuple[tuple[Cell, ...], ...]
    params: dict[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """JSON-ready primitives (the frozen ``content``)."""
        return {
            "kind": self.kind,
            "title": self.title,
            "period": self.period,
            "period_start": self.period_start.isoformat(),
            "period_end": self.period_end.isoformat(),
            "as_of": self.as_of.astimezone(dt.UTC).isoformat(),
            "params": dict(sorted(self.params.items())),
            "columns": [{"key": c.key, "zh": c.zh, "en": c.en} for c in self.columns],
            "rows": [list(r) for r in self.rows],
            "notes": list(self.notes),
        }

    def canonical(self) -> str:
        """The canonical JSON text (sorted keys, no spaces, UTF-8 characters as they are)."""
        return canonical_json(self.to_json())

    def sha256(self) -> str:
        return hashlib.sha256(self.canonical().encode("utf-8")).hexdigest()

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> Report:
        """Inverse of :meth:`to_json` (reading a frozen report)."""
        return cls(
            kind=obj["kind"],
            title=obj["title"],
            period=obj["period"],
            period_start=dt.date.fromisoformat(obj["period_start"]),
            period_end=dt.date.fromisoformat(obj["period_end"]),
            as_of=dt.datetime.fromisoformat(obj["as_of"]),
            columns=tuple(Column(c["key"], c["zh"], c["en"]) for c in obj["columns"]),
            rows=tuple(tuple(r) for r in obj["rows"]),
            params=dict(obj.get("params", {})),
            notes=tuple(obj.get("notes", ())),
        )

    def column(self, key: str) -> list[Cell]:
        """The values of one column (tests and callers that want one figure)."""
        i = [c.key for c in self.columns].index(key)
        return [r[i] for r in self.rows]


def canonical_json(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def rate(num: int, den: int) -> float | None:
    """A rate rounded to 4 decimals (0.7582 = 75.82%), ``None`` when the denominator is 0."""
    return round(num / den, 4) if den else None
