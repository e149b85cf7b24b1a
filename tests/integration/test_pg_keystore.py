"""The key-store contract against PostgreSQL (raw keys and KEK-wrapped keys), plus what only a database has:
transactions, races between a consumer batch and ``forget``, triggers, the audit table and the pseudonym key."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import psycopg2
import pytest

from privacy.keystore import KeyWrapper
from privacy.pg_keystore import CursorKeyStore, KeyStoreError, PgKeyStore, load_pseudonym_key
from tests.contracts.keystore_contract import AUDIT, KeyStoreContract, KeyStoreFactory, fresh_person
from tests.integration.helpers import query

KEK = bytes(range(1, 33))


@pytest.fixture
def handles() -> Iterator[list[PgKeyStore]]:
    made: list[PgKeyStore] = []
    yield made
    for handle in made:
        handle.close()


class TestPgKeyStore(KeyStoreContract):
    @pytest.fixture
    def make_keystore(self, database_url: str, handles: list[PgKeyStore]) -> KeyStoreFactory:
        def factory() -> PgKeyStore:
            handles.append(PgKeyStore(database_url))
            return handles[-1]

        return factory


class TestPgKeyStoreWrapped(KeyStoreContract):
    @pytest.fixture
    def make_keystore(self, database_url: str, handles: list[PgKeyStore]) -> KeyStoreFactory:
        def factory() -> PgKeyStore:
            handles.append(PgKeyStore(database_url, KeyWrapper(KEK)))
            return handles[-1]

        return factory


def test_keys_at_rest_are_wrapped_when_a_kek_is_configured(database_url: str) -> None:
    raw_store, wrapped_store = PgKeyStore(database_url), PgKeyStore(database_url, KeyWrapper(KEK))
    try:
        raw_person, wrapped_person = fresh_person(), fresh_person()
        raw_key = raw_store.get_or_create(raw_person)
        wrapped_key = wrapped_store.get_or_create(wrapped_person)
        rows = dict(
            (p, (bytes(k), kid))
            for p, k, kid in query(database_url, "SELECT person, key, kek_id FROM casetrack.person_keys")
        )
        assert rows[raw_person] == (raw_key, None)
        stored, kek_id = rows[wrapped_person]
        assert kek_id == KeyWrapper(KEK).kek_id and len(stored) == 60 and wrapped_key not in stored
        # A handle without the KEK, or with another one, refuses rather than misreading.
        with pytest.raises(KeyStoreError):
            raw_store.get(wrapped_person)
        with pytest.raises(KeyStoreError):
            PgKeyStore(database_url, KeyWrapper(bytes(32))).get(wrapped_person)
        assert wrapped_store.get(raw_person) == raw_key  # raw keys stay readable after a KEK is introduced
    finally:
        raw_store.close()
        wrapped_store.close()


def test_destroy_audits_and_clears_the_key(database_url: str) -> None:
    store = PgKeyStore(database_url, KeyWrapper(KEK))
    try:
        had, never = fresh_person(), fresh_person()
        store.get_or_create(had)
        store.destroy(had, requested_by=" clerk-7 ", reason="request 2026-118")
        store.destroy(never, **AUDIT)
        store.vacuum()
        rows = query(
            database_url,
            "SELECT person, requested_by, reason, key_existed, db_user IS NOT NULL, at IS NOT NULL"
            " FROM casetrack.erasure_audit ORDER BY audit_id",
        )
        assert rows == [
            (had, "clerk-7", "request 2026-118", True, True, True),
            (never, AUDIT["requested_by"], AUDIT["reason"], False, True, True),
        ]
        assert query(
            database_url,
            "SELECT person, key, kek_id, forgotten_at IS NOT NULL FROM casetrack.person_keys ORDER BY person",
        ) == sorted([(had, None, None, True), (never, None, None, True)])
        assert sorted(
            r[0] for r in query(database_url, "SELECT person FROM casetrack.forgotten_persons")
        ) == (sorted([had, never]))
    finally:
        store.close()


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE casetrack.person_keys SET key = '\\x00'::bytea || key, forgotten_at = NULL",
        "UPDATE casetrack.person_keys SET forgotten_at = NULL",
        "DELETE FROM casetrack.person_keys",
        "UPDATE casetrack.erasure_audit SET reason = 'x'",
        "DELETE FROM casetrack.erasure_audit",
        "TRUNCATE casetrack.erasure_audit",
    ],
)
def test_tombstones_and_the_audit_trail_are_permanent(database_url: str, statement: str) -> None:
    store = PgKeyStore(database_url)
    try:
        person = fresh_person()
        store.get_or_create(person)
        store.destroy(person, **AUDIT)
        conn = psycopg2.connect(database_url)
        try:
            with pytest.raises(psycopg2.errors.InsufficientPrivilege), conn, conn.cursor() as cur:
                cur.execute(statement)
        finally:
            conn.close()
        assert store.is_forgotten(person) and store.get(person) is None
    finally:
        store.close()


def test_a_rolled_back_batch_leaves_no_key(database_url: str) -> None:
    conn = psycopg2.connect(database_url)
    try:
        person = fresh_person()
        with conn.cursor() as cur:
            assert person in CursorKeyStore(cur).get_or_create_many([person])
        conn.rollback()
        assert query(
            database_url, "SELECT count(*) FROM casetrack.person_keys WHERE person = %s", (person,)
        ) == [(0,)]
    finally:
        conn.close()


def _in_thread(target: object) -> tuple[threading.Thread, list[object]]:
    out: list[object] = []

    def run() -> None:
        try:
            out.append(target())  # type: ignore[operator]
        except BaseException as exc:  # reported by the test
            out.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    return thread, out


def test_forget_waits_for_a_batch_creating_the_key_and_then_destroys_it(database_url: str) -> None:
    person = fresh_person()
    batch = psycopg2.connect(database_url)
    other = PgKeyStore(database_url)
    try:
        cur = batch.cursor()
        assert person in CursorKeyStore(cur).get_or_create_many([person])  # uncommitted
        thread, out = _in_thread(lambda: other.destroy(person, **AUDIT))
        time.sleep(0.5)
        assert thread.is_alive()  # blocked on the batch's row
        batch.commit()
        thread.join(30)
        assert out == [True]
        assert other.get(person) is None and other.is_forgotten(person)
    finally:
        batch.close()
        other.close()


def test_a_batch_waits_for_a_forget_in_progress_and_creates_nothing(database_url: str) -> None:
    person = fresh_person()
    forgetting = psycopg2.connect(database_url)
    other = PgKeyStore(database_url)
    try:
        cur = forgetting.cursor()
        CursorKeyStore(cur).destroy(person, **AUDIT)  # uncommitted
        thread, out = _in_thread(lambda: other.get_or_create_many([person, fresh_person()]))
        time.sleep(0.5)
        assert thread.is_alive()
        forgetting.commit()
        thread.join(30)
        assert len(out) == 1 and isinstance(out[0], dict) and person not in out[0] and len(out[0]) == 1
        assert other.get(person) is None
    finally:
        forgetting.close()
        other.close()


# --- the pseudonym key -----------------------------------------------------------------------------------
def test_pseudonym_key_is_generated_once_and_then_pinned(database_url: str) -> None:
    conn = psycopg2.connect(database_url)
    try:
        first = load_pseudonym_key(conn, None)
        assert len(first) == 32
        assert load_pseudonym_key(conn, None) == first
        assert load_pseudonym_key(conn, first) == first  # configuring the same key is fine
        with pytest.raises(KeyStoreError) as info:
            load_pseudonym_key(conn, bytes(32))  # another key would split every count
        assert first.hex() not in str(info.value)
        with pytest.raises(ValueError):
            load_pseudonym_key(conn, b"short")
    finally:
        conn.close()


def test_a_configured_pseudonym_key_is_never_stored(database_url: str) -> None:
    conn = psycopg2.connect(database_url)
    try:
        key = bytes(range(40, 72))
        assert load_pseudonym_key(conn, key) == key
        names = [r[0] for r in query(database_url, "SELECT name FROM casetrack.secrets")]
        assert names == ["pseudonym_key_check"]
        values = [bytes(r[0]) for r in query(database_url, "SELECT value FROM casetrack.secrets")]
        assert key not in values[0]
    finally:
        conn.close()


def test_a_generated_pseudonym_key_is_wrapped_under_the_kek(database_url: str) -> None:
    conn = psycopg2.connect(database_url)
    try:
        key = load_pseudonym_key(conn, None, KeyWrapper(KEK))
        ((stored, kek_id),) = query(
            database_url, "SELECT value, kek_id FROM casetrack.secrets WHERE name = 'pseudonym_key'"
        )
        assert kek_id == KeyWrapper(KEK).kek_id and key not in bytes(stored)
        assert load_pseudonym_key(conn, None, KeyWrapper(KEK)) == key
        with pytest.raises(KeyStoreError):
            load_pseudonym_key(conn, None)  # the KEK is required to read it
    finally:
        conn.close()


def test_batches_creating_one_new_key_on_side_connections_do_not_wait_for_each_other(
    database_url: str,
) -> None:
    """Consumer processes (``--workers``) create keys on a side connection: a batch that meets a person another
    uncommitted batch has just met gets the same key at once, instead of queueing on the unique index."""
    person = fresh_person()
    conns = [psycopg2.connect(database_url) for _ in range(4)]
    batch_a, batch_b, side_a, side_b = conns
    side_a.autocommit = side_b.autocommit = True
    try:
        with batch_b.cursor() as cur:
            cur.execute("SET statement_timeout = '5s'")  # a wait would fail the test instead of hanging it
        key_a = CursorKeyStore(batch_a.cursor(), create_with=lambda: side_a).get_or_create_many([person])
        key_b = CursorKeyStore(batch_b.cursor(), create_with=lambda: side_b).get_or_create_many([person])
        assert key_a == key_b and person in key_a
        batch_a.rollback()  # the key was committed on its own: a retried batch finds it
        batch_b.commit()
        assert query(
            database_url, "SELECT count(*) FROM casetrack.person_keys WHERE person = %s", (person,)
        ) == [(1,)]
    finally:
        for conn in conns:
            conn.close()
