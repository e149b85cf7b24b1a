"""Derive a case's deadline view (due, yellow, step overruns, working days) from its folded facts.

This is the bridge between the pure case fold (:mod:`projections.case_status`) and the deadline policy
(:mod:`projections.deadlines`): :class:`CaseDeadlines` is the ``DeadlineFn`` the case projection is built
with. Step limits checked here are the completed steps the fold records: 退单 (``return``, from each
assignment to its return), routing (``route``, receipt to first assignment) and acceptance (``accept``,
receipt to acceptance). An overrun of any of them makes the case red, as electronic supervision does.
"""

from __future__ import annotations

import datetime as dt
import functools

from projections.calendar import WorkCalendar
from projections.case_status import NO_DEADLINE, CaseState, DeadlineView
from projections.deadlines import ClockFacts, compute_deadline, step_deadline, working_days_elapsed
from projections.policy import ChannelRule, DeadlinePolicy


class CaseDeadlines:
    """Callable ``CaseState -> DeadlineView`` for one policy and calendar."""

    def __init__(self, policy: DeadlinePolicy, calendar: WorkCalendar, cache_size: int = 10_000) -> None:
        self.policy = policy
        self.calendar = calendar
        # Most events (follow-ups, closing, reviews, merges) leave a case's clock facts unchanged, and the
        # view is a pure function of them, so a bounded memo saves most of the calendar arithmetic.
        self._derive = functools.lru_cache(maxsize=cache_size)(self._derive_uncached)

    def __call__(self, s: CaseState) -> DeadlineView:
        if s.received_at is None or s.channel is None:
            return NO_DEADLINE  # the intake has not arrived yet (a late event): nothing to count from
        facts = ClockFacts(
            channel=s.channel,
            urgency=s.urgency,
            time_limit_days=s.time_limit_days,
            received_at=s.received_at,
            accepted_at=s.accepted_at,
            assigned_at=s.first_assigned_at,
            clock_restarted_at=s.clock_restarted_at,
            extensions=s.extensions,
            suspensions=s.suspensions,
            resolved_at=s.resolved_at,
        )
        return self._derive(facts, s.returns)

    def _derive_uncached(
        self, facts: ClockFacts, returns: tuple[tuple[dt.datetime, dt.datetime], ...]
    ) -> DeadlineView:
        d = compute_deadline(facts, self.policy, self.calendar)
        rule = self.policy.rule(facts.channel, facts.urgency)
        start = _clock_start(facts, rule)
        worked = (
            working_days_elapsed(start, facts.resolved_at, self.calendar)
            if facts.resolved_at is not None and start is not None
            else None
        )
        return DeadlineView(
            due_at=d.due_at,
            yellow_at=d.yellow_at,
            limit=d.limit,
            unit=d.unit,
            calendar_gap=d.calendar_gap,
            step_overrun=self._step_overrun(facts, returns, rule),
            working_days=worked,
            suspended_days=d.suspended_days,
        )

    def _step_overrun(
        self, f: ClockFacts, returns: tuple[tuple[dt.datetime, dt.datetime], ...], rule: ChannelRule
    ) -> bool:
        steps = rule.steps
        ret = steps.get("return")
        if ret is not None:
            for assigned, returned in returns:
                if returned > step_deadline(assigned, ret.limit, ret.unit, self.calendar):
                    return True
        for name, done in (("route", f.assigned_at), ("accept", f.accepted_at)):
            step = steps.get(name)
            if step is not None and done is not None:
                if done > step_deadline(f.received_at, step.limit, step.unit, self.calendar):
                    return True
        return False


def _clock_start(s: ClockFacts, rule: ChannelRule) -> dt.datetime | None:
    start = {"received": s.received_at, "accepted": s.accepted_at, "assigned": s.assigned_at}[
        rule.clock_start
    ]
    if start is None:
        start = s.received_at
    if s.clock_restarted_at is not None and start is not None and s.clock_restarted_at > start:
        start = s.clock_restarted_at
    return start
