"""Derive a case's deadline view (due, yellow, step overruns, working days) from its folded facts.

This is the bridge between the pure case fold (:mod:`projections.case_status`) and the deadline policy
(:mod:`projections.deadlines`): :class:`CaseDeadlines` is the ``DeadlineFn`` the case projection is built
with. Step limits are counted from the moment their ``starts_at`` names and checked two ways:

* a step that was done late is a **step overrun** (``step_overrun``, red for good): 退单 (``return`` or
  ``misroute_objection``, from each assignment to its return), routing (``route``, to the first
  assignment), acceptance (``accept``) and the petition reviews (``review`` 复查 / ``re_review`` 复核,
  from the request to the decision);
* a step still pending gives ``step_due_at``, the earliest of their limits (routing and acceptance on an
  open case; a requested review until it is decided, even on a resolved or closed case); the
  ``case_status`` view turns the case red once the wall clock passes it, with no event needed.

Steps of other names (``correction_request``) are descriptive: the fold has no fact that says when a 补正
request was sent, so they are not checked (docs/deadlines.md says so).
"""

from __future__ import annotations

import datetime as dt
import functools
from typing import Final

from projections.calendar import WorkCalendar
from projections.case_status import NO_DEADLINE, CaseState, DeadlineView
from projections.deadlines import ClockFacts, compute_deadline, step_deadline, working_days_elapsed
from projections.policy import ChannelRule, DeadlinePolicy, StepLimit


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
        return self._derive(facts, s.returns, s.reviews, s.status not in _FINISHED)

    def _derive_uncached(
        self,
        facts: ClockFacts,
        returns: tuple[tuple[dt.datetime, dt.datetime], ...],
        reviews: Reviews,
        open_case: bool,
    ) -> DeadlineView:
        d = compute_deadline(facts, self.policy, self.calendar)
        rule = self.policy.rule(facts.channel, facts.urgency)
        start = _clock_start(facts, rule)
        worked = (
            working_days_elapsed(start, facts.resolved_at, self.calendar)
            if facts.resolved_at is not None and start is not None
            else None
        )
        handling, review = _handling_steps(facts, rule), _review_steps(reviews, rule)
        return DeadlineView(
            due_at=d.due_at,
            yellow_at=d.yellow_at,
            limit=d.limit,
            unit=d.unit,
            calendar_gap=d.calendar_gap,
            step_overrun=self._step_overrun(returns, [*handling, *review], rule),
            working_days=worked,
            suspended_days=d.suspended_days,
            # Routing and acceptance are moot once a case is finished; a review is requested after the case
            # was resolved (or closed), so it stays pending until it is decided.
            step_due_at=self._pending_due([*handling, *review] if open_case else review),
        )

    def _step_overrun(
        self, returns: tuple[tuple[dt.datetime, dt.datetime], ...], steps: list[_Step], rule: ChannelRule
    ) -> bool:
        for name in _RETURN_STEPS:
            ret = rule.steps.get(name)
            if ret is not None:
                for assigned, returned in returns:
                    if returned > step_deadline(assigned, ret.limit, ret.unit, self.calendar):
                        return True
        for step, start, done in steps:
            if done is not None and done > step_deadline(start, step.limit, step.unit, self.calendar):
                return True
        return False

    def _pending_due(self, steps: list[_Step]) -> dt.datetime | None:
        """The earliest limit of the ``steps`` not done yet."""
        dues = [
            step_deadline(start, step.limit, step.unit, self.calendar)
            for step, start, done in steps
            if done is None
        ]
        return min(dues, default=None)


Reviews = tuple[tuple[str, dt.datetime, dt.datetime | None], ...]
_Step = tuple[StepLimit, dt.datetime, dt.datetime | None]

# The steps that bound how long a department may take to hand a case back; each return is checked.
_RETURN_STEPS: Final = ("return", "misroute_objection")
# A case in these states has no routing or acceptance pending.
_FINISHED: Final = frozenset({"resolved", "rejected", "closed", "merged"})


def _handling_steps(f: ClockFacts, rule: ChannelRule) -> list[_Step]:
    """Routing and acceptance, where limited and started: (limit, start, when it was done or None)."""
    out = []
    for name, done in (("route", f.assigned_at), ("accept", f.accepted_at)):
        step = rule.steps.get(name)
        if step is not None:
            start = f.moment(step.starts_at)  # reviews count from their own request: _review_steps
            if start is not None:
                out.append((step, start, done))
    return out


def _review_steps(reviews: Reviews, rule: ChannelRule) -> list[_Step]:
    # Each 复查/复核 counts from its own request, however many there were; a late one stays an overrun.
    return [(rule.steps[lv], requested, decided) for lv, requested, decided in reviews if lv in rule.steps]


def _clock_start(s: ClockFacts, rule: ChannelRule) -> dt.datetime | None:
    start = s.moment(rule.clock_start)
    if start is None:
        start = s.received_at
    if s.clock_restarted_at is not None and start is not None and s.clock_restarted_at > start:
        start = s.clock_restarted_at
    return start
