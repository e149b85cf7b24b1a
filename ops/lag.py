"""``casetrack lag``: per projection family and partition, the stored position (live generation), the
partition's end, the lag in records, and the age of the last event consumed.

The partition end is the high watermark that a *fetch response* carries. ``end_offsets()`` (ListOffsets
"latest") is exact on Apache Kafka but can be too small on Tansu (see ``stack.md``), so the probe seeks to it
and fetches: on Kafka the fetch is empty and confirms it, on Tansu it returns the last records and the right
high watermark. The reported end is the larger of the two, which is right on both. The stored positions are
read by :func:`reports.pg_reads.live_positions`.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from kafka import KafkaConsumer, TopicPartition

from app.bootstrap import Endpoints, topic_families
from app.pg_connect import connection
from app.settings import Settings
from consumers.ports import TP
from reports.pg_reads import live_positions


@dataclass(frozen=True)
class PartitionLag:
    """One row of ``casetrack lag``."""

    family: str
    generation: int | None
    topic: str
    partition: int
    position: int | None  # next offset to consume (None: nothing consumed yet)
    beginning: int
    end: int
    lag: int  # end - position; negative: the broker lost data the projection had consumed
    last_event_time: dt.datetime | None
    last_event_age_seconds: float | None
    updated_at: dt.datetime | None  # when the position last moved

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        for k in ("last_event_time", "updated_at"):
            d[k] = d[k].isoformat() if d[k] else None
        return d


def combine_ends(fetched: Mapping[TP, int | None], listed: Mapping[TP, int]) -> dict[TP, int]:
    """The partition end: the larger of the fetch high watermark and the ListOffsets answer, since either can
    be stale or (on Tansu, for ListOffsets) too small, but neither is ever past the real end."""
    out = {}
    for tp in set(fetched) | set(listed):
        candidates = [v for v in (fetched.get(tp), listed.get(tp)) if v is not None]
        out[tp] = max(candidates) if candidates else 0
    return out


def probe_ends(
    bootstrap: str, client_options: Mapping[str, object], topics: Sequence[str], timeout_seconds: float = 15.0
) -> tuple[dict[TP, int], dict[TP, int]]:
    """(beginning, end) offsets of every partition of ``topics``, the end from fetch responses (see module)."""
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap.split(","), group_id=None, enable_auto_commit=False,
        auto_offset_reset="earliest", fetch_max_wait_ms=50, max_partition_fetch_bytes=64 * 1024,
        **client_options,
    )  # fmt: skip
    try:
        tps = [TopicPartition(t, p) for t in topics for p in sorted(consumer.partitions_for_topic(t) or ())]
        if not tps:
            return {}, {}
        consumer.assign(tps)
        begin = consumer.beginning_offsets(tps)
        listed = consumer.end_offsets(tps)
        for tp in tps:
            consumer.seek(tp, int(listed[tp]))
        deadline = time.monotonic() + timeout_seconds
        while time.monotonic() < deadline and any(consumer.highwater(tp) is None for tp in tps):
            consumer.poll(timeout_ms=200, max_records=1)
        fetched = {(tp.topic, tp.partition): consumer.highwater(tp) for tp in tps}
        ends = combine_ends(fetched, {(tp.topic, tp.partition): int(o) for tp, o in listed.items()})
        return {(tp.topic, tp.partition): int(o) for tp, o in begin.items()}, ends
    finally:
        consumer.close()


def measure_lag(
    settings: Settings, endpoints: Endpoints, now: dt.datetime | None = None
) -> list[PartitionLag]:
    """Lag of the live generation of every projection family, per partition of its topic."""
    families = topic_families(settings)
    begin, ends = probe_ends(
        endpoints.kafka_bootstrap, settings.kafka_security.client_options(), list(families)
    )
    with connection(endpoints.database_url, application_name="casetrack-lag") as conn:
        live, stored = live_positions(conn)
    now = now or dt.datetime.now(dt.UTC)
    rows = []
    for (topic, part), end in sorted(ends.items()):
        family = families[topic]
        pos, last, updated = stored.get((topic, part), (None, None, None))
        start = begin.get((topic, part), 0)
        rows.append(
            PartitionLag(
                family, live.get(family), topic, part, pos, start, end,
                end - (pos if pos is not None else start), last,
                (now - last).total_seconds() if last else None, updated,
            )
        )  # fmt: skip
    return rows
