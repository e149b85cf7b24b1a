"""The record-source contract against the Kafka adapter, on the session's real broker."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from kafka import KafkaAdminClient, KafkaProducer
from kafka.admin import NewTopic

from consumers.ports import RecordSource
from consumers.source import KafkaSource, SourceConfig
from tests.contracts.source_contract import POLLS, SourceContract


class KafkaHarness:
    def __init__(self, bootstrap: str) -> None:
        self.bootstrap = bootstrap
        self.admin = KafkaAdminClient(bootstrap_servers=bootstrap.split(","))
        self.producer = KafkaProducer(bootstrap_servers=bootstrap.split(","), acks="all")
        self.topics: list[str] = []
        self.sources: list[KafkaSource] = []

    def topic(self, partitions: int) -> str:
        name = f"source-contract-{uuid.uuid4().hex[:10]}"
        self.admin.create_topics([NewTopic(name, partitions, 1)])
        self.topics.append(name)
        for _ in range(POLLS):  # wait until the metadata shows every partition
            if len(self.producer.partitions_for(name) or ()) == partitions:
                return name
        raise AssertionError(f"{name} never showed {partitions} partitions")

    def produce(
        self,
        topic: str,
        partition: int,
        values: list[bytes],
        key: bytes | None = None,
        headers: list[tuple[str, bytes]] | None = None,
    ) -> None:
        for v in values:
            self.producer.send(topic, v, key=key, headers=headers or [], partition=partition)
        self.producer.flush()

    def source(self, group_id: str | None = None) -> RecordSource:
        src = KafkaSource(SourceConfig(self.bootstrap, {}, group_id=group_id))
        self.sources.append(src)
        return src

    def close(self) -> None:
        for src in self.sources:
            src.close()
        self.producer.close()
        if self.topics:
            self.admin.delete_topics(self.topics)
        self.admin.close()


class TestKafkaSource(SourceContract):
    @pytest.fixture
    def harness(self, broker: str) -> Iterator[KafkaHarness]:
        h = KafkaHarness(broker)
        yield h
        h.close()
