"""Formatting KRaft storage with the pinned Apache Kafka's own tool (no broker is started): a cluster id may
begin with "-" (one random id in 64 did, in ids recorded before the launcher avoided them), and a failed format
says what the tool said, without the SCRAM passwords it was given. Needs Java and the fetched jars."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.apache_kafka import Node, Ports, SecureListener, _format, java_available, libs_dir, node_properties
from app.processes import StackError

pytestmark = pytest.mark.skipif(
    not java_available() or libs_dir() is None,
    reason="needs Java and the pinned Apache Kafka fetched (python -c 'from app.apache_kafka import fetch; fetch()')",
)


def _node(home: Path) -> Node:
    node = Node(1, home, Ports(19_092, 19_093))
    home.mkdir(parents=True, exist_ok=True)
    props = node_properties(1, {1: node.ports}, home / "data")
    (home / "server.properties").write_text("".join(f"{k}={v}\n" for k, v in props.items()))
    return node


def test_a_cluster_id_that_begins_with_a_dash_formats(tmp_path: Path) -> None:
    libs = libs_dir()
    assert libs is not None
    node = _node(tmp_path / "node-1")
    _format(libs, node, "-Tb0kQmXRLeq0Wv2bQ8m5A", None)
    meta = (node.home / "data" / "meta.properties").read_text()
    assert "cluster.id=-Tb0kQmXRLeq0Wv2bQ8m5A" in meta


def test_a_failed_format_says_why_without_the_passwords(tmp_path: Path) -> None:
    libs = libs_dir()
    assert libs is not None
    node = _node(tmp_path / "node-1")
    users = {"casetrack": "hunter2-secret"}
    secure = SecureListener(tmp_path / "absent.pem", users, mechanism="SCRAM-SHA-999")  # no such mechanism
    with pytest.raises(StackError) as failed:
        _format(libs, node, "not a cluster id", secure)
    said = str(failed.value)
    assert said.startswith("formatting Kafka storage of node 1 failed (exit 1):\n  "), said
    assert "hunter2-secret" not in said and len(said.splitlines()) > 1
