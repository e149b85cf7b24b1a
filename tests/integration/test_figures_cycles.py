"""重办 (re-handling) cycles through the real pipeline: a reopen starts a new period from the reopen, the first
resolution keeps its own on-time result in its own month, and September's published figures do not move.

The case: a 12345 order received Mon 21 Sep 2026 by 市住建局, resolved Thu 24 Sep, rated dissatisfied and
reopened Thu 8 Oct (after National Day), resolved again Tue 13 Oct. Calendar: Mid-Autumn Fri 25 Sep off;
National Day 1-7 Oct off; Sat 10 Oct worked (调休).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

from app.settings import Settings
from projections.deadlines import SHANGHAI
from projections.policy import DEFAULT_POLICY_RESOURCE
from tests.integration.figures_support import at, end_of, ev, one, received, rows, scorecard_reconciles
from tests.integration.helpers import consume, publish

DEPT = "市住建局"
SEPT = dt.date(2026, 9, 1)
OCT = dt.date(2026, 10, 1)
RATES = "SELECT * FROM completion_rates WHERE month = %s AND channel = 'hotline_12345' AND department = %s"


def first_cycle(cid: str) -> list[Any]:
    return [
        received(cid, at(9, 21)),
        ev("case.assigned", cid, at(9, 21, 10), {"department": DEPT}),
        ev("case.resolved", cid, at(9, 24, 10), {"department": DEPT, "outcome": "resolved"}),
        ev("case.followed_up", cid, at(9, 24, 15), {"satisfaction": "dissatisfied"}),
    ]


def test_a_reopen_starts_a_new_cycle_and_september_stays_as_published(settings: Settings) -> None:
    url = settings.database_url or ""
    publish(settings, first_cycle("R1"))
    consume(settings)
    # 5 working days from Mon 21 Sep: Tue 22 (1), Wed 23 (2), Thu 24 (3), [Fri 25 Mid-Autumn, weekend],
    # Mon 28 (4), Tue 29 (5): due at the end of Tue 29 Sep. Resolved Thu 24 Sep: on time, 3 working days.
    r = one(url, "SELECT * FROM case_status WHERE case_id = 'R1'")
    assert (r["due_at"], r["on_time"], r["cycle"], r["working_days"]) == (
        end_of(9, 29),
        True,
        1,
        Decimal("3.00"),
    )
    september = one(url, RATES, (SEPT, DEPT))
    expected_sept = {
        "received": 1, "received_resolved": 1, "resolved": 1, "resolved_on_time": 1, "due": 1,
        "resolved_on_schedule": 1, "rated": 1, "satisfied": 0, "reopened": 0, "avg_working_days": Decimal("3.00"),
    }  # fmt: skip
    assert {k: september[k] for k in expected_sept} == expected_sept

    publish(settings, [ev("case.reopened", "R1", at(10, 8), {"reason": "群众不满意"})])
    consume(settings)
    # The new period counts from the reopen, Thu 8 Oct: Fri 9 (1), Sat 10 (2, 调休), Mon 12 (3), Tue 13 (4),
    # Wed 14 (5): due at the end of Wed 14 Oct (before the fix it stayed 29 Sep: red at once). Yellow at
    # 1/3 x 5 = 1.67 working days left: Tue 13 Oct 08:00, i.e. from the start of Tue 13 Oct.
    r = one(url, "SELECT * FROM case_status WHERE case_id = 'R1'")
    assert (r["status"], r["cycle"], r["cycle_started_at"]) == ("reopened", 2, at(10, 8))
    assert (r["due_at"], r["yellow_at"]) == (end_of(10, 14), dt.datetime(2026, 10, 13, tzinfo=SHANGHAI))
    assert (r["resolved_at"], r["on_time"], r["satisfaction"]) == (None, None, None)
    assert one(url, RATES, (SEPT, DEPT)) == september  # the published month does not move

    publish(
        settings,
        [
            ev("case.resolved", "R1", at(10, 13, 15), {"department": DEPT, "outcome": "resolved"}),
            ev("case.followed_up", "R1", at(10, 13, 18), {"satisfaction": "satisfied"}),
        ],
    )
    consume(settings)
    r = one(url, "SELECT * FROM case_status WHERE case_id = 'R1'")
    # Resolved Tue 13 Oct 15:00, before the end of 14 Oct: on time; working days in (8 Oct, 13 Oct]: 9, 10,
    # 12, 13 = 4. Not red: warning_level follows the current cycle.
    assert (r["on_time"], r["warning_level"], r["working_days"], r["satisfaction"]) == (
        True, "none", Decimal("4.00"), "satisfied",
    )  # fmt: skip
    cycles = rows(url, "SELECT * FROM case_cycles WHERE case_id = 'R1' ORDER BY cycle")
    assert [(c["cycle"], c["current"], c["started_at"], c["ended_at"]) for c in cycles] == [
        (1, False, None, at(10, 8)), (2, True, at(10, 8), None),
    ]  # fmt: skip
    assert [(c["due_at"], c["resolved_at"], c["on_time"], c["working_days"], c["satisfaction"]) for c in cycles] == [
        (end_of(9, 29), at(9, 24, 10), True, Decimal("3.00"), "dissatisfied"),
        (end_of(10, 14), at(10, 13, 15), True, Decimal("4.00"), "satisfied"),
    ]  # fmt: skip
    assert one(url, RATES, (SEPT, DEPT)) == september  # still as published
    october = one(url, RATES, (OCT, DEPT))
    expected_oct = {
        "received": 0, "resolved": 1, "resolved_on_time": 1, "due": 1, "resolved_on_schedule": 1,
        "rated": 1, "satisfied": 1, "reopened": 1, "reopen_rate": Decimal("1.0000"), "avg_working_days": Decimal("4.00"),
    }  # fmt: skip
    assert {k: october[k] for k in expected_oct} == expected_oct
    # The second cycle was resolved on its yellow day (13 Oct): one yellow card, October, 市住建局.
    items = rows(url, "SELECT subject_id, cycle, department, cause, card, month, points FROM penalty_items")
    assert items == [
        {"subject_id": "R1", "cycle": 2, "department": DEPT, "cause": "yellow", "card": "yellow", "month": OCT,
         "points": Decimal("-5.00")},
    ]  # fmt: skip
    assert scorecard_reconciles(url) == 1
    card = one(url, "SELECT * FROM department_scorecard WHERE department = %s AND month = %s", (DEPT, OCT))
    assert (card["cases_handled"], card["yellow_count"], card["penalty_score"]) == (1, 1, Decimal("-5.00"))


def test_a_late_first_cycle_stays_late_and_the_reopen_limit_is_configurable(
    settings: Settings, tmp_path: Path
) -> None:
    import projections.policy as policy_module

    text = Path(policy_module.__file__).with_name(DEFAULT_POLICY_RESOURCE).read_text(encoding="utf-8")
    text = text.replace(
        '[channels.hotline_12345]\ndescription = "12345 citizen service hotline"',
        '[channels.hotline_12345]\ndescription = "12345 citizen service hotline"\nreopen_limit = 2',
    )
    policy = tmp_path / "policy.toml"
    policy.write_text(text, encoding="utf-8")
    configured = settings.model_copy(update={"policy_file": policy})
    url = settings.database_url or ""
    publish(
        configured,
        [
            received("R2", at(9, 21)),
            ev("case.assigned", "R2", at(9, 21, 10), {"department": DEPT}),
            # resolved Wed 30 Sep, after the end of Tue 29 Sep: late (red card to 市住建局, September)
            ev("case.resolved", "R2", at(9, 30, 10), {"department": DEPT, "outcome": "resolved"}),
            ev("case.reopened", "R2", at(10, 8), {"reason": "群众不满意"}),
            # reopen_limit = 2: Fri 9 Oct (1), Sat 10 Oct (2, 调休): due at the end of Sat 10 Oct
            ev("case.resolved", "R2", at(10, 9, 11), {"department": DEPT, "outcome": "resolved"}),
        ],
    )
    consume(configured)
    r = one(url, "SELECT * FROM case_status WHERE case_id = 'R2'")
    assert (r["due_at"], r["time_limit"], r["on_time"], r["warning_level"]) == (
        end_of(10, 10),
        2,
        True,
        "none",
    )
    cycles = rows(url, "SELECT cycle, due_at, on_time FROM case_cycles WHERE case_id = 'R2' ORDER BY cycle")
    assert [tuple(c.values()) for c in cycles] == [(1, end_of(9, 29), False), (2, end_of(10, 10), True)]
    # September keeps its late resolution: resolved 1, on time 0; October: resolved 1, on time 1.
    sept, octo = one(url, RATES, (SEPT, DEPT)), one(url, RATES, (OCT, DEPT))
    assert (sept["resolved"], sept["resolved_on_time"], octo["resolved"], octo["resolved_on_time"]) == (
        1,
        0,
        1,
        1,
    )
    items = rows(url, "SELECT cycle, department, cause, card, month FROM penalty_items")
    assert items == [{"cycle": 1, "department": DEPT, "cause": "overdue", "card": "red", "month": SEPT}]
    assert scorecard_reconciles(url) == 1
