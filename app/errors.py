"""casetrack's own error types for what an operator must fix, and the messages that name them.

Drivers raise their own exceptions (psycopg2's ``OperationalError``, kafka-python's ``NoBrokersAvailable`` or
its bootstrap timeout). The PostgreSQL adapter :mod:`app.pg_connect` recognises the driver's errors and builds
the project's from the pure messages here; :func:`known_error` does the same for Kafka. So the top of the CLI
can say in one or two lines which server could not be reached, what was tried and what to check, and exit with
a documented code (table in ``docs/operators.md``, "Exit codes"). Addresses are shown without passwords.
See docs/architecture.md, "Connections and driver errors".
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


class DatabasePermissionDenied(CasetrackError):
    """PostgreSQL refused a statement to the configured login (it lacks a privilege); ``str()`` is the server's
    own first line."""


class BrokerUnreachable(CasetrackError):
    """None of the Kafka bootstrap addresses answered."""

    exit_code = EXIT_KAFKA


def database_unreachable(target: str, reason: str) -> DatabaseUnreachable:
    """The project's error for a failed connection to PostgreSQL at ``target`` (``host:port/dbname``, never a
    password), given the driver's first line ``reason``."""
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
        f"cannot reach PostgreSQL at {target}: {reason}\n  {check} (--debug shows the traceback)"
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


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (its type's name if it has none), for a one-line error."""
    text = str(exc).strip()
    return text.splitlines()[0].strip() if text else type(exc).__name__


def known_error(exc: BaseException, kafka_bootstrap: str | None) -> CasetrackError | None:
    """``exc`` if it is the project's own error, the project's error for a Kafka connection failure to
    ``kafka_bootstrap``, else None. PostgreSQL's errors are :func:`app.pg_connect.translate`'s."""
    if isinstance(exc, CasetrackError):
        return exc
    from kafka import errors as kerr

    if kafka_bootstrap and (
        isinstance(exc, kerr.KafkaConnectionError)
        or type(exc).__name__ == "NoBrokersAvailable"  # kafka-python 2.x; 3.x raises the timeout below
        or (isinstance(exc, kerr.KafkaTimeoutError) and "bootstrap" in str(exc).lower())
    ):
        return broker_error(kafka_bootstrap, why=first_line(exc))
    return None
