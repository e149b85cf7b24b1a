"""Frozen reports in ``casetrack.published_reports``: publish once, read the same forever. This module holds the
record and the errors; the SQL is the adapter :mod:`reports.pg_store`.

Publishing stores the report's canonical JSON (``content_text``), its SHA-256 (checked by the table itself),
the as-of moment and who published it. The table is append-only. Publishing the same kind, period and
parameters again is refused, unless a new version is asked for explicitly (a correction); the earlier
version stays, and reading without a version gives the latest. See docs/analysts.md, 'Reports'.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from reports.table import Report


class AlreadyPublished(RuntimeError):
    """The (kind, period, params) is published already and no new version was asked for."""


class NotPublished(LookupError):
    """No frozen report of that kind and period (and version)."""


@dataclass(frozen=True, slots=True)
class Published:
    """One frozen report and its record."""

    report_id: int
    version: int
    sha256: str
    published_at: dt.datetime
    published_by: str
    report: Report
