"""Reporting periods (周 / 月 / 季 / 年 / custom spans) and "as of" moments, in Beijing time.

A period is a span of whole Asia/Shanghai days, ``start`` to ``end`` inclusive; it covers the instants
``[start 00:00, end + 1 day 00:00)`` +08:00. Written forms (see docs/analysts.md, 'Reports'):

* ``2026`` (year), ``2026-Q3`` (quarter), ``2026-07`` (month), ``2026-W14`` (ISO week, Monday to Sunday),
* ``2026-01..2026-07`` (months 1-7, "1–7 月"), ``2026-04-19..2026-12-31`` (any days).

An "as of" moment is an ISO date-time (``2026-10-05T09:00``; Beijing time unless an offset is given) or a
date (``2026-10-05``: the end of that day, 24:00 Beijing time).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo

BEIJING = ZoneInfo("Asia/Shanghai")

_YEAR = re.compile(r"^(\d{4})$")
_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$", re.IGNORECASE)
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_WEEK = re.compile(r"^(\d{4})-W(\d{2})$", re.IGNORECASE)
_DAY = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")


class PeriodError(ValueError):
    """A period or moment that cannot be read; the message says which forms are accepted."""


@dataclass(frozen=True, slots=True)
class Period:
    """Whole Beijing days ``start`` .. ``end`` (inclusive), with the label it was written as."""

    label: str
    kind: str  # year | quarter | month | week | custom
    start: dt.date
    end: dt.date

    @property
    def start_at(self) -> dt.datetime:
        """The first instant of the period (00:00 Beijing time of ``start``)."""
        return dt.datetime.combine(self.start, dt.time(), BEIJING)

    @property
    def end_at(self) -> dt.datetime:
        """The first instant after the period (00:00 Beijing time of the day after ``end``)."""
        return dt.datetime.combine(self.end + dt.timedelta(days=1), dt.time(), BEIJING)


def _month_end(year: int, month: int) -> dt.date:
    first_next = dt.date(year + (month == 12), month % 12 + 1, 1)
    return first_next - dt.timedelta(days=1)


def _single(text: str) -> Period:
    if m := _YEAR.match(text):
        y = int(m[1])
        return Period(text, "year", dt.date(y, 1, 1), dt.date(y, 12, 31))
    if m := _QUARTER.match(text):
        y, q = int(m[1]), int(m[2])
        return Period(f"{y}-Q{q}", "quarter", dt.date(y, 3 * q - 2, 1), _month_end(y, 3 * q))
    if m := _MONTH.match(text):
        y, mo = int(m[1]), int(m[2])
        if not 1 <= mo <= 12:
            raise PeriodError(f"no month {mo} in {text!r}")
        return Period(text, "month", dt.date(y, mo, 1), _month_end(y, mo))
    if m := _WEEK.match(text):
        y, w = int(m[1]), int(m[2])
        try:
            monday = dt.date.fromisocalendar(y, w, 1)
        except ValueError:
            raise PeriodError(f"no ISO week {w} in {y}") from None
        return Period(f"{y}-W{w:02d}", "week", monday, monday + dt.timedelta(days=6))
    if m := _DAY.match(text):
        try:
            day = dt.date(int(m[1]), int(m[2]), int(m[3]))
        except ValueError as exc:
            raise PeriodError(f"{text!r}: {exc}") from None
        return Period(text, "custom", day, day)
    raise PeriodError(
        f"cannot read the period {text!r}: use 2026, 2026-Q3, 2026-07, 2026-W14, a day 2026-04-19, "
        "or a span FROM..TO of those (2026-01..2026-07, 2026-04-19..2026-12-31)"
    )


def parse_period(text: str) -> Period:
    """The period ``text`` names (forms in the module docstring); raises :class:`PeriodError`."""
    text = text.strip()
    if ".." in text:
        first, _, last = text.partition("..")
        a, b = _single(first.strip()), _single(last.strip())
        if b.end < a.start:
            raise PeriodError(f"the span {text!r} ends before it starts")
        return Period(f"{a.label}..{b.label}", "custom", a.start, b.end)
    return _single(text)


def parse_as_of(text: str) -> dt.datetime:
    """The moment ``text`` names: a date means the end of that Beijing day; a naive time is Beijing time."""
    text = text.strip()
    if _DAY.match(text):
        day = dt.date.fromisoformat(text)
        return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), BEIJING)
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise PeriodError(
            f"cannot read the moment {text!r}: use 2026-10-05 (end of that day) or 2026-10-05T09:00[+08:00]"
        ) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=BEIJING)


def split(period: Period, unit: str) -> list[Period]:
    """The period cut into consecutive months, quarters or ISO weeks (clipped to the period); ``none``: itself."""
    if unit == "none":
        return [period]
    out: list[Period] = []
    day = period.start
    while day <= period.end:
        if unit == "month":
            part = _single(f"{day:%Y-%m}")
        elif unit == "quarter":
            part = _single(f"{day.year}-Q{(day.month - 1) // 3 + 1}")
        elif unit == "week":
            y, w, _ = day.isocalendar()
            part = _single(f"{y}-W{w:02d}")
        else:
            raise PeriodError(f"cannot split by {unit!r}: use none, week, month or quarter")
        start, end = max(part.start, period.start), min(part.end, period.end)
        label = part.label if (start, end) == (part.start, part.end) else f"{start}..{end}"
        out.append(Period(label, part.kind if label == part.label else "custom", start, end))
        day = end + dt.timedelta(days=1)
    return out
