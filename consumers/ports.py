"""The consumer's ports (the Store and the RecordSource), the values that cross them, and the errors the
adapters raise instead of their drivers' (so the loop in :mod:`consumers.runner` imports no driver).

Adapters: :mod:`consumers.pg_store` / :mod:`consumers.memory_store` and :mod:`consumers.source` /
:mod:`consumers.memory_source`, each pair under one contract suite in ``tests/contracts``. See
docs/architecture.md ("Testing the consumer loop").
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import NamedTuple, Protocol

from events.catalog import Event
from events.codec import Record

TP = tuple[str, int]  # (topic, partition)


class StoreError(RuntimeError):
    """A failure of the store, raised by its adapter in place of the driver's own error.

    ``orig`` is the driver's exception when there is one (the same attribute name as SQLAlchemy's wrappers, so
    ``app.pg_connect.translate`` recognises a connection failure behind it); it is also the ``__cause__``."""

    def __init__(self, message: str, orig: BaseException | None = None) -> None:
        super().__init__(message)
        self.orig = orig


class TransientStoreError(StoreError):
    """The batch failed but may succeed if retried on a fresh connection (a deadlock, a serialisation failure,
    a cancelled statement): it was rolled back as a whole."""


class StoreUnavailable(TransientStoreError):
    """The store could not be reached, or the connection broke (server restart, network): retry after a pause."""


class Fenced(StoreError):
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


class RecordSource(Protocol):
    """Where the runner reads records (:class:`consumers.source.KafkaSource`, or the in-memory
    :class:`consumers.memory_source.MemorySource`). Positions are owned by the caller (stored in the Store);
    ``check_positions`` and ``poll`` raise ``OffsetsAheadOfBroker`` / ``RetentionGap`` (``consumers.source``)
    when stored positions lie outside what the broker holds."""

    def partitions_of(self, topic: str) -> list[TP]: ...
    def assign(self, partitions: Sequence[TP]) -> None: ...
    def assignment(self) -> list[TP]: ...
    def pause(self, partitions: Sequence[TP]) -> None: ...
    def resume(self, partitions: Sequence[TP]) -> None: ...
    def subscribe(
        self,
        topics: Sequence[str],
        on_assigned: Callable[[list[TP]], None],
        on_revoked: Callable[[list[TP]], None],
    ) -> None: ...
    def seek(self, positions: Mapping[TP, int]) -> None: ...
    def beginning(self, partitions: Sequence[TP]) -> dict[TP, int]: ...
    def poll(self, max_records: int, timeout_ms: int) -> list[Record]: ...
    def highwater(self, tp: TP) -> int | None: ...
    def check_positions(self, positions: Mapping[TP, int]) -> None: ...
    def commit_positions(self, positions: Mapping[TP, int]) -> None: ...
    def close(self) -> None: ...


PositionMap = Mapping[TP, int]
