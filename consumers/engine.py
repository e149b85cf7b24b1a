"""The fold engine: one batch of decoded events -> event store + projection rows, inside one transaction.

It owns what every projection shares, so the projections stay pure folds: dedup by event id, appending to the
event store (an id stored under another aggregate is an ``id_conflict``), folding in (time, id) order with a
re-fold from history for a late event, set-based writes, and a bounded cache of committed states. See
docs/architecture.md ("How a batch is processed").
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, OrderedDict, defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from consumers.ports import DeadLetter, StateRow, StoredEvent, StoreTx, Tracked
from projections.base import Projection, apply_all, fold_new


@dataclass
class BatchResult:
    """What one batch did, for metrics and the accounting invariant
    consumed = applied + duplicates + dead-lettered."""

    applied: int = 0
    duplicates: int = 0
    refolded_aggregates: int = 0
    conflicts: list[DeadLetter] = field(default_factory=list)
    applied_by_type: Counter[str] = field(default_factory=Counter)
    #: the states this batch wrote, for the cache once the batch has committed
    written: list[tuple[CacheKey, Cached]] = field(default_factory=list)


CacheKey = tuple[str, int, str]  # (family, generation, subject)


class Cached(NamedTuple):
    """A committed state as the engine needs it: the fold itself plus the bookkeeping of :class:`Tracked`."""

    state: Any
    applied_ids: tuple[str, ...]
    last_time: dt.datetime
    last_id: str


class StateCache:
    """Committed states by (family, generation, subject), at most ``max_entries`` (least recently used out).

    An entry keeps its applied event ids as one NUL-separated string, not a tuple of strings: about 200 bytes
    instead of 460 for the usual four or five ids, a sixth of what a cached case state takes. NUL cannot occur
    in an id (the codec refuses it; PostgreSQL's text cannot hold it). docs/benchmarks.md, "2026-12-06".
    """

    def __init__(self, max_entries: int) -> None:
        self.max_entries = max_entries
        self._entries: OrderedDict[CacheKey, _Packed] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def take(self, key: CacheKey) -> Cached | None:
        # Removed on a hit: the batch either writes the entry back (commit) or the cache is cleared (rollback).
        packed = self._entries.pop(key, None)
        if packed is None:
            return None
        state, ids, last_time, last_id = packed
        return Cached(state, tuple(ids.split(_SEP)) if ids else (), last_time, last_id)

    def put_all(self, items: Sequence[tuple[CacheKey, Cached]]) -> None:
        entries = self._entries
        join = _SEP.join
        entries.update((key, (c.state, join(c.applied_ids), c.last_time, c.last_id)) for key, c in items)
        for _ in range(len(entries) - self.max_entries):
            entries.popitem(last=False)

    def clear(self) -> None:
        self._entries.clear()


_SEP = "\0"
_Packed = tuple[Any, str, dt.datetime, str]  # a Cached with its applied ids joined by _SEP


class FoldEngine:
    """Folds batches for a set of projections, one per family ('case', 'supervision', 'rectification')."""

    def __init__(
        self,
        projections: Mapping[str, Projection[Any]],
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
        cache_size: int = 0,
        expect_stored: bool = False,
    ) -> None:
        self.projections = dict(projections)
        self.clock = clock
        # A rebuild generation reads events the store holds already: ask which ones first (one indexed query)
        # instead of letting the append hit the unique index and fall back to its slow path every batch.
        self.expect_stored = expect_stored
        self.cache = StateCache(cache_size) if cache_size > 0 else None

    def committed(self, result: BatchResult) -> None:
        """The batch of ``result`` committed: its states are now what the database holds."""
        if self.cache is not None:
            self.cache.put_all(result.written)

    def forget_states(self) -> None:
        """What the database holds may differ from the cache (rollback, fence, reassignment): drop it."""
        if self.cache is not None:
            self.cache.clear()

    def run(
        self,
        tx: StoreTx,
        generations: Mapping[str, int],
        events: Sequence[StoredEvent],
    ) -> BatchResult:
        """Fold ``events`` into the given generation of each family, within ``tx``: drop duplicates, append
        the new events to the event store, then fold each family (the module docstring says how)."""
        result = BatchResult()
        by_family = _unique_by_family(events, result)
        states: dict[str, dict[str, Cached]] = {}
        fresh: list[StoredEvent] = []
        for family, by_subject in by_family.items():
            states[family] = self._load(tx, family, generations[family], list(by_subject))
            fresh += _drop_folded(by_subject, states[family], result)
        self._store(tx, fresh, by_family, result)
        now = self.clock()
        for family, by_subject in by_family.items():
            self._fold_family(tx, family, generations[family], by_subject, states[family], now, result)
        return result

    def _store(
        self,
        tx: StoreTx,
        fresh: list[StoredEvent],
        by_family: dict[str, dict[str, list[StoredEvent]]],
        result: BatchResult,
    ) -> None:
        """Append the new events to the event store; an id stored before under another aggregate is a
        conflict, taken out of ``by_family`` and never folded."""
        if self.expect_stored:
            owners = tx.stored_owners([se.event.id for se in fresh]) if fresh else {}
            rest = [se for se in fresh if se.event.id not in owners]
            newly_stored = tx.append_events(rest)
            raced = [se.event.id for se in rest if se.event.id not in newly_stored]  # stored meanwhile
            if raced:
                owners.update(tx.stored_owners(raced))
            known = list(owners)
        else:
            newly_stored = tx.append_events(fresh)
            known = [se.event.id for se in fresh if se.event.id not in newly_stored]
            owners = tx.stored_owners(known) if known else {}
        if not known:
            return
        rejected: set[str] = set()
        for se in fresh:
            owner = owners.get(se.event.id)
            if owner is not None and owner != (se.event.aggregate, se.event.subject):
                rejected.add(se.event.id)
                result.conflicts.append(_conflict(se))
        if rejected:
            for by_subject in by_family.values():
                for subject, items in by_subject.items():
                    by_subject[subject] = [se for se in items if se.event.id not in rejected]

    def _fold_family(
        self,
        tx: StoreTx,
        family: str,
        gen: int,
        by_subject: dict[str, list[StoredEvent]],
        loaded: dict[str, Cached],
        now: dt.datetime,
        result: BatchResult,
    ) -> None:
        """Fold one family's new events and write its rows; re-fold from history where a late event sorts
        before the folded state."""
        proj = self.projections[family]
        late = [
            s
            for s, items in by_subject.items()
            if items and s in loaded and min(se.event.sort_key for se in items) < _key(loaded[s])
        ]
        history = tx.load_history(family, late) if late else {}
        result.refolded_aggregates += len(late)
        rows: list[StateRow] = []
        for subject, items in by_subject.items():
            if not items:
                if subject in loaded:  # taken from the cache, unchanged: goes back as it was
                    result.written.append(((family, gen, subject), loaded[subject]))
                continue
            tracked = loaded.get(subject)
            applied = tracked.applied_ids if tracked else ()
            new_events = sorted((se.event for se in items), key=lambda e: e.sort_key)
            if subject in history:
                wanted = set(applied).union(e.id for e in new_events)
                replay = {e.id: e for e in history[subject] if e.id in wanted}
                replay.update((e.id, e) for e in new_events)  # prefer the decoded objects
                ordered = sorted(replay.values(), key=lambda e: e.sort_key)
                state = fold_new(proj, subject, ordered)
            else:
                ordered = new_events
                state = (
                    apply_all(proj, tracked.state, ordered) if tracked else fold_new(proj, subject, ordered)
                )
            last = max(ordered[-1].sort_key, _key(tracked)) if tracked else ordered[-1].sort_key
            ids = (*applied, *(e.id for e in new_events))
            rows.append(StateRow(proj.row(state, now), Tracked(proj.dump(state), ids, last[0], last[1])))
            result.written.append(((family, gen, subject), Cached(state, ids, last[0], last[1])))
            result.applied += len(new_events)
            result.applied_by_type.update(e.type for e in new_events)
        tx.save_states(proj.table, proj.columns, gen, rows)

    def _load(self, tx: StoreTx, family: str, generation: int, subjects: list[str]) -> dict[str, Cached]:
        """The committed states of ``subjects``: from the cache where it has them, else from the store."""
        out: dict[str, Cached] = {}
        missing = subjects
        if self.cache is not None:
            missing = []
            take = self.cache.take
            for subject in subjects:
                hit = take((family, generation, subject))
                if hit is None:
                    missing.append(subject)
                else:
                    out[subject] = hit
        if missing:
            proj = self.projections[family]
            for subject, t in tx.load_states(proj.table, proj.columns[0], generation, missing).items():
                out[subject] = Cached(proj.load(t.fold_state), t.applied_ids, t.last_time, t.last_id)
        return out


def _conflict(se: StoredEvent) -> DeadLetter:
    # The runner attaches the original record's key, value and headers before the letter is published.
    return DeadLetter(
        se.topic, se.partition, se.offset, "id_conflict",
        "this event id is already used by an event of a different aggregate",
        event_id=se.event.id, event_type=se.event.type,
    )  # fmt: skip


def _key(tracked: Cached) -> tuple[dt.datetime, str]:
    return (tracked.last_time, tracked.last_id)


def _unique_by_family(
    events: Sequence[StoredEvent], result: BatchResult
) -> dict[str, dict[str, list[StoredEvent]]]:
    """The batch's events by family and subject, in-batch duplicates out (the first occurrence wins; the same
    id under another aggregate is a conflict)."""
    unique: dict[str, StoredEvent] = {}
    for se in events:
        first = unique.get(se.event.id)
        if first is None:
            unique[se.event.id] = se
        elif (first.event.aggregate, first.event.subject) == (se.event.aggregate, se.event.subject):
            result.duplicates += 1
        else:
            result.conflicts.append(_conflict(se))
    by_family: dict[str, dict[str, list[StoredEvent]]] = defaultdict(lambda: defaultdict(list))
    for se in unique.values():
        by_family[se.event.aggregate][se.event.subject].append(se)
    return by_family


def _drop_folded(
    by_subject: dict[str, list[StoredEvent]], loaded: dict[str, Cached], result: BatchResult
) -> list[StoredEvent]:
    """Drop (in place) the events each aggregate has folded already (a redelivery); the rest, in order."""
    fresh: list[StoredEvent] = []
    for subject, items in by_subject.items():
        tracked = loaded.get(subject)
        seen = set(tracked.applied_ids) if tracked else ()
        keep = [se for se in items if se.event.id not in seen]
        result.duplicates += len(items) - len(keep)
        by_subject[subject] = keep
        fresh.extend(keep)
    return fresh
