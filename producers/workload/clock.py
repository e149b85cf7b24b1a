"""Simulated time: working days as day indices from the start, and the RFC 3339 rendering of a moment.

Every life cycle counts in seconds since 00:00 of the first day (``t``) and whole days (``t // DAY``); this
module turns those into working days of a :class:`Calendar` (holidays and 调休 working weekends included) and
into ``time`` strings. It is separate because both the life cycles (deadlines) and the stream (timestamps)
need it, and neither needs the other's details.
"""

from __future__ import annotations

import functools
import logging
from bisect import bisect_left, bisect_right
from datetime import date, timedelta, timezone
from typing import Final, Protocol

# The logger keeps the name of the original single module: ``casetrack demo`` quiets it by that name.
log = logging.getLogger("producers.generator")

TZ: Final = timezone(timedelta(hours=8))
DAY: Final = 86_400


class Calendar(Protocol):
    """What the generator needs of :class:`projections.calendar.WorkCalendar`."""

    def is_working_day(self, day: date) -> bool: ...


class Clock:
    """Working days as day indices relative to the start (day 0), extended on demand."""

    def __init__(self, calendar: Calendar, start: date) -> None:
        self._cal = calendar
        self._start = start
        self._flags: list[bool] = []
        self._wd: list[int] = []  # working-day indices, ascending
        self._estimated_years: set[int] = set()
        self.extend(400)

    def extend(self, upto: int) -> None:
        official = getattr(self._cal, "has_official_data", None)
        for i in range(len(self._flags), upto):
            day = self._start + timedelta(days=i)
            try:
                working = bool(self._cal.is_working_day(day))
                estimated = official is not None and not official(day.year)
            except LookupError:  # a strict calendar refuses a year without a notice
                working, estimated = day.weekday() < 5, True
            if estimated and day.year not in self._estimated_years:
                self._estimated_years.add(day.year)
                log.info("no official working-day calendar for %d: the workload uses an estimate", day.year)
            self._flags.append(working)
            if working:
                self._wd.append(i)

    def is_wd(self, day: int) -> bool:
        if day >= len(self._flags):
            self.extend(day + 366)
        return self._flags[day]

    def next_wd(self, day: int) -> int:
        """The first working day on or after ``day``."""
        while True:
            i = bisect_left(self._wd, day)
            if i < len(self._wd):
                return self._wd[i]
            self.extend(len(self._flags) + 366)

    def add_wd(self, day: int, n: int) -> int:
        """The ``n``-th working day after ``day`` (counting starts the day after); ``n == 0`` is ``day``."""
        if n <= 0:
            return day
        while True:
            i = bisect_right(self._wd, day) + n - 1
            if i < len(self._wd):
                return self._wd[i]
            self.extend(len(self._flags) + 366)

    def wd_between(self, a: int, b: int) -> int:
        """Working days in ``(a, b]``."""
        if b <= a:
            return 0
        self.is_wd(b)
        return bisect_right(self._wd, b) - bisect_right(self._wd, a)

    def date_of(self, day: int) -> date:
        return self._start + timedelta(days=day)

    def index_of(self, d: date) -> int:
        return (d - self._start).days


@functools.cache
def time_of_day() -> tuple[str, ...]:
    """``"HH:MM:SS+08:00"`` for every second of a day (built once, on first use), indexed by ``t % DAY``."""
    return tuple(f"{h:02d}:{m:02d}:{s:02d}+08:00" for h in range(24) for m in range(60) for s in range(60))
