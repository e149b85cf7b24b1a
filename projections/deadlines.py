"""Deadlines and early-warning moments of a case, from its clock facts, the policy and the calendar.

Pure functions, no I/O. A period counts from the day after its trigger (民法典 Arts. 201-203), ends at 24:00
Asia/Shanghai of its last day, and an hour limit runs in calendar time from the trigger moment. The rules,
with examples: docs/deadlines.md ("How a period is counted", "Limits in hours", "Early warning").
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from dataclasses import dataclass
from typing import Final

from projections.calendar import WorkCalendar
from projections.day_count import (
    HOURS,
    SHANGHAI,
    add_months,
    end_of_day,
    local_date,
    paused_step_deadline,
    period_end,
    raw_end,
    step_deadline,
    working_days_elapsed,
    working_moment_before,
)
from projections.day_count import MIDNIGHT as _MIDNIGHT
from projections.day_count import ONE_DAY as _ONE_DAY
from projections.policy import ChannelRule, DeadlinePolicy

__all__ = [
    "HOURS",
    "SHANGHAI",
    "ClockFacts",
    "Deadline",
    "add_months",
    "compute_deadline",
    "end_of_day",
    "local_date",
    "paused_step_deadline",
    "step_deadline",
    "working_days_elapsed",
]

_UNITS: Final = frozenset({"working_days", "calendar_days", "months", HOURS})
_TICK: Final = dt.timedelta(microseconds=1)


@dataclass(frozen=True, slots=True)
class ClockFacts:
    """The facts of one case that its deadline depends on (folded from its events)."""

    channel: str
    urgency: str  # "urgent" | "normal"
    time_limit_days: (
        int | None
    )  # from case.received; overrides the policy limit (working days); 0 = on the spot
    received_at: dt.datetime  # aware datetimes everywhere
    accepted_at: dt.datetime | None
    assigned_at: dt.datetime | None  # first assignment
    clock_restarted_at: dt.datetime | None  # latest case.resumed with restart_clock=True (补正)
    extensions: tuple[tuple[int, str | None], ...]  # (extra, unit or None = the deadline's unit)
    suspensions: tuple[tuple[dt.datetime, dt.datetime | None], ...]  # [suspended, resumed); last may be open
    resolved_at: dt.datetime | None
    # A 重办 cycle: its own period in the rule's unit, counted from ``clock_restarted_at`` (the reopen)
    cycle_limit: int | None = None
    category: str | None = None  # case.received category: the policy may set a limit per category

    def moment(self, name: str) -> dt.datetime | None:
        """The moment a clock or step start names (``received``, ``accepted``, ``assigned``: the first
        assignment); None before it happened, and for ``requested``, which is a review's own request."""
        if name == "received":
            return self.received_at
        if name == "accepted":
            return self.accepted_at
        if name == "assigned":
            return self.assigned_at
        return None


@dataclass(frozen=True, slots=True)
class Deadline:
    """The derived deadline. ``due_at``/``yellow_at`` are aware datetimes in Asia/Shanghai."""

    due_at: dt.datetime | None  # end of the last day; None: clock not started, or stopped (open suspension)
    yellow_at: dt.datetime | None  # start of the day the case turns yellow; == due_at: no yellow phase
    limit: int  # in `unit`, including the extensions granted in that unit
    unit: str
    calendar_gap: bool  # the computation touched a year without official calendar data
    suspended_days: int = 0  # days the suspensions shifted the end by (working days for working-day periods)
    extension_requested: int = 0  # extensions recorded in the deadline's unit
    extension_excess: int = 0  # the part beyond the rule's max_extension: not counted (a violation)


def compute_deadline(facts: ClockFacts, policy: DeadlinePolicy, calendar: WorkCalendar) -> Deadline:
    """The deadline and the yellow-warning moment of a case (rules: docs/deadlines.md).

    Raises ``KeyError`` for an urgency without a policy rule, ``ValueError`` for naive datetimes or an
    unknown extension unit, and :class:`projections.calendar.CalendarGapError` if the calendar is strict
    and the period touches a year without official data.
    """
    rule = policy.rule(facts.channel, facts.urgency, facts.category)
    limit, unit = _limit_and_unit(facts, rule)
    requested, excess, chained = _extensions(facts.extensions, unit, rule.max_extension)
    limit += requested - excess
    trigger = facts.moment(rule.clock_start)
    if trigger is None:
        return Deadline(None, None, limit, unit, False, 0, requested, excess)
    restarted = facts.clock_restarted_at
    if restarted is not None and restarted > trigger:
        trigger = restarted
    period = _Period(limit, unit, trigger, requested, excess, tuple(chained))
    if unit == HOURS:
        return _hours_deadline(period, facts, rule, calendar)
    return _day_deadline(period, facts, rule, calendar)


@dataclass(frozen=True, slots=True)
class _Period:
    """A case's period once its limit, unit, extensions and trigger are known."""

    limit: int
    unit: str
    trigger: dt.datetime
    requested: int
    excess: int
    chained: tuple[tuple[int, str], ...]  # extensions in another unit, appended after the period

    def deadline(
        self, due_at: dt.datetime | None, yellow_at: dt.datetime | None, gap: bool, shift: int
    ) -> Deadline:
        return Deadline(due_at, yellow_at, self.limit, self.unit, gap, shift, self.requested, self.excess)


def _limit_and_unit(facts: ClockFacts, rule: ChannelRule) -> tuple[int, str]:
    """The cycle's limit and unit: a 重办 cycle's own, a promise (working days), else the rule's."""
    if facts.cycle_limit is not None:
        return facts.cycle_limit, ("working_days" if facts.time_limit_days is not None else rule.unit)
    if facts.time_limit_days is not None:
        return facts.time_limit_days, "working_days"
    return rule.limit, rule.unit


def _extensions(
    extensions: tuple[tuple[int, str | None], ...], unit: str, cap: int
) -> tuple[int, int, list[tuple[int, str]]]:
    """(requested in ``unit``, the excess over ``cap``, the extensions in other units to chain after)."""
    chained: list[tuple[int, str]] = []
    requested = 0
    for extra, ext_unit in extensions:
        if ext_unit is None or ext_unit == unit:
            requested += extra
        elif ext_unit in _UNITS:
            chained.append((extra, ext_unit))
        else:
            raise ValueError(f"unknown extension unit {ext_unit!r}")
    return requested, max(0, requested - cap), chained


def _live_suspensions(
    facts: ClockFacts, trigger: dt.datetime
) -> tuple[list[tuple[dt.datetime, dt.datetime]], bool]:
    """The suspensions that may shift the period, closed (one open at resolution ends there), in order,
    and whether the clock is stopped: a suspension still open on an unresolved case (the spans before it
    are returned)."""
    out: list[tuple[dt.datetime, dt.datetime]] = []
    resolved_at = facts.resolved_at
    for s, r in sorted(facts.suspensions, key=lambda iv: iv[0]):
        if resolved_at is not None and s >= resolved_at:
            continue
        if r is None:
            if resolved_at is None:
                return out, True
            r = resolved_at
        if r > trigger:
            out.append((s, r))
    return out, False


def _day_deadline(p: _Period, facts: ClockFacts, rule: ChannelRule, calendar: WorkCalendar) -> Deadline:
    """A period in working days, calendar days or months, ending at 24:00 of its last day."""
    start_day = local_date(p.trigger)
    spans, stopped = _live_suspensions(facts, p.trigger)
    days = tuple((max(local_date(s), start_day), local_date(r)) for s, r in spans)
    w = rule.warning
    due_at, yellow, gap, suspended = _day_period(
        start_day, p.limit, p.unit, p.chained, days, stopped, w.fraction, w.working_days, calendar
    )
    if due_at is None or yellow is None:  # stopped, or a limit of 0 (no yellow phase)
        return p.deadline(due_at, due_at, gap, suspended)
    return p.deadline(due_at, min(max(yellow, p.trigger.astimezone(SHANGHAI)), due_at), gap, suspended)


@functools.lru_cache(maxsize=16_384)
def _day_period(
    start_day: dt.date,
    limit: int,
    unit: str,
    chained: tuple[tuple[int, str], ...],
    spans: tuple[tuple[dt.date, dt.date], ...],
    stopped: bool,
    fraction: float,
    warning_days: int,
    calendar: WorkCalendar,
) -> tuple[dt.datetime | None, dt.datetime | None, bool, int]:
    """The day-level part of :func:`_day_deadline`: (due_at, the yellow moment before clamping to the period,
    or None for a limit of 0, the calendar gap, the days suspended). Only days go in, and many cases share
    them (the same intake day, limit and rule), so it is memoised."""
    working = unit == "working_days"
    end = raw_end(start_day, limit, unit, calendar)
    hours_after = 0  # hour extensions of a day period: added to its end
    day_chained = False
    for extra, ext_unit in chained:
        if ext_unit == HOURS:
            hours_after += extra
            continue
        rolled = end if working or limit == 0 else calendar.next_working_day_on_or_after(end)
        end = period_end(rolled, extra, ext_unit, calendar)
        day_chained = True
    end, suspended, latest_touched = _shift_days(spans, end, working, calendar, working or limit == 0)
    if stopped:
        return None, None, False, suspended
    no_roll = working or (limit == 0 and not day_chained and suspended == 0)
    due_day = end if no_roll else calendar.next_working_day_on_or_after(end)
    due_at = end_of_day(due_day) + dt.timedelta(hours=hours_after)
    gap = not calendar.covers(start_day + _ONE_DAY, max(due_day, latest_touched))
    if limit == 0 and not day_chained:
        return due_at, None, gap, suspended
    return (
        due_at,
        _day_yellow(limit, unit, due_day, start_day, fraction, warning_days, calendar),
        gap,
        suspended,
    )


def _shift_days(
    spans: tuple[tuple[dt.date, dt.date], ...],
    end: dt.date,
    working: bool,
    calendar: WorkCalendar,
    no_roll: bool,
) -> tuple[dt.date, int, dt.date]:
    """The end shifted by the suspensions, given as (suspension day, resumption day), neither before the
    start day (the days in (suspension day, resumption day]: working days for a working-day period), the days
    shifted, and the latest day touched. A suspension that starts after the period ended revives nothing."""
    suspended, latest_touched = 0, end
    for s_day, r_day in spans:
        if r_day <= s_day:
            continue
        if s_day > (end if no_roll else calendar.next_working_day_on_or_after(end)):
            continue  # suspended after the period had already ended: no revival
        if working:
            span = calendar.working_days_between(s_day, r_day)
            end = calendar.add_working_days(end, span)
        else:
            span = (r_day - s_day).days
            end += dt.timedelta(days=span)
        suspended += span
        latest_touched = max(latest_touched, r_day)
    return end, suspended, latest_touched


def _day_yellow(
    limit: int,
    unit: str,
    due_day: dt.date,
    start_day: dt.date,
    fraction: float,
    warning_days: int,
    calendar: WorkCalendar,
) -> dt.datetime:
    """00:00 of the day the remaining time first reaches the threshold (before clamping to the period)."""
    if unit == "working_days":
        # Both legs are in working time: the larger threshold is reached first.
        k = fraction * limit
        if warning_days < limit and warning_days > k:
            k = warning_days
        yellow = working_moment_before(due_day, k, calendar)
    else:
        if unit == "months":
            nominal_days = (add_months(start_day, limit) - start_day).days
        else:
            nominal_days = limit
        yellow = end_of_day(due_day) - dt.timedelta(days=fraction * nominal_days)
        if 0 < warning_days < nominal_days:
            by_working_days = working_moment_before(due_day, warning_days, calendar)
            if by_working_days < yellow:
                yellow = by_working_days
    return dt.datetime.combine(yellow.astimezone(SHANGHAI).date(), _MIDNIGHT)  # start of that day


def _hours_deadline(p: _Period, facts: ClockFacts, rule: ChannelRule, calendar: WorkCalendar) -> Deadline:
    """A limit in hours: calendar time from the trigger moment (holidays and nights count), each suspension
    adding its length; yellow when ``fraction`` of the limit is left (the working-day leg does not apply)."""
    due = p.trigger + dt.timedelta(hours=p.limit)
    spans, stopped = _live_suspensions(facts, p.trigger)
    shifted = dt.timedelta(0)
    for s, r in spans:
        s = max(s, p.trigger)
        if s > due or r <= s:
            continue  # suspended after the period had already ended: no revival
        shifted += r - s
        due += r - s
    if stopped:
        return p.deadline(None, None, False, math.ceil(shifted / dt.timedelta(hours=1)))
    gap = False
    for extra, ext_unit in p.chained:  # an extension in days: counted from the day the hours ran out
        end = period_end(local_date(due - _TICK), extra, ext_unit, calendar)
        gap = gap or not calendar.covers(local_date(due - _TICK), end)
        due = end_of_day(end)
    due = due.astimezone(SHANGHAI)
    yellow = due - dt.timedelta(hours=rule.warning.fraction * p.limit)
    yellow = min(max(yellow, p.trigger.astimezone(SHANGHAI)), due)
    return p.deadline(due, yellow, gap, math.ceil(shifted / dt.timedelta(hours=1)))
