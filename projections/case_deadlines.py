"""Derive a case's deadline view (due, yellow, step overruns, working days) from its folded facts.

The bridge between the pure case fold (:mod:`projections.case_status`) and the deadline policy
(:mod:`projections.deadlines`): :class:`CaseDeadlines` is the ``DeadlineFn`` the case projection is built
with. Cycles (重办), step limits, extensions beyond the cap and who is charged: docs/deadlines.md.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from typing import Final

from projections.calendar import CalendarGapError, WorkCalendar
from projections.case_cards import Card, CardFacts, CaseKey, cycle_extras
from projections.case_status import NO_DEADLINE, CaseState, DeadlineView
from projections.deadlines import (
    ClockFacts,
    Deadline,
    compute_deadline,
    local_date,
    paused_step_deadline,
    step_deadline,
    working_days_elapsed,
)
from projections.policy import ChannelRule, DeadlinePolicy, StepLimit


class CaseDeadlines:
    """Callable ``CaseState -> DeadlineView`` for one policy and calendar."""

    def __init__(self, policy: DeadlinePolicy, calendar: WorkCalendar, cache_size: int = 0) -> None:
        self.policy = policy
        self.calendar = calendar
        # The view is a pure function of the clock facts, but a case's facts rarely recur once its row is
        # written (0.2 % hits at 100,000 messages, for 7 MB at 10,000 entries): no memo unless asked for.
        # The calendar arithmetic is memoised per day period instead (deadlines._day_period).
        self._derive: Callable[[CaseKey], DeadlineView] = (
            functools.lru_cache(maxsize=cache_size)(self._derive_uncached)
            if cache_size > 0
            else self._derive_uncached
        )

    def __call__(self, s: CaseState) -> DeadlineView:
        if s.received_at is None or s.channel is None:
            return NO_DEADLINE  # the intake has not arrived yet (a late event): nothing to count from
        key = CaseKey.of(s)
        try:
            return self._derive(key)
        except CalendarGapError:
            # A strict calendar (CASETRACK_CALENDAR_STRICT) refuses to estimate: no deadline, flagged.
            return REFUSED

    def cycle_figures(
        self, s: CaseKey, start: dt.datetime | None, ext: slice, resolved: dt.datetime | None
    ) -> tuple[Deadline, float | None]:
        """The deadline of one cycle of ``s`` (``start``: its reopen, None for the first cycle) and the
        working days it took to resolve."""
        facts = self._facts(s, start, ext, resolved)
        d = compute_deadline(facts, self.policy, self.calendar)
        begun = _clock_start(facts, self.policy.rule(s.channel, s.urgency, s.category))
        worked = None
        if resolved is not None and begun is not None:
            worked = working_days_elapsed(begun, resolved, self.calendar)
        return d, worked

    def _facts(
        self, s: CaseKey, start: dt.datetime | None, ext: slice, resolved: dt.datetime | None
    ) -> ClockFacts:
        restarted = s.clock_restarted_at
        if resolved is not None and restarted is not None and restarted > resolved:
            restarted = None  # a 补正 restart of a later cycle is no part of this one
        cycle_limit = None
        if start is not None:
            rule = self.policy.rule(s.channel, s.urgency, s.category)
            cycle_limit = rule.reopen_limit
            if cycle_limit is None:
                cycle_limit = s.time_limit_days if s.time_limit_days is not None else rule.limit
            if restarted is None or restarted < start:
                restarted = start
        return ClockFacts(
            channel=s.channel, urgency=s.urgency, time_limit_days=s.time_limit_days, received_at=s.received_at,
            accepted_at=s.accepted_at, assigned_at=s.first_assigned_at, clock_restarted_at=restarted,
            extensions=s.extensions[ext], suspensions=s.suspensions, resolved_at=resolved, cycle_limit=cycle_limit,
            category=s.category,
        )  # fmt: skip

    def _derive_uncached(self, s: CaseKey) -> DeadlineView:
        rule = self.policy.rule(s.channel, s.urgency, s.category)
        facts = self._facts(s, s.reopened_at, slice(s.ext_from, None), s.resolved_at)
        d = compute_deadline(facts, self.policy, self.calendar)
        start = _clock_start(facts, rule)
        worked = (
            working_days_elapsed(start, s.resolved_at, self.calendar)
            if s.resolved_at is not None and start is not None
            else None
        )
        open_case = s.status not in _FINISHED
        handling, review = _handling_steps(facts, rule), self._review_steps(s, rule)
        steps = [*handling, *review] if review else handling
        cards = self._step_cards(s, rule, steps)
        cycle_from = s.reopened_at
        overrun = bool(cards) and any(
            c.done is not None and (cycle_from is None or c.done >= cycle_from) for c in cards
        )
        # Routing and acceptance are moot once a case is finished; a review is requested after the case was
        # resolved (or closed), so it stays pending until it is decided.
        pending = self._pending(s, steps if open_case else review) if steps else None
        due_at, yellow_at = d.due_at, d.yellow_at
        gap = d.calendar_gap or (pending is not None and not self._official(pending[0]))
        if s.withdrawn_at is not None:  # 视为放弃申请: no deadline left to miss
            due_at = yellow_at = None
            pending = None
        extras = cycle_extras(
            self, s, CardFacts(d, due_at, yellow_at, cards, pending[1] if pending else None, rule)
        )
        return DeadlineView(
            due_at=due_at, yellow_at=yellow_at, limit=d.limit, unit=d.unit, calendar_gap=gap,
            step_overrun=overrun, working_days=worked, suspended_days=d.suspended_days,
            step_due_at=pending[0] if pending else None, extras=extras,
        )  # fmt: skip

    def _official(self, limit: dt.datetime) -> bool:
        day = local_date(limit - _TICK)  # a limit is 24:00 of its last day
        return self.calendar.covers(day, day)

    def _step_cards(self, s: CaseKey, rule: ChannelRule, steps: list[_Step]) -> list[Card]:
        """Every step done late: a red card for the party responsible for it (docs/deadlines.md)."""
        cards: list[Card] = []
        for name in _RETURN_STEPS:
            ret = rule.steps.get(name)
            if ret is None:
                continue
            for i, (assigned, returned) in enumerate(s.returns):
                limit = step_deadline(assigned, ret.limit, ret.unit, self.calendar)
                if returned > limit:
                    dept = s.return_departments[i] if i < len(s.return_departments) else None
                    cards.append(Card(name, "red", dept, limit, returned))
        for name, step, begun, done in steps:
            if done is not None:
                step_limit = self._step_limit(s, name, step, begun, done)
                if step_limit is not None and done > step_limit:
                    cards.append(Card(name, "red", s.office, step_limit, done))
        corr = rule.steps.get("correction_request")
        if corr is not None and s.suspension_kinds:
            notice = next(
                (
                    a
                    for (a, _), k in zip(s.suspensions, s.suspension_kinds, strict=False)
                    if k == "correction"
                ),
                None,
            )
            if notice is not None:
                limit = step_deadline(s.received_at, corr.limit, corr.unit, self.calendar)
                if notice > limit:
                    cards.append(Card("correction_request", "red", s.office, limit, notice))
        return cards

    def _step_limit(
        self, s: CaseKey, name: str, step: StepLimit, begun: dt.datetime, done: dt.datetime | None
    ) -> dt.datetime | None:
        """The limit of one step; for a review, hearing time (``hearing`` suspensions) is not counted. None
        while a hearing is still under way (the review's clock is stopped)."""
        if name not in _REVIEW_STEPS:
            return step_deadline(begun, step.limit, step.unit, self.calendar)
        pauses = []
        for (paused, resumed), kind in zip(s.suspensions, s.suspension_kinds, strict=False):
            if kind != "hearing" or paused < begun or (done is not None and paused >= done):
                continue
            end = resumed if resumed is not None else done
            if end is None:
                return None
            pauses.append((paused, end if done is None or end <= done else done))
        if not pauses:
            return step_deadline(begun, step.limit, step.unit, self.calendar)
        return paused_step_deadline(begun, step.limit, step.unit, self.calendar, tuple(pauses))

    def _review_steps(self, s: CaseKey, rule: ChannelRule) -> list[_Step]:
        # Each 复查/复核 counts from its own request, however many there were; a late one stays an overrun.
        return [
            (lv, rule.steps[lv], requested, decided)
            for lv, requested, decided in s.reviews
            if lv in rule.steps
        ]

    def _pending(self, s: CaseKey, steps: list[_Step]) -> tuple[dt.datetime, str] | None:
        """The earliest limit of the ``steps`` not done yet, and that step's name (a review whose hearing is
        under way has its clock stopped: no limit)."""
        best: tuple[dt.datetime, str] | None = None
        for name, step, begun, done in steps:
            if done is None:
                limit = self._step_limit(s, name, step, begun, None)
                if limit is not None and (best is None or limit < best[0]):
                    best = (limit, name)
        return best


_TICK: Final = dt.timedelta(microseconds=1)
#: what a strict calendar gives where it would have to estimate: no deadline, and the flag
REFUSED: Final = NO_DEADLINE._replace(calendar_gap=True)

_Step = tuple[str, StepLimit, dt.datetime, dt.datetime | None]  # (name, limit, start, done or None)

# The steps that bound how long a department may take to hand a case back; each return is checked.
_RETURN_STEPS: Final = ("return", "misroute_objection")
_REVIEW_STEPS: Final = frozenset({"review", "re_review"})
# A case in these states has no routing or acceptance pending.
_FINISHED: Final = frozenset({"resolved", "rejected", "closed", "merged"})


def _handling_steps(f: ClockFacts, rule: ChannelRule) -> list[_Step]:
    """Routing and acceptance, where limited and started: (name, limit, start, when it was done or None)."""
    out = []
    for name, done in (("route", f.assigned_at), ("accept", f.accepted_at)):
        step = rule.steps.get(name)
        if step is not None:
            start = f.moment(step.starts_at)  # reviews count from their own request: _review_steps
            if start is not None:
                out.append((name, step, start, done))
    return out


def _clock_start(s: ClockFacts, rule: ChannelRule) -> dt.datetime | None:
    start = s.moment(rule.clock_start)
    if start is None:
        start = s.received_at
    if s.clock_restarted_at is not None and start is not None and s.clock_restarted_at > start:
        start = s.clock_restarted_at
    return start
