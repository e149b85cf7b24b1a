"""Which petitioner a case's texts belong to: a bounded memory of case id -> petitioner, for the free-text
detector (:mod:`privacy.text_sealing`). No I/O.

The detector finds a petitioner's name in their case's texts, and seals a phone or ID number that is theirs
under their key. The petitioner is only in ``case.received``; a reply or a note comes later. Whoever seals
(the consumer's transform, or a producer sealing at the source) remembers the petitioners of the cases it
saw received, read before sealing, or opened when they arrive already sealed. The memory holds plaintext
names in process memory only, for at most ``size`` cases; it never logs, pickles or shows them.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from events import data as _data
from events.catalog import Event
from privacy.sealing import Sealer, SealError
from privacy.text_pii import Known

__all__ = ["PetitionerMemory"]

Entry = tuple[Known, str] | None


class PetitionerMemory(Mapping[str, Entry]):
    """``case id -> (Known, person)`` for the last ``size`` cases, or ``None`` for a case known to have no
    usable petitioner (none given, erased, or no receipt found): such a case is not looked up again."""

    __slots__ = ("_known", "_size")

    def __init__(self, size: int = 50_000) -> None:
        if size < 1:
            raise ValueError("size must be >= 1")
        self._known: OrderedDict[str, Entry] = OrderedDict()
        self._size = size

    def __repr__(self) -> str:
        return f"<PetitionerMemory {len(self._known)}/{self._size}>"

    def __getstate__(self) -> object:
        raise TypeError("a PetitionerMemory holds personal data and cannot be pickled")

    def __getitem__(self, case_id: str) -> Entry:
        return self._known[case_id]

    def get(self, case_id: str, default: Any = None) -> Any:  # the hot path: no ABC detour
        return self._known.get(case_id, default)

    def __contains__(self, case_id: object) -> bool:
        return case_id in self._known

    def __iter__(self) -> Iterator[str]:
        return iter(self._known)

    def __len__(self) -> int:
        return len(self._known)

    def remember(self, originals: Sequence[Event], sealed: Sequence[Event], sealer: Sealer) -> None:
        """The petitioners of the cases received in ``originals`` (before sealing), with the person their
        sealed form in ``sealed`` got; petitioners sealed at the source are opened with ``sealer``."""
        at_source: list[tuple[str, str, Mapping[str, Any]]] = []
        for before, after in zip(originals, sealed, strict=True):
            if before.type != "case.received":
                continue
            data, stored = before.data, after.data
            assert isinstance(data, _data.CaseReceived) and isinstance(stored, _data.CaseReceived)
            person = getattr(stored.petitioner, "person", None)
            if isinstance(data.petitioner, _data.Petitioner) and person is not None:
                self.put(before.subject, _known(data.petitioner.__dict__, person))
            elif isinstance(data.petitioner, _data.SealedPetitioner) and person is not None:
                at_source.append((before.subject, person, data.petitioner.model_dump()))
            else:
                self.put(before.subject, None)
        if at_source:
            self.open(at_source, sealer)

    def open(self, sealed: Sequence[tuple[str, str, Mapping[str, Any]]], sealer: Sealer) -> None:
        """Remember ``(case id, person, sealed petitioner)`` entries, opening them with ``sealer`` (one key-store
        round trip). An erased or damaged one is remembered as ``None``: its case's texts are searched
        without a name."""
        opened: list[dict[str, str] | None]
        try:
            opened = sealer.unseal_many([s for _, _, s in sealed])
        except SealError:
            opened = [None] * len(sealed)
        for (case_id, person, _), fields in zip(sealed, opened, strict=True):
            self.put(case_id, None if fields is None else _known(fields, person))

    def put(self, case_id: str, value: Entry) -> None:
        known = self._known
        known[case_id] = value
        known.move_to_end(case_id)
        if len(known) > self._size:
            known.popitem(last=False)


def _known(fields: Mapping[str, object], person: str) -> tuple[Known, str]:
    def text(key: str) -> str | None:
        value = fields.get(key)
        return value if isinstance(value, str) and value.strip() else None

    return Known(name=text("name"), phone=text("phone"), id_number=text("id_number")), person
