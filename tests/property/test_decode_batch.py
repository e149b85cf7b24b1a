"""``Codec.decode_batch`` is ``Codec.decode`` per record: the same events, and the same dead-letter reasons and
details, for batches of hostile records on every topic (the batch path inlines the common case only)."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from events.catalog import Event
from events.codec import Codec, DecodeError, Record
from tests.property.strategies import hostile_records

TOPICS = {
    "gov.case.events": "case",
    "gov.supervision.events": "supervision",
    "gov.rectification.events": "rectification",
}
CODEC = Codec(dict(TOPICS))  # type: ignore[arg-type]
SETTINGS = settings(max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow,
                    HealthCheck.data_too_large, HealthCheck.large_base_example])  # fmt: skip


def one_by_one(record: Record) -> Event | tuple[str, str]:
    try:
        return CODEC.decode(record)
    except DecodeError as exc:
        return (exc.reason, exc.detail)


@SETTINGS
@given(data=st.data(), n=st.integers(min_value=0, max_value=6))
def test_a_batch_decodes_as_its_records_one_by_one(data: st.DataObject, n: int) -> None:
    records = [data.draw(hostile_records(data.draw(st.sampled_from(sorted(TOPICS))))) for _ in range(n)]
    batch = CODEC.decode_batch(records)
    assert len(batch) == len(records)
    for record, got in zip(records, batch, strict=True):
        expected = one_by_one(record)
        assert (got if isinstance(got, Event) else (got.reason, got.detail)) == expected


@settings(max_examples=300, deadline=None, database=None)
@given(key=st.one_of(st.none(), st.binary(max_size=40)), value=st.one_of(st.none(), st.binary(max_size=300)),
       headers=st.lists(st.tuples(st.sampled_from(["content-type", "ce_specversion", "ce_type", "x"]),
                                  st.binary(max_size=40)), max_size=3))  # fmt: skip
def test_arbitrary_bytes_decode_the_same_in_a_batch(
    key: bytes | None, value: bytes | None, headers: list[tuple[str, bytes]]
) -> None:
    record = Record("gov.case.events", 0, 0, key, value, tuple(headers))
    (got,) = CODEC.decode_batch([record])
    assert (got if isinstance(got, Event) else (got.reason, got.detail)) == one_by_one(record)
