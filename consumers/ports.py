"""The consumer's port to its store, and the values that cross it.

Values built once per event or per state row are named tuples (immutable, and much cheaper to build than
frozen dataclasses); the rarer ones are frozen dataclasses.

Two adapters implement :class:`Store`: :mod:`consumers.pg_store` (PostgreSQL, production) and
:mod:`consumers.memory_store` (in memory, for fast tests of the engine). One contract test suite runs
against both (``tests/contracts/store_contract.py``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import NamedTuple, Protocol

from events.catalog import Event

TP = tuple[str, int]  # (topic, partition)


class Fenced(RuntimeError):
    """Another consumer (or a generation swap) moved the stored position: this batch must be abandoned."""


class StoredEvent(NamedTuple):
    """A valid event and where it was read."""

    event: Event
    topic: str
    partition: int
    offset: int


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """An invalid record, with the reason it was rejected (one of ``events.codec.REASONS``)."""

    topic: str
    partition: int
    offset: int
    reason: str
    detail: str
    key: bytes | None = None
    value: bytes | None = None
    headers: tuple[tuple[str, bytes], ...] = ()
    event_id: str | None = None
    event_type: str | None = None


class Tracked(NamedTuple):
    """A projection state as stored: the serialised fold plus the engine's bookkeeping."""

    fold_state: str
    applied_ids: tuple[str, ...]
    last_time: dt.datetime
    last_id: str


class StateRow(NamedTuple):
    """One row to upsert: projection columns, then the tracked state."""

    values: tuple[object, ...]
    tracked: Tracked


@dataclass(frozen=True, slots=True)
class PositionUpdate:
    """Advance one partition from ``expected`` to ``next_offset`` (compare-and-set)."""

    topic: str
    partition: int
    expected: int | None  # None: no stored position yet
    next_offset: int
    last_event_time: dt.datetime | None = None


class StoreTx(Protocol):
    """The operations of one batch, all inside one transaction."""

    def check_live(self, family: str, generation: int) -> None:
        """Raise :class:`Fenced` unless ``generation`` is (still) the live one of ``family``."""

    def advance(self, generation: int, updates: Sequence[PositionUpdate]) -> None:
        """Compare-and-set the stored positions; raise :class:`Fenced` if any moved meanwhile."""

    def append_events(self, events: Sequence[StoredEvent]) -> set[str]:
        """Append to the event store; returns the ids that were not stored before."""

    def stored_owners(self, event_ids: Sequence[str]) -> dict[str, tuple[str, str]]:
        """For stored ids: (aggregate, subject) they were stored under."""

    def load_states(
        self, table: str, key_column: str, generation: int, keys: Sequence[str]
    ) -> dict[str, Tracked]:
        """The tracked states of these aggregates in this generation (absent = never seen)."""

    def load_history(self, aggregate: str, subjects: Sequence[str]) -> dict[str, list[Event]]:
        """Every stored event of these aggregates."""

    def save_states(
        self, table: str, columns: Sequence[str], generation: int, rows: Sequence[StateRow]
    ) -> None:
        """Upsert rows (keyed by the first column)."""

    def record_dead_letters(self, letters: Sequence[DeadLetter]) -> None:
        """Remember dead-lettered positions (payloads are on the DLQ topic, never in the database)."""


class Store(Protocol):
    """Where projections, positions and the event store live."""

    def transaction(self) -> AbstractContextManager[StoreTx]:
        """One atomic unit: commits on normal exit, rolls back on exception."""

    def positions(self, generation: int, partitions: Sequence[TP]) -> dict[TP, int]:
        """Stored next offsets (absent partitions have none yet)."""

    def live_generation(self, family: str) -> int:
        """The generation analysts currently see for ``family``."""

    def iter_events(self, aggregate: str, batch_size: int = 5000) -> Iterator[list[Event]]:
        """The event store in (subject, time, id) order, in chunks that never split a subject."""

    def close(self) -> None: ...


PositionMap = Mapping[TP, int]
