"""Replay's bookkeeping (ops/replay.py: lock, create, fold, swap, abandon, drop) on the in-memory generations
adapter, without a broker or a database: which generation is live, and what is left of each, after a replay
that succeeds, one whose swap fails, and one that fails after its swap."""

from __future__ import annotations

import pytest

from consumers.memory_store import MemoryStore
from consumers.ports import PositionUpdate, StoreUnavailable
from ops.memory_generations import MemoryGenerations
from ops.replay import ReplayError, ReplayReport, fold_and_swap, replace_generation
from tests.contracts.generations_contract import save_rows, statuses
from tests.contracts.store_contract import P, stored

LIVE_POSITIONS = {("cases", 0): 40, ("cases", 1): 12}


@pytest.fixture
def store() -> MemoryStore:
    """Three cases folded into the live generation 1, at LIVE_POSITIONS."""
    s = MemoryStore()
    save_rows(s, 1, 3)
    with s.transaction() as tx:
        tx.advance(1, [PositionUpdate(t, p, None, o) for (t, p), o in LIVE_POSITIONS.items()])
    return s


@pytest.fixture
def gens(store: MemoryStore) -> MemoryGenerations:
    return MemoryGenerations(store)


class Progress:
    def __init__(self) -> None:
        self.calls: list[tuple[str, int, int]] = []

    def __call__(self, phase: str, done: int, total: int) -> None:
        self.calls.append((phase, done, total))


def lock_is_free(gens: MemoryGenerations) -> bool:
    other = gens.session()
    try:
        return other.try_lock("case")
    finally:
        other.close()


def from_event_store(gens: MemoryGenerations) -> ReplayReport:
    """An event-store replay whose bulk folded nothing (cut 0): everything is refolded by the catch-up."""
    return replace_generation(gens, P, "event-store", lambda r: fold_and_swap(gens, P, r, 0), Progress())


def test_a_replay_swaps_in_a_complete_generation_and_drops_the_old(
    gens: MemoryGenerations, store: MemoryStore
) -> None:
    before = store.rows(P.table, 1)
    progress = Progress()
    report = replace_generation(gens, P, "event-store", lambda r: fold_and_swap(gens, P, r, 0), progress)
    new = report.generation
    assert (report.previous, gens.live("case")) == (1, new)
    assert statuses(gens) == {1: "retired", new: "live"}
    after = store.rows(P.table, new)
    assert {k: r["status"] for k, r in after.items()} == {k: r["status"] for k, r in before.items()}
    assert gens.positions(new) == LIVE_POSITIONS  # the live consumers continue from there
    assert store.rows(P.table, 1) == {} and gens.positions(1) == {}
    assert report.deleted_rows == 3 and progress.calls[-1] == ("cleanup", 3, 3)
    assert lock_is_free(gens)  # the replay lock was released


def test_a_swap_that_fails_leaves_the_old_generation_live(
    gens: MemoryGenerations, store: MemoryStore
) -> None:
    before = store.rows(P.table, 1)
    gens.fail_next_swap()
    with pytest.raises(StoreUnavailable):
        from_event_store(gens)
    (new,) = [g for g in statuses(gens) if g != 1]
    assert gens.live("case") == 1
    assert statuses(gens) == {1: "live", new: "abandoned"}
    assert store.rows(P.table, 1) == before and gens.positions(1) == LIVE_POSITIONS
    assert store.rows(P.table, new) == {} and gens.positions(new) == {}  # the abandoned build is gone
    assert lock_is_free(gens)
    # The next replay succeeds.
    report = from_event_store(gens)
    assert gens.live("case") == report.generation and len(store.rows(P.table, report.generation)) == 3


def test_a_failure_after_the_swap_keeps_the_new_generation(
    gens: MemoryGenerations, store: MemoryStore
) -> None:
    def build(report: ReplayReport) -> None:
        fold_and_swap(gens, P, report, 0)
        raise RuntimeError("crash after the swap committed")

    with pytest.raises(RuntimeError):
        replace_generation(gens, P, "event-store", build, Progress())
    (new,) = [g for g in statuses(gens) if g != 1]
    assert gens.live("case") == new and statuses(gens) == {1: "retired", new: "live"}
    assert len(store.rows(P.table, new)) == 3
    assert len(store.rows(P.table, 1)) == 3  # the clean-up did not run; a later delete may


def test_keep_retired_keeps_the_old_rows(gens: MemoryGenerations, store: MemoryStore) -> None:
    build = lambda r: fold_and_swap(gens, P, r, 0)  # noqa: E731
    report = replace_generation(gens, P, "event-store", build, Progress(), keep_retired=True)
    assert report.deleted_rows == 0 and len(store.rows(P.table, 1)) == 3
    assert gens.positions(1) == LIVE_POSITIONS


def test_events_after_the_cut_are_folded_and_lost_partitions_restart(
    gens: MemoryGenerations, store: MemoryStore
) -> None:
    """The bulk folded up to the cut; events stored later (live traffic) are refolded before the swap, and after
    broker loss the new generation restarts where the broker begins."""
    more = [se for se in stored(4) if se.event.id not in {x.event.id for x in stored(3)}]

    def build(report: ReplayReport) -> None:
        save_rows(store, report.generation, 3)  # the bulk
        cut = len(stored(3))
        with store.transaction() as tx:
            tx.append_events(more)
        fold_and_swap(gens, P, report, cut, {("cases", 1): 5})

    report = replace_generation(gens, P, "event-store", build, Progress())
    assert set(store.rows(P.table, report.generation)) == {se.event.subject for se in stored(4)}
    assert gens.positions(report.generation) == {("cases", 0): 40, ("cases", 1): 5}


def test_a_second_replay_of_the_family_is_refused(gens: MemoryGenerations) -> None:
    other = gens.session()
    assert other.try_lock("case")
    with pytest.raises(ReplayError, match="another replay of case is running"):
        from_event_store(gens)
    assert statuses(gens) == {1: "live"}  # nothing created
