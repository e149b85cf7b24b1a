"""``casetrack produce FILE``: publish events from a JSON-lines file (one structured CloudEvent per line).

The file is validated completely before anything is sent. Invalid lines are reported with their line
numbers; by default nothing is sent when any line is invalid, and with ``skip_invalid`` only the valid lines
are sent. Either way, nothing invalid ever reaches Kafka.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from events.catalog import Event
from events.codec import Codec, DecodeError, Record
from producers.sdk import EventProducer


@dataclass(frozen=True, slots=True)
class LineError:
    line: int
    reason: str
    detail: str


@dataclass
class ProduceReport:
    valid: int = 0
    sent: int = 0
    errors: list[LineError] = field(default_factory=list)


def read_events(path: Path, codec: Codec | None = None) -> Iterator[tuple[int, Event | LineError]]:
    """Each non-blank line as an event, or the error that makes it invalid.

    A line is decoded exactly as the consumer decodes a structured-mode record (:meth:`Codec.decode`), so
    whatever the consumer would dead-letter (a NUL character, a lone surrogate, an oversized event, ...) is
    reported here with the same reason instead of being sent.
    """
    codec = codec or Codec()
    with path.open("rb") as fh:
        for n, raw in enumerate(fh, start=1):
            value = raw.strip()
            if not value:
                continue
            try:
                yield n, codec.decode(Record(str(path), 0, n, None, value))
            except DecodeError as exc:
                yield n, LineError(n, exc.reason, _for_a_line(exc.detail))


def produce_file(
    path: Path,
    producer: EventProducer,
    skip_invalid: bool = False,
    progress: Callable[[int], None] | None = None,
) -> ProduceReport:
    """Validate ``path``, then publish its valid events (see module doc for the all-or-nothing rule)."""
    report = ProduceReport()
    for _n, item in read_events(path):
        if isinstance(item, LineError):
            report.errors.append(item)
        else:
            report.valid += 1
    if report.errors and not skip_invalid:
        return report
    pending = []
    for _n, item in read_events(path):
        if isinstance(item, Event):
            pending.append(producer.publish(item))
            if len(pending) >= 10_000:
                producer.flush()
                for f in pending:
                    f.result()
                report.sent += len(pending)
                pending.clear()
                if progress:
                    progress(report.sent)
    producer.flush()
    for f in pending:
        f.result()
    report.sent += len(pending)  # the caller reports the total: no progress line for it
    return report


def _for_a_line(detail: str) -> str:
    """The codec counts characters of a record from 0; in a file, a person looks for a column (from 1)."""
    return re.sub(r"\(at character (\d+)\)", lambda m: f"(at column {int(m[1]) + 1})", detail)
