"""Binary-mode records decode on the one-pass path (``_fast_binary``) exactly as on the precise path it skips
(headers -> envelope dict -> ``from_envelope``): the same events, and the same dead-letter reasons and details."""

from __future__ import annotations

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from events.catalog import Event
from events.codec import Codec, DecodeError, Record, _fast_binary
from producers.generator import GeneratorConfig, generate
from tests.property.strategies import hostile_records

CODEC = Codec({"gov.case.events": "case"})
SETTINGS = settings(max_examples=300, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow,
                    HealthCheck.data_too_large, HealthCheck.large_base_example, HealthCheck.filter_too_much])  # fmt: skip


def outcome(decode: object, record: Record) -> Event | tuple[str, str]:
    try:
        return decode(record)  # type: ignore[operator, no-any-return]
    except DecodeError as exc:
        return (exc.reason, exc.detail)


def precise(record: Record) -> Event:
    """``Codec.decode`` of a binary-mode record without the one-pass path."""
    event = CODEC.from_envelope(CODEC._binary_envelope(dict(record.headers), record.value))
    return CODEC._check_routing(record, event)


def is_binary(record: Record) -> bool:
    return any(k == "ce_specversion" for k, _ in record.headers)


@SETTINGS
@given(record=hostile_records())
def test_hostile_binary_records_decode_as_on_the_precise_path(record: Record) -> None:
    size = len(record.value or b"") + sum(len(k) + len(v or b"") for k, v in record.headers)
    assume(
        is_binary(record) and size <= CODEC.max_event_bytes
    )  # larger ones are "oversized" before either path
    assert outcome(CODEC.decode, record) == outcome(precise, record)


@settings(max_examples=300, deadline=None, database=None)
@given(tail=st.sampled_from([b',"type":"case.closed"', b',"schemaversion":1', b',"subject":"Y-2"', b" ", b"",
                             b',"datacontenttype":"x"', b"}", b',"x":{}']),
       extra=st.lists(st.tuples(st.sampled_from(["ce_schemaversion", "ce_data", "ce_x", "ce_time", "ce_"]),
                                st.one_of(st.none(), st.binary(max_size=12))), max_size=2))  # fmt: skip
def test_a_value_cannot_add_envelope_attributes(tail: bytes, extra: list[tuple[str, bytes | None]]) -> None:
    key, value, headers = Codec.encode_binary(VALID[0])
    kept: list[tuple[str, bytes | None]] = [(k, v) for k, v in headers if k != "ce_subject"]
    record = Record("gov.case.events", 0, 0, None, value + tail, tuple(kept + extra))  # type: ignore[arg-type]
    assert outcome(CODEC.decode, record) == outcome(precise, record)


_CONFIG = GeneratorConfig.for_event_count(600, seed=7)
VALID = [
    CODEC.decode(Record("gov.case.events", 0, 0, m.key, m.value, tuple(m.headers)))
    for m in generate(_CONFIG)
    if m.kind == "valid" and m.value and b'"case.' in (m.value + b"".join(v for _k, v in m.headers))
][:200]


def test_generated_binary_records_take_the_one_pass_path() -> None:
    for event in VALID:
        key, value, headers = Codec.encode_binary(event)
        record = Record("gov.case.events", 0, 0, key, value, tuple(headers))
        assert _fast_binary(dict(record.headers), value) == event == precise(record)
