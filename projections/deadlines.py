"""Deadlines and early-warning moments of a case, from its clock facts, the policy and the calendar.

Pure functions; no I/O. The rules (domain.md, 民法典 Arts. 201–203 applied by analogy):

* **Days are local days in Asia/Shanghai** (UTC+8; China has had no daylight saving time since 1991, so a
  fixed offset is exact and needs no tz database). Inputs must be aware datetimes.
* **A period counts from the day after its trigger.** A 5-working-day limit for a case received on Tuesday
  counts Wednesday as day 1. The trigger is the policy's ``clock_start`` event (receipt, acceptance or
  first assignment); until it has happened the case has no deadline (``due_at is None``).
* **Units.** ``working_days``: the n-th working day after the trigger day, on the official calendar.
  ``calendar_days``: trigger day + n. ``months``: the same day-of-month n months later, or the month's last
  day if it has none (Art. 202). A calendar-day or month period whose last day is a rest day ends on the
  next working day (Art. 203).
* **The deadline is the end of the last day**: ``due_at`` = 00:00 Asia/Shanghai of the following day. A case
  resolved at or before ``due_at`` is on time.
* **Limit 0** (an on-the-spot 即办件): due at the end of the trigger day itself, even on a rest day (the
  counter was open that day), and there is no yellow phase (``yellow_at == due_at``).
* **补正 restart**: ``clock_restarted_at`` (the latest ``case.resumed`` with ``restart_clock``) replaces the
  trigger if it is later; the period counts again from the day after it. Suspensions that ended by then
  no longer matter.
* **Extensions** add to the limit when they are in the deadline's unit (``unit=None`` means that unit), at
  most the rule's ``max_extension`` in all (domain.md: an extension beyond the cap moves the deadline by
  at most the cap); the excess is returned as ``extension_excess``, which the case row flags and scores as
  a violation. An extension in another unit is appended after the (rolled) end of the period so far
  (not capped: the cap is in the rule's unit).
* **重办 cycles**: ``cycle_limit`` (with ``clock_restarted_at`` = the reopen) gives a reopened case its own
  period, counted from the day after the reopen; only the cycle's own extensions are passed in.
* **Suspensions** do not count. A closed suspension ``[suspended, resumed)`` shifts the end of the period
  by the days in ``(suspension day, resumption day]``: the day the case was suspended still counts, the day
  it resumes does not (the clock runs again from the next day, as for any trigger). For working-day
  periods these are working days; for calendar-day and month periods, calendar days (then the rest-day
  roll applies to the shifted end). A suspension that starts after the period already ended (an overdue
  case) does not revive it, and one that starts after resolution is ignored. While a suspension is open
  the clock is stopped and ``due_at``/``yellow_at`` are ``None``, unless the case was resolved during
  it, in which case the suspension is taken to end at resolution.
* **Yellow** (near the deadline): the policy threshold is "remaining ≤ ``fraction`` × limit (extensions in
  the unit included) **or** ≤ ``working_days`` working days". Remaining time is measured on the real clock
  (working-day periods: working time, each working day counting 24 h and rest days 0; calendar-day and
  month periods: calendar time; the working-day leg always in working time). The working-day leg only
  applies when the limit is longer than it, or every 1-working-day case would be yellow from birth.
  ``yellow_at`` is the start (00:00) of the local day on which the threshold is first reached, never
  earlier than the clock-start moment and never later than ``due_at``. Yellow is computed from the final
  deadline, so a case suspended while already yellow shows yellow again only near the shifted end.
* **calendar_gap**: the computation used a day in a year without official calendar data (see
  :class:`projections.calendar.WorkCalendar`); the deadline is then an estimate and must be flagged.
"""

from __future__ import annotations

import calendar as _stdlib_calendar
import datetime as dt
import math
from dataclasses import dataclass
from typing import Final

from projections.calendar import WorkCalendar
from projections.policy import DeadlinePolicy

__all__ = [
    "SHANGHAI",
    "ClockFacts",
    "Deadline",
    "compute_deadline",
    "end_of_day",
    "local_date",
    "paused_step_deadline",
    "step_deadline",
    "working_days_elapsed",
]

SHANGHAI: Final = dt.timezone(dt.timedelta(hours=8), "Asia/Shanghai")
_ONE_DAY: Final = dt.timedelta(days=1)
_MIDNIGHT: Final = dt.time(0, 0, tzinfo=SHANGHAI)
_UNITS: Final = frozenset({"working_days", "calendar_days", "months"})


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


def local_date(moment: dt.datetime) -> dt.date:
    """The Asia/Shanghai calendar day of an aware datetime."""
    if moment.tzinfo is None:
        raise ValueError(f"naive datetime {moment.isoformat()}: deadlines need aware datetimes")
    return moment.astimezone(SHANGHAI).date()


def end_of_day(day: dt.date) -> dt.datetime:
    """24:00 Asia/Shanghai of ``day`` (= 00:00 of the next day)."""
    return dt.datetime.combine(day + _ONE_DAY, _MIDNIGHT)


def add_months(day: dt.date, months: int) -> dt.date:
    """The corresponding day ``months`` later, or that month's last day (民法典 Art. 202)."""
    m = day.month - 1 + months
    year, month = day.year + m // 12, m % 12 + 1
    return dt.date(year, month, min(day.day, _stdlib_calendar.monthrange(year, month)[1]))


def _raw_end(start: dt.date, n: int, unit: str, calendar: WorkCalendar) -> dt.date:
    """The last day of an n-unit period after ``start`` before the rest-day roll."""
    if unit == "working_days":
        return calendar.add_working_days(start, n)
    if unit == "calendar_days":
        return start + dt.timedelta(days=n)
    if unit == "months":
        return add_months(start, n)
    raise ValueError(f"unknown unit {unit!r} (working_days, calendar_days or months)")


def _period_end(start: dt.date, n: int, unit: str, calendar: WorkCalendar) -> dt.date:
    """The last day of an n-unit period counted from the day after ``start``, rest-day roll included."""
    end = _raw_end(start, n, unit, calendar)
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
    return end_of_day(_period_end(local_date(start), limit, unit, calendar))


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
    does not revive it."""
    start_day = local_date(start)
    working = unit == "working_days"
    end = _raw_end(start_day, limit, unit, calendar)
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


def _working_moment_before(due_day: dt.date, remaining: float, calendar: WorkCalendar) -> dt.datetime:
    """The moment at which ``remaining`` working days (working days counting 24 h) are left until the end
    of ``due_day``."""
    whole = math.floor(remaining)
    w = calendar.sub_working_days(due_day, whole)
    return end_of_day(w) - dt.timedelta(days=remaining - whole)


def compute_deadline(facts: ClockFacts, policy: DeadlinePolicy, calendar: WorkCalendar) -> Deadline:
    """The deadline and the yellow-warning moment of a case (rules in the module docstring).

    Raises ``KeyError`` for a channel/urgency without a policy rule, ``ValueError`` for naive datetimes or
    an unknown extension unit, and :class:`projections.calendar.CalendarGapError` if the calendar is
    strict and the period touches a year without official data.
    """
    rule = policy.rule(facts.channel, facts.urgency)
    if facts.cycle_limit is not None:
        limit, unit = facts.cycle_limit, ("working_days" if facts.time_limit_days is not None else rule.unit)
    elif facts.time_limit_days is not None:
        limit, unit = facts.time_limit_days, "working_days"
    else:
        limit, unit = rule.limit, rule.unit

    # Extensions: same unit -> add to the limit, at most max_extension in all; other units -> chained
    # after the period.
    chained: list[tuple[int, str]] = []
    requested = 0
    for extra, ext_unit in facts.extensions:
        if ext_unit is None or ext_unit == unit:
            requested += extra
        elif ext_unit in _UNITS:
            chained.append((extra, ext_unit))
        else:
            raise ValueError(f"unknown extension unit {ext_unit!r}")
    excess = max(0, requested - rule.max_extension)
    limit += requested - excess

    trigger = facts.moment(rule.clock_start)
    if trigger is None:
        return Deadline(None, None, limit, unit, False, 0, requested, excess)
    restarted = facts.clock_restarted_at
    if restarted is not None and restarted > trigger:
        trigger = restarted
    start_day = local_date(trigger)

    # The end of the period (before the rest-day roll for calendar units).
    working = unit == "working_days"
    end = _raw_end(start_day, limit, unit, calendar)
    for extra, ext_unit in chained:
        rolled = end if working or limit == 0 else calendar.next_working_day_on_or_after(end)
        end = _period_end(rolled, extra, ext_unit, calendar)
    latest_touched = end

    # Suspensions shift the end.
    suspended = 0
    resolved_at = facts.resolved_at
    for s, r in sorted(facts.suspensions, key=lambda iv: iv[0]):
        if resolved_at is not None and s >= resolved_at:
            continue
        if r is None:
            if resolved_at is None:
                return Deadline(None, None, limit, unit, False, suspended, requested, excess)
            r = resolved_at
        if r <= trigger:
            continue
        s_day = max(local_date(s), start_day)
        r_day = local_date(r)
        if r_day <= s_day:
            continue
        due_now = end if working or limit == 0 else calendar.next_working_day_on_or_after(end)
        if s_day > due_now:
            continue  # suspended after the period had already ended: no revival
        if working:
            span = calendar.working_days_between(s_day, r_day)
            end = calendar.add_working_days(end, span)
        else:
            span = (r_day - s_day).days
            end += dt.timedelta(days=span)
        suspended += span
        if r_day > latest_touched:
            latest_touched = r_day

    no_roll = working or (limit == 0 and not chained and suspended == 0)
    due_day = end if no_roll else calendar.next_working_day_on_or_after(end)
    due_at = end_of_day(due_day)
    if due_day > latest_touched:
        latest_touched = due_day
    gap = not calendar.covers(start_day + _ONE_DAY, latest_touched)

    # Yellow.
    if limit == 0 and not chained:
        return Deadline(due_at, due_at, limit, unit, gap, suspended, requested, excess)
    warning = rule.warning
    if working:
        # Both legs are in working time: the larger threshold is reached first.
        k = warning.fraction * limit
        if warning.working_days < limit and warning.working_days > k:
            k = warning.working_days
        yellow = _working_moment_before(due_day, k, calendar)
    else:
        if unit == "months":
            nominal_days = (add_months(start_day, limit) - start_day).days
        else:
            nominal_days = limit
        yellow = due_at - dt.timedelta(days=warning.fraction * nominal_days)
        if 0 < warning.working_days < nominal_days:
            by_working_days = _working_moment_before(due_day, warning.working_days, calendar)
            if by_working_days < yellow:
                yellow = by_working_days
    yellow_local = yellow.astimezone(SHANGHAI)
    yellow = dt.datetime.combine(yellow_local.date(), _MIDNIGHT)  # start of that day
    if yellow < trigger:
        yellow = trigger.astimezone(SHANGHAI)
    if yellow > due_at:
        yellow = due_at
    return Deadline(due_at, yellow, limit, unit, gap, suspended, requested, excess)
