"""Counting periods on the working-day calendar: the day of a moment, the end of a day, the end of an n-unit
period (with the rest-day roll), step limits with pauses, and working days elapsed.

Pure functions, no I/O; :mod:`projections.deadlines` builds a case's deadline from them. The rules, with
examples: docs/deadlines.md ("How a period is counted").
"""

from __future__ import annotations

import calendar as _stdlib_calendar
import datetime as dt
import math
from typing import Final

from projections.calendar import WorkCalendar

SHANGHAI: Final = dt.timezone(dt.timedelta(hours=8), "Asia/Shanghai")
ONE_DAY: Final = dt.timedelta(days=1)
MIDNIGHT: Final = dt.time(0, 0, tzinfo=SHANGHAI)
HOURS: Final = "hours"


def local_date(moment: dt.datetime) -> dt.date:
    """The Asia/Shanghai calendar day of an aware datetime."""
    if moment.tzinfo is None:
        raise ValueError(f"naive datetime {moment.isoformat()}: deadlines need aware datetimes")
    return moment.astimezone(SHANGHAI).date()


def end_of_day(day: dt.date) -> dt.datetime:
    """24:00 Asia/Shanghai of ``day`` (= 00:00 of the next day)."""
    return dt.datetime.combine(day + ONE_DAY, MIDNIGHT)


def add_months(day: dt.date, months: int) -> dt.date:
    """The corresponding day ``months`` later, or that month's last day (民法典 Art. 202)."""
    m = day.month - 1 + months
    year, month = day.year + m // 12, m % 12 + 1
    return dt.date(year, month, min(day.day, _stdlib_calendar.monthrange(year, month)[1]))


def raw_end(start: dt.date, n: int, unit: str, calendar: WorkCalendar) -> dt.date:
    """The last day of an n-unit period after ``start`` before the rest-day roll."""
    if unit == "working_days":
        return calendar.add_working_days(start, n)
    if unit == "calendar_days":
        return start + dt.timedelta(days=n)
    if unit == "months":
        return add_months(start, n)
    raise ValueError(f"unknown unit {unit!r} (working_days, calendar_days or months)")


def period_end(start: dt.date, n: int, unit: str, calendar: WorkCalendar) -> dt.date:
    """The last day of an n-unit period counted from the day after ``start``, rest-day roll included."""
    end = raw_end(start, n, unit, calendar)
    if n > 0 and unit != "working_days":
        end = calendar.next_working_day_on_or_after(end)
    return end


def step_deadline(start: dt.datetime, limit: int, unit: str, calendar: WorkCalendar) -> dt.datetime:
    """The end of a generic period of ``limit`` ``unit`` counted from the day after ``start``.

    For step limits such as "a department may return a case within 2 working days of assignment": the step
    overran if it happened after the returned moment. Same counting rules as :func:`compute_deadline`
    (limit 0: the end of the day of ``start``). Whether the period touched a year without official data
    can be checked with ``calendar.covers(local_date(start), local_date(result) - 1 day)``.
    """
    if limit < 0:
        raise ValueError(f"limit must be >= 0, not {limit}")
    if unit == HOURS:  # calendar time from the moment itself
        return (start + dt.timedelta(hours=limit)).astimezone(SHANGHAI)
    return end_of_day(period_end(local_date(start), limit, unit, calendar))


def paused_step_deadline(
    start: dt.datetime,
    limit: int,
    unit: str,
    calendar: WorkCalendar,
    pauses: tuple[tuple[dt.datetime, dt.datetime], ...],
) -> dt.datetime:
    """:func:`step_deadline` with time not counted: each closed pause ``[paused, resumed)`` shifts the end of
    the period by the days in ``(pause day, resumption day]``, as suspensions shift a case's deadline (for
    hearing time in a 复查/复核, 信访工作条例 Art. 35/36). A pause that starts after the period ended
    does not revive it. For a limit in hours, each pause adds its own length."""
    if unit == HOURS:
        end_at = start + dt.timedelta(hours=limit)
        for paused, resumed in sorted(pauses):
            paused = max(paused, start)
            if paused <= end_at and resumed > paused:
                end_at += resumed - paused
        return end_at.astimezone(SHANGHAI)
    start_day = local_date(start)
    working = unit == "working_days"
    end = raw_end(start_day, limit, unit, calendar)
    for paused, resumed in sorted(pauses):
        s_day, r_day = max(local_date(paused), start_day), local_date(resumed)
        if r_day <= s_day:
            continue
        if s_day > (end if working or limit == 0 else calendar.next_working_day_on_or_after(end)):
            continue
        if working:
            end = calendar.add_working_days(end, calendar.working_days_between(s_day, r_day))
        else:
            end += dt.timedelta(days=(r_day - s_day).days)
    if not working and limit > 0:
        end = calendar.next_working_day_on_or_after(end)
    return end_of_day(end)


def working_days_elapsed(start: dt.datetime, end: dt.datetime, calendar: WorkCalendar) -> float:
    """Working days from ``start`` to ``end``, counted like a period: the working days in
    ``(day of start, day of end]`` (Asia/Shanghai days).

    Same day = 0; received Tuesday and resolved Wednesday = 1; received Friday, resolved Monday = 1 (if
    both are working days). So a case with a working-day limit and no suspensions was resolved on time
    exactly when this is ≤ its limit, and "average working days to resolve" is comparable with limits.
    Returned as a float for aggregation; 0.0 if ``end`` is before ``start`` (bad data must not make
    averages negative).
    """
    n = calendar.working_days_between(local_date(start), local_date(end))
    return float(n) if n > 0 else 0.0


def working_moment_before(due_day: dt.date, remaining: float, calendar: WorkCalendar) -> dt.datetime:
    """The moment at which ``remaining`` working days (working days counting 24 h) are left until the end
    of ``due_day``."""
    whole = math.floor(remaining)
    w = calendar.sub_working_days(due_day, whole)
    return end_of_day(w) - dt.timedelta(days=remaining - whole)
