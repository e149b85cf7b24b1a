"""The PostgreSQL adapter of ``casetrack serve``'s readiness: is the database reachable (a cheap query on a
kept connection, reopened after a loss), and is an error that stopped the consumer the database going away.
So :mod:`ops.server` imports no driver. See docs/architecture.md, "Read queries".
"""

from __future__ import annotations

import logging
import threading
import time

import psycopg2

from app.errors import DatabaseUnreachable, first_line
from app.pg_connect import PgConnection, connect
from reports import pg_reads

log = logging.getLogger("casetrack.serve")


def database_failure(exc: BaseException) -> bool:
    """Whether ``exc`` is the driver's own error for a lost or refused connection (one that escaped an adapter
    untranslated); the Store port's ``TransientStoreError`` is the translated kind."""
    return isinstance(exc, psycopg2.OperationalError | psycopg2.InterfaceError)


class DatabaseProbe:
    """Answers "is the database reachable?" with a cheap query, cached briefly (readiness probes are frequent)."""

    def __init__(self, dsn: str, cache_seconds: float = 2.0, timeout_seconds: int = 3) -> None:
        self.dsn = dsn
        self.cache_seconds = cache_seconds
        self.timeout_seconds = timeout_seconds
        self._lock = threading.Lock()
        self._conn: PgConnection | None = None
        self._at = float("-inf")
        self._ok = False

    def ok(self) -> bool:
        with self._lock:
            now = time.monotonic()
            if now - self._at >= self.cache_seconds:
                self._ok = self._check()
                self._at = now
            return self._ok

    def _check(self) -> bool:
        try:
            if self._conn is None or self._conn.closed:
                self._conn = connect(
                    self.dsn,
                    connect_timeout=self.timeout_seconds,
                    application_name="casetrack-probe",
                    autocommit=True,
                )
            with self._conn.cursor() as cur:
                cur.execute("SELECT 1")
            return True
        except (DatabaseUnreachable, psycopg2.Error) as exc:
            log.warning("database probe failed: %s", first_line(exc))
            self.close()
            return False

    def close(self) -> None:
        if self._conn is not None:
            pg_reads.close(self._conn)  # ignores a connection that is already broken
            self._conn = None
