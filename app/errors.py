"""casetrack's own error types for what an operator must fix, and the translation of driver errors into them.

Drivers raise their own exceptions (``psycopg2.OperationalError``, kafka-python's ``NoBrokersAvailable`` or
its bootstrap timeout); the composition root and the CLI translate them here, so that the top of the CLI can
say in one or two lines which server could not be reached, what was tried and what to check, and exit with a
documented code (table in ``docs/operators.md``, "Exit codes"). Addresses are shown without passwords.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Sequence

EXIT_ERROR = 1
EXIT_USAGE = 2  # click's own code for a usage error; also `lag --fail-above` exceeded
EXIT_POSITIONS = 3  # stored positions and the broker disagree (broker data loss, retention gap)
EXIT_DATABASE = 4  # PostgreSQL could not be reached or refused the login
EXIT_KAFKA = 5  # no Kafka broker could be reached
EXIT_INTERRUPTED = 130  # Ctrl-C (128 + SIGINT), where a command stops without finishing


class CasetrackError(Exception):
    """An error the operator can act on; ``str()`` is the whole message, ``exit_code`` the process's code."""

    exit_code = EXIT_ERROR


class DatabaseUnreachable(CasetrackError):
    """PostgreSQL did not accept a connection (refused, timed out, unknown host, login or database refused)."""

    exit_code = EXIT_DATABASE


class BrokerUnreachable(CasetrackError):
    """None of the Kafka bootstrap addresses answered."""

    exit_code = EXIT_KAFKA


def mask_url(url: str) -> str:
    """A libpq URL or key=value DSN with any password replaced by ``***``."""
    from psycopg2.extensions import make_dsn, parse_dsn

    try:
        params = parse_dsn(url)
    except Exception:  # not parseable: show nothing of it rather than risk a password
        return "(unparseable database URL)"
    if "password" in params:
        params["password"] = "***"
    return str(make_dsn(**params))


def database_target(url: str) -> str:
    """``host:port/dbname`` (as libpq would use them) for messages; never the password."""
    from psycopg2.extensions import parse_dsn

    try:
        p = parse_dsn(url)
    except Exception:
        return "(unparseable database URL)"
    host = p.get("host") or p.get("hostaddr") or "local socket"
    if host.startswith("/"):
        host = f"socket in {host}"
    return f"{host}:{p.get('port', '5432')}/{p.get('dbname', p.get('user', '?'))}"


def database_error(url: str, exc: BaseException) -> DatabaseUnreachable:
    """The project's error for a driver's connection failure to ``url``."""
    reason = _first_line(exc)
    lowered = reason.lower()
    if "password" in lowered or "authentication" in lowered or "role" in lowered:
        check = "check the user and password in CASETRACK_DATABASE_URL"
    elif "does not exist" in lowered:
        check = (
            "check the database name in CASETRACK_DATABASE_URL (or run `casetrack migrate` on the right one)"
        )
    else:
        check = "check that PostgreSQL runs there and CASETRACK_DATABASE_URL is right"
    return DatabaseUnreachable(
        f"cannot reach PostgreSQL at {database_target(url)}: {reason}\n  {check} (--debug shows the traceback)"
    )


def broker_error(bootstrap: str, tried: Sequence[str] = (), why: str = "") -> BrokerUnreachable:
    """The project's error for a Kafka cluster none of whose bootstrap addresses answered."""
    detail = f"tried {', '.join(tried)}" if tried else f"{bootstrap}: {why or 'no broker answered'}"
    return BrokerUnreachable(
        f"cannot reach Kafka: {detail}\n"
        "  check that the broker runs and CASETRACK_KAFKA_BOOTSTRAP is right (--debug shows the traceback)"
    )


def probe_kafka(bootstrap: str, timeout_seconds: float = 3.0) -> None:
    """Fail fast when no bootstrap address accepts a TCP connection (kafka-python would retry for 30 s,
    logging a warning each time). Only reachability is checked; the Kafka clients do the rest."""
    tried = []
    deadline = time.monotonic() + timeout_seconds
    for address in [a.strip() for a in bootstrap.split(",") if a.strip()]:
        host, _, port = address.rpartition(":")
        host = host.strip("[]")
        if not host or not port.isdigit():
            tried.append(f"{address} (not host:port)")
            continue
        try:
            remaining = max(0.5, deadline - time.monotonic())
            with socket.create_connection((host, int(port)), timeout=remaining):
                return
        except OSError as exc:
            tried.append(f"{address} ({_os_reason(exc)})")
    raise broker_error(bootstrap, tried)


def _os_reason(exc: OSError) -> str:
    if isinstance(exc, socket.timeout | TimeoutError):
        return "timed out"
    if isinstance(exc, socket.gaierror):
        return "unknown host"
    return (exc.strerror or str(exc)).lower()


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0].strip() if text else type(exc).__name__


def translate(
    exc: BaseException, database_url: str | None, kafka_bootstrap: str | None
) -> CasetrackError | None:
    """The project's error for a driver error that escaped a command, or None if it is not one we know.

    ``database_url`` / ``kafka_bootstrap`` are the servers the command was using (for the message)."""
    if isinstance(exc, CasetrackError):
        return exc
    import psycopg2
    from kafka import errors as kerr

    orig = getattr(exc, "orig", None)  # SQLAlchemy (Alembic) wraps the psycopg2 error
    if isinstance(orig, psycopg2.OperationalError):
        exc = orig
    if isinstance(exc, psycopg2.OperationalError) and database_url:
        return database_error(database_url, exc)
    if kafka_bootstrap and (
        isinstance(exc, kerr.KafkaConnectionError)
        or type(exc).__name__ == "NoBrokersAvailable"  # kafka-python 2.x; 3.x raises the timeout below
        or (isinstance(exc, kerr.KafkaTimeoutError) and "bootstrap" in str(exc).lower())
    ):
        return broker_error(kafka_bootstrap, why=_first_line(exc))
    return None
