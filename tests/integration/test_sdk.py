"""The producer SDK on the real broker: acks=all and idempotent, keyed by subject, delivery results."""

from __future__ import annotations

from app.settings import Settings
from producers.sdk import EventProducer
from tests.factories import case_stream
from tests.integration.helpers import read_topic


def test_acknowledged_by_all_replicas_idempotent_keyed_by_subject(settings: Settings) -> None:
    assert settings.kafka_bootstrap
    events = case_stream(5)
    producer = EventProducer.connect(settings.kafka_bootstrap, settings.topics)
    try:
        # What the client really runs with (kafka-python normalises acks="all" to -1).
        config = producer._producer.config
        assert config["acks"] == -1 and config["enable_idempotence"] is True
        results = producer.publish_many(events)
    finally:
        producer.close()
    assert [r.event_id for r in results] == [e.id for e in events]
    assert {r.topic for r in results} == {settings.topics.case}
    by_offset = {(r.partition, r.offset): r.event_id for r in results}
    assert len(by_offset) == len(events)  # each delivery names its own place in the log
    records = read_topic(settings.kafka_bootstrap, settings.topics.case)
    subject = {e.id: e.subject for e in events}
    for r in records:
        event_id = by_offset[(r.partition, r.offset)]
        assert r.key == subject[event_id].encode()  # keyed by subject: one case, one partition, in order
    assert len(records) == len(events)
