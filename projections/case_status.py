"""The case fold behind ``case_status``: a pure ``apply(state, event) -> state`` over a case's events.

The fold records facts (timestamps, counts, suspensions, extensions); deadlines and warnings are derived
from those facts when the row is written (:meth:`CaseStatusProjection.row`), through an injected deadline
function, so the fold itself needs no calendar.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final, NamedTuple

from events import data as d
from events.catalog import Aggregate, Event
from projections.base import JsonState, counted, from_fields, state_fields


@dataclass(frozen=True, slots=True)
class CaseState:
    """Everything known about one case after folding its events in (time, id) order."""

    case_id: str
    status: str | None = None  # None until the first event
    status_before_suspension: str | None = None
    channel: str | None = None
    category: str | None = None
    region: str | None = None
    urgency: str = "normal"
    time_limit_days: int | None = None
    department: str | None = None
    received_at: dt.datetime | None = None
    accepted_at: dt.datetime | None = None
    first_assigned_at: dt.datetime | None = None
    assigned_at: dt.datetime | None = None
    resolved_at: dt.datetime | None = None
    closed_at: dt.datetime | None = None
    outcome: str | None = None
    satisfaction: str | None = None
    followed_up: bool = False
    reopen_count: int = 0
    return_count: int = 0
    extensions: tuple[tuple[int, str | None], ...] = ()
    suspensions: tuple[tuple[dt.datetime, dt.datetime | None], ...] = ()
    clock_restarted_at: dt.datetime | None = None
    returns: tuple[tuple[dt.datetime, dt.datetime], ...] = ()  # (assigned_at, returned_at) per 退单
    merged_into: str | None = None
    review_level: str | None = None
    review_decision: str | None = None
    # every 复查/复核 in request order: (level, requested_at, decided_at or None while pending)
    reviews: tuple[tuple[str, dt.datetime, dt.datetime | None], ...] = ()
    petitioner_pseudonym: str | None = None
    event_count: int = 0
    last_event_at: dt.datetime | None = None


class DeadlineView(NamedTuple):
    """What the deadline policy derives from a case's facts (see :mod:`projections.deadlines`)."""

    due_at: dt.datetime | None
    yellow_at: dt.datetime | None
    limit: int | None
    unit: str | None
    calendar_gap: bool
    step_overrun: bool
    working_days: float | None
    suspended_days: int
    step_due_at: dt.datetime | None = None  # earliest limit of a step still pending (red once it passes)


NO_DEADLINE: Final = DeadlineView(None, None, None, None, False, False, None, 0, None)
DeadlineFn = Callable[[CaseState], DeadlineView]

# Event type -> the status the case takes. Types absent here leave the status unchanged.
_STATUS: Final = {
    "case.received": "received",
    "case.accepted": "accepted",
    "case.rejected": "rejected",
    "case.assigned": "assigned",
    "case.returned": "returned",
    "case.suspended": "suspended",
    "case.resolved": "resolved",
    "case.reopened": "reopened",
    "case.closed": "closed",
    "case.merged": "merged",
}


def _step(s: dict[str, Any], event: Event) -> None:
    """Fold one event into ``s``, a private field dict of a state. Tolerant of missing predecessors."""
    t = event.time
    p = event.data
    s.update(counted(s["event_count"], s["last_event_at"], event))
    status = _STATUS.get(event.type)
    if status is not None and status != "suspended":
        if s["status"] == "suspended":
            # Any other handling step (re-assignment, return, resolution ...) ends a suspension that was
            # never resumed explicitly: the case is being worked again, so its clock runs again from here.
            # Otherwise the open span would stop the clock for good and the case could never turn red.
            _end_suspension(s, t)
        s["status"] = status
    match p:
        case d.CaseReceived():
            s.update(
                channel=p.channel, category=p.category, region=p.region, urgency=p.urgency,
                time_limit_days=p.time_limit_days, received_at=t,
            )  # fmt: skip
            if isinstance(p.petitioner, d.SealedPetitioner | d.ErasedPetitioner):
                s["petitioner_pseudonym"] = p.petitioner.person
        case d.CaseAccepted():
            s["accepted_at"] = t
        case d.CaseAssigned():
            s.update(department=p.department, assigned_at=t)
            if s["first_assigned_at"] is None:
                s["first_assigned_at"] = t
        case d.CaseReturned():
            if s["assigned_at"] is not None:
                s["returns"] = (*s["returns"], (s["assigned_at"], t))
            s.update(department=None, return_count=s["return_count"] + 1)
        case d.CaseExtended():
            s["extensions"] = (*s["extensions"], (p.extra, p.unit))
        case d.CaseSuspended():
            if s["status"] != "suspended":
                s.update(
                    status="suspended",
                    status_before_suspension=s["status"],
                    suspensions=(*s["suspensions"], (t, None)),
                )
        case d.CaseResumed():
            if s["status"] == "suspended":
                s["status"] = s["status_before_suspension"] or "accepted"
                _end_suspension(s, t)
            if p.restart_clock:
                s["clock_restarted_at"] = t
        case d.CaseResolved():
            s.update(department=p.department, outcome=p.outcome, resolved_at=t)
        case d.CaseFollowedUp():
            s.update(satisfaction=p.satisfaction, followed_up=True)
        case d.CaseReopened():
            s.update(reopen_count=s["reopen_count"] + 1, resolved_at=None, outcome=None)
        case d.CaseClosed():
            s["closed_at"] = t
        case d.CaseMerged():
            s["merged_into"] = p.into_case_id
        case d.CaseReviewRequested():
            s.update(review_level=p.level, review_decision=None, reviews=(*s["reviews"], (p.level, t, None)))
        case d.CaseReviewDecided():
            s.update(review_level=p.level, review_decision=p.decision)
            reviews = s["reviews"]
            for i in range(len(reviews) - 1, -1, -1):  # the latest open request of this level
                level, requested, decided = reviews[i]
                if level == p.level and decided is None:
                    s["reviews"] = (*reviews[:i], (level, requested, t), *reviews[i + 1 :])
                    break
        case _:
            pass


def _end_suspension(s: dict[str, Any], t: dt.datetime) -> None:
    spans = s["suspensions"]
    if spans and spans[-1][1] is None:
        s["suspensions"] = (*spans[:-1], (spans[-1][0], t))


def apply(state: CaseState, event: Event) -> CaseState:
    """Fold one case event into the state. Pure; tolerant of missing predecessors (a late intake)."""
    fields = state_fields(state)
    _step(fields, event)
    return from_fields(CaseState, fields)


def apply_all(state: CaseState, events: Iterable[Event]) -> CaseState:
    """``reduce(apply, events, state)`` with one copy instead of one per event (same result)."""
    fields = state_fields(state)
    for event in events:
        _step(fields, event)
    return from_fields(CaseState, fields)


_JSON: Final = JsonState(CaseState)


class CaseStatusProjection:
    """The ``case`` family: ``casetrack.case_state``, read by analysts through the ``case_status`` view."""

    family: Aggregate = "case"
    table: str = "casetrack.case_state"
    columns: Sequence[str] = (
        "case_id", "channel", "category", "region", "urgency", "department", "status",
        "received_at", "accepted_at", "assigned_at", "due_at", "yellow_at", "resolved_at", "closed_at",
        "on_time", "outcome", "satisfaction", "followed_up", "reopen_count", "return_count",
        "extension_count", "suspended_days", "step_overrun", "calendar_gap", "time_limit",
        "time_limit_unit", "working_days", "merged_into", "review_level", "review_decision",
        "petitioner_pseudonym", "event_count", "last_event_at", "step_due_at",
    )  # fmt: skip

    def __init__(self, deadline: DeadlineFn | None = None) -> None:
        self._deadline = deadline or (lambda _state: NO_DEADLINE)

    def initial(self, key: str) -> CaseState:
        return CaseState(case_id=key)

    def apply(self, state: CaseState, event: Event) -> CaseState:
        return apply(state, event)

    def apply_all(self, state: CaseState, events: Iterable[Event]) -> CaseState:
        return apply_all(state, events)

    def row(self, state: CaseState, now: dt.datetime) -> tuple[Any, ...]:
        dl = self._deadline(state)
        on_time = None
        if state.resolved_at is not None and dl.due_at is not None:
            on_time = state.resolved_at <= dl.due_at
        return (
            state.case_id, state.channel, state.category, state.region, state.urgency, state.department,
            state.status, state.received_at, state.accepted_at, state.assigned_at, dl.due_at, dl.yellow_at,
            state.resolved_at, state.closed_at, on_time, state.outcome, state.satisfaction, state.followed_up,
            state.reopen_count, state.return_count, len(state.extensions), dl.suspended_days, dl.step_overrun,
            dl.calendar_gap, dl.limit, dl.unit, dl.working_days, state.merged_into, state.review_level,
            state.review_decision, state.petitioner_pseudonym, state.event_count, state.last_event_at,
            dl.step_due_at,
        )  # fmt: skip

    def dump(self, state: CaseState) -> str:
        return _JSON.dump(state)

    def load(self, raw: str) -> CaseState:
        return _JSON.load(raw)
