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
    # -- added with migration 0010 (docs/deadlines.md, "Cycles" and "Who is charged"); old states load with
    # the defaults, and `casetrack replay` fills them in from the event store.
    office: str | None = None  # the CloudEvents source of case.received: the intake office (受理/派单)
    holders: tuple[tuple[dt.datetime, str | None], ...] = ()  # who held the case from when (None: nobody)
    return_departments: tuple[str, ...] = ()  # the department of each 退单, parallel to `returns`
    extension_times: tuple[
        dt.datetime, ...
    ] = ()  # when each extension was recorded, parallel to `extensions`
    suspension_kinds: tuple[str, ...] = ()  # "hearing" | "correction" | "other", parallel to `suspensions`
    correction_due: dt.date | None = None  # the correction deadline given with the latest 补正 suspension
    withdrawn_at: dt.datetime | None = None  # closed while waiting for a correction: 视为放弃申请
    legal_time_limit_days: int | None = (
        None  # case.received legal_time_limit_days (承诺件: the statutory limit)
    )
    reopened_at: dt.datetime | None = None  # start of the current cycle (None: the first cycle)
    ext_from: int = 0  # index of the current cycle's first extension in `extensions`
    past_cycles: tuple[PastCycle, ...] = ()  # every cycle before the current one, oldest first
    # -- added with migration 0014 (issue 19): the co-handling departments (协办) of the latest assignment
    co_departments: tuple[str, ...] = ()


class PastCycle(NamedTuple):
    """A handling cycle that a 重办 (case.reopened) ended: the facts its own deadline is derived from."""

    started_at: dt.datetime | None  # None: the first cycle (its clock starts as the policy says)
    resolved_at: dt.datetime | None
    department: str | None  # the resolving department
    ext_from: int  # its extensions are extensions[ext_from:ext_to]
    ext_to: int
    satisfaction: str | None
    followed_up: bool
    reopened_at: dt.datetime  # the reopen that ended it
    co_departments: tuple[str, ...] = ()  # the co-handlers (协办) of its resolution (migration 0014)


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
    extras: CycleExtras | None = None  # cycle, responsibility and violation facts (migration 0010)


class CycleExtras(NamedTuple):
    """The figures migration 0010 added to a case's row (docs/deadlines.md, docs/analysts.md)."""

    cycle: int  # 1 + the number of reopens
    cycle_started_at: dt.datetime | None  # the reopen that started the current cycle
    due_department: str | None  # who held the case when the current cycle's deadline passes (or passed)
    yellow_department: str | None  # who held it when it turned yellow
    step_due_cause: str | None  # the pending step whose limit is step_due_at
    step_due_department: str | None  # who answers for that step
    extension_requested: int  # extensions recorded in this cycle, in the deadline's unit
    extension_excess: int  # beyond the channel's cap (not counted in due_at)
    legal_time_limit: int | None  # the statutory limit beside a promise (time_limit)
    promise_violation: bool  # promised more than the legal limit (or > 20 working days, no law allowing more)
    correction_due_at: dt.datetime | None  # end of the applicant's correction period, while one is awaited
    cards: str | None  # JSON list of the cards that no longer depend on the wall clock (past cycles, steps)
    past_cycles: str | None  # JSON list of the earlier cycles' figures


NO_EXTRAS: Final = CycleExtras(1, None, None, None, None, None, 0, 0, None, False, None, None, None)


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
    s.update(counted(s["event_count"], s["last_event_at"], event))
    if event.type == "case.closed" and s["status"] == "suspended" and _open_kind(s) == "correction":
        # Closed while waiting for the applicant's correction: the request counts as withdrawn
        # (政府信息公开条例 Art. 30, 视为放弃申请), its own outcome rather than a resolution.
        s.update(withdrawn_at=t, outcome="withdrawn")
    status = _STATUS.get(event.type)
    if status is not None and status != "suspended":
        if s["status"] == "suspended":
            # Any other handling step (re-assignment, return, resolution ...) ends a suspension that was
            # never resumed explicitly: the case is being worked again, so its clock runs again from here.
            # Otherwise the open span would stop the clock for good and the case could never turn red.
            _end_suspension(s, t)
        s["status"] = status
    handler = _HANDLERS.get(type(event.data))
    if handler is not None:
        handler(s, event.data, t, event)


def _received(s: dict[str, Any], p: Any, t: dt.datetime, event: Event) -> None:
    s.update(
        channel=p.channel, category=p.category, region=p.region, urgency=p.urgency,
        time_limit_days=p.time_limit_days, received_at=t, office=event.source,
        legal_time_limit_days=p.legal_time_limit_days,
    )  # fmt: skip
    if isinstance(p.petitioner, d.SealedPetitioner | d.ErasedPetitioner):
        s["petitioner_pseudonym"] = p.petitioner.person


def _accepted(s: dict[str, Any], p: Any, t: dt.datetime, event: Event) -> None:
    s["accepted_at"] = t


def _assigned(s: dict[str, Any], p: Any, t: dt.datetime, event: Event) -> None:
    # ``department`` is the lead (主办); the co-handlers (协办) are those of the latest assignment.
    s.update(
        department=p.department, assigned_at=t, holders=(*s["holders"], (t, p.department)),
        co_departments=tuple(p.co_departments or ()),
    )  # fmt: skip
    if s["first_assigned_at"] is None:
        s["first_assigned_at"] = t


def _returned(s: dict[str, Any], p: Any, t: dt.datetime, event: Event) -> None:
    if s["assigned_at"] is not None:
        s["returns"] = (*s["returns"], (s["assigned_at"], t))
        s["return_departments"] = (*s["return_departments"], p.department)
    s.update(
        department=None, co_departments=(), return_count=s["return_count"] + 1,
        holders=(*s["holders"], (t, None)),
    )  # fmt: skip


def _extended(s: dict[str, Any], p: Any, t: dt.datetime, event: Event) -> None:
    s["extensions"] = (*s["extensions"], (p.extra, p.unit))
    s["extension_times"] = (*s["extension_times"], t)


def _suspended(s: dict[str, Any], p: Any, t: dt.datetime, event: Event) -> None:
    if s["status"] != "suspended":
        s.update(
            status="suspended",
            status_before_suspension=s["status"],
            suspensions=(*s["suspensions"], (t, None)),
            suspension_kinds=(*s["suspension_kinds"], suspension_kind(p.reason)),
        )
        if s["suspension_kinds"][-1] == "correction":
            s["correction_due"] = p.correction_due


def _resumed(s: dict[str, Any], p: Any, t: dt.datetime, event: Event) -> None:
    if s["status"] == "suspended":
        s["status"] = s["status_before_suspension"] or "accepted"
        _end_suspension(s, t)
    if p.restart_clock:
        s["clock_restarted_at"] = t


def _resolved(s: dict[str, Any], p: Any, t: dt.datetime, event: Event) -> None:
    s.update(department=p.department, outcome=p.outcome, resolved_at=t)
    holders = s["holders"]
    if not holders or holders[-1][1] != p.department:
        s["holders"] = (*holders, (t, p.department))


def _followed_up(s: dict[str, Any], p: Any, t: dt.datetime, event: Event) -> None:
    s.update(satisfaction=p.satisfaction, followed_up=True)


def _reopened(s: dict[str, Any], p: Any, t: dt.datetime, event: Event) -> None:
    # 重办: the cycle ends with its own facts; the new one counts from the reopen (docs/deadlines.md).
    cycle = PastCycle(
        s["reopened_at"], s["resolved_at"], s["department"] if s["resolved_at"] else None,
        s["ext_from"], len(s["extensions"]), s["satisfaction"], s["followed_up"], t,
        s["co_departments"] if s["resolved_at"] else (),
    )  # fmt: skip
    s.update(
        reopen_count=s["reopen_count"] + 1, resolved_at=None, outcome=None, reopened_at=t,
        ext_from=len(s["extensions"]), past_cycles=(*s["past_cycles"], cycle),
        satisfaction=None, followed_up=False,
    )  # fmt: skip


def _closed(s: dict[str, Any], p: Any, t: dt.datetime, event: Event) -> None:
    s["closed_at"] = t


def _merged(s: dict[str, Any], p: Any, t: dt.datetime, event: Event) -> None:
    s["merged_into"] = p.into_case_id


def _review_requested(s: dict[str, Any], p: Any, t: dt.datetime, event: Event) -> None:
    s.update(review_level=p.level, review_decision=None, reviews=(*s["reviews"], (p.level, t, None)))


def _review_decided(s: dict[str, Any], p: Any, t: dt.datetime, event: Event) -> None:
    s.update(review_level=p.level, review_decision=p.decision)
    reviews = s["reviews"]
    for i in range(len(reviews) - 1, -1, -1):  # the latest open request of this level
        level, requested, decided = reviews[i]
        if level == p.level and decided is None:
            s["reviews"] = (*reviews[:i], (level, requested, t), *reviews[i + 1 :])
            break


_Handler = Callable[[dict[str, Any], Any, dt.datetime, Event], None]
#: payload model -> how it changes the fields (types absent here change only the status and counts)
_HANDLERS: Final[dict[type, _Handler]] = {
    d.CaseReceived: _received, d.CaseAccepted: _accepted, d.CaseAssigned: _assigned,
    d.CaseReturned: _returned, d.CaseExtended: _extended, d.CaseSuspended: _suspended,
    d.CaseResumed: _resumed, d.CaseResolved: _resolved, d.CaseFollowedUp: _followed_up,
    d.CaseReopened: _reopened, d.CaseClosed: _closed, d.CaseMerged: _merged,
    d.CaseReviewRequested: _review_requested, d.CaseReviewDecided: _review_decided,
}  # fmt: skip


#: case.suspended reasons with a meaning of their own (wire values, docs/architecture.md); others: "other"
SUSPENSION_KINDS: Final = {
    "hearing": "hearing",
    "听证": "hearing",
    "correction": "correction",
    "补正": "correction",
}


def suspension_kind(reason: str) -> str:
    """``hearing`` (听证: not counted in a 复查/复核), ``correction`` (补正 awaited) or ``other``."""
    return SUSPENSION_KINDS.get(reason.strip().lower(), "other")


def _open_kind(s: dict[str, Any]) -> str | None:
    spans, kinds = s["suspensions"], s["suspension_kinds"]
    if spans and spans[-1][1] is None and len(kinds) == len(spans):
        return str(kinds[-1])
    return None


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


def fold_new(key: str, events: Iterable[Event]) -> CaseState:
    """``apply_all(CaseState(case_id=key), events)`` without building and copying that initial state."""
    fields = dict(_INITIAL_FIELDS)
    fields["case_id"] = key
    for event in events:
        _step(fields, event)
    return from_fields(CaseState, fields)


_INITIAL_FIELDS: Final = state_fields(CaseState(case_id=""))  # the defaults: immutable values, safe to share
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
        # migration 0010 (docs/analysts.md)
        "cycle", "cycle_started_at", "due_department", "yellow_department", "step_due_cause",
        "step_due_department", "extension_requested", "extension_excess", "legal_time_limit",
        "promise_violation", "correction_due_at", "cards", "past_cycles", "withdrawn_at",
        "co_departments", "office",  # migration 0014
    )  # fmt: skip

    def __init__(self, deadline: DeadlineFn | None = None) -> None:
        self._deadline = deadline or (lambda _state: NO_DEADLINE)

    def initial(self, key: str) -> CaseState:
        return CaseState(case_id=key)

    def apply(self, state: CaseState, event: Event) -> CaseState:
        return apply(state, event)

    def apply_all(self, state: CaseState, events: Iterable[Event]) -> CaseState:
        return apply_all(state, events)

    def fold_new(self, key: str, events: Iterable[Event]) -> CaseState:
        return fold_new(key, events)

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
            dl.step_due_at, *(dl.extras or NO_EXTRAS), state.withdrawn_at, state.co_departments or None, state.office,
        )  # fmt: skip

    def dump(self, state: CaseState) -> str:
        return _JSON.dump(state)

    def load(self, raw: str) -> CaseState:
        return _JSON.load(raw)
