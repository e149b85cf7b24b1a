"""Smoke test of ``bench.baselines``: it imports (pyeventsourcing and psycopg 3 installed beside psycopg2), its
CLI answers ``--help``, and its workload and report are well formed. No servers, no timing."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from bench import baselines, baselines_es

REPO = Path(__file__).resolve().parents[2]


def test_cli_help() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "bench.baselines", "--help"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    for option in ("--events", "--naive-events", "--es-events", "--cases"):
        assert option in proc.stdout


def test_record_is_a_small_json_event() -> None:
    value = baselines.record_value(7, "RX2026120100007")
    event = json.loads(value)
    assert event["subject"] == "RX2026120100007"
    assert event["data"]["status"] in baselines_es.STATUSES
    assert 250 <= len(value) <= 350  # the ~300-byte events of stack.md's baselines


def test_report_has_every_reference_and_the_machine_factor() -> None:
    rates = {key: reference * 2 for key, (_, reference, _) in baselines.REFERENCES.items()}
    lines = baselines.format_report(rates)
    assert len(lines) == len(baselines.REFERENCES)
    assert all("machine factor 2.00" in line for line in lines)


def test_eventsourcing_env_from_a_libpq_url() -> None:
    env = baselines_es.eventsourcing_env("postgresql://bench:secret@127.0.0.1:5544/bench_x")
    assert env["PERSISTENCE_MODULE"] == "eventsourcing.postgres"
    assert (env["POSTGRES_DBNAME"], env["POSTGRES_HOST"], env["POSTGRES_PORT"]) == (
        "bench_x",
        "127.0.0.1",
        "5544",
    )
    assert (env["POSTGRES_USER"], env["POSTGRES_PASSWORD"]) == ("bench", "secret")
