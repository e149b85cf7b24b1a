"""``casetrack forget``: forget a person by destroying the keys of every identifier given (crypto-shredding).

Each key is destroyed and tombstoned with its ``casetrack.erasure_audit`` row (through the key store of the
:class:`~privacy.pii.Sealer`), one audit log line without personal data is written, and the destroyed keys'
dead row versions are vacuumed where the key store can. A case id reaches its sealed petitioners through the
:class:`~privacy.people.PeopleRecords` port (the only way to reach a name-only petitioner). See
docs/personal-data.md, "Forgetting a person".
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from privacy.keystore import check_destroy_reason, check_person
from privacy.people import PeopleRecords
from privacy.pii import Kind, Sealer, normalise
from privacy.text_pii import TextKind, normalise_value

__all__ = ["ForgetResult", "Identifiers", "erase", "forget"]

audit_log = logging.getLogger("casetrack.audit")


@dataclass(frozen=True, slots=True)
class ForgetResult:
    """What ``casetrack forget`` did: how many persons were tombstoned, how many of them had a key."""

    persons: int
    keys_destroyed: int


@dataclass(frozen=True, slots=True)
class Identifiers:
    """Whom to forget: a petitioner's identifiers, values written in free text, and whole cases."""

    id_number: str | None = None
    phone: str | None = None
    case_ids: tuple[str, ...] = ()
    email: str | None = None
    plate: str | None = None
    bank_card: str | None = None

    def __repr__(self) -> str:  # personal data: never in a repr that could reach a log
        return f"Identifiers(cases={len(self.case_ids)})"

    def __bool__(self) -> bool:
        return bool(
            self.id_number or self.phone or self.case_ids or self.email or self.plate or self.bank_card
        )


def erase(
    sealer: Sealer, records: PeopleRecords, who: Identifiers, *, requested_by: str, reason: str
) -> ForgetResult:
    """The whole ``forget`` command: the persons of ``who.case_ids`` (ValueError if a case has no sealed
    petitioner), then :func:`forget`, then ``VACUUM`` of the key store if it has one."""
    persons: list[str] = []
    for case_id in who.case_ids:
        found = records.case_persons(case_id)
        if not found:
            raise ValueError(f"case {case_id} has no sealed petitioner")
        persons.extend(found)
    result = forget(
        sealer,
        id_number=who.id_number,
        phone=who.phone,
        persons=persons,
        email=who.email,
        plate=who.plate,
        bank_card=who.bank_card,
        requested_by=requested_by,
        reason=reason,
    )
    vacuum = getattr(sealer.keystore, "vacuum", None)
    if vacuum is not None:
        vacuum()  # drop the dead row versions that still hold the destroyed keys
    return result


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
