"""Pure parts of the operations tooling: label capping, partition ends, DLQ coordinates, readiness."""

from __future__ import annotations

import json

import pytest

from ops.dlq_tool import corrected_record, fmt_coords, parse_coords
from ops.domain_metrics import OTHER, DepartmentRow, cap_departments
from ops.lag import combine_ends
from ops.server import Health


def _row(
    channel: str, dept: str, received: int, resolved: int, on_time: int, rated: int = 0, sat: int = 0
) -> DepartmentRow:
    return DepartmentRow(channel, dept, received, resolved, on_time, rated, sat)


def test_cap_departments_keeps_the_busiest_and_sums_the_rest_exactly() -> None:
    rows = [
        _row("hotline_12345", "A", 100, 90, 81, 50, 40),
        _row("hotline_12345", "B", 50, 40, 20, 10, 5),
        _row("hotline_12345", "C", 5, 4, 4, 2, 2),
        _row("mayor_mailbox", "C", 3, 2, 1, 0, 0),
        _row("mayor_mailbox", "D", 1, 1, 0, 1, 0),
    ]
    capped = {(r.channel, r.department): r for r in cap_departments(rows, keep=2)}
    assert set(capped) == {("hotline_12345", "A"), ("hotline_12345", "B"), ("hotline_12345", OTHER),
                           ("mayor_mailbox", OTHER)}  # fmt: skip
    other = capped[("mayor_mailbox", OTHER)]
    assert (other.received, other.resolved, other.resolved_on_time, other.rated, other.satisfied) == (
        4,
        3,
        1,
        1,
        0,
    )
    assert capped[("hotline_12345", "A")] == rows[0]
    many = [_row("letter", f"dept-{i:03d}", i, i, i) for i in range(200)]
    assert len({r.department for r in cap_departments(many, keep=50)}) == 51  # bounded label set


def test_partition_end_is_the_larger_of_fetch_and_list() -> None:
    tp0, tp1, tp2 = ("t", 0), ("t", 1), ("t", 2)
    # Tansu: ListOffsets too small; Kafka: the fetch high watermark not known yet; an empty partition.
    assert combine_ends({tp0: 1000, tp1: None, tp2: 0}, {tp0: 625, tp1: 40, tp2: 0}) == {
        tp0: 1000,
        tp1: 40,
        tp2: 0,
    }


def test_dlq_coordinates() -> None:
    assert parse_coords("gov.case.events/3/1234") == ("gov.case.events", 3, 1234)
    assert fmt_coords(("gov.case.events", 3, 1234)) == "gov.case.events/3/1234"
    for bad in ("gov.case.events", "t/x/1", "t/1"):
        with pytest.raises(ValueError):
            parse_coords(bad)


def test_corrected_record_is_keyed_by_subject() -> None:
    key, value, headers = corrected_record(
        json.dumps({"id": "e1", "subject": "C1", "data": {"x": "甲"}}).encode()
    )
    assert key == b"C1" and json.loads(value)["data"]["x"] == "甲" and "甲".encode() in value
    assert ("content-type", b"application/cloudevents+json") in headers
    for bad in (b"{nope", b"[1]", b'{"id": "e1"}'):
        with pytest.raises(ValueError):
            corrected_record(bad)


def test_readiness() -> None:
    db = {"ok": True}
    health = Health(lambda: db["ok"])
    assert health.readiness()[0] is False  # not assigned yet
    health.set_assigned(4)
    assert health.readiness() == (True, "ok: 4 partitions assigned")
    db["ok"] = False
    assert health.readiness() == (False, "database unreachable")
    db["ok"] = True
    health.stopping = True
    assert health.readiness() == (False, "stopping")
    health.fail("OffsetsAheadOfBroker")
    assert health.readiness() == (False, "failed: OffsetsAheadOfBroker")
