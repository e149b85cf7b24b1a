"""The store contract against the PostgreSQL adapter (real server, schema from Alembic), and its translation of
driver errors into the port's own."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import psycopg2
import pytest

from app.pg_connect import translate
from consumers.pg_store import PgStore
from consumers.ports import PositionUpdate, Store, StoreUnavailable, TransientStoreError
from tests.contracts.store_contract import StoreContract


class TestPgStore(StoreContract):
    @pytest.fixture
    def store(self, database_url: str) -> Iterator[Store]:
        s = PgStore(database_url)
        yield s
        s.close()


# -- driver errors leave as the port's own (the runner retries those without importing psycopg2) ----------
def closed_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_an_unreachable_server_is_store_unavailable() -> None:
    url = f"postgresql://nobody@127.0.0.1:{closed_port()}/casetrack"
    with pytest.raises(StoreUnavailable) as caught:
        PgStore(url)
    assert (
        isinstance(caught.value.orig, psycopg2.OperationalError)
        and caught.value.__cause__ is caught.value.orig
    )
    # The CLI's translation still recognises the connection failure behind it.
    translated = translate(caught.value, url, None)
    assert translated is not None and translated.exit_code == 4


def test_a_connection_cut_mid_batch_is_store_unavailable(database_url: str) -> None:
    store = PgStore(database_url)
    try:
        pid = store.conn.get_backend_pid()
        killer = psycopg2.connect(database_url)
        killer.autocommit = True
        with pytest.raises(StoreUnavailable), store.transaction() as tx:
            with killer.cursor() as cur:
                cur.execute("SELECT pg_terminate_backend(%s)", (pid,))
            tx.advance(1, [PositionUpdate("t", 0, None, 1)])
        killer.close()
        with pytest.raises(StoreUnavailable):
            store.positions(1, [("t", 0)])
        with pytest.raises(StoreUnavailable), store.transaction():
            pass
    finally:
        store.close()


def test_a_cancelled_statement_is_transient_but_not_unavailable(database_url: str) -> None:
    store = PgStore(database_url)
    try:
        with pytest.raises(TransientStoreError) as caught, store.transaction() as tx:
            tx.cur.execute("SET LOCAL statement_timeout = 1")
            tx.cur.execute("SELECT pg_sleep(5)")
        assert not isinstance(caught.value, StoreUnavailable)
        assert store.positions(1, [("t", 0)]) == {}  # rolled back; the connection is still good
    finally:
        store.close()
