"""The pinned Apache Kafka and the deployment agree: the compose file runs the version the tests fetch, with the
broker settings the launcher uses (so the suite exercises the production configuration as far as a loopback run
can), and the launcher's node settings follow from them. No broker is started here."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from app.apache_kafka import (
    BROKER_DEFAULTS,
    Ports,
    SecureListener,
    _cluster_id,
    _masked,
    node_properties,
    pinned_version,
)

COMPOSE = Path(__file__).resolve().parents[2] / "ops" / "deploy" / "compose.yaml"
#: Set per node or per host in the compose file; the launcher sets them for loopback.
PER_NODE = {
    "cluster.id",
    "node.id",
    "controller.quorum.voters",
    "listeners",
    "advertised.listeners",
    "log.dirs",
}


def _compose() -> Any:
    yaml = pytest.importorskip("yaml", reason="PyYAML is not installed (it is in the dev extra)")
    return yaml.safe_load(COMPOSE.read_text())


def _as_properties(env: dict[str, object]) -> dict[str, str]:
    """The apache/kafka image's rule: ``KAFKA_FOO_BAR`` is ``foo.bar``; ``CLUSTER_ID`` is the cluster id."""
    out = {}
    for key, value in env.items():
        name = "cluster.id" if key == "CLUSTER_ID" else key.removeprefix("KAFKA_").lower().replace("_", ".")
        out[name] = str(value)
    return out


def test_compose_runs_the_pinned_version() -> None:
    services = _compose()["services"].values()
    images = {s["image"] for s in services if "kafka" in str(s.get("image", ""))}
    assert images == {f"apache/kafka:{pinned_version()}"}
    header = COMPOSE.read_text().split("x-kafka:")[0]  # the command that makes the cluster id
    assert f"apache/kafka:{pinned_version()}" in header


def test_the_launcher_uses_the_compose_broker_settings() -> None:
    compose = _as_properties(_compose()["x-kafka-env"])
    shared = {k: v for k, v in compose.items() if k not in PER_NODE}
    assert shared == BROKER_DEFAULTS
    env = _compose()["services"]["kafka-1"]["environment"]
    node = {k: v for k, v in env.items() if k.startswith("KAFKA")}
    assert set(_as_properties(node)) - set(shared) <= PER_NODE


def test_a_three_node_cluster_keeps_every_compose_setting() -> None:
    ports = {i: Ports(9000 + i, 9100 + i) for i in (1, 2, 3)}
    props = node_properties(2, ports, Path("/data"))
    assert {k: props[k] for k in BROKER_DEFAULTS} == BROKER_DEFAULTS
    assert props["controller.quorum.voters"] == "1@127.0.0.1:9101,2@127.0.0.1:9102,3@127.0.0.1:9103"
    assert props["listeners"] == "PLAINTEXT://127.0.0.1:9002,CONTROLLER://127.0.0.1:9102"
    assert props["node.id"] == "2" and props["log.dirs"] == "/data"


def test_one_node_lowers_only_what_one_node_cannot_do() -> None:
    props = node_properties(1, {1: Ports(9001, 9101)}, Path("/data"))
    lowered = {k: v for k, v in BROKER_DEFAULTS.items() if props[k] != v}
    # replication 3 -> 1 and min.insync 2 -> 1: one node holds one copy; everything else as in production
    assert lowered == {
        "default.replication.factor": "3",
        "min.insync.replicas": "2",
        "offsets.topic.replication.factor": "3",
        "transaction.state.log.replication.factor": "3",
        "transaction.state.log.min.isr": "2",
    }
    assert all(props[k] == "1" for k in lowered)


def test_a_new_cluster_id_never_begins_with_a_dash() -> None:
    # One draw in 64 would without the rule: 2,000 draws miss it with probability (63/64)**2000 < 1e-13.
    ids = [_cluster_id() for _ in range(2_000)]
    assert not [i for i in ids if i.startswith("-")]
    assert all(len(i) == 22 for i in ids) and len(set(ids)) == len(ids)


def test_the_storage_tools_output_is_shown_with_passwords_masked() -> None:
    secure = SecureListener(Path("/x.pem"), {"a": "pw-one", "b": "pw-two"})
    said = "Error: SCRAM-SHA-256=[name=a,password=pw-one] and [name=b,password=pw-two] are bad"
    assert (
        _masked(said, secure)
        == "Error: SCRAM-SHA-256=[name=a,password=***] and [name=b,password=***] are bad"
    )
    assert _masked(said, None) == said
