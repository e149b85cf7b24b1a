"""The contract every :class:`consumers.ports.Store` adapter honours. Subclass and provide ``store``.

Run against the in-memory adapter (tests/unit/test_store_memory.py) and the PostgreSQL adapter
(tests/integration/test_store_pg.py), so the fast engine tests on the fake say something about production.
"""

from __future__ import annotations

import datetime as dt

import pytest

from consumers.ports import DeadLetter, Fenced, PositionUpdate, StateRow, Store, StoredEvent, Tracked
from projections.base import fold
from projections.case_status import CaseStatusProjection
from tests.factories import case_stream

P = CaseStatusProjection()
T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def stored(n_cases: int = 3) -> list[StoredEvent]:
    return [StoredEvent(e, "cases", 0, i) for i, e in enumerate(case_stream(n_cases))]


def row_for(subject: str, events: list[StoredEvent]) -> StateRow:
    mine = [se.event for se in events if se.event.subject == subject]
    state = fold(P, subject, mine)
    last = max(e.sort_key for e in mine)
    return StateRow(P.row(state, T0), Tracked(P.dump(state), tuple(e.id for e in mine), last[0], last[1]))


class StoreContract:
    """Behaviour shared by every adapter."""

    @pytest.fixture
    def store(self) -> Store:
        raise NotImplementedError

    def test_append_returns_only_new_ids(self, store: Store) -> None:
        events = stored()
        with store.transaction() as tx:
            assert tx.append_events(events) == {se.event.id for se in events}
        with store.transaction() as tx:
            assert tx.append_events(events[:3]) == set()

    def test_owners_of_stored_ids(self, store: Store) -> None:
        events = stored(1)
        with store.transaction() as tx:
            tx.append_events(events)
            owners = tx.stored_owners([events[0].event.id, "never-stored"])
        assert owners == {events[0].event.id: ("case", events[0].event.subject)}

    def test_history_is_in_time_order(self, store: Store) -> None:
        events = stored(2)
        with store.transaction() as tx:
            tx.append_events(list(reversed(events)))
            subject = events[0].event.subject
            history = tx.load_history("case", [subject])[subject]
        assert [e.id for e in history] == [se.event.id for se in events if se.event.subject == subject]

    @pytest.mark.parametrize(
        "odd", ["back\\slash", "tab\there", "new\nline", "cr\rhere", "\\N", 'quote"s', "\\."]
    )
    def test_any_text_is_stored_exactly(self, store: Store, odd: str) -> None:
        # Ids, subjects, sources and payload text may hold any character COPY gives a meaning to.
        (first, *_rest) = stored(1)
        e = first.event
        data = e.data.model_copy(update={"summary": f"x{odd}y"}) if hasattr(e.data, "summary") else e.data
        event = e.model_copy(
            update={"id": f"id-{odd}", "subject": f"S{odd}", "source": f"src{odd}", "data": data}
        )
        with store.transaction() as tx:
            assert tx.append_events([StoredEvent(event, "cases", 0, 0)]) == {event.id}
            (back,) = tx.load_history("case", [event.subject])[event.subject]
        assert back == event

    def test_states_round_trip(self, store: Store) -> None:
        events = stored(2)
        subject = events[0].event.subject
        row = row_for(subject, events)
        with store.transaction() as tx:
            tx.save_states(P.table, P.columns, 7, [row])
        with store.transaction() as tx:
            loaded = tx.load_states(P.table, P.columns[0], 7, [subject, "unknown"])
            other_generation = tx.load_states(P.table, P.columns[0], 8, [subject])
        assert set(loaded) == {subject} and other_generation == {}
        got = loaded[subject]
        assert got.applied_ids == row.tracked.applied_ids and got.last_id == row.tracked.last_id
        assert got.last_time == row.tracked.last_time
        assert P.load(got.fold_state) == P.load(row.tracked.fold_state)

    def test_positions_are_compare_and_set(self, store: Store) -> None:
        with store.transaction() as tx:
            tx.advance(1, [PositionUpdate("cases", 0, None, 10)])
        assert store.positions(1, [("cases", 0), ("cases", 1)]) == {("cases", 0): 10}
        with pytest.raises(Fenced), store.transaction() as tx:
            tx.advance(1, [PositionUpdate("cases", 0, 5, 20)])
        with pytest.raises(Fenced), store.transaction() as tx:
            tx.advance(1, [PositionUpdate("cases", 0, None, 20)])
        with store.transaction() as tx:
            tx.advance(1, [PositionUpdate("cases", 0, 10, 20)])
        assert store.positions(1, [("cases", 0)]) == {("cases", 0): 20}

    def test_a_failed_transaction_leaves_nothing(self, store: Store) -> None:
        events = stored(1)
        with pytest.raises(RuntimeError), store.transaction() as tx:
            tx.append_events(events)
            tx.advance(1, [PositionUpdate("cases", 0, None, 99)])
            tx.record_dead_letters([DeadLetter("cases", 0, 100, "invalid_json", "x")])
            raise RuntimeError("crash mid-batch")
        assert store.positions(1, [("cases", 0)]) == {}
        with store.transaction() as tx:
            assert tx.append_events(events) == {se.event.id for se in events}

    def test_live_generation_check(self, store: Store) -> None:
        live = store.live_generation("case")
        with store.transaction() as tx:
            tx.check_live("case", live)
        with pytest.raises(Fenced), store.transaction() as tx:
            tx.check_live("case", live + 100)

    def test_iter_events_never_splits_a_subject(self, store: Store) -> None:
        events = stored(6)
        with store.transaction() as tx:
            tx.append_events(events)
        chunks = list(store.iter_events("case", batch_size=5))
        seen: list[str] = []
        for chunk in chunks:
            subjects = [e.subject for e in chunk]
            assert not set(subjects) & set(seen)
            seen.extend(dict.fromkeys(subjects))
        assert sum(len(c) for c in chunks) == len(events)

    def test_dead_letters_are_recorded_once(self, store: Store) -> None:
        letter = DeadLetter("cases", 0, 5, "unknown_type", "not in the catalog")
        with store.transaction() as tx:
            tx.record_dead_letters([letter])
        with store.transaction() as tx:
            tx.record_dead_letters([letter])  # a redelivered batch: no error, no second row
