"""An in-memory adapter of :class:`consumers.ports.Store`, for fast tests of the engine and the runner.

Same contract as the PostgreSQL adapter (``tests/contracts/store_contract.py``): all-or-nothing transactions
(work on a copy), compare-and-set positions, an append-only event store. Failures can be injected (the next
N begins, commits or reads raise a given error) to drive the runner's retry and fencing paths; see
docs/architecture.md ("Testing the consumer loop").
"""

from __future__ import annotations

import copy
from collections import deque
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

from consumers.ports import (
    TP,
    DeadLetter,
    Fenced,
    PositionUpdate,
    StateRow,
    StoredEvent,
    StoreUnavailable,
    Tracked,
)
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


FaultPoint = Literal["begin", "commit", "read"]
"""Where an injected failure strikes: opening a transaction, committing one (after its block ran, so its work
is discarded), or a read outside a transaction (``positions``, ``live_generation``)."""


class MemoryStore:
    """The whole store in a few dicts; ``rows(table, generation)`` shows what a table would hold."""

    def __init__(self) -> None:
        self._data = _Data()
        self._faults: dict[str, deque[BaseException]] = {"begin": deque(), "commit": deque(), "read": deque()}
        self.commits = 0  # transactions committed
        self.rollbacks = (
            0  # transactions rolled back (an exception in the block, or an injected commit failure)
        )

    # -- failure injection --------------------------------------------------------------------------
    def fail_next(self, at: FaultPoint, times: int = 1, error: BaseException | None = None) -> None:
        """Make the next ``times`` operations at ``at`` raise ``error`` (default: :class:`StoreUnavailable`,
        as a broken connection does); e.g. ``Fenced(...)`` at ``commit`` for a competing writer."""
        for _ in range(times):
            self._faults[at].append(error or StoreUnavailable(f"injected: the connection broke at {at}"))

    def pending_faults(self, at: FaultPoint) -> int:
        """How many injected failures at ``at`` have not struck yet."""
        return len(self._faults[at])

    def set_live(self, family: str, generation: int) -> None:
        """Swap ``family``'s live generation, as ``replay`` does (live writers of the old one get fenced)."""
        self._data.live[family] = generation

    def _strike(self, at: FaultPoint) -> None:
        if self._faults[at]:
            raise self._faults[at].popleft()

    # -- the port -----------------------------------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[MemoryStoreTx]:
        self._strike("begin")
        work = copy.copy(self._data)
        for name in ("events", "states", "rows", "positions", "dead_letters", "live"):
            setattr(work, name, dict(getattr(self._data, name)))
        try:
            yield MemoryStoreTx(work)
            self._strike("commit")
        except BaseException:
            self.rollbacks += 1
            raise
        self._data = work  # reached only without an exception: all or nothing
        self.commits += 1

    def positions(self, generation: int, partitions: Sequence[TP]) -> dict[TP, int]:
        self._strike("read")
        wanted = set(partitions)
        return {
            (t, p): o for (g, t, p), o in self._data.positions.items() if g == generation and (t, p) in wanted
        }

    def live_generation(self, family: str) -> int:
        self._strike("read")
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
