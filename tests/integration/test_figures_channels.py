"""Channels and limits that fit real offices (issue 19 point 5) through the real pipeline and the default policy.

2026 calendar: National Day 10-01..10-07 off, Sat 10-10 worked (调休); March 2026 has no holiday.
"""

from __future__ import annotations

import datetime as dt

from app.settings import Settings
from events.catalog import Event
from tests.integration.figures_support import at, end_of, ev, received, rows
from tests.integration.helpers import consume, publish


def resolved(cid: str, t: dt.datetime) -> Event:
    return ev("case.resolved", cid, t, {"department": "市市场监管局", "outcome": "resolved"})


def test_hours_categories_and_operator_channels_in_case_status(settings: Settings) -> None:
    publish(settings, [
        # K1 特急 12345 order, Wed 30 Sep 20:00: 24 hours of calendar time = Thu 1 Oct 20:00 (a holiday counts);
        # yellow when 8 hours are left, 1 Oct 12:00. Resolved 1 Oct 19:00: on time.
        received("K1", at(9, 30, 20), urgency="emergency"), resolved("K1", at(10, 1, 19)),
        # K2 a 12345 consultation (咨询), Wed 30 Sep 10:00: 3 working days = Thu 8 Oct, Fri 9, Sat 10 (调休).
        # Resolved Mon 12 Oct: late.
        received("K2", at(9, 30, 10), category="咨询"),
        resolved("K2", at(10, 12)),
        # K3 a line the policy does not name: the `other` rules, 5 working days from Mon 2 Mar = end of Mon 9 Mar
        received("K3", at(3, 2), channel="hotline_96196"),
        # K4 12315 举报: 15 working days from Mon 2 Mar = Mar 3-6 (4), 9-13 (9), 16-20 (14), Mon 23 (15)
        received("K4", at(3, 2), channel="hotline_12315", category="举报"),
    ])  # fmt: skip
    consume(settings)
    url = settings.database_url or ""
    got = {
        r["case_id"]: (
            r["channel"],
            r["urgency"],
            r["due_at"],
            r["time_limit"],
            r["time_limit_unit"],
            r["on_time"],
        )
        for r in rows(url, "SELECT * FROM case_status")
    }
    assert got == {
        "K1": ("hotline_12345", "emergency", at(10, 1, 20), 24, "hours", True),
        "K2": ("hotline_12345", "normal", end_of(10, 10), 3, "working_days", False),
        "K3": ("hotline_96196", "normal", end_of(3, 9), 5, "working_days", None),
        "K4": ("hotline_12315", "normal", end_of(3, 23), 15, "working_days", None),
    }
    (k1,) = rows(url, "SELECT yellow_at FROM case_status WHERE case_id = 'K1'")
    assert k1["yellow_at"] == at(10, 1, 12)
    channels = {r["channel"] for r in rows(url, "SELECT channel FROM completion_rates")}
    assert channels == {"hotline_12345", "hotline_96196", "hotline_12315"}
