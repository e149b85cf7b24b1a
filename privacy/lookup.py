"""``casetrack officer-lookup``: a case officer opens the personal data of one case (or order, or item).

The sealed petitioners and the sealed originals of masked free text come through the
:class:`~privacy.people.PeopleRecords` port with their keys (the database logs every key fetch); they are
decrypted here, in the officer's process. A forgotten person's data stays a placeholder. See
docs/personal-data.md ("Officers").
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass

from privacy.keystore import KeyWrapper
from privacy.people import PeopleRecords
from privacy.pii import Pseudonymizer, Sealer
from privacy.text_sealing import PLACEHOLDER, open_seals

__all__ = ["LookupResult", "OpenedText", "PetitionerIdentity", "look_up", "officer_lookup", "officer_texts"]

#: the petitioner fields shown, in this order
SHOWN_FIELDS = ("name", "phone", "id_number")


@dataclass(frozen=True, slots=True)
class PetitionerIdentity:
    """One decrypted petitioner of a case; ``fields`` is ``None`` once the person was forgotten."""

    case_id: str
    event_id: str
    person: str
    fields: dict[str, str] | None

    def __repr__(self) -> str:  # personal data: never in a repr that could reach a log
        state = "erased" if self.fields is None else "identified"
        return f"PetitionerIdentity(case_id={self.case_id!r}, event_id={self.event_id!r}, {state})"


@dataclass(frozen=True, slots=True)
class OpenedText:
    """One free-text field of an event with the personal data put back (``[电话#…]`` left where the person was
    forgotten, and counted in ``erased``). ``field`` is ``summary`` or ``measures.2``."""

    event_id: str
    field: str
    text: str
    erased: int

    def __repr__(self) -> str:  # personal data: never in a repr that could reach a log
        return f"OpenedText(event_id={self.event_id!r}, field={self.field!r}, erased={self.erased})"


def officer_lookup(
    records: PeopleRecords, case_id: str, wrapper: KeyWrapper | None = None
) -> list[PetitionerIdentity]:
    """The petitioners of one case, decrypted, for a case officer (role ``casetrack_officer``)."""
    rows, keys = records.petitioners(case_id, wrapper)
    if not rows:
        return []
    forgotten = {row.person for row in rows if row.erased}
    # Unsealing needs no pseudonym key: a throwaway one keeps the Sealer's constructor happy.
    sealer = Sealer(Pseudonymizer(os.urandom(32)), _FetchedKeys(keys, forgotten), cache_size=0)
    opened = sealer.unseal_many([row.sealed for row in rows])
    return [
        PetitionerIdentity(case_id, row.event_id, row.person, fields)
        for row, fields in zip(rows, opened, strict=True)
    ]


def officer_texts(
    records: PeopleRecords,
    subject: str,
    wrapper: KeyWrapper | None = None,
    aggregate: str = "case",
) -> list[OpenedText]:
    """The masked free texts of one case (or order, or item), with their originals opened, for a case officer.
    Empty when nothing was masked."""
    rows, keys = records.text_seals(aggregate, subject, wrapper)
    opened = open_seals([seal for seal, _ in rows], keys)
    fields: dict[tuple[str, str], tuple[str, dict[int, str | None]]] = {}
    for (seal, masked), original in zip(rows, opened, strict=True):
        entry = fields.setdefault((seal.event_id, seal.field), (masked or "", {}))
        entry[1][seal.ordinal] = original
    out: list[OpenedText] = []
    for (event_id, field), (masked, originals) in fields.items():
        erased = 0
        pieces: list[str] = []
        last = 0
        for ordinal, m in enumerate(PLACEHOLDER.finditer(masked)):
            original = originals.get(ordinal)
            pieces += [masked[last : m.start()], m.group() if original is None else original]
            erased += original is None
            last = m.end()
        out.append(OpenedText(event_id, field, "".join(pieces) + masked[last:], erased))
    return out


@dataclass(frozen=True, slots=True)
class LookupResult:
    """What one look-up found: the petitioners (cases only) and the opened texts."""

    subject: str
    petitioners: list[PetitionerIdentity]
    texts: list[OpenedText]

    def __repr__(self) -> str:  # personal data: never in a repr that could reach a log
        return f"LookupResult(subject={self.subject!r}, {len(self.petitioners)} petitioners, {len(self.texts)} texts)"

    def lines(self) -> list[str]:
        """The look-up as the command prints it: petitioners first, then each text under its event."""
        out: list[str] = []
        for p in self.petitioners:
            out.append(f"{p.case_id}  event {p.event_id}")
            if p.fields is None:
                out.append("  (erased: this person was forgotten)")
                continue
            out += [f"  {field}: {p.fields[field]}" for field in SHOWN_FIELDS if field in p.fields]
        for t in self.texts:
            erased = f"  ({t.erased} erased: forgotten)" if t.erased else ""
            out += [f"{self.subject}  event {t.event_id}  {t.field}:{erased}", f"  {t.text}"]
        return out


class NothingOnRecord(LookupError):
    """The subject has no personal data on record (no sealed petitioner, no masked text)."""


def look_up(
    records: PeopleRecords, subject: str, aggregate: str = "case", wrapper: KeyWrapper | None = None
) -> LookupResult:
    """The petitioners (of a case) and opened texts of ``subject``; :class:`NothingOnRecord` if neither."""
    found = officer_lookup(records, subject, wrapper) if aggregate == "case" else []
    texts = officer_texts(records, subject, wrapper, aggregate)
    if not found and not texts:
        raise NothingOnRecord(f"{aggregate} {subject} has no personal data on record")
    return LookupResult(subject, found, texts)


class _FetchedKeys:
    """A read-only key store over the keys one look-up fetched."""

    __slots__ = ("_keys", "_forgotten")

    def __init__(self, keys: dict[str, bytes], forgotten: set[str]) -> None:
        self._keys = keys
        self._forgotten = forgotten

    def __repr__(self) -> str:
        return f"<fetched keys={len(self._keys)}>"

    def __getstate__(self) -> object:
        raise TypeError("a key store cannot be pickled")

    def get_or_create(self, person: str) -> bytes:
        raise PermissionError("an officer look-up never creates keys")

    def get(self, person: str) -> bytes | None:
        return self._keys.get(person)

    def get_or_create_many(self, persons: Iterable[str]) -> dict[str, bytes]:
        raise PermissionError("an officer look-up never creates keys")

    def get_many(self, persons: Iterable[str]) -> dict[str, bytes]:
        return {p: self._keys[p] for p in persons if p in self._keys}

    def destroy(self, person: str, *, requested_by: str, reason: str) -> bool:
        raise PermissionError("an officer look-up never destroys keys")

    def is_forgotten(self, person: str) -> bool:
        return person in self._forgotten
