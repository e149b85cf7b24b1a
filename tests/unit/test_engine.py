"""The fold engine on the in-memory store: dedup, ordering, conflicts, atomicity."""

from __future__ import annotations

import datetime as dt
import random

from consumers.engine import Cached, FoldEngine, StateCache
from consumers.memory_store import MemoryStore
from consumers.ports import StoredEvent
from events.catalog import Event
from projections.case_status import CaseStatusProjection
from tests.factories import case_stream

P = CaseStatusProjection()
GEN = {"case": 1}


def run(store: MemoryStore, events: list[Event], batch: int = 1000) -> tuple[int, int]:
    engine = FoldEngine({"case": P})
    applied = dups = 0
    for i in range(0, len(events), batch):
        chunk = [StoredEvent(e, "cases", 0, i + j) for j, e in enumerate(events[i : i + batch])]
        with store.transaction() as tx:
            r = engine.run(tx, GEN, chunk)
        applied += r.applied
        dups += r.duplicates
    return applied, dups


def rows(store: MemoryStore) -> dict[str, dict[str, object]]:
    return store.rows(P.table, 1)


def test_duplicates_within_and_across_batches_are_skipped() -> None:
    events = case_stream(10)
    store = MemoryStore()
    assert run(store, events + events[:5]) == (len(events), 5)
    before = rows(store)
    assert run(store, events) == (0, len(events))
    assert rows(store) == before


def test_any_arrival_order_and_batching_converge() -> None:
    events = case_stream(25, seed=4)
    reference = MemoryStore()
    run(reference, events)
    for seed, batch in ((1, 7), (2, 50), (3, 1)):
        shuffled = events[:]
        random.Random(seed).shuffle(shuffled)
        store = MemoryStore()
        run(store, shuffled, batch)
        assert rows(store) == rows(reference)


def test_late_event_triggers_a_refold_from_history() -> None:
    events = [e for e in case_stream(3) if e.subject == "C000001"]
    store = MemoryStore()
    engine = FoldEngine({"case": P})
    with store.transaction() as tx:
        engine.run(tx, GEN, [StoredEvent(e, "cases", 0, i) for i, e in enumerate(events[1:])])
    with store.transaction() as tx:
        result = engine.run(tx, GEN, [StoredEvent(events[0], "cases", 0, 99)])
    assert result.refolded_aggregates == 1
    assert rows(store)["C000001"]["channel"] is not None  # the late intake is now folded in


def test_an_id_reused_for_another_aggregate_is_a_conflict() -> None:
    store = MemoryStore()
    first = case_stream(1)[0]
    run(store, [first])
    impostor = first.model_copy(update={"subject": "OTHER"})
    engine = FoldEngine({"case": P})
    with store.transaction() as tx:
        result = engine.run(tx, GEN, [StoredEvent(impostor, "cases", 0, 5)])
    assert result.applied == 0 and [c.reason for c in result.conflicts] == ["id_conflict"]
    assert "OTHER" not in rows(store)


def _run_cached(engine: FoldEngine, store: MemoryStore, events: list[Event], batch: int) -> None:
    for i in range(0, len(events), batch):
        chunk = [StoredEvent(e, "cases", 0, i + j) for j, e in enumerate(events[i : i + batch])]
        with store.transaction() as tx:
            result = engine.run(tx, GEN, chunk)
        engine.committed(result)  # what the runner does once the transaction has committed


def test_the_state_cache_gives_the_same_rows_and_serves_later_batches() -> None:
    events = case_stream(25, seed=5)
    shuffled = events[:]
    random.Random(5).shuffle(shuffled)
    reference = MemoryStore()
    run(reference, events)
    store = MemoryStore()
    engine = FoldEngine({"case": P}, cache_size=10)  # smaller than the 25 cases: evictions happen too
    _run_cached(engine, store, shuffled, 7)
    assert rows(store) == rows(reference)
    assert engine.cache is not None and 0 < len(engine.cache) <= 10


def test_a_batch_that_did_not_commit_never_reaches_the_cache() -> None:
    events = case_stream(3)
    store = MemoryStore()
    engine = FoldEngine({"case": P}, cache_size=100)
    chunk = [StoredEvent(e, "cases", 0, i) for i, e in enumerate(events)]
    try:
        with store.transaction() as tx:
            engine.run(tx, GEN, chunk)
            raise RuntimeError("the commit failed")
    except RuntimeError:
        engine.forget_states()  # what the runner does on any failure of the batch
    assert engine.cache is not None and len(engine.cache) == 0
    _run_cached(engine, store, events, 1000)  # the redelivery folds from the store, not from a phantom state
    assert rows(store) == rows(_reference(events))


def _reference(events: list[Event]) -> MemoryStore:
    store = MemoryStore()
    run(store, events)
    return store


def test_the_state_cache_gives_back_what_it_was_given() -> None:
    cache = StateCache(2)
    at = dt.datetime(2026, 9, 14, 8, 30, tzinfo=dt.UTC)
    one = Cached("state 1", ("e-1", "e-2", "e-3"), at, "e-3")
    none = Cached("state 2", (), at, "")
    cache.put_all([(("case", 1, "A"), one), (("case", 1, "B"), none)])
    assert cache.take(("case", 1, "A")) == one
    assert cache.take(("case", 1, "B")) == none
    assert cache.take(("case", 1, "A")) is None  # taken: the batch writes it back or the cache is cleared


def test_a_redelivery_of_events_folded_in_an_earlier_batch_is_dropped_by_the_cached_ids() -> None:
    events = case_stream(4, seed=11)
    store = MemoryStore()
    engine = FoldEngine({"case": P}, cache_size=100)
    _run_cached(engine, store, events, 1000)
    chunk = [StoredEvent(e, "cases", 0, 1000 + i) for i, e in enumerate(events)]
    with store.transaction() as tx:
        result = engine.run(tx, GEN, chunk)
    assert (result.applied, result.duplicates) == (0, len(events))
    assert rows(store) == rows(_reference(events))
