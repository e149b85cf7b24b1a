"""An in-memory adapter of :class:`consumers.ports.Store`, for fast tests of the engine and runner.

It honours the same contract as the PostgreSQL adapter (the shared suite in ``tests/contracts`` checks
both): transactions are all-or-nothing (work happens on a copy that replaces the committed state only on
success), positions are compare-and-set, and the event store is append-only.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from consumers.ports import TP, DeadLetter, Fenced, PositionUpdate, StateRow, StoredEvent, Tracked
from events.catalog import Event


@dataclass
class _Data:
    events: dict[str, StoredEvent] = field(default_factory=dict)  # insertion order = append order
    states: dict[tuple[str, int, str], Tracked] = field(default_factory=dict)
    rows: dict[tuple[str, int, str], dict[str, Any]] = field(default_factory=dict)
    positions: dict[tuple[int, str, int], int] = field(default_factory=dict)
    dead_letters: dict[TP | tuple[str, int, int], DeadLetter] = field(default_factory=dict)
    live: dict[str, int] = field(default_factory=lambda: {"case": 1, "supervision": 2, "rectification": 3})


class MemoryStoreTx:
    """Operations on a private copy of the store's data."""

    def __init__(self, data: _Data) -> None:
        self.data = data

    def check_live(self, family: str, generation: int) -> None:
        if self.data.live.get(family) != generation:
            raise Fenced(f"generation {generation} of {family} is no longer live")

    def advance(self, generation: int, updates: Sequence[PositionUpdate]) -> None:
        for u in updates:
            key = (generation, u.topic, u.partition)
            current = self.data.positions.get(key)
            if u.expected is None:
                if current is not None:
                    raise Fenced(f"the stored position of {u.topic}[{u.partition}] moved")
            elif current != u.expected:
                raise Fenced(f"the stored position of {u.topic}[{u.partition}] moved")
            self.data.positions[key] = u.next_offset

    def append_events(self, events: Sequence[StoredEvent]) -> set[str]:
        new = set()
        for se in events:
            if se.event.id not in self.data.events:
                self.data.events[se.event.id] = se
                new.add(se.event.id)
        return new

    def stored_owners(self, event_ids: Sequence[str]) -> dict[str, tuple[str, str]]:
        out: dict[str, tuple[str, str]] = {}
        for i in event_ids:
            se = self.data.events.get(i)
            if se is not None:
                out[i] = (se.event.aggregate, se.event.subject)
        return out

    def load_states(
        self, table: str, key_column: str, generation: int, keys: Sequence[str]
    ) -> dict[str, Tracked]:
        return {k: t for k in keys if (t := self.data.states.get((table, generation, k))) is not None}

    def load_history(self, aggregate: str, subjects: Sequence[str]) -> dict[str, list[Event]]:
        wanted = set(subjects)
        out: dict[str, list[Event]] = {}
        for se in self.data.events.values():
            if se.event.aggregate == aggregate and se.event.subject in wanted:
                out.setdefault(se.event.subject, []).append(se.event)
        for events in out.values():
            events.sort(key=lambda e: e.sort_key)
        return out

    def save_states(
        self, table: str, columns: Sequence[str], generation: int, rows: Sequence[StateRow]
    ) -> None:
        for r in rows:
            key = str(r.values[0])
            self.data.states[(table, generation, key)] = r.tracked
            self.data.rows[(table, generation, key)] = dict(zip(columns, r.values, strict=True))

    def record_dead_letters(self, letters: Sequence[DeadLetter]) -> None:
        for d in letters:
            self.data.dead_letters.setdefault((d.topic, d.partition, d.offset), d)


class MemoryStore:
    """The whole store in a few dicts; ``rows(table, generation)`` shows what a table would hold."""

    def __init__(self) -> None:
        self._data = _Data()

    @contextmanager
    def transaction(self) -> Iterator[MemoryStoreTx]:
        work = copy.copy(self._data)
        for name in ("events", "states", "rows", "positions", "dead_letters", "live"):
            setattr(work, name, dict(getattr(self._data, name)))
        yield MemoryStoreTx(work)
        self._data = work  # reached only without an exception: all or nothing

    def positions(self, generation: int, partitions: Sequence[TP]) -> dict[TP, int]:
        wanted = set(partitions)
        return {
            (t, p): o for (g, t, p), o in self._data.positions.items() if g == generation and (t, p) in wanted
        }

    def live_generation(self, family: str) -> int:
        return self._data.live[family]

    def iter_events(self, aggregate: str, batch_size: int = 5000) -> Iterator[list[Event]]:
        events = sorted(
            (se.event for se in self._data.events.values() if se.event.aggregate == aggregate),
            key=lambda e: (e.subject, e.sort_key),
        )
        chunk: list[Event] = []
        for e in events:
            if len(chunk) >= batch_size and chunk[-1].subject != e.subject:
                yield chunk
                chunk = []
            chunk.append(e)
        if chunk:
            yield chunk

    def rows(self, table: str, generation: int) -> dict[str, dict[str, Any]]:
        """Current rows of ``table`` in ``generation``, keyed by aggregate id."""
        return {k: dict(v) for (t, g, k), v in self._data.rows.items() if t == table and g == generation}

    def dead_letters(self) -> list[DeadLetter]:
        return list(self._data.dead_letters.values())

    def event_count(self) -> int:
        return len(self._data.events)

    def close(self) -> None:
        pass
