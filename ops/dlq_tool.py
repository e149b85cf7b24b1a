"""``casetrack dlq``: list dead letters, show one, re-publish selected ones after a fix, or discard them.

``casetrack.dead_letters`` holds one row per dead-lettered record (coordinates, reason, detail; never the
payload); the payload is on ``<topic>.dlq`` with the headers described in :mod:`consumers.dlq`. A letter is
found on the DLQ topic by its ``casetrack.source`` header, scanning from shortly before the time it was
dead-lettered (``offsets_for_times``).

Re-publishing sends a record back to the letter's original topic: either the original key, value and headers
(after an upstream fix such as a new catalog version or upcaster), or a corrected event from a file. It is
validated with the current codec first, and then consumed like any other record, so an event id that was
already folded is a duplicate and changes nothing. Values are printed only on request and never logged.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from kafka import KafkaConsumer, TopicPartition

from app.bootstrap import Endpoints, build_codec
from app.settings import Settings
from consumers.dlq import AT, DETAIL, DROPPED, HEADERS_DROPPED, REASON, SOURCE, dlq_topic
from events.codec import DecodeError, Record
from ops.pg_dead_letters import (
    LETTER_COLUMNS,
    letters_at,
    mark_discarded,
    mark_republished,
    select_letters,
)
from producers.sdk import EventProducer

log = logging.getLogger("casetrack.dlq")
Coords = tuple[str, int, int]  # (topic, partition, offset) of the original record
REPUBLISHED_FROM = "casetrack.republished_from"
_OURS = {REASON, DETAIL, SOURCE, AT, DROPPED, HEADERS_DROPPED, REPUBLISHED_FROM}
_SCAN_MARGIN = dt.timedelta(minutes=10)  # producer vs database clocks, and the batch's duration


def parse_coords(text: str) -> Coords:
    """``TOPIC/PARTITION/OFFSET`` (Kafka topic names cannot contain ``/``)."""
    try:
        topic, part, offset = text.rsplit("/", 2)
        return topic, int(part), int(offset)
    except ValueError:
        raise ValueError(f"{text!r} is not TOPIC/PARTITION/OFFSET") from None


def fmt_coords(c: Coords) -> str:
    return f"{c[0]}/{c[1]}/{c[2]}"


@dataclass(frozen=True)
class Letter:
    """A row of ``casetrack.dead_letters``."""

    topic: str
    partition: int
    offset: int
    reason: str
    detail: str
    event_id: str | None
    event_type: str | None
    dead_lettered_at: dt.datetime
    republished_at: dt.datetime | None
    republished_as: str | None
    discarded_at: dt.datetime | None
    resolution: str | None

    @property
    def coords(self) -> Coords:
        return (self.topic, self.partition, self.offset)

    @property
    def state(self) -> str:
        return "republished" if self.republished_at else "discarded" if self.discarded_at else "pending"

    def as_dict(self) -> dict[str, Any]:
        return {"source": fmt_coords(self.coords), **{k: getattr(self, k) for k in LETTER_COLUMNS[3:]},
                "state": self.state}  # fmt: skip


def list_letters(
    dsn: str,
    topic: str | None = None,
    reason: str | None = None,
    state: str = "pending",
    limit: int | None = 100,
) -> list[Letter]:
    """Dead letters, oldest first, filtered by original topic, reason code and state."""
    return [Letter(*r) for r in select_letters(dsn, topic, reason, state, limit)]


def get_letters(dsn: str, coords: Iterable[Coords]) -> dict[Coords, Letter]:
    wanted = list(coords)
    if not wanted:
        return {}
    return {(r[0], r[1], r[2]): Letter(*r) for r in letters_at(dsn, wanted)}


@dataclass(frozen=True)
class DlqRecord:
    """A record on a ``.dlq`` topic."""

    dlq_topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...]
    timestamp_ms: int | None

    def header(self, name: str) -> str | None:
        for k, v in self.headers:
            if k == name and v is not None:
                return v.decode("utf-8", "replace")
        return None

    @property
    def source(self) -> Coords | None:
        raw = self.header(SOURCE)
        try:
            return parse_coords(raw) if raw else None
        except ValueError:
            return None

    @property
    def original_headers(self) -> list[tuple[str, bytes]]:
        return [(k, v) for k, v in self.headers if k not in _OURS]


def find_records(
    bootstrap: str,
    client_options: Mapping[str, object],
    wanted: Mapping[Coords, dt.datetime | None],
    timeout_seconds: float = 60.0,
) -> dict[Coords, DlqRecord]:
    """Locate the DLQ records of ``wanted`` letters (value: when they were dead-lettered, if known)."""
    found: dict[Coords, DlqRecord] = {}
    for topic in sorted({c[0] for c in wanted}):
        mine = {c: t for c, t in wanted.items() if c[0] == topic}
        found.update(_scan(bootstrap, client_options, dlq_topic(topic), mine, timeout_seconds))
    return found


def _scan(
    bootstrap: str,
    client_options: Mapping[str, object],
    topic: str,
    wanted: Mapping[Coords, dt.datetime | None],
    timeout_seconds: float,
) -> dict[Coords, DlqRecord]:
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap.split(","), group_id=None, enable_auto_commit=False,
        auto_offset_reset="earliest", fetch_max_wait_ms=100, **client_options,
    )  # fmt: skip
    try:
        tps = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        if not tps:
            return {}
        consumer.assign(tps)
        times = [t for t in wanted.values()]
        if all(t is not None for t in times):
            start_ms = int((min(t for t in times if t is not None) - _SCAN_MARGIN).timestamp() * 1000)
            starts = consumer.offsets_for_times({tp: max(start_ms, 0) for tp in tps})
            for tp in tps:
                hit = starts.get(tp)
                if hit is None:
                    consumer.seek_to_end(tp)  # nothing that recent here
                else:
                    consumer.seek(tp, hit.offset)
        else:
            consumer.seek_to_beginning(*tps)
        found: dict[Coords, DlqRecord] = {}
        deadline = time.monotonic() + timeout_seconds
        while len(found) < len(wanted) and time.monotonic() < deadline:
            batch = consumer.poll(timeout_ms=300)
            for tp, records in batch.items():
                for r in records:
                    rec = DlqRecord(
                        topic, tp.partition, r.offset, r.key, r.value, tuple(r.headers or ()), r.timestamp
                    )
                    src = rec.source
                    if src is not None and src in wanted and src not in found:
                        found[src] = rec  # a crash can publish a letter twice: the first copy wins
            done = all(
                consumer.highwater(tp) is not None and consumer.position(tp) >= (consumer.highwater(tp) or 0)
                for tp in tps
            )
            if done and not batch:
                break
        return found
    finally:
        consumer.close()


@dataclass
class RepublishReport:
    """Outcome of ``dlq republish``, per original coordinates."""

    sent: dict[Coords, str] = field(default_factory=dict)  # -> "topic/partition/offset" sent as
    still_invalid: dict[Coords, str] = field(default_factory=dict)  # -> "reason: detail"
    missing: list[Coords] = field(default_factory=list)  # no DLQ record found (or its value was dropped)


def validate(
    settings: Settings,
    topic: str,
    key: bytes | None,
    value: bytes | None,
    headers: Sequence[tuple[str, bytes]],
) -> str | None:
    """None if the current codec accepts the record, else ``reason: detail``."""
    try:
        build_codec(settings).decode(Record(topic, 0, 0, key, value, tuple(headers)))
        return None
    except DecodeError as exc:
        return f"{exc.reason}: {exc.detail}"


def corrected_record(raw: bytes) -> tuple[bytes, bytes, list[tuple[str, bytes]]]:
    """(key, value, headers) for a corrected structured CloudEvent given as a JSON document."""
    try:
        envelope = json.loads(raw)
    except ValueError as exc:
        raise ValueError(f"the corrected event is not JSON: {exc}") from None
    if not isinstance(envelope, dict) or not isinstance(envelope.get("subject"), str):
        raise ValueError(
            "the corrected event must be one structured CloudEvent (a JSON object with a subject)"
        )
    value = json.dumps(envelope, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return envelope["subject"].encode("utf-8"), value, [("content-type", b"application/cloudevents+json")]


_Outgoing = tuple[bytes | None, bytes | None, list[tuple[str, bytes]]]  # key, value, headers


def republish(
    settings: Settings,
    endpoints: Endpoints,
    coords: Sequence[Coords],
    corrected: bytes | None = None,
    *,
    again: bool = False,
    dry_run: bool = False,
    force: bool = False,
) -> RepublishReport:
    """Send the selected letters back to their original topics and record ``republished_at``.

    ``corrected``: a corrected event (JSON) that replaces the value of the single selected letter.
    ``again``: also letters that were re-published before. ``force``: send even what the codec still refuses.
    """
    if corrected is not None and len(coords) != 1:
        raise ValueError("a corrected event replaces exactly one letter: select one")
    letters = get_letters(endpoints.database_url, coords)
    unknown = [c for c in coords if c not in letters]
    if unknown:
        raise ValueError("no dead letter at " + ", ".join(fmt_coords(c) for c in unknown))
    selected = {c: lt for c, lt in letters.items() if again or lt.state == "pending"}
    report = RepublishReport()
    if not selected:
        return report
    outgoing: dict[Coords, _Outgoing] = {}
    if corrected is not None:
        (c,) = selected
        outgoing[c] = corrected_record(corrected)
    else:
        records = find_records(
            endpoints.kafka_bootstrap, settings.kafka_security.client_options(),
            {c: lt.dead_lettered_at for c, lt in selected.items()},
        )  # fmt: skip
        for c in selected:
            rec = records.get(c)
            if rec is None or rec.header(DROPPED) == "true":
                report.missing.append(c)
            else:
                outgoing[c] = (rec.key, rec.value, rec.original_headers)
    for c, (key, value, headers) in list(outgoing.items()):
        problem = validate(settings, c[0], key, value, headers)
        if problem and not force:
            report.still_invalid[c] = problem
            del outgoing[c]
    if dry_run or not outgoing:
        report.sent = {c: "(dry run)" for c in outgoing} if dry_run else {}
        return report
    report.sent = _send(settings, endpoints, outgoing)
    mark_republished(endpoints.database_url, list(report.sent.items()))
    log.info("re-published %d dead letter(s)", len(report.sent))
    return report


def _send(
    settings: Settings, endpoints: Endpoints, outgoing: Mapping[Coords, _Outgoing]
) -> dict[Coords, str]:
    """Send each record to its original topic; returns where each went (``topic/partition/offset``)."""
    sent: dict[Coords, str] = {}
    producer = EventProducer.connect(
        endpoints.kafka_bootstrap, settings.topics, settings.kafka_security.client_options()
    )
    try:
        futures = {
            c: producer.send_raw(c[0], key, value, [*headers, (REPUBLISHED_FROM, fmt_coords(c).encode())])
            for c, (key, value, headers) in outgoing.items()
        }
        producer.flush()
        for c, fut in futures.items():
            res = fut.result(timeout=30)
            sent[c] = f"{res.topic}/{res.partition}/{res.offset}"
    finally:
        producer.close()
    return sent


def select_pending(dsn: str, topic: str | None, reason: str | None, limit: int | None) -> list[Coords]:
    """Coordinates of pending letters matching the filters (for bulk re-publish or discard)."""
    return [lt.coords for lt in list_letters(dsn, topic, reason, "pending", limit)]


def discard(dsn: str, coords: Sequence[Coords], note: str) -> int:
    """Mark pending letters as handled without re-publishing them; returns how many were marked."""
    if not coords:
        return 0
    return mark_discarded(dsn, coords, note)
