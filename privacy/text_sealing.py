"""Personal data in free text: masked in the event, the original sealed under its person's key. No I/O.

:func:`protect_texts` replaces each piece by a typed placeholder bound to a pseudonym (``[电话#1a2b3c4d]``)
and seals the original in a :class:`TextSeal`; masking is deterministic, so replays store identical events.
Whose key seals what: docs/personal-data.md ("Masking and sealing free text").
"""

from __future__ import annotations

import binascii
import os
import re
import types
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from events import data as _data
from events.catalog import EVENT_TYPES, Event
from privacy.pseudonyms import normalise_id_number, normalise_phone
from privacy.sealing import NONCE_BYTES, Sealer, SealError
from privacy.text_pii import LABELS, Known, Span, find, might_hold

__all__ = [
    "PLACEHOLDER",
    "TEXT_FIELDS",
    "TextSeal",
    "open_seals",
    "placeholder",
    "protect_texts",
    "text_fields_of",
]

_AAD_PREFIX: Final = b"casetrack/text/v1\x00"
#: What :func:`placeholder` writes (to put originals back in order).
PLACEHOLDER: Final = re.compile(rf"\[(?:{'|'.join(LABELS.values())})#[0-9a-f]{{8}}\]")
_TEXT_MAX: Final = 4000
_TAG_LEN: Final = 8
_PAD: Final = 32


def text_fields_of(model: type[_data.Data]) -> tuple[str, ...]:
    """The free-text fields of a payload model: those typed ``Text``, ``Text | None`` or ``list[Text]``."""
    (constraint,) = typing.get_args(_data.Text)[1:]
    out = []
    for name, info in model.model_fields.items():
        ann = info.annotation
        if ann is str and constraint in info.metadata:
            out.append(name)
            continue
        args = typing.get_args(ann)
        origin = typing.get_origin(ann)
        if (origin in (typing.Union, types.UnionType) and _data.Text in args) or (
            origin is list and args == (_data.Text,)
        ):
            out.append(name)
    return tuple(out)


#: event type -> its free-text fields (only types that have any).
TEXT_FIELDS: Final[dict[str, tuple[str, ...]]] = {
    t: fields for t, (model, _) in EVENT_TYPES.items() if (fields := text_fields_of(model))
}
#: the case event types with free text: their texts are searched for the case's petitioner too.
CASE_TEXT_TYPES: Final = frozenset(t for t in TEXT_FIELDS if t.startswith("case."))


@dataclass(frozen=True, slots=True)
class TextSeal:
    """One original piece of personal data, sealed; ``field`` is ``summary`` or ``measures.2`` (a list item),
    ``ordinal`` its placeholder's position in that text. ``nonce``/``ct`` are ``None`` when the person was
    already forgotten at sealing time (erased)."""

    event_id: str
    aggregate: str
    subject: str
    field: str
    ordinal: int
    kind: str
    person: str
    nonce: str | None
    ct: str | None

    def aad(self) -> bytes:
        """Binds the ciphertext to its person and its place: moved anywhere else, it fails authentication."""
        place = f"{self.person}\x00{self.event_id}\x00{self.field}\x00{self.ordinal}"
        return _AAD_PREFIX + place.encode("utf-8")


def placeholder(kind: str, person: str) -> str:
    """``[电话#1a2b3c4d]``: the kind's label and the first hex digits of the person's pseudonym."""
    return f"[{LABELS[kind]}#{person[2 : 2 + _TAG_LEN]}]"


@dataclass(frozen=True, slots=True)
class _Found:
    index: int
    field: str
    text: str
    spans: list[Span]


def protect_texts(
    events: Sequence[Event],
    sealer: Sealer,
    petitioners: Mapping[str, tuple[Known, str] | None] | None = None,
) -> tuple[list[Event], list[TextSeal]]:
    """The events with the personal data in their free text masked, and the seals of the originals.

    ``petitioners`` maps a case id to its petitioner (:class:`Known`) and that petitioner's person (the
    pseudonym of the sealed petitioner), or to ``None``. Events without personal data in their text are
    returned as the same objects. One key-store round trip for the whole list, and none when nothing was found.
    """
    petitioners = petitioners or {}
    found: list[_Found] = []
    no_one: tuple[Known, str] | None = None
    for i, event in enumerate(events):
        fields = TEXT_FIELDS.get(event.type)
        if fields is None:
            continue
        known = petitioners.get(event.subject) if event.type in CASE_TEXT_TYPES else no_one
        name = known[0].name if known is not None else None
        values = event.data.__dict__
        for field in fields:
            value = values[field]
            if value is None:
                continue
            if type(value) is str:
                # The detector's own first test, inlined: most texts stop here without a call.
                if might_hold(value) or (name and name in value):
                    spans = find(value, known[0] if known is not None else None)
                    if spans:
                        found.append(_Found(i, field, value, spans))
                continue
            for j, item in enumerate(value):
                spans = find(item, known[0] if known is not None else None)
                if spans:
                    found.append(_Found(i, f"{field}.{j}", item, spans))
    if not found:
        return list(events), []
    return _seal_and_mask(events, found, sealer, petitioners)


def _person_of(span: Span, known: tuple[Known, str] | None, sealer: Sealer) -> str:
    if known is not None:
        k, person = known
        kind = span.kind
        if (
            kind == "name"
            or (kind == "phone" and k.phone and span.value == normalise_phone(k.phone))
            or (kind == "id_number" and k.id_number and span.value == normalise_id_number(k.id_number))
        ):
            return person
    return sealer.pseudonymizer.of_value(span.kind, span.value)


def _seal_and_mask(
    events: Sequence[Event],
    found: list[_Found],
    sealer: Sealer,
    petitioners: Mapping[str, tuple[Known, str] | None],
) -> tuple[list[Event], list[TextSeal]]:
    plan: list[tuple[_Found, list[str]]] = []
    for f in found:
        event = events[f.index]
        known = petitioners.get(event.subject) if event.type in CASE_TEXT_TYPES else None
        plan.append((f, [_person_of(s, known, sealer) for s in f.spans]))
    persons = {p for _, ps in plan for p in ps}
    ciphers = sealer.ciphers(sealer.keystore.get_or_create_many(persons))
    nonces = os.urandom(NONCE_BYTES * sum(len(ps) for _, ps in plan))
    seals: list[TextSeal] = []
    changes: dict[int, dict[str, Any]] = {}
    n = 0
    for f, ps in plan:
        event = events[f.index]
        pieces: list[str] = []
        last = 0
        for ordinal, (span, person) in enumerate(zip(f.spans, ps, strict=True)):
            pieces += [f.text[last : span.start], placeholder(span.kind, person)]
            last = span.end
            seal = TextSeal(
                event.id, event.aggregate, event.subject, f.field, ordinal, span.kind, person, None, None
            )
            cipher = ciphers.get(person)
            if cipher is not None:  # else forgotten: an erased seal, never a readable ciphertext
                nonce = nonces[n * NONCE_BYTES : (n + 1) * NONCE_BYTES]
                plain = f.text[span.start : span.end].encode("utf-8")
                plain += b" " * (-len(plain) % _PAD)  # hides a name's length; no value ends in a space
                ct = cipher[0].encrypt(nonce, plain, seal.aad())
                seal = TextSeal(*_head(seal), _b64(nonce), _b64(ct))
            n += 1
            seals.append(seal)
        masked = "".join(pieces) + f.text[last:]
        _set(changes.setdefault(f.index, {}), event.data.__dict__, f.field, masked[:_TEXT_MAX])
    out = list(events)
    for i, update in changes.items():
        event = out[i]
        data = type(event.data).model_validate({**event.data.__dict__, **update})
        out[i] = event.model_copy(update={"data": data})
    return out, seals


def _head(seal: TextSeal) -> tuple[str, str, str, str, int, str, str]:
    return (seal.event_id, seal.aggregate, seal.subject, seal.field, seal.ordinal, seal.kind, seal.person)


def _set(update: dict[str, Any], values: Mapping[str, Any], field: str, masked: str) -> None:
    name, _, index = field.partition(".")
    if not index:
        update[name] = masked
        return
    items = update.setdefault(name, list(values[name]))
    items[int(index)] = masked


def _b64(raw: bytes) -> str:
    return binascii.b2a_base64(raw, newline=False).decode("ascii")


def open_seals(seals: Sequence[TextSeal], keys: Mapping[str, bytes]) -> list[str | None]:
    """The originals of ``seals``, in order; ``None`` where the seal is erased or its person's key is gone.
    Raises :class:`SealError` for a seal failing authentication (tampered, or moved to another place)."""
    out: list[str | None] = []
    ciphers: dict[str, AESGCM] = {}
    for seal in seals:
        key = keys.get(seal.person)
        if seal.ct is None or seal.nonce is None or key is None:
            out.append(None)
            continue
        cipher = ciphers.get(seal.person) or ciphers.setdefault(seal.person, AESGCM(key))
        try:
            plain = cipher.decrypt(binascii.a2b_base64(seal.nonce), binascii.a2b_base64(seal.ct), seal.aad())
        except (InvalidTag, binascii.Error, ValueError):
            raise SealError("a sealed text value failed authentication") from None
        out.append(plain.decode("utf-8").rstrip(" "))
    return out
