"""The PostgreSQL side of ``casetrack dlq`` (:mod:`ops.dlq_tool`): reading and marking rows of
``casetrack.dead_letters``. Each call opens its own short connection. Rows come back as tuples in
:data:`LETTER_COLUMNS` order. Connection failures leave as ``StoreUnavailable`` (:mod:`consumers.pg_errors`),
other driver errors as :class:`consumers.ports.StoreError`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg2
from psycopg2 import sql

from consumers.pg_errors import store_error
from consumers.ports import StoreError

Coords = tuple[str, int, int]  # (topic, partition, offset) of the original record
LETTER_COLUMNS = (
    "topic", "partition", "offset", "reason", "detail", "event_id", "event_type", "dead_lettered_at",
    "republished_at", "republished_as", "discarded_at", "resolution",
)  # fmt: skip
_SELECT = sql.SQL("SELECT {} FROM casetrack.dead_letters").format(
    sql.SQL(", ").join(map(sql.Identifier, LETTER_COLUMNS))
)
_STATES = {
    "pending": " AND republished_at IS NULL AND discarded_at IS NULL",
    "republished": " AND republished_at IS NOT NULL",
    "discarded": " AND discarded_at IS NOT NULL",
    "all": "",
}


@contextmanager
def _cursor(dsn: str) -> Iterator[Any]:
    """A cursor in one transaction on a fresh connection; driver errors leave as the project's own."""
    try:
        conn = psycopg2.connect(dsn, application_name="casetrack-dlq")
        try:
            with conn, conn.cursor() as cur:
                yield cur
        finally:
            conn.close()
    except (psycopg2.OperationalError, psycopg2.InterfaceError) as exc:
        raise store_error(exc) from exc
    except psycopg2.Error as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise StoreError(f"dead letters: {first}", exc) from exc


def _columns(coords: Sequence[Coords]) -> tuple[list[str], list[int], list[int]]:
    return [c[0] for c in coords], [c[1] for c in coords], [c[2] for c in coords]


def select_letters(
    dsn: str, topic: str | None, reason: str | None, state: str, limit: int | None
) -> list[tuple[Any, ...]]:
    """Rows oldest first, filtered by original topic, reason code and state (``pending``, ``republished``,
    ``discarded`` or ``all``)."""
    where = (
        " WHERE (%(topic)s::text IS NULL OR topic = %(topic)s)"
        " AND (%(reason)s::text IS NULL OR reason = %(reason)s)"
        + _STATES[state]
        + ' ORDER BY dead_lettered_at, topic, partition, "offset" LIMIT %(limit)s'
    )
    with _cursor(dsn) as cur:
        cur.execute(
            sql.Composed([_SELECT, sql.SQL(where)]), {"topic": topic, "reason": reason, "limit": limit}
        )
        return list(cur.fetchall())


def letters_at(dsn: str, coords: Sequence[Coords]) -> list[tuple[Any, ...]]:
    """The rows of these original coordinates (absent ones have none)."""
    where = sql.SQL(
        ' WHERE (topic, partition, "offset") IN (SELECT * FROM unnest(%s::text[], %s::int[], %s::bigint[]))'
    )
    with _cursor(dsn) as cur:
        cur.execute(sql.Composed([_SELECT, where]), _columns(coords))
        return list(cur.fetchall())


def mark_republished(dsn: str, sent: Sequence[tuple[Coords, str]]) -> None:
    """Record ``republished_at`` and where each letter was sent (``topic/partition/offset``)."""
    coords = [c for c, _ in sent]
    with _cursor(dsn) as cur:
        cur.execute(
            "UPDATE casetrack.dead_letters d SET republished_at = now(), republished_as = u.sent_as"
            ' FROM unnest(%s::text[], %s::int[], %s::bigint[], %s::text[]) AS u(topic, partition, "offset", sent_as)'
            ' WHERE (d.topic, d.partition, d."offset") = (u.topic, u.partition, u."offset")',
            (*_columns(coords), [a for _, a in sent]),
        )


def mark_discarded(dsn: str, coords: Sequence[Coords], note: str) -> int:
    """Mark pending letters as handled without re-publishing them; returns how many were marked."""
    with _cursor(dsn) as cur:
        cur.execute(
            "UPDATE casetrack.dead_letters d SET discarded_at = now(), resolution = %s"
            ' FROM unnest(%s::text[], %s::int[], %s::bigint[]) AS u(topic, partition, "offset")'
            ' WHERE (d.topic, d.partition, d."offset") = (u.topic, u.partition, u."offset")'
            " AND d.republished_at IS NULL AND d.discarded_at IS NULL",
            (note, *_columns(coords)),
        )
        return int(cur.rowcount)
