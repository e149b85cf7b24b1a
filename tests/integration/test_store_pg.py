"""The store contract against the PostgreSQL adapter (real server, schema from Alembic)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from consumers.pg_store import PgStore
from consumers.ports import Store
from tests.contracts.store_contract import StoreContract


class TestPgStore(StoreContract):
    @pytest.fixture
    def store(self, database_url: str) -> Iterator[Store]:
        s = PgStore(database_url)
        yield s
        s.close()
