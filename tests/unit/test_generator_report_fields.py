"""The demo's generator draws every field the reports read (issue 19), valid on the wire."""

from __future__ import annotations

import collections
from typing import Any

from events import data as d
from producers.generator import GeneratorConfig, generate
from projections.calendar import WorkCalendar
from tests.unit.test_generator import decode_valid

CONFIG = GeneratorConfig(cases_per_day=400, days=20, supervision_per_day=1.0, rectification_per_day=1.0)


def test_every_report_field_is_generated() -> None:
    events = decode_valid(generate(CONFIG, calendar=WorkCalendar.load()))
    seen: collections.Counter[str] = collections.Counter()
    # the stream has late (out-of-order) events: know every case's channel first
    channel = {e.subject: e.data.channel for e in events if isinstance(e.data, d.CaseReceived)}
    for e in events:
        p: Any = e.data
        if isinstance(p, d.CaseReceived):
            if p.channel == "disclosure_request":
                assert p.applicant_type is not None
                seen[f"applicant:{p.applicant_type}"] += 1
            if p.channel == "service_center":
                assert (
                    p.legal_time_limit_days is not None
                    and (p.time_limit_days or 0) <= p.legal_time_limit_days
                )
                seen["legal_time_limit_days"] += 1
            seen["headcount>=5"] += (p.headcount or 0) >= 5
            seen["skip_level"] += bool(p.skip_level)
            seen["co_petitioners"] += bool(p.co_petitioners)
            seen[f"channel:{p.channel}"] += 1
            seen[f"urgency:{p.urgency}"] += 1
            seen[f"category:{p.channel}/{p.category}"] += p.category in ("咨询", "投诉", "举报")
        elif isinstance(p, d.CaseAssigned) and p.co_departments:
            assert p.department not in p.co_departments
            kind = "parallel" if channel.get(e.subject) == "service_center" else "co_handled"
            seen[f"co_departments:{kind}"] += 1
        elif isinstance(p, d.CaseResolved) and channel.get(e.subject) == "disclosure_request":
            assert p.disclosure is not None
            seen[f"disclosure:{p.disclosure.outcome}"] += 1
    for key in ("applicant:natural_person", "applicant:commercial_enterprise", "legal_time_limit_days",
                "headcount>=5", "skip_level", "co_petitioners", "co_departments:parallel",
                "co_departments:co_handled", "disclosure:disclosed", "disclosure:not_disclosed",
                "disclosure:unable_to_provide", "urgency:emergency", "channel:hotline_12315",
                "channel:bureau_hotline", "channel:efficiency_complaint",
                "category:hotline_12345/咨询", "category:hotline_12315/举报", "category:hotline_12315/投诉"):  # fmt: skip
        assert seen[key] > 0, key
