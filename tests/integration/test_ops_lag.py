"""``casetrack lag``: positions against the partition ends, on the real broker (Tansu)."""

from __future__ import annotations

import json
from collections import Counter

from kafka import KafkaConsumer, TopicPartition

from app.settings import Settings
from ops.lag import measure_lag, probe_ends
from producers.sdk import EventProducer
from tests.conftest import endpoints
from tests.factories import case_stream
from tests.integration.helpers import consume
from tests.integration.ops_support import run_cli


def _publish(settings: Settings, events: list) -> Counter[int]:  # type: ignore[type-arg]
    """Publish (linger: several records per batch, the case where Tansu's ListOffsets is too small) and
    return how many records went to each partition."""
    assert settings.kafka_bootstrap
    producer = EventProducer.connect(settings.kafka_bootstrap, settings.topics, linger_ms=50)
    try:
        return Counter(r.partition for r in producer.publish_many(events))
    finally:
        producer.close()


def _case_lag(settings: Settings) -> dict[int, int]:
    return {r.partition: r.lag for r in measure_lag(settings, endpoints(settings)) if r.family == "case"}


def test_lag_rises_while_stopped_and_returns_to_zero(settings: Settings) -> None:
    events = case_stream(60)
    first = _publish(settings, events[:200])
    consume(settings)
    rows = [r for r in measure_lag(settings, endpoints(settings)) if r.family == "case"]
    assert {r.partition: r.lag for r in rows} == {p: 0 for p in range(4)}
    assert {r.partition: r.position for r in rows if r.position} == dict(first)
    assert all(r.last_event_age_seconds is not None for r in rows if r.position)
    assert {r.generation for r in rows} == {1}

    second = _publish(settings, events[200:])  # the consumer is stopped: lag builds up
    assert _case_lag(settings) == {p: second.get(p, 0) for p in range(4)}
    assert sum(_case_lag(settings).values()) == len(events) - 200

    consume(settings)  # restart
    assert _case_lag(settings) == {p: 0 for p in range(4)}


def test_partition_ends_come_from_fetches(settings: Settings) -> None:
    """The reported end equals the true end (last offset + 1) on Tansu, where ListOffsets can fall short."""
    counts = _publish(settings, case_stream(80))
    assert settings.kafka_bootstrap
    _, ends = probe_ends(settings.kafka_bootstrap, {}, [settings.topics.case])
    assert ends == {(settings.topics.case, p): counts.get(p, 0) for p in range(4)}
    consumer = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap)
    try:
        listed = consumer.end_offsets([TopicPartition(settings.topics.case, p) for p in range(4)])
    finally:
        consumer.close()
    # Either path alone may be stale, never past the end: the probe takes the larger.
    assert all(int(o) <= counts.get(tp.partition, 0) for tp, o in listed.items())


def test_lag_command_json(settings: Settings) -> None:
    _publish(settings, case_stream(5))
    result = run_cli(settings, ["lag", "--json"])
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    case_rows = [r for r in rows if r["family"] == "case"]
    assert len(case_rows) == 4 and sum(r["lag"] for r in case_rows) == len(case_stream(5))
    assert all(r["position"] is None for r in case_rows)
    result = run_cli(settings, ["lag", "--fail-above", "0"])
    assert result.returncode == 2, result.stdout + result.stderr
    assert "total lag" in result.stdout
