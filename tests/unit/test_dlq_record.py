"""A dead letter's record stays under the size a broker accepts, counting its headers too (Apache Kafka
refused one whose original headers were large: the batch could never commit)."""

from __future__ import annotations

from consumers.dlq import DROPPED, HEADERS_DROPPED, REASON, SOURCE, dead_letter_record
from consumers.ports import DeadLetter

LIMIT = 10_000


def _letter(
    value: bytes | None, headers: tuple[tuple[str, bytes], ...] = (), key: bytes | None = b"K1"
) -> DeadLetter:
    return DeadLetter("gov.case.events", 0, 7, "schema_violation", "a readable reason", key, value, headers)


def _names(headers: list[tuple[str, bytes]]) -> dict[str, bytes]:
    return dict(headers)


def test_a_small_letter_keeps_its_value_and_headers() -> None:
    value, headers = dead_letter_record(_letter(b"{}", (("ce_type", b"x"),)), LIMIT)
    names = _names(headers)
    assert value == b"{}"
    assert names["ce_type"] == b"x" and names[REASON] == b"schema_violation"
    assert names[SOURCE] == b"gov.case.events/0/7"
    assert DROPPED not in names and HEADERS_DROPPED not in names


def test_a_value_that_fits_alone_but_not_with_its_headers_is_dropped() -> None:
    value, headers = dead_letter_record(_letter(b"v" * 6_000, (("ce_schemaversion", b"h" * 5_000),)), LIMIT)
    names = _names(headers)
    assert value == b""
    assert names[DROPPED] == b"true"
    assert names["ce_schemaversion"] == b"h" * 5_000  # 5,000 + our headers fit: the original headers stay
    assert HEADERS_DROPPED not in names


def test_headers_too_large_on_their_own_are_dropped_as_well() -> None:
    value, headers = dead_letter_record(_letter(b"v", (("ce_schemaversion", b"h" * 20_000),)), LIMIT)
    names = _names(headers)
    assert value == b""
    assert "ce_schemaversion" not in names
    assert names[DROPPED] == b"true" and names[HEADERS_DROPPED] == b"true"
    assert names[REASON] == b"schema_violation" and names[SOURCE] == b"gov.case.events/0/7"
    assert sum(len(k) + len(v) for k, v in headers) + 2 <= LIMIT


def test_a_letter_without_key_and_value_gets_an_empty_value() -> None:
    value, _ = dead_letter_record(_letter(None, key=None), LIMIT)
    assert value == b""  # kafka-python refuses a record with neither
