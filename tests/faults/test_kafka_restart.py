"""Apache Kafka restarts in the middle of a run and keeps its log: the running consumer reconnects and resumes,
nothing is lost or doubled, and the tables equal a clean run. (On Tansu a restart loses every topic; that path,
detected and refused, is tested in test_broker_outage.py and is Tansu-only.)"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from app.apache_kafka import KafkaCluster, start_cluster
from app.settings import Settings
from bench.harness import publish, stop_process
from producers.generator import GeneratorConfig, generate
from tests.conftest import TEST_BROKER_OVERRIDES
from tests.faults.kafka_support import (
    APACHE_KAFKA_ONLY,
    end_offsets,
    kafka_settings,
    wait_consumed,
    wait_until,
)
from tests.faults.support import (
    Snapshot,
    assert_same_tables,
    check_accounting,
    combined,
    consumed,
    families,
    output,
    snapshot,
    start_consume,
    topic_of,
    tracked,
)

pytestmark = [*APACHE_KAFKA_ONLY, pytest.mark.slow]


@pytest.fixture
def own_kafka(tmp_path: Path) -> Iterator[KafkaCluster]:
    """One Apache Kafka node of this test's own (the session's broker is not restarted)."""
    cluster = start_cluster(tmp_path / "kafka", 1, overrides=TEST_BROKER_OVERRIDES)
    yield cluster
    cluster.stop()


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM], ids=["crash", "controlled"])
def test_a_broker_restart_keeps_the_log_and_the_consumer_resumes(
    how: signal.Signals,
    own_kafka: KafkaCluster,
    database_url: str,
    clean_run: Callable[[Settings], Snapshot],
    tmp_path: Path,
) -> None:
    s = kafka_settings(own_kafka.bootstrap, database_url, tmp_path, max_batch_records=200)
    messages = list(generate(GeneratorConfig.for_event_count(6000, seed=17)))
    first = publish(s, messages[:3000], track=True)
    log = tmp_path / "consume.log"
    proc = start_consume(s, log, until_caught_up=False)
    try:
        wait_until("the consumer folds", lambda: consumed(database_url) > 0, log)
        own_kafka.stop_node(0, how)  # in the middle of the run: the consumer is still working on the backlog
        time.sleep(3)
        assert proc.poll() is None, f"consume gave up while the broker was down:\n{output(log)}"
        own_kafka.start_node(0)
        second = publish(s, messages[3000:], track=True)
        wait_consumed(database_url, tracked(s, first) + tracked(s, second), log)
    finally:
        stop_process(proc)  # SIGTERM: stops after the current batch
    assert proc.returncode == 0, output(log)
    both = combined(first, second)
    check_accounting(s, database_url, both)
    # Nothing doubled in the log either: the broker's end offsets (ListOffsets, right on Apache Kafka) are exactly
    # what was published to the consumed topics, and every message kept the offset it was acknowledged with.
    topics = tuple(topic_of(s, a) for a in sorted(families(s)))
    assert end_offsets(own_kafka.bootstrap, topics) == tracked(s, both)
    assert_same_tables(snapshot(database_url), clean_run(s))
