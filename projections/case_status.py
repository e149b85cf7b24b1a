"""The case fold behind ``case_status``: a pure ``apply(state, event) -> state`` over a case's events.

The fold records facts (timestamps, counts, suspensions, extensions); deadlines and warnings are derived
from those facts when the row is written (:meth:`CaseStatusProjection.row`), through an injected deadline
function, so the fold itself needs no calendar.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final, NamedTuple

from pydantic import TypeAdapter

from events import data as d
from events.catalog import Aggregate, Event


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


NO_DEADLINE: Final = DeadlineView(None, None, None, None, False, False, None, 0)
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


def apply(state: CaseState, event: Event) -> CaseState:
    """Fold one case event into the state. Pure; tolerant of missing predecessors (a late intake)."""
    t = event.time
    p = event.data
    changes: dict[str, Any] = {
        "event_count": state.event_count + 1,
        "last_event_at": t if state.last_event_at is None or t > state.last_event_at else state.last_event_at,
    }
    status = _STATUS.get(event.type)
    if status is not None and status != "suspended":
        changes["status"] = status
    match p:
        case d.CaseReceived():
            changes.update(
                channel=p.channel, category=p.category, region=p.region, urgency=p.urgency,
                time_limit_days=p.time_limit_days, received_at=t,
            )  # fmt: skip
            if isinstance(p.petitioner, d.SealedPetitioner):
                changes["petitioner_pseudonym"] = p.petitioner.person
        case d.CaseAccepted():
            changes["accepted_at"] = t
        case d.CaseAssigned():
            changes.update(department=p.department, assigned_at=t)
            if state.first_assigned_at is None:
                changes["first_assigned_at"] = t
        case d.CaseReturned():
            changes.update(department=None, return_count=state.return_count + 1)
            if state.assigned_at is not None:
                changes["returns"] = (*state.returns, (state.assigned_at, t))
        case d.CaseExtended():
            changes["extensions"] = (*state.extensions, (p.extra, p.unit))
        case d.CaseSuspended():
            if state.status != "suspended":
                changes.update(
                    status="suspended",
                    status_before_suspension=state.status,
                    suspensions=(*state.suspensions, (t, None)),
                )
        case d.CaseResumed():
            if state.status == "suspended":
                changes["status"] = state.status_before_suspension or "accepted"
                if state.suspensions and state.suspensions[-1][1] is None:
                    changes["suspensions"] = (*state.suspensions[:-1], (state.suspensions[-1][0], t))
            if p.restart_clock:
                changes["clock_restarted_at"] = t
        case d.CaseResolved():
            changes.update(department=p.department, outcome=p.outcome, resolved_at=t)
        case d.CaseFollowedUp():
            changes.update(satisfaction=p.satisfaction, followed_up=True)
        case d.CaseReopened():
            changes.update(reopen_count=state.reopen_count + 1, resolved_at=None, outcome=None)
        case d.CaseClosed():
            changes["closed_at"] = t
        case d.CaseMerged():
            changes["merged_into"] = p.into_case_id
        case d.CaseReviewRequested():
            changes.update(review_level=p.level, review_decision=None)
        case d.CaseReviewDecided():
            changes.update(review_level=p.level, review_decision=p.decision)
        case _:
            pass
    return _replace(state, changes)


_FIELDS: Final = tuple(f.name for f in dataclasses.fields(CaseState))


def _replace(state: CaseState, changes: dict[str, Any]) -> CaseState:
    # dataclasses.replace re-runs __init__ over all fields; copying slots is ~5x cheaper on the hot path.
    new = object.__new__(CaseState)
    for name in _FIELDS:
        object.__setattr__(new, name, changes[name] if name in changes else getattr(state, name))
    return new


_ADAPTER: Final = TypeAdapter(CaseState)


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
        "petitioner_pseudonym", "event_count", "last_event_at",
    )  # fmt: skip

    def __init__(self, deadline: DeadlineFn | None = None) -> None:
        self._deadline = deadline or (lambda _state: NO_DEADLINE)

    def initial(self, key: str) -> CaseState:
        return CaseState(case_id=key)

    def apply(self, state: CaseState, event: Event) -> CaseState:
        return apply(state, event)

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
        )  # fmt: skip

    def dump(self, state: CaseState) -> str:
        return _ADAPTER.dump_json(state, exclude_defaults=True).decode()

    def load(self, raw: str) -> CaseState:
        return _ADAPTER.validate_json(raw)
