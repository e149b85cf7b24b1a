"""The PostgreSQL adapter of :class:`consumers.ports.Store`.

Writes are set-based: each batch COPYs its rows into a temporary table (:mod:`consumers.pg_copy`) and
moves them with one ``INSERT ... SELECT ... ON CONFLICT`` statement. Every statement is parameterised or
built only from identifiers that come from code, never from event data. Connection failures and retryable
errors leave as the port's :class:`~consumers.ports.StoreUnavailable` / :class:`~consumers.ports.TransientStoreError`
(see :mod:`consumers.pg_errors`); other driver errors are bugs and pass unchanged.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg2
import psycopg2.errors
import psycopg2.extensions
import psycopg2.extras
from psycopg2 import sql
from pydantic_core import TzInfo
from pydantic_core import to_json as _to_json

from consumers.pg_copy import (
    copy_json_value,
    copy_text,
    copy_text_row,
    copy_text_value,
    pg_array,
    staging_plan,
)
from consumers.pg_errors import store_errors
from consumers.ports import TP, DeadLetter, Fenced, PositionUpdate, StateRow, StoredEvent, Tracked
from events.catalog import EVENT_TYPES, Event, aggregate_of
from events.codec import Codec

_EVENT_COLS = (
    "event_id", "aggregate", "subject", "type", "time", "schemaversion", "source", "data", "topic",
    "partition", "offset",
)  # fmt: skip
_ENGINE_COLS = ("applied_ids", "last_time", "last_id", "fold_state")
_AGGREGATE_OF: dict[str, str] = {t: aggregate_of(t) for t in EVENT_TYPES}  # Event.aggregate without the call


class PgStoreTx:
    """One batch transaction on a PostgreSQL connection."""

    def __init__(
        self,
        conn: psycopg2.extensions.connection,
        codec: Codec,
        side_connection: Callable[[], psycopg2.extensions.connection] | None = None,
    ) -> None:
        self.conn = conn
        #: an autocommit connection of the same store, for work that must not wait for this batch to commit
        self.side_connection = side_connection
        self.cur = conn.cursor()
        self.codec = codec

    def check_live(self, family: str, generation: int) -> None:
        # FOR SHARE: a generation swap (FOR UPDATE) waits for this batch, and this batch for the swap.
        self.cur.execute(
            "SELECT generation FROM casetrack.live_generations WHERE projection = %s FOR SHARE", (family,)
        )
        row = self.cur.fetchone()
        if row is None or row[0] != generation:
            raise Fenced(f"generation {generation} of {family} is no longer live")

    def advance(self, generation: int, updates: Sequence[PositionUpdate]) -> None:
        for u in updates:
            if u.expected is None:
                self.cur.execute(
                    "INSERT INTO casetrack.tracking (generation, topic, partition, next_offset, last_event_time)"
                    " VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                    (generation, u.topic, u.partition, u.next_offset, u.last_event_time),
                )
            else:
                self.cur.execute(
                    "UPDATE casetrack.tracking SET next_offset = %s, updated_at = now(),"
                    " last_event_time = COALESCE(%s, last_event_time)"
                    " WHERE generation = %s AND topic = %s AND partition = %s AND next_offset = %s",
                    (u.next_offset, u.last_event_time, generation, u.topic, u.partition, u.expected),
                )
            if self.cur.rowcount != 1:
                raise Fenced(f"the stored position of {u.topic}[{u.partition}] moved (another consumer?)")

    def append_events(self, events: Sequence[StoredEvent]) -> set[str]:
        if not events:
            return set()
        lines = [_event_line(se) for se in events]
        # Redeliveries were filtered against each aggregate's applied ids already, so a conflict here is rare
        # (an id reused across aggregates, or a rebuild generation). Fast path: COPY straight into the store;
        # on a unique violation, roll back to the savepoint and take the ON CONFLICT path.
        self.cur.execute("SAVEPOINT append_events")
        try:
            copy_text(self.cur, "casetrack.event_store", _EVENT_COLS, lines)
        except psycopg2.errors.UniqueViolation:
            self.cur.execute("ROLLBACK TO SAVEPOINT append_events")
        else:
            self.cur.execute("RELEASE SAVEPOINT append_events")
            return {se.event.id for se in events}
        self.cur.execute("TRUNCATE _in_events")
        copy_text(self.cur, "_in_events", _EVENT_COLS, lines)
        self.cur.execute(
            "INSERT INTO casetrack.event_store (event_id, aggregate, subject, type, time, schemaversion, source,"
            ' data, topic, partition, "offset") SELECT event_id, aggregate, subject, type, time, schemaversion,'
            ' source, data, topic, partition, "offset" FROM _in_events'
            " ON CONFLICT (event_id) DO NOTHING RETURNING event_id"
        )
        return {r[0] for r in self.cur.fetchall()}

    def stored_owners(self, event_ids: Sequence[str]) -> dict[str, tuple[str, str]]:
        self.cur.execute(
            "SELECT event_id, aggregate, subject FROM casetrack.event_store WHERE event_id = ANY(%s)",
            (list(event_ids),),
        )
        return {r[0]: (r[1], r[2]) for r in self.cur.fetchall()}

    def load_states(
        self, table: str, key_column: str, generation: int, keys: Sequence[str]
    ) -> dict[str, Tracked]:
        if not keys:
            return {}
        key_col = key_column
        self.cur.execute(
            sql.SQL(
                "SELECT {k}, fold_state, applied_ids, last_time, last_id FROM {t}"
                " WHERE generation = %s AND {k} = ANY(%s)"
            ).format(k=sql.Identifier(key_col), t=sql.SQL(table)),
            (generation, list(keys)),
        )
        return {r[0]: Tracked(r[1], tuple(r[2]), r[3], r[4]) for r in self.cur.fetchall()}

    def load_estimated_states(self, table: str, key_column: str, generation: int) -> dict[str, Tracked]:
        """The states whose row rests on an estimated date (``calendar_gap``, or an estimated card or
        earlier cycle), locked for update: what :mod:`consumers.calendar_refresh` re-derives when an official
        calendar year is added."""
        self.cur.execute(
            sql.SQL(
                "SELECT {k}, fold_state, applied_ids, last_time, last_id FROM {t} WHERE generation = %s"
                " AND (calendar_gap OR cards @> %s::jsonb OR past_cycles @> %s::jsonb) FOR UPDATE"
            ).format(k=sql.Identifier(key_column), t=sql.SQL(table)),
            (generation, '[{"estimated": true}]', '[{"calendar_gap": true}]'),
        )
        return {r[0]: Tracked(r[1], tuple(r[2]), r[3], r[4]) for r in self.cur.fetchall()}

    def load_history(self, aggregate: str, subjects: Sequence[str]) -> dict[str, list[Event]]:
        out: dict[str, list[Event]] = {}
        if not subjects:
            return out
        self.cur.execute(
            _SELECT_ENVELOPES
            + " WHERE aggregate = %s AND subject = ANY(%s) ORDER BY subject, time, event_id",
            (aggregate, list(subjects)),
        )
        decode = self.codec.from_store_json
        for subject, envelope in self.cur.fetchall():
            out.setdefault(subject, []).append(decode(envelope))
        return out

    def save_states(
        self, table: str, columns: Sequence[str], generation: int, rows: Sequence[StateRow]
    ) -> None:
        if not rows:
            return
        plan = staging_plan(self.cur, table, ("generation", *columns, *_ENGINE_COLS))
        self.cur.execute(plan.create)
        self.cur.execute(plan.truncate)
        arrays, stamps = plan.arrays, plan.timestamps
        lines = []
        for values, tracked in rows:
            vals: list[Any] = [generation, *values, *tracked[1:], tracked[0]]  # Tracked: fold_state first
            for i in arrays:
                if (v := vals[i]) is not None:
                    vals[i] = pg_array(v)
            for i in stamps:
                if (v := vals[i]) is not None:
                    vals[i] = v.timestamp()
            lines.append(copy_text_row(vals))
        copy_text(self.cur, plan.staging, plan.columns, lines)
        self.cur.execute(plan.upsert)

    def record_dead_letters(self, letters: Sequence[DeadLetter]) -> None:
        if not letters:
            return
        psycopg2.extras.execute_values(
            self.cur,
            'INSERT INTO casetrack.dead_letters (topic, partition, "offset", reason, detail, event_id, event_type)'
            " VALUES %s ON CONFLICT DO NOTHING",
            [(d.topic, d.partition, d.offset, d.reason, d.detail, d.event_id, d.event_type) for d in letters],
        )


def _event_line(se: StoredEvent) -> str:
    """One event-store row in COPY's text format. Only the fields that may hold any character are escaped (type
    and aggregate come from the catalog, topic names are [a-zA-Z0-9._-], compact JSON has no raw tab or
    newline), and only when they hold one: one check over the three, not a call per field."""
    e = se.event
    ident, subject, source = e.id, e.subject, e.source
    raw = ident + subject + source
    if "\\" in raw or "\t" in raw or "\n" in raw or "\r" in raw:
        ident, subject, source = copy_text_value(ident), copy_text_value(subject), copy_text_value(source)
    data = e.data  # its serializer directly: model_dump_json's wrapper costs as much as the line around it
    js = data.__pydantic_serializer__.to_json(data, exclude_none=True).decode()
    return (
        f"{ident}\t{_AGGREGATE_OF.get(e.type) or e.aggregate}\t{subject}\t{e.type}\t{_copy_time(e.time)}\t{e.schemaversion}"
        f"\t{source}\t{copy_json_value(js)}\t{se.topic}\t{se.partition}\t{se.offset}\n"
    )


def _copy_time(t: dt.datetime) -> str:
    """An event time for COPY. A time parsed from JSON has pydantic's fixed-offset ``TzInfo``, whole minutes
    (its RFC 3339 parser takes no seconds in an offset): pydantic's own serializer writes it in about half the
    instructions of ``isoformat`` (``Z`` for UTC), the same instant for PostgreSQL. Any other zone: ``isoformat``."""
    if type(t.tzinfo) is TzInfo:
        return _to_json(t)[1:-1].decode()
    return t.isoformat()


# An event-store row as one CloudEvents JSON envelope, built by PostgreSQL (timestamptz renders as RFC 3339):
# the client validates it in one pydantic call instead of parsing jsonb into dicts and validating those.
_SELECT_ENVELOPES = (
    "SELECT subject, json_build_object('specversion', '1.0', 'id', event_id, 'source', source, 'type', type,"
    " 'subject', subject, 'time', time, 'schemaversion', schemaversion, 'data', data)::text"
    " FROM casetrack.event_store"
)


def row_to_event(
    subject: str,
    event_id: str,
    source: str,
    type_: str,
    time: dt.datetime,
    version: int,
    data: Any,
    *,
    codec: Codec,
) -> Event:
    """Rebuild a catalog event from an event-store row (stored in the newest version already)."""
    return codec.from_envelope(
        {"id": event_id, "source": source, "type": type_, "subject": subject, "time": time,
         "schemaversion": version, "data": data, "specversion": "1.0"},
        strict=False,
    )  # fmt: skip


class PgStore:
    """The production store: one connection, one transaction per batch."""

    def __init__(self, dsn: str, codec: Codec | None = None, application_name: str = "casetrack") -> None:
        self.dsn = dsn
        self.codec = codec or Codec()
        self.application_name = application_name
        with store_errors():
            self.conn = psycopg2.connect(dsn, application_name=application_name)
        self._side: psycopg2.extensions.connection | None = None
        with store_errors(), self.conn, self.conn.cursor() as cur:
            cur.execute(
                "CREATE TEMP TABLE IF NOT EXISTS _in_events (event_id text, aggregate text, subject text,"
                " type text, time timestamptz, schemaversion integer, source text, data jsonb, topic text,"
                ' partition integer, "offset" bigint) ON COMMIT DELETE ROWS'
            )
            cur.execute("SET synchronous_commit = on")

    @contextmanager
    def transaction(self) -> Iterator[PgStoreTx]:
        with store_errors():  # covers the block too: its driver errors pass through this generator
            try:
                tx = PgStoreTx(self.conn, self.codec, self.side_connection)
                yield tx
                self.conn.commit()
            except BaseException:
                if not self.conn.closed:
                    self.conn.rollback()
                raise

    def side_connection(self) -> psycopg2.extensions.connection:
        """A second connection in autocommit mode, opened on first use (see :attr:`PgStoreTx.side_connection`)."""
        if self._side is None or self._side.closed:
            self._side = psycopg2.connect(self.dsn, application_name=f"{self.application_name}-side")
            self._side.autocommit = True
        return self._side

    def positions(self, generation: int, partitions: Sequence[TP]) -> dict[TP, int]:
        with store_errors(), self.conn, self.conn.cursor() as cur:
            cur.execute(
                "SELECT topic, partition, next_offset FROM casetrack.tracking WHERE generation = %s",
                (generation,),
            )
            wanted = set(partitions)
            return {(t, p): o for t, p, o in cur.fetchall() if (t, p) in wanted}

    def live_generation(self, family: str) -> int:
        with store_errors(), self.conn, self.conn.cursor() as cur:
            cur.execute("SELECT generation FROM casetrack.live_generations WHERE projection = %s", (family,))
            row = cur.fetchone()
            if row is None:
                raise LookupError(f"no live generation for {family}: run `casetrack migrate`")
            return int(row[0])

    def iter_events(
        self, aggregate: str, batch_size: int = 5000, *, part: int = 0, parts: int = 1
    ) -> Iterator[list[Event]]:
        """The event store in (subject, time, id) order, in chunks that never split a subject. With ``parts``
        > 1, only the subjects of slice ``part`` (by a hash of the subject), for parallel rebuilds."""
        # A named (server-side) cursor streams the store without holding it in memory.
        with self.conn.cursor(name=f"history_{aggregate}") as cur:
            cur.itersize = batch_size
            cur.execute(
                _SELECT_ENVELOPES
                + " WHERE aggregate = %s AND (%s = 1 OR (hashtext(subject) & 2147483647) %% %s = %s)"
                " ORDER BY subject, time, event_id",
                (aggregate, parts, parts, part),
            )
            chunk: list[Event] = []
            decode = self.codec.from_store_json
            for subject, envelope in cur:
                if len(chunk) >= batch_size and chunk[-1].subject != subject:
                    yield chunk
                    chunk = []
                chunk.append(decode(envelope))
            if chunk:
                yield chunk
        self.conn.commit()

    def close(self) -> None:
        if self._side is not None:
            self._side.close()
        self.conn.close()
