"""PostgreSQL side of free-text personal data: storing the sealed originals (``casetrack.text_seals``), finding
a case's sealed petitioner for the detector, and reading seals and keys for an officer's look-up.

Every statement is parameterised; nothing here decrypts or logs. See :mod:`privacy.text_sealing` and
docs/personal-data.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg2.extensions
import psycopg2.extras

from privacy.keystore import KeyWrapper, unwrap_stored
from privacy.text_sealing import TextSeal

__all__ = ["fetch_text_seals", "received_petitioners", "save_text_seals"]

_INSERT = (
    "INSERT INTO casetrack.text_seals (event_id, field, ordinal, aggregate, subject, kind, person, nonce, ct)"
    " VALUES %s ON CONFLICT DO NOTHING"
)


def save_text_seals(cur: Any, seals: Sequence[TextSeal]) -> None:
    """Insert seals in the caller's transaction; a seal already stored (a redelivery, a replay) is kept."""
    if not seals:
        return
    psycopg2.extras.execute_values(
        cur,
        _INSERT,
        [
            (s.event_id, s.field, s.ordinal, s.aggregate, s.subject, s.kind, s.person, s.nonce, s.ct)
            for s in seals
        ],
        page_size=1000,
    )


def received_petitioners(cur: Any, case_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """``case id -> sealed (or erased) petitioner`` from each case's stored ``case.received``."""
    if not case_ids:
        return {}
    cur.execute(
        "SELECT subject, data -> 'petitioner' FROM casetrack.event_store"
        " WHERE aggregate = 'case' AND subject = ANY(%s) AND type = 'case.received' AND data ? 'petitioner'",
        (list(case_ids),),
    )
    return {subject: sealed for subject, sealed in cur.fetchall() if isinstance(sealed, dict)}


def fetch_text_seals(
    conn: psycopg2.extensions.connection, aggregate: str, subject: str, wrapper: KeyWrapper | None
) -> tuple[list[tuple[TextSeal, str | None]], dict[str, bytes]]:
    """One aggregate's seals with the masked text of their field (``public.text_seals``), and the keys that open
    them (``casetrack.text_keys``, which logs the access). For a login in ``casetrack_officer``. No seals: no
    key fetch and no log row."""
    with conn, conn.cursor() as cur:
        cur.execute(
            "SELECT event_id, aggregate, subject, field, ordinal, kind, person, sealed ->> 'nonce',"
            " sealed ->> 'ct', masked_text"
            " FROM public.text_seals WHERE aggregate = %s AND subject = %s ORDER BY event_id, field, ordinal",
            (aggregate, subject),
        )
        seals = [(TextSeal(*row[:9]), row[9]) for row in cur.fetchall()]
        if not seals:
            return [], {}
        cur.execute("SELECT person, key, kek_id FROM casetrack.text_keys(%s, %s)", (aggregate, subject))
        keys = {p: unwrap_stored(wrapper, p, bytes(k), kid) for p, k, kid in cur.fetchall()}
    return seals, keys
