"""The PostgreSQL adapter of :class:`ops.generations.Generations`: ``casetrack.generations``,
``casetrack.live_generations`` and ``casetrack.tracking``, on one connection of a :class:`PgStore`.

The swap window locks the family's ``live_generations`` row ``FOR UPDATE``; live consumers take it ``FOR SHARE``
at the start of every batch (:meth:`consumers.pg_store.PgStoreTx.check_live`). The replay lock is a
session-level advisory lock, so it is released when the connection closes. Connection failures leave as
``StoreUnavailable`` / ``TransientStoreError`` (:mod:`consumers.pg_errors`), other driver errors as
:class:`~ops.generations.GenerationsError`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from typing import Any, cast

import psycopg2
from psycopg2 import sql

from consumers.pg_errors import store_error
from consumers.pg_store import PgStore, PgStoreTx
from consumers.ports import TP
from events.codec import Codec
from ops.generations import (
    FAMILIES,
    GenerationInfo,
    GenerationLive,
    GenerationsError,
    NoLiveGeneration,
    Source,
    Status,
)

_LOCK_CLASS = 0x63_74  # pg advisory lock class: one replay per family at a time


@contextmanager
def _errors(what: str) -> Iterator[None]:
    """Driver errors leave as the project's own."""
    try:
        yield
    except (psycopg2.OperationalError, psycopg2.InterfaceError) as exc:
        raise store_error(exc) from exc
    except psycopg2.Error as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise GenerationsError(f"{what}: {first}", exc) from exc


def _positions(cur: Any, generation: int) -> dict[TP, int]:
    cur.execute(
        "SELECT topic, partition, next_offset FROM casetrack.tracking WHERE generation = %s", (generation,)
    )
    return {(t, p): int(o) for t, p, o in cur.fetchall()}


def _subjects_after(cur: Any, family: str, after: int, upto: int | None) -> list[str]:
    cur.execute(
        "SELECT DISTINCT subject FROM casetrack.event_store WHERE aggregate = %s AND seq > %s"
        " AND seq <= coalesce(%s::bigint, 9223372036854775807)",
        (family, after, upto),
    )
    return [r[0] for r in cur.fetchall()]


class PgSwapWindow:
    """The open swap transaction (see :class:`ops.generations.SwapWindow`)."""

    def __init__(self, conn: Any, codec: Codec, family: str, live: int) -> None:
        self.conn, self.codec, self.family, self.live = conn, codec, family, live
        self.cur = conn.cursor()

    def positions(self, generation: int) -> dict[TP, int]:
        with _errors("reading positions"):
            return _positions(self.cur, generation)

    def max_seq(self) -> int:
        with _errors("reading the event store"):
            self.cur.execute(
                "SELECT coalesce(max(seq), 0) FROM casetrack.event_store WHERE aggregate = %s", (self.family,)
            )
            return int(self.cur.fetchone()[0])

    def count_events(self) -> int:
        with _errors("reading the event store"):
            self.cur.execute(
                "SELECT count(*) FROM casetrack.event_store WHERE aggregate = %s", (self.family,)
            )
            return int(self.cur.fetchone()[0])

    def subjects_after(self, after: int, upto: int | None) -> list[str]:
        with _errors("reading the event store"):
            return _subjects_after(self.cur, self.family, after, upto)

    def store_tx(self) -> PgStoreTx:
        return PgStoreTx(self.conn, self.codec)

    def copy_positions(self, source: int, target: int) -> None:
        with _errors("copying positions"):
            self.cur.execute(
                "INSERT INTO casetrack.tracking (generation, topic, partition, next_offset, last_event_time)"
                " SELECT %s, topic, partition, next_offset, last_event_time FROM casetrack.tracking"
                " WHERE generation = %s",
                (target, source),
            )

    def set_positions(self, generation: int, positions: Mapping[TP, int]) -> None:
        with _errors("setting positions"):
            for (topic, part), offset in sorted(positions.items()):
                self.cur.execute(
                    "INSERT INTO casetrack.tracking (generation, topic, partition, next_offset)"
                    " VALUES (%s, %s, %s, %s) ON CONFLICT (generation, topic, partition)"
                    " DO UPDATE SET next_offset = EXCLUDED.next_offset",
                    (generation, topic, part, offset),
                )

    def swap(self, new: int) -> None:
        with _errors("swapping generations"):
            self.cur.execute(
                "UPDATE casetrack.live_generations SET generation = %s WHERE projection = %s",
                (new, self.family),
            )
            self.cur.execute(
                "UPDATE casetrack.generations SET status = 'retired', retired_at = now() WHERE generation = %s",
                (self.live,),
            )
            self.cur.execute(
                "UPDATE casetrack.generations SET status = 'live', swapped_at = now() WHERE generation = %s",
                (new,),
            )


class PgGenerations:
    """Generations on one PostgreSQL connection (a session: it holds the replay locks it takes)."""

    def __init__(
        self, dsn: str, codec: Codec | None = None, application_name: str = "casetrack-replay"
    ) -> None:
        self.store = PgStore(dsn, codec, application_name=application_name)  # raises StoreUnavailable
        self.conn = self.store.conn

    @contextmanager
    def _tx(self, what: str) -> Iterator[Any]:
        """A short transaction of our own statements (committed, or rolled back on an error)."""
        with _errors(what), self.conn, self.conn.cursor() as cur:
            yield cur

    def try_lock(self, family: str) -> bool:
        with self._tx("taking the replay lock") as cur:
            cur.execute("SELECT pg_try_advisory_lock(%s, %s)", (_LOCK_CLASS, _family_key(family)))
            return bool(cur.fetchone()[0])

    def unlock(self, family: str) -> None:
        with self._tx("releasing the replay lock") as cur:
            cur.execute("SELECT pg_advisory_unlock(%s, %s)", (_LOCK_CLASS, _family_key(family)))

    def create(self, family: str, source: Source) -> int:
        with self._tx(f"creating a generation of {family}") as cur:
            cur.execute(
                "INSERT INTO casetrack.generations (projection, source, status) VALUES (%s, %s, 'building')"
                " RETURNING generation",
                (family, source.replace("-", "_")),
            )
            return int(cur.fetchone()[0])

    def live(self, family: str) -> int | None:
        with self._tx("reading the live generation") as cur:
            cur.execute("SELECT generation FROM casetrack.live_generations WHERE projection = %s", (family,))
            row = cur.fetchone()
            return None if row is None else int(row[0])

    def history(self, family: str) -> list[GenerationInfo]:
        with self._tx("listing generations") as cur:
            cur.execute(
                "SELECT generation, source, status FROM casetrack.generations WHERE projection = %s"
                " ORDER BY generation",
                (family,),
            )
            rows = cur.fetchall()
        return [GenerationInfo(int(g), family, _source(s), _status(st)) for g, s, st in rows]

    def positions(self, generation: int) -> dict[TP, int]:
        with self._tx("reading positions") as cur:
            return _positions(cur, generation)

    def subjects_after(self, family: str, after: int, upto: int | None) -> list[str]:
        with self._tx("reading the event store") as cur:
            return _subjects_after(cur, family, after, upto)

    def transaction(self) -> AbstractContextManager[PgStoreTx]:
        return self.store.transaction()

    @contextmanager
    def window(self, family: str) -> Iterator[PgSwapWindow]:
        try:
            with _errors(f"locking the live generation of {family}"), self.conn.cursor() as cur:
                cur.execute("SET LOCAL lock_timeout = '60s'")
                cur.execute(
                    "SELECT generation FROM casetrack.live_generations WHERE projection = %s FOR UPDATE",
                    (family,),
                )
                row = cur.fetchone()
            if row is None:
                raise NoLiveGeneration(f"no live generation for {family}: run `casetrack migrate`")
            yield PgSwapWindow(self.conn, self.store.codec, family, int(row[0]))
            with _errors(f"committing the swap window of {family}"):
                self.conn.commit()
        except BaseException:
            self._rollback()
            raise

    def _rollback(self) -> None:
        if not self.conn.closed:
            try:
                self.conn.rollback()
            except psycopg2.Error:  # the connection broke: the server rolled back already
                pass

    def abandon(self, generation: int) -> bool:
        with self._tx(f"abandoning generation {generation}") as cur:
            cur.execute(
                "UPDATE casetrack.generations SET status = 'abandoned', retired_at = now()"
                " WHERE generation = %s AND status = 'building'",
                (generation,),
            )
            return bool(cur.rowcount == 1)

    def count_rows(self, table: str, generation: int) -> int:
        with self._tx(f"counting rows of generation {generation}") as cur:
            stmt = sql.SQL("SELECT count(*) FROM {t} WHERE generation = %s").format(t=_table(table))
            cur.execute(stmt, (generation,))
            return int(cur.fetchone()[0])

    def delete_rows(self, table: str, key_column: str, generation: int, limit: int) -> int:
        t, k = _table(table), sql.Identifier(key_column)
        stmt = sql.SQL(
            "DELETE FROM {t} WHERE generation = %s AND {k} IN (SELECT {k} FROM {t} WHERE generation = %s LIMIT %s)"
        ).format(t=t, k=k)
        with self._tx(f"deleting rows of generation {generation}") as cur:
            _refuse_live(cur, generation)  # never delete what analysts see
            cur.execute(stmt, (generation, generation, limit))
            return int(cur.rowcount)

    def forget_positions(self, generation: int) -> None:
        with self._tx(f"deleting positions of generation {generation}") as cur:
            _refuse_live(cur, generation)
            cur.execute("DELETE FROM casetrack.tracking WHERE generation = %s", (generation,))

    def close(self) -> None:
        self.store.close()


def _refuse_live(cur: Any, generation: int) -> None:
    cur.execute("SELECT 1 FROM casetrack.live_generations WHERE generation = %s", (generation,))
    if cur.fetchone() is not None:
        raise GenerationLive(f"generation {generation} is live")


def _family_key(family: str) -> int:
    if family not in FAMILIES:
        raise GenerationsError(f"unknown projection family {family!r} (known: {', '.join(FAMILIES)})")
    return FAMILIES.index(family)


def _table(name: str) -> sql.Identifier:
    return sql.Identifier(*name.split("."))


def _source(value: str) -> Source:
    return "event-store" if value == "event_store" else "kafka"


def _status(value: str) -> Status:
    if value not in ("building", "live", "retired", "abandoned"):
        raise GenerationsError(f"unknown generation status {value!r}")
    return cast(Status, value)
