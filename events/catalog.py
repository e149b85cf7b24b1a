"""The catalog: every event type of the contract, its aggregate, its payload model and its current version."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from events import data as d

Aggregate = Literal["case", "supervision", "rectification"]

#: type -> (payload model, newest schema version). Older versions reach the newest through upcasters.
EVENT_TYPES: dict[str, tuple[type[d.Data], int]] = {
    "case.received": (d.CaseReceived, 1),
    "case.accepted": (d.CaseAccepted, 1),
    "case.rejected": (d.CaseRejected, 1),
    "case.assigned": (d.CaseAssigned, 1),
    "case.returned": (d.CaseReturned, 1),
    "case.extended": (d.CaseExtended, 2),
    "case.suspended": (d.CaseSuspended, 1),
    "case.resumed": (d.CaseResumed, 1),
    "case.resolved": (d.CaseResolved, 1),
    "case.followed_up": (d.CaseFollowedUp, 1),
    "case.reopened": (d.CaseReopened, 1),
    "case.closed": (d.CaseClosed, 1),
    "case.merged": (d.CaseMerged, 1),
    "case.review_requested": (d.CaseReviewRequested, 1),
    "case.review_decided": (d.CaseReviewDecided, 1),
    "supervision.issued": (d.SupervisionIssued, 1),
    "supervision.progress_reported": (d.SupervisionProgressReported, 1),
    "supervision.urged": (d.SupervisionUrged, 1),
    "supervision.completed": (d.SupervisionCompleted, 1),
    "supervision.cancelled": (d.SupervisionCancelled, 1),
    "rectification.opened": (d.RectificationOpened, 1),
    "rectification.progress_reported": (d.RectificationProgressReported, 1),
    "rectification.extended": (d.RectificationExtended, 1),
    "rectification.completed": (d.RectificationCompleted, 1),
    "rectification.verified": (d.RectificationVerified, 1),
}


def aggregate_of(event_type: str) -> Aggregate:
    """The aggregate an event type belongs to (its prefix)."""
    prefix = event_type.split(".", 1)[0]
    if prefix not in ("case", "supervision", "rectification"):
        raise ValueError(f"unknown aggregate for event type {event_type!r}")
    return prefix  # type: ignore[return-value]


_AGGREGATES: dict[str, Aggregate] = {t: aggregate_of(t) for t in EVENT_TYPES}
_EARLIEST = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
_LATEST = dt.datetime(2100, 1, 1, tzinfo=dt.UTC)


Id = Annotated[str, StringConstraints(min_length=1, max_length=200)]
# A timestamp centuries away is a producer bug that would poison every time-ordered fold. The bounds are
# checked inside pydantic-core (no Python callback on the hot path).
EventTime = Annotated[AwareDatetime, Field(ge=_EARLIEST, lt=_LATEST)]


class Event(BaseModel):
    """One CloudEvents 1.0 event of the catalog, decoded, upcast to the newest version and validated.

    ``data`` is the payload model of ``type``. Equality and hashing are by value; ordering within an
    aggregate is by :attr:`sort_key` (``time``, then ``id``), the order every fold assumes.
    """

    # Unknown top-level attributes are CloudEvents extensions (traceparent, partitionkey, ...): allowed, ignored.
    model_config = ConfigDict(frozen=True, extra="ignore")

    specversion: Literal["1.0"] = "1.0"
    id: Id
    source: Annotated[str, StringConstraints(min_length=1, max_length=400)]
    type: str
    subject: Id
    time: EventTime
    schemaversion: Annotated[int, Field(ge=1)] = 1
    datacontenttype: (
        Annotated[str, StringConstraints(pattern=r"^application/(cloudevents\+)?json")] | None
    ) = None
    data: d.Data

    @property
    def aggregate(self) -> Aggregate:
        return _AGGREGATES.get(self.type) or aggregate_of(self.type)

    @property
    def sort_key(self) -> tuple[dt.datetime, str]:
        return (self.time, self.id)

    def wire(self) -> dict[str, Any]:
        """The structured-mode CloudEvents envelope as JSON-ready primitives."""
        out = self.model_dump(mode="json", exclude_none=True, exclude={"data"})
        out["data"] = self.data.model_dump(mode="json", exclude_none=True)
        return out
