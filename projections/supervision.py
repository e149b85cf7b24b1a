"""The supervision-order fold (督办单) behind ``supervision_orders``: a pure ``apply(state, event) -> state``.

Events come in (time, id) order and a predecessor may be missing (an order issued before casetrack ran: a
progress report starts it at ``in_progress``; an urging alone keeps the status NULL until the issue arrives,
migration 0013). The status, escalation and progress rules are in docs/analysts.md (``supervision_orders``);
``overdue`` follows the wall clock, so the view derives it from ``due_at``, ``status`` and ``completed_at``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from events import data as d
from events.catalog import Aggregate, Event
from projections.base import JsonState, counted, replace_fields
from projections.deadlines import end_of_day

__all__ = ["ESCALATION_STAGES", "SupervisionProjection", "SupervisionState", "apply", "escalation_stage"]

#: urgings -> stage; the last entry applies to any larger count
ESCALATION_STAGES: Final[tuple[str, ...]] = ("none", "blue", "orange", "red")


@dataclass(frozen=True, slots=True)
class SupervisionState:
    """Everything known about one supervision order after folding its events in (time, id) order."""

    order_id: str
    status: str | None = None  # None until the first event
    title: str | None = None
    issued_by: str | None = None
    level: str | None = None
    departments: tuple[str, ...] = ()
    lead_department: str | None = None  # 主办; None: every addressed department must complete
    done: tuple[tuple[str, dt.datetime], ...] = ()  # (department, its first completion), in time order
    due_date: dt.date | None = None
    target_case_id: str | None = None
    issued_at: dt.datetime | None = None
    completed_at: dt.datetime | None = None
    completed_by: str | None = None
    cancelled_at: dt.datetime | None = None
    urge_count: int = 0
    last_urged_at: dt.datetime | None = None
    percents: tuple[tuple[str, int], ...] = ()  # (department, latest percent), in first-report order
    progress_reports: int = 0
    last_progress_at: dt.datetime | None = None
    event_count: int = 0
    last_event_at: dt.datetime | None = None


def escalation_stage(urge_count: int) -> str:
    """The colour stage after ``urge_count`` urgings (see :data:`ESCALATION_STAGES`)."""
    return ESCALATION_STAGES[min(urge_count, len(ESCALATION_STAGES) - 1)]


def progress_percent(state: SupervisionState) -> int | None:
    """Overall progress 0..100 (rule in the module docstring); None when nothing has been reported."""
    if state.status == "completed":
        return 100
    if not state.percents:
        return None
    reported = dict(state.percents)
    if state.departments:
        total = sum(reported.get(dep, 0) for dep in state.departments)
        return round(total / len(state.departments))
    return round(sum(reported.values()) / len(reported))


def apply(state: SupervisionState, event: Event) -> SupervisionState:
    """Fold one supervision event into the state. Pure; tolerant of missing predecessors."""
    t = event.time
    p = event.data
    changes = counted(state.event_count, state.last_event_at, event)
    status = state.status
    match p:
        case d.SupervisionIssued():
            changes.update(
                title=p.title, issued_by=p.issued_by, level=p.level, departments=tuple(p.departments),
                lead_department=p.lead_department, due_date=p.due_date, target_case_id=p.target_case_id,
                issued_at=t,
            )  # fmt: skip
            if status is None:
                changes["status"] = "issued"
            if state.done and status != "cancelled":  # completions dated before the issue (clock skew)
                changes.update(_completion(replace_fields(state, changes)))
        case d.SupervisionProgressReported():
            changes.update(progress_reports=state.progress_reports + 1, last_progress_at=t)
            if p.percent is not None:
                changes["percents"] = _set_percent(state.percents, p.department, p.percent)
            if status is None or status == "issued":
                changes["status"] = "in_progress"
        case d.SupervisionUrged():
            # No status of its own: an urging alone does not make an order (see the module docstring).
            changes.update(urge_count=state.urge_count + 1, last_urged_at=t)
        case d.SupervisionCompleted():
            if all(dep != p.department for dep, _ in state.done):
                changes["done"] = (*state.done, (p.department, t))
            changes.update(_completion(replace_fields(state, changes)))
        case d.SupervisionCancelled():
            changes.update(status="cancelled", cancelled_at=t)
        case _:
            pass
    return replace_fields(state, changes)


def _completion(state: SupervisionState) -> dict[str, Any]:
    """Status fields after a department's completion (domain.md, 'Supervision orders'): the order is complete
    when its lead (主办) has completed, or, with no lead named, when every addressed department has; an order
    whose issue is not known yet completes with the first completion, as it did before leads existed."""
    done = dict(state.done)
    if state.lead_department is not None:
        finisher: str | None = state.lead_department if state.lead_department in done else None
    elif state.departments:
        finisher = (
            max(state.departments, key=done.__getitem__) if set(state.departments) <= done.keys() else None
        )
    else:
        finisher = state.done[0][0] if state.done else None
    if finisher is not None:
        return {"status": "completed", "completed_at": done[finisher], "completed_by": finisher}
    status = state.status
    reopened = {"completed_at": None, "completed_by": None} if status == "completed" else {}
    return {"status": "in_progress" if status in (None, "issued", "completed") else status, **reopened}


def _set_percent(
    percents: tuple[tuple[str, int], ...], department: str, percent: int
) -> tuple[tuple[str, int], ...]:
    for i, (dep, _) in enumerate(percents):
        if dep == department:
            return (*percents[:i], (department, percent), *percents[i + 1 :])
    return (*percents, (department, percent))


_JSON: Final = JsonState(SupervisionState)


class SupervisionProjection:
    """The ``supervision`` family: ``casetrack.supervision_state``, read through ``supervision_orders``."""

    family: Aggregate = "supervision"
    table: str = "casetrack.supervision_state"
    columns: Sequence[str] = (
        "order_id", "title", "issued_by", "level", "departments", "status", "issued_at", "due_date",
        "due_at", "completed_at", "completed_by", "cancelled_at", "urge_count", "last_urged_at",
        "escalation_stage", "progress_percent", "progress_reports", "last_progress_at", "target_case_id",
        "event_count", "last_event_at", "lead_department", "done_departments", "done_at",
    )  # fmt: skip

    def initial(self, key: str) -> SupervisionState:
        return SupervisionState(order_id=key)

    def apply(self, state: SupervisionState, event: Event) -> SupervisionState:
        return apply(state, event)

    def row(self, state: SupervisionState, now: dt.datetime) -> tuple[Any, ...]:
        s = state
        return (
            s.order_id, s.title, s.issued_by, s.level,
            s.departments or None, s.status, s.issued_at, s.due_date,
            end_of_day(s.due_date) if s.due_date is not None else None, s.completed_at, s.completed_by,
            s.cancelled_at, s.urge_count, s.last_urged_at, escalation_stage(s.urge_count),
            progress_percent(s), s.progress_reports, s.last_progress_at, s.target_case_id, s.event_count,
            s.last_event_at, s.lead_department, [dep for dep, _ in s.done] or None, [at.isoformat() for _, at in s.done] or None,
        )  # fmt: skip

    def dump(self, state: SupervisionState) -> str:
        return _JSON.dump(state)

    def load(self, raw: str) -> SupervisionState:
        return _JSON.load(raw)
