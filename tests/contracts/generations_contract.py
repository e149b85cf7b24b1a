"""The contract every :class:`ops.generations.Generations` adapter honours. Subclass and provide ``store`` (the
Store adapter on the same data, to write events, positions and rows) and ``connect`` (a new session).

Run against the in-memory adapter (tests/unit/test_generations_memory.py) and the PostgreSQL adapter
(tests/integration/test_generations_pg.py), so replay's bookkeeping tests on the fake say something about
production.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from consumers.ports import PositionUpdate, Store
from ops.generations import FAMILIES, GenerationInfo, GenerationLive, Generations, GenerationsError
from tests.contracts.store_contract import P, row_for, stored

Connect = Callable[[], Generations]
KEY = P.columns[0]


def statuses(gens: Generations, family: str = "case") -> dict[int, str]:
    return {i.generation: i.status for i in gens.history(family)}


def save_rows(store: Store, generation: int, n_cases: int) -> None:
    """Rows of ``n_cases`` cases in ``generation`` (and their events in the event store)."""
    events = stored(n_cases)
    with store.transaction() as tx:
        tx.append_events(events)
        subjects = list(dict.fromkeys(se.event.subject for se in events))
        tx.save_states(P.table, P.columns, generation, [row_for(s, events) for s in subjects])


class GenerationsContract:
    """Behaviour shared by every adapter."""

    @pytest.fixture
    def store(self) -> Store:
        raise NotImplementedError

    @pytest.fixture
    def connect(self) -> Connect:
        raise NotImplementedError

    @pytest.fixture
    def gens(self, connect: Connect) -> Generations:
        return connect()

    def test_a_fresh_schema_has_one_live_generation_per_family(self, gens: Generations) -> None:
        for g, family in enumerate(FAMILIES, start=1):
            assert gens.live(family) == g
            assert gens.history(family) == [GenerationInfo(g, family, "kafka", "live")]
        assert gens.live("nope") is None

    def test_new_generations_are_building_numbered_upwards_and_not_live(self, gens: Generations) -> None:
        a = gens.create("case", "kafka")
        b = gens.create("supervision", "event-store")
        assert 3 < a < b
        assert gens.history("case")[-1] == GenerationInfo(a, "case", "kafka", "building")
        assert gens.history("supervision")[-1] == GenerationInfo(b, "supervision", "event-store", "building")
        assert gens.live("case") == 1 and gens.live("supervision") == 2
        with pytest.raises(GenerationsError):
            gens.create("nope", "kafka")

    def test_a_swap_makes_the_new_generation_live_and_retires_the_old(self, gens: Generations) -> None:
        new = gens.create("case", "kafka")
        with gens.window("case") as w:
            assert w.live == 1
            w.swap(new)
        assert gens.live("case") == new
        assert statuses(gens) == {1: "retired", new: "live"}
        assert gens.live("supervision") == 2

    def test_a_window_that_fails_changes_nothing(self, gens: Generations) -> None:
        new = gens.create("case", "event-store")
        with pytest.raises(RuntimeError, match="boom"), gens.window("case") as w:
            w.set_positions(new, {("cases", 0): 5})
            w.swap(new)
            raise RuntimeError("boom")
        assert gens.live("case") == 1
        assert statuses(gens) == {1: "live", new: "building"}
        assert gens.positions(new) == {}
        with gens.window("case") as w:  # the session is usable afterwards
            w.swap(new)
        assert gens.live("case") == new

    def test_positions_are_copied_and_set_in_a_window(self, gens: Generations, store: Store) -> None:
        with store.transaction() as tx:
            tx.advance(1, [PositionUpdate("cases", 0, None, 10), PositionUpdate("cases", 1, None, 4)])
        assert gens.positions(1) == {("cases", 0): 10, ("cases", 1): 4}
        new = gens.create("case", "event-store")
        with gens.window("case") as w:
            w.copy_positions(w.live, new)
            w.set_positions(new, {("cases", 1): 2, ("cases", 2): 7})
            assert w.positions(new) == {("cases", 0): 10, ("cases", 1): 2, ("cases", 2): 7}
        assert gens.positions(new) == {("cases", 0): 10, ("cases", 1): 2, ("cases", 2): 7}
        assert gens.positions(1) == {("cases", 0): 10, ("cases", 1): 4}
        with pytest.raises(GenerationsError), gens.window("case") as w:
            w.copy_positions(1, new)  # new has positions already
        assert gens.positions(new)[("cases", 1)] == 2

    def test_the_event_store_cut_and_the_subjects_after_it(self, gens: Generations, store: Store) -> None:
        first = stored(2)
        with store.transaction() as tx:
            tx.append_events(first)
        with gens.window("case") as w:
            cut = w.max_seq()
            assert w.count_events() == len(first) and cut >= len(first)
            assert set(w.subjects_after(0, cut)) == {se.event.subject for se in first}
            assert w.subjects_after(cut, None) == []
        with gens.window("supervision") as w:
            assert (w.max_seq(), w.count_events()) == (0, 0)
        known = {se.event.id for se in first}
        more = [se for se in stored(3) if se.event.id not in known]
        with store.transaction() as tx:
            tx.append_events(more)
        assert gens.subjects_after("case", cut, None) == [more[0].event.subject]
        assert gens.subjects_after("case", 0, cut) != [] and gens.subjects_after("case", cut, cut) == []

    def test_a_store_transaction_folds_into_a_building_generation(
        self, gens: Generations, store: Store
    ) -> None:
        events = stored(2)
        with store.transaction() as tx:
            tx.append_events(events)
        subjects = sorted({se.event.subject for se in events})
        new = gens.create("case", "event-store")
        with gens.transaction() as tx:
            assert set(tx.load_history("case", subjects)) == set(subjects)
            tx.save_states(P.table, P.columns, new, [row_for(subjects[0], events)])
        assert gens.count_rows(P.table, new) == 1
        with pytest.raises(RuntimeError), gens.transaction() as tx:
            tx.save_states(P.table, P.columns, new, [row_for(subjects[1], events)])
            raise RuntimeError("crash")
        assert gens.count_rows(P.table, new) == 1

    def test_a_refold_in_the_window_commits_with_the_swap(self, gens: Generations, store: Store) -> None:
        events = stored(1)
        with store.transaction() as tx:
            tx.append_events(events)
        subject = events[0].event.subject
        new = gens.create("case", "event-store")
        with pytest.raises(RuntimeError), gens.window("case") as w:
            w.store_tx().save_states(P.table, P.columns, new, [row_for(subject, events)])
            raise RuntimeError("crash before the swap")
        assert gens.count_rows(P.table, new) == 0
        with gens.window("case") as w:
            assert set(w.store_tx().load_history("case", [subject])) == {subject}
            w.store_tx().save_states(P.table, P.columns, new, [row_for(subject, events)])
            w.swap(new)
        assert gens.count_rows(P.table, new) == 1 and gens.live("case") == new

    def test_rows_are_deleted_in_batches_and_never_live(self, gens: Generations, store: Store) -> None:
        save_rows(store, 1, 2)
        new = gens.create("case", "kafka")
        save_rows(store, new, 5)
        with store.transaction() as tx:
            tx.advance(new, [PositionUpdate("cases", 0, None, 3)])
        assert gens.count_rows(P.table, new) == 5
        assert [gens.delete_rows(P.table, KEY, new, 2) for _ in range(4)] == [2, 2, 1, 0]
        gens.forget_positions(new)
        assert gens.count_rows(P.table, new) == 0 and gens.positions(new) == {}
        with pytest.raises(GenerationLive):
            gens.delete_rows(P.table, KEY, 1, 10)
        with pytest.raises(GenerationLive):
            gens.forget_positions(1)
        assert gens.count_rows(P.table, 1) == 2

    def test_only_a_building_generation_is_abandoned(self, gens: Generations) -> None:
        failed = gens.create("case", "kafka")
        assert gens.abandon(failed)
        assert not gens.abandon(failed)
        swapped = gens.create("case", "kafka")
        with gens.window("case") as w:
            w.swap(swapped)
        assert not gens.abandon(swapped)
        assert statuses(gens) == {1: "retired", failed: "abandoned", swapped: "live"}

    def test_one_replay_lock_per_family_across_sessions(self, connect: Connect) -> None:
        a, b = connect(), connect()
        assert a.try_lock("case")
        assert not b.try_lock("case")
        assert b.try_lock("supervision")
        a.unlock("case")
        assert b.try_lock("case")
        b.close()  # closing a session releases its locks
        deadline = time.monotonic() + 10
        while not a.try_lock("case"):  # the server ends a closed session asynchronously
            assert time.monotonic() < deadline, "the closed session still holds the lock"
            time.sleep(0.05)
        assert a.try_lock("supervision")
