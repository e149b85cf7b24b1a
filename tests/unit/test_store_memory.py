"""The store contract against the in-memory adapter."""

from __future__ import annotations

import pytest

from consumers.memory_store import MemoryStore
from consumers.ports import Store
from tests.contracts.store_contract import StoreContract


class TestMemoryStore(StoreContract):
    @pytest.fixture
    def store(self) -> Store:
        return MemoryStore()
