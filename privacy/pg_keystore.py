"""The PostgreSQL adapter of :class:`privacy.keystore.KeyStore`, and the pseudonym key kept in the database.

:class:`CursorKeyStore` reads keys in the consumer's batch transaction and creates new ones on a side
connection (so ``--workers`` do not queue on each other); :class:`PgKeyStore` owns a connection for
``forget``, look-ups and producers. Why and how: docs/personal-data.md ("The PostgreSQL key store").
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import psycopg2
import psycopg2.extensions

from consumers.pg_store import PgStoreTx
from consumers.ports import StoreTx
from privacy.keystore import (
    KEY_BYTES,
    KeyStoreError,
    KeyWrapper,
    PersonForgotten,
    check_destroy_reason,
    check_person,
    unwrap_stored,
)
from privacy.pg_errors import access_denied
from privacy.pii import MIN_PSEUDONYM_KEY_BYTES
from privacy.text_sealing import TextSeal

__all__ = [
    "CursorKeyStore",
    "KeyStoreError",
    "PgKeyStore",
    "keystore_for_tx",
    "load_pseudonym_key",
]

PSEUDONYM_KEY = "pseudonym_key"
PSEUDONYM_KEY_CHECK = "pseudonym_key_check"
_CHECK_LABEL = b"casetrack/pseudonym-key-check/v1"

_SELECT = "SELECT person, key, kek_id FROM casetrack.person_keys WHERE person = ANY(%s)"
_INSERT = (
    "INSERT INTO casetrack.person_keys (person, key, kek_id)"
    " SELECT p, decode(k, 'hex'), %s FROM unnest(%s::text[], %s::text[]) AS w(p, k)"
    " ON CONFLICT (person) DO NOTHING RETURNING person"
)


def _unique_sorted(persons: Iterable[str]) -> list[str]:
    if isinstance(persons, str):
        raise TypeError("persons must be an iterable of str, not a str")
    # Sorted: concurrent consumers then insert (and lock) new keys in one global order, so never deadlock.
    return sorted({check_person(p) for p in persons})


class CursorKeyStore:
    """A :class:`~privacy.keystore.KeyStore` on a cursor owned by the caller; it never commits or rolls back.

    Each batch method costs one statement when every key exists (the common case: repeat petitioners and
    redeliveries), and three when some are new.
    """

    __slots__ = ("_cur", "_wrapper", "_create_with")

    def __init__(
        self,
        cur: Any,
        wrapper: KeyWrapper | None = None,
        create_with: Callable[[], psycopg2.extensions.connection] | None = None,
    ) -> None:
        self._cur = cur
        self._wrapper = wrapper
        self._create_with = create_with  # an autocommit connection for new keys (see the module docstring)

    def __repr__(self) -> str:
        return f"<CursorKeyStore kek={self._wrapper.kek_id if self._wrapper else None}>"

    __str__ = __repr__

    def __getstate__(self) -> object:
        raise TypeError("a key store cannot be pickled")

    # --- the port ------------------------------------------------------------------------------------
    def get_or_create(self, person: str) -> bytes:
        check_person(person)
        found = self.get_or_create_many([person])
        if person not in found:
            raise PersonForgotten(person)
        return found[person]

    def get(self, person: str) -> bytes | None:
        check_person(person)
        return self.get_many([person]).get(person)

    def get_or_create_many(self, persons: Iterable[str]) -> dict[str, bytes]:
        wanted = _unique_sorted(persons)
        if not wanted:
            return {}
        rows = self._select(wanted)
        missing = [p for p in wanted if p not in rows]
        if not missing:
            return self._live(rows)
        fresh = {p: secrets.token_bytes(KEY_BYTES) for p in missing}
        stored = {p: self._wrap(p, k) for p, k in fresh.items()}
        args = (self._kek_id(), list(stored), [v.hex() for v in stored.values()])
        if self._create_with is None:
            self._cur.execute(_INSERT, args)
            inserted = {r[0] for r in self._cur.fetchall()}
        else:
            with self._create_with().cursor() as side:  # autocommit: visible to our next statement
                side.execute(_INSERT, args)
                inserted = {r[0] for r in side.fetchall()}
        out = self._live(rows)
        out.update((p, fresh[p]) for p in inserted)
        lost = [p for p in missing if p not in inserted]
        if lost:  # created (or forgotten) by a concurrent transaction that committed meanwhile
            out.update(self._live(self._select(lost)))
        return out

    def get_many(self, persons: Iterable[str]) -> dict[str, bytes]:
        wanted = _unique_sorted(persons)
        return self._live(self._select(wanted)) if wanted else {}

    def destroy(self, person: str, *, requested_by: str, reason: str) -> bool:
        check_person(person)
        check_destroy_reason(requested_by, reason)
        cur = self._cur
        cur.execute(
            "INSERT INTO casetrack.person_keys (person, key, forgotten_at) VALUES (%s, NULL, now())"
            " ON CONFLICT (person) DO NOTHING RETURNING person",
            (person,),
        )
        existed = False
        if cur.fetchone() is None:  # a row exists: lock it (waiting for a batch that is creating it)
            cur.execute(
                "SELECT key IS NOT NULL FROM casetrack.person_keys WHERE person = %s FOR UPDATE", (person,)
            )
            row = cur.fetchone()
            existed = bool(row and row[0])
            # kek_id goes too: nothing about the destroyed key should remain in the live row.
            cur.execute(
                "UPDATE casetrack.person_keys SET key = NULL, kek_id = NULL,"
                " forgotten_at = COALESCE(forgotten_at, now()) WHERE person = %s",
                (person,),
            )
        cur.execute(
            "INSERT INTO casetrack.erasure_audit (person, requested_by, reason, key_existed)"
            " VALUES (%s, %s, %s, %s)",
            (person, requested_by.strip(), reason.strip(), existed),
        )
        return existed

    def is_forgotten(self, person: str) -> bool:
        check_person(person)
        self._cur.execute(
            "SELECT forgotten_at IS NOT NULL FROM casetrack.person_keys WHERE person = %s", (person,)
        )
        row = self._cur.fetchone()
        return bool(row and row[0])

    # --- internals -----------------------------------------------------------------------------------
    def _select(self, persons: Sequence[str]) -> dict[str, tuple[bytes | None, str | None]]:
        self._cur.execute(_SELECT, (list(persons),))
        return {p: (None if k is None else bytes(k), kid) for p, k, kid in self._cur.fetchall()}

    def _kek_id(self) -> str | None:
        return self._wrapper.kek_id if self._wrapper else None

    def _wrap(self, person: str, key: bytes) -> bytes:
        return self._wrapper.wrap(person, key) if self._wrapper else key

    def _live(self, rows: Mapping[str, tuple[bytes | None, str | None]]) -> dict[str, bytes]:
        out: dict[str, bytes] = {}
        for person, (stored, kek_id) in rows.items():
            if stored is not None:
                out[person] = unwrap_stored(self._wrapper, person, stored, kek_id)
        return out


def keystore_for_tx(wrapper: KeyWrapper | None) -> Callable[[StoreTx], CursorKeyStore]:
    """A function ``tx -> KeyStore`` binding keys to the consumer's batch transaction (a :class:`PgStoreTx`)."""

    def bind(tx: StoreTx) -> CursorKeyStore:
        if not isinstance(tx, PgStoreTx):
            raise TypeError("the PostgreSQL key store needs a PgStoreTx")
        return CursorKeyStore(tx.cur, wrapper, create_with=tx.side_connection)

    return bind


class PgKeyStore:
    """A :class:`~privacy.keystore.KeyStore` with its own connection; every call is one committed transaction.

    The connection opens on first use. Thread-safe (calls are serialised); use one handle per thread for
    parallelism.
    """

    __slots__ = ("_dsn", "_wrapper", "_conn", "_lock", "_application_name")

    def __init__(
        self, dsn: str, wrapper: KeyWrapper | None = None, *, application_name: str = "casetrack-keys"
    ) -> None:
        self._dsn = dsn
        self._wrapper = wrapper
        self._conn: psycopg2.extensions.connection | None = None
        self._lock = threading.Lock()
        self._application_name = application_name

    def __repr__(self) -> str:
        return f"<PgKeyStore kek={self._wrapper.kek_id if self._wrapper else None}>"

    __str__ = __repr__

    def __getstate__(self) -> object:
        raise TypeError("a key store cannot be pickled")

    def _call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            if self._conn is None or self._conn.closed:
                self._conn = psycopg2.connect(self._dsn, application_name=self._application_name)
            with access_denied(), self._conn, self._conn.cursor() as cur:  # commit, or roll back on error
                return getattr(CursorKeyStore(cur, self._wrapper), method)(*args, **kwargs)

    def get_or_create(self, person: str) -> bytes:
        key: bytes = self._call("get_or_create", person)
        return key

    def get(self, person: str) -> bytes | None:
        key: bytes | None = self._call("get", person)
        return key

    def get_or_create_many(self, persons: Iterable[str]) -> dict[str, bytes]:
        keys: dict[str, bytes] = self._call("get_or_create_many", _materialise(persons))
        return keys

    def get_many(self, persons: Iterable[str]) -> dict[str, bytes]:
        keys: dict[str, bytes] = self._call("get_many", _materialise(persons))
        return keys

    def destroy(self, person: str, *, requested_by: str, reason: str) -> bool:
        existed: bool = self._call("destroy", person, requested_by=requested_by, reason=reason)
        return existed

    def is_forgotten(self, person: str) -> bool:
        forgotten: bool = self._call("is_forgotten", person)
        return forgotten

    def save_text_seals(self, seals: Sequence[TextSeal]) -> None:
        """Store the sealed originals of masked free text (``casetrack.text_seals``), committed on return: what
        a producer sealing at the source calls before it sends the masked events (role ``casetrack_sealer``)."""
        from privacy.pg_text_seals import save_text_seals

        with self._lock:
            if self._conn is None or self._conn.closed:
                self._conn = psycopg2.connect(self._dsn, application_name=self._application_name)
            with self._conn, self._conn.cursor() as cur:
                save_text_seals(cur, seals)

    def vacuum(self) -> None:
        """``VACUUM casetrack.person_keys``: drop the dead row versions that still hold destroyed keys.

        Needs ownership of the table (or the MAINTAIN privilege); without it PostgreSQL skips with a warning
        and autovacuum does the same later.
        """
        with self._lock:
            conn = psycopg2.connect(self._dsn, application_name=self._application_name)
            try:
                conn.autocommit = True  # VACUUM cannot run inside a transaction
                with conn.cursor() as cur:
                    cur.execute("VACUUM casetrack.person_keys")
            finally:
                conn.close()

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None


def _materialise(persons: Iterable[str]) -> list[str] | str:
    # A lone str stays a str so that CursorKeyStore rejects it; a generator is consumed once, here.
    return persons if isinstance(persons, str) else list(persons)


# --- the pseudonym key ------------------------------------------------------------------------------------
def pseudonym_key_check(key: bytes) -> bytes:
    """A fingerprint of the pseudonym key (reveals nothing about it), stored to catch a changed key."""
    return hmac.new(key, _CHECK_LABEL, hashlib.sha256).digest()


def load_pseudonym_key(
    conn: psycopg2.extensions.connection, configured: bytes | None, wrapper: KeyWrapper | None = None
) -> bytes:
    """The pseudonym key: ``configured`` (from settings) if given, else the one generated into
    ``casetrack.secrets`` on first use (wrapped under the KEK, if any). Commits.

    Either way its fingerprint is recorded on first use and checked ever after: a different key would
    silently split every repeat count and orphan every data key, so it is refused with
    :class:`KeyStoreError` instead.
    """
    if configured is not None and len(configured) < MIN_PSEUDONYM_KEY_BYTES:
        raise ValueError(f"the pseudonym key must be at least {MIN_PSEUDONYM_KEY_BYTES} bytes")
    with conn, conn.cursor() as cur:
        key = configured
        if key is None:
            generated = secrets.token_bytes(KEY_BYTES)
            stored = wrapper.wrap(PSEUDONYM_KEY, generated) if wrapper else generated
            row = _secret(cur, PSEUDONYM_KEY, stored, wrapper.kek_id if wrapper else None)
            key = unwrap_stored(wrapper, PSEUDONYM_KEY, row[0], row[1])
            if len(key) < MIN_PSEUDONYM_KEY_BYTES:
                raise KeyStoreError("the stored pseudonym key is too short")
        check = pseudonym_key_check(key)
        found, _ = _secret(cur, PSEUDONYM_KEY_CHECK, check, None)
        if not hmac.compare_digest(found, check):
            raise KeyStoreError(
                "the pseudonym key differs from the one this database was built with: pseudonyms would no "
                "longer match and every data key would be orphaned (restore the original "
                "CASETRACK_PSEUDONYM_KEY, or unset it if the database generated its own)"
            )
    return key


def _secret(cur: Any, name: str, value: bytes, kek_id: str | None) -> tuple[bytes, str | None]:
    """The stored secret ``name``, stored as ``value`` first if absent (the first process wins a race).
    Reads before writing, so a role that may only read secrets (``casetrack_sealer``) gets by once one exists.
    """
    query = "SELECT value, kek_id FROM casetrack.secrets WHERE name = %s"
    cur.execute(query, (name,))
    row = cur.fetchone()
    if row is None:
        cur.execute(
            "INSERT INTO casetrack.secrets (name, value, kek_id) VALUES (%s, %s, %s) ON CONFLICT (name) DO NOTHING",
            (name, psycopg2.Binary(value), kek_id),
        )
        cur.execute(query, (name,))
        row = cur.fetchone()
    assert row is not None, "a secret row vanished (casetrack.secrets is append-only)"
    return bytes(row[0]), row[1]
