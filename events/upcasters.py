"""Upcasters: pure functions that lift one event payload from schema version N to N+1.

The codec applies them in a chain until the payload reaches the newest version in
:data:`events.catalog.EVENT_TYPES`, so projections only ever see the newest shape. To evolve an event:
bump its version in the catalog, change its model in :mod:`events.data`, and register the
``(type, old_version)`` upcaster here. Old messages on Kafka and in the event store keep working.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Payload = dict[str, Any]
Upcaster = Callable[[Payload], Payload]


def case_extended_v1_to_v2(data: Payload) -> Payload:
    """v1 said ``extra_days`` and meant the channel's unit; v2 says ``extra`` and may name the unit."""
    out = {k: v for k, v in data.items() if k != "extra_days"}
    if "extra_days" in data:
        out["extra"] = data["extra_days"]
    out.setdefault("unit", None)
    return out


#: (event type, version it upgrades FROM) -> upcaster
UPCASTERS: dict[tuple[str, int], Upcaster] = {
    ("case.extended", 1): case_extended_v1_to_v2,
}


def upcast(event_type: str, version: int, newest: int, data: Payload) -> Payload:
    """Lift ``data`` from ``version`` to ``newest``. Raises ``LookupError`` if a step is missing."""
    while version < newest:
        step = UPCASTERS.get((event_type, version))
        if step is None:
            raise LookupError(f"no upcaster for {event_type} v{version} -> v{version + 1}")
        data = step(data)
        version += 1
    return data
