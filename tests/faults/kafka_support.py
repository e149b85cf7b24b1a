"""What the Apache Kafka fault tests share: they start their own brokers (a restart or a lost node must not
disturb the session's broker), so they run in the Apache Kafka session (``CASETRACK_TEST_BROKER=kafka``, as CI
does) and are skipped, saying so, in the Tansu session."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
from kafka import KafkaConsumer, TopicPartition
from pydantic import SecretStr

from app.bootstrap import ensure_topics
from app.settings import ConsumerTuning, Settings
from tests.conftest import broker_kind, random_topics
from tests.faults.conftest import PSEUDONYM_KEY
from tests.faults.support import consumed, output

#: Marks of a test that starts its own Apache Kafka: broker-facing, and only in the Apache Kafka session.
APACHE_KAFKA_ONLY = [
    pytest.mark.broker,
    pytest.mark.skipif(
        broker_kind() != "kafka",
        reason="starts its own Apache Kafka: runs in the Apache Kafka session (CASETRACK_TEST_BROKER=kafka)",
    ),
]


def kafka_settings(
    bootstrap: str, database_url: str, tmp_path: Path, replication_factor: int = 1, **consumer: object
) -> Settings:
    """Settings on a broker of the test's own, fresh topics created with ``replication_factor``."""
    s = Settings(
        kafka_bootstrap=bootstrap,
        database_url=database_url,
        data_dir=tmp_path / "data",
        topics=random_topics(),
        partitions=4,
        replication_factor=replication_factor,
        pseudonym_key=SecretStr(PSEUDONYM_KEY),
        consumer=ConsumerTuning.model_validate({"max_poll_interval_ms": 5000, **consumer}),
    )
    ensure_topics(s, bootstrap)
    return s


def wait_until(what: str, ready: Callable[[], bool], log: Path | None = None, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        assert time.monotonic() < deadline, f"{what}: not after {timeout:.0f}s\n{output(log) if log else ''}"
        time.sleep(0.1)


def wait_consumed(url: str, n: int, log: Path, timeout: float = 180) -> None:
    wait_until(f"consumed {n}", lambda: consumed(url) >= n, log, timeout)
    assert consumed(url) == n, f"consumed {consumed(url)}, more than the {n} published"


def end_offsets(bootstrap: str, topics: tuple[str, ...]) -> int:
    """The sum of the topics' end offsets from ListOffsets (right on Apache Kafka; too small on Tansu)."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap.split(","), enable_auto_commit=False)
    try:
        tps = [TopicPartition(t, p) for t in topics for p in sorted(consumer.partitions_for_topic(t) or ())]
        return sum(int(o) for o in consumer.end_offsets(tps).values())
    finally:
        consumer.close()
