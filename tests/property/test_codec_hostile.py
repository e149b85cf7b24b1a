"""The codec (and the folds behind it) against hostile input, in-process and with many examples.

Property: ``Codec.decode`` either raises :class:`DecodeError` with a known reason, or returns an event that every
later stage can take: storable in PostgreSQL (UTF-8 without NUL or lone surrogates), in the catalog at its
newest version, with an aware time in range, keyed by its subject, on its family's topic; and its projection
folds it (apply, row, dump/load) without raising.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from app.bootstrap import build_projections
from app.settings import Settings
from events.catalog import EVENT_TYPES, Event
from events.codec import REASONS, Codec, DecodeError, Record
from projections.base import Projection
from tests.property.strategies import extreme_valid_envelopes, hostile_records

TOPICS = {
    "gov.case.events": "case",
    "gov.supervision.events": "supervision",
    "gov.rectification.events": "rectification",
}
CODEC = Codec(dict(TOPICS))  # type: ignore[arg-type]
MANY = settings(max_examples=700, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow,
                HealthCheck.data_too_large, HealthCheck.large_base_example])  # fmt: skip


@pytest.fixture(scope="module")
def projections() -> dict[str, Projection[Any]]:
    return build_projections(Settings())


def decode_or_reason(record: Record) -> Event | str:
    """The event, or the dead-letter reason; anything else raised is a bug (the message would stall its
    partition)."""
    try:
        return CODEC.decode(record)
    except DecodeError as exc:
        assert exc.reason in REASONS
        assert exc.detail, "a dead letter needs an explanation"
        return exc.reason


def assert_acceptable(event: Event, record: Record, projections: dict[str, Projection[Any]]) -> None:
    stored = event.model_dump_json()
    stored.encode("utf-8")  # raises on a lone surrogate
    assert "\x00" not in stored and "\\u0000" not in stored, "PostgreSQL text and jsonb refuse NUL"
    assert event.type in EVENT_TYPES and event.schemaversion == EVENT_TYPES[event.type][1]
    assert event.time.tzinfo is not None
    assert dt.datetime(2000, 1, 1, tzinfo=dt.UTC) <= event.time < dt.datetime(2100, 1, 1, tzinfo=dt.UTC)
    assert record.key is None or record.key == event.subject.encode()
    assert TOPICS[record.topic] == event.aggregate
    proj = projections[event.aggregate]
    state = proj.apply(proj.initial(event.subject), event)
    proj.row(state, dt.datetime.now(dt.UTC))
    assert proj.dump(proj.load(proj.dump(state))) == proj.dump(state)


@MANY
@given(topic=st.sampled_from(sorted(TOPICS)), data=st.data())
def test_hostile_records_are_rejected_with_a_reason_or_are_safe_to_fold(
    topic: str, data: st.DataObject, projections: dict[str, Projection[Any]]
) -> None:
    record = data.draw(hostile_records(topic))
    outcome = decode_or_reason(record)
    event(outcome.type if isinstance(outcome, Event) else outcome)
    if isinstance(outcome, Event):
        assert_acceptable(outcome, record, projections)


@settings(max_examples=800, deadline=None, database=None)
@given(key=st.one_of(st.none(), st.binary(max_size=40)), value=st.one_of(st.none(), st.binary(max_size=600)),
       headers=st.lists(st.tuples(st.sampled_from(["content-type", "ce_specversion", "ce_type", "ce_id", "x"]),
                                  st.binary(max_size=40)), max_size=4))  # fmt: skip
def test_arbitrary_bytes_never_escape_the_codec(
    key: bytes | None, value: bytes | None, headers: list[tuple[str, bytes]]
) -> None:
    record = Record("gov.case.events", 0, 0, key, value, tuple(headers))
    outcome = decode_or_reason(record)
    assert not isinstance(outcome, Event) or outcome.subject.encode() == key or key is None


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (b"\xff\xfe\xfd", "invalid_utf8"),
        (b'{"a": "\\ud800"}', "invalid_utf8"),
        (b'{"a": "\\u0000"}', "nul_character"),
        (b"[" * 200_000 + b"]" * 200_000, "oversized"),
        (b'{"a":' * 20_000 + b"1" + b"}" * 20_000, "invalid_json"),
        (b"", "empty_value"),
        (b"null", "not_an_object"),
        (b'"\'; DROP TABLE casetrack.event_store; --"', "not_an_object"),
    ],
    ids=["bytes", "surrogate", "nul", "huge", "deep", "empty", "null", "sql"],
)
def test_examples_of_each_kind_of_garbage(value: bytes, reason: str) -> None:
    assert decode_or_reason(Record("gov.case.events", 0, 0, None, value)) == reason


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"time": "2026-10-12T08:30:00"}, "schema_violation"),
        ({"time": "2426-10-12T08:30:00+08:00"}, "schema_violation"),
        ({"time": "1626-10-12T08:30:00+08:00"}, "schema_violation"),
        ({"type": "case.teleported"}, "unknown_type"),
        ({"schemaversion": 99}, "unsupported_version"),
        ({"schemaversion": 0}, "schema_violation"),
        ({"subject": "'; DROP TABLE casetrack.case_state; --"}, "key_mismatch"),
    ],
)
def test_examples_of_each_kind_of_invalid_envelope(change: dict[str, Any], reason: str) -> None:
    from tests.property.strategies import base_envelopes

    env = {**base_envelopes()["case.received"], **change}
    key = base_envelopes()["case.received"]["subject"].encode()
    assert decode_or_reason(Record("gov.case.events", 0, 0, key, json.dumps(env).encode())) == reason


@settings(max_examples=400, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(family=st.sampled_from(["case", "supervision", "rectification"]), data=st.data())
def test_any_valid_events_in_any_order_fold_without_raising(
    family: str, data: st.DataObject, projections: dict[str, Projection[Any]]
) -> None:
    """The Projection contract: apply never raises for a valid event, whatever order it comes in."""
    events = []
    for env in data.draw(extreme_valid_envelopes(family)):
        outcome = decode_or_reason(
            Record(f"gov.{family}.events", 0, 0, env["subject"].encode(), json.dumps(env).encode())
        )
        if isinstance(outcome, Event):
            events.append(outcome)
    event(f"{len(events)} valid")
    proj = projections[family]
    state = proj.initial("X-1")
    for e in sorted(events, key=lambda e: e.sort_key):
        state = proj.apply(state, e)
    proj.row(state, dt.datetime.now(dt.UTC))
    assert proj.dump(proj.load(proj.dump(state))) == proj.dump(state)
