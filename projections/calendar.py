"""The China working-day calendar: official data plus operator notices, with explicit coverage.

Weekend arithmetic alone is wrong in China (the State Council's yearly notice moves working days, 调休), so
days come from three layers: the official notices in ``holidays``, the operator's notice file, and a
statutory-holiday fallback for years without either, which is always marked (``covers``; ``strict=True``
raises :class:`CalendarGapError`). Periods count from the day after the trigger (民法典 Art. 201). Every
query is O(1) on dense per-day tables. See docs/deadlines.md ("The working-day calendar and the notice file").
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

from projections.calendar_data import (
    FIRST_OFFICIAL_YEAR,
    FIRST_SUPPORTED_YEAR,
    LAST_SUPPORTED_YEAR,
    CalendarNoticeError,
    apply_notices,
    builtin_official,
    builtin_official_years,
    read_notices,
    statutory_holidays,
)

__all__ = [
    "FIRST_SUPPORTED_YEAR",
    "LAST_SUPPORTED_YEAR",
    "CalendarGapError",
    "CalendarNoticeError",
    "Fallback",
    "WorkCalendar",
    "builtin_official_years",
]

_WINDOW_MARGIN_YEARS: Final = 5
_WINDOW_MIN_YEAR: Final = FIRST_SUPPORTED_YEAR - 1  # the window keeps a year of slack on both sides
_WINDOW_MAX_YEAR: Final = LAST_SUPPORTED_YEAR + 1

Fallback = Literal["statutory", "weekdays"]


class CalendarGapError(LookupError):
    """A date in a year without official calendar data was used while the calendar is strict."""

    def __init__(self, day: dt.date) -> None:
        super().__init__(
            f"no official working-day calendar for {day.year} (needed for {day.isoformat()}): add the State "
            f"Council holiday notice for {day.year} to the calendar notice file, or upgrade `holidays`"
        )
        self.day = day


# --- the calendar ------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Window:
    """Dense per-day tables for the days ``base .. base + len(cum) - 1`` (ordinals)."""

    base: int
    cum: list[int]  # cum[i]: working days in [base, base + i]
    wd: list[int]  # ordinals of the working days, ascending; wd[cum[i] - 1] is the last working day <= base+i
    gap: list[int]  # gap[i]: non-official days in [base, base + i]
    first_year: int
    last_year: int


class WorkCalendar:
    """China working-day calendar: official data from ``holidays`` (China, incl. 调休 weekend working days)
    plus operator notices. Build it with :meth:`load`.

    Days in years without official data fall back to the statutory-holiday estimate (see the module doc);
    :meth:`covers` / :meth:`has_official_data` say whether a result relied on it, and ``strict=True`` makes
    every such query raise :class:`CalendarGapError` instead.
    """

    __slots__ = ("_fallback", "_off", "_official_years", "_strict", "_win", "_work")

    def __init__(
        self,
        *,
        official_off: Iterable[dt.date] = (),
        official_work: Iterable[dt.date] = (),
        official_years: Iterable[int] = (),
        strict: bool = False,
        fallback: Fallback = "statutory",
    ) -> None:
        """Low-level constructor; prefer :meth:`load`. ``official_off`` are days off (any weekday),
        ``official_work`` weekend days declared working, ``official_years`` the years they fully describe."""
        self._off: frozenset[dt.date] = frozenset(official_off)
        self._work: frozenset[dt.date] = frozenset(official_work)
        self._official_years: frozenset[int] = frozenset(official_years)
        self._strict = strict
        if fallback not in ("statutory", "weekdays"):
            raise ValueError(f"fallback must be 'statutory' or 'weekdays', not {fallback!r}")
        self._fallback: Fallback = fallback
        years = sorted(self._official_years) or [FIRST_OFFICIAL_YEAR]
        self._win = self._build(
            max(_WINDOW_MIN_YEAR, years[0] - 1), min(_WINDOW_MAX_YEAR, years[-1] + _WINDOW_MARGIN_YEARS)
        )

    @classmethod
    def load(
        cls, notice_file: Path | None = None, *, strict: bool = False, fallback: Fallback = "statutory"
    ) -> WorkCalendar:
        """Built-in official data plus the optional operator notice file (TOML, see ``docs/deadlines.md``).

        A year in the notice file replaces the built-in data for that year entirely; dates from the adjacent
        December/January in a year's section override single days of the neighbouring year (New Year
        bridges). Raises :class:`CalendarNoticeError` with the file and key for an invalid file.
        """
        off_b, work_b = builtin_official()
        off = set(off_b)
        work = set(work_b)
        years = set(builtin_official_years())
        if notice_file is not None:
            notices = read_notices(Path(notice_file))
            apply_notices(notices.years, off, work, years)
        return cls(
            official_off=off, official_work=work, official_years=years, strict=strict, fallback=fallback
        )

    # --- properties ---------------------------------------------------------------------------------------

    @property
    def strict(self) -> bool:
        return self._strict

    @property
    def official_years(self) -> frozenset[int]:
        return self._official_years

    def has_official_data(self, year: int) -> bool:
        """Whether ``year`` is described by an official notice (built in or from the notice file)."""
        return year in self._official_years

    @property
    def covered_until(self) -> dt.date:
        """The last day of the last official year in the run of consecutive official years from the first.

        With the built-in data of holidays 0.109 and no notices this is 2026-12-31. A notice for 2028
        without 2027 does not move it.
        """
        if not self._official_years:
            return dt.date(FIRST_OFFICIAL_YEAR - 1, 12, 31)
        y = min(self._official_years)
        while y + 1 in self._official_years:
            y += 1
        return dt.date(y, 12, 31)

    def coverage_days_remaining(self, today: dt.date) -> int:
        """Days from ``today`` until :attr:`covered_until` (negative once past it): alert on this in
        November/December so that the next year's notice is loaded before deadlines run into it."""
        return (self.covered_until - today).days

    def covers(self, start: dt.date, end: dt.date) -> bool:
        """Whether every day in ``[start, end]`` lies in a year with official data (True for an empty span)."""
        if end < start:
            return True
        w = self._window_for(start.toordinal(), end.toordinal())
        i, j = start.toordinal() - w.base, end.toordinal() - w.base
        return w.gap[j] - (w.gap[i - 1] if i else 0) == 0

    # --- queries ------------------------------------------------------------------------------------------

    def is_working_day(self, day: dt.date) -> bool:
        o = day.toordinal()
        w = self._window_for(o, o)
        i = o - w.base
        if self._strict and w.gap[i] != (w.gap[i - 1] if i else 0):
            raise CalendarGapError(day)
        return w.cum[i] != (w.cum[i - 1] if i else 0)

    def add_working_days(self, start: dt.date, n: int) -> dt.date:
        """The n-th working day **after** ``start`` (民法典 Art. 201: counting from the next day).

        ``n == 0`` returns ``start`` itself, working day or not (an on-the-spot item is due the same day).
        """
        if n <= 0:
            if n == 0:
                return start
            raise ValueError(f"n must be >= 0, not {n} (use sub_working_days)")
        o = start.toordinal()
        w = self._win
        i = o - w.base
        if i < 0 or i >= len(w.cum) or w.cum[i] + n > len(w.wd):
            w = self._window_for(o, o + 2 * n + 60)
            while w.cum[o - w.base] + n > len(w.wd):  # pragma: no cover - only for absurdly long periods
                w = self._window_for(o, w.base + len(w.cum) + 366)
            i = o - w.base
        r = w.wd[w.cum[i] + n - 1]
        if self._strict and w.gap[r - w.base] != w.gap[i]:
            raise CalendarGapError(self._first_gap_day(w, o + 1, r))
        return dt.date.fromordinal(r)

    def sub_working_days(self, end: dt.date, n: int) -> dt.date:
        """The working day W such that ``(W, end]`` holds exactly ``n`` working days; the inverse of
        :meth:`add_working_days` when ``end`` is a working day. ``n == 0`` gives the last working day on or
        before ``end``."""
        if n < 0:
            raise ValueError(f"n must be >= 0, not {n}")
        o = end.toordinal()
        w = self._window_for(o - 2 * n - 60, o)
        j = o - w.base
        while w.cum[j] - 1 - n < 1:  # pragma: no cover - only for absurdly long periods
            w = self._window_for(w.base - 366, o)
            j = o - w.base
        r = w.wd[w.cum[j] - 1 - n]
        if self._strict and w.gap[j] != w.gap[r - w.base - 1]:
            raise CalendarGapError(self._first_gap_day(w, r, o))
        return dt.date.fromordinal(r)

    def working_days_between(self, start: dt.date, end: dt.date) -> int:
        """Working days in ``(start, end]``; negative (``-working_days_between(end, start)``) if end < start."""
        a, b = start.toordinal(), end.toordinal()
        w = self._window_for(min(a, b), max(a, b))
        i, j = a - w.base, b - w.base
        if self._strict and w.gap[i] != w.gap[j]:
            lo, hi = (a + 1, b) if a < b else (b + 1, a)
            raise CalendarGapError(self._first_gap_day(w, lo, hi))
        return w.cum[j] - w.cum[i]

    def next_working_day_on_or_after(self, day: dt.date) -> dt.date:
        """``day`` if it is a working day, else the next working day (the rest-day roll of 民法典 Art. 203)."""
        o = day.toordinal()
        w = self._window_for(o - 1, o + 60)
        i = o - w.base
        r = w.wd[w.cum[i - 1]]  # the first working day with ordinal >= o
        if self._strict and w.gap[r - w.base] != w.gap[i - 1]:
            raise CalendarGapError(self._first_gap_day(w, o, r))
        return dt.date.fromordinal(r)

    # --- internals ----------------------------------------------------------------------------------------

    @staticmethod
    def _first_gap_day(w: _Window, lo: int, hi: int) -> dt.date:
        for o in range(lo, hi + 1):
            i = o - w.base
            if w.gap[i] != (w.gap[i - 1] if i else 0):
                return dt.date.fromordinal(o)
        return dt.date.fromordinal(lo)  # pragma: no cover

    def _window_for(self, lo: int, hi: int) -> _Window:
        """A window containing ordinals ``lo - 1 .. hi`` (so ``gap[i - 1]``/``cum[i - 1]`` exist)."""
        w = self._win
        if w.base < lo and hi < w.base + len(w.cum):
            return w
        lo_year = dt.date.fromordinal(max(lo, 1)).year
        hi_year = dt.date.fromordinal(min(hi, dt.date.max.toordinal())).year
        if lo_year < FIRST_SUPPORTED_YEAR or hi_year > LAST_SUPPORTED_YEAR:
            raise ValueError(
                f"date outside the supported calendar range {FIRST_SUPPORTED_YEAR}–{LAST_SUPPORTED_YEAR}: "
                f"{dt.date.fromordinal(max(lo, 1))} .. {dt.date.fromordinal(min(hi, dt.date.max.toordinal()))}"
            )
        # One year of slack before lo (so that index i - 1 exists) and a margin after hi.
        first = max(_WINDOW_MIN_YEAR, min(w.first_year, lo_year - 1))
        last = min(_WINDOW_MAX_YEAR, max(w.last_year, hi_year + _WINDOW_MARGIN_YEARS))
        w = self._build(first, last)
        self._win = w  # atomic swap: readers hold their own reference
        return w

    def _build(self, first_year: int, last_year: int) -> _Window:
        base = dt.date(first_year, 1, 1).toordinal()
        end = dt.date(last_year, 12, 31).toordinal()
        cum: list[int] = []
        wd: list[int] = []
        gap: list[int] = []
        c = g = 0
        year = 0
        official = False
        statutory: frozenset[dt.date] = frozenset()
        off, work = self._off, self._work
        for o in range(base, end + 1):
            d = dt.date.fromordinal(o)
            if d.year != year:
                year = d.year
                official = year in self._official_years
                if not official and self._fallback == "statutory":
                    statutory = statutory_holidays(year)
                else:
                    statutory = frozenset()
            weekend = d.weekday() >= 5
            if official or d in off or d in work:
                working = d in work if weekend else d not in off
            else:
                g += 1
                working = not weekend and d not in statutory
            if working:
                c += 1
                wd.append(o)
            cum.append(c)
            gap.append(g)
        return _Window(base, cum, wd, gap, first_year, last_year)

    def __repr__(self) -> str:
        years = sorted(self._official_years)
        span = f"{years[0]}–{years[-1]}" if years else "none"
        return f"WorkCalendar(official={span}, covered_until={self.covered_until}, strict={self._strict})"
