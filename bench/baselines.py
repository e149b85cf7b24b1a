"""Reference baselines, measured in the same run and on the same machine as casetrack's own figures.

Four reference rates (``stack.md``, "Throughput baselines"): pyeventsourcing's projection with exactly-once
tracking (:mod:`bench.baselines_es`), a bare kafka-python consume, a naive trivial consumer (one transaction
per event) and a batched trivial one (one upsert per case per batch). Each is printed beside its reference
and the "machine factor" (measured / reference), since this machine's speed drifts; see docs/benchmarks.md.

    python -m bench.baselines                   # defaults: about a minute
    python -m bench.baselines --events 100000 --es-events 5000
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import psycopg2
from kafka import KafkaConsumer, TopicPartition
from psycopg2.extras import execute_values

from app.embedded import with_database
from bench import harness as h
from bench import monitor as m
from bench.baselines_es import STATUSES, measure_eventsourcing
from producers.workload.config import Message

Log = Callable[[str], None]
Batch = Mapping[Any, list[Any]]  # kafka-python's poll result: TopicPartition -> records

#: key -> (what, reference rate, unit): the rates the project's targets were derived from
REFERENCES: dict[str, tuple[str, float, str]] = {
    "eventsourcing": ("pyeventsourcing projection, exactly-once tracking", 1_250, "events/s"),
    "kafka_consume": ("bare kafka-python consume with crc32c", 110_000, "msg/s"),
    "naive_trivial": ("naive trivial consumer, one transaction per event", 1_400, "events/s"),
    "batched_trivial": ("batched trivial consumer, one upsert per case per batch", 55_000, "events/s"),
}
BATCH = 10_000  # records per poll: casetrack's batch size
IDLE_SECONDS = 15.0  # a consumer that sees nothing for this long has lost records: fail rather than hang
_RECORD = (
    '{"specversion":"1.0","id":"%s","source":"bench/baselines","type":"case.status_changed","subject":"%s",'
    '"time":"2026-12-01T08:00:00+08:00","data":{"status":"%s","officer":"officer-%03d","note":"%s"}}'
)


# -- Kafka ------------------------------------------------------------------------------------------------
def record_value(i: int, subject: str) -> bytes:
    """A CloudEvents-shaped JSON event of about 300 bytes, like the generator's case events."""
    return (_RECORD % (uuid.UUID(int=i + 1), subject, STATUSES[i % len(STATUSES)], i % 97, "n" * 64)).encode()


def publish_records(bootstrap: str, admin_url: str, partitions: int, count: int, cases: int, log: Log) -> str:
    """Publish ``count`` records keyed by case (``cases`` of them) to a new case topic, through the benchmarks'
    own publisher (the project's producer options: acks=all, idempotent, gzip); returns the topic."""
    topics = h.new_topics("baseline")  # a new random name: no record of an earlier run is read
    # make_settings creates the topics; the data directory is the default one and stays unused (nothing starts)
    settings = h.make_settings(bootstrap, admin_url, topics, Path(".casetrack"), partitions)
    messages = (
        Message("case", subject.encode(), record_value(i, subject), (), "valid", None)
        for i in range(count)
        for subject in (f"RX20261201{i % cases:05d}",)
    )
    pub = h.publish(settings, messages, expected=count, log=log)
    log(f"published {count:,} records in {pub.seconds:.1f}s")
    return topics.case


def consume(
    bootstrap: str, topic: str, total: int, handle: Callable[[Batch], None], label: str, log: Log
) -> float:
    """Read the first ``total`` records of ``topic`` with a plain consumer (every partition assigned, no
    group), passing each poll batch to ``handle``; returns the seconds from the first poll to the end."""
    servers = bootstrap.split(",")
    consumer = KafkaConsumer(bootstrap_servers=servers, group_id=None, enable_auto_commit=False)
    try:
        tps = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        done = 0
        t0 = last = idle_since = time.monotonic()
        while done < total:
            batch = consumer.poll(timeout_ms=200, max_records=min(BATCH, total - done))
            now = time.monotonic()
            if not batch:
                if now - idle_since > IDLE_SECONDS:
                    raise RuntimeError(f"{label}: only {done:,} of {total:,} records arrived")
                continue
            idle_since = now
            handle(batch)
            done += sum(len(records) for records in batch.values())
            if now - last >= 5:
                last = now
                log(f"  {label}: {done:,} / {total:,} records, {done / (now - t0):,.0f}/s")
        return time.monotonic() - t0
    finally:
        consumer.close(autocommit=False)


# -- the trivial consumers --------------------------------------------------------------------------------
TRIVIAL_SCHEMA = (
    "CREATE TABLE bl_cases (case_id text PRIMARY KEY, events integer NOT NULL, status text NOT NULL);"
    " CREATE TABLE bl_offsets (topic text, partition integer, next_offset bigint NOT NULL,"
    " PRIMARY KEY (topic, partition))"
)
# Literal statements (tests/property/test_sql_parameterised.py): "VALUES %s" is execute_values' row list.
UPSERT_CASE = (
    "INSERT INTO bl_cases AS c (case_id, events, status) VALUES (%s, %s, %s)"
    " ON CONFLICT (case_id) DO UPDATE SET events = c.events + EXCLUDED.events, status = EXCLUDED.status"
)
UPSERT_OFFSET = (
    "INSERT INTO bl_offsets (topic, partition, next_offset) VALUES (%s, %s, %s)"
    " ON CONFLICT (topic, partition) DO UPDATE SET next_offset = EXCLUDED.next_offset"
)
UPSERT_CASES = (
    "INSERT INTO bl_cases AS c (case_id, events, status) VALUES %s"
    " ON CONFLICT (case_id) DO UPDATE SET events = c.events + EXCLUDED.events, status = EXCLUDED.status"
)
UPSERT_OFFSETS = (
    "INSERT INTO bl_offsets (topic, partition, next_offset) VALUES %s"
    " ON CONFLICT (topic, partition) DO UPDATE SET next_offset = EXCLUDED.next_offset"
)


def fresh_database(admin_url: str, label: str) -> str:
    """A new empty database (casetrack's schema is not needed here, so not migrated); returns its URL."""
    return with_database(admin_url, f"bench_baseline_{label}_{uuid.uuid4().hex[:8]}")


def naive_handler(conn: Any) -> Callable[[Batch], None]:
    """One transaction per event: decode, upsert the case row, upsert the offset row, COMMIT."""

    def handle(batch: Batch) -> None:
        for tp, records in batch.items():
            for r in records:
                ev = json.loads(r.value)
                with conn.cursor() as cur:
                    cur.execute(UPSERT_CASE, (ev["subject"], 1, ev["data"]["status"]))
                    cur.execute(UPSERT_OFFSET, (tp.topic, tp.partition, r.offset + 1))
                conn.commit()

    return handle


def batched_handler(conn: Any) -> Callable[[Batch], None]:
    """Per poll batch: fold (count, last status) per case in memory, then one multi-row upsert of the cases
    and one of the offsets, in one transaction."""

    def handle(batch: Batch) -> None:
        folded: dict[str, list[Any]] = {}
        offsets: list[tuple[str, int, int]] = []
        for tp, records in batch.items():  # offset order per partition; a case's records share one (keyed)
            for r in records:
                ev = json.loads(r.value)
                row = folded.get(ev["subject"])
                if row is None:
                    folded[ev["subject"]] = [ev["subject"], 1, ev["data"]["status"]]
                else:
                    row[1] += 1
                    row[2] = ev["data"]["status"]
            offsets.append((tp.topic, tp.partition, records[-1].offset + 1))
        with conn.cursor() as cur:  # page_size = every row: one statement per table
            execute_values(cur, UPSERT_CASES, list(folded.values()), page_size=len(folded))
            execute_values(cur, UPSERT_OFFSETS, offsets, page_size=len(offsets))
        conn.commit()

    return handle


def measure_trivial(
    bootstrap: str, admin_url: str, topic: str, total: int, *, batched: bool, log: Log
) -> float:
    """Events/s of the naive or the batched trivial consumer into a fresh database. Counts and positions are
    checked afterwards, so the rate counts finished work only."""
    label = "batched trivial" if batched else "naive trivial"
    url = fresh_database(admin_url, label.split()[0])
    conn = psycopg2.connect(url, application_name="casetrack-baseline")
    try:
        with conn.cursor() as cur:
            cur.execute(TRIVIAL_SCHEMA)
        conn.commit()
        handler = (batched_handler if batched else naive_handler)(conn)
        seconds = consume(bootstrap, topic, total, handler, label, log)
        with conn.cursor() as cur:
            cur.execute(
                "SELECT (SELECT sum(events) FROM bl_cases), (SELECT sum(next_offset) FROM bl_offsets)"
            )
            counted, offsets = cur.fetchone() or (None, None)
    finally:
        conn.close()
    if (counted, offsets) != (total, total):
        raise RuntimeError(f"{label}: {counted} events counted, offsets sum to {offsets}, expected {total}")
    return total / seconds


# -- all four ---------------------------------------------------------------------------------------------
def measure_baselines(
    bootstrap: str,
    admin_url: str,
    *,
    events: int = 200_000,
    naive_events: int = 5_000,
    es_events: int = 10_000,
    cases: int = 2_000,
    partitions: int = 4,
    log: Log = h.say,
) -> dict[str, float]:
    """Each baseline's rate, keyed as :data:`REFERENCES` (a size of 0 skips that baseline), on the broker at
    ``bootstrap`` and the PostgreSQL server of ``admin_url`` (which must be allowed to create databases).
    ``max(events, naive_events)`` records are published once to a new topic; the bare and batched consumers
    read ``events`` of them, the naive one the first ``naive_events``; pyeventsourcing projects
    ``es_events`` events over ``cases`` aggregates."""
    rates: dict[str, float] = {}

    def measured(key: str, rate: float) -> None:
        rates[key] = rate
        log(f"{REFERENCES[key][0]}: {rate:,.0f} {REFERENCES[key][2]}")

    if es_events:
        log(f"pyeventsourcing: writing {es_events:,} events into a POSTGRES application ...")
        measured(
            "eventsourcing",
            measure_eventsourcing(fresh_database(admin_url, "eventsourcing"), es_events, cases, log),
        )
    topic = ""
    if published := max(events, naive_events):
        size = len(record_value(0, "RX2026120100000"))
        log(f"publishing {published:,} records of {size} bytes ...")
        topic = publish_records(bootstrap, admin_url, partitions, published, cases, log)
    if events:
        measured("kafka_consume", events / consume(bootstrap, topic, events, lambda _: None, "bare", log))
        measured(
            "batched_trivial", measure_trivial(bootstrap, admin_url, topic, events, batched=True, log=log)
        )
    if naive_events:
        rate = measure_trivial(bootstrap, admin_url, topic, naive_events, batched=False, log=log)
        measured("naive_trivial", rate)
    return rates


def format_report(rates: Mapping[str, float]) -> list[str]:
    """One line per baseline: measured rate, reference rate and the machine factor (measured / reference)."""
    lines = []
    for key, rate in rates.items():
        what, ref, unit = REFERENCES[key]
        lines.append(f"  {what + ':':<57} {rate:>8,.0f} {unit:<8} reference ~{ref:>7,.0f}   machine factor"
                     f" {rate / ref:.2f}")  # fmt: skip
    return lines


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--events", type=int, default=200_000, help="records for the bare and batched consumers")
    p.add_argument("--naive-events", type=int, default=5_000, help="records for the naive consumer (0: skip)")
    p.add_argument("--es-events", type=int, default=10_000, help="events for pyeventsourcing (0: skip)")
    p.add_argument("--cases", type=int, default=2_000, help="cases (aggregates) the events are spread over")
    p.add_argument("--partitions", type=int, default=4)
    args = p.parse_args(argv)

    before = m.cpu_speed()
    h.say(f"machine: {m.machine()}; cpu yardstick {before:.2f} us per json.loads (lower is faster)")
    with h.servers() as srv:
        rates = measure_baselines(
            srv.bootstrap, srv.admin_url, events=args.events, naive_events=args.naive_events,
            es_events=args.es_events, cases=args.cases, partitions=args.partitions,
        )  # fmt: skip
    after = m.cpu_speed()  # the machine's speed moves within a run: a second reading brackets the figures
    print()
    print(f"== baselines (cpu yardstick {before:.2f} us at the start, {after:.2f} us at the end) ==")
    print("\n".join(format_report(rates)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
