"""Clocks of issue 14 through the real pipeline: disclosure requests count from receipt, the 补正 notice limit
and withdrawal (point 3), hearing time in a 复核 (point 4), 承诺件 promises beside their legal limit (point 6).

Calendar (the official 2026 notice): Sat 14 Feb worked, 15-23 Feb off (Spring Festival), Sat 28 Feb worked;
Qingming Sat 4 - Mon 6 Apr off.
"""

from __future__ import annotations

import datetime as dt

from app.settings import Settings
from tests.integration.figures_support import OFFICE, at, end_of, ev, one, received, rows
from tests.integration.helpers import consume, publish

GOV = "市政府办公室"
PETITIONS = "petition/letters/shijiazhuang"


def test_disclosure_requests_count_from_receipt_and_lapse_when_not_corrected(settings: Settings) -> None:
    d = "disclosure_request"
    correction = {"reason": "correction"}
    publish(
        settings,
        [
            # D1: received Mon 9 Feb, accepted Wed 11 Feb. 20 working days from receipt (Art. 33): Feb 10-14
            # (5), Feb 24-28 (10), Mar 2-6 (15), Mar 9-13 (20): the end of Fri 13 Mar (from acceptance it would
            # have been the end of Tue 17 Mar). Answered Mon 16 Mar: late.
            received("D1", at(2, 9, 10), channel=d),
            ev("case.accepted", "D1", at(2, 11)),
            ev("case.assigned", "D1", at(2, 11, 10), {"department": GOV}),
            ev("case.resolved", "D1", at(3, 16), {"department": GOV, "outcome": "resolved"}),
            # D2: the correction notice must go out within 7 working days of receipt (Art. 30): Feb 10-14 (5),
            # Tue 24 (6), Wed 25 (7), the end of Wed 25 Feb. Sent Thu 26 Feb: late, a red card for the office.
            # The corrected request arrives Tue 3 Mar: 20 working days again from Wed 4 Mar: Mar 4-6 (3), 9-13
            # (8), 16-20 (13), 23-27 (18), 30 (19), 31 (20): the end of Tue 31 Mar. Answered Fri 27 Mar.
            received("D2", at(2, 9, 10), channel=d),
            ev("case.assigned", "D2", at(2, 10), {"department": GOV}),
            ev("case.suspended", "D2", at(2, 26, 10), {**correction, "correction_due": "2026-03-12"}),
            ev("case.resumed", "D2", at(3, 3, 10), {"restart_clock": True}),
            ev("case.resolved", "D2", at(3, 27), {"department": GOV, "outcome": "resolved"}),
            # D3: notice on Wed 4 Mar (in time), correct by 18 Mar; the office closes it on Fri 20 Mar:
            # withdrawn (视为放弃申请), no deadline left to miss.
            received("D3", at(3, 2, 10), channel=d),
            ev("case.suspended", "D3", at(3, 4), {**correction, "correction_due": "2026-03-18"}),
            ev("case.closed", "D3", at(3, 20, 10)),
            # D4: the same, never corrected and never closed: withdrawn once 18 Mar has ended.
            received("D4", at(3, 2, 10), channel=d),
            ev("case.suspended", "D4", at(3, 4), {**correction, "correction_due": "2026-03-18"}),
        ],
    )
    consume(settings)
    url = settings.database_url or ""
    by_id = {r["case_id"]: r for r in rows(url, "SELECT * FROM case_status")}
    d1, d2, d3, d4 = (by_id[k] for k in ("D1", "D2", "D3", "D4"))
    assert (d1["due_at"], d1["on_time"], d1["warning_level"]) == (end_of(3, 13), False, "red")
    assert (d2["due_at"], d2["on_time"], d2["step_overrun"], d2["warning_level"]) == (
        end_of(3, 31),
        True,
        True,
        "red",
    )
    assert (d3["status"], d3["outcome"], d3["withdrawn_at"], d3["due_at"], d3["warning_level"]) == (
        "closed", "withdrawn", at(3, 20, 10), None, "none",
    )  # fmt: skip
    assert (d4["status"], d4["outcome"], d4["withdrawn_at"], d4["warning_level"]) == (
        "suspended", "withdrawn", end_of(3, 18), "none",
    )  # fmt: skip
    items = rows(url, "SELECT subject_id, department, cause, card, month FROM penalty_items ORDER BY 1, 3")
    # D2 was also answered on its yellow day: 20/3 = 6.67 working days before the end of 31 Mar is Mon 23
    # Mar 08:00 (24-27, 30, 31 are 6), yellow from the start of 23 Mar; answered 27 Mar.
    assert [tuple(i.values()) for i in items] == [
        ("D1", GOV, "overdue", "red", dt.date(2026, 3, 1)),
        ("D2", OFFICE, "correction_request", "red", dt.date(2026, 2, 1)),
        ("D2", GOV, "yellow", "yellow", dt.date(2026, 3, 1)),
    ]
    march = one(
        url,
        "SELECT * FROM completion_rates WHERE month = '2026-03-01' AND channel = %s AND department IS NULL",
        (d,),
    )
    assert (march["received"], march["withdrawn"], march["due"]) == (2, 2, 0)


def test_hearing_time_is_not_counted_in_a_re_review(settings: Settings) -> None:
    def petition(cid: str) -> list:  # type: ignore[type-arg]
        return [
            received(cid, at(1, 5), channel="letter").model_copy(update={"source": PETITIONS}),
            ev("case.accepted", cid, at(1, 5, 10)),
            ev("case.assigned", cid, at(1, 5, 11), {"department": "市信访局"}),
            ev("case.resolved", cid, at(1, 20), {"department": "市信访局", "outcome": "explained"}),
            ev("case.review_requested", cid, at(3, 2, 10), {"level": "re_review"}),
        ]

    publish(
        settings,
        [
            # H1: 复核 requested Mon 2 Mar; 30 days: Wed 1 Apr. A hearing from Tue 10 Mar to Wed 25 Mar is not
            # counted: the 15 days in (10 Mar, 25 Mar] move the limit to Thu 16 Apr. Decided Wed 15 Apr: in time.
            *petition("H1"),
            ev("case.suspended", "H1", at(3, 10), {"reason": "hearing"}),
            ev("case.resumed", "H1", at(3, 25)),
            ev("case.review_decided", "H1", at(4, 15, 10), {"level": "re_review", "decision": "upheld"}),
            # H2: the same with another kind of suspension: counted, so the decision is late (limit 1 Apr).
            *petition("H2"),
            ev("case.suspended", "H2", at(3, 10), {"reason": "等待材料"}),
            ev("case.resumed", "H2", at(3, 25)),
            ev("case.review_decided", "H2", at(4, 15, 10), {"level": "re_review", "decision": "upheld"}),
            # H3: a hearing still under way: the review's clock is stopped, nothing pending can pass.
            *petition("H3"),
            ev("case.suspended", "H3", at(3, 10), {"reason": "听证"}),
        ],
    )
    consume(settings)
    url = settings.database_url or ""
    by_id = {r["case_id"]: r for r in rows(url, "SELECT * FROM case_status")}
    assert (by_id["H1"]["step_overrun"], by_id["H1"]["warning_level"]) == (False, "none")
    assert (by_id["H2"]["step_overrun"], by_id["H2"]["warning_level"]) == (True, "red")
    assert (by_id["H3"]["step_due_at"], by_id["H3"]["warning_level"]) == (None, "none")
    items = rows(url, "SELECT subject_id, department, cause, card, month FROM penalty_items")
    assert [tuple(i.values()) for i in items] == [("H2", PETITIONS, "re_review", "red", dt.date(2026, 4, 1))]


def test_promises_are_checked_against_their_legal_limit(settings: Settings) -> None:
    sc = "service_center"
    publish(
        settings,
        [
            received("S1", at(2, 9), channel=sc, time_limit_days=30),  # no law named: 20 at most
            received(
                "S2", at(2, 9), channel=sc, time_limit_days=30, legal_time_limit_days=45
            ),  # a law allows 45
            received("S3", at(2, 9), channel=sc, time_limit_days=5),
            received("S4", at(2, 9), channel=sc),  # no promise: the licensing default applies
        ],
    )
    consume(settings)
    url = settings.database_url or ""
    got = {
        r["case_id"]: (r["time_limit"], r["legal_time_limit"], r["promise_violation"], r["due_at"])
        for r in rows(url, "SELECT * FROM case_status")
    }
    # 30 working days from Mon 9 Feb: Feb 10-14 (5), 24-28 (10), Mar 2-6 (15), 9-13 (20), 16-20 (25), 23-27
    # (30): the end of Fri 27 Mar; 5 working days: the end of Sat 14 Feb (调休); 20: the end of Fri 13 Mar.
    assert got == {
        "S1": (30, 20, True, end_of(3, 27)),
        "S2": (30, 45, False, end_of(3, 27)),
        "S3": (5, 20, False, end_of(2, 14)),
        "S4": (20, None, False, end_of(3, 13)),
    }
