"""``casetrack replay``: rebuild a projection beside the live one, then swap it in atomically.

Analysts read views that join ``casetrack.live_generations``, so a new generation is invisible while it is
built. The swap is one transaction that locks the family's ``live_generations`` row ``FOR UPDATE``: live
consumers take that row ``FOR SHARE`` at the start of every batch, so while the swap holds it their positions
cannot move. Inside the lock the new generation is brought to (at least) the live positions, then the row
is pointed at it. Live consumers get ``Fenced`` on their next batch and continue from the new generation's
positions. The views therefore go from the complete old generation to a complete, at-least-as-recent new
one; they are never empty or half built. Retired rows are deleted afterwards, in small batches.

Sources:

* ``kafka``: a runner with a fixed generation reads the family's topic from the beginning. It refuses when
  retention has deleted the start of a partition (use ``event-store``).
* ``event-store``: every stored event of the family is folded subject by subject. The store is read up to a
  *cut*: the highest ``seq`` taken while holding the lock, so no live batch is half-way. Subjects with
  events above the cut are folded again (in rounds, the last one inside the swap transaction), and the new
  generation takes over the live generation's positions.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal, cast

import psycopg2
import psycopg2.extensions
from psycopg2 import sql

from app.bootstrap import Endpoints, build_codec, build_projections, build_runner, topic_families
from app.settings import Settings
from consumers.dlq import ListDeadLetterSink
from consumers.pg_store import PgStore, PgStoreTx
from consumers.ports import TP
from consumers.runner import ProjectionRunner
from events.catalog import Aggregate
from ops.broker_loss import broker_offsets, mismatch_message, mismatched, restart_at_broker
from ops.rebuild import build_from_event_store, bulk_from_kafka, save_folded
from projections.base import Projection

log = logging.getLogger("casetrack.replay")
Source = Literal["kafka", "event-store"]
Progress = Callable[[str, int, int], None]  # (phase, done, total)
FAMILIES = ("case", "supervision", "rectification")
_LOCK_CLASS = 0x63_74  # pg advisory lock class: one replay per family at a time


class ReplayError(RuntimeError):
    """The replay cannot proceed; the message says why and what to do. The live generation is untouched."""


@dataclass
class ReplayReport:
    """What one family's replay did."""

    family: str
    source: Source
    generation: int
    previous: int = 0
    events: int = 0
    build_seconds: float = 0.0
    swap_seconds: float = 0.0  # time the live row was locked (live consumers paused)
    deleted_rows: int = 0
    cleanup_seconds: float = 0.0  # deleting the retired generation's rows, after the swap
    total_seconds: float = 0.0  # everything, from the lock to the end of the clean-up
    broker_behind: list[TP] = field(default_factory=list)


def replay(
    settings: Settings,
    endpoints: Endpoints,
    families: Sequence[str] = FAMILIES,
    source: Source = "kafka",
    progress: Progress | None = None,
    *,
    accept_broker_loss: bool = False,
    keep_retired: bool = False,
    swap_timeout_seconds: float = 30.0,
    delete_batch: int = 5000,
    workers: int = 1,
) -> list[ReplayReport]:
    """Rebuild ``families`` one after the other; returns a report per family. ``workers`` processes fold in
    parallel: over partitions from Kafka, over slices of the aggregates from the event store (:mod:`ops.rebuild`)."""
    projections = build_projections(settings)
    unknown = [f for f in families if f not in projections]
    if unknown:
        raise ReplayError(f"no projection for {', '.join(unknown)} (known: {', '.join(projections)})")
    reports = []
    for family in families:
        builder = _Builder(
            settings, endpoints, family, projections[family], progress or (lambda *_: None), workers
        )
        reports.append(
            builder.run(source, accept_broker_loss, keep_retired, swap_timeout_seconds, delete_batch)
        )
    return reports


class _Builder:
    def __init__(
        self,
        settings: Settings,
        ep: Endpoints,
        family: str,
        projection: Projection[Any],
        progress: Progress,
        workers: int,
    ) -> None:
        self.settings, self.ep, self.proj, self.progress, self.workers = (
            settings,
            ep,
            projection,
            progress,
            workers,
        )
        self.family = cast(Aggregate, family)
        self.topic = next(t for t, f in topic_families(settings).items() if f == family)
        self.table = sql.Identifier(*projection.table.split("."))
        self.key = sql.Identifier(projection.columns[0])
        self.ctl: Any = psycopg2.connect(ep.database_url, application_name="casetrack-replay")

    def run(
        self, source: Source, accept_loss: bool, keep_retired: bool, swap_timeout: float, delete_batch: int
    ) -> ReplayReport:
        try:
            self._lock_family()
            gen = self._new_generation(source)
            report = ReplayReport(self.family, source, gen)
            t0 = time.monotonic()
            try:
                if source == "kafka":
                    self._from_kafka(report, accept_loss, swap_timeout)
                else:
                    self._from_event_store(report, accept_loss)
            except BaseException:
                self._abandon(gen, delete_batch)
                raise
            report.build_seconds = time.monotonic() - t0 - report.swap_seconds
            if not keep_retired:
                t1 = time.monotonic()
                report.deleted_rows = self._delete_generation(report.previous, delete_batch)
                report.cleanup_seconds = time.monotonic() - t1
            report.total_seconds = time.monotonic() - t0
            log.info("replayed %s: generation %d replaces %d", self.family, gen, report.previous)
            return report
        finally:
            self.ctl.close()

    # -- bookkeeping -----------------------------------------------------------------------------------
    def _lock_family(self) -> None:
        self.ctl.autocommit = True
        with self.ctl.cursor() as cur:
            cur.execute("SELECT pg_try_advisory_lock(%s, %s)", (_LOCK_CLASS, FAMILIES.index(self.family)))
            if not cur.fetchone()[0]:
                raise ReplayError(f"another replay of {self.family} is running")
        self.ctl.autocommit = False

    def _new_generation(self, source: Source) -> int:
        with self.ctl, self.ctl.cursor() as cur:
            cur.execute(
                "INSERT INTO casetrack.generations (projection, source, status) VALUES (%s, %s, 'building')"
                " RETURNING generation",
                (self.family, source.replace("-", "_")),
            )
            return int(cur.fetchone()[0])

    @contextmanager
    def _locked(self) -> Iterator[tuple[Any, int]]:
        """A transaction holding the family's live row FOR UPDATE; yields (cursor, live generation)."""
        with self.ctl, self.ctl.cursor() as cur:
            cur.execute("SET LOCAL lock_timeout = '60s'")
            cur.execute(
                "SELECT generation FROM casetrack.live_generations WHERE projection = %s FOR UPDATE",
                (self.family,),
            )
            row = cur.fetchone()
            if row is None:
                raise ReplayError(f"no live generation for {self.family}: run `casetrack migrate`")
            yield cur, int(row[0])

    def _swap(self, cur: Any, old: int, new: int) -> None:
        cur.execute(
            "UPDATE casetrack.live_generations SET generation = %s WHERE projection = %s", (new, self.family)
        )
        cur.execute(
            "UPDATE casetrack.generations SET status = 'retired', retired_at = now() WHERE generation = %s",
            (old,),
        )
        cur.execute(
            "UPDATE casetrack.generations SET status = 'live', swapped_at = now() WHERE generation = %s",
            (new,),
        )

    @staticmethod
    def _positions(cur: Any, generation: int) -> dict[TP, int]:
        cur.execute(
            "SELECT topic, partition, next_offset FROM casetrack.tracking WHERE generation = %s",
            (generation,),
        )
        return {(t, p): int(o) for t, p, o in cur.fetchall()}

    def _abandon(self, gen: int, batch: int) -> None:
        log.warning("replay of %s failed: abandoning generation %d", self.family, gen)
        try:
            self.ctl.rollback()
            with self.ctl, self.ctl.cursor() as cur:
                cur.execute(
                    "UPDATE casetrack.generations SET status = 'abandoned', retired_at = now()"
                    " WHERE generation = %s AND status = 'building'",
                    (gen,),
                )
                abandoned = cur.rowcount == 1  # not if the swap had committed already
            if abandoned:
                self._delete_generation(gen, batch)
        except psycopg2.Error as exc:  # report the original failure, not the cleanup's
            log.error("could not clean up generation %d: %s", gen, exc)

    def _delete_generation(self, gen: int, batch: int) -> int:
        """Delete a non-live generation's rows in small transactions (no long lock on the table)."""
        deleted = 0
        with self.ctl, self.ctl.cursor() as cur:
            cur.execute(
                sql.SQL("SELECT count(*) FROM {t} WHERE generation = %s").format(t=self.table), (gen,)
            )
            total = int(cur.fetchone()[0])
        self.progress("cleanup", 0, total)
        stmt = sql.SQL(
            "DELETE FROM {t} WHERE generation = %s AND {k} IN (SELECT {k} FROM {t} WHERE generation = %s LIMIT %s)"
        ).format(t=self.table, k=self.key)
        while True:
            with self.ctl, self.ctl.cursor() as cur:
                cur.execute(
                    "SELECT 1 FROM casetrack.live_generations WHERE generation = %s", (gen,)
                )  # never delete what analysts see
                if cur.fetchone() is not None:
                    raise ReplayError(f"generation {gen} is live")
                cur.execute(stmt, (gen, gen, batch))
                n = int(cur.rowcount)
            deleted += n
            self.progress("cleanup", deleted, max(total, deleted))
            if n < batch:
                break
        with self.ctl, self.ctl.cursor() as cur:
            cur.execute("DELETE FROM casetrack.tracking WHERE generation = %s", (gen,))
        return deleted

    # -- from Kafka ------------------------------------------------------------------------------------
    def _from_kafka(self, report: ReplayReport, accept_loss: bool, swap_timeout: float) -> None:
        options: dict[str, Any] = dict(
            follow_live=False, generations={self.family: report.generation},
            dead_letters=ListDeadLetterSink(), topics={self.topic: self.family},
        )  # fmt: skip
        runner = build_runner(self.settings, self.ep, **options)
        try:
            runner.start()
            begin = dict(runner.positions)
            trimmed = sorted(tp for tp, o in begin.items() if o > 0)
            if trimmed:
                raise ReplayError(
                    "retention has deleted the start of "
                    + ", ".join(f"{t}[{p}]" for t, p in trimmed)
                    + ": a rebuild from Kafka would miss those events; use `--from event-store`"
                )
            if self.workers > 1:
                runner = bulk_from_kafka(
                    self.settings, self.ep, runner, begin, self.workers, options,
                    self._built_progress(report.generation, begin),
                )  # fmt: skip
            self._catch_up(runner, begin, report)
            for _attempt in range(5):
                if self._swap_kafka(runner, begin, report, accept_loss, swap_timeout):
                    return
                log.info("the live consumers moved ahead during the swap window; catching up again")
                self._catch_up(runner, begin, report)
            raise ReplayError("could not catch up with the live consumers within the swap window (5 tries)")
        finally:
            runner.close()

    def _built_progress(self, generation: int, begin: dict[TP, int]) -> Callable[[int], None]:
        def progress(total: int) -> None:  # positions the rebuild workers have committed, from the database
            with self.ctl, self.ctl.cursor() as cur:
                done = sum(self._positions(cur, generation).values()) - sum(begin.values())
            self.progress("build", done, max(total, done))

        return progress

    def _catch_up(self, runner: ProjectionRunner, begin: dict[TP, int], report: ReplayReport) -> None:
        """Read until (nearly) caught up. Under steady traffic the end keeps moving, so "close enough" is a
        small remainder: the swap finishes it against the live positions, which the lock freezes."""
        near = min(1000, runner.config.max_batch_records)
        while True:
            n = runner.step()
            report.events = runner.totals.applied
            self._kafka_progress(runner, begin)
            if n == 0 and runner.caught_up():
                return
            ends = {tp: runner.source.highwater(tp) for tp in runner.positions}
            if all(hw is not None for hw in ends.values()):
                if sum(max(0, (ends[tp] or 0) - pos) for tp, pos in runner.positions.items()) <= near:
                    return

    def _kafka_progress(self, runner: ProjectionRunner, begin: dict[TP, int]) -> None:
        done = sum(pos - begin[tp] for tp, pos in runner.positions.items())
        total = sum(
            max((runner.source.highwater(tp) or 0), pos) - begin[tp] for tp, pos in runner.positions.items()
        )
        self.progress("build", done, total)

    def _swap_kafka(
        self,
        runner: ProjectionRunner,
        begin: dict[TP, int],
        report: ReplayReport,
        accept_loss: bool,
        timeout: float,
    ) -> bool:
        with self._locked() as (cur, old):
            t0 = time.monotonic()
            live = self._positions(cur, old)
            empty_polls = 0
            # The rebuild runner commits on its own connection and takes no lock (fixed generation), so it
            # can advance while we hold the live row; the live positions cannot.
            while True:
                behind = sorted(tp for tp, pos in live.items() if runner.positions.get(tp, 0) < pos)
                if not behind:
                    break
                n = runner.step()
                self._kafka_progress(runner, begin)
                empty_polls = empty_polls + 1 if n == 0 and runner.caught_up() else 0
                if empty_polls >= 3:  # the broker holds less than the live generation consumed
                    if not accept_loss:
                        raise ReplayError(
                            "the broker holds fewer events than the live generation consumed ("
                            + ", ".join(
                                f"{t}[{p}] {runner.positions.get((t, p), 0)} < {live[(t, p)]}"
                                for t, p in behind
                            )
                            + "): it lost data. Rebuild with `--from event-store`, or pass --accept-broker-loss to"
                            " follow the broker (the lost events leave the projection)"
                        )
                    report.broker_behind = behind
                    log.warning(
                        "following the broker: it lost data on %s", ", ".join(f"{t}[{p}]" for t, p in behind)
                    )
                    break
                if time.monotonic() - t0 > timeout:
                    self.ctl.rollback()
                    return False
            stored = self._positions(cur, report.generation)  # what the rebuild committed, seen in this tx
            short = [tp for tp, pos in live.items() if tp not in behind and stored.get(tp, 0) < pos]
            if short:
                raise ReplayError(f"internal: the new generation's stored positions lag on {short}")
            self._swap(cur, old, report.generation)
            report.previous = old
            report.events = runner.totals.applied
        report.swap_seconds = time.monotonic() - t0
        done = sum(pos - begin[tp] for tp, pos in runner.positions.items())
        self.progress("build", done, done)  # complete: the live consumers take it from here
        return True

    # -- from the event store --------------------------------------------------------------------------
    def _from_event_store(self, report: ReplayReport, accept_loss: bool) -> None:
        # Positions first, then the broker: a partition's end only grows, so under live traffic a position read
        # before the probe is never past the probed end unless the broker lost data. Checked before the
        # build, so that a refusal costs nothing.
        with self.ctl, self.ctl.cursor() as cur:
            live = self._positions(cur, self._live_generation(cur))
        held = broker_offsets(self.settings, self.ep, self.topic)
        lost = mismatched(live, held)
        if lost and not accept_loss:
            raise ReplayError(mismatch_message(live, held))
        writer = PgStore(
            self.ep.database_url, build_codec(self.settings), application_name="casetrack-replay"
        )
        try:
            with self._locked() as (cur, _old):
                cut = self._max_seq(cur)  # with the lock: nothing at or below it is still uncommitted
                cur.execute("SELECT count(*) FROM casetrack.event_store WHERE aggregate = %s", (self.family,))
                total = int(cur.fetchone()[0])
            report.events = build_from_event_store(
                self.settings, self.ep, self.family, report.generation, self.workers,
                lambda done: self.progress("build", done, max(total, done)),
            )  # fmt: skip
            # Catch up in rounds outside the lock while the delta is large, then once more inside it.
            for _round in range(5):
                with self._locked() as (cur, _old):
                    new_cut = self._max_seq(cur)
                with writer.conn, writer.conn.cursor() as wcur:
                    subjects = self._subjects_after(wcur, cut, new_cut)
                self._refold(writer, report.generation, subjects)
                cut = new_cut
                if len(subjects) <= 1000:
                    break
            with self._locked() as (cur, old):
                t0 = time.monotonic()
                subjects = self._subjects_after(cur, cut, None)
                self._refold_in(PgStoreTx(self.ctl, writer.codec), report.generation, subjects)
                cur.execute(
                    "INSERT INTO casetrack.tracking (generation, topic, partition, next_offset, last_event_time)"
                    " SELECT %s, topic, partition, next_offset, last_event_time FROM casetrack.tracking"
                    " WHERE generation = %s",
                    (report.generation, old),
                )
                restart_at_broker(cur, report.generation, held, lost)
                report.broker_behind = sorted(lost)
                self._swap(cur, old, report.generation)
                report.previous = old
            report.swap_seconds = time.monotonic() - t0
        finally:
            writer.close()

    def _live_generation(self, cur: Any) -> int:
        cur.execute("SELECT generation FROM casetrack.live_generations WHERE projection = %s", (self.family,))
        row = cur.fetchone()
        if row is None:
            raise ReplayError(f"no live generation for {self.family}: run `casetrack migrate`")
        return int(row[0])

    def _max_seq(self, cur: Any) -> int:
        cur.execute(
            "SELECT coalesce(max(seq), 0) FROM casetrack.event_store WHERE aggregate = %s", (self.family,)
        )
        return int(cur.fetchone()[0])

    def _subjects_after(self, cur: Any, after: int, upto: int | None) -> list[str]:
        cur.execute(
            "SELECT DISTINCT subject FROM casetrack.event_store WHERE aggregate = %s AND seq > %s"
            " AND seq <= coalesce(%s::bigint, 9223372036854775807)",
            (self.family, after, upto),
        )
        return [r[0] for r in cur.fetchall()]

    def _refold(self, store: PgStore, generation: int, subjects: list[str]) -> None:
        for i in range(0, len(subjects), 2000):
            with store.transaction() as tx:
                self._refold_in(tx, generation, subjects[i : i + 2000])

    def _refold_in(self, tx: PgStoreTx, generation: int, subjects: list[str]) -> None:
        if subjects:
            history = tx.load_history(self.family, subjects)
            save_folded(tx, self.proj, generation, [e for s in subjects for e in history.get(s, [])])
