"""What a projection is: a pure fold of one aggregate's events, plus how its state becomes a table row.

The consumer engine owns everything that is not domain logic (deduplication, ordering, late events,
persistence), so a projection is just ``initial``, ``apply`` and ``row``, all pure and testable with plain
lists of events.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from functools import reduce
from typing import Any, Generic, Protocol, TypeVar

from pydantic import TypeAdapter

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
    return fold_new(projection, key, sorted(events, key=lambda e: e.sort_key))


def fold_new(projection: Projection[S], key: str, events: Iterable[Event]) -> S:
    """``apply_all`` from the initial state. A projection may define its own ``fold_new`` with the same result
    that starts from its default fields instead of copying a fresh initial state (the hot path: every new
    aggregate)."""
    fast = getattr(projection, "fold_new", None)
    if fast is not None:
        return fast(key, events)  # type: ignore[no-any-return]
    return apply_all(projection, projection.initial(key), events)


def apply_all(projection: Projection[S], state: S, events: Iterable[Event]) -> S:
    """Fold ``events`` (already in order) into ``state``. A projection may define its own ``apply_all``
    with the same result but one state copy per aggregate instead of one per event (the hot path)."""
    fast = getattr(projection, "apply_all", None)
    if fast is not None:
        return fast(state, events)  # type: ignore[no-any-return]
    return reduce(projection.apply, events, state)


# -- helpers shared by the folds -----------------------------------------------------------------------


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def field_names(cls: type) -> tuple[str, ...]:
    """The fields of a state dataclass, in declaration order (computed once per class)."""
    names = _FIELD_NAMES.get(cls)
    if names is None:
        names = _FIELD_NAMES[cls] = tuple(f.name for f in dataclasses.fields(cls))
    return names


def state_fields(state: Any) -> dict[str, Any]:
    """A private, mutable copy of a frozen state's fields."""
    return {name: getattr(state, name) for name in field_names(type(state))}


def from_fields(cls: type[S], fields: Mapping[str, Any]) -> S:
    """A frozen state from its fields. Filling the slots directly is several times cheaper than ``__init__`` or
    ``dataclasses.replace``, which matters on the hot path (one state copy per aggregate per batch)."""
    new = object.__new__(cls)
    for name in field_names(cls):
        object.__setattr__(new, name, fields[name])
    return new


def replace_fields(state: S, changes: Mapping[str, Any]) -> S:
    """``dataclasses.replace(state, **changes)``, the cheap way (see :func:`from_fields`)."""
    new = object.__new__(type(state))
    for name in field_names(type(state)):
        object.__setattr__(new, name, changes[name] if name in changes else getattr(state, name))
    return new


def counted(event_count: int, last_event_at: dt.datetime | None, event: Event) -> dict[str, Any]:
    """The bookkeeping every fold keeps: one more event, and the latest event time seen."""
    t = event.time
    return {
        "event_count": event_count + 1,
        "last_event_at": t if last_event_at is None or t > last_event_at else last_event_at,
    }


class JsonState(Generic[S]):
    """Serialises a state dataclass for ``fold_state`` (pydantic, in Rust; defaults left out)."""

    def __init__(self, cls: type[S]) -> None:
        self._adapter: TypeAdapter[S] = TypeAdapter(cls)

    def dump(self, state: S) -> str:
        return self._adapter.dump_json(state, exclude_defaults=True).decode()

    def load(self, raw: str) -> S:
        return self._adapter.validate_json(raw)
