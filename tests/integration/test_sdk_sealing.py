"""Producers that encrypt at the source: Kafka holds no plaintext, and the projections are the same."""

from __future__ import annotations

from app.bootstrap import build_sealer
from app.settings import Settings
from producers.sdk import EventProducer
from tests.conftest import endpoints
from tests.factories import case_stream
from tests.integration.helpers import consume, query, read_topic


def test_sealed_at_the_source(settings: Settings) -> None:
    events = case_stream(20)
    with_petitioner = [e for e in events if e.type == "case.received" and getattr(e.data, "petitioner", None)]
    phones = {e.data.petitioner.phone for e in with_petitioner}  # type: ignore[attr-defined]
    assert phones and settings.kafka_bootstrap
    producer = EventProducer.connect(
        settings.kafka_bootstrap, settings.topics, sealer=build_sealer(settings, endpoints(settings))
    )
    try:
        producer.publish_many(events)
    finally:
        producer.close()
    raw = b"".join(r.value or b"" for r in read_topic(settings.kafka_bootstrap, settings.topics.case))
    assert not any(p.encode() in raw for p in phones if p)
    assert consume(settings).applied == len(events)
    rows = query(settings.database_url or "", "SELECT count(petitioner_pseudonym) FROM case_status")
    assert rows[0][0] == len(with_petitioner)
