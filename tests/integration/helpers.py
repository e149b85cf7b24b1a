"""Helpers shared by integration tests: publish, consume in-process, snapshot tables, read a DLQ."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import psycopg2
from kafka import KafkaConsumer, TopicPartition
from prometheus_client import CollectorRegistry

from app.bootstrap import build_runner
from app.settings import Settings
from consumers.runner import RunTotals
from events.catalog import Event
from producers.sdk import EventProducer
from tests.conftest import endpoints


def publish(settings: Settings, events: Iterable[Event]) -> int:
    assert settings.kafka_bootstrap
    producer = EventProducer.connect(settings.kafka_bootstrap, settings.topics)
    try:
        return len(producer.publish_many(events))
    finally:
        producer.close()


def publish_raw(
    settings: Settings, records: Sequence[tuple[str, bytes | None, bytes | None, list[tuple[str, bytes]]]]
) -> None:
    assert settings.kafka_bootstrap
    producer = EventProducer.connect(settings.kafka_bootstrap, settings.topics)
    try:
        futures = [producer.send_raw(t, k, v, h) for t, k, v, h in records]
        producer.flush()
        for f in futures:
            f.result()
    finally:
        producer.close()


def consume(settings: Settings, registry: CollectorRegistry | None = None, **kw: Any) -> RunTotals:
    runner = build_runner(settings, endpoints(settings), registry, **kw)
    try:
        runner.start()
        return runner.run_until_caught_up()
    finally:
        runner.close()


def query(url: str, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
    conn = psycopg2.connect(url)
    try:
        with conn.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchall()
    finally:
        conn.close()


def snapshot(url: str, relation: str = "case_status", order: str = "case_id") -> list[tuple[Any, ...]]:
    return query(url, f"SELECT * FROM {relation} ORDER BY {order}")  # noqa: S608 - names from tests


def read_topic(bootstrap: str, topic: str, timeout_s: float = 10.0) -> list[Any]:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None)
    try:
        parts = consumer.partitions_for_topic(topic) or set()
        tps = [TopicPartition(topic, p) for p in parts]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        out: list[Any] = []
        import time

        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            batch = consumer.poll(timeout_ms=300)
            for recs in batch.values():
                out.extend(recs)
            done = all(
                consumer.highwater(tp) is not None and consumer.position(tp) >= consumer.highwater(tp)
                for tp in tps
            )
            if done and not batch:
                break
        return out
    finally:
        consumer.close()


def table_diff(url_a: str, url_b: str, relation: str = "case_status", key: str = "case_id") -> list[str]:
    """Human-readable differences between a relation in two databases (empty when identical)."""
    sql = f"SELECT * FROM {relation} ORDER BY {key}"  # noqa: S608 - names from tests
    conns = [psycopg2.connect(u) for u in (url_a, url_b)]
    try:
        results = []
        for c in conns:
            with c.cursor() as cur:
                cur.execute(sql)
                cols = [d[0] for d in cur.description or ()]
                results.append({r[0]: dict(zip(cols, r, strict=True)) for r in cur.fetchall()})
    finally:
        for c in conns:
            c.close()
    a, b = results
    out = [f"only in first: {k}" for k in a.keys() - b.keys()] + [
        f"only in second: {k}" for k in b.keys() - a.keys()
    ]
    for k in sorted(a.keys() & b.keys()):
        for col, v in a[k].items():
            if b[k][col] != v:
                out.append(f"{k}.{col}: {v!r} != {b[k][col]!r}")
    return out
