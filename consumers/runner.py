"""The projection consumer loop: poll a batch, decode, dead-letter the invalid, fold, commit atomically.

One batch is one store transaction (event store, projection rows, dead letters, positions by compare-and-set);
dead letters are flushed to ``<topic>.dlq`` before it commits. Retries (:mod:`consumers.retry`), fencing and
rebalances (:mod:`consumers.rebalance`) are described in docs/architecture.md ("How a batch is processed").
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from itertools import groupby
from operator import attrgetter
from typing import NamedTuple, Protocol

from consumers.dlq import DeadLetterSink
from consumers.engine import BatchResult, FoldEngine
from consumers.ports import (
    TP,
    DeadLetter,
    Fenced,
    PositionUpdate,
    RecordSource,
    Store,
    StoredEvent,
    StoreTx,
    TransientStoreError,
)
from consumers.process_tuning import tune_process
from consumers.rebalance import RebalanceHandoff
from consumers.retry import Backoff
from consumers.stats import BatchStats as BatchStats  # re-exported: callers import them from here
from consumers.stats import Observer as Observer
from consumers.stats import RunTotals as RunTotals
from events.catalog import Aggregate
from events.codec import Codec, DecodeError, Record

log = logging.getLogger("casetrack.consumer")

_TP: Callable[[Record], TP] = attrgetter("topic", "partition")
_OFFSET: Callable[[Record], int] = attrgetter("offset")


class EventTransform(Protocol):
    """Rewrites decoded events inside the batch transaction before they are stored and folded (used to
    pseudonymise and seal personal data, so no plaintext reaches the event store or a projection)."""

    def __call__(self, tx: StoreTx, events: list[StoredEvent]) -> list[StoredEvent]: ...


class _Decoded(NamedTuple):
    """One batch after decoding: what to store, what to dead-letter, and where each partition ends."""

    valid: list[StoredEvent]
    letters: list[DeadLetter]
    ends: dict[TP, int]  # next offset per partition
    last_times: dict[TP, dt.datetime]  # latest event time per partition


@dataclass(frozen=True)
class RunnerConfig:
    """What one runner reads and how (the ``consumer`` settings, docs/operators.md)."""

    topics: Mapping[str, Aggregate]  # topic -> family
    max_batch_records: int = 5000
    poll_timeout_ms: int = 200
    db_retry_max_seconds: float = 30.0
    follow_live: bool = True  # False: write a fixed (building) generation, for rebuilds
    generations: Mapping[str, int] | None = None  # required when follow_live is False
    waiting_log_seconds: float = 30.0  # run_until_caught_up: say why it is still waiting, this often


class ProjectionRunner:
    """Drives one consumer: ``run_until_caught_up()`` for batch jobs, ``run_forever()`` for serve."""

    def __init__(
        self,
        config: RunnerConfig,
        source: RecordSource,
        store_factory: Callable[[], Store],
        engine: FoldEngine,
        codec: Codec,
        dead_letters: DeadLetterSink,
        observer: Observer | None = None,
        transform: EventTransform | None = None,
        *,
        backoff: Backoff | None = None,
    ) -> None:
        """``backoff`` paces the retries while the store is unavailable (default: 0.5 s doubling up to
        ``config.db_retry_max_seconds``, real sleeps); tests pass one that records its sleeps instead."""
        self.config = config
        self.backoff = backoff or Backoff(cap=config.db_retry_max_seconds)
        self.source = source
        self.store_factory = store_factory
        self.store = store_factory()
        self.engine = engine
        self.codec = codec
        self.dlq = dead_letters
        self.observer = observer
        self.transform = transform
        self.stop_event = threading.Event()
        self.positions: dict[TP, int] = {}
        self.stored: dict[TP, int | None] = {}
        self.generations: dict[str, int] = {}
        self.totals = RunTotals()
        self._assigned_once = True  # False only between subscribe() and the first assignment
        self._handoff: RebalanceHandoff | None = None

    # -- setup ---------------------------------------------------------------------------------------
    def all_partitions(self) -> list[TP]:
        """Every partition of the runner's topics."""
        return [tp for topic in self.config.topics for tp in self.source.partitions_of(topic)]

    def start(self, partitions: Sequence[TP] | None = None) -> None:
        """Assign ``partitions`` (default: all of the runner's topics) and seek to the stored positions."""
        tune_process()
        if partitions is None:
            partitions = self.all_partitions()
        self.source.assign(partitions)
        self._load_positions(partitions)

    def subscribe(self, on_revoked: Callable[[Sequence[TP]], None] | None = None) -> None:
        """Group mode: join the consumer group. (Re)assignments are applied between batches (see
        :mod:`consumers.rebalance`); ``on_revoked`` is told about partitions handed to another member."""
        tune_process()
        self._assigned_once = False
        self._handoff = RebalanceHandoff(self.source, on_revoked)
        self.source.subscribe(list(self.config.topics), self._handoff.on_assigned, self._handoff.on_revoked)

    def on_assigned(self, partitions: Sequence[TP]) -> None:
        """Group mode: the coordinator gave us ``partitions``; resume them from the stored positions."""
        self._assigned_once = True
        self._load_positions(partitions)

    def _load_positions(self, partitions: Sequence[TP]) -> None:
        self.engine.forget_states()  # another consumer may have written these partitions' states meanwhile
        if self.config.follow_live:
            self.generations = {f: self.store.live_generation(f) for f in set(self.config.topics.values())}
        else:
            assert self.config.generations is not None, "a fixed generation is required"
            self.generations = dict(self.config.generations)
        stored: dict[TP, int | None] = {}
        for family, gen in self.generations.items():
            mine = [tp for tp in partitions if self.config.topics[tp[0]] == family]
            found = self.store.positions(gen, mine)
            stored.update({tp: found.get(tp) for tp in mine})
        missing = [tp for tp, o in stored.items() if o is None]
        begin = self.source.beginning(missing) if missing else {}
        self.stored = stored
        self.positions = {tp: (o if o is not None else begin[tp]) for tp, o in stored.items()}
        self.source.seek(self.positions)

    def revoke(self, partitions: Sequence[TP]) -> None:
        self.engine.forget_states()
        for tp in partitions:
            self.positions.pop(tp, None)
            self.stored.pop(tp, None)

    # -- loops ---------------------------------------------------------------------------------------
    def caught_up(self) -> bool:
        """Every assigned partition has reached the high watermark the broker last reported."""
        return self.waiting_for() is None

    def waiting_for(self) -> str | None:
        """Why the runner is not caught up yet, in words for the operator's log; None when it is."""
        if not self._assigned_once:
            return "no assignment from the consumer group yet"  # nothing is known before the first one
        if self._handoff is not None and not self._handoff.changes.empty():
            return "a rebalance is being applied"  # partitions are on their way to (or back to) us
        if self._handoff is not None and not self.positions:
            return "the consumer group has assigned no partitions to this member"
        behind = []
        for tp, pos in sorted(self.positions.items()):
            hw = self.source.highwater(tp)
            if hw is None or pos < hw:
                behind.append(
                    f"{tp[0]}[{tp[1]}] " + ("end not known yet" if hw is None else f"at {pos} of {hw}")
                )
        if not behind:
            return None
        more = f" and {len(behind) - 5} more" if len(behind) > 5 else ""
        return f"{len(behind)} partition(s) behind: {', '.join(behind[:5])}{more}"

    def run_until_caught_up(self, progress: Callable[[RunTotals], None] | None = None) -> RunTotals:
        """Consume until every assigned partition is at its end; while waiting with nothing to read, say why
        every ``waiting_log_seconds`` (a group member may wait for its partitions: docs/operators.md)."""
        said = time.monotonic()
        while not self.stop_event.is_set():
            n = self.step()
            if progress:
                progress(self.totals)
            if n:
                said = time.monotonic()
                continue
            reason = self.waiting_for()
            if reason is None:
                break
            if time.monotonic() - said >= self.config.waiting_log_seconds:
                log.info("not caught up yet: %s", reason)
                said = time.monotonic()
        return self.totals

    def run_forever(self) -> RunTotals:
        while not self.stop_event.is_set():
            self.step()
        return self.totals

    def stop(self) -> None:
        """Ask the loop to stop after the current batch (which commits or rolls back as a whole)."""
        self.stop_event.set()

    # -- one batch -----------------------------------------------------------------------------------
    def step(self) -> int:
        """Poll and process one batch; returns the number of records polled."""
        records = self.source.poll(self.config.max_batch_records, self.config.poll_timeout_ms)
        if self._handoff is not None and self._handoff.apply(self):
            # Records of partitions revoked during the poll now belong to another member.
            records = [r for r in records if (r.topic, r.partition) in self.positions]
        if not records:
            self.source.check_positions(self.positions)
            self._observe_positions()
            return 0
        stats = self._process_with_retries(records)
        if stats is None:
            return len(records)
        self.totals.add(stats)
        if self.observer:
            self.observer.batch_done(stats)
            self._observe_positions()
        self.source.commit_positions(self.positions)
        return len(records)

    def _process_with_retries(self, records: Sequence[Record]) -> BatchStats | None:
        """Process the batch, retrying it on a fresh store while the store fails transiently (unless the loop
        is stopping); None if it was fenced (abandoned, positions reloaded from the store)."""
        delays = self.backoff.delays()
        while True:
            try:
                return self._process(records)
            except Fenced as exc:
                log.warning("batch abandoned: %s; reloading positions", exc)
                self._load_positions(list(self.positions))
                return None
            except TransientStoreError as exc:
                if self.stop_event.is_set():
                    raise
                delay = next(delays)
                log.error("database unavailable (%s); retrying the batch in %.1fs", _first_line(exc), delay)
                if self.observer:
                    self.observer.db_retry()
                self.backoff.sleep(delay)
                self._reconnect()

    def _process(self, records: Sequence[Record]) -> BatchStats:
        t0 = time.perf_counter()
        stats = BatchStats(records=len(records))
        batch = self._decode(records, stats)
        t1 = time.perf_counter()
        stats.decode_seconds = t1 - t0
        if not batch.ends:
            return stats
        updates = [
            PositionUpdate(t, p, self.stored.get((t, p)), end, batch.last_times.get((t, p)))
            for (t, p), end in batch.ends.items()
        ]
        try:
            result = self._transaction(records, batch.valid, batch.letters, updates)
        except BaseException:
            self.engine.forget_states()  # rolled back: the cache may hold states the database does not
            raise
        self.engine.committed(result)
        stats.commit_seconds = time.perf_counter() - t1
        for tp, end in batch.ends.items():
            self.positions[tp] = end
            self.stored[tp] = end
        stats.applied = result.applied
        stats.duplicates = result.duplicates
        stats.refolded = result.refolded_aggregates
        for d in batch.letters:
            stats.dead_letters[(d.topic, d.reason)] += 1
        for ev_type, n in result.applied_by_type.items():
            stats.applied_by_type[(_topic_for_type(self.config.topics, ev_type), ev_type)] += n
        stats.total_seconds = time.perf_counter() - t0
        return stats

    def _decode(self, records: Sequence[Record], stats: BatchStats) -> _Decoded:
        """Decode the records not yet committed; invalid ones become dead letters. Work is per run of
        records of one partition (a poll returns them so), decoding per batch (:meth:`Codec.decode_batch`)."""
        valid: list[StoredEvent] = []
        letters: list[DeadLetter] = []
        ends: dict[TP, int] = {}
        last_times: dict[TP, dt.datetime] = {}
        times = stats.event_times
        for tp, run in groupby(records, _TP):
            start = self.positions.get(tp, 0)
            fresh = [r for r in run if r.offset >= start]  # below: already committed (a re-fetch)
            if not fresh:
                continue
            topic, partition = tp
            ends[tp] = max(ends.get(tp, -1), max(map(_OFFSET, fresh)) + 1)
            stats.records_by_topic[topic] += len(fresh)
            last = last_times.get(tp)
            for r, ev in zip(fresh, self.codec.decode_batch(fresh), strict=True):
                if isinstance(ev, DecodeError):
                    letters.append(
                        DeadLetter(
                            topic, partition, r.offset, ev.reason, ev.detail, r.key, r.value, r.headers
                        )
                    )
                    continue
                valid.append(StoredEvent(ev, topic, partition, r.offset))
                t = ev.time
                times.append(t)
                if last is None or t > last:
                    last = t
            if last is not None:
                last_times[tp] = last
        return _Decoded(valid, letters, ends, last_times)

    def _transaction(
        self,
        records: Sequence[Record],
        valid: list[StoredEvent],
        letters: list[DeadLetter],
        updates: Sequence[PositionUpdate],
    ) -> BatchResult:
        """The batch's one transaction: positions (compare-and-set), event store, projections, dead letters."""
        with self.store.transaction() as tx:
            if self.config.follow_live:
                for live_family in {self.config.topics[u.topic] for u in updates}:
                    tx.check_live(live_family, self.generations[live_family])
            by_family: dict[str, int] = {}
            for u in updates:
                by_family[self.config.topics[u.topic]] = self.generations[self.config.topics[u.topic]]
            # Positions first: a competing consumer blocks here and then fails its compare-and-set.
            for family, gen in by_family.items():
                tx.advance(gen, [u for u in updates if self.config.topics[u.topic] == family])
            if self.transform is not None and valid:
                valid = self.transform(tx, valid)
            result = self.engine.run(tx, self.generations, valid)
            if result.conflicts:
                by_coords = {(r.topic, r.partition, r.offset): r for r in records}
                for c in result.conflicts:
                    raw = by_coords[(c.topic, c.partition, c.offset)]
                    letters.append(replace(c, key=raw.key, value=raw.value, headers=raw.headers))
            tx.record_dead_letters(letters)
            self.dlq.publish(letters)  # flushed before the commit: a dead letter is never lost
        return result

    def _reconnect(self) -> None:
        try:
            self.store.close()
        except Exception:  # the old connection is broken anyway
            pass
        try:
            self.store = self.store_factory()
            # The failed batch did not commit: go back to what the store says.
            self._load_positions(list(self.positions))
        except TransientStoreError as exc:
            log.error("reconnect failed: %s", _first_line(exc))

    def _observe_positions(self) -> None:
        if self.observer:
            self.observer.positions(self.positions, {tp: self.source.highwater(tp) for tp in self.positions})

    def close(self) -> None:
        """Release the store, the Kafka source and the dead-letter producer."""
        for part in (self.store, self.source, self.dlq):
            closer = getattr(part, "close", None)
            if closer is not None:
                try:
                    closer()
                except Exception as exc:  # closing is best effort; report, don't mask the real outcome
                    log.warning("closing %s failed: %s", type(part).__name__, exc)


def _topic_for_type(topics: Mapping[str, Aggregate], event_type: str) -> str:
    family = event_type.split(".", 1)[0]
    for topic, fam in topics.items():
        if fam == family:
            return topic
    return ""


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
