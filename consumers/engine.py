"""The fold engine: one batch of decoded events -> event store + projection rows, inside one transaction.

It owns what is common to every projection, so the projections stay pure:

* **dedup by event id**: within the batch, and against the ids each aggregate has already folded;
* **event store**: every new valid event is appended once (``ON CONFLICT DO NOTHING``); an id already stored
  under another aggregate is an ``id_conflict`` dead letter, never folded;
* **order**: events are applied in (time, id) order. If a late event sorts before what an aggregate has
  already folded, that aggregate is re-folded from its stored history, so any arrival order converges to
  the in-order result;
* **set-based writes**: states are loaded with one query per projection, folded in memory, and written
  back with one upsert.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from consumers.ports import DeadLetter, StateRow, StoredEvent, StoreTx, Tracked
from projections.base import Projection, apply_all


@dataclass
class BatchResult:
    """What one batch did, for metrics and the accounting invariant
    consumed = applied + duplicates + dead-lettered."""

    applied: int = 0
    duplicates: int = 0
    refolded_aggregates: int = 0
    conflicts: list[DeadLetter] = field(default_factory=list)
    applied_by_type: Counter[str] = field(default_factory=Counter)


class FoldEngine:
    """Folds batches for a set of projections, one per family ('case', 'supervision', 'rectification')."""

    def __init__(
        self,
        projections: Mapping[str, Projection[Any]],
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self.projections = dict(projections)
        self.clock = clock

    def run(
        self,
        tx: StoreTx,
        generations: Mapping[str, int],
        events: Sequence[StoredEvent],
    ) -> BatchResult:
        """Fold ``events`` into the given generation of each family, within ``tx``."""
        result = BatchResult()
        # 1. In-batch duplicates: first occurrence wins.
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

        # 2. Load states, drop events each aggregate has folded already (redelivery).
        states: dict[str, dict[str, Tracked]] = {}
        fresh: list[StoredEvent] = []
        for family, by_subject in by_family.items():
            proj = self.projections[family]
            loaded = tx.load_states(proj.table, proj.columns[0], generations[family], list(by_subject))
            states[family] = loaded
            for subject, items in by_subject.items():
                tracked = loaded.get(subject)
                seen = set(tracked.applied_ids) if tracked else ()
                keep = [se for se in items if se.event.id not in seen]
                result.duplicates += len(items) - len(keep)
                by_subject[subject] = keep
                fresh.extend(keep)

        # 3. Append to the event store; ids stored before under another aggregate are conflicts.
        newly_stored = tx.append_events(fresh)
        known = [se.event.id for se in fresh if se.event.id not in newly_stored]
        if known:
            owners = tx.stored_owners(known)
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

        # 4. Fold per family; re-fold from history where a late event sorts before the folded state.
        now = self.clock()
        for family, by_subject in by_family.items():
            proj = self.projections[family]
            loaded = states[family]
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
                    continue
                tracked = loaded.get(subject)
                applied = tracked.applied_ids if tracked else ()
                new_events = sorted((se.event for se in items), key=lambda e: e.sort_key)
                if subject in history:
                    wanted = set(applied).union(e.id for e in new_events)
                    replay = {e.id: e for e in history[subject] if e.id in wanted}
                    replay.update((e.id, e) for e in new_events)  # prefer the decoded objects
                    ordered = sorted(replay.values(), key=lambda e: e.sort_key)
                    state = proj.initial(subject)
                else:
                    ordered = new_events
                    state = proj.load(tracked.fold_state) if tracked else proj.initial(subject)
                state = apply_all(proj, state, ordered)
                last = max(ordered[-1].sort_key, _key(tracked)) if tracked else ordered[-1].sort_key
                rows.append(
                    StateRow(
                        proj.row(state, now),
                        Tracked(proj.dump(state), (*applied, *(e.id for e in new_events)), last[0], last[1]),
                    )
                )
                result.applied += len(new_events)
                result.applied_by_type.update(e.type for e in new_events)
            tx.save_states(proj.table, proj.columns, generations[family], rows)
        return result


def _conflict(se: StoredEvent) -> DeadLetter:
    # The runner attaches the original record's key, value and headers before the letter is published.
    return DeadLetter(
        se.topic, se.partition, se.offset, "id_conflict",
        "this event id is already used by an event of a different aggregate",
        event_id=se.event.id, event_type=se.event.type,
    )  # fmt: skip


def _key(tracked: Tracked) -> tuple[dt.datetime, str]:
    return (tracked.last_time, tracked.last_id)
