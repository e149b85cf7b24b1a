"""Sealing the petitioners of whole events, on both sides: the consumer before anything is stored, and a
producer that encrypts at the source (then Kafka holds no plaintext either). docs/personal-data.md.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from events import data as _data
from events.catalog import Event
from privacy.sealing import Sealed, Sealer


def seal_events(events: Sequence[Event], sealer: Sealer) -> list[Event]:
    """The events, in order, with every plaintext petitioner replaced by its sealed form (or its erased form,
    for a forgotten person). One key-store round trip for the whole list.

    The one place both sides use: the consumer, before anything reaches the event store or a projection,
    and a producer that encrypts at the source (then Kafka never holds the plaintext either). Only
    ``case.received`` carries personal data. Every other event, and a petitioner already sealed or erased, is
    returned as the same object. A petitioner without any non-blank field is dropped (``petitioner`` unset).
    The ``a_`` person of a name-only petitioner is derived from the event id, so sealing is repeatable.
    """
    positions: list[tuple[int, int]] = []  # (event index, -1 for ``petitioner`` or k for co_petitioners[k])
    petitioners: list[Mapping[str, object]] = []
    anchors: list[str] = []
    for i, event in enumerate(events):
        data = event.data
        if not isinstance(data, _data.CaseReceived):
            continue
        if type(data.petitioner) is _data.Petitioner:
            positions.append((i, -1))
            petitioners.append(data.petitioner.__dict__)  # the field values; cheaper than model_dump
            anchors.append(event.id)
        for k, co in enumerate(data.co_petitioners or ()):  # further petitioners: each under their own key
            if type(co) is _data.Petitioner:
                positions.append((i, k))
                petitioners.append(co.__dict__)
                anchors.append(f"{event.id}#{k + 1}")
    out = list(events)
    if positions:
        sealed = sealer.seal_many(petitioners, anchors=anchors)
        changes: dict[int, dict[int, Sealed | None]] = {}
        for (i, k), value in zip(positions, sealed, strict=True):
            changes.setdefault(i, {})[k] = value
        for i, by_slot in changes.items():
            out[i] = _with_petitioner(out[i], by_slot)
    return out


def seal_event(event: Event, sealer: Sealer) -> Event:
    """:func:`seal_events` for one event (a producer sending one at a time)."""
    return seal_events([event], sealer)[0]


def petitioner_model(sealed: Sealed | None) -> _data.SealedPetitioner | _data.ErasedPetitioner | None:
    """The ``events.data`` model of a sealed or erased form (validated), as events carry it."""
    if sealed is None:
        return None
    if "erased" in sealed:
        return _data.ErasedPetitioner.model_validate(sealed)
    return _data.SealedPetitioner.model_validate(sealed)


def _with_petitioner(event: Event, by_slot: Mapping[int, Sealed | None]) -> Event:
    # Validating the payload again (in pydantic-core, sealed form included) is cheaper than two model_copy
    # calls, and checks the sealed form against the catalog's model on the way. Slot -1 is ``petitioner``,
    # slot k is ``co_petitioners[k]`` (a co-petitioner with nothing to protect is dropped from the list).
    fields = dict(event.data.__dict__)
    if -1 in by_slot:
        fields["petitioner"] = by_slot[-1]
    co = fields.get("co_petitioners")
    if co and any(k >= 0 for k in by_slot):
        kept = [by_slot[k] if k in by_slot else p for k, p in enumerate(co)]
        fields["co_petitioners"] = [p for p in kept if p is not None] or None
    data = type(event.data).model_validate(fields)
    return event.model_copy(update={"data": data})
