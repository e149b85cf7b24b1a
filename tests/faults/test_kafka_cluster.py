"""A three-broker Apache Kafka cluster (the production shape of ops/deploy/compose.yaml): topics with replication
factor 3 and min.insync.replicas=2, producers with acks=all and idempotence.

* One broker is SIGKILLed while a producer publishes and a consumer folds: nothing is lost or doubled (the
  database equals the ground truth and a clean run; the topics hold exactly what was published), both sides
  carry on, and the broker comes back into every partition's in-sync replicas.
* Three ``casetrack consume --group`` processes join and leave under the real group coordinator: each join and
  each leave is a rebalance; at the end the accounting is exact.
* The runbook's steps for pointing casetrack at a production cluster, followed on this one.

The cluster is started once for the module; each test has its own topics, database and group.
"""

from __future__ import annotations

import datetime as dt
import json
import signal
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from kafka import KafkaAdminClient

from app.apache_kafka import KafkaCluster, start_cluster
from app.settings import Settings
from bench.harness import Published, publish, stop_process
from events.topics import Topics
from producers.generator import GeneratorConfig, generate
from tests.conftest import TEST_BROKER_OVERRIDES
from tests.factories import TZ, envelope
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
    published_in_two,
    snapshot,
    start_consume,
    topic_of,
    tracked,
)
from tests.integration.helpers import query
from tests.integration.ops_support import run_env
from tests.integration.test_cli_stack import ok, stack_env

pytestmark = [*APACHE_KAFKA_ONLY, pytest.mark.slow]
T0 = dt.datetime(2026, 10, 12, 8, 30, tzinfo=TZ)
RECEIVED = {"channel": "hotline_12345", "category": "市政设施", "summary": "路灯不亮", "region": "长安区"}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaCluster]:
    c = start_cluster(tmp_path_factory.mktemp("kafka-cluster"), 3, overrides=TEST_BROKER_OVERRIDES)
    yield c
    c.stop()


def _partitions(bootstrap: str, topic: str) -> list[dict[str, object]]:
    admin = KafkaAdminClient(bootstrap_servers=bootstrap.split(","))
    try:
        (described,) = admin.describe_topics([topic])
        return list(described["partitions"])
    finally:
        admin.close()


def _full_isr(bootstrap: str, topics: list[str]) -> bool:
    return all(len(p["isr_nodes"]) == 3 for t in topics for p in _partitions(bootstrap, t))  # type: ignore[arg-type]


def test_a_broker_killed_while_publishing_and_folding_loses_nothing(
    cluster: KafkaCluster, database_url: str, clean_run: Callable[[Settings], Snapshot], tmp_path: Path
) -> None:
    s = kafka_settings(cluster.bootstrap, database_url, tmp_path, replication_factor=3, max_batch_records=500)
    topics = [topic_of(s, a) for a in sorted(families(s))]
    assert all(len(p["replica_nodes"]) == 3 for t in topics for p in _partitions(cluster.bootstrap, t))  # type: ignore[arg-type]
    messages = list(generate(GeneratorConfig.for_event_count(12_000, seed=41)))
    head, tail = messages[:10_000], messages[10_000:]
    published: list[Published] = []
    failures: list[BaseException] = []
    killed = threading.Event()

    def produce() -> None:
        try:
            for start in range(0, len(head), 1000):
                if start == 3000:  # the kill lands in the middle: 3,000 before it, 7,000 after
                    killed.wait(120)
                published.append(publish(s, head[start : start + 1000], track=True))
        except BaseException as exc:  # reported by the test, not lost in the thread
            failures.append(exc)

    log = tmp_path / "consume.log"
    proc = start_consume(s, log, until_caught_up=False)
    producer = threading.Thread(target=produce)
    try:
        producer.start()
        wait_until("the consumer folds", lambda: consumed(database_url) > 0 and len(published) == 3, log)
        # A leader of the case topic goes: producer and consumer must move to the new leaders.
        leader = int(_partitions(cluster.bootstrap, s.topics.case)[0]["leader_id"])  # type: ignore[call-overload]
        victim = next(i for i, n in enumerate(cluster.nodes) if n.node_id == leader)
        cluster.stop_node(victim, signal.SIGKILL)
        killed.set()
        producer.join(300)
        assert not producer.is_alive() and not failures, f"the producer failed: {failures}"
        assert proc.poll() is None, f"consume gave up after losing a broker:\n{output(log)}"
        wait_consumed(database_url, sum(tracked(s, p) for p in published), log)

        cluster.start_node(victim)  # it comes back and catches up as a follower
        wait_until("every replica back in sync", lambda: _full_isr(cluster.bootstrap, topics), timeout=120)
        published.append(publish(s, tail, track=True))
        wait_consumed(database_url, sum(tracked(s, p) for p in published), log)
    finally:
        killed.set()
        producer.join(60)
        stop_process(proc)
    assert proc.returncode == 0, output(log)
    both = combined(*published)
    assert both.total == len(messages)
    check_accounting(s, database_url, both)
    # Nothing doubled in the log: end offsets (ListOffsets, right on Apache Kafka) equal what was published.
    assert end_offsets(cluster.bootstrap, tuple(topics)) == tracked(s, both)
    assert_same_tables(snapshot(database_url), clean_run(s))


def _assignments(log: Path) -> int:
    return output(log).count("partitions assigned")


def _assigned(log: Path) -> Callable[[], bool]:
    return lambda: _assignments(log) > 0


def test_three_group_members_join_and_leave_with_exact_accounting(
    cluster: KafkaCluster, database_url: str, clean_run: Callable[[Settings], Snapshot], tmp_path: Path
) -> None:
    s = kafka_settings(
        cluster.bootstrap, database_url, tmp_path, replication_factor=3,
        max_batch_records=100, group_id=f"members-{uuid.uuid4().hex[:8]}",
    )  # fmt: skip
    publish_rest = published_in_two(s, 30_000, seed=43)
    logs = [tmp_path / f"member-{name}.log" for name in "abc"]
    members = []
    try:
        for log in logs:  # join one by one: each join is a rebalance of the members already there
            members.append(start_consume(s, log, "--group", until_caught_up=False))
            wait_until(f"{log.name} is assigned partitions", _assigned(log), log)
        stop_process(members[0], timeout=60)  # leaves after its batch: its partitions move to b and c
        assert members[0].returncode == 0, output(logs[0])
        time.sleep(2)
        stop_process(members[1], timeout=60)  # and then c has everything
        assert members[1].returncode == 0, output(logs[1])
        pub = publish_rest()  # after a and b left, on every partition: only c can fold it
        wait_consumed(database_url, tracked(s, pub), logs[2], timeout=300)
    finally:
        for m in members:
            stop_process(m, timeout=60)
    assert members[2].returncode == 0, output(logs[2])
    assert _assignments(logs[2]) >= 2, "the last member should have been rebalanced as the others left"
    check_accounting(s, database_url, pub)
    assert_same_tables(snapshot(database_url), clean_run(s))


def test_the_runbook_points_casetrack_at_a_three_broker_cluster(
    cluster: KafkaCluster, database_url: str, tmp_path: Path
) -> None:
    """docs/operators.md "Point casetrack at production Kafka and PostgreSQL", step by step, on this cluster:
    the bootstrap list of all three brokers, 12 partitions and replication factor 3 for what ``migrate``
    creates, then events in, folded, and ``lag`` at zero (its ends from ListOffsets and fetches agree here)."""
    env = stack_env(tmp_path / "data")
    env.update(
        CASETRACK_KAFKA_BOOTSTRAP=cluster.bootstrap,  # kafka-1:9092,kafka-2:9092,kafka-3:9092 in the runbook
        CASETRACK_DATABASE_URL=database_url,
        CASETRACK_PSEUDONYM_KEY="5e" * 32,
        CASETRACK_PARTITIONS="12",
        CASETRACK_REPLICATION_FACTOR="3",
    )
    ok(run_env(env, ["migrate"]))
    wanted = [*Topics().all(), *(Topics.dlq(t) for t in Topics().all())]
    for topic in wanted:
        parts = _partitions(cluster.bootstrap, topic)
        assert len(parts) == 12 and all(len(p["replica_nodes"]) == 3 for p in parts), topic  # type: ignore[arg-type]
    events = [
        envelope("rb-1", "case.received", "C-RB-1", T0, RECEIVED),
        envelope("rb-2", "case.assigned", "C-RB-1", T0 + dt.timedelta(minutes=3), {"department": "市城管局"}),
    ]
    file = tmp_path / "events.jsonl"
    file.write_text("".join(json.dumps(e, ensure_ascii=False) + "\n" for e in events))
    ok(run_env(env, ["produce", str(file)]))
    ok(run_env(env, ["consume", "--until-caught-up"]))
    assert query(database_url, "SELECT case_id, status FROM public.case_status") == [("C-RB-1", "assigned")]
    rows = json.loads(ok(run_env(env, ["lag", "--json"])))
    assert rows and all(r["lag"] == 0 for r in rows), rows
    assert sum(r["end"] for r in rows if r["topic"] == Topics().case) == 2
