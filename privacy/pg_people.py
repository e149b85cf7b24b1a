"""The PostgreSQL adapter of :class:`privacy.people.PeopleRecords`: the officers' audited view
``public.case_petitioners``, the key functions ``casetrack.petitioner_keys`` / ``casetrack.text_keys`` (each
call logged in ``casetrack.identity_access_log``), and ``public.text_seals`` (:mod:`privacy.pg_text_seals`).

It works on a connection the caller opened (with the login whose role the command needs) and closes; each
call is one committed transaction. A refused privilege raises :class:`~privacy.people.AccessDenied`.
"""

from __future__ import annotations

import psycopg2.extensions

from privacy.keystore import KeyWrapper, unwrap_stored
from privacy.people import StoredPetitioner
from privacy.pg_errors import access_denied
from privacy.pg_text_seals import fetch_text_seals
from privacy.text_sealing import TextSeal

__all__ = ["PgPeople"]


class PgPeople:
    """Sealed personal data over ``conn`` (see the module docstring)."""

    __slots__ = ("_conn",)

    def __init__(self, conn: psycopg2.extensions.connection) -> None:
        self._conn = conn

    def __repr__(self) -> str:
        return "<PgPeople>"

    def case_persons(self, case_id: str) -> list[str]:
        conn = self._conn
        with access_denied(), conn, conn.cursor() as cur:
            cur.execute(
                "SELECT DISTINCT person FROM public.case_petitioners WHERE case_id = %s AND person IS NOT NULL",
                (case_id,),
            )
            return sorted(r[0] for r in cur.fetchall())

    def petitioners(
        self, case_id: str, wrapper: KeyWrapper | None
    ) -> tuple[list[StoredPetitioner], dict[str, bytes]]:
        conn = self._conn
        with access_denied(), conn, conn.cursor() as cur:
            cur.execute(
                "SELECT event_id, person, erased, sealed FROM public.case_petitioners"
                " WHERE case_id = %s ORDER BY received_at, event_id",
                (case_id,),
            )
            rows = [StoredPetitioner(e, p, bool(erased), sealed) for e, p, erased, sealed in cur.fetchall()]
            if not rows:
                return [], {}
            cur.execute("SELECT person, key, kek_id FROM casetrack.petitioner_keys(%s)", (case_id,))
            keys = {p: unwrap_stored(wrapper, p, bytes(k), kid) for p, k, kid in cur.fetchall()}
        return rows, keys

    def text_seals(
        self, aggregate: str, subject: str, wrapper: KeyWrapper | None
    ) -> tuple[list[tuple[TextSeal, str | None]], dict[str, bytes]]:
        with access_denied():
            return fetch_text_seals(self._conn, aggregate, subject, wrapper)
