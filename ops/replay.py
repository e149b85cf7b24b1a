"""``casetrack replay``: rebuild a projection beside the live one, then swap it in atomically.

A new generation is folded from Kafka (``kafka``) or from the event store (``event-store``) while analysts keep
reading the live one; the swap is one transaction on the family's ``live_generations`` row, so the views go
from one complete generation to a complete, at-least-as-recent one. The bookkeeping goes through the
:class:`ops.generations.Generations` port; :func:`replace_generation` and :func:`fold_and_swap` run on any
adapter. How and why: docs/architecture.md, "Replay and the generation swap".
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from app.bootstrap import Endpoints, build_codec, build_projections, build_runner, topic_families
from app.settings import Settings
from consumers.dlq import ListDeadLetterSink
from consumers.ports import TP, StoreError, StoreTx
from consumers.runner import ProjectionRunner
from ops.broker_loss import broker_offsets, mismatch_message, mismatched, restart_positions
from ops.generations import FAMILIES, GenerationLive, Generations, Source
from ops.rebuild import build_from_event_store, bulk_from_kafka, save_folded
from projections.base import Projection

__all__ = [
    "FAMILIES",
    "ReplayError",
    "ReplayReport",
    "Source",
    "fold_and_swap",
    "replace_generation",
    "replay",
]
log = logging.getLogger("casetrack.replay")
Progress = Callable[[str, int, int], None]  # (phase, done, total)


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
    generations: Generations | None = None,
    accept_broker_loss: bool = False,
    keep_retired: bool = False,
    swap_timeout_seconds: float = 30.0,
    delete_batch: int = 5000,
    workers: int = 1,
) -> list[ReplayReport]:
    """Rebuild ``families`` one after the other; returns a report per family. ``workers`` processes fold in
    parallel: over partitions from Kafka, over slices of the aggregates from the event store (:mod:`ops.rebuild`).
    ``generations``: the port (the caller keeps it open); None opens the PostgreSQL adapter for this call."""
    projections = build_projections(settings)
    unknown = [f for f in families if f not in projections]
    if unknown:
        raise ReplayError(f"no projection for {', '.join(unknown)} (known: {', '.join(projections)})")
    gens = generations if generations is not None else _open_generations(settings, endpoints)
    say = progress or (lambda *_: None)
    reports = []
    try:
        for family in families:
            builder = _Builder(settings, endpoints, gens, projections[family], say, workers)
            build = (
                (lambda r, b=builder: b.from_kafka(r, accept_broker_loss, swap_timeout_seconds))
                if source == "kafka"
                else (lambda r, b=builder: b.from_event_store(r, accept_broker_loss))
            )
            reports.append(
                replace_generation(gens, projections[family], source, build, say, keep_retired, delete_batch)
            )
    finally:
        if generations is None:
            gens.close()
    return reports


def _open_generations(settings: Settings, endpoints: Endpoints) -> Generations:
    from ops.pg_generations import PgGenerations  # the default adapter (callers may pass their own)

    return PgGenerations(endpoints.database_url, build_codec(settings), application_name="casetrack-replay")


# -- the bookkeeping, on the port --------------------------------------------------------------------------
def replace_generation(
    gens: Generations,
    proj: Projection[Any],
    source: Source,
    build: Callable[[ReplayReport], None],
    progress: Progress,
    keep_retired: bool = False,
    delete_batch: int = 5000,
) -> ReplayReport:
    """One family's replay around ``build``, which fills the new generation and swaps it in (setting
    ``report.previous``): take the family's lock, create the generation, and afterwards delete the retired one;
    if ``build`` fails, the new generation is abandoned and its rows deleted (the live one is untouched)."""
    family = proj.family
    if not gens.try_lock(family):
        raise ReplayError(f"another replay of {family} is running")
    try:
        if gens.live(family) is None:
            raise ReplayError(f"no live generation for {family}: run `casetrack migrate`")
        gen = gens.create(family, source)
        report = ReplayReport(family, source, gen)
        t0 = time.monotonic()
        try:
            build(report)
        except BaseException:
            _abandon(gens, proj, gen, delete_batch, progress)
            raise
        report.build_seconds = time.monotonic() - t0 - report.swap_seconds
        if not keep_retired:
            t1 = time.monotonic()
            report.deleted_rows = _delete_generation(gens, proj, report.previous, delete_batch, progress)
            report.cleanup_seconds = time.monotonic() - t1
        report.total_seconds = time.monotonic() - t0
        log.info("replayed %s: generation %d replaces %d", family, gen, report.previous)
        return report
    finally:
        try:
            gens.unlock(family)
        except StoreError as exc:  # the session is gone, and its lock with it
            log.warning("could not release the replay lock of %s: %s", family, exc)


def _abandon(gens: Generations, proj: Projection[Any], gen: int, batch: int, progress: Progress) -> None:
    log.warning("replay of %s failed: abandoning generation %d", proj.family, gen)
    try:
        if gens.abandon(gen):  # not if the swap had committed already
            _delete_generation(gens, proj, gen, batch, progress)
    except StoreError as exc:  # report the original failure, not the cleanup's
        log.error("could not clean up generation %d: %s", gen, exc)


def _delete_generation(
    gens: Generations, proj: Projection[Any], gen: int, batch: int, progress: Progress
) -> int:
    """Delete a non-live generation's rows in small transactions (no long lock on the table)."""
    total = gens.count_rows(proj.table, gen)
    progress("cleanup", 0, total)
    deleted = 0
    while True:
        try:
            n = gens.delete_rows(proj.table, proj.columns[0], gen, batch)
        except GenerationLive as exc:  # never delete what analysts see
            raise ReplayError(str(exc)) from None
        deleted += n
        progress("cleanup", deleted, max(total, deleted))
        if n < batch:
            break
    gens.forget_positions(gen)
    return deleted


def fold_and_swap(
    gens: Generations,
    proj: Projection[Any],
    report: ReplayReport,
    cut: int,
    restart: Mapping[TP, int] | None = None,
) -> None:
    """Finish an event-store build whose bulk folded every event up to ``cut``: refold the subjects with later
    events (in rounds while many, the last inside the swap window), give the new generation the live positions
    (``restart`` overrides some, after broker loss) and swap it in."""
    family = proj.family
    for _round in range(5):
        with gens.window(family) as w:
            new_cut = w.max_seq()  # with the lock: nothing at or below it is still uncommitted
        subjects = gens.subjects_after(family, cut, new_cut)
        for i in range(0, len(subjects), 2000):
            with gens.transaction() as tx:
                _refold_in(tx, proj, report.generation, subjects[i : i + 2000])
        cut = new_cut
        if len(subjects) <= 1000:
            break
    with gens.window(family) as w:
        t0 = time.monotonic()
        _refold_in(w.store_tx(), proj, report.generation, w.subjects_after(cut, None))
        w.copy_positions(w.live, report.generation)
        if restart:
            w.set_positions(report.generation, restart)
        w.swap(report.generation)
        report.previous = w.live
    report.swap_seconds = time.monotonic() - t0


def _refold_in(tx: StoreTx, proj: Projection[Any], generation: int, subjects: list[str]) -> None:
    if subjects:
        history = tx.load_history(proj.family, subjects)
        save_folded(tx, proj, generation, [e for s in subjects for e in history.get(s, [])])


# -- the sources --------------------------------------------------------------------------------------------
class _Builder:
    def __init__(
        self,
        settings: Settings,
        ep: Endpoints,
        gens: Generations,
        projection: Projection[Any],
        progress: Progress,
        workers: int,
    ) -> None:
        self.settings, self.ep, self.gens, self.proj = settings, ep, gens, projection
        self.progress, self.workers = progress, workers
        self.family = projection.family
        self.topic = next(t for t, f in topic_families(settings).items() if f == self.family)

    # -- from Kafka ------------------------------------------------------------------------------------
    def from_kafka(self, report: ReplayReport, accept_loss: bool, swap_timeout: float) -> None:
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
            done = sum(self.gens.positions(generation).values()) - sum(begin.values())
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
        with self.gens.window(self.family) as w:
            t0 = time.monotonic()
            live = w.positions(w.live)
            behind = self._reach(runner, begin, live, report, accept_loss, t0 + timeout)
            if behind is None:
                return False  # the window ends having changed nothing
            stored = w.positions(report.generation)  # what the rebuild committed, seen in this tx
            short = [tp for tp, pos in live.items() if tp not in behind and stored.get(tp, 0) < pos]
            if short:
                raise ReplayError(f"internal: the new generation's stored positions lag on {short}")
            w.swap(report.generation)
            report.previous = w.live
            report.events = runner.totals.applied
        report.swap_seconds = time.monotonic() - t0
        done = sum(pos - begin[tp] for tp, pos in runner.positions.items())
        self.progress("build", done, done)  # complete: the live consumers take it from here
        return True

    def _reach(
        self,
        runner: ProjectionRunner,
        begin: dict[TP, int],
        live: dict[TP, int],
        report: ReplayReport,
        accept_loss: bool,
        deadline: float,
    ) -> list[TP] | None:
        """Step the rebuild runner up to the (frozen) live positions. The rebuild runner commits on its own
        connection and takes no lock (fixed generation), so it can advance while the window holds the live
        row. Returns the partitions the broker cannot bring it to (followed with ``accept_loss``), or None if
        the deadline passed."""
        empty_polls = 0
        while True:
            behind = sorted(tp for tp, pos in live.items() if runner.positions.get(tp, 0) < pos)
            if not behind:
                return behind
            n = runner.step()
            self._kafka_progress(runner, begin)
            empty_polls = empty_polls + 1 if n == 0 and runner.caught_up() else 0
            if empty_polls >= 3:  # the broker holds less than the live generation consumed
                if not accept_loss:
                    raise ReplayError(
                        "the broker holds fewer events than the live generation consumed ("
                        + ", ".join(
                            f"{t}[{p}] {runner.positions.get((t, p), 0)} < {live[(t, p)]}" for t, p in behind
                        )
                        + "): it lost data. Rebuild with `--from event-store`, or pass --accept-broker-loss to"
                        " follow the broker (the lost events leave the projection)"
                    )
                report.broker_behind = behind
                log.warning(
                    "following the broker: it lost data on %s", ", ".join(f"{t}[{p}]" for t, p in behind)
                )
                return behind
            if time.monotonic() > deadline:
                return None

    # -- from the event store --------------------------------------------------------------------------
    def from_event_store(self, report: ReplayReport, accept_loss: bool) -> None:
        # Positions first, then the broker: a partition's end only grows, so under live traffic a position read
        # before the probe is never past the probed end unless the broker lost data. Checked before the
        # build, so that a refusal costs nothing.
        live = self.gens.positions(self.gens.live(self.family) or 0)
        held = broker_offsets(self.settings, self.ep, self.topic)
        lost = mismatched(live, held)
        if lost and not accept_loss:
            raise ReplayError(mismatch_message(live, held))
        with self.gens.window(self.family) as w:
            cut = w.max_seq()  # with the lock: nothing at or below it is still uncommitted
            total = w.count_events()
        report.events = build_from_event_store(
            self.settings, self.ep, self.family, report.generation, self.workers,
            lambda done: self.progress("build", done, max(total, done)),
        )  # fmt: skip
        fold_and_swap(self.gens, self.proj, report, cut, restart_positions(held, lost))
        report.broker_behind = sorted(lost)
