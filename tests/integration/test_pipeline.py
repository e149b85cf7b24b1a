"""The core pipeline end to end, on the real broker and the real database."""

from __future__ import annotations

import datetime as dt
import json
import random
from collections.abc import Callable

from app.settings import Settings
from events.catalog import Event
from projections.base import fold
from projections.case_status import CaseStatusProjection
from tests.factories import case_stream
from tests.integration.helpers import consume, publish, publish_raw, query, read_topic, snapshot, table_diff


def test_produce_consume_query(settings: Settings) -> None:
    events = case_stream(60)
    publish(settings, events)
    totals = consume(settings)
    assert (totals.applied, totals.duplicates, totals.dead_letters) == (len(events), 0, 0)

    proj = CaseStatusProjection()
    expected: dict[str, list[Event]] = {}
    for e in events:
        expected.setdefault(e.subject, []).append(e)
    rows = query(
        settings.database_url or "",
        "SELECT case_id, status, department, return_count, reopen_count, event_count FROM case_status",
    )
    assert len(rows) == 60
    for case_id, status, dept, returns, reopens, count in rows:
        s = fold(proj, case_id, expected[case_id])
        assert (status, dept, returns, reopens, count) == (
            s.status,
            s.department,
            s.return_count,
            s.reopen_count,
            s.event_count,
        )
    assert query(settings.database_url or "", "SELECT count(*) FROM casetrack.event_store")[0][0] == len(
        events
    )


def test_redelivered_batch_changes_nothing(settings: Settings) -> None:
    events = case_stream(30)
    publish(settings, events)
    consume(settings)
    before = snapshot(settings.database_url or "")
    publish(settings, events[: len(events) // 2])  # a producer retry storm: same ids again
    totals = consume(settings)
    assert totals.applied == 0 and totals.duplicates == len(events) // 2
    assert snapshot(settings.database_url or "") == before


def test_shuffled_stream_converges_to_sorted(
    settings_factory: Callable[..., Settings], database_factory: Callable[[], str]
) -> None:
    events = case_stream(50, seed=11)
    shuffled = events[:]
    random.Random(5).shuffle(shuffled)
    in_order = settings_factory(database_factory())
    out_of_order = settings_factory(
        database_factory(), max_batch_records=37
    )  # many late arrivals across batches
    publish(in_order, events)
    publish(out_of_order, shuffled)
    consume(in_order)
    consume(out_of_order)
    assert table_diff(out_of_order.database_url or "", in_order.database_url or "") == []


def test_bad_input_goes_to_the_dlq_and_good_events_keep_flowing(settings: Settings) -> None:
    good = case_stream(10)
    t = settings.topics.case
    valid = json.loads(json.dumps(good[0].wire()))

    def variant(**changes: object) -> bytes:
        return json.dumps({**valid, **changes}, ensure_ascii=False).encode()

    bad = [
        (b"k", b"{not json", "invalid_json"),
        (b"k", b"\xff\xfe garbage", "invalid_utf8"),
        (b"k", b"[1, 2]", "not_an_object"),
        (valid["subject"].encode(), variant(type="case.teleported"), "unknown_type"),
        (valid["subject"].encode(), variant(data={"channel": "hotline_12345"}), "schema_violation"),
        (
            valid["subject"].encode(),
            variant(data={**valid["data"], "channel": "信鸽 carrier pigeon"}),  # not a channel wire value
            "schema_violation",
        ),
        (b"another-case", variant(), "key_mismatch"),
        (valid["subject"].encode(), b'{"x": "' + b"a" * 300_000 + b'"}', "oversized"),
        (valid["subject"].encode(), variant(data={**valid["data"], "summary": "a\u0000b"}), "nul_character"),
        (valid["subject"].encode(), variant(schemaversion=99), "unsupported_version"),
        (valid["subject"].encode(), variant(time="2026-11-02T09:00:00"), "schema_violation"),
        (valid["subject"].encode(), variant(time="2426-11-02T09:00:00+08:00"), "schema_violation"),
        (
            b"S1",
            json.dumps({**valid, "type": "supervision.urged", "subject": "S1", "data": {}}).encode(),
            "wrong_topic",
        ),
        (valid["subject"].encode(), None, "empty_value"),
    ]
    records: list[tuple[str, bytes | None, bytes | None, list[tuple[str, bytes]]]] = []
    for i, e in enumerate(good):
        records.append((t, e.subject.encode(), json.dumps(e.wire(), ensure_ascii=False).encode(), []))
        if i < len(bad):
            k, v, _ = bad[i]
            records.append((t, k, v, []))
    for k, v, _ in bad[len(good) :]:
        records.append((t, k, v, []))
    publish_raw(settings, records)

    totals = consume(settings)
    assert totals.applied == len(good)
    assert totals.dead_letters == len(bad)
    reasons = sorted(
        r for (r,) in query(settings.database_url or "", "SELECT reason FROM casetrack.dead_letters")
    )
    assert reasons == sorted(r for _, _, r in bad)
    assert settings.kafka_bootstrap
    dlq = read_topic(settings.kafka_bootstrap, f"{t}.dlq")
    assert len(dlq) == len(bad)
    for rec in dlq:
        h = dict(rec.headers)
        assert h["casetrack.reason"].decode() in {r for _, _, r in bad}
        assert h["casetrack.detail"]
        assert h["casetrack.source"].decode().startswith(t + "/")


def test_binary_mode_events_are_accepted(settings: Settings) -> None:
    from events.codec import Codec

    events = case_stream(5)
    records = []
    for e in events:
        k, v, h = Codec.encode_binary(e)
        records.append((settings.topics.case, k, v, h))
    publish_raw(settings, records)
    assert consume(settings).applied == len(events)


def test_event_store_refuses_update_and_delete(settings: Settings) -> None:
    import psycopg2
    import pytest

    publish(settings, case_stream(2))
    consume(settings)
    for stmt in (
        "UPDATE casetrack.event_store SET source = 'x'",
        "DELETE FROM casetrack.event_store",
        "TRUNCATE casetrack.event_store",
    ):
        with pytest.raises(psycopg2.Error, match="append-only"):
            query(settings.database_url or "", stmt)


def test_resumes_from_stored_positions(settings: Settings) -> None:
    events = case_stream(20)
    publish(settings, events[:50])
    first = consume(settings)
    publish(settings, events[50:])
    second = consume(settings)
    assert first.records == 50 and second.records == len(events) - 50
    assert query(settings.database_url or "", "SELECT sum(next_offset) FROM casetrack.tracking")[0][0] == len(
        events
    )
    _ = dt
