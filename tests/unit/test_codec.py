"""The codec: structured and binary CloudEvents, strict validation, upcasting, and reasons for rejects."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from events.catalog import EVENT_TYPES
from events.codec import Codec, DecodeError, Record, event_from_dict
from events.data import CaseExtended
from events.schema import event_schema, export_schemas
from events.upcasters import UPCASTERS, case_extended_v1_to_v2

CODEC = Codec({"gov.case.events": "case", "gov.supervision.events": "supervision"})
BASE = {
    "specversion": "1.0", "id": "e-1", "source": "hotline/12345/shijiazhuang", "type": "case.received",
    "subject": "C-1", "time": "2026-03-02T09:00:00+08:00",
    "data": {"channel": "hotline_12345", "category": "市政设施", "summary": "路灯不亮"},
}  # fmt: skip


def record(
    value: bytes | None, key: bytes | None = b"C-1", headers: tuple[tuple[str, bytes], ...] = ()
) -> Record:
    return Record("gov.case.events", 0, 0, key, value, headers)


def reason(value: bytes | None, **kw: object) -> str:
    with pytest.raises(DecodeError) as err:
        CODEC.decode(record(value, **kw))  # type: ignore[arg-type]
    return err.value.reason


def test_structured_mode_round_trip() -> None:
    event = CODEC.decode(record(json.dumps(BASE).encode()))
    key, value, headers = Codec.encode(event)
    assert key == b"C-1" and CODEC.decode(record(value, headers=tuple(headers))) == event


def test_binary_mode_round_trip() -> None:
    event = event_from_dict(BASE)
    key, value, headers = Codec.encode_binary(event)
    assert dict(headers)["ce_type"] == b"case.received"
    assert CODEC.decode(record(value, key, tuple(headers))) == event


def test_v1_case_extended_is_upcast_to_v2() -> None:
    v1 = {**BASE, "type": "case.extended", "data": {"extra_days": 5, "reason": "情况复杂"}}
    event = CODEC.decode(record(json.dumps(v1).encode()))
    assert isinstance(event.data, CaseExtended)
    assert (event.data.extra, event.data.unit, event.schemaversion) == (5, None, 2)
    assert ("case.extended", 1) in UPCASTERS
    assert case_extended_v1_to_v2({"extra_days": 3, "reason": "r"}) == {
        "reason": "r",
        "extra": 3,
        "unit": None,
    }


def test_store_rows_decode_as_envelopes_like_their_database_values() -> None:
    """An event-store row comes back as one JSON envelope (the store's query builds it); it decodes to the
    event ``from_envelope(strict=False)`` makes of the row's database values, an older version upcast."""
    when = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC)  # 09:00 in Beijing, as a UTC timestamptz reads back
    rows = [
        {**BASE, "schemaversion": 1},
        {**BASE, "type": "case.extended", "schemaversion": 1, "data": {"extra_days": 5, "reason": "复杂"}},
        {**BASE, "type": "case.extended", "schemaversion": 2, "data": {"extra": 1, "unit": "months", "reason": "r"}},
    ]  # fmt: skip
    for row in rows:
        text = json.dumps({**row, "time": "2026-03-02T01:00:00+00:00"}, ensure_ascii=False)
        event = CODEC.from_store_json(text)
        assert event == CODEC.from_envelope({**row, "time": when}, strict=False)
        assert event.time == when and event.time.utcoffset() == dt.timedelta(0)
    assert (
        CODEC.from_store_json(json.dumps({**rows[1], "time": "2026-03-02T01:00:00+00:00"})).schemaversion == 2
    )


def test_v2_case_extended_is_taken_as_is() -> None:
    v2 = {
        **BASE,
        "type": "case.extended",
        "schemaversion": 2,
        "data": {"extra": 1, "unit": "months", "reason": "r"},
    }
    assert CODEC.decode(record(json.dumps(v2).encode())).data == CaseExtended(
        extra=1, unit="months", reason="r"
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (b"{nope", "invalid_json"),
        (b"\xff\xfe", "invalid_utf8"),
        (b"[]", "not_an_object"),
        (b"", "empty_value"),
        (json.dumps({**BASE, "type": "case.unknown"}).encode(), "unknown_type"),
        (json.dumps({**BASE, "schemaversion": 7}).encode(), "unsupported_version"),
        (json.dumps({**BASE, "data": {"channel": "hotline_12345"}}).encode(), "schema_violation"),
        (json.dumps({**BASE, "time": "2026-03-02T09:00:00"}).encode(), "schema_violation"),
        (json.dumps({**BASE, "time": "1900-03-02T09:00:00+08:00"}).encode(), "schema_violation"),
        (json.dumps({**BASE, "data": {**BASE["data"], "extra_field": 1}}).encode(), "schema_violation"),  # type: ignore[dict-item]
        (json.dumps({**BASE, "data": {**BASE["data"], "summary": "a\u0000"}}).encode(), "nul_character"),  # type: ignore[dict-item]
        (b'{"a": "\\ud800"}', "invalid_utf8"),
        (b"[" * 150_000 + b"]" * 150_000, "oversized"),
        (b"[" * 50_000 + b"]" * 50_000, "invalid_json"),
    ],
)
def test_rejects_carry_a_reason(value: bytes, expected: str) -> None:
    assert reason(value) == expected


def test_key_must_match_subject_and_topic_must_match_aggregate() -> None:
    assert reason(json.dumps(BASE).encode(), key=b"C-2") == "key_mismatch"
    sup = {**BASE, "type": "supervision.urged", "subject": "S-1", "data": {}}
    assert reason(json.dumps(sup).encode(), key=b"S-1") == "wrong_topic"


def test_error_details_never_quote_the_input() -> None:
    secret = "张三 13800000000"
    bad = {**BASE, "data": {**BASE["data"], "urgency": secret}}  # type: ignore[dict-item]
    with pytest.raises(DecodeError) as err:
        CODEC.decode(record(json.dumps(bad, ensure_ascii=False).encode()))
    assert "13800000000" not in str(err.value) and "张三" not in str(err.value)


def test_json_schema_for_every_type(tmp_path: Path) -> None:
    paths = export_schemas(tmp_path)
    assert len(paths) == len(EVENT_TYPES)
    schema = event_schema("case.received")
    assert schema["properties"]["type"] == {"const": "case.received"}
    assert {"id", "source", "subject", "time", "data"} <= set(schema["required"])
