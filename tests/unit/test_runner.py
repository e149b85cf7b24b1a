"""The consumer loop (``ProjectionRunner``) on the in-memory record source and store: retry and backoff,
fencing, the rebalance hand-off, dead letters and dedup. No broker, no database, no real sleeping: each test
runs in milliseconds (the fakes are checked against the real adapters by the suites in tests/contracts).

Every test compares the projection with a reference: the same events consumed once, in one run, with no
fault; "nothing lost, nothing counted twice" means the tables are equal and every event is applied once.
"""

from __future__ import annotations

import datetime as dt
import gc
import logging
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import replace
from itertools import islice

import pytest

from consumers.dlq import ListDeadLetterSink
from consumers.engine import FoldEngine
from consumers.memory_source import MemoryBroker, MemorySource
from consumers.memory_store import MemoryStore
from consumers.ports import TP, Fenced, StoreUnavailable, TransientStoreError
from consumers.retry import Backoff
from consumers.runner import BatchStats, ProjectionRunner, RunnerConfig
from consumers.source import OffsetsAheadOfBroker
from events.catalog import Event
from events.codec import Codec
from projections.case_status import CaseStatusProjection
from tests.factories import case_stream

TOPIC = "cases"
PARTS = 2
P0: TP = (TOPIC, 0)
P1: TP = (TOPIC, 1)
P = CaseStatusProjection()
NOW = dt.datetime(
    2026, 11, 2, 9, 0, tzinfo=dt.UTC
)  # the engine's clock: rows that depend on "now" compare equal
EVENTS = case_stream(6)  # 46 events of 6 cases: 16 on partition 0, 30 on partition 1 (see partition_of)


class Recorder:
    """An observer that keeps what the runner reports."""

    def __init__(self) -> None:
        self.batches: list[BatchStats] = []
        self.retries = 0
        self.last_positions: dict[TP, int] = {}

    def batch_done(self, stats: BatchStats) -> None:
        self.batches.append(stats)

    def positions(self, positions: Mapping[TP, int], highwaters: Mapping[TP, int | None]) -> None:
        self.last_positions = dict(positions)

    def db_retry(self) -> None:
        self.retries += 1


class Rig:
    """One runner wired to a fake source on ``broker`` and to ``store``; ``sleeps`` are the backoff's waits."""

    def __init__(
        self, broker: MemoryBroker, store: MemoryStore, group_id: str | None = None, batch: int = 1000
    ) -> None:
        self.source = MemorySource(broker, group_id)
        self.store = store
        self.sink = ListDeadLetterSink()
        self.observer = Recorder()
        self.sleeps: list[float] = []
        self.connects = 0
        self.runner = ProjectionRunner(
            RunnerConfig(topics={TOPIC: "case"}, max_batch_records=batch, db_retry_max_seconds=2.0),
            self.source,
            self._connect,
            FoldEngine({"case": P}, clock=lambda: NOW, cache_size=1000),
            Codec({TOPIC: "case"}),
            self.sink,
            self.observer,
            backoff=Backoff(cap=2.0, sleep=self.sleeps.append, rand=lambda: 0.5),  # jitter factor exactly 1
        )

    def _connect(self) -> MemoryStore:
        self.connects += 1
        return self.store  # "reconnecting" reaches the same database


def partition_of(subject: str) -> int:
    return zlib.crc32(subject.encode()) % PARTS  # a case's events share a partition, as Kafka keys them


def new_broker(events: Sequence[Event] = EVENTS) -> MemoryBroker:
    broker = MemoryBroker()
    broker.create_topic(TOPIC, PARTS)
    publish(broker, events)
    return broker


def publish(broker: MemoryBroker, events: Sequence[Event]) -> None:
    for e in events:
        key, value, headers = Codec.encode(e)
        broker.append(TOPIC, partition_of(e.subject), value, key, tuple(headers))


def reference_rows(events: Sequence[Event] = EVENTS) -> dict[str, dict[str, object]]:
    """The tables after one fault-free run over ``events``."""
    store = MemoryStore()
    rig = Rig(new_broker(events), store)
    rig.runner.start()
    rig.runner.run_until_caught_up()
    return store.rows(P.table, 1)


def ends(broker: MemoryBroker) -> dict[TP, int]:
    return {tp: broker.end(tp) for tp in (P0, P1)}


# -- the happy path ---------------------------------------------------------------------------------------
def test_a_run_folds_every_event_once_and_stores_the_positions() -> None:
    broker, store = new_broker(), MemoryStore()
    rig = Rig(broker, store, batch=10)
    rig.runner.start()
    totals = rig.runner.run_until_caught_up()
    assert (totals.records, totals.applied, totals.duplicates, totals.dead_letters) == (46, 46, 0, 0)
    assert totals.batches == 5  # 46 records in polls of at most 10: 10 + 10 + 10 + 10 + 6
    assert store.positions(1, [P0, P1]) == ends(broker) == rig.observer.last_positions
    assert store.rows(P.table, 1) == reference_rows() and len(store.rows(P.table, 1)) == 6
    assert rig.sleeps == [] and rig.connects == 1


# -- retry and backoff ------------------------------------------------------------------------------------
def test_commit_failures_are_retried_with_doubling_capped_delays_and_nothing_doubles() -> None:
    broker, store = new_broker(), MemoryStore()
    rig = Rig(broker, store)
    store.fail_next("commit", times=4)  # the connection breaks at commit four times running
    rig.runner.start()
    totals = rig.runner.run_until_caught_up()
    # 0.5 s doubling, capped at db_retry_max_seconds = 2.0: 0.5, 1.0, 2.0, then 2.0 again (4 retries)
    assert rig.sleeps == [0.5, 1.0, 2.0, 2.0]
    assert rig.observer.retries == 4 and rig.connects == 1 + 4  # a fresh store for every retry
    assert store.rollbacks == 4 and store.commits == 1
    assert (totals.applied, totals.duplicates) == (46, 0)
    assert store.rows(P.table, 1) == reference_rows() and store.event_count() == 46


def test_begin_failures_and_a_failed_reconnect_are_retried(caplog: pytest.LogCaptureFixture) -> None:
    broker, store = new_broker(), MemoryStore()
    rig = Rig(broker, store)
    rig.runner.start()
    store.fail_next("begin", times=2)
    store.fail_next("read")  # the first reconnect cannot read the positions back
    with caplog.at_level(logging.ERROR, logger="casetrack.consumer"):
        totals = rig.runner.run_until_caught_up()
    assert rig.sleeps == [0.5, 1.0] and totals.applied == 46
    messages = [r.getMessage() for r in caplog.records]
    assert sum("database unavailable" in m and "retrying the batch in" in m for m in messages) == 2
    assert any(m.startswith("reconnect failed: injected") for m in messages)
    assert store.rows(P.table, 1) == reference_rows()


def test_every_transient_error_is_retried_not_only_a_lost_connection() -> None:
    broker, store = new_broker(), MemoryStore()
    rig = Rig(broker, store)
    store.fail_next("commit", error=TransientStoreError("deadlock detected"))
    rig.runner.start()
    assert rig.runner.run_until_caught_up().applied == 46
    assert rig.sleeps == [0.5]


def test_a_stopping_runner_does_not_retry() -> None:
    broker, store = new_broker(), MemoryStore()
    rig = Rig(broker, store)
    rig.runner.start()
    store.fail_next("begin")
    rig.runner.stop()
    with pytest.raises(StoreUnavailable):
        rig.runner.step()
    assert rig.sleeps == [] and store.commits == 0 and store.positions(1, [P0, P1]) == {}


def test_an_error_that_is_not_transient_is_not_retried_and_commits_nothing() -> None:
    broker, store = new_broker(), MemoryStore()
    rig = Rig(broker, store)
    rig.runner.start()
    store.fail_next("commit", error=ValueError("a bug"))
    with pytest.raises(ValueError, match="a bug"):
        rig.runner.step()
    assert rig.sleeps == [] and store.rollbacks == 1 and store.event_count() == 0
    assert rig.runner.positions == {P0: 0, P1: 0}  # the runner's positions did not move either


def test_backoff_jitter_stays_within_twenty_percent() -> None:
    draws = iter([0.0, 1.0, 0.5, 0.0])
    delays = list(islice(Backoff(first=0.5, cap=2.0, rand=lambda: next(draws)).delays(), 4))
    # 0.5 x 0.8 = 0.4; 1.0 x 1.2 = 1.2; 2.0 x 1.0 = 2.0; min(4.0, 2.0) x 0.8 = 1.6
    assert delays == pytest.approx([0.4, 1.2, 2.0, 1.6])


# -- fencing ----------------------------------------------------------------------------------------------
def test_a_second_instance_on_the_same_partitions_is_fenced_and_continues_from_the_stored_positions(
    caplog: pytest.LogCaptureFixture,
) -> None:
    broker, store = new_broker(), MemoryStore()
    a, b = Rig(broker, store, batch=10), Rig(broker, store, batch=10)
    a.runner.start()
    b.runner.start()  # both read positions {P0: none, P1: none}
    assert a.runner.step() == 10  # a commits its first batch
    with caplog.at_level(logging.WARNING, logger="casetrack.consumer"):
        assert b.runner.step() == 10  # b's compare-and-set fails: abandoned
    assert any("batch abandoned" in r.getMessage() for r in caplog.records)
    # a stored P0 at 10 (its first 10 records); b expected no stored position, so it reloads: P0 10, P1 0
    assert b.runner.totals.applied == 0 and b.runner.positions == {P0: 10, P1: 0}
    b.runner.run_until_caught_up()  # b continues from a's positions
    a.runner.run_until_caught_up()  # a is fenced in turn if b moved on meanwhile, then finds nothing new
    assert a.runner.totals.applied + b.runner.totals.applied == 46
    assert a.runner.totals.duplicates + b.runner.totals.duplicates == 0
    assert store.rows(P.table, 1) == reference_rows() and store.event_count() == 46


def test_an_injected_fence_abandons_the_batch_which_is_read_again() -> None:
    broker, store = new_broker(), MemoryStore()
    rig = Rig(broker, store)
    rig.runner.start()
    store.fail_next("commit", error=Fenced("the stored position of cases[0] moved"))
    assert rig.runner.step() == 46 and store.commits == 0
    totals = rig.runner.run_until_caught_up()
    assert (totals.applied, totals.duplicates) == (46, 0) and rig.sleeps == []
    assert store.rows(P.table, 1) == reference_rows()


def test_a_generation_swap_fences_the_live_writer_which_follows_the_new_generation() -> None:
    broker, store = new_broker(EVENTS[:20]), MemoryStore()
    rig = Rig(broker, store)
    rig.runner.start()
    rig.runner.run_until_caught_up()
    store.set_live("case", 7)  # what `replay` does when its new generation is complete
    publish(broker, EVENTS[20:])
    assert rig.runner.step() == 26 and rig.runner.generations == {"case": 7}  # fenced: nothing written
    rig.runner.run_until_caught_up()  # generation 7 has no positions: from the beginning
    assert store.rows(P.table, 7) == reference_rows()
    assert store.positions(1, [P0, P1]) == {
        P0: 8,
        P1: 12,
    }  # generation 1 stays where it was fenced (20 events)


# -- the rebalance hand-off --------------------------------------------------------------------------------
def test_the_rebalance_hand_off_commits_before_the_revocation_and_the_next_owner_resumes() -> None:
    broker, store = new_broker(), MemoryStore()
    a = Rig(broker, store, group_id="g", batch=8)
    revoked: list[list[TP]] = []
    a.runner.subscribe(on_revoked=lambda parts: revoked.append(sorted(parts)))
    assert not a.runner.caught_up()  # before the first assignment nothing is known
    a.runner.step()  # joins: both partitions, paused until their stored positions are sought
    assert a.runner.positions == {P0: 0, P1: 0}
    a.runner.step()  # one batch of 8 records, committed
    done = store.positions(1, [P0, P1])
    assert done == {P0: 8}  # the fake fetches partitions in order: the first 8 of P0's 16 records

    a.source.rebalance([P1])  # P0 goes to another member
    assert a.runner.step() == 0
    assert revoked == [[P0, P1]]  # eager: everything is revoked, then P1 is given back
    assert a.runner.positions == {P1: 0} and a.source.assignment() == [P1]  # P1 had no stored position

    b = Rig(broker, store, group_id="g", batch=8)
    b.runner.subscribe()
    b.source.rebalance([P0])
    b.runner.run_until_caught_up()
    a.runner.run_until_caught_up()
    first_b = b.observer.batches[0]
    assert first_b.records == 16 - 8  # b resumed P0 where a had committed it
    assert a.runner.totals.duplicates + b.runner.totals.duplicates == 0
    assert a.runner.totals.applied + b.runner.totals.applied == 46
    assert store.rows(P.table, 1) == reference_rows()
    # Kafka's group offsets mirror what a held: P0 as of its last batch before the hand-off, P1 to the end.
    assert a.source.committed == {P0: 8, P1: 30}


def test_a_member_caught_up_does_not_stop_between_a_revocation_and_the_assignment() -> None:
    # The regression of docs/guarantees.md: when the other member left, the stayer's partitions were revoked
    # in one poll and reassigned in a later one; in between it held no partition, so "every assigned partition
    # at its end" was vacuously true and `consume --group --until-caught-up` exited 0 with the leaver's
    # partitions unconsumed.
    broker, store = new_broker(), MemoryStore()
    a = Rig(broker, store, group_id="g")
    a.runner.subscribe()
    a.source.rebalance([P0])  # joins with P0; P1 is the other member's
    a.runner.run_until_caught_up()
    assert a.runner.totals.applied == 16 and a.runner.caught_up()
    a.source.rebalance([P0, P1], assign_later=True)  # the other member left without folding P1
    # This poll revokes everything; the assignment comes with the next one.
    assert a.runner.step() == 0 and a.runner.positions == {}
    assert not a.runner.caught_up()
    totals = a.runner.run_until_caught_up()
    assert a.source.assignment() == [P0, P1]
    assert totals.applied == 46 and totals.duplicates == 0
    assert store.rows(P.table, 1) == reference_rows()


def test_a_member_waiting_for_partitions_says_why_in_its_log(caplog: pytest.LogCaptureFixture) -> None:
    # `consume --group --until-caught-up` waits while the group gives it nothing; the operator's log says so
    # (every `waiting_log_seconds`) instead of staying silent until someone kills it.
    broker, store = new_broker(), MemoryStore()
    a = Rig(broker, store, group_id="g", batch=10)
    a.runner.config = replace(a.runner.config, waiting_log_seconds=0)
    a.runner.subscribe()
    assert a.runner.waiting_for() == "no assignment from the consumer group yet"
    a.source.rebalance([])  # the leader assigned this member nothing
    polls: list[int] = []

    def stop_after_three(_totals: object) -> None:
        polls.append(1)
        if len(polls) == 3:
            a.runner.stop()

    with caplog.at_level(logging.INFO, logger="casetrack.consumer"):
        a.runner.run_until_caught_up(stop_after_three)
    waiting = [r.getMessage() for r in caplog.records if r.getMessage().startswith("not caught up yet")]
    assert waiting == ["not caught up yet: the consumer group has assigned no partitions to this member"] * 3
    a.runner.stop_event.clear()
    a.source.rebalance([P0, P1])
    a.runner.step()  # the assignment is applied (the partitions were paused during this poll's fetch)
    assert (
        a.runner.waiting_for()
        == f"2 partition(s) behind: {TOPIC}[0] end not known yet, {TOPIC}[1] end not known yet"
    )
    a.runner.step()  # the first 10 of P0's 16 records folded; both ends now known from the fetch
    assert a.runner.waiting_for() == f"2 partition(s) behind: {TOPIC}[0] at 10 of 16, {TOPIC}[1] at 0 of 30"
    a.runner.run_until_caught_up()
    assert a.runner.waiting_for() is None and a.runner.totals.applied == 46


def test_records_of_a_partition_revoked_during_the_poll_are_dropped_not_folded() -> None:
    broker, store = new_broker(), MemoryStore()
    a = Rig(broker, store, group_id="g")
    a.runner.subscribe()
    a.runner.step()  # joined, positions sought
    a.source.rebalance([P1], before_fetch=False)  # this poll returns P0 and P1 records, then the rebalance
    # 46 records polled; the step drops P0's (revoked meanwhile) and folds only those of P1, which a kept
    assert a.runner.step() == broker.end(P1) < 46
    assert store.positions(1, [P0, P1]) == {P1: 30} and a.runner.totals.applied == 30
    b = Rig(broker, store, group_id="g")
    b.runner.subscribe()
    b.source.rebalance([P0])
    b.runner.run_until_caught_up()
    a.runner.run_until_caught_up()
    assert b.runner.totals.applied == 16  # P0 from its beginning: a had stored nothing for it
    assert a.runner.totals.applied + b.runner.totals.applied == 46
    assert store.rows(P.table, 1) == reference_rows()


# -- dead letters and dedup ---------------------------------------------------------------------------------
def test_bad_records_become_dead_letters_and_survive_a_failed_commit() -> None:
    broker, store = new_broker(), MemoryStore()
    broker.append(TOPIC, 0, b"{not json")
    broker.append(TOPIC, 1, b"[]")
    rig = Rig(broker, store)
    store.fail_next("commit")
    rig.runner.start()
    totals = rig.runner.run_until_caught_up()
    assert (totals.applied, totals.dead_letters) == (46, 2)
    reasons = sorted(d.reason for d in store.dead_letters())
    assert reasons == ["invalid_json", "not_an_object"]
    # Published before the commit: the failed attempt published them too (at least once, never lost).
    assert sorted(d.reason for d in rig.sink.letters) == sorted(reasons * 2)
    assert store.positions(1, [P0, P1]) == ends(broker)  # the loop moved past them
    assert store.rows(P.table, 1) == reference_rows()


def test_dead_letters_leave_no_reference_cycles_behind() -> None:
    # A decode error's traceback would hold the batch's frames (records, events): a cycle the tuned GC keeps.
    broker, store = new_broker(), MemoryStore()
    for value in (b"{not json", b"[]", b'{"specversion": "1.0", "type": "case.received"}', b"\xff"):
        broker.append(TOPIC, 0, value)
    rig = Rig(broker, store)
    rig.runner.start()
    gc.collect()
    gc.disable()
    try:
        totals = rig.runner.run_until_caught_up()
        unreachable = gc.collect()
    finally:
        gc.enable()
    assert (totals.applied, totals.dead_letters) == (46, 4)
    assert unreachable == 0


def test_a_redelivered_event_is_counted_once() -> None:
    broker, store = new_broker(), MemoryStore()
    publish(broker, EVENTS[:10])  # a producer retry: 10 events again, at new offsets
    rig = Rig(broker, store, batch=7)
    rig.runner.start()
    totals = rig.runner.run_until_caught_up()
    assert (totals.records, totals.applied, totals.duplicates) == (56, 46, 10)
    assert store.rows(P.table, 1) == reference_rows() and store.event_count() == 46


def test_stored_positions_ahead_of_the_broker_stop_the_loop() -> None:
    broker, store = new_broker(), MemoryStore()
    rig = Rig(broker, store)
    rig.runner.start()
    rig.runner.run_until_caught_up()
    broker.lose_from(P0, 0)  # the broker lost partition 0's records (Tansu keeps them in memory only)
    with pytest.raises(OffsetsAheadOfBroker) as caught:
        rig.runner.step()
    assert caught.value.gaps == {P0: (16, 0)}  # stored 16 > the broker's end 0
