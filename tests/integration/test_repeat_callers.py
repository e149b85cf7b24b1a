"""The ``repeat_callers`` view against figures counted by hand, on the real broker and database.

The stream: three callers on the citizen lines. A calls three times (the same mobile number in three
spellings, which normalisation makes one person), B twice (hotline, then the mayor's mailbox), C once. A
name-only caller and a call without a caller are cases but not callers. A and B also petition, and C applies
at the service centre: neither may make a call a repeat, nor a call make a petition a repeat.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from app.settings import Settings
from events.catalog import Event
from tests.factories import TZ
from tests.integration.helpers import consume, publish, query
from tests.integration.test_kpis import at, dec, e, rows_by_key
from tests.integration.test_personal_data import as_role

PHONE_A = ("13800001111", "138 0000 1111", "+86 138-0000-1111", "１３８００００１１１１")  # full-width too
PHONE_B = ("13900002222", "139-0000-2222")
PHONE_C = "13700003333"
COLUMNS = [
    "month", "channel", "category", "cases", "unidentified", "callers", "repeat_callers", "repeat_calls",
    "repeat_rate",
]  # fmt: skip


def contact(
    cid: str, t: dt.datetime, channel: str, petitioner: dict[str, str] | None, category: str = "市政设施"
) -> list[Event]:
    """A case with a plaintext petitioner (the consumer pseudonymises it): received, assigned, resolved."""
    data: dict[str, Any] = {"channel": channel, "category": category, "summary": "s", "region": "长安区"}
    if petitioner is not None:
        data["petitioner"] = petitioner
    return [
        e("case.received", cid, t, data),
        e("case.assigned", cid, t + dt.timedelta(minutes=30), {"department": "市城管局"}),
        e("case.resolved", cid, t + dt.timedelta(days=1), {"department": "市城管局", "outcome": "resolved"}),
    ]


def stream() -> list[Event]:
    """The cases of the module docstring; comments give each one's role in the expected figures."""
    letter, hotline = "letter", "hotline_12345"
    return [
        # A's petition comes first: it must not make A's first call a repeat.
        *contact("PA1", at(10, 12, 8), letter, {"name": "甲", "phone": PHONE_A[0]}, category="征地拆迁"),
        # C's service-centre application comes first: not a call, so C1 stays a first call.
        *contact("SC1", at(10, 12, 10), "service_center", {"phone": PHONE_C}, category="营业执照"),
        *contact("A1", at(10, 13), hotline, {"name": "甲", "phone": PHONE_A[1]}),
        *contact("B1", at(10, 14), hotline, {"phone": PHONE_B[0]}),
        *contact("C1", at(10, 15), hotline, {"name": "丙", "phone": PHONE_C}),
        *contact("A2", at(10, 16), hotline, {"phone": PHONE_A[2]}),  # repeat (A1 before it)
        *contact("N1", at(10, 17), hotline, {"name": "张三"}),  # name only: unidentified
        *contact("X1", at(10, 18), hotline, None),  # nobody: unidentified
        # 00:30 on 1 November in Beijing is still 31 October in UTC: the month is Asia/Shanghai's.
        *contact("A3", dt.datetime(2026, 11, 1, 0, 30, tzinfo=TZ), hotline, {"phone": PHONE_A[3]}),  # repeat
        *contact("B2", at(11, 4), "mayor_mailbox", {"phone": PHONE_B[1]}),  # repeat across lines
        # B's petition after B's calls: not a repeat petition. A's second petition is one.
        *contact("PB1", at(11, 5), "visit", {"phone": PHONE_B[0]}, category="征地拆迁"),
        *contact("PA2", at(11, 6), letter, {"phone": PHONE_A[0]}, category="征地拆迁"),
    ]


def test_repeat_callers_by_hand(settings: Settings) -> None:
    # Published newest first: "repeat" follows received_at, not the order of arrival.
    publish(settings, reversed(stream()))
    consume(settings)
    url = settings.database_url or ""

    # Normalisation: A's four spellings and two petitions are one pseudonym; B's two spellings too.
    people = dict(query(url, "SELECT case_id, petitioner_pseudonym FROM case_status"))
    assert len({people[c] for c in ("PA1", "A1", "A2", "A3", "PA2")}) == 1
    assert people["B1"] == people["B2"] == people["PB1"] != people["A1"]
    assert people["N1"].startswith("a_") and people["X1"] is None

    view = rows_by_key(url, "repeat_callers", "month,channel,category")
    oct_, nov = dt.date(2026, 10, 1), dt.date(2026, 11, 1)
    figures = {k: [row[c] for c in COLUMNS[3:]] for k, row in view.items()}
    assert figures == {
        # A1 B1 C1 A2 N1 X1: callers A B C; A2 is the one repeat call
        (oct_, "hotline_12345", "市政设施"): [6, 2, 3, 1, 1, dec("0.1667")],
        (nov, "hotline_12345", "市政设施"): [1, 0, 1, 1, 1, dec("1.0000")],  # A3
        (nov, "mayor_mailbox", "市政设施"): [1, 0, 1, 1, 1, dec("1.0000")],  # B2, after B1 on the hotline
    }

    # The petition side is untouched by the calls: only PA2 (after PA1) is a repeat petition.
    tallies = query(
        url,
        "SELECT channel, sum(received), sum(repeat_petitions) FROM petition_tallies GROUP BY 1 ORDER BY 1",
    )
    assert tallies == [("letter", 2, 1), ("visit", 1, 0)]

    # The analyst reads the view, which holds aggregates only: no pseudonym, no identity.
    cols = query(
        url,
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'repeat_callers'"
        " ORDER BY ordinal_position",
    )
    assert [c for (c,) in cols] == COLUMNS
    totals = as_role(
        url, "casetrack_analyst", "SELECT sum(cases), sum(repeat_calls) FROM public.repeat_callers"
    )
    assert totals == [(8, 3)]
