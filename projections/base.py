"""What a projection is: a pure fold of one aggregate's events, plus how its state becomes a table row.

The consumer engine owns everything that is not domain logic (deduplication, ordering, late events,
persistence), so a projection is just ``initial``, ``apply`` and ``row``, all pure and testable with plain
lists of events.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from functools import reduce
from typing import Any, Generic, Protocol, TypeVar

from events.catalog import Aggregate, Event

S = TypeVar("S")


class Projection(Protocol, Generic[S]):
    """A fold of one aggregate's events into a state, and that state as a row of ``table``."""

    #: the projection family (also the generation key): 'case', 'supervision' or 'rectification'
    family: Aggregate
    #: internal table (schema-qualified) holding one row per (generation, aggregate id)
    table: str
    #: the row's columns after ``generation`` and before ``fold_state`` (the first is the aggregate id)
    columns: Sequence[str]

    def initial(self, key: str) -> S:
        """The state of an aggregate before any event."""
        ...

    def apply(self, state: S, event: Event) -> S:
        """The state after ``event``. Pure; never raises for a valid event, whatever order it comes in."""
        ...

    def row(self, state: S, now: dt.datetime) -> tuple[Any, ...]:
        """Column values (``columns`` order), including derived values such as deadlines."""
        ...

    def dump(self, state: S) -> str:
        """Serialise the state (stored as ``fold_state``)."""
        ...

    def load(self, raw: str) -> S:
        """Inverse of :meth:`dump`."""
        ...


def fold(projection: Projection[S], key: str, events: Iterable[Event]) -> S:
    """The in-order result: apply ``events`` sorted by (time, id) to the initial state."""
    ordered = sorted(events, key=lambda e: e.sort_key)
    return apply_all(projection, projection.initial(key), ordered)


def apply_all(projection: Projection[S], state: S, events: Iterable[Event]) -> S:
    """Fold ``events`` (already in order) into ``state``. A projection may define its own ``apply_all``
    with the same result but one state copy per aggregate instead of one per event (the hot path)."""
    fast = getattr(projection, "apply_all", None)
    if fast is not None:
        return fast(state, events)  # type: ignore[no-any-return]
    return reduce(projection.apply, events, state)
