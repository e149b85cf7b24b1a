"""The embedded stack through the real CLI: ``casetrack up`` / ``down`` and how commands choose their servers.

With ``CASETRACK_KAFKA_BOOTSTRAP`` and ``CASETRACK_DATABASE_URL`` both unset, casetrack runs its own Tansu broker and
PostgreSQL under ``CASETRACK_DATA_DIR``; with both set it starts nothing; with only one set it refuses. Every
command runs as a subprocess, as an operator would run it. Whatever a test starts is stopped in the fixture
teardown, also when the test fails half-way, so that no server outlives the run.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

import psycopg2
import pytest
from kafka import KafkaAdminClient

from app.bootstrap import head_revision, schema_revision
from app.embedded import EmbeddedStack
from app.settings import Settings
from events.topics import Topics
from tests.integration.ops_support import cli_env, run_cli, run_env


def stack_env(data_dir: Path, **variables: str) -> dict[str, str]:
    """The CLI environment of ``ops_support.cli_env`` with both server variables unset (plus ``variables``).

    ``cli_env`` insists on configured servers, so it gets placeholders that are removed again: what remains
    is the scrubbed environment (no CASETRACK_* of the shell), this checkout's code and the data directory.
    """
    env = cli_env(Settings(kafka_bootstrap="unused:9092", database_url="unused", data_dir=data_dir))
    del env["CASETRACK_KAFKA_BOOTSTRAP"], env["CASETRACK_DATABASE_URL"]
    env.update(variables)
    return env


def casetrack(
    data_dir: Path, args: Sequence[str], timeout: float = 120, **variables: str
) -> subprocess.CompletedProcess[str]:
    return run_env(stack_env(data_dir, **variables), args, timeout)


def ok(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def printed_addresses(stdout: str) -> tuple[str, str]:
    """(bootstrap, database URL) from the two ``export``-able lines ``casetrack up`` prints."""
    bootstrap = re.search(r"^CASETRACK_KAFKA_BOOTSTRAP=(\S+)$", stdout, re.MULTILINE)
    url = re.search(r"^CASETRACK_DATABASE_URL='([^']+)'$", stdout, re.MULTILINE)
    assert bootstrap and url, stdout
    return bootstrap[1], url[1]


def alive(pid: int) -> bool:
    """Whether ``pid`` runs. A killed broker is reparented to PID 1, which may be slow to reap it (or, in a
    container, never reap it), so a zombie counts as gone."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def listening(bootstrap: str) -> bool:
    host, port = bootstrap.rsplit(":", 1)
    try:
        with socket.create_connection((host, int(port)), timeout=1):
            return True
    except OSError:
        return False


def select_one(url: str) -> int:
    conn = psycopg2.connect(url, connect_timeout=5)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT 1")
            row = cur.fetchone()
            assert row is not None
            return int(row[0])
    finally:
        conn.close()


@pytest.fixture
def data_dir() -> Iterator[Path]:
    """A data directory the embedded PostgreSQL can reach; whatever runs under it is stopped afterwards."""
    # As root, the embedded PostgreSQL runs as a system user, which must be able to enter this folder and
    # the folders above it. Not under pytest's tmp dirs: pytest makes them 0700, and every pytest session
    # that starts resets its base folder to 0700, even under a test of another session.
    base = Path(tempfile.mkdtemp(prefix="casetrack-stack-test-"))
    base.chmod(0o755)
    path = base / "casetrack"
    try:
        yield path
    finally:
        EmbeddedStack(path).down()  # in-process on purpose: it must work even if the CLI under test is broken
        shutil.rmtree(base, ignore_errors=True)


def test_up_migrate_down_lifecycle(data_dir: Path) -> None:
    # up: starts both servers in the background and prints what to export.
    out = ok(casetrack(data_dir, ["up"]))
    assert f"started: embedded stack in {data_dir}" in out
    bootstrap, url = printed_addresses(out)
    state = json.loads((data_dir / "stack.json").read_text())
    assert (state["kafka_bootstrap"], state["database_url"]) == (bootstrap, url)
    pgdata = data_dir / "pg"
    assert Path(state["pgdata"]) == pgdata
    assert (pgdata / "PG_VERSION").is_file() and (pgdata / "postmaster.pid").is_file()
    broker_pid = int(state["broker_pid"])
    assert alive(broker_pid) and listening(bootstrap)  # outlived the `casetrack up` process
    assert select_one(url) == 1

    # A second up finds the running stack and starts nothing new.
    out = ok(casetrack(data_dir, ["up"]))
    assert "already running" in out and "started:" not in out
    assert printed_addresses(out) == (bootstrap, url)
    assert json.loads((data_dir / "stack.json").read_text())["broker_pid"] == broker_pid

    # Commands without servers configured use the running stack (and say nothing about starting one).
    out = ok(casetrack(data_dir, ["migrate"]))
    assert "database schema is at head" in out and "started the embedded stack" not in out
    assert schema_revision(url) == head_revision()
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        topics = set(admin.list_topics())
    finally:
        admin.close()
    defaults = Topics().all()
    assert {*defaults, *(Topics.dlq(t) for t in defaults)} <= topics

    # down: both servers stop; PostgreSQL's data stays, the address file goes.
    out = ok(casetrack(data_dir, ["down"]))
    assert "stopped the embedded stack" in out
    assert not alive(broker_pid) and not listening(bootstrap)
    assert not (pgdata / "postmaster.pid").exists()
    assert not (data_dir / "stack.json").exists()
    assert (pgdata / "PG_VERSION").is_file()
    with pytest.raises(psycopg2.OperationalError):
        select_one(url)

    # A second down is harmless.
    out = ok(casetrack(data_dir, ["down"]))
    assert "the embedded stack was not running" in out

    # up again: the database kept its schema (it lives under the data directory); the broker is new.
    out = ok(casetrack(data_dir, ["up"]))
    assert "started:" in out
    _, url = printed_addresses(out)
    assert schema_revision(url) == head_revision()


def test_a_command_starts_the_stack_on_first_use(data_dir: Path) -> None:
    out = ok(casetrack(data_dir, ["migrate"]))
    assert "started the embedded stack" in out and "stop it with `casetrack down`" in out
    state = json.loads((data_dir / "stack.json").read_text())
    assert alive(int(state["broker_pid"])) and schema_revision(state["database_url"]) == head_revision()
    assert "stopped the embedded stack" in ok(casetrack(data_dir, ["down"]))
    assert not alive(int(state["broker_pid"])) and not (data_dir / "pg" / "postmaster.pid").exists()


@pytest.mark.parametrize(
    ("configured", "missing"),
    [
        ({"CASETRACK_KAFKA_BOOTSTRAP": "127.0.0.1:1"}, "CASETRACK_DATABASE_URL"),
        ({"CASETRACK_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"}, "CASETRACK_KAFKA_BOOTSTRAP"),
    ],
)
def test_one_server_configured_is_refused(data_dir: Path, configured: dict[str, str], missing: str) -> None:
    """Never a silent half-embedded setup: the command fails before it connects anywhere or starts anything."""
    proc = casetrack(data_dir, ["migrate"], timeout=60, **configured)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert f"only one of the two servers is configured: set {missing} as well, or unset both" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (data_dir / "stack.json").exists() and not (data_dir / "pg").exists()


def test_both_servers_configured_starts_nothing(settings: Settings, tmp_path: Path) -> None:
    """With both variables set (here: the test session's broker and a test database), commands use them."""
    assert settings.kafka_bootstrap and settings.database_url
    data_dir = settings.data_dir  # what CASETRACK_DATA_DIR points the subprocess at
    proc = run_cli(settings, ["migrate"])
    out = ok(proc)
    assert "database schema is at head" in out and "started the embedded stack" not in out + proc.stderr
    assert schema_revision(settings.database_url) == head_revision()
    assert not (data_dir / "stack.json").exists() and not (data_dir / "pg").exists()
    assert not data_dir.exists() or not os.listdir(data_dir)
    # `up` with servers configured would start a stack no command uses: it is refused, and starts nothing.
    proc = run_cli(settings, ["up"])
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "starts nothing" in proc.stderr
    assert not (data_dir / "stack.json").exists() and not (data_dir / "pg").exists()
