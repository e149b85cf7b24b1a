"""The event store as of a moment, as the reports read it: plain rows (the SQL that reads them is the adapter
:mod:`reports.pg_facts`; the figures are computed in :mod:`reports.disclosure`, :mod:`reports.petitions` and
:mod:`reports.service_centre`).

"As of" means **recorded by**: only events whose ``stored_at`` (when casetrack stored them) is at or before
the moment count, whatever their ``time``. So a cut computed in December for a moment in October sees
exactly what casetrack had in October, late events excluded. Free text and personal data (``summary``,
``reply_summary``, ``note``, ``reason``, petitioners) never leave the database.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class CaseEvent:
    """One event of a case, reduced to what the reports read."""

    type: str
    time: dt.datetime
    id: str
    data: dict[str, Any]


@dataclass(frozen=True, slots=True)
class PetitionCount:
    """Petitions received in one bucket × channel × region (``bucket`` is None without a split)."""

    bucket: dt.date | None
    channel: str
    region: str
    batches: int
    people: int
    collective_batches: int
    collective_people: int
    skip_level_batches: int
    skip_level_people: int
    several_petitioners: int


@dataclass(frozen=True, slots=True)
class ServiceFacts:
    """One service-centre application completed (first 办结) in the period, as recorded by the cut:
    ``department`` resolved it (the lead), ``co_departments`` were named by the latest assignment before
    that, ``rated`` if a follow-up reached the applicant by the period's end."""

    received_at: dt.datetime
    matter: str
    promise: int | None
    legal: int | None
    resolved_at: dt.datetime
    department: str
    co_departments: tuple[str, ...]
    rated: bool
