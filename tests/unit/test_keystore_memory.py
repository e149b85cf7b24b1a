"""The key-store contract run against :class:`privacy.keystore.InMemoryKeyStore`, plus its own extras."""

from __future__ import annotations

import pickle

import pytest

from privacy.keystore import InMemoryKeyStore, KeyStore
from tests.contracts.keystore_contract import AUDIT, KeyStoreContract, KeyStoreFactory, fresh_person


class TestInMemoryKeyStore(KeyStoreContract):
    @pytest.fixture
    def make_keystore(self) -> KeyStoreFactory:
        shared = InMemoryKeyStore()  # every "handle" is the same object: one process, one store

        def factory() -> KeyStore:
            return shared

        return factory


def test_destructions_are_audited() -> None:
    store = InMemoryKeyStore()
    had_key, never_had = fresh_person(), fresh_person()
    store.get_or_create(had_key)
    store.destroy(had_key, requested_by="  clerk-7 ", reason="PIPL art. 47 request")
    store.destroy(never_had, **AUDIT)
    first, second = store.destructions()
    assert (first.person, first.requested_by, first.reason, first.key_existed) == (
        had_key,
        "clerk-7",
        "PIPL art. 47 request",
        True,
    )
    assert first.at.tzinfo is not None
    assert (second.person, second.key_existed) == (never_had, False)


def test_cannot_be_pickled() -> None:
    store = InMemoryKeyStore()
    store.get_or_create(fresh_person())
    with pytest.raises(TypeError):
        pickle.dumps(store)


def test_repr_counts_only() -> None:
    store = InMemoryKeyStore()
    store.get_or_create(fresh_person())
    store.destroy(fresh_person(), **AUDIT)
    assert repr(store) == "<InMemoryKeyStore keys=1 forgotten=1>"


def test_a_lone_string_is_not_a_batch() -> None:
    with pytest.raises(TypeError):
        InMemoryKeyStore().get_many("p_abc")
