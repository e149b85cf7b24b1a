"""Personal data in the consumer: sealing before storage, forgetting a person, and officers' look-ups.

:class:`PersonalDataTransform` is the runner's :class:`~consumers.runner.EventTransform`. Inside the batch
transaction, before the engine appends to the event store or folds, it replaces every plaintext petitioner
with its sealed form (AES-256-GCM under the person's own key, see :mod:`privacy.pii`), and masks the personal
data written in every free-text field (:mod:`privacy.text_sealing`: placeholders in the event, the sealed
originals in ``casetrack.text_seals``), so neither the event store nor any projection ever holds plaintext. Petitioners sealed at the source pass through; those of a
forgotten person become the erased form. The keys of a batch are looked up in the batch's own transaction,
with one query when they all exist; new ones are created and committed on the store's side connection first
(see :mod:`privacy.pg_keystore`), so consumer processes never wait for each other's batches.

:func:`forget`, :func:`officer_lookup` and :func:`officer_texts` are what the ``casetrack forget`` and
``casetrack officer-lookup`` commands do (:mod:`casetrack.cli_privacy`).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import psycopg2
import psycopg2.extensions

from consumers.pg_store import PgStoreTx
from consumers.ports import StoredEvent, StoreTx
from events import data as d
from events.catalog import Event
from privacy.keystore import KeyStore, KeyWrapper, check_destroy_reason, check_person, unwrap_stored
from privacy.petitioner_memory import PetitionerMemory
from privacy.pg_text_seals import fetch_text_seals, received_petitioners, save_text_seals
from privacy.pii import (
    Kind,
    Pseudonymizer,
    Sealer,
    normalise,
    seal_events,
)
from privacy.text_pii import TextKind, normalise_value
from privacy.text_sealing import CASE_TEXT_TYPES, PLACEHOLDER, TextSeal, open_seals, protect_texts

__all__ = [
    "ForgetResult",
    "OpenedText",
    "PersonalDataTransform",
    "PetitionerIdentity",
    "forget",
    "officer_lookup",
    "officer_texts",
]

audit_log = logging.getLogger("casetrack.audit")


class PersonalDataTransform:
    """Seals the petitioners of a batch and masks the personal data in its free text (see the module
    docstring). ``keystore_for(tx)`` gives the key store bound to the batch transaction
    (:func:`privacy.pg_keystore.keystore_for_tx`); without it the sealer's own key store is used (the
    in-memory store in tests). Seals of free text go to ``casetrack.text_seals`` in the batch transaction; on
    another store (the in-memory one in tests) they are kept in :attr:`unstored_seals`.

    The detector needs each case's petitioner (their name is found in the case's texts): it remembers the
    petitioners of the last ``known_cases`` cases it saw received (:class:`PetitionerMemory`), and looks up
    the others' sealed petitioner in the event store once per batch. A text that arrives before its case's
    ``case.received`` is searched without the name (docs/personal-data.md).
    """

    def __init__(
        self,
        sealer: Sealer,
        keystore_for: Callable[[StoreTx], KeyStore] | None = None,
        *,
        known_cases: int = 50_000,
    ) -> None:
        self._sealer = sealer
        self._keystore_for = keystore_for
        self._known = PetitionerMemory(known_cases)
        self.unstored_seals: list[TextSeal] = []

    def __repr__(self) -> str:
        return f"<PersonalDataTransform {self._sealer!r} {self._known!r}>"

    def __getstate__(self) -> object:
        raise TypeError("a PersonalDataTransform holds personal data and keys and cannot be pickled")

    def __call__(self, tx: StoreTx, events: list[StoredEvent]) -> list[StoredEvent]:
        sealer = (
            self._sealer if self._keystore_for is None else self._sealer.with_keystore(self._keystore_for(tx))
        )
        originals = [se.event for se in events]
        sealed = seal_events(originals, sealer)
        self._known.remember(originals, sealed, sealer)
        self._look_up(tx, sealed, sealer)
        masked, seals = protect_texts(sealed, sealer, self._known)
        if seals:
            if isinstance(tx, PgStoreTx):
                save_text_seals(tx.cur, seals)
            else:
                self.unstored_seals.extend(seals)
        # Both steps return the same object for every event they left alone: rebuild only the others.
        return [
            se if new is se.event else StoredEvent(new, se.topic, se.partition, se.offset)
            for se, new in zip(events, masked, strict=True)
        ]

    def _look_up(self, tx: StoreTx, events: list[Event], sealer: Sealer) -> None:
        """Read the petitioners of the batch's cases not met yet from the store (one query)."""
        known = self._known
        missing = {e.subject for e in events if e.type in CASE_TEXT_TYPES and e.subject not in known}
        if not missing:
            return
        cases = sorted(missing)
        stored = _received_petitioners(tx, cases)
        for case_id in cases:
            known.put(case_id, None)  # no receipt stored yet: searched without a name (not looked up again)
        known.open(
            [(c, p["person"], p) for c, p in stored.items() if isinstance(p.get("person"), str)], sealer
        )


def _received_petitioners(tx: StoreTx, case_ids: list[str]) -> dict[str, dict[str, Any]]:
    if isinstance(tx, PgStoreTx):
        return received_petitioners(tx.cur, case_ids)
    out: dict[str, dict[str, Any]] = {}
    for case_id, history in tx.load_history("case", case_ids).items():
        for event in history:
            if isinstance(event.data, d.CaseReceived) and event.data.petitioner is not None:
                out[case_id] = event.data.petitioner.model_dump()
    return out


# --- forgetting ---------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ForgetResult:
    """What ``casetrack forget`` did: how many persons were tombstoned, how many of them had a key."""

    persons: int
    keys_destroyed: int


def forget(
    sealer: Sealer,
    *,
    id_number: str | None = None,
    phone: str | None = None,
    persons: Iterable[str] = (),
    email: str | None = None,
    plate: str | None = None,
    bank_card: str | None = None,
    requested_by: str,
    reason: str,
) -> ForgetResult:
    """Destroy the key of every identifier given (and of every listed person id, e.g. the ``a_`` person of
    a name-only petitioner), each with its ``casetrack.erasure_audit`` row, and log one audit line.
    ``email``, ``plate``, ``bank_card``: a value written in free text; its own key goes too.

    Refuses audit text that quotes an identifier being erased: the audit table is append-only, so personal
    data written into it could never be erased again. The log line names no identifier and no pseudonym.
    """
    check_destroy_reason(requested_by, reason)
    given: list[tuple[Kind, str | None]] = [("id_number", id_number), ("phone", phone)]
    petitioner: dict[Kind, str] = {k: v for k, v in given if v is not None and v.strip()}
    listed = [check_person(p) for p in persons]
    given_values: list[tuple[TextKind, str | None]] = [
        ("email", email),
        ("plate", plate),
        ("bank_card", bank_card),
    ]
    found = {k: normalise_value(k, v) for k, v in given_values if v is not None and v.strip()}
    if not petitioner and not listed and not found:
        raise ValueError("name an ID number, a phone number, a value or a person to forget")
    _refuse_identifiers_in_audit(petitioner, requested_by, reason)
    _refuse_values_in_audit(found.values(), requested_by, reason)
    listed += [sealer.pseudonymizer.of_value(kind, value) for kind, value in found.items() if value]
    outcome: dict[str, bool] = {}
    if petitioner:
        fields: dict[str, str] = {k: v for k, v in petitioner.items()}
        outcome.update(sealer.forget(fields, requested_by=requested_by, reason=reason))
    for person in listed:
        if person not in outcome:
            outcome[person] = sealer.forget_person(person, requested_by=requested_by, reason=reason)
    result = ForgetResult(len(outcome), sum(outcome.values()))
    audit_log.warning(
        "personal data erased: %d person(s) tombstoned, %d key(s) destroyed, requested by %s; "
        "details in casetrack.erasure_audit",
        result.persons,
        result.keys_destroyed,
        requested_by.strip(),
    )
    return result


def _refuse_identifiers_in_audit(petitioner: Mapping[Kind, str], *texts: str) -> None:
    for kind, raw in petitioner.items():
        value = normalise(kind, raw)
        digits = "".join(c for c in value if c.isalnum())
        for text in texts:
            squeezed = "".join(c for c in text if c.isalnum()).upper()
            if (value and value.upper() in text.upper()) or (len(digits) >= 6 and digits.upper() in squeezed):
                raise ValueError(
                    "requested_by and reason must not contain the identifier being erased "
                    "(the audit trail is append-only)"
                )


def _refuse_values_in_audit(values: Iterable[str], *texts: str) -> None:
    for value in values:
        squeezed = "".join(c for c in value if c.isalnum()).upper()
        for text in texts:
            if value.upper() in text.upper() or (
                len(squeezed) >= 6 and squeezed in "".join(c for c in text if c.isalnum()).upper()
            ):
                raise ValueError(
                    "requested_by and reason must not contain the value being erased "
                    "(the audit trail is append-only)"
                )


def case_persons(conn: psycopg2.extensions.connection, case_id: str) -> list[str]:
    """The person ids sealed in a case's ``case.received`` events (for ``forget --case``)."""
    with conn, conn.cursor() as cur:
        cur.execute(
            "SELECT DISTINCT person FROM public.case_petitioners WHERE case_id = %s AND person IS NOT NULL",
            (case_id,),
        )
        return sorted(r[0] for r in cur.fetchall())


# --- officers -----------------------------------------------------------------------------------------
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


def officer_lookup(
    conn: psycopg2.extensions.connection, case_id: str, wrapper: KeyWrapper | None = None
) -> list[PetitionerIdentity]:
    """The petitioners of one case, decrypted, for a case officer (role ``casetrack_officer``).

    Reads the sealed forms from ``public.case_petitioners`` and the keys from the audited function
    ``casetrack.petitioner_keys`` (a row in ``casetrack.identity_access_log`` per call); decrypts here.
    """
    with conn, conn.cursor() as cur:
        cur.execute(
            "SELECT event_id, person, erased, sealed FROM public.case_petitioners"
            " WHERE case_id = %s ORDER BY received_at, event_id",
            (case_id,),
        )
        rows = cur.fetchall()
        if not rows:
            return []
        cur.execute("SELECT person, key, kek_id FROM casetrack.petitioner_keys(%s)", (case_id,))
        keys = {p: unwrap_stored(wrapper, p, bytes(k), kid) for p, k, kid in cur.fetchall()}
        forgotten = {person for _, person, erased, _ in rows if erased}
    # Unsealing needs no pseudonym key: a throwaway one keeps the Sealer's constructor happy.
    sealer = Sealer(Pseudonymizer(os.urandom(32)), _FetchedKeys(keys, forgotten), cache_size=0)
    opened = sealer.unseal_many([sealed for *_, sealed in rows])
    return [
        PetitionerIdentity(case_id, event_id, person, fields)
        for (event_id, person, _, _), fields in zip(rows, opened, strict=True)
    ]


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


# --- officers: free text ------------------------------------------------------------------------------
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


def officer_texts(
    conn: psycopg2.extensions.connection,
    subject: str,
    wrapper: KeyWrapper | None = None,
    aggregate: str = "case",
) -> list[OpenedText]:
    """The masked free texts of one case (or order, or item), with their originals opened, for a case officer.

    Reads ``public.text_seals`` and the keys from the audited ``casetrack.text_keys`` (a row in
    ``casetrack.identity_access_log`` per call); decrypts here. Empty when nothing was masked."""
    rows, keys = fetch_text_seals(conn, aggregate, subject, wrapper)
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
