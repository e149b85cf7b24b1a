"""Domain metrics: what the projections say, queried from PostgreSQL when Prometheus scrapes (cached).

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
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import psycopg2
from prometheus_client.core import GaugeMetricFamily, Metric
from psycopg2 import sql

from events.data import CHANNELS
from events.topics import Topics
from projections.calendar import WorkCalendar

log = logging.getLogger("casetrack.metrics")
SHANGHAI = ZoneInfo("Asia/Shanghai")
OPEN_STATUSES = ("received", "accepted", "assigned", "returned", "suspended", "reopened")
OTHER = "other"


@dataclass(frozen=True)
class DepartmentRow:
    """One (channel, department) of the month in ``completion_rates``."""

    channel: str
    department: str
    received: int
    resolved: int
    resolved_on_time: int
    rated: int
    satisfied: int


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
        self._conn: Any = None
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
        steps: list[Callable[[Any, dict[str, GaugeMetricFamily], dt.date], None]] = [
            self._cases, self._overdue, self._rates, self._pending,
        ]  # fmt: skip
        try:
            cur = self._cursor()
        except psycopg2.Error as exc:
            log.warning("domain metrics: database unavailable: %s", _first_line(exc))
            self.close()
            steps, ok = [], False
        for step in steps:
            try:
                step(cur, fam, today)
            except psycopg2.Error as exc:
                ok = False
                log.warning("domain metrics: %s failed: %s", step.__name__.strip("_"), _first_line(exc))
                if self._conn is None or self._conn.closed:
                    break
                try:
                    self._conn.rollback()
                except psycopg2.Error:
                    self.close()
                    break
        fam["success"].add_metric([], 1.0 if ok else 0.0)
        fam["duration"].add_metric([], time.perf_counter() - t0)
        return list(fam.values())

    def _cursor(self) -> Any:
        if self._conn is None or self._conn.closed:
            self._conn = psycopg2.connect(self.dsn, application_name="casetrack-metrics", connect_timeout=5)
            self._conn.autocommit = True
            with self._conn.cursor() as cur:
                cur.execute("SET statement_timeout = %s", (self.statement_timeout_ms,))
                cur.execute("SET default_transaction_read_only = on")
        return self._conn.cursor()

    @staticmethod
    def _exists(cur: Any, relation: str) -> bool:
        cur.execute("SELECT to_regclass(%s) IS NOT NULL", (relation,))
        return bool(cur.fetchone()[0])

    def _cases(self, cur: Any, fam: dict[str, GaugeMetricFamily], today: dt.date) -> None:
        if not self._exists(cur, "public.case_status"):
            return
        cur.execute(
            "SELECT coalesce(channel, 'unknown'), warning_level, count(*) FROM public.case_status"
            " WHERE status = ANY(%s) GROUP BY 1, 2 ORDER BY 1, 2",
            (list(OPEN_STATUSES),),
        )
        open_by_channel: dict[str, int] = defaultdict(int)
        warnings: dict[tuple[str, str], int] = {}
        for channel, level, n in cur.fetchall():
            open_by_channel[channel] += n
            if level in ("yellow", "red"):
                warnings[(channel, level)] = n
        for channel in sorted(set(CHANNELS) | set(open_by_channel)):  # every channel: no gaps in the series
            fam["open"].add_metric([channel], open_by_channel.get(channel, 0))
            for level in ("yellow", "red"):  # explicit zeros: alerts and dashboards need a series
                fam["warning"].add_metric([channel, level], warnings.get((channel, level), 0))

    def _overdue(self, cur: Any, fam: dict[str, GaugeMetricFamily], today: dt.date) -> None:
        for key, view in (("sup_overdue", "supervision_orders"), ("rect_overdue", "rectification_items")):
            if self._exists(cur, f"public.{view}"):
                cur.execute(
                    sql.SQL("SELECT count(*) FROM {} WHERE overdue").format(sql.Identifier("public", view))
                )
                fam[key].add_metric([], cur.fetchone()[0])

    def _rates(self, cur: Any, fam: dict[str, GaugeMetricFamily], today: dt.date) -> None:
        if not self._exists(cur, "public.completion_rates"):
            return
        cur.execute(
            "SELECT coalesce(channel, 'unknown'), coalesce(department, 'unassigned'), received, resolved,"
            " resolved_on_time, rated, satisfied FROM public.completion_rates WHERE month = %s",
            (today.replace(day=1),),
        )
        rows = [DepartmentRow(*r) for r in cur.fetchall()]
        for r in cap_departments(rows, self.max_departments):
            if r.resolved:
                fam["on_time"].add_metric([r.channel, r.department], r.resolved_on_time / r.resolved)
            if r.rated:
                fam["satisfaction"].add_metric([r.channel, r.department], r.satisfied / r.rated)

    def _pending(self, cur: Any, fam: dict[str, GaugeMetricFamily], today: dt.date) -> None:
        cur.execute(
            "SELECT topic, reason, count(*) FROM casetrack.dead_letters"
            " WHERE republished_at IS NULL AND discarded_at IS NULL GROUP BY 1, 2 ORDER BY 1, 2"
        )
        wanted = set(self.topics.all()) if self.topics is not None else None
        for topic, reason, n in cur.fetchall():
            if wanted is None or topic in wanted:
                fam["pending"].add_metric([topic, reason], n)

    def close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            except psycopg2.Error:
                pass  # already broken
            self._conn = None


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def family_names(families: Iterable[Metric]) -> list[str]:
    """Names of metric families (for tests and the dashboard check)."""
    return [f.name for f in families]
