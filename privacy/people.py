"""The port to the stored personal data that ``casetrack forget`` and ``casetrack officer-lookup`` read: a
case's sealed petitioners, the sealed originals of masked free text, and the keys that open them.

Adapter: :mod:`privacy.pg_people` (the audited views and functions of docs/personal-data.md). The logic that
uses it is :mod:`privacy.erase` and :mod:`privacy.lookup`; it never sees the database driver.
"""

from __future__ import annotations

from typing import Any, NamedTuple, Protocol

from privacy.keystore import KeyWrapper
from privacy.text_sealing import TextSeal

__all__ = ["AccessDenied", "PeopleRecords", "StoredPetitioner"]


class AccessDenied(RuntimeError):
    """The database login lacks the role this needs (the server refused it). The message is the server's
    first line, which names a table or function, never personal data; nothing was changed."""


class StoredPetitioner(NamedTuple):
    """One sealed (or erased) petitioner of a case, as ``case.received`` stored it."""

    event_id: str
    person: str
    erased: bool
    sealed: dict[str, Any]


class PeopleRecords(Protocol):
    """Reads of sealed personal data. Each call is one transaction; a key fetch is audited by the database
    (a row in ``casetrack.identity_access_log``) and happens only when there is something to open.
    Adapters raise :class:`AccessDenied` when the login lacks the role."""

    def case_persons(self, case_id: str) -> list[str]:
        """The person ids sealed in a case's ``case.received`` events, sorted (for ``forget --case``)."""
        ...

    def petitioners(
        self, case_id: str, wrapper: KeyWrapper | None
    ) -> tuple[list[StoredPetitioner], dict[str, bytes]]:
        """A case's sealed petitioners in the order received, and the (unwrapped) keys of their persons
        still alive. No petitioner: no key fetch."""
        ...

    def text_seals(
        self, aggregate: str, subject: str, wrapper: KeyWrapper | None
    ) -> tuple[list[tuple[TextSeal, str | None]], dict[str, bytes]]:
        """One aggregate's seals of free text with the masked text of their field, and the keys that open
        them. No seal: no key fetch."""
        ...
