"""The KPI definitions of completion_rates, petition_tallies and department_scorecard, against figures
computed by hand from small synthetic streams, and the county figures of domain.md (737 ÷ 972 on schedule,
911 ÷ 972 closed) reproduced from a stream built to match them.

Every stream runs through the real broker, the consumer and the real database. Dates are on the official
2026 calendar; 2026-06-01 is a Monday, no holiday until 19 June. A 5-working-day hotline case received on
Monday 1 June is due at the end of Monday 8 June (``due_at`` = 9 June 00:00 +08:00) and, with the default
warning threshold (1/3 of the limit or 1 working day), turns yellow on Friday 5 June.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from app.pg_kpi_settings import read_kpi_settings, sync_kpi_settings
from app.settings import Settings
from events.catalog import Event
from events.codec import event_from_dict
from projections.kpi_settings import PenaltyPoints
from projections.policy import DEFAULT_POLICY_RESOURCE, load_policy, parse_policy
from tests.factories import TZ
from tests.integration.helpers import consume, publish, query

_ids = itertools.count()
DEPT = "市城管局"


def at(month: int, day: int, hour: int = 9) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, 0, tzinfo=TZ)


def e(type_: str, subject: str, t: dt.datetime, data: dict[str, Any] | None = None) -> Event:
    agg = type_.split(".")[0]
    return event_from_dict(
        {"specversion": "1.0", "id": f"k{next(_ids):06d}", "source": f"test/{agg}", "type": type_,
         "subject": subject, "time": t.isoformat(), "data": data or {}}
    )  # fmt: skip


def case(
    cid: str,
    received: dt.datetime,
    *,
    channel: str = "hotline_12345",
    dept: str | None = DEPT,
    accepted: dt.datetime | None = None,
    resolved: dt.datetime | None = None,
    closed: dt.datetime | None = None,
    satisfaction: str | None = None,
    rejected: bool = False,
    category: str = "市政设施",
    region: str = "长安区",
    person: str | None = None,
    extra: Sequence[tuple[str, dt.datetime, dict[str, Any]]] = (),
) -> list[Event]:
    """One case's events: received → (accepted) → assigned → resolved → followed up → closed."""
    data: dict[str, Any] = {"channel": channel, "category": category, "summary": "s", "region": region}
    if person is not None:  # sealed at the source: the pseudonym travels in clear, the rest is ciphertext
        data["petitioner"] = {"person": person, "alg": "AES-256-GCM", "nonce": "bm9uY2U=", "ct": "Y3Q="}
    out = [e("case.received", cid, received, data)]
    if rejected:
        return [*out, e("case.rejected", cid, received + dt.timedelta(hours=1), {"reason": "不属于受理范围"})]
    if accepted is not None:
        out.append(e("case.accepted", cid, accepted))
    if dept is not None:
        out.append(
            e("case.assigned", cid, (accepted or received) + dt.timedelta(minutes=30), {"department": dept})
        )
    for type_, t, d in extra:
        out.append(e(type_, cid, t, d))
    if resolved is not None:
        out.append(e("case.resolved", cid, resolved, {"department": dept or "x", "outcome": "resolved"}))
        if satisfaction is not None:
            out.append(
                e("case.followed_up", cid, resolved + dt.timedelta(hours=5), {"satisfaction": satisfaction})
            )
    if closed is not None:
        out.append(e("case.closed", cid, closed))
    return out


def kpi_stream() -> list[Event]:
    """The hand-computed set (see test_completion_rates_by_hand for the expected figures)."""
    jun1 = at(6, 1)
    return [
        *case("A", jun1, resolved=at(6, 3, 10), satisfaction="very_satisfied", closed=at(6, 4)),
        *case("B", jun1, resolved=at(6, 5, 10), satisfaction="basically_satisfied", closed=at(6, 6)),
        *case("C", jun1, resolved=at(6, 10, 10), satisfaction="dissatisfied", closed=at(6, 11)),  # late
        *case("D", jun1, resolved=at(6, 4, 10), satisfaction="unreachable"),  # not closed
        *case(
            "E",
            jun1,
            resolved=at(6, 2, 10),
            closed=at(6, 3),
            extra=[
                ("case.returned", at(6, 1, 11), {"department": DEPT, "reason": "非本单位职责"}),
                ("case.assigned", at(6, 1, 12), {"department": DEPT}),
            ],
        ),  # fmt: skip
        *case(
            "F",
            jun1,
            resolved=at(6, 5, 10),
            satisfaction="satisfied",
            closed=at(6, 6),
            extra=[
                ("case.resolved", at(6, 3, 10), {"department": DEPT, "outcome": "explained"}),
                ("case.followed_up", at(6, 3, 15), {"satisfaction": "dissatisfied"}),
                ("case.reopened", at(6, 4, 9), {"reason": "群众不满意"}),
            ],
        ),  # fmt: skip
        *case("G", jun1),  # never resolved: overdue
        *case("H", jun1, dept=None, rejected=True),
        *case("I", at(5, 29), resolved=at(6, 2, 10)),  # received in May, due 5 June
        *case("J", at(6, 29), resolved=at(6, 30, 10), satisfaction="satisfied", closed=at(7, 1)),  # due July
        *case("K", at(6, 2), resolved=at(6, 10, 10)),  # due 9 June: late, not closed
    ]


def rows_by_key(url: str, view: str, key: str) -> dict[Any, dict[str, Any]]:
    cols = [r[0] for r in query(url, "SELECT column_name FROM information_schema.columns WHERE table_name = %s"
                                " ORDER BY ordinal_position", (view,))]  # fmt: skip
    out = {}
    for r in query(url, f"SELECT * FROM {view}"):  # noqa: S608 - names from the test
        row = dict(zip(cols, r, strict=True))
        out[tuple(row[k] for k in key.split(","))] = row
    return out


def dec(x: str) -> Decimal:
    return Decimal(x)


def test_completion_rates_by_hand(settings: Settings) -> None:
    publish(settings, kpi_stream())
    consume(settings)
    url = settings.database_url or ""
    rates = rows_by_key(url, "completion_rates", "month,channel,department")
    june = rates[(dt.date(2026, 6, 1), "hotline_12345", DEPT)]
    # received in June: A B C D E F G J K (H was rejected before assignment: department NULL; I: May)
    # F has two cycles (重办): F1 received Mon 1 Jun, resolved 3 Jun (2 working days, due 8 Jun), rated
    # dissatisfied, reopened Thu 4 Jun; F2 counts 5 working days from Fri 5 Jun (due Thu 11 Jun), resolved
    # 5 Jun (1 working day), satisfied. Each resolution counts once, in its own month.
    # resolved in June: A B C D E F1 F2 I J K; late: C K; working days 2 4 7 3 1 2 1 2 1 6 (sum 29)
    # due in June: A B C D E F1 F2 G I K (J is due in July); on time: A B D E F1 F2 I; closed: A B C E F2
    expected = {
        "received": 9, "received_resolved": 8, "completion_rate": dec("0.8889"),
        "rejected": 0, "merged": 0,
        "resolved": 10, "resolved_on_time": 8, "on_time_rate": dec("0.8000"),
        "due": 10, "resolved_on_schedule": 7, "on_schedule_rate": dec("0.7000"),
        "closed": 5, "closure_rate": dec("0.5000"),
        "rated": 6, "satisfied": 4, "satisfaction_rate": dec("0.6667"),  # A B F2 J of A B C F1 F2 J
        "followed_up": 7, "follow_up_rate": dec("0.7000"),  # D was called but unreachable: not rated
        "returned": 1, "return_rate": dec("0.1111"),
        "reopened": 1, "reopen_rate": dec("0.1000"),  # F's reopen on 4 June
        "avg_working_days": dec("2.90"), "median_working_days": dec("2.00"),  # 1 1 1 2 2 | 2 3 4 6 7
    }  # fmt: skip
    assert {k: june[k] for k in expected} == expected

    may = rates[(dt.date(2026, 5, 1), "hotline_12345", DEPT)]
    assert (may["received"], may["received_resolved"], may["completion_rate"]) == (1, 1, dec("1.0000"))
    assert (may["resolved"], may["on_time_rate"], may["due"], may["on_schedule_rate"]) == (0, None, 0, None)
    july = rates[(dt.date(2026, 7, 1), "hotline_12345", DEPT)]
    assert (july["received"], july["due"], july["resolved_on_schedule"], july["closed"]) == (0, 1, 1, 1)
    rejected = rates[(dt.date(2026, 6, 1), "hotline_12345", None)]
    assert (rejected["received"], rejected["rejected"], rejected["due"]) == (1, 1, 0)

    # 满意率 without 基本满意 (a policy knob): the consumer / migrate copy it into casetrack.kpi_settings.
    text = load_policy_text().replace(
        "basically_satisfied_counts_as_satisfied = true", "basically_satisfied_counts_as_satisfied = false"
    )
    strict = parse_policy(text, "test")
    assert sync_kpi_settings(url, strict) is True
    assert sync_kpi_settings(url, strict) is False  # idempotent: nothing to change
    assert read_kpi_settings(url)[0] is False
    june = rows_by_key(url, "completion_rates", "month,channel,department")[
        (dt.date(2026, 6, 1), "hotline_12345", DEPT)
    ]
    assert (june["rated"], june["satisfied"], june["satisfaction_rate"]) == (6, 3, dec("0.5000"))  # A F2 J
    assert sync_kpi_settings(url, load_policy()) is True


def load_policy_text() -> str:
    from pathlib import Path

    import projections.policy as policy_module

    return Path(policy_module.__file__).with_name(DEFAULT_POLICY_RESOURCE).read_text(encoding="utf-8")


def test_department_scorecard_by_hand(settings: Settings) -> None:
    events = [
        *kpi_stream(),
        e(
            "supervision.issued",
            "S1",
            at(6, 1),
            {
                "title": "t",
                "issued_by": "市政府督查室",
                "level": "office",
                "departments": [DEPT, "市交通局"],
                "due_date": "2026-06-15",
            },
        ),  # fmt: skip
        e("supervision.urged", "S1", at(6, 16)),
        e(
            "supervision.issued",
            "S2",
            at(6, 1),
            {
                "title": "t",
                "issued_by": "市政府督查室",
                "level": "office",
                "departments": [DEPT],
                "due_date": "2026-06-15",
            },
        ),  # fmt: skip
        e("supervision.completed", "S2", at(6, 12), {"department": DEPT, "result": "ok"}),  # in time
        e(
            "rectification.opened",
            "R1",
            at(6, 1),
            {
                "source": "audit",
                "problem": "p",
                "department": DEPT,
                "responsible_person": "r",
                "deadline": "2026-06-20",
                "measures": ["m"],
            },
        ),  # fmt: skip
    ]
    publish(settings, events)
    consume(settings)
    url = settings.database_url or ""
    yellow = {
        r[0] for r in query(url, "SELECT case_id FROM case_status WHERE yellow_at <= resolved_at AND on_time")
    }
    # B: resolved on time, but on its yellow day (Friday 5 June). F's first cycle was resolved on 3 June,
    # before its yellow day; its second (reopened Thu 4 June, due Thu 11 June, yellow from Wed 10 June) on 5 June.
    assert yellow == {"B"}
    red = {r[0] for r in query(url, "SELECT case_id FROM case_status WHERE warning_level = 'red'")}
    assert red == {"C", "G", "K"}

    card = rows_by_key(url, "department_scorecard", "department,month")
    june = card[(DEPT, dt.date(2026, 6, 1))]
    # handled (resolutions in June): A B C D E F1 F2 I J K; yellow B; red C G K (all due in June);
    # overdue orders: S1; overdue items: R1. Points -2 / -5 / -10 / 0: -2 - 5 - 30 = -37.
    assert {k: june[k] for k in ("cases_handled", "yellow_count", "red_count", "overdue_supervision_orders",
                                 "overdue_rectification_items", "penalty_score")} == {
        "cases_handled": 10, "yellow_count": 1, "red_count": 3, "overdue_supervision_orders": 1,
        "overdue_rectification_items": 1, "penalty_score": dec("-37.00"),
    }  # fmt: skip
    traffic = card[("市交通局", dt.date(2026, 6, 1))]
    assert (traffic["overdue_supervision_orders"], traffic["penalty_score"]) == (1, dec("-2.00"))

    sync_kpi_settings(url, load_policy(), PenaltyPoints(supervision_notice=-1, yellow=-2, red=-3,
                                                        overdue_rectification=-4))  # fmt: skip
    june = rows_by_key(url, "department_scorecard", "department,month")[(DEPT, dt.date(2026, 6, 1))]
    assert june["penalty_score"] == dec("-16.00")  # 1x-1 + 1x-2 + 3x-3 + 1x-4


def test_petition_tallies_by_hand(settings: Settings) -> None:
    letter: dict[str, Any] = {"channel": "letter", "category": "征地拆迁", "region": "长安区"}
    events = [
        *case("P0", at(5, 20), person="p-c", resolved=at(5, 21)),  # a hotline call: not a petition
        *case("P1", at(6, 1), **letter, person="p-a", accepted=at(6, 2), resolved=at(6, 20),
              extra=[("case.review_requested", at(6, 25), {"level": "review"}),
                     ("case.review_decided", at(7, 10), {"level": "review", "decision": "upheld"})]),
        *case("P2", at(6, 15), **letter, person="p-a", accepted=at(6, 16)),  # repeat of P1
        *case("P3", at(6, 3), channel="visit", person="p-b", accepted=at(6, 3, 11), resolved=at(6, 10),
              extra=[("case.review_requested", at(6, 11), {"level": "review"}),
                     ("case.review_decided", at(6, 30), {"level": "review", "decision": "changed"})]),
        *case("P4", at(7, 1), channel="online_petition", person="p-b", accepted=at(7, 2)),  # repeat of P3
        *case("P5", at(6, 5), **letter, dept=None, person="p-c", rejected=True),  # p-c's first petition
        *case("P6", at(6, 6), **letter, accepted=at(6, 6, 11), resolved=at(6, 10),
              extra=[("case.review_requested", at(6, 12), {"level": "review"}),
                     ("case.review_decided", at(6, 20), {"level": "review", "decision": "upheld"}),
                     ("case.review_requested", at(6, 22), {"level": "re_review"}),
                     ("case.review_decided", at(7, 5), {"level": "re_review", "decision": "changed"})]),
    ]  # fmt: skip
    publish(settings, events)
    consume(settings)
    url = settings.database_url or ""
    tallies = rows_by_key(url, "petition_tallies", "month,channel,category,region")
    assert all(k[1] in ("letter", "visit", "online_petition") for k in tallies)
    june = tallies[(dt.date(2026, 6, 1), "letter", "征地拆迁", "长安区")]
    expected = {
        "received": 4, "accepted": 3, "rejected": 1, "received_resolved": 2, "completion_rate": dec("0.5000"),
        "resolved": 2, "resolved_on_time": 2, "on_time_rate": dec("1.0000"),
        "repeat_petitions": 1, "repeat_rate": dec("0.2500"),
        "review_requests": 2, "re_review_requests": 1, "reviews_pending": 0,
        "review_upheld": 1, "review_changed": 0, "re_review_upheld": 0, "re_review_changed": 1,
    }  # fmt: skip
    assert {k: june[k] for k in expected} == expected
    visit = tallies[(dt.date(2026, 6, 1), "visit", "市政设施", "长安区")]
    assert (visit["received"], visit["repeat_petitions"], visit["review_changed"]) == (1, 0, 1)
    online = tallies[(dt.date(2026, 7, 1), "online_petition", "市政设施", "长安区")]
    assert (online["received"], online["repeat_petitions"]) == (1, 1)


def test_county_on_schedule_and_closure_figures(settings: Settings) -> None:
    """A county report: 737 of 972 cases due in the period resolved on time (按期结案率 75.82%), and 911 of
    them closed (结案率 93.72%). The stream: 972 hotline cases received on Monday 1 June 2026 (due at the end
    of Monday 8 June) over three departments; 737 resolved on 3 June and closed, 174 resolved late on 10 June
    and closed, 30 resolved late and not closed, 31 never resolved. Plus distractors that must not count as
    due in June: 40 cases received on 29 June (due in July) and 12 rejected cases."""
    depts = ("县城管局", "县住建局", "县交通局")
    events: list[Event] = []
    kinds = ["on_time"] * 737 + ["late_closed"] * 174 + ["late_open"] * 30 + ["unresolved"] * 31
    expected: dict[str, dict[str, int]] = {d: {"due": 0, "on": 0, "closed": 0} for d in depts}
    for i, kind in enumerate(kinds):
        dept = depts[i % 3]
        cid = f"N{i:04d}"
        expected[dept]["due"] += 1
        if kind == "on_time":
            events += case(cid, at(6, 1), dept=dept, resolved=at(6, 3), closed=at(6, 4))
            expected[dept]["on"] += 1
            expected[dept]["closed"] += 1
        elif kind == "late_closed":
            events += case(cid, at(6, 1), dept=dept, resolved=at(6, 10), closed=at(6, 11))
            expected[dept]["closed"] += 1
        elif kind == "late_open":
            events += case(cid, at(6, 1), dept=dept, resolved=at(6, 10))
        else:
            events += case(cid, at(6, 1), dept=dept)
    for i in range(40):
        events += case(f"L{i:03d}", at(6, 29), dept=depts[i % 3], resolved=at(6, 30), closed=at(7, 1))
    for i in range(12):
        events += case(f"X{i:03d}", at(6, 1), dept=None, rejected=True)
    publish(settings, events)
    totals = consume(settings)
    assert totals.applied == len(events)
    url = settings.database_url or ""

    june = dt.date(2026, 6, 1)
    due, on, closed, on_rate, closure = query(
        url,
        "SELECT sum(due), sum(resolved_on_schedule), sum(closed),"
        " round(sum(resolved_on_schedule)::numeric / sum(due), 4), round(sum(closed)::numeric / sum(due), 4)"
        " FROM completion_rates WHERE month = %s",
        (june,),
    )[0]
    assert (due, on, closed) == (972, 737, 911)
    assert (on_rate, closure) == (dec("0.7582"), dec("0.9372"))  # 75.82%, 93.72%
    per_dept = {
        r[0]: r[1:]
        for r in query(
            url,
            "SELECT department, due, resolved_on_schedule, closed, on_schedule_rate, closure_rate"
            " FROM completion_rates WHERE month = %s AND channel = 'hotline_12345' AND department IS NOT NULL",
            (june,),
        )
    }
    for d in depts:
        x = expected[d]
        assert per_dept[d] == (
            x["due"], x["on"], x["closed"],
            round(Decimal(x["on"]) / x["due"], 4), round(Decimal(x["closed"]) / x["due"], 4),
        )  # fmt: skip
    july = query(
        url, "SELECT sum(due), sum(closed) FROM completion_rates WHERE month = %s", (dt.date(2026, 7, 1),)
    )
    assert july == [(40, 40)]
