"""Domain metrics: what the projections say, queried from PostgreSQL when Prometheus scrapes (cached). The
queries are in the read queries' adapter :mod:`reports.pg_reads`, whose errors are the Store port's.

Every label set is bounded: channels and warning levels are catalog enums, topics come from configuration,
dead-letter reasons from code, and departments (free text upstream) are capped to the ``max_departments``
busiest of the month plus ``other``. No label or value carries personal data.

Relations that do not exist yet (an older schema) are skipped, never an error. A failed query keeps the
metric away for that scrape and sets ``casetrack_domain_query_success`` to 0.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from zoneinfo import ZoneInfo

from prometheus_client.core import GaugeMetricFamily, Metric

from app.errors import DatabaseUnreachable, first_line
from app.pg_connect import connect
from consumers.ports import StoreError
from events.data import CHANNELS
from events.topics import Topics
from projections.calendar import WorkCalendar
from reports import pg_reads
from reports.figure_rows import DepartmentRow
from reports.pg_reads import Connection

__all__ = ["OTHER", "DepartmentRow", "DomainMetrics", "cap_departments", "family_names"]

log = logging.getLogger("casetrack.metrics")
SHANGHAI = ZoneInfo("Asia/Shanghai")
OPEN_STATUSES = ("received", "accepted", "assigned", "returned", "suspended", "reopened")
OTHER = "other"


def cap_departments(rows: Sequence[DepartmentRow], keep: int) -> list[DepartmentRow]:
    """Keep the ``keep`` departments with the most cases received this month (ties by name); fold the rest
    into ``other`` per channel by summing counts, so ratios stay exact."""
    volume: dict[str, int] = defaultdict(int)
    for r in rows:
        volume[r.department] += r.received + r.resolved
    kept = set(sorted(volume, key=lambda d: (-volume[d], d))[:keep])
    out: dict[tuple[str, str], list[int]] = {}
    for r in rows:
        dept = r.department if r.department in kept else OTHER
        acc = out.setdefault((r.channel, dept), [0, 0, 0, 0, 0])
        for i, v in enumerate((r.received, r.resolved, r.resolved_on_time, r.rated, r.satisfied)):
            acc[i] += v
    return [DepartmentRow(c, d, *v) for (c, d), v in sorted(out.items())]


def _gauge(name: str, doc: str, labels: Sequence[str] = ()) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, doc, labels=list(labels))


def _families() -> dict[str, GaugeMetricFamily]:
    return {
        "open": _gauge("casetrack_cases_open", "Cases in handling (received, accepted, assigned, returned, "
                       "suspended or reopened).", ["channel"]),
        "warning": _gauge("casetrack_cases_warning", "Cases in handling at a deadline warning level "
                          "(yellow: near the deadline, red: past it or a step overran).", ["channel", "level"]),
        "sup_overdue": _gauge("casetrack_supervision_orders_overdue",
                              "Supervision orders past their due date (open, or completed late)."),
        "rect_overdue": _gauge("casetrack_rectification_items_overdue",
                               "Rectification items past their deadline (open, or verified late)."),
        "on_time": _gauge("casetrack_cases_on_time_ratio", "Cases resolved this month (Asia/Shanghai) within "
                          "their deadline, over cases resolved this month.", ["channel", "department"]),
        "satisfaction": _gauge("casetrack_cases_satisfaction_ratio", "Satisfied ratings this month over "
                               "ratings (unreachable excluded).", ["channel", "department"]),
        "calendar": _gauge("casetrack_calendar_coverage_end_timestamp_seconds", "End (Unix time) of the last "
                           "day covered by official working-day calendar data; load the next notice first."),
        "pending": _gauge("casetrack_dead_letters_pending", "Dead letters neither re-published nor discarded.",
                          ["topic", "reason"]),
        "duration": _gauge("casetrack_domain_query_duration_seconds", "Time the last domain-metrics refresh took."),
        "success": _gauge("casetrack_domain_query_success", "1 if every domain query of the last refresh succeeded."),
    }  # fmt: skip


class DomainMetrics:
    """A Prometheus collector over the analysts' views. Register it on a ``CollectorRegistry``."""

    def __init__(
        self,
        dsn: str,
        calendar: WorkCalendar,
        *,
        topics: Topics | None = None,
        cache_seconds: float = 10.0,
        max_departments: int = 50,
        statement_timeout_ms: int = 20_000,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self.dsn = dsn
        self.calendar = calendar
        self.topics = topics
        self.cache_seconds = cache_seconds
        self.max_departments = max_departments
        self.statement_timeout_ms = statement_timeout_ms
        self.clock = clock
        self._lock = threading.Lock()
        self._conn: Connection | None = None
        self._cached: list[Metric] = []
        self._at = float("-inf")

    def describe(self) -> list[Metric]:
        """The metric names (without querying), so the registry can detect clashes at registration."""
        return list(_families().values())

    def collect(self) -> list[Metric]:
        with self._lock:
            now = time.monotonic()
            if now - self._at >= self.cache_seconds:
                self._cached = self.refresh()
                self._at = time.monotonic()
            return self._cached

    # -- queries -------------------------------------------------------------------------------------------
    def refresh(self) -> list[Metric]:
        """Query everything now (bypasses the cache)."""
        t0 = time.perf_counter()
        fam = _families()
        ok = True
        today = self.clock().astimezone(SHANGHAI).date()
        end = dt.datetime.combine(self.calendar.covered_until + dt.timedelta(days=1), dt.time(), SHANGHAI)
        fam["calendar"].add_metric([], end.timestamp())
        steps: list[Callable[[Connection, dict[str, GaugeMetricFamily], dt.date], None]] = [
            self._cases, self._overdue, self._rates, self._pending,
        ]  # fmt: skip
        try:
            conn = self._session()
        except (DatabaseUnreachable, StoreError) as exc:
            log.warning("domain metrics: database unavailable: %s", first_line(exc))
            self.close()
            steps, ok = [], False
        for step in steps:
            try:
                step(conn, fam, today)
            except StoreError as exc:
                ok = False
                log.warning("domain metrics: %s failed: %s", step.__name__.strip("_"), first_line(exc))
                if pg_reads.is_closed(self._conn):
                    break
                try:
                    pg_reads.rollback(conn)
                except StoreError:
                    self.close()
                    break
        fam["success"].add_metric([], 1.0 if ok else 0.0)
        fam["duration"].add_metric([], time.perf_counter() - t0)
        return list(fam.values())

    def _session(self) -> Connection:
        """The open connection, or a new autocommit, read-only one with the statement timeout."""
        if self._conn is None or pg_reads.is_closed(self._conn):
            self._conn = connect(
                self.dsn, application_name="casetrack-metrics", connect_timeout=5, autocommit=True
            )
            pg_reads.start_metrics_session(self._conn, self.statement_timeout_ms)
        return self._conn

    def _cases(self, conn: Connection, fam: dict[str, GaugeMetricFamily], today: dt.date) -> None:
        rows = pg_reads.open_cases(conn, OPEN_STATUSES)
        if rows is None:
            return
        open_by_channel: dict[str, int] = defaultdict(int)
        warnings: dict[tuple[str, str], int] = {}
        for channel, level, n in rows:
            open_by_channel[channel] += n
            if level in ("yellow", "red"):
                warnings[(channel, level)] = n
        for channel in sorted(set(CHANNELS) | set(open_by_channel)):  # every channel: no gaps in the series
            fam["open"].add_metric([channel], open_by_channel.get(channel, 0))
            for level in ("yellow", "red"):  # explicit zeros: alerts and dashboards need a series
                fam["warning"].add_metric([channel, level], warnings.get((channel, level), 0))

    def _overdue(self, conn: Connection, fam: dict[str, GaugeMetricFamily], today: dt.date) -> None:
        counts = pg_reads.overdue_counts(conn, ("supervision_orders", "rectification_items"))
        for key, view in (("sup_overdue", "supervision_orders"), ("rect_overdue", "rectification_items")):
            if view in counts:
                fam[key].add_metric([], counts[view])

    def _rates(self, conn: Connection, fam: dict[str, GaugeMetricFamily], today: dt.date) -> None:
        rows = pg_reads.month_rates(conn, today.replace(day=1))
        if rows is None:
            return
        for r in cap_departments(rows, self.max_departments):
            if r.resolved:
                fam["on_time"].add_metric([r.channel, r.department], r.resolved_on_time / r.resolved)
            if r.rated:
                fam["satisfaction"].add_metric([r.channel, r.department], r.satisfied / r.rated)

    def _pending(self, conn: Connection, fam: dict[str, GaugeMetricFamily], today: dt.date) -> None:
        wanted = set(self.topics.all()) if self.topics is not None else None
        for topic, reason, n in pg_reads.pending_dead_letters(conn):
            if wanted is None or topic in wanted:
                fam["pending"].add_metric([topic, reason], n)

    def close(self) -> None:
        if self._conn is not None:
            pg_reads.close(self._conn)
            self._conn = None


def family_names(families: Iterable[Metric]) -> list[str]:
    """Names of metric families (for tests and the dashboard check)."""
    return [f.name for f in families]
