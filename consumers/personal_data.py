"""Personal data in the consumer: sealing before storage, forgetting a person, and officers' look-ups.

:class:`PersonalDataTransform` is the runner's :class:`~consumers.runner.EventTransform`. Inside the batch
transaction, before the engine appends to the event store or folds, it replaces every plaintext petitioner
with its sealed form (AES-256-GCM under the person's own key, see :mod:`events.pii`), so neither the event
store nor any projection ever holds plaintext. Petitioners sealed at the source pass through; those of a
forgotten person become the erased form. The keys of a batch are looked up in the batch's own transaction,
with one query when they all exist; new ones are created and committed on the store's side connection first
(see :mod:`consumers.pg_keystore`), so consumer processes never wait for each other's batches.

:func:`forget` and :func:`officer_lookup` are what the ``casetrack forget`` and ``casetrack officer-lookup``
commands do (:mod:`ops.cli_privacy`).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import psycopg2
import psycopg2.extensions

from consumers.pg_keystore import unwrap_stored
from consumers.ports import StoredEvent, StoreTx
from events.keystore import KeyStore, KeyWrapper, check_destroy_reason, check_person
from events.pii import Kind, Pseudonymizer, Sealer, normalise, seal_events

__all__ = [
    "ForgetResult",
    "PersonalDataTransform",
    "PetitionerIdentity",
    "forget",
    "officer_lookup",
]

audit_log = logging.getLogger("casetrack.audit")


class PersonalDataTransform:
    """Seals the petitioners of a batch (see the module docstring). ``keystore_for(tx)`` gives the key store
    bound to the batch transaction (:func:`consumers.pg_keystore.keystore_for_tx`); without it the sealer's
    own key store is used (the in-memory store in tests)."""

    def __init__(self, sealer: Sealer, keystore_for: Callable[[StoreTx], KeyStore] | None = None) -> None:
        self._sealer = sealer
        self._keystore_for = keystore_for

    def __repr__(self) -> str:
        return f"<PersonalDataTransform {self._sealer!r}>"

    def __call__(self, tx: StoreTx, events: list[StoredEvent]) -> list[StoredEvent]:
        sealer = (
            self._sealer if self._keystore_for is None else self._sealer.with_keystore(self._keystore_for(tx))
        )
        sealed = seal_events([se.event for se in events], sealer)
        # seal_events returns the same object for every event it left alone: rebuild only the others.
        return [
            se if new is se.event else StoredEvent(new, se.topic, se.partition, se.offset)
            for se, new in zip(events, sealed, strict=True)
        ]


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
    requested_by: str,
    reason: str,
) -> ForgetResult:
    """Destroy the key of every identifier given (and of every listed person id, e.g. the ``a_`` person of
    a name-only petitioner), each with its ``casetrack.erasure_audit`` row, and log one audit line.

    Refuses audit text that quotes an identifier being erased: the audit table is append-only, so personal
    data written into it could never be erased again. The log line names no identifier and no pseudonym.
    """
    check_destroy_reason(requested_by, reason)
    given: list[tuple[Kind, str | None]] = [("id_number", id_number), ("phone", phone)]
    petitioner: dict[Kind, str] = {k: v for k, v in given if v is not None and v.strip()}
    listed = [check_person(p) for p in persons]
    if not petitioner and not listed:
        raise ValueError("name an ID number, a phone number or a person to forget")
    _refuse_identifiers_in_audit(petitioner, requested_by, reason)
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
