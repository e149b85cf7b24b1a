"""The generations contract against the PostgreSQL adapter (real server, schema from Alembic), and its
translation of driver errors into the project's own."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg2
import pytest

from consumers.pg_store import PgStore
from consumers.ports import Store, StoreUnavailable
from ops.generations import Generations, GenerationsError
from ops.pg_generations import PgGenerations
from tests.contracts.generations_contract import Connect, GenerationsContract
from tests.contracts.store_contract import P
from tests.integration.test_store_pg import closed_port


class TestPgGenerations(GenerationsContract):
    @pytest.fixture
    def store(self, database_url: str) -> Iterator[Store]:
        s = PgStore(database_url)
        yield s
        s.close()

    @pytest.fixture
    def connect(self, database_url: str) -> Iterator[Connect]:
        opened: list[Generations] = []

        def make() -> Generations:
            opened.append(PgGenerations(database_url))
            return opened[-1]

        yield make
        for g in opened:
            g.close()


def test_an_unreachable_server_is_store_unavailable() -> None:
    with pytest.raises(StoreUnavailable) as caught:
        PgGenerations(f"postgresql://nobody@127.0.0.1:{closed_port()}/casetrack")
    assert isinstance(caught.value.orig, psycopg2.OperationalError)


def test_a_failed_statement_is_a_generations_error_and_the_session_goes_on(database_url: str) -> None:
    gens = PgGenerations(database_url)
    try:
        with pytest.raises(GenerationsError) as caught:
            gens.count_rows("casetrack.no_such_table", 1)
        assert isinstance(caught.value.orig, psycopg2.Error) and caught.value.__cause__ is caught.value.orig
        assert gens.count_rows(P.table, 1) == 0
        assert gens.live("case") == 1
    finally:
        gens.close()
