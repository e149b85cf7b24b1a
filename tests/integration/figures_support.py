"""Shared builders for the figures tests (issue 14): events on real 2026 dates, rows read back by name.

Calendar facts the tests rely on (the official 2026 notice, as ``holidays`` carries it; checked in
``test_figures_calendar.py::test_the_2026_calendar_facts_the_figures_tests_rely_on``):
Spring Festival 2026-02-15..02-23 off, Sat 02-14 and Sat 02-28 worked; Mid-Autumn Fri 09-25 off; National
Day 10-01..10-07 off, Sun 09-20 and Sat 10-10 worked.
"""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

from events.catalog import Event
from events.codec import event_from_dict
from projections.deadlines import SHANGHAI
from tests.integration.helpers import query

OFFICE = "hotline/12345/shijiazhuang"  # the intake office: the CloudEvents source of case.received
_ids = itertools.count()


def at(month: int, day: int, hour: int = 9, year: int = 2026) -> dt.datetime:
    return dt.datetime(year, month, day, hour, tzinfo=SHANGHAI)


def end_of(month: int, day: int, year: int = 2026) -> dt.datetime:
    """24:00 Asia/Shanghai of that day: how a deadline is stored."""
    return dt.datetime(year, month, day, tzinfo=SHANGHAI) + dt.timedelta(days=1)


def ev(
    type_: str, subject: str, t: dt.datetime, data: dict[str, Any] | None = None, source: str = OFFICE
) -> Event:
    return event_from_dict(
        {"specversion": "1.0", "id": f"f{next(_ids):07d}", "source": source, "type": type_, "subject": subject,
         "time": t.isoformat(), "data": data or {}}
    )  # fmt: skip


def received(cid: str, t: dt.datetime, channel: str = "hotline_12345", **extra: Any) -> Event:
    return ev("case.received", cid, t, {"channel": channel, "category": "市政设施", "summary": "s", **extra})


def rows(url: str, sql: str, params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
    """The result of ``sql`` as dicts (column names from the cursor)."""
    import psycopg2

    conn = psycopg2.connect(url)
    try:
        with conn.cursor() as cur:
            cur.execute(sql, params)
            names = [d[0] for d in cur.description or ()]
            return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
    finally:
        conn.close()


def one(url: str, sql: str, params: tuple[Any, ...] = ()) -> dict[str, Any]:
    found = rows(url, sql, params)
    assert len(found) == 1, found
    return found[0]


def scorecard_reconciles(url: str) -> int:
    """penalty_items summed by department and month equals department_scorecard, row for row; returns the
    number of department-months with cards."""
    items = query(
        url,
        "SELECT department, month, sum(points), count(*) FILTER (WHERE card = 'red'),"
        " count(*) FILTER (WHERE card = 'yellow'), count(*) FILTER (WHERE card = 'violation'),"
        " count(*) FILTER (WHERE card = 'supervision'), count(*) FILTER (WHERE card = 'rectification'),"
        " count(*) FILTER (WHERE estimated) FROM penalty_items GROUP BY department, month",
    )
    card = query(
        url,
        "SELECT department, month, penalty_score, red_count, yellow_count, violation_count,"
        " overdue_supervision_orders, overdue_rectification_items, estimated_cards FROM department_scorecard"
        " WHERE red_count + yellow_count + violation_count + overdue_supervision_orders"
        " + overdue_rectification_items > 0",
    )
    assert sorted(items, key=repr) == sorted(card, key=repr)
    return len(card)
