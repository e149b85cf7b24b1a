"""Lead and co-handling departments (主办 / 协办, issue 19 point 4) through the real pipeline, March 2026.

A 12345 order received Mon 2 Mar 2026 is due at the end of Mon 9 Mar (Tue 3 (1), Wed 4 (2), Thu 5 (3), Fri 6
(4), Mon 9 (5); no holiday in March 2026). Every rate and card counts the lead (``department``); the
co-departments (``co_departments`` of the latest assignment) get rows of their own, role ``co``, only in
``completion_rates_by_role`` and in ``department_scorecard.co_handled``.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from app.settings import Settings
from tests.integration.figures_support import (
    OFFICE,
    at,
    end_of,
    ev,
    one,
    received,
    rows,
    scorecard_reconciles,
)
from tests.integration.helpers import consume, publish

A, B, C = "市城管局", "市住建局", "市交通局"
MAR = dt.date(2026, 3, 1)


def assigned(cid: str, t: dt.datetime, lead: str, *co: str) -> Any:
    data: dict[str, Any] = {"department": lead}
    if co:
        data["co_departments"] = list(co)
    return ev("case.assigned", cid, t, data)


def resolved(cid: str, t: dt.datetime, dept: str) -> Any:
    return ev("case.resolved", cid, t, {"department": dept, "outcome": "resolved"})


def stream() -> list[Any]:
    return [
        # R1: A leads, B and C co-handle; resolved Wed 4 Mar, on time.
        received("R1", at(3, 2)), assigned("R1", at(3, 2, 10), A, B, C), resolved("R1", at(3, 4), A),
        # R2: B leads, A co-handles; resolved Tue 10 Mar, after the end of Mon 9 Mar: B's red card, not A's.
        received("R2", at(3, 2)), assigned("R2", at(3, 2, 10), B, A), resolved("R2", at(3, 10), B),
        # R3: A (with B) hands it back on Tue 3 Mar (in time); C takes it alone and resolves it Wed 4 Mar.
        received("R3", at(3, 2)), assigned("R3", at(3, 2, 10), A, B),
        ev("case.returned", "R3", at(3, 3), {"department": A, "reason": "非本单位职责"}),
        assigned("R3", at(3, 3, 14), C), resolved("R3", at(3, 4), C),
        # R4: A with B resolves it Tue 3 Mar; reopened Wed 4 Mar (重办), A with C resolves it Thu 5 Mar (due at
        # the end of Wed 11 Mar: Thu 5 (1) .. Wed 11 (5)). Cycle 1 co-handled by B, cycle 2 by C.
        received("R4", at(3, 2)), assigned("R4", at(3, 2, 10), A, B), resolved("R4", at(3, 3), A),
        ev("case.reopened", "R4", at(3, 4), {"reason": "群众不满意"}),
        assigned("R4", at(3, 4, 10), A, C), resolved("R4", at(3, 5), A),
        # R5: never assigned, open past the end of Mon 9 Mar: the intake office's red card (role office).
        received("R5", at(3, 2)),
    ]  # fmt: skip


def test_the_fold_keeps_the_lead_and_the_co_departments(settings: Settings) -> None:
    publish(settings, stream())
    consume(settings)
    url = settings.database_url or ""
    co = {
        r["case_id"]: (r["department"], r["co_departments"]) for r in rows(url, "SELECT * FROM case_status")
    }
    assert co == {"R1": (A, [B, C]), "R2": (B, [A]), "R3": (C, None), "R4": (A, [C]), "R5": (None, None)}
    cycles = rows(
        url, "SELECT cycle, department, co_departments FROM case_cycles WHERE case_id = 'R4' ORDER BY 1"
    )
    assert [tuple(c.values()) for c in cycles] == [(1, A, [B]), (2, A, [C])]

    # completion_rates: the lead only, as before (role lead); per department of the case row
    lead = {
        r["department"]: (r["received"], r["resolved"], r["resolved_on_time"], r["role"])
        for r in rows(url, "SELECT * FROM completion_rates WHERE month = %s", (MAR,))
    }
    assert lead == {
        A: (2, 3, 3, "lead"),  # received R1 R4; resolved R1, R4 twice, all on time
        B: (1, 1, 0, "lead"),  # R2, late
        C: (1, 1, 1, "lead"),  # R3
        None: (1, 0, 0, "lead"),  # R5, nobody holds it
    }
    by_role = {
        (r["department"], r["role"]): (r["received"], r["resolved"], r["resolved_on_time"])
        for r in rows(url, "SELECT * FROM completion_rates_by_role WHERE month = %s", (MAR,))
    }
    assert {k: v for k, v in by_role.items() if k[1] == "lead"} == {
        (d, "lead"): v[:3] for d, v in lead.items()
    }
    assert {k: v for k, v in by_role.items() if k[1] == "co"} == {
        (A, "co"): (1, 1, 0),  # R2 (late)
        (B, "co"): (1, 2, 2),  # received: R1 (R3's B was dropped by the return, R4's by the re-assignment);
        # resolved: R1 and R4's first cycle
        (C, "co"): (2, 2, 2),  # received: R1 R4; resolved: R1 and R4's second cycle
    }

    # the example of docs/analysts.md ('Lead and co-handling departments'), row for row
    documented = rows(
        url,
        "SELECT department, role, received, resolved, resolved_on_time, on_time_rate FROM completion_rates_by_role"
        " WHERE month = DATE '2026-03-01' AND channel = 'hotline_12345' ORDER BY role DESC, department NULLS LAST",
    )
    one_, zero = Decimal("1.0000"), Decimal("0.0000")
    assert {tuple(r.values()) for r in documented} == {
        (C, "lead", 1, 1, 1, one_), (B, "lead", 1, 1, 0, zero), (A, "lead", 2, 3, 3, one_),
        (None, "lead", 1, 0, 0, None), (C, "co", 2, 2, 2, one_), (B, "co", 1, 2, 2, one_), (A, "co", 1, 1, 0, zero),
    }  # fmt: skip

    items = rows(url, "SELECT subject_id, department, cause, role, points FROM penalty_items ORDER BY 1")
    assert [tuple(i.values()) for i in items] == [
        ("R2", B, "overdue", "lead", Decimal("-10.00")),
        ("R5", OFFICE, "overdue", "office", Decimal("-10.00")),
    ]
    card = {
        r["department"]: (r["cases_handled"], r["co_handled"], r["red_count"], r["penalty_score"])
        for r in rows(url, "SELECT * FROM department_scorecard WHERE month = %s", (MAR,))
    }
    assert card == {
        A: (3, 1, 0, Decimal("0.00")),  # led R1, R4 x2; co-handled R2
        B: (1, 2, 1, Decimal("-10.00")),  # led R2 (late); co-handled R1 and R4's first cycle
        C: (1, 2, 0, Decimal("0.00")),  # led R3; co-handled R1 and R4's second cycle
        OFFICE: (0, 0, 1, Decimal("-10.00")),  # R5
    }
    assert scorecard_reconciles(url) == 2
    r2 = one(url, "SELECT due_at, on_time FROM case_status WHERE case_id = 'R2'")
    assert r2 == {"due_at": end_of(3, 9), "on_time": False}
