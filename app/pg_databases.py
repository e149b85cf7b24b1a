"""The PostgreSQL adapter for whole databases on a server: finding, creating and dropping them.

Used by the embedded stack (its ``casetrack`` database) and by ``casetrack demo`` (a demo database re-created
on every run, recognised by its comment). ``CREATE``/``DROP DATABASE`` cannot run inside a transaction, so the
connection is in autocommit. A refused privilege raises :class:`~app.errors.DatabasePermissionDenied`.
"""

from __future__ import annotations

from types import TracebackType

from psycopg2 import sql

from app.pg_connect import PgConnection, connect, permission_denied

__all__ = ["Databases", "ensure_database"]


class Databases:
    """The databases of the server of ``url``, over one autocommit connection (closed by ``with`` or
    :meth:`close`)."""

    def __init__(self, url: str, application_name: str | None = None) -> None:
        self._conn: PgConnection = connect(url, application_name=application_name, autocommit=True)

    def __enter__(self) -> Databases:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self._conn.close()

    def exists(self, name: str) -> bool:
        with permission_denied(), self._conn.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
            return cur.fetchone() is not None

    def comment(self, name: str) -> tuple[bool, str | None]:
        """Whether database ``name`` exists, and its comment (None: it has none)."""
        with permission_denied(), self._conn.cursor() as cur:
            cur.execute(
                "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s", (name,)
            )
            found = cur.fetchone()
        return (False, None) if found is None else (True, found[0])

    def create(self, name: str, comment: str | None = None) -> None:
        with permission_denied(), self._conn.cursor() as cur:
            cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            if comment is not None:
                cur.execute(
                    sql.SQL("COMMENT ON DATABASE {} IS {}").format(sql.Identifier(name), sql.Literal(comment))
                )

    def drop(self, name: str) -> None:
        """Drop database ``name``, disconnecting its sessions (``WITH (FORCE)``)."""
        with permission_denied(), self._conn.cursor() as cur:
            cur.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


def ensure_database(admin_url: str, name: str) -> None:
    """Create database ``name`` on the server of ``admin_url`` unless it exists."""
    with Databases(admin_url) as dbs:
        if not dbs.exists(name):
            dbs.create(name)
