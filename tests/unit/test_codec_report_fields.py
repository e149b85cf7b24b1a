"""The optional fields the reports read (issue 19) on the wire: valid ones decode, invalid ones are rejected
with a reason, and events without them decode and encode exactly as before."""

from __future__ import annotations

import json
from typing import Any

import pytest

from events import data as d
from events.codec import Codec, DecodeError, Record

CODEC = Codec({"gov.case.events": "case"})


def envelope(type_: str, data: dict[str, Any]) -> bytes:
    return json.dumps(
        {"specversion": "1.0", "id": "e-1", "source": "test", "type": type_, "subject": "C-1",
         "time": "2026-03-02T09:00:00+08:00", "data": data}, ensure_ascii=False,
    ).encode()  # fmt: skip


def decode(type_: str, data: dict[str, Any]) -> Any:
    return CODEC.decode(Record("gov.case.events", 0, 0, b"C-1", envelope(type_, data), ())).data


RECEIVED = {"channel": "visit", "category": "征地拆迁", "summary": "s"}
RESOLVED = {"department": "市政府办公室", "outcome": "resolved"}


def test_new_fields_decode() -> None:
    r = decode("case.received", {**RECEIVED, "headcount": 12, "skip_level": True,
                                 "co_petitioners": [{"name": "王芳", "phone": "13800000000"}]})  # fmt: skip
    assert (r.headcount, r.skip_level, len(r.co_petitioners)) == (12, True, 1)
    dr = decode(
        "case.received", {**RECEIVED, "channel": "disclosure_request", "applicant_type": "legal_service_org"}
    )
    assert dr.applicant_type == "legal_service_org"
    sc = decode(
        "case.received",
        {**RECEIVED, "channel": "service_center", "time_limit_days": 3, "legal_time_limit_days": 20},
    )
    assert (sc.time_limit_days, sc.legal_time_limit_days) == (3, 20)
    a = decode(
        "case.assigned", {"department": "市行政审批局", "co_departments": ["市市场监管局", "市消防救援支队"]}
    )
    assert a.co_departments == ["市市场监管局", "市消防救援支队"]
    res = decode(
        "case.resolved", {**RESOLVED, "disclosure": {"outcome": "not_processed", "reason": "repeated"}}
    )
    assert res.disclosure == d.DisclosureResult(outcome="not_processed", reason="repeated")
    assert (
        decode("case.resolved", {**RESOLVED, "disclosure": {"outcome": "disclosed"}}).disclosure.reason
        is None
    )


@pytest.mark.parametrize(
    ("type_", "data"),
    [
        ("case.resolved", {**RESOLVED, "disclosure": {"outcome": "not_disclosed"}}),  # reason required
        (
            "case.resolved",
            {**RESOLVED, "disclosure": {"outcome": "unable_to_provide", "reason": "state_secret"}},
        ),
        (
            "case.resolved",
            {**RESOLVED, "disclosure": {"outcome": "disclosed", "reason": "other"}},
        ),  # none allowed
        ("case.resolved", {**RESOLVED, "disclosure": {"outcome": "published"}}),
        ("case.received", {**RECEIVED, "applicant_type": "company"}),
        ("case.received", {**RECEIVED, "headcount": 0}),
        ("case.received", {**RECEIVED, "legal_time_limit_days": -1}),
        ("case.received", {**RECEIVED, "co_petitioners": [{"name": "王芳", "email": "x@y"}]}),
        ("case.assigned", {"department": "A", "co_departments": ["A"]}),  # the lead is not a co-department
        ("case.assigned", {"department": "A", "co_departments": ["B", "B"]}),
    ],
)
def test_invalid_new_fields_are_rejected(type_: str, data: dict[str, Any]) -> None:
    with pytest.raises(DecodeError) as err:
        decode(type_, data)
    assert err.value.reason == "schema_violation"


def test_events_without_the_new_fields_are_unchanged_on_the_wire() -> None:
    event = CODEC.decode(Record("gov.case.events", 0, 0, b"C-1", envelope("case.received", RECEIVED), ()))
    assert event.wire()["data"] == {**RECEIVED, "urgency": "normal"}  # no new keys (they default to absent)


def test_the_reason_literal_lists_exactly_the_form_reasons() -> None:
    listed = {r for reasons in d.DISCLOSURE_REASONS.values() for r in reasons}
    assert listed == set(d.DisclosureReason.__args__)  # type: ignore[attr-defined]
    assert set(d.DISCLOSURE_REASONS) < set(d.DisclosureOutcome.__args__)  # type: ignore[attr-defined]
