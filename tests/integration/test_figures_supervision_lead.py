"""Supervision orders with a lead (主办) and co-handlers (协办): completion and lateness per department, through
the real broker, consumer and database (domain.md, 'Supervision orders'; migration 0015).

All three orders are issued Monday 1 June 2026 and due Wednesday 10 June (``due_at`` = 11 June 00:00 +08:00).
A = 市城管局, B = 市交通局, C = 市住建局.
- S1, lead A, co B: B finishes its part on 5 June (in time), A on 12 June (late). The order completes on 12 June
  with A; only A is late (before migration 0015 both were charged).
- S2, no lead, A and B: A finishes on 3 June, B on 15 June. The order completes when the last does (B, 15 June);
  only B is late.
- S3, lead A, co C: A finishes on 20 June (late), C never reports: C's part ends with the order, late too.
Cards (overdue orders, month of the due date, June): A 2 (S1, S3), B 1 (S2), C 1 (S3, as co-handler).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from alembic import command
from alembic.config import Config

from app.bootstrap import MIGRATIONS, migrate
from app.settings import Settings
from events.codec import DecodeError
from tests.integration.helpers import consume, publish, query
from tests.integration.test_kpis import at, e, rows_by_key
from tests.integration.test_migration_0010 import columns

A, B, C = "市城管局", "市交通局", "市住建局"


def issued(order: str, departments: list[str], lead: str | None = None) -> Any:
    data: dict[str, Any] = {"title": "t", "issued_by": "市政府督查室", "level": "office",
                            "departments": departments, "due_date": "2026-06-10"}  # fmt: skip
    if lead is not None:
        data["lead_department"] = lead
    return e("supervision.issued", order, at(6, 1), data)


def done(order: str, department: str, day: int) -> Any:
    return e("supervision.completed", order, at(6, day), {"department": department, "result": "已办结"})


def test_completion_and_lateness_per_department(settings: Settings) -> None:
    events = [
        issued("S1", [A, B], lead=A), done("S1", B, 5), done("S1", A, 12),
        issued("S2", [A, B]), done("S2", A, 3), done("S2", B, 15),
        issued("S3", [A, C], lead=A), done("S3", A, 20),
    ]  # fmt: skip
    publish(settings, events)
    consume(settings)
    url = settings.database_url or ""

    orders = {r[0]: r[1:] for r in query(url, "SELECT order_id, status, completed_by, completed_at, overdue"
                                              " FROM supervision_orders")}  # fmt: skip
    assert orders == {
        "S1": ("completed", A, at(6, 12), True),
        "S2": ("completed", B, at(6, 15), True),  # the last addressed department completes it
        "S3": ("completed", A, at(6, 20), True),
    }
    per_dept = {
        (r[0], r[1]): r[2:]
        for r in query(
            url, "SELECT order_id, department, role, completed_at, overdue FROM supervision_departments"
        )
    }
    assert per_dept == {
        ("S1", A): ("lead", at(6, 12), True),
        ("S1", B): ("co", at(6, 5), False),  # its part was in time: not late because the order was
        ("S2", A): ("addressed", at(6, 3), False),
        ("S2", B): ("addressed", at(6, 15), True),
        ("S3", A): ("lead", at(6, 20), True),
        ("S3", C): ("co", None, True),  # never reported: its part ends with the order, late
    }
    cards = sorted(
        query(url, "SELECT subject_id, department, role FROM penalty_items WHERE aggregate = 'supervision'")
    )
    assert cards == sorted([("S1", A, "lead"), ("S2", B, "lead"), ("S3", A, "lead"), ("S3", C, "co")])
    june = dt.date(2026, 6, 1)
    card = rows_by_key(url, "department_scorecard", "department,month")
    assert {d: card[(d, june)]["overdue_supervision_orders"] for d in (A, B, C)} == {A: 2, B: 1, C: 1}


def test_a_lead_outside_the_addressed_departments_is_refused() -> None:
    bad = {"title": "t", "issued_by": "x", "level": "office", "departments": [A], "lead_department": B,
           "due_date": "2026-06-10"}  # fmt: skip
    try:
        e("supervision.issued", "S9", at(6, 1), bad)
    except DecodeError as exc:  # the catalog refuses it (a consumer dead-letters it as schema_violation)
        assert "lead_department must be one of departments" in str(exc)
    else:
        raise AssertionError("an order whose lead is not addressed was accepted")


def test_0015_downgrades_to_0014_and_upgrades_again(database_url: str) -> None:
    assert columns(database_url, "supervision_departments")[-1] == "overdue"
    penalty = columns(database_url, "penalty_items")
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["dsn"] = database_url
    command.downgrade(cfg, "0014")
    assert columns(database_url, "supervision_departments") == []
    assert columns(database_url, "penalty_items") == penalty
    migrate(database_url)
    assert columns(database_url, "supervision_departments")[-1] == "overdue"
    analyst = query(
        database_url,
        "SELECT has_table_privilege('casetrack_analyst', 'public.supervision_departments', 'SELECT')",
    )
    assert analyst == [(True,)]
