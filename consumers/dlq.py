"""Dead-letter sinks: invalid records go to ``<topic>.dlq`` with the reason in the headers (the original
headers are kept too); see docs/operators.md ("Drain the DLQ").
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, Protocol

from consumers.ports import DeadLetter

REASON = "casetrack.reason"  # a stable code (``events.codec.REASONS``), e.g. ``schema_violation``
DETAIL = "casetrack.detail"  # a readable explanation that never quotes the input (it may hold personal data)
SOURCE = "casetrack.source"  # ``<topic>/<partition>/<offset>`` of the original record
AT = "casetrack.dead_lettered_at"  # RFC 3339 UTC
DROPPED = "casetrack.value_dropped"  # ``true`` when the original value was too large to forward
HEADERS_DROPPED = "casetrack.headers_dropped"  # ``true`` when the original headers were too large as well
_OURS = (REASON, DETAIL, SOURCE, AT, DROPPED, HEADERS_DROPPED)


class DeadLetterSink(Protocol):
    def publish(self, letters: Sequence[DeadLetter]) -> None:
        """Deliver every letter durably before returning (raise otherwise)."""


def dlq_topic(topic: str) -> str:
    return f"{topic}.dlq"


def dead_letter_headers(letter: DeadLetter, dropped: bool = False) -> list[tuple[str, bytes]]:
    headers = [(k, v) for k, v in letter.headers if k not in _OURS]
    headers += [
        (REASON, letter.reason.encode()),
        (DETAIL, letter.detail.encode("utf-8", "replace")),
        (SOURCE, f"{letter.topic}/{letter.partition}/{letter.offset}".encode()),
        (AT, dt.datetime.now(dt.UTC).isoformat().encode()),
    ]
    if dropped:
        headers.append((DROPPED, b"true"))
    return headers


def _size(key: bytes | None, value: bytes | None, headers: Sequence[tuple[str, bytes]]) -> int:
    return len(key or b"") + len(value or b"") + sum(len(k) + len(v or b"") for k, v in headers)


def dead_letter_record(letter: DeadLetter, max_bytes: int) -> tuple[bytes | None, list[tuple[str, bytes]]]:
    """The value and headers of ``letter``'s DLQ record, at most ``max_bytes`` of key, value and headers
    together (a broker refuses a larger record, and the batch could then never commit). Too large: the value
    is dropped (``casetrack.value_dropped``), then the original headers too (``casetrack.headers_dropped``);
    ``casetrack.source`` still points at the original record."""
    headers = dead_letter_headers(letter)
    if _size(letter.key, letter.value, headers) <= max_bytes:
        # kafka-python refuses a record with neither key nor value: an empty value stands in.
        return (b"" if letter.value is None and letter.key is None else letter.value), headers
    headers = dead_letter_headers(letter, dropped=True)
    if _size(letter.key, b"", headers) > max_bytes:
        headers = [(k, v) for k, v in headers if k in _OURS] + [(HEADERS_DROPPED, b"true")]
    return b"", headers


class KafkaDeadLetterSink:
    """Publishes to ``<topic>.dlq`` with an idempotent ``acks=all`` producer and waits for the acks."""

    def __init__(self, producer: Any, max_value_bytes: int = 900 * 1024) -> None:
        self._producer = producer  # a kafka.KafkaProducer
        self.max_value_bytes = max_value_bytes

    def publish(self, letters: Sequence[DeadLetter]) -> None:
        if not letters:
            return
        futures = []
        for d in letters:
            value, headers = dead_letter_record(d, self.max_value_bytes)
            futures.append(self._producer.send(dlq_topic(d.topic), key=d.key, value=value, headers=headers))
        self._producer.flush()
        for f in futures:
            f.get(timeout=30)  # raises if a dead letter could not be delivered: the batch then rolls back

    def close(self) -> None:
        self._producer.close(timeout=10)


class ListDeadLetterSink:
    """Collects dead letters in memory (tests, and rebuilds that must not publish them again)."""

    def __init__(self) -> None:
        self.letters: list[DeadLetter] = []

    def publish(self, letters: Sequence[DeadLetter]) -> None:
        self.letters.extend(letters)
