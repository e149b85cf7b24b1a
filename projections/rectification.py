"""The rectification-item fold (整改) behind ``rectification_items``: a pure ``apply(state, event) -> state``.

Events come in (time, id) order and a predecessor may be missing; the status, deadline, progress and
verification rules are in docs/analysts.md (``rectification_items``). ``overdue`` follows the wall clock,
so the view derives it from ``deadline_at``, ``status`` and ``verified_at``.
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

__all__ = ["RectificationProjection", "RectificationState", "apply", "progress"]


@dataclass(frozen=True, slots=True)
class RectificationState:
    """Everything known about one rectification item after folding its events in (time, id) order."""

    item_id: str
    status: str | None = None  # None until the first event
    source: str | None = None
    problem: str | None = None
    department: str | None = None
    responsible_person: str | None = None
    opened_at: dt.datetime | None = None
    deadline: dt.date | None = None
    original_deadline: dt.date | None = None
    extension_count: int = 0
    measures_planned: int | None = None
    measures_done: int = 0
    progress_reports: int = 0
    last_progress_at: dt.datetime | None = None
    completed_at: dt.datetime | None = None
    verified_at: dt.datetime | None = None
    rejected_at: dt.datetime | None = None
    verifier: str | None = None
    rejection_count: int = 0
    related_case_id: str | None = None
    event_count: int = 0
    last_event_at: dt.datetime | None = None


def progress(state: RectificationState) -> float | None:
    """measures_done ÷ measures_planned in 0..1, rounded to 4 places; None while the plan is unknown."""
    if not state.measures_planned:
        return None
    return round(min(state.measures_done / state.measures_planned, 1.0), 4)


def apply(state: RectificationState, event: Event) -> RectificationState:
    """Fold one rectification event into the state. Pure; tolerant of missing predecessors."""
    t = event.time
    p = event.data
    changes = counted(state.event_count, state.last_event_at, event)
    status = state.status
    match p:
        case d.RectificationOpened():
            changes.update(
                source=p.source, problem=p.problem, department=p.department,
                responsible_person=p.responsible_person, opened_at=t, original_deadline=p.deadline,
                measures_planned=len(p.measures), related_case_id=p.related_case_id,
            )  # fmt: skip
            if state.extension_count == 0:
                changes["deadline"] = p.deadline
            if status is None:
                changes["status"] = "open"
            elif status in ("completed", "verified") and state.measures_done < len(p.measures):
                changes["measures_done"] = len(p.measures)
        case d.RectificationProgressReported():
            changes.update(
                measures_done=p.measures_done, progress_reports=state.progress_reports + 1, last_progress_at=t
            )
            if status is None or status == "open" or status == "rejected":
                changes["status"] = "in_progress"
        case d.RectificationExtended():
            changes.update(deadline=p.new_deadline, extension_count=state.extension_count + 1)
            if status is None:
                changes["status"] = "open"
        case d.RectificationCompleted():
            changes.update(status="completed", completed_at=t)
            planned = state.measures_planned
            if planned is not None and state.measures_done < planned:
                changes["measures_done"] = planned
        case d.RectificationVerified():
            if p.accepted:
                changes.update(status="verified", verified_at=t, verifier=p.verifier)
            else:
                changes.update(
                    status="rejected", verified_at=None, rejected_at=t, verifier=p.verifier,
                    rejection_count=state.rejection_count + 1,
                )  # fmt: skip
        case _:
            pass
    return replace_fields(state, changes)


_JSON: Final = JsonState(RectificationState)


class RectificationProjection:
    """The ``rectification`` family: ``casetrack.rectification_state``, read through ``rectification_items``."""

    family: Aggregate = "rectification"
    table: str = "casetrack.rectification_state"
    columns: Sequence[str] = (
        "item_id", "source", "problem", "department", "responsible_person", "status", "opened_at",
        "deadline", "deadline_at", "original_deadline", "extension_count", "measures_planned",
        "measures_done", "progress", "progress_reports", "last_progress_at", "completed_at", "verified_at",
        "rejected_at", "verifier", "rejection_count", "related_case_id", "event_count", "last_event_at",
    )  # fmt: skip

    def initial(self, key: str) -> RectificationState:
        return RectificationState(item_id=key)

    def apply(self, state: RectificationState, event: Event) -> RectificationState:
        return apply(state, event)

    def row(self, state: RectificationState, now: dt.datetime) -> tuple[Any, ...]:
        s = state
        return (
            s.item_id, s.source, s.problem, s.department, s.responsible_person, s.status, s.opened_at,
            s.deadline, end_of_day(s.deadline) if s.deadline is not None else None, s.original_deadline,
            s.extension_count, s.measures_planned, s.measures_done, progress(s), s.progress_reports,
            s.last_progress_at, s.completed_at, s.verified_at, s.rejected_at, s.verifier, s.rejection_count,
            s.related_case_id, s.event_count, s.last_event_at,
        )  # fmt: skip

    def dump(self, state: RectificationState) -> str:
        return _JSON.dump(state)

    def load(self, raw: str) -> RectificationState:
        return _JSON.load(raw)
