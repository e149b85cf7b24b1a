"""Cards go to the party responsible for the step that overran (issue 14, points 2 and 5), through the real
pipeline, on the 2026 Spring Festival calendar: Sat 14 Feb worked (调休), 15-23 Feb off, Sat 28 Feb worked.

A 12345 order received Mon 9 Feb is due at the end of Sat 14 Feb (Tue 10 (1), Wed 11 (2), Thu 12 (3),
Fri 13 (4), Sat 14 (5)); a department may hand it back within 2 working days of assignment (an order
assigned on Mon 9 Feb: by the end of Wed 11 Feb).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

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

A, B, C = "市城管局", "市住建局", "市信访局"
PETITIONS = "petition/letters/shijiazhuang"  # the petition office's intake system
FEB, MAR = dt.date(2026, 2, 1), dt.date(2026, 3, 1)


def hotline(cid: str, dept: str, assigned_at: dt.datetime) -> list:  # type: ignore[type-arg]
    return [received(cid, at(2, 9)), ev("case.assigned", cid, assigned_at, {"department": dept})]


def resolved(cid: str, t: dt.datetime, dept: str) -> object:
    return ev("case.resolved", cid, t, {"department": dept, "outcome": "resolved"})


def stream() -> list:  # type: ignore[type-arg]
    back = {"reason": "非本单位职责"}
    return [
        # P1: A hands it back on Thu 12 Feb, after the end of Wed 11 Feb (late); B gets it at 14:00 and
        # resolves it at 17:00, on time. The red card is A's, not B's.
        *hotline("P1", A, at(2, 9, 10)),
        ev("case.returned", "P1", at(2, 12, 10), {"department": A, **back}),
        ev("case.assigned", "P1", at(2, 12, 14), {"department": B}),
        resolved("P1", at(2, 12, 17), B),
        # P2: A hands it back in time (Tue 10 Feb); B holds it when the deadline passes (end of Sat 14 Feb)
        # and resolves it on Tue 24 Feb: B's red card, February.
        *hotline("P2", A, at(2, 9, 9)),
        ev("case.returned", "P2", at(2, 10, 9), {"department": A, **back}),
        ev("case.assigned", "P2", at(2, 10, 10), {"department": B}),
        resolved("P2", at(2, 24, 10), B),
        # P3: handed back in time (Wed 11 Feb 09:00), nobody holds it when the deadline passes: the intake
        # office's red card. B gets it on Tue 24 Feb and resolves it on Wed 25 Feb.
        *hotline("P3", A, at(2, 9, 9)),
        ev("case.returned", "P3", at(2, 11, 9), {"department": A, **back}),
        ev("case.assigned", "P3", at(2, 24, 9), {"department": B}),
        resolved("P3", at(2, 25, 10), B),
        # P4: a petition letter received Mon 2 Feb: routing and acceptance within 15 days, Feb 2 + 15 = Tue
        # 17 Feb, a holiday, so the end of Tue 24 Feb. Accepted Thu 26 Feb, routed at 10:00: two late steps,
        # two red cards for the petition office, February (the month of the limit).
        received("P4", at(2, 2), channel="letter").model_copy(update={"source": PETITIONS}),
        ev("case.accepted", "P4", at(2, 26), source=PETITIONS),
        ev("case.assigned", "P4", at(2, 26, 10), {"department": C}, source=PETITIONS),
        resolved("P4", at(3, 9), C),  # 60 days from 26 Feb: well in time
        # P5 (point 5): an extension of 15 working days where the cap is 10. The deadline moves by 10: 15
        # working days from Mon 9 Feb = Feb 10-14 (5), Feb 24-28 (10), Mar 2-6 (15), the end of Fri 6 Mar
        # (uncapped it would be the end of Fri 13 Mar). Resolved Mon 9 Mar: late. A: a violation (Feb, when
        # the extension was recorded) and a red card (Mar, the month the deadline passed).
        *hotline("P5", A, at(2, 9, 10)),
        ev("case.extended", "P5", at(2, 13, 10), {"extra": 15, "reason": "需现场勘查"}),
        resolved("P5", at(3, 9, 10), A),
    ]


def test_each_card_goes_to_the_party_responsible_and_the_scorecard_is_their_sum(settings: Settings) -> None:
    publish(settings, stream())
    consume(settings)
    url = settings.database_url or ""
    p1 = one(url, "SELECT * FROM case_status WHERE case_id = 'P1'")
    assert (p1["department"], p1["on_time"], p1["step_overrun"], p1["warning_level"]) == (
        B,
        True,
        True,
        "red",
    )
    p5 = one(url, "SELECT * FROM case_status WHERE case_id = 'P5'")
    assert (p5["due_at"], p5["time_limit"], p5["extension_requested"], p5["extension_excess"]) == (
        end_of(3, 6), 15, 15, 5,
    )  # fmt: skip
    assert (p5["on_time"], p5["due_department"]) == (False, A)

    items = rows(
        url,
        "SELECT subject_id, department, cause, card, month, points FROM penalty_items ORDER BY subject_id, cause",
    )
    red, violation = Decimal("-10.00"), Decimal("-5.00")
    assert [tuple(i.values()) for i in items] == [
        ("P1", A, "return", "red", FEB, red),
        ("P2", B, "overdue", "red", FEB, red),
        ("P3", OFFICE, "overdue", "red", FEB, red),
        ("P4", PETITIONS, "accept", "red", FEB, red),
        ("P4", PETITIONS, "route", "red", FEB, red),
        ("P5", A, "extension_over_cap", "violation", FEB, violation),
        ("P5", A, "overdue", "red", MAR, red),
    ]

    assert scorecard_reconciles(url) == 5
    card = {
        (r["department"], r["month"]): (
            r["cases_handled"],
            r["red_count"],
            r["violation_count"],
            r["penalty_score"],
        )
        for r in rows(url, "SELECT * FROM department_scorecard")
    }
    assert card == {
        (A, FEB): (0, 1, 1, Decimal("-15.00")),  # P1's late return, P5's extension beyond the cap
        (A, MAR): (1, 1, 0, Decimal("-10.00")),  # P5 resolved by A in March, overdue since 7 March
        (B, FEB): (3, 1, 0, Decimal("-10.00")),  # resolved P1 P2 P3; red for P2 only
        (OFFICE, FEB): (0, 1, 0, Decimal("-10.00")),  # P3 overdue while nobody held it
        (PETITIONS, FEB): (0, 2, 0, Decimal("-20.00")),  # P4 accepted and routed late
        (C, MAR): (1, 0, 0, Decimal("0.00")),  # P4 resolved in time
    }
