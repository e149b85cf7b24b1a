"""An in-memory adapter of :class:`ops.generations.Generations`, over a :class:`consumers.memory_store.MemoryStore`
(whose rows, positions, events and live generations it reads and changes), for fast tests of replay's
bookkeeping. Same contract as :mod:`ops.pg_generations` (``tests/contracts/generations_contract.py``).

Sessions made by :meth:`MemoryGenerations.session` share the generations and the replay locks, as two
connections to one database do. A swap window is a store transaction (all or nothing), so the store's injected
failures (``MemoryStore.fail_next("commit")``) strike it too; :meth:`MemoryGenerations.fail_next_swap` makes
the commit of a swap fail.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

from consumers.memory_store import MemoryStore, MemoryStoreTx
from consumers.ports import TP, StoreUnavailable
from ops.generations import (
    FAMILIES,
    GenerationInfo,
    GenerationLive,
    GenerationsError,
    NoLiveGeneration,
    Source,
)


@dataclass
class _Book:
    """What every session shares: the recorded generations and who holds which replay lock."""

    store: MemoryStore
    generations: dict[int, GenerationInfo] = field(default_factory=dict)
    locks: dict[str, int] = field(default_factory=dict)  # family -> session id
    swap_faults: deque[BaseException] = field(default_factory=deque)
    sessions: Iterator[int] = field(default_factory=itertools.count)


def _positions(data: Any, generation: int) -> dict[TP, int]:
    return {(t, p): o for (g, t, p), o in data.positions.items() if g == generation}


def _subjects_after(data: Any, family: str, after: int, upto: int | None) -> list[str]:
    out: dict[str, None] = {}
    for seq, se in enumerate(data.events.values(), start=1):  # append order = the store's seq
        if se.event.aggregate == family and seq > after and (upto is None or seq <= upto):
            out[se.event.subject] = None
    return list(out)


class MemorySwapWindow:
    """A swap window on a store transaction's working copy."""

    def __init__(self, book: _Book, tx: MemoryStoreTx, family: str, live: int) -> None:
        self.book, self.tx, self.family, self.live = book, tx, family, live
        self.swapped = False

    def positions(self, generation: int) -> dict[TP, int]:
        return _positions(self.tx.data, generation)

    def _seqs(self) -> list[int]:
        events = enumerate(self.tx.data.events.values(), start=1)
        return [seq for seq, se in events if se.event.aggregate == self.family]

    def max_seq(self) -> int:
        return max(self._seqs(), default=0)

    def count_events(self) -> int:
        return len(self._seqs())

    def subjects_after(self, after: int, upto: int | None) -> list[str]:
        return _subjects_after(self.tx.data, self.family, after, upto)

    def store_tx(self) -> MemoryStoreTx:
        return self.tx

    def copy_positions(self, source: int, target: int) -> None:
        if _positions(self.tx.data, target):
            raise GenerationsError(f"generation {target} has stored positions already")
        for (t, p), o in _positions(self.tx.data, source).items():
            self.tx.data.positions[(target, t, p)] = o

    def set_positions(self, generation: int, positions: Mapping[TP, int]) -> None:
        for (t, p), o in positions.items():
            self.tx.data.positions[(generation, t, p)] = o

    def swap(self, new: int) -> None:
        gens = self.book.generations
        if new not in gens:
            raise GenerationsError(f"no generation {new}")
        self.tx.data.live[self.family] = new
        self.swapped = True
        gens[self.live] = replace(gens[self.live], status="retired")
        gens[new] = replace(gens[new], status="live")


class MemoryGenerations:
    """Generations in memory; one session. ``MemoryGenerations(store)`` starts from the store's live
    generations (as migration 0001 does: generations 1-3, live, from Kafka)."""

    def __init__(self, store: MemoryStore | None = None, *, _book: _Book | None = None) -> None:
        if _book is None:
            _book = _Book(store or MemoryStore())
            with _book.store.transaction() as tx:
                for family, g in tx.data.live.items():
                    _book.generations[g] = GenerationInfo(g, family, "kafka", "live")
        self.book = _book
        self.store = _book.store
        self.id = next(_book.sessions)

    def session(self) -> MemoryGenerations:
        """Another session on the same data (another connection)."""
        return MemoryGenerations(_book=self.book)

    def fail_next_swap(self, error: BaseException | None = None) -> None:
        """Make the commit of the next window that swaps raise ``error`` (default: :class:`StoreUnavailable`,
        as a connection that breaks at the commit does): the window rolls back, the old generation stays live."""
        self.book.swap_faults.append(error or StoreUnavailable("injected: the connection broke at the swap"))

    def try_lock(self, family: str) -> bool:
        _known(family)
        holder = self.book.locks.setdefault(family, self.id)
        return holder == self.id

    def unlock(self, family: str) -> None:
        if self.book.locks.get(family) == self.id:
            del self.book.locks[family]

    def create(self, family: str, source: Source) -> int:
        _known(family)
        g = max(self.book.generations, default=0) + 1
        self.book.generations[g] = GenerationInfo(g, family, source, "building")
        return g

    def live(self, family: str) -> int | None:
        with self.store.transaction() as tx:
            return tx.data.live.get(family)

    def history(self, family: str) -> list[GenerationInfo]:
        return [info for g, info in sorted(self.book.generations.items()) if info.family == family]

    def positions(self, generation: int) -> dict[TP, int]:
        with self.store.transaction() as tx:
            return _positions(tx.data, generation)

    def subjects_after(self, family: str, after: int, upto: int | None) -> list[str]:
        with self.store.transaction() as tx:
            return _subjects_after(tx.data, family, after, upto)

    def transaction(self) -> AbstractContextManager[MemoryStoreTx]:
        return self.store.transaction()

    @contextmanager
    def window(self, family: str) -> Iterator[MemorySwapWindow]:
        saved = dict(self.book.generations)
        try:
            with self.store.transaction() as tx:
                live = tx.data.live.get(family)
                if live is None:
                    raise NoLiveGeneration(f"no live generation for {family}: run `casetrack migrate`")
                window = MemorySwapWindow(self.book, tx, family, live)
                yield window
                if window.swapped and self.book.swap_faults:
                    raise self.book.swap_faults.popleft()
        except BaseException:
            self.book.generations = saved  # the store rolled back its part
            raise

    def abandon(self, generation: int) -> bool:
        info = self.book.generations.get(generation)
        if info is None or info.status != "building":
            return False
        self.book.generations[generation] = replace(info, status="abandoned")
        return True

    def count_rows(self, table: str, generation: int) -> int:
        return len(self.store.rows(table, generation))

    def delete_rows(self, table: str, key_column: str, generation: int, limit: int) -> int:
        with self.store.transaction() as tx:
            _refuse_live(tx, generation)
            keys = [k for (t, g, k) in tx.data.rows if t == table and g == generation][:limit]
            for k in keys:
                del tx.data.rows[(table, generation, k)]
                tx.data.states.pop((table, generation, k), None)
        return len(keys)

    def forget_positions(self, generation: int) -> None:
        with self.store.transaction() as tx:
            _refuse_live(tx, generation)
            for key in [k for k in tx.data.positions if k[0] == generation]:
                del tx.data.positions[key]

    def close(self) -> None:
        for family in [f for f, s in self.book.locks.items() if s == self.id]:
            del self.book.locks[family]


def _refuse_live(tx: MemoryStoreTx, generation: int) -> None:
    if generation in tx.data.live.values():
        raise GenerationLive(f"generation {generation} is live")


def _known(family: str) -> None:
    if family not in FAMILIES:
        raise GenerationsError(f"unknown projection family {family!r} (known: {', '.join(FAMILIES)})")
