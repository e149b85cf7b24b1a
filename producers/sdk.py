"""The producer SDK for upstream systems: typed, idempotent, ``acks=all``, keyed by subject.

    producer = EventProducer.connect("kafka:9092", topics=Topics())
    result = producer.publish(event).result()   # DeliveryResult(topic, partition, offset)
    producer.close()

Each event goes to its aggregate's topic keyed by its subject, so one aggregate's events stay in order. With a
``sealer`` (``app.bootstrap.build_sealer``) personal data is sealed and free text masked before anything is
sent, so Kafka holds no plaintext: docs/personal-data.md ("Sealing at the source (producers)").
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

from kafka import KafkaProducer

from events.catalog import Aggregate, Event
from events.codec import Codec
from events.topics import Topics
from privacy.event_sealing import seal_events
from privacy.petitioner_memory import PetitionerMemory
from privacy.sealing import Sealer
from privacy.text_sealing import TextSeal, protect_texts

#: where a producer stores the sealed originals of masked free text (``PgKeyStore.save_text_seals``)
SealSink = Callable[[Sequence[TextSeal]], None]


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    """Where an event landed."""

    event_id: str
    topic: str
    partition: int
    offset: int


class EventProducer:
    """Publishes catalog events (or raw, already-encoded records) to Kafka."""

    def __init__(
        self,
        producer: KafkaProducer,
        topics: Topics,
        binary_mode: bool = False,
        sealer: Sealer | None = None,
        *,
        text_seals: SealSink | None = None,
        known_cases: int = 50_000,
    ) -> None:
        self._producer = producer
        self.topics = topics
        self.binary_mode = binary_mode
        self.sealer = sealer
        # By default the sealer's own key store keeps the sealed originals (the PostgreSQL one can).
        self._text_seals = text_seals or getattr(sealer.keystore if sealer else None, "save_text_seals", None)
        self._petitioners = PetitionerMemory(known_cases)

    @classmethod
    def connect(
        cls,
        bootstrap: str,
        topics: Topics | None = None,
        client_options: Mapping[str, object] | None = None,
        binary_mode: bool = False,
        sealer: Sealer | None = None,
        text_seals: SealSink | None = None,
        **producer_options: Any,
    ) -> EventProducer:
        """An idempotent producer (``acks=all``, ``enable_idempotence``, gzip)."""
        options: dict[str, Any] = {
            "bootstrap_servers": bootstrap.split(","),
            "acks": "all",
            "enable_idempotence": True,
            "compression_type": "gzip",
            "linger_ms": 5,
            "batch_size": 256 * 1024,
            "max_request_size": 4 * 1024 * 1024,
            **(client_options or {}),
            **producer_options,
        }
        return cls(KafkaProducer(**options), topics or Topics(), binary_mode, sealer, text_seals=text_seals)

    def topic_for(self, aggregate: Aggregate) -> str:
        return {"case": self.topics.case, "supervision": self.topics.supervision,
                "rectification": self.topics.rectification}[aggregate]  # fmt: skip

    def publish(self, event: Event) -> Future[DeliveryResult]:
        """Send one event; the future resolves once the broker has acknowledged it (acks=all)."""
        if self.sealer is not None:
            (event,) = self._protect([event])
        return self._send(event)

    def _protect(self, batch: list[Event]) -> list[Event]:
        """Seal petitioners and mask free text; store the seals of the originals before anything is sent, so no
        consumer meets a placeholder without its seal. Refuses (nothing sent) when there is nowhere to store
        them: the originals would be lost."""
        assert self.sealer is not None
        sealed = seal_events(batch, self.sealer)  # one key-store round trip for the whole batch
        self._petitioners.remember(batch, sealed, self.sealer)
        masked, seals = protect_texts(sealed, self.sealer, self._petitioners)
        if seals:
            if self._text_seals is None:
                raise ValueError(
                    "free text holds personal data but this producer has nowhere to store the sealed originals"
                    " (pass text_seals=, or a sealer on the PostgreSQL key store); nothing was sent"
                )
            self._text_seals(seals)
        return masked

    def _send(self, event: Event) -> Future[DeliveryResult]:
        key, value, headers = (Codec.encode_binary if self.binary_mode else Codec.encode)(event)
        return self.send_raw(self.topic_for(event.aggregate), key, value, headers, event.id)

    def publish_many(self, events: Iterable[Event]) -> list[DeliveryResult]:
        """Send events and wait for all of them; raises on the first failed delivery."""
        batch = list(events)
        if self.sealer is not None:
            batch = self._protect(batch)
        futures = [self._send(e) for e in batch]
        self.flush()
        return [f.result() for f in futures]

    def send_raw(
        self,
        topic: str,
        key: bytes | None,
        value: bytes | None,
        headers: Sequence[tuple[str, bytes]] = (),
        event_id: str = "",
    ) -> Future[DeliveryResult]:
        """Send an already-encoded record (used by the DLQ tools and the workload generator)."""
        out: Future[DeliveryResult] = Future()
        fut = self._producer.send(topic, key=key, value=value, headers=list(headers))

        def done(md: Any) -> None:
            out.set_result(DeliveryResult(event_id, md.topic, md.partition, md.offset))

        fut.add_callback(done)
        fut.add_errback(out.set_exception)
        return out

    def flush(self, timeout: float | None = None) -> None:
        self._producer.flush(timeout=timeout)

    def close(self, timeout: float | None = 10) -> None:
        self._producer.close(timeout=timeout)
