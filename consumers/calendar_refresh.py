"""Re-derive every estimated deadline when an official calendar year is added, without a replay.

A deadline that reaches into a year without official calendar data is estimated and flagged
``calendar_gap`` (docs/deadlines.md, "Years without an official calendar"). When the operator adds that
year's State Council notice to the calendar notice file (``CASETRACK_CALENDAR_FILE``), every consumer
re-derives, at start-up, the rows of the live case generation that rest on an estimate: it loads their
stored fold state (no event is read again), computes the row with the new calendar and writes it back in
one transaction, with the rows locked so that a batch of a running consumer cannot interleave. Rows whose
dates were all official are untouched (their deadlines cannot change).
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from consumers.pg_store import PgStore
from consumers.ports import StateRow
from projections.base import Projection

log = logging.getLogger("casetrack.calendar")

__all__ = ["refresh_estimated_deadlines"]


def refresh_estimated_deadlines(
    database_url: str, projection: Projection[Any], now: dt.datetime | None = None
) -> int:
    """Re-derive the live generation's rows that rest on an estimated date; returns how many were written.

    ``projection`` is the case projection built with the calendar now in force. Idempotent: rows that stay
    estimated (the year is still missing) are written with the same values.
    """
    now = now or dt.datetime.now(dt.UTC)
    store = PgStore(database_url, application_name="casetrack-calendar-refresh")
    try:
        generation = store.live_generation(projection.family)
        with store.transaction() as tx:
            tx.check_live(projection.family, generation)
            tracked = tx.load_estimated_states(projection.table, projection.columns[0], generation)
            rows = [StateRow(projection.row(projection.load(t.fold_state), now), t) for t in tracked.values()]
            tx.save_states(projection.table, projection.columns, generation, rows)
    finally:
        store.close()
    if rows:
        gap = projection.columns.index("calendar_gap")
        still = sum(1 for r in rows if r.values[gap])
        log.info(
            "calendar: re-derived %d rows that rested on estimated dates; %d still estimated",
            len(rows),
            still,
        )
    return len(rows)
