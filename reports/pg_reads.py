"""The read queries of casetrack in one adapter: the office figures of ``casetrack demo`` and its HTML report, the
domain metrics of ``casetrack serve`` (:mod:`ops.domain_metrics`) and the stored positions of ``casetrack lag``
(:mod:`ops.lag`). Callers get plain rows (:mod:`reports.figure_rows`) and never import the driver; a driver error
of the metrics' queries leaves as the Store port's :class:`~consumers.ports.StoreError`. See
docs/architecture.md, "Read queries".

The figures read the analysts' views in ``public`` (``case_status``, ``completion_rates``, ``petition_tallies``,
``supervision_orders``, ``rectification_items``, ``department_scorecard``; see docs/analysts.md), except the
pipeline accounting, which reads the consumer's bookkeeping in the ``casetrack`` schema (the demo connects as
the database owner). Rates are computed from summed counts (never by averaging the views' per-row rates), so a
total over months, channels or departments is exact. The figures cover the whole database: the demo's
database holds exactly one simulated month.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from decimal import Decimal
from typing import Any, TypeAlias

import psycopg2
import psycopg2.extensions
from psycopg2 import sql

from consumers.pg_errors import store_error
from consumers.ports import TP, StoreError
from reports.figure_rows import (
    CHANNELS,
    RECTIFICATION_SOURCES,
    Accounting,
    DayPoint,
    DepartmentRow,
    Figures,
    HeatCell,
    OverdueOrder,
    PetitionRow,
    RateRow,
    RectificationRow,
    ScoreRow,
    Summary,
    SupervisionSummary,
)

#: a PostgreSQL connection, for the type hints of modules that pass one along without importing the driver
Connection: TypeAlias = psycopg2.extensions.connection
Cursor: TypeAlias = psycopg2.extensions.cursor


# --- figures (casetrack demo, its HTML report) ---------------------------------------------------------------
def _f(value: Decimal | float | None) -> float | None:
    return None if value is None else float(value)


def summary(cur: Cursor) -> Summary:
    cur.execute(
        """SELECT (SELECT min(received_at) FROM case_status), (SELECT max(received_at) FROM case_status),
                  coalesce(sum(received), 0), coalesce(sum(received_resolved), 0), coalesce(sum(resolved), 0),
                  coalesce(sum(resolved_on_time), 0), coalesce(sum(rated), 0), coalesce(sum(satisfied), 0),
                  coalesce(sum(followed_up), 0)
           FROM completion_rates"""
    )
    ((first, last, received, received_resolved, resolved, on_time, rated, satisfied, followed_up),) = (
        cur.fetchall()
    )
    cur.execute(
        """SELECT count(*) FILTER (WHERE resolved_at IS NULL AND status NOT IN ('rejected', 'merged')),
                  count(*) FILTER (WHERE resolved_at IS NULL AND warning_level = 'yellow'),
                  count(*) FILTER (WHERE resolved_at IS NULL AND warning_level = 'red'),
                  avg(working_days) FILTER (WHERE resolved_at IS NOT NULL)
           FROM case_status"""
    )
    ((open_cases, yellow, red, avg_wd),) = cur.fetchall()
    return Summary(
        first, last, int(received), int(received_resolved), int(resolved), int(on_time), int(rated),
        int(satisfied), int(followed_up), int(open_cases), int(yellow), int(red), _f(avg_wd),
    )  # fmt: skip


def _rate_row(r: tuple[Any, ...], avg_working_days: float | None = None) -> RateRow:
    return RateRow(r[0], int(r[1]), int(r[2]), int(r[3]), int(r[4]), int(r[5]), int(r[6]), avg_working_days)


def channels(cur: Cursor) -> list[RateRow]:
    """Intake and rates per channel, in :data:`CHANNELS` order."""
    cur.execute(
        """SELECT channel, sum(received), sum(received_resolved), sum(resolved), sum(resolved_on_time),
                  sum(rated), sum(satisfied)
           FROM completion_rates GROUP BY channel"""
    )
    rows = {r[0]: _rate_row(r) for r in cur.fetchall()}
    order = [c for c in CHANNELS if c in rows] + sorted(c for c in rows if c not in CHANNELS)
    return [rows[c] for c in order]


def departments(cur: Cursor) -> list[RateRow]:
    """Rates per department (the case's holder or resolver), most cases received first."""
    cur.execute(
        """SELECT department, avg(working_days) FROM case_status
           WHERE resolved_at IS NOT NULL GROUP BY department"""
    )
    avg_wd = dict(cur.fetchall())
    cur.execute(
        """SELECT department, sum(received), sum(received_resolved), sum(resolved), sum(resolved_on_time),
                  sum(rated), sum(satisfied)
           FROM completion_rates GROUP BY department
           ORDER BY sum(received) DESC, sum(resolved) DESC, department NULLS LAST"""
    )
    return [_rate_row(r, _f(avg_wd.get(r[0]))) for r in cur.fetchall()]


def petitions(cur: Cursor) -> list[PetitionRow]:
    cur.execute(
        """SELECT channel, sum(received)::int, sum(accepted)::int, sum(rejected)::int,
                  sum(received_resolved)::int, sum(resolved)::int, sum(resolved_on_time)::int,
                  sum(repeat_petitions)::int, sum(review_requests)::int, sum(re_review_requests)::int
           FROM petition_tallies GROUP BY channel"""
    )
    rows = cur.fetchall()
    by_channel = {r[0]: PetitionRow(*r) for r in rows}
    return [by_channel[c] for c in ("letter", "visit", "online_petition") if c in by_channel]


def supervision(cur: Cursor, limit: int = 10) -> tuple[SupervisionSummary, list[OverdueOrder]]:
    """Order counts, and the open overdue orders, most urged and longest overdue first."""
    cur.execute(
        """SELECT count(*), count(*) FILTER (WHERE status = 'completed'),
                  count(*) FILTER (WHERE status = 'completed' AND overdue),
                  count(*) FILTER (WHERE status = 'cancelled'),
                  count(*) FILTER (WHERE status NOT IN ('completed', 'cancelled')),
                  count(*) FILTER (WHERE status NOT IN ('completed', 'cancelled') AND overdue)
           FROM supervision_orders"""
    )
    ((issued, completed, late, cancelled, open_, overdue_open),) = cur.fetchall()
    cur.execute(
        """SELECT escalation_stage, count(*)::int FROM supervision_orders
               WHERE status NOT IN ('completed', 'cancelled') GROUP BY escalation_stage"""
    )
    stages = dict(cur.fetchall())
    cur.execute(
        """SELECT order_id, title, issued_by, departments, due_date, days_overdue, urge_count, escalation_stage,
                  progress_percent
           FROM supervision_orders
           WHERE overdue AND status NOT IN ('completed', 'cancelled')
           ORDER BY urge_count DESC, days_overdue DESC, order_id
           LIMIT %s""",
        (limit,),
    )
    overdue = cur.fetchall()
    return (
        SupervisionSummary(issued, completed, late, cancelled, open_, overdue_open, stages),
        [OverdueOrder(r[0], r[1] or "", r[2], list(r[3] or []), *r[4:]) for r in overdue],
    )


def rectification(cur: Cursor) -> list[RectificationRow]:
    cur.execute(
        """SELECT source, count(*)::int, count(*) FILTER (WHERE status = 'verified')::int,
                  count(*) FILTER (WHERE status = 'completed')::int,
                  count(*) FILTER (WHERE status NOT IN ('verified', 'completed'))::int,
                  count(*) FILTER (WHERE overdue)::int, count(*) FILTER (WHERE extension_count > 0)::int,
                  avg(progress)
           FROM rectification_items GROUP BY source"""
    )
    rows = cur.fetchall()
    by_source = {r[0]: RectificationRow(r[0], r[1], r[2], r[3], r[4], r[5], r[6], _f(r[7])) for r in rows}
    order = [s for s in RECTIFICATION_SOURCES if s in by_source] + sorted(
        s for s in by_source if s not in RECTIFICATION_SOURCES
    )
    return [by_source[s] for s in order]


def scorecard(cur: Cursor) -> list[ScoreRow]:
    cur.execute(
        """SELECT department, sum(cases_handled)::int, sum(yellow_count)::int, sum(red_count)::int,
                  sum(overdue_supervision_orders)::int, sum(overdue_rectification_items)::int, sum(penalty_score)
           FROM department_scorecard GROUP BY department
           ORDER BY sum(penalty_score), sum(red_count) DESC, department NULLS LAST"""
    )
    rows = cur.fetchall()
    return [ScoreRow(r[0], r[1], r[2], r[3], r[4], r[5], float(r[6])) for r in rows]


def penalty_points(cur: Cursor) -> dict[str, float]:
    """The scorecard's points (casetrack.scorecard_settings), to explain the score."""
    cur.execute(
        """SELECT supervision_notice_points, yellow_points, red_points, overdue_rectification_points
           FROM casetrack.scorecard_settings"""
    )
    rows = cur.fetchall()
    if not rows:
        return {}
    names = ("supervision_notice", "yellow", "red", "overdue_rectification")
    return {n: float(v) for n, v in zip(names, rows[0], strict=True)}


def daily(cur: Cursor) -> list[DayPoint]:
    """Cases received per day, and resolved (on time) per day, every day from the first intake to the last
    event (days in Asia/Shanghai)."""
    cur.execute(
        """WITH bounds AS (
               SELECT min((received_at AT TIME ZONE 'Asia/Shanghai')::date) AS lo,
                      greatest(max((received_at AT TIME ZONE 'Asia/Shanghai')::date),
                               max((resolved_at AT TIME ZONE 'Asia/Shanghai')::date)) AS hi
               FROM case_status),
           received AS (
               SELECT (received_at AT TIME ZONE 'Asia/Shanghai')::date AS day, count(*) AS n
               FROM case_status WHERE received_at IS NOT NULL GROUP BY 1),
           resolved AS (
               SELECT (resolved_at AT TIME ZONE 'Asia/Shanghai')::date AS day, count(*) AS n,
                      count(*) FILTER (WHERE on_time) AS on_time
               FROM case_status WHERE resolved_at IS NOT NULL GROUP BY 1)
           SELECT d::date, coalesce(r.n, 0)::int, coalesce(s.n, 0)::int, coalesce(s.on_time, 0)::int
           FROM bounds b, generate_series(b.lo, b.hi, interval '1 day') AS d
           LEFT JOIN received r ON r.day = d::date LEFT JOIN resolved s ON s.day = d::date
           ORDER BY 1"""
    )
    rows = cur.fetchall()
    return [DayPoint(*r) for r in rows]


def heatmap(cur: Cursor) -> list[HeatCell]:
    """Yellow and red cards per department × week, with the scorecard's attribution (docs/analysts.md): a yellow
    card in the week of ``yellow_at``, a red one in the week its deadline passed (or it was received, for a red
    earned only by a step overrun). The row sums per department equal the scorecard's yellow and red counts."""
    cur.execute(
        """WITH cards AS (
               SELECT department, yellow_at AS at, 1 AS yellow, 0 AS red
               FROM case_status
               WHERE yellow_at IS NOT NULL AND yellow_at <= coalesce(resolved_at, now())
                 AND warning_level <> 'red' AND status NOT IN ('rejected', 'merged')
               UNION ALL
               SELECT department,
                      CASE WHEN on_time IS FALSE OR (resolved_at IS NULL AND due_at <= now())
                           THEN due_at ELSE received_at END,
                      0, 1
               FROM case_status WHERE warning_level = 'red')
           SELECT department, date_trunc('week', at AT TIME ZONE 'Asia/Shanghai')::date,
                  sum(yellow)::int, sum(red)::int
           FROM cards GROUP BY 1, 2 ORDER BY 1, 2"""
    )
    rows = cur.fetchall()
    return [HeatCell(*r) for r in rows]


def accounting(cur: Cursor) -> Accounting:
    cur.execute(
        """SELECT (SELECT coalesce(sum(t.next_offset), 0) FROM casetrack.tracking t
                   JOIN casetrack.live_generations g ON g.generation = t.generation),
                  (SELECT count(*) FROM casetrack.event_store)"""
    )
    ((consumed, applied),) = cur.fetchall()
    cur.execute("SELECT reason, count(*)::int FROM casetrack.dead_letters GROUP BY reason ORDER BY 2 DESC, 1")
    reasons = cur.fetchall()
    return Accounting(int(consumed), int(applied), {r: n for r, n in reasons})


def load(conn: Connection, overdue_orders: int = 10) -> Figures:
    """Every figure, read in one repeatable-read snapshot so that the tables agree with each other (and the
    wall-clock columns use one ``now()``)."""
    conn.set_session(isolation_level="REPEATABLE READ", readonly=True)
    try:
        with conn.cursor() as cur:
            cur.execute("SET LOCAL TIME ZONE 'Asia/Shanghai'")
            sup, orders = supervision(cur, overdue_orders)
            return Figures(
                summary=summary(cur),
                channels=channels(cur),
                departments=departments(cur),
                petitions=petitions(cur),
                supervision=sup,
                overdue_orders=orders,
                rectification=rectification(cur),
                scorecard=scorecard(cur),
                daily=daily(cur),
                heatmap=heatmap(cur),
                accounting=accounting(cur),
                penalty_points=penalty_points(cur),
            )
    finally:
        conn.rollback()
        conn.set_session(isolation_level="DEFAULT", readonly=False)


# --- domain metrics: an autocommit, read-only session; a view that does not exist yet reads as None ----------
@contextmanager
def _read_errors() -> Iterator[None]:
    """Driver errors leave as the Store port's: a lost connection as ``StoreUnavailable``, any other as
    ``StoreError`` (a metric's query failed; the next one may still work)."""
    try:
        yield
    except (psycopg2.OperationalError, psycopg2.InterfaceError) as exc:
        raise store_error(exc) from exc
    except psycopg2.Error as exc:
        raise StoreError((str(exc).strip().splitlines() or [type(exc).__name__])[0], exc) from exc


def start_metrics_session(conn: Connection, statement_timeout_ms: int) -> None:
    """Bound every query of the session and make it read-only."""
    with _read_errors(), conn.cursor() as cur:
        cur.execute("SET statement_timeout = %s", (statement_timeout_ms,))
        cur.execute("SET default_transaction_read_only = on")


def _exists(cur: Cursor, relation: str) -> bool:
    cur.execute("SELECT to_regclass(%s) IS NOT NULL", (relation,))
    row = cur.fetchone()
    return bool(row and row[0])


def open_cases(conn: Connection, statuses: Sequence[str]) -> list[tuple[str, str | None, int]] | None:
    """(channel, warning level, count) of the cases in ``statuses``."""
    with _read_errors(), conn.cursor() as cur:
        if not _exists(cur, "public.case_status"):
            return None
        cur.execute(
            "SELECT coalesce(channel, 'unknown'), warning_level, count(*) FROM public.case_status"
            " WHERE status = ANY(%s) GROUP BY 1, 2 ORDER BY 1, 2",
            (list(statuses),),
        )
        return [(c, level, int(n)) for c, level, n in cur.fetchall()]


def overdue_counts(conn: Connection, views: Sequence[str]) -> dict[str, int]:
    """Rows with ``overdue`` set, per view of ``views`` that exists."""
    out: dict[str, int] = {}
    with _read_errors(), conn.cursor() as cur:
        for view in views:
            if _exists(cur, f"public.{view}"):
                cur.execute(
                    sql.SQL("SELECT count(*) FROM {} WHERE overdue").format(sql.Identifier("public", view))
                )
                row = cur.fetchone()
                out[view] = int(row[0]) if row else 0
    return out


def month_rates(conn: Connection, month: dt.date) -> list[DepartmentRow] | None:
    """The ``completion_rates`` rows of ``month`` (its first day)."""
    with _read_errors(), conn.cursor() as cur:
        if not _exists(cur, "public.completion_rates"):
            return None
        cur.execute(
            "SELECT coalesce(channel, 'unknown'), coalesce(department, 'unassigned'), received, resolved,"
            " resolved_on_time, rated, satisfied FROM public.completion_rates WHERE month = %s",
            (month,),
        )
        return [DepartmentRow(*r) for r in cur.fetchall()]


def pending_dead_letters(conn: Connection) -> list[tuple[str, str, int]]:
    """(topic, reason, count) of the dead letters neither re-published nor discarded."""
    with _read_errors(), conn.cursor() as cur:
        cur.execute(
            "SELECT topic, reason, count(*) FROM casetrack.dead_letters"
            " WHERE republished_at IS NULL AND discarded_at IS NULL GROUP BY 1, 2 ORDER BY 1, 2"
        )
        return [(t, r, int(n)) for t, r, n in cur.fetchall()]


def is_closed(conn: Connection | None) -> bool:
    return conn is None or bool(conn.closed)


def rollback(conn: Connection) -> None:
    """End a failed statement's transaction; ``StoreError`` if the connection is broken."""
    with _read_errors():
        conn.rollback()


def close(conn: Connection) -> None:
    """Close, ignoring a connection that is already broken."""
    try:
        conn.close()
    except psycopg2.Error:
        pass


# --- lag ---------------------------------------------------------------------------------------------------
Position: TypeAlias = tuple[int, dt.datetime | None, dt.datetime | None]


def live_positions(conn: Connection) -> tuple[dict[str, int], dict[TP, Position]]:
    """The live generation of every projection family, and the stored (next offset, last event time, updated
    at) of every partition of the live generations."""
    with conn, conn.cursor() as cur:
        cur.execute("SELECT projection, generation FROM casetrack.live_generations")
        live = {f: int(g) for f, g in cur.fetchall()}
        cur.execute(
            "SELECT t.topic, t.partition, t.next_offset, t.last_event_time, t.updated_at"
            " FROM casetrack.tracking t JOIN casetrack.live_generations g ON g.generation = t.generation"
        )
        stored = {(t, p): (int(o), le, up) for t, p, o, le, up in cur.fetchall()}
    return live, stored
