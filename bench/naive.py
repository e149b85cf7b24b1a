"""The baseline: a naive consumer that does one PostgreSQL transaction per event.

It uses the same codec, the same projections (fold, row, dump/load), the same tables and the same semantics as
the real consumer (dedup by event id through the event store, dead letters to ``<topic>.dlq``, late events
re-folded from the stored history, positions stored with the rows), but it handles each record on its own:
decode, BEGIN, insert into the event store, read the state row, fold one event, upsert the row, store the
position, COMMIT. This is what a straightforward consumer looks like, and the benchmark's ratio is measured
against it. Statements are plain parameterised single-row ones (cheaper per event than the real consumer's
COPY path would be), so the baseline is not handicapped.

    python -m bench.naive --max-records 20000     # reads CASETRACK_* settings like `casetrack consume`
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
from typing import Any

import psycopg2
from kafka import KafkaConsumer, TopicPartition
from psycopg2 import sql

from app import bootstrap
from app.settings import Settings, load_settings
from consumers.dlq import KafkaDeadLetterSink
from consumers.pg_store import row_to_event
from consumers.ports import DeadLetter
from events.catalog import Event
from events.codec import DecodeError, Record
from projections.base import Projection


class NaiveConsumer:
    """One transaction per record; see the module docstring."""

    def __init__(self, settings: Settings, database_url: str, bootstrap_servers: str) -> None:
        self.codec = bootstrap.build_codec(settings)
        self.projections: dict[str, Projection[Any]] = bootstrap.build_projections(settings)
        self.topics = {t: f for t, f in bootstrap.topic_families(settings).items() if f in self.projections}
        self.conn = psycopg2.connect(database_url, application_name="casetrack-naive")
        self.dlq = KafkaDeadLetterSink(bootstrap.make_producer(settings, bootstrap_servers))
        self.kafka = KafkaConsumer(
            bootstrap_servers=bootstrap_servers.split(","),
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            group_id=None,
            **settings.kafka_security.client_options(),
        )
        self.generations: dict[str, int] = {}
        self.positions: dict[tuple[str, int], int | None] = {}

    def start(self) -> None:
        with self.conn.cursor() as cur:
            for family in set(self.topics.values()):
                cur.execute(
                    "SELECT generation FROM casetrack.live_generations WHERE projection = %s", (family,)
                )
                row = cur.fetchone()
                assert row is not None, "run `casetrack migrate` first"
                self.generations[family] = int(row[0])
            cur.execute("SELECT topic, partition, next_offset FROM casetrack.tracking")
            stored = {(t, p): o for t, p, o in cur.fetchall()}
        self.conn.commit()
        tps = [
            TopicPartition(t, p)
            for t in self.topics
            for p in sorted(self.kafka.partitions_for_topic(t) or ())
        ]
        self.kafka.assign(tps)
        for tp in tps:
            self.positions[(tp.topic, tp.partition)] = stored.get((tp.topic, tp.partition))
            if (tp.topic, tp.partition) in stored:
                self.kafka.seek(tp, stored[(tp.topic, tp.partition)])
            else:
                self.kafka.seek_to_beginning(tp)

    def run(self, max_records: int, idle_seconds: float = 3.0) -> int:
        """Handle up to ``max_records`` records (stops earlier once nothing arrives for ``idle_seconds``)."""
        done = 0
        idle_since = time.monotonic()
        while done < max_records:
            batch = self.kafka.poll(timeout_ms=200, max_records=min(500, max_records - done))
            if not batch:
                if time.monotonic() - idle_since > idle_seconds:
                    break
                continue
            idle_since = time.monotonic()
            for tp, records in batch.items():
                for r in records:
                    rec = Record(tp.topic, tp.partition, r.offset, r.key, r.value, tuple(r.headers or ()))
                    self.handle(rec)
                    done += 1
        return done

    # -- one record, one transaction -------------------------------------------------------------------
    def handle(self, rec: Record) -> None:
        try:
            with self.conn.cursor() as cur:
                try:
                    event = self.codec.decode(rec)
                except DecodeError as exc:
                    self._dead_letter(cur, DeadLetter(rec.topic, rec.partition, rec.offset, exc.reason, exc.detail,
                                                      rec.key, rec.value, rec.headers))  # fmt: skip
                else:
                    self._apply(cur, rec, event)
                self._advance(cur, rec)
            self.conn.commit()
        except BaseException:
            self.conn.rollback()
            raise

    def _dead_letter(self, cur: Any, letter: DeadLetter) -> None:
        cur.execute(
            'INSERT INTO casetrack.dead_letters (topic, partition, "offset", reason, detail, event_id, event_type)'
            " VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
            (letter.topic, letter.partition, letter.offset, letter.reason, letter.detail, letter.event_id,
             letter.event_type),
        )  # fmt: skip
        self.dlq.publish([letter])

    def _apply(self, cur: Any, rec: Record, event: Event) -> None:
        cur.execute(
            "INSERT INTO casetrack.event_store (event_id, aggregate, subject, type, time, schemaversion, source,"
            ' data, topic, partition, "offset") VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)'
            " ON CONFLICT (event_id) DO NOTHING",
            (event.id, event.aggregate, event.subject, event.type, event.time, event.schemaversion, event.source,
             event.data.model_dump_json(exclude_none=True), rec.topic, rec.partition, rec.offset),
        )  # fmt: skip
        if cur.rowcount == 0:  # stored before: a duplicate, or the id is taken by another aggregate
            cur.execute(
                "SELECT aggregate, subject FROM casetrack.event_store WHERE event_id = %s", (event.id,)
            )
            owner = cur.fetchone()
            if owner is not None and tuple(owner) != (event.aggregate, event.subject):
                self._dead_letter(cur, DeadLetter(
                    rec.topic, rec.partition, rec.offset, "id_conflict",
                    "this event id is already stored for a different aggregate",
                    event_id=event.id, event_type=event.type,
                ))  # fmt: skip
            return
        proj = self.projections[event.aggregate]
        gen = self.generations[event.aggregate]
        key_col = proj.columns[0]
        cur.execute(
            sql.SQL("SELECT fold_state, applied_ids, last_time, last_id FROM {} WHERE generation = %s AND {} = %s"
                    " FOR UPDATE").format(sql.SQL(proj.table), sql.Identifier(key_col)),
            (gen, event.subject),
        )  # fmt: skip
        row = cur.fetchone()
        if row is not None and event.sort_key < (row[2], row[3]):
            # A late event: fold the aggregate again from its stored history, in order.
            cur.execute(
                "SELECT subject, event_id, source, type, time, schemaversion, data FROM casetrack.event_store"
                " WHERE aggregate = %s AND subject = %s ORDER BY time, event_id",
                (event.aggregate, event.subject),
            )
            state = proj.initial(event.subject)
            for subject, *rest in cur.fetchall():
                state = proj.apply(state, row_to_event(subject, *rest, codec=self.codec))
            last = (row[2], row[3])
        else:
            state = proj.load(row[0]) if row is not None else proj.initial(event.subject)
            state = proj.apply(state, event)
            last = event.sort_key
        applied = [*(row[1] if row is not None else ()), event.id]
        # psycopg2 sends a tuple as a record: array columns (co_departments, ...) must travel as lists.
        values = [list(v) if isinstance(v, tuple) else v for v in proj.row(state, dt.datetime.now(dt.UTC))]
        _upsert(cur, proj, [gen, *values, applied, last[0], last[1], proj.dump(state)])

    def _advance(self, cur: Any, rec: Record) -> None:
        tp = (rec.topic, rec.partition)
        gen = self.generations[self.topics[rec.topic]]
        cur.execute(
            "INSERT INTO casetrack.tracking (generation, topic, partition, next_offset) VALUES (%s, %s, %s, %s)"
            " ON CONFLICT (generation, topic, partition) DO UPDATE SET next_offset = EXCLUDED.next_offset,"
            " updated_at = now()",
            (gen, rec.topic, rec.partition, rec.offset + 1),
        )
        self.positions[tp] = rec.offset + 1

    def close(self) -> None:
        self.kafka.close(autocommit=False)
        self.dlq.close()
        self.conn.close()


def _upsert(cur: Any, proj: Any, row: list[Any]) -> None:
    """One state row, inserted or updated in place (one statement per event: the naive way)."""
    cols = ["generation", *proj.columns, "applied_ids", "last_time", "last_id", "fold_state"]
    cur.execute(
        sql.SQL("INSERT INTO {t} ({c}) VALUES ({v}) ON CONFLICT (generation, {k}) DO UPDATE SET {u}").format(
            t=sql.SQL(proj.table),
            c=sql.SQL(",").join(map(sql.Identifier, cols)),
            v=sql.SQL(",").join(sql.Placeholder() * len(cols)),
            k=sql.Identifier(proj.columns[0]),
            u=sql.SQL(",").join(sql.SQL("{c} = EXCLUDED.{c}").format(c=sql.Identifier(c)) for c in cols[2:]),
        ),
        row,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--max-records", type=int, default=20_000)
    args = parser.parse_args(argv)
    settings = load_settings()
    ep = bootstrap.resolve_endpoints(settings, start=False)
    bootstrap.require_schema(ep.database_url)
    consumer = NaiveConsumer(settings, ep.database_url, ep.kafka_bootstrap)
    try:
        consumer.start()
        t0 = time.perf_counter()
        n = consumer.run(args.max_records)
        seconds = time.perf_counter() - t0
    finally:
        consumer.close()
    print(json.dumps({"records": n, "seconds": round(seconds, 3), "per_second": round(n / seconds, 1)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
