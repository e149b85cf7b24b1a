"""The pyeventsourcing baseline: the library's ``ProjectionRunner`` projecting an ``Application``'s events
(POSTGRES persistence) into a count/status view with exactly-once tracking, the pattern the project's targets
compare against (docs/benchmarks.md). Used by :mod:`bench.baselines`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.dispatch import singledispatchmethod
from eventsourcing.domain import Aggregate, event
from eventsourcing.persistence import Tracking
from eventsourcing.postgres import PostgresDatastore, PostgresTrackingRecorder
from eventsourcing.projection import Projection, ProjectionRunner
from psycopg.sql import SQL
from psycopg2.extensions import parse_dsn

from bench import harness as h

Log = Callable[[str], None]
STATUSES = ("received", "assigned", "in_progress", "replied", "closed")
ES_NOTE = "n" * 160  # a status change's stored state is then about 300 bytes (the library's JSON)


# -- pyeventsourcing --------------------------------------------------------------------------------------
class Case(Aggregate):
    """A minimal event-sourced case: created, then its status changes."""

    class Created(Aggregate.Created):
        subject: str

    class StatusChanged(Aggregate.Event):
        status: str
        officer: str
        note: str

    @event(Created)
    def __init__(self, subject: str) -> None:
        self.subject = subject
        self.status = "received"

    @event(StatusChanged)
    def change_status(self, status: str, officer: str, note: str) -> None:
        self.status = status


class CaseApp(Application[UUID]):
    """The write side holding the cases' events (its persistence comes from the environment)."""


ES_CREATE = (
    "CREATE TABLE IF NOT EXISTS public.bl_es_cases (case_id uuid PRIMARY KEY, events integer, status text)"
)
ES_UPSERT = (
    "INSERT INTO public.bl_es_cases AS c VALUES (%s, 1, %s)"
    " ON CONFLICT (case_id) DO UPDATE SET events = c.events + 1, status = EXCLUDED.status"
)


class CaseCountsView(PostgresTrackingRecorder):
    """A count/status row per case. Each update and its tracking record share one transaction: the library's
    exactly-once pattern (a notification processed twice fails the tracking insert and rolls back)."""

    def __init__(self, datastore: PostgresDatastore, **kwargs: Any) -> None:
        super().__init__(datastore, **kwargs)
        # One view per database (each measurement has its own), so a fixed name: the statements stay literal.
        self.sql_create_statements.append(SQL(ES_CREATE).format())  # the library's list holds compositions

    def count_event(self, case_id: UUID, status: str, tracking: Tracking) -> None:
        with self.datastore.transaction(commit=True) as curs:
            self._insert_tracking(curs, tracking)
            curs.execute(ES_UPSERT, (case_id, status), prepare=True)

    def totals(self) -> tuple[int, int]:
        """(cases, events counted)."""
        with self.datastore.transaction(commit=False) as curs:
            curs.execute("SELECT count(*) AS n, sum(events) AS e FROM public.bl_es_cases")
            row = curs.fetchone()
            assert row is not None
            return int(row["n"]), int(row["e"] or 0)


class CaseCountsProjection(Projection[CaseCountsView]):
    """Counts every case's events and keeps its last status."""

    name = "casecounts"

    @singledispatchmethod
    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        self.view.insert_tracking(tracking)  # an event it does not know: only tracked

    @process_event.register
    def _created(self, domain_event: Case.Created, tracking: Tracking) -> None:
        self.view.count_event(domain_event.originator_id, "received", tracking)

    @process_event.register
    def _changed(self, domain_event: Case.StatusChanged, tracking: Tracking) -> None:
        self.view.count_event(domain_event.originator_id, domain_event.status, tracking)


def eventsourcing_env(database_url: str) -> dict[str, str]:
    """The library's POSTGRES persistence settings for ``database_url``, unprefixed: the application and the
    projection's view both read them, so both live in that database."""
    dsn = {"host": "localhost", "port": "5432", "user": "postgres", "password": "", **parse_dsn(database_url)}
    env = {f"POSTGRES_{k.upper()}": dsn[k] for k in ("dbname", "host", "port", "user", "password")}
    return {"PERSISTENCE_MODULE": "eventsourcing.postgres", "POSTGRES_SCHEMA": "public", **env}


def measure_eventsourcing(database_url: str, events: int, aggregates: int, log: Log = h.say) -> float:
    """Write ``events`` events over ``aggregates`` cases into a ``CaseApp`` in the fresh database
    ``database_url`` (setup, untimed), then time a
    ``ProjectionRunner`` projecting them all into ``CaseCountsView`` (start-up included); returns events/s."""
    env = eventsourcing_env(database_url)
    aggregates = max(1, min(aggregates, events))
    app = CaseApp(env)
    t0 = time.monotonic()
    try:
        pending: list[Case] = []
        for a in range(aggregates):
            case = Case(f"RX20261201{a:05d}")
            for i in range(events // aggregates - 1 + (a < events % aggregates)):
                case.change_status(STATUSES[i % len(STATUSES)], f"officer-{i % 97:03d}", ES_NOTE)
            pending.append(case)
            if len(pending) == 100 or a == aggregates - 1:
                app.save(*pending)  # 100 aggregates per transaction: setup only, so as cheap as possible
                pending.clear()
        last_id = app.recorder.max_notification_id() or 0
        sample = app.recorder.select_notifications(start=1, limit=1000)
    finally:
        app.close()
    size = sum(len(n.state) for n in sample) / max(1, len(sample))
    log(f"  wrote {events:,} events over {aggregates:,} aggregates in {time.monotonic() - t0:.1f}s"
        f" (stored state {size:.0f} bytes on average); projecting them ...")  # fmt: skip
    t0 = last = moved = time.monotonic()
    done = 0
    with ProjectionRunner(
        application_class=CaseApp, projection_class=CaseCountsProjection, view_class=CaseCountsView, env=env
    ) as runner:
        # Poll every 20 ms rather than runner.wait(), whose back-off (up to 800 ms) would overshoot the end.
        while done < last_id:
            runner.run_forever(timeout=0.02)  # re-raises an error of the processing thread
            if runner.is_interrupted.is_set():
                raise RuntimeError("eventsourcing: the projection's processing thread stopped")
            now, before = time.monotonic(), done
            done = runner.view.max_tracking_id(runner.app_name) or 0
            if done > before:
                moved = now
            elif now - moved > 60:
                raise RuntimeError(f"eventsourcing: the projection stalled at {done:,} of {events:,}")
            if now - last >= 5:
                last = now
                log(f"  eventsourcing projection: {done:,} / {events:,} events, {done / (now - t0):,.0f}/s")
        seconds = time.monotonic() - t0
        cases, counted = runner.view.totals()
    if (cases, counted) != (aggregates, events):
        raise RuntimeError(f"eventsourcing: the view counts {counted} events of {cases} cases, not {events}")
    return events / seconds
