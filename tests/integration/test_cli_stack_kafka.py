"""The durable embedded stack: ``CASETRACK_EMBEDDED_BROKER=kafka`` makes ``casetrack up`` run the pinned Apache
Kafka (its log under ``<data_dir>/kafka``) instead of Tansu, so ``down`` and ``up`` keep every topic and event,
and a consumer started after the restart carries on where the stored positions say. Needs Java: it runs in the
Apache Kafka session (Tansu stays the default embedded broker, tested in test_cli_stack.py)."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
from pathlib import Path

import pytest

from tests.factories import TZ, envelope
from tests.faults.kafka_support import APACHE_KAFKA_ONLY
from tests.integration.helpers import query, read_topic
from tests.integration.ops_support import run_env
from tests.integration.test_cli_stack import alive, data_dir, ok, printed_addresses, stack_env

pytestmark = APACHE_KAFKA_ONLY
__all__ = ["data_dir"]  # the fixture, shared with test_cli_stack.py
T0 = dt.datetime(2026, 10, 12, 8, 30, tzinfo=TZ)
KAFKA = {"CASETRACK_EMBEDDED_BROKER": "kafka", "CASETRACK_PSEUDONYM_KEY": "5e" * 32}


def kafka_cli(data_dir: Path, args: list[str]) -> subprocess.CompletedProcess[str]:
    """``casetrack ARGS`` on the embedded stack with Apache Kafka as its broker."""
    return run_env(stack_env(data_dir, **KAFKA), args, timeout=240)


def _events(path: Path, *events: dict[str, object]) -> Path:
    path.write_text("".join(json.dumps(e, ensure_ascii=False) + "\n" for e in events))
    return path


RECEIVED = {"channel": "hotline_12345", "category": "市政设施", "summary": "路灯不亮", "region": "长安区"}


@pytest.mark.slow
def test_down_and_up_keep_every_topic_and_event(data_dir: Path, tmp_path: Path) -> None:
    out = ok(kafka_cli(data_dir, ["up"]))
    assert "embedded Apache Kafka keeps its log" in out, out
    bootstrap, url = printed_addresses(out)
    state = json.loads((data_dir / "stack.json").read_text())
    assert (
        state["broker"] == "kafka" and (data_dir / "kafka" / "node-1" / "data" / "meta.properties").is_file()
    )
    ok(kafka_cli(data_dir, ["migrate"]))
    first = _events(tmp_path / "first.jsonl", envelope("k-1", "case.received", "C-K-1", T0, RECEIVED))
    ok(kafka_cli(data_dir, ["produce", str(first)]))
    ok(kafka_cli(data_dir, ["consume", "--until-caught-up"]))

    out = ok(kafka_cli(data_dir, ["down"]))
    assert "stopped the embedded stack" in out and not alive(int(state["broker_pid"]))

    out = ok(kafka_cli(data_dir, ["up"]))
    assert printed_addresses(out) == (bootstrap, url)  # the same ports again, since they are free
    assert [r.key for r in read_topic(bootstrap, "gov.case.events")] == [b"C-K-1"]  # the event survived
    second = _events(tmp_path / "second.jsonl",
                     envelope("k-2", "case.assigned", "C-K-1", T0 + dt.timedelta(minutes=9), {"department": "市城管局"}))  # fmt: skip
    ok(kafka_cli(data_dir, ["produce", str(second)]))
    ok(kafka_cli(data_dir, ["consume", "--until-caught-up"]))  # positions stored before the restart hold
    assert query(url, "SELECT case_id, status FROM public.case_status") == [("C-K-1", "assigned")]
    assert query(url, "SELECT count(*) FROM casetrack.event_store") == [(2,)]
