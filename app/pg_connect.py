"""The application's PostgreSQL adapter for connections: opening them, reading connection strings for messages,
and translating psycopg2's errors into casetrack's own (:mod:`app.errors`).

A connection that cannot be opened raises :class:`~app.errors.DatabaseUnreachable` (the driver's error is its
``__cause__``, so ``--debug`` still shows it). :func:`translate` is what the top of the CLI calls for any error
that escaped a command: the driver's ``OperationalError`` (also wrapped by SQLAlchemy for Alembic, or by the
Store port, as ``exc.orig``) becomes the same one-line message. See docs/architecture.md, "Connections and
driver errors".
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg2
import psycopg2.errors
from psycopg2.extensions import connection as PgConnection
from psycopg2.extensions import make_dsn, parse_dsn

from app.errors import (
    CasetrackError,
    DatabasePermissionDenied,
    DatabaseUnreachable,
    database_unreachable,
    first_line,
    known_error,
)

__all__ = [
    "PgConnection",
    "connect",
    "connection",
    "connection_failure",
    "database_error",
    "database_target",
    "dbname_of",
    "mask_url",
    "permission_denied",
    "translate",
    "with_dbname",
    "without_password",
]


def connect(
    url: str,
    *,
    application_name: str | None = None,
    connect_timeout: int | None = None,
    autocommit: bool = False,
) -> PgConnection:
    """A new connection to ``url`` (a libpq URL or key=value DSN); :class:`DatabaseUnreachable` if refused."""
    options: dict[str, Any] = {}
    if application_name is not None:
        options["application_name"] = application_name
    if connect_timeout is not None:
        options["connect_timeout"] = connect_timeout
    try:
        conn: PgConnection = psycopg2.connect(url, **options)
    except psycopg2.OperationalError as exc:
        raise database_error(url, exc) from exc
    conn.autocommit = autocommit
    return conn


@contextmanager
def connection(
    url: str,
    *,
    application_name: str | None = None,
    connect_timeout: int | None = None,
    autocommit: bool = False,
) -> Iterator[PgConnection]:
    """:func:`connect`, closed on leaving; a connection lost inside the block also becomes
    :class:`DatabaseUnreachable`. It does not commit: use ``with conn:`` for a transaction."""
    conn = connect(
        url, application_name=application_name, connect_timeout=connect_timeout, autocommit=autocommit
    )
    try:
        yield conn
    except psycopg2.OperationalError as exc:
        raise database_error(url, exc) from exc
    finally:
        conn.close()


@contextmanager
def permission_denied() -> Iterator[None]:
    """Inside the block, PostgreSQL's refusal of a privilege becomes :class:`DatabasePermissionDenied`."""
    try:
        yield
    except psycopg2.errors.InsufficientPrivilege as exc:
        raise DatabasePermissionDenied(str(exc).strip()) from exc


# --- errors ---------------------------------------------------------------------------------------------
def connection_failure(exc: BaseException) -> BaseException | None:
    """The driver's connection failure behind ``exc`` (itself, or its ``orig`` as SQLAlchemy and the Store
    port wrap it), or None if it is not one."""
    orig = getattr(exc, "orig", None)
    if isinstance(orig, psycopg2.OperationalError):
        return orig
    return exc if isinstance(exc, psycopg2.OperationalError) else None


def database_error(url: str, exc: BaseException) -> DatabaseUnreachable:
    """The project's error for a driver's connection failure to ``url``."""
    return database_unreachable(database_target(url), first_line(exc))


def translate(
    exc: BaseException, database_url: str | None, kafka_bootstrap: str | None
) -> CasetrackError | None:
    """The project's error for an error that escaped a command, or None if it is not one we know.

    ``database_url`` / ``kafka_bootstrap`` are the servers the command was using (for the message)."""
    if isinstance(exc, CasetrackError):
        return exc
    failure = connection_failure(exc)
    if failure is not None:
        if database_url:
            return database_error(database_url, failure)
        exc = failure
    return known_error(exc, kafka_bootstrap)


# --- connection strings ---------------------------------------------------------------------------------
def mask_url(url: str) -> str:
    """A libpq URL or key=value DSN with any password replaced by ``***``."""
    try:
        params = parse_dsn(url)
    except Exception:  # not parseable: show nothing of it rather than risk a password
        return "(unparseable database URL)"
    if "password" in params:
        params["password"] = "***"
    return str(make_dsn(**params))


def database_target(url: str) -> str:
    """``host:port/dbname`` (as libpq would use them) for messages; never the password."""
    try:
        p = parse_dsn(url)
    except Exception:
        return "(unparseable database URL)"
    host = p.get("host") or p.get("hostaddr") or "local socket"
    if host.startswith("/"):
        host = f"socket in {host}"
    return f"{host}:{p.get('port', '5432')}/{p.get('dbname', p.get('user', '?'))}"


def with_dbname(url: str, dbname: str) -> str:
    """The connection string of database ``dbname`` on the server (and with the login) of ``url``."""
    params = parse_dsn(url)
    params["dbname"] = dbname
    return str(make_dsn(**params))


def dbname_of(url: str) -> str | None:
    """The database ``url`` names, if it names one."""
    name = parse_dsn(url).get("dbname")
    return None if name is None else str(name)


def without_password(url: str) -> tuple[str, bool]:
    """``url`` as a key=value DSN without its password, and whether it had one (for commands to print)."""
    params = parse_dsn(url)
    had_password = params.pop("password", None) is not None
    return str(make_dsn(**params)), had_password
