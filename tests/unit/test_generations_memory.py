"""The generations contract against the in-memory adapter."""

from __future__ import annotations

import pytest

from consumers.memory_store import MemoryStore
from consumers.ports import Store
from ops.memory_generations import MemoryGenerations
from tests.contracts.generations_contract import Connect, GenerationsContract


class TestMemoryGenerations(GenerationsContract):
    @pytest.fixture
    def store(self) -> Store:
        return MemoryStore()

    @pytest.fixture
    def connect(self, store: MemoryStore) -> Connect:
        first = MemoryGenerations(store)
        return first.session
