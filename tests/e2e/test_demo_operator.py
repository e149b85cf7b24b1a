"""``casetrack demo`` as a person at an 80-column terminal meets it (issue 15): tables that fit and cut nothing,
an HTTP endpoint that answers like ``casetrack serve``'s, and Ctrl-C that says what it left behind."""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg2
import pytest
from rich.cells import cell_len

from tests.integration.ops_support import ROOT, http_get, wait_for


def _words(line: str) -> list[str]:
    """The shell words of a printed line (a quoted string spanning lines counts as one)."""
    try:
        return shlex.split(line.removesuffix(" \\"))
    except ValueError:  # an open quote: the line is part of a quoted string
        return [line]


def demo_env(broker: str, pg_admin: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CASETRACK_")}
    env.update(
        CASETRACK_KAFKA_BOOTSTRAP=broker, CASETRACK_DATABASE_URL=pg_admin, PYTHONUNBUFFERED="1", **extra
    )
    env.pop("COLUMNS", None)
    env.update(extra)
    return env


def interruptible() -> None:
    """``preexec_fn`` for a demo the test will Ctrl-C: a suite started as a background job (``pytest &``)
    runs with SIGINT ignored, children inherit that, and Python then never raises KeyboardInterrupt."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def demo_args(workdir: Path, database: str, *more: str) -> list[str]:
    return [sys.executable, "-m", "casetrack.cli", "--data-dir", str(workdir), "demo", "--database", database,
            "--report", str(workdir / "report.html"), *more]  # fmt: skip


@pytest.fixture
def database(pg_admin: str) -> Iterator[str]:
    name = f"t_demo_{uuid.uuid4().hex[:10]}"
    yield name
    conn = psycopg2.connect(pg_admin)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    conn.close()


def test_at_80_columns_every_line_fits_and_nothing_is_cut(
    broker: str, pg_admin: str, database: str, tmp_path: Path
) -> None:
    proc = subprocess.run(
        demo_args(tmp_path, database, "--days", "3", "--cases-per-day", "80"),
        env=demo_env(broker, pg_admin, COLUMNS="80"), cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    out = proc.stdout
    assert "…" not in out  # no cell, heading or title cut short
    for line in out.splitlines():
        # a printed shell command keeps each word whole (one a line, with continuations) so it can be pasted
        words = _words(line)
        assert cell_len(line) <= 80 or len(words) == 1, line
    # the widest tables are stacked into continued parts rather than squeezed; every figure column is there
    for heading in ("Re-review", "Satisfaction", "Mean progress", "Overdue items", "Avg days"):
        assert heading in out, heading
    assert "信访 Petition tallies (continued)" in out
    numbers = re.findall(r"│\s+([\d,.]+%?)\s+│", out)
    assert numbers and all(re.fullmatch(r"\d{1,3}(,\d{3})*(\.\d+)?%?", n) for n in numbers)


def test_serve_seconds_answers_like_serve_and_ctrl_c_ends_it_cleanly(
    broker: str, pg_admin: str, database: str, tmp_path: Path
) -> None:
    log = tmp_path / "demo.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            demo_args(tmp_path, database, "--days", "1", "--cases-per-day", "30", "--serve-seconds", "120"),
            env=demo_env(broker, pg_admin, CASETRACK_METRICS_PORT="0"), cwd=ROOT, stdout=out,
            stderr=subprocess.STDOUT, preexec_fn=interruptible,
        )  # fmt: skip
    try:
        wait_for(lambda: "Serving http://" in log.read_text(), 240, "the demo's metrics endpoint")
        url = re.search(r"Serving (http://\S+)/metrics", log.read_text())
        assert url, log.read_text()
        base = url[1]
        status, body = http_get(f"{base}/metrics")
        assert status == 200 and "casetrack_records_consumed_total" in body
        assert http_get(f"{base}/healthz")[0] == 200
        assert http_get(f"{base}/readyz")[0] == 200
        status, body = http_get(f"{base}/favicon.ico")
        assert status == 404 and "/metrics" in body and "casetrack_" not in body
        proc.send_signal(signal.SIGINT)
        assert proc.wait(60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    assert "stopped serving the metrics; the demo had finished" in log.read_text()


def test_ctrl_c_says_what_was_left(broker: str, pg_admin: str, database: str, tmp_path: Path) -> None:
    log = tmp_path / "demo.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            demo_args(tmp_path, database, "--days", "10", "--cases-per-day", "2000"),
            env=demo_env(broker, pg_admin), cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
            preexec_fn=interruptible,
        )  # fmt: skip
    try:
        wait_for(lambda: "Ready in" in log.read_text(), 240, "the demo to start publishing")
        proc.send_signal(signal.SIGINT)
        code = proc.wait(120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    text = log.read_text()
    assert code == 130, text[-3000:]
    # sent after "Ready": it stops the publishing, or what follows it on a fast machine
    assert re.search(r"Interrupted while (publishing|consuming|reading the figures)", text), text[-3000:]
    assert f"the demo database {database}" in text and "the next `casetrack demo` starts afresh" in text
    assert "Aborted!" not in text and "Traceback" not in text
