"""The behavioural contract of every :class:`privacy.keystore.KeyStore` adapter.

Subclass :class:`KeyStoreContract` in a ``test_*.py`` module under a ``Test*`` name and override the
``make_keystore`` fixture (which may depend on other fixtures, a database DSN for instance)::

    class TestPostgresKeyStore(KeyStoreContract):
        @pytest.fixture
        def make_keystore(self, pg_dsn: str) -> KeyStoreFactory:
            return lambda: PostgresKeyStore(pg_dsn)

Every call of the factory must return a new *handle* onto the *same* store (for a database: a new
connection to the same schema), so the suite can check that what one process does is seen by another. The
store need not be empty: every test works on fresh, unique person ids.
"""

from __future__ import annotations

import base64
import threading
import uuid
from collections.abc import Callable, Iterator

import pytest

from privacy.keystore import KEY_BYTES, KeyStore, PersonForgotten
from privacy.pii import Pseudonymizer, Sealer, SealError, is_erased, is_sealed

KeyStoreFactory = Callable[[], KeyStore]

PSEUDONYM_KEY = bytes(range(32))
AUDIT = {"requested_by": "contract-test", "reason": "erasure request (contract test)"}


def fresh_person() -> str:
    """A person id no other test (or earlier run against the same database) uses."""
    return "p_contract_" + uuid.uuid4().hex


def fresh_phone() -> str:
    """A random, syntactically valid mobile number, so each test gets its own pseudonym."""
    return "139" + f"{uuid.uuid4().int % 10**8:08d}"


def key_spellings(key: bytes) -> list[str]:
    return [repr(key), key.hex(), key.hex().upper(), base64.b64encode(key).decode(), str(list(key))]


class KeyStoreContract:
    """The suite. Not collected itself (no ``Test`` prefix); subclasses supply :meth:`make_keystore`."""

    @pytest.fixture
    def make_keystore(self) -> KeyStoreFactory:
        raise NotImplementedError("override the make_keystore fixture in the adapter's test class")

    @pytest.fixture
    def store(self, make_keystore: KeyStoreFactory) -> KeyStore:
        return make_keystore()

    @pytest.fixture
    def sealer(self, store: KeyStore) -> Sealer:
        return Sealer(Pseudonymizer(PSEUDONYM_KEY), store)

    # --- the single-person methods -----------------------------------------------------------------
    def test_implements_the_port(self, store: KeyStore) -> None:
        assert isinstance(store, KeyStore)

    def test_unknown_person_has_no_key_and_is_not_forgotten(self, store: KeyStore) -> None:
        person = fresh_person()
        assert store.get(person) is None
        assert store.is_forgotten(person) is False
        assert store.get(person) is None  # get never creates

    def test_create_then_get_returns_the_same_32_byte_key(self, store: KeyStore) -> None:
        person = fresh_person()
        key = store.get_or_create(person)
        assert type(key) is bytes  # not memoryview/bytearray, whatever the driver returns
        assert len(key) == KEY_BYTES
        assert store.get(person) == key

    def test_get_or_create_is_idempotent(self, store: KeyStore) -> None:
        person = fresh_person()
        first = store.get_or_create(person)
        assert all(store.get_or_create(person) == first for _ in range(5))

    def test_keys_are_random_and_distinct_per_person(self, store: KeyStore) -> None:
        keys = [store.get_or_create(fresh_person()) for _ in range(50)]
        assert len(set(keys)) == len(keys)
        assert all(len(set(key)) > 8 for key in keys)  # not constant, not a counter

    def test_keys_are_shared_between_handles(self, make_keystore: KeyStoreFactory) -> None:
        first, second = make_keystore(), make_keystore()
        person = fresh_person()
        key = first.get_or_create(person)
        assert second.get(person) == key
        assert second.get_or_create(person) == key

    # --- destruction -------------------------------------------------------------------------------
    def test_destroy_forgets_the_person(self, store: KeyStore) -> None:
        person = fresh_person()
        store.get_or_create(person)
        assert store.destroy(person, **AUDIT) is True
        assert store.get(person) is None
        assert store.is_forgotten(person) is True
        assert store.destroy(person, **AUDIT) is False  # nothing left to destroy
        assert store.is_forgotten(person) is True

    def test_no_new_key_for_a_forgotten_person(self, store: KeyStore) -> None:
        person = fresh_person()
        store.get_or_create(person)
        store.destroy(person, **AUDIT)
        with pytest.raises(PersonForgotten) as info:
            store.get_or_create(person)
        assert info.value.person == person
        assert person not in str(info.value)
        assert store.get(person) is None  # the failed call created nothing

    def test_destroying_an_unknown_person_still_tombstones_them(self, store: KeyStore) -> None:
        # An erasure request can arrive before the person's events are consumed (or replayed).
        person = fresh_person()
        assert store.destroy(person, **AUDIT) is False
        assert store.is_forgotten(person) is True
        with pytest.raises(PersonForgotten):
            store.get_or_create(person)
        assert store.get_or_create_many([person]) == {}
        assert store.get(person) is None

    def test_destroy_touches_no_one_else(self, store: KeyStore) -> None:
        kept, gone = fresh_person(), fresh_person()
        key = store.get_or_create(kept)
        store.get_or_create(gone)
        store.destroy(gone, **AUDIT)
        assert store.get(kept) == key
        assert store.is_forgotten(kept) is False

    def test_destruction_is_seen_by_other_handles(self, make_keystore: KeyStoreFactory) -> None:
        first, second = make_keystore(), make_keystore()
        person = fresh_person()
        first.get_or_create(person)
        assert second.destroy(person, **AUDIT) is True
        assert first.get(person) is None
        assert first.is_forgotten(person) is True
        assert first.get_many([person]) == {}
        with pytest.raises(PersonForgotten):
            first.get_or_create(person)

    @pytest.mark.parametrize(
        "audit",
        [
            {"requested_by": "", "reason": "why"},
            {"requested_by": "   ", "reason": "why"},
            {"requested_by": "who", "reason": ""},
            {"requested_by": "who", "reason": " \n"},
        ],
    )
    def test_destroy_requires_who_and_why(self, store: KeyStore, audit: dict[str, str]) -> None:
        person = fresh_person()
        key = store.get_or_create(person)
        with pytest.raises(ValueError):
            store.destroy(person, **audit)
        assert store.get(person) == key
        assert store.is_forgotten(person) is False

    # --- batches -----------------------------------------------------------------------------------
    def test_get_or_create_many_agrees_with_single_calls(self, store: KeyStore) -> None:
        existing, new = fresh_person(), fresh_person()
        existing_key = store.get_or_create(existing)
        got = store.get_or_create_many([existing, new, new, existing])
        assert got.keys() == {existing, new}
        assert got[existing] == existing_key
        assert all(type(k) is bytes and len(k) == KEY_BYTES for k in got.values())
        assert store.get(new) == got[new]
        assert store.get_or_create(new) == got[new]

    def test_get_or_create_many_leaves_out_and_does_not_revive_the_forgotten(self, store: KeyStore) -> None:
        alive, forgotten = fresh_person(), fresh_person()
        store.get_or_create(forgotten)
        store.destroy(forgotten, **AUDIT)
        got = store.get_or_create_many([alive, forgotten])
        assert got.keys() == {alive}
        assert store.get(forgotten) is None
        assert store.is_forgotten(forgotten) is True

    def test_get_many_agrees_with_get(self, store: KeyStore) -> None:
        alive, destroyed, unknown = fresh_person(), fresh_person(), fresh_person()
        key = store.get_or_create(alive)
        store.get_or_create(destroyed)
        store.destroy(destroyed, **AUDIT)
        got = store.get_many([alive, destroyed, unknown, alive])
        assert got == {alive: key}
        assert store.get(unknown) is None  # get_many never creates

    def test_batches_accept_any_iterable_and_empty_ones(self, store: KeyStore) -> None:
        persons = [fresh_person() for _ in range(3)]

        def once() -> Iterator[str]:
            yield from persons

        created = store.get_or_create_many(once())
        assert created.keys() == set(persons)
        assert store.get_many(once()) == created
        assert store.get_many(p for p in persons) == created
        assert store.get_or_create_many([]) == {}
        assert store.get_many(iter(())) == {}

    def test_a_consumer_sized_batch(self, store: KeyStore) -> None:
        # 5,000 persons in one call: an adapter must not hit a parameter limit or do one round trip each.
        persons = [fresh_person() for _ in range(5000)]
        created = store.get_or_create_many(persons)
        assert len(created) == 5000
        assert store.get_many(persons) == created

    # --- validation and concurrency ----------------------------------------------------------------
    @pytest.mark.parametrize("bad", ["", "p\x00x", "p" * 201])
    def test_rejects_malformed_person_ids(self, store: KeyStore, bad: str) -> None:
        with pytest.raises(ValueError):
            store.get_or_create(bad)
        with pytest.raises(ValueError):
            store.get(bad)
        with pytest.raises(ValueError):
            store.get_or_create_many([fresh_person(), bad])
        with pytest.raises(ValueError):
            store.get_many([bad])
        with pytest.raises(ValueError):
            store.destroy(bad, **AUDIT)
        with pytest.raises(ValueError):
            store.is_forgotten(bad)

    def test_concurrent_creation_yields_one_key(self, make_keystore: KeyStoreFactory) -> None:
        person = fresh_person()
        handles = [make_keystore() for _ in range(8)]
        barrier = threading.Barrier(len(handles))
        keys: list[bytes] = []
        errors: list[BaseException] = []

        def worker(handle: KeyStore) -> None:
            try:
                barrier.wait(timeout=30)
                keys.append(handle.get_or_create(person))
            except BaseException as exc:  # re-raised in the main thread below
                errors.append(exc)

        threads = [threading.Thread(target=worker, args=(h,)) for h in handles]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert not errors
        assert len(keys) == len(handles)
        assert len(set(keys)) == 1

    def test_no_key_material_in_repr(self, store: KeyStore) -> None:
        keys = [store.get_or_create(fresh_person()) for _ in range(3)]
        shown = repr(store) + str(store)
        for key in keys:
            for spelling in key_spellings(key):
                assert spelling not in shown

    # --- the sealer on top of the adapter ----------------------------------------------------------
    def test_seal_unseal_round_trip(self, sealer: Sealer) -> None:
        petitioner = {"name": "张三", "phone": fresh_phone()}
        sealed = sealer.seal(petitioner)
        assert sealed is not None and is_sealed(sealed)
        assert petitioner["name"] not in str(sealed) and petitioner["phone"] not in str(sealed)
        assert sealer.unseal(sealed) == petitioner

    def test_batch_sealing_agrees_with_single(self, sealer: Sealer) -> None:
        phone = fresh_phone()
        petitioners = [
            {"name": "甲", "phone": phone},
            None,
            {"phone": phone},
            {"name": "乙", "phone": fresh_phone()},
        ]
        sealed = sealer.seal_many(petitioners)
        assert sealed[1] is None
        assert sealed[0] is not None and sealed[2] is not None and sealed[3] is not None
        assert sealed[0]["person"] == sealed[2]["person"] != sealed[3]["person"]
        assert sealer.unseal_many(sealed) == petitioners
        assert [sealer.unseal(s) if s is not None else None for s in sealed] == petitioners

    def test_unseal_after_destroy_is_erased(self, sealer: Sealer, make_keystore: KeyStoreFactory) -> None:
        sealed = sealer.seal({"name": "王五", "phone": fresh_phone()})
        assert sealed is not None
        # Destroyed through another handle, as an erasure job in another process would.
        assert make_keystore().destroy(sealed["person"], **AUDIT) is True
        assert sealer.unseal(sealed) is None
        assert sealer.unseal_many([sealed, None]) == [None, None]

    def test_sealing_for_a_forgotten_person_yields_erased(self, sealer: Sealer, store: KeyStore) -> None:
        phone = fresh_phone()
        before = sealer.seal({"phone": phone})
        assert before is not None
        sealer.forget({"phone": phone}, **AUDIT)
        after = sealer.seal({"name": "赵六", "phone": phone})  # a replay of an old event, say
        assert after is not None and is_erased(after)
        assert after["person"] == before["person"]
        assert sealer.unseal(after) is None
        assert store.get(before["person"]) is None  # and no key was re-created

    def test_ciphertext_is_bound_to_its_person(self, sealer: Sealer) -> None:
        mine = sealer.seal({"name": "甲", "phone": fresh_phone()})
        theirs = sealer.seal({"name": "乙", "phone": fresh_phone()})
        assert mine is not None and theirs is not None
        moved = {**mine, "person": theirs["person"]}
        with pytest.raises(SealError):
            sealer.unseal(moved)
