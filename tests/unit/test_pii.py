"""Normalisation, pseudonyms and sealing of petitioners' personal data (:mod:`privacy.pii`)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import pickle
import re
from collections.abc import Iterable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from events.data import Petitioner
from privacy.keystore import InMemoryKeyStore
from privacy.pii import (
    ALG,
    PAD_BLOCK,
    KeyMissing,
    Pseudonymizer,
    Sealer,
    SealError,
    identity,
    is_erased,
    is_linkable,
    is_mobile,
    is_sealed,
    is_valid_id_number,
    normalise,
    normalise_id_number,
    normalise_phone,
    person_ref,
)

KEY = bytes(range(32))
AUDIT = {"requested_by": "clerk-7", "reason": "erasure request"}
ID = "11010519491231002X"  # the GB 11643 example number, checksum valid
ID2 = "440524188001010014"  # another valid one
MOBILE = "13812345678"
PSEUDONYM = re.compile(r"p_[0-9a-f]{32}")


def make_sealer(cache_size: int = 4096) -> tuple[Sealer, InMemoryKeyStore]:
    store = InMemoryKeyStore()
    return Sealer(Pseudonymizer(KEY), store, cache_size=cache_size), store


# --- ID numbers ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "spelling",
    [
        ID,
        ID.lower(),
        f" {ID[:6]} {ID[6:14]} {ID[14:]} ",
        f"{ID[:6]}-{ID[6:14]}-{ID[14:]}",
        "１１０１０５１９４９１２３１００２Ｘ",  # full width
        "１１０１０５１９４９１２３１００２ｘ",
        f"{ID}\t\n",
        ID[:6] + ID[8:17],  # the 15-digit first-generation form of the same number
    ],
)
def test_id_number_spellings_normalise_to_one(spelling: str) -> None:
    assert normalise_id_number(spelling) == ID
    assert is_valid_id_number(spelling)


def test_id_number_checksum() -> None:
    assert is_valid_id_number(ID2)
    wrong = ID2[:-1] + "5"
    assert not is_valid_id_number(wrong)
    assert normalise_id_number(wrong) == wrong  # invalid ones are still normalised, not rejected
    assert not is_valid_id_number("E12345678")
    assert not is_valid_id_number("")


def test_non_resident_identifiers_are_kept_canonically() -> None:
    assert normalise_id_number(" e1234 5678 ") == "E12345678"
    assert normalise_id_number("   ") == ""


# --- phone numbers ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "spelling",
    [
        MOBILE,
        "138 1234 5678",
        "138-1234-5678",
        "(138) 1234 5678",
        "+86 138 1234 5678",
        "+86-138-1234-5678",
        "+8613812345678",
        "0086 13812345678",
        "008613812345678",
        "8613812345678",
        "013812345678",  # trunk 0 before a mobile
        "+86 0138 1234 5678",
        "＋８６　１３８－１２３４－５６７８",  # full width, ideographic space
        "138\u20141234\u20145678",  # em dashes
        "138.1234.5678",
    ],
)
def test_mobile_spellings_normalise_to_one(spelling: str) -> None:
    assert normalise_phone(spelling) == MOBILE
    assert is_mobile(spelling)


@pytest.mark.parametrize(
    ("spelling", "expected"),
    [
        ("010-8888 6666", "01088886666"),
        ("(010) 8888-6666", "01088886666"),
        ("+86 10 8888 6666", "01088886666"),
        ("+86 (0)10 8888 6666", "01088886666"),
        ("0086 21 6666 8888", "02166668888"),
        ("12345", "12345"),  # a service number stays what it is
        ("+1 (415) 555-0100", "+14155550100"),  # a foreign number keeps its country code
        ("+852 9123 4567", "+85291234567"),
        ("  ", ""),
    ],
)
def test_other_phone_numbers(spelling: str, expected: str) -> None:
    assert normalise_phone(spelling) == expected
    assert not is_mobile(spelling)


def test_normalise_dispatches_by_kind() -> None:
    assert normalise("phone", "+86 138 1234 5678") == MOBILE
    assert normalise("id_number", ID.lower()) == ID
    with pytest.raises(ValueError):
        normalise("name", "x")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        normalise_phone(13812345678)  # type: ignore[arg-type]


@given(st.text(max_size=40))
def test_normalisation_is_idempotent(raw: str) -> None:
    for fn in (normalise_phone, normalise_id_number):
        once = fn(raw)
        assert fn(once) == once


@given(
    st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True),
    st.sampled_from(["", "+86", "+86 ", "0086", "0086-", "86", "0", "＋８６"]),
    st.sampled_from(["", " ", "-", " - ", "\u3000"]),
)
def test_any_mobile_spelling_is_one_number(mobile: str, prefix: str, sep: str) -> None:
    spelled = prefix + mobile[:3] + sep + mobile[3:7] + sep + mobile[7:]
    assert normalise_phone(spelled) == mobile


# --- who the person is --------------------------------------------------------------------------------
def test_the_id_number_defines_the_person_when_present() -> None:
    both = {"name": "张三", "phone": "138 1234 5678", "id_number": ID.lower()}
    assert identity(both) == ("id_number", ID)
    assert person_ref(both) == f"id_number:{ID}"
    assert person_ref({"phone": "+86 138 1234 5678", "id_number": "  "}) == f"phone:{MOBILE}"
    assert person_ref(Petitioner(name="张三", phone="138-1234-5678")) == f"phone:{MOBILE}"
    assert person_ref({"name": "张三"}) is None
    assert person_ref({}) is None
    assert person_ref(Petitioner()) is None


def test_petitioner_errors_never_quote_values() -> None:
    with pytest.raises(ValueError) as unknown:
        person_ref({MOBILE: "phone"})
    assert MOBILE not in str(unknown.value)
    with pytest.raises(TypeError) as not_str:
        person_ref({"phone": 13812345678})
    assert MOBILE not in str(not_str.value)
    with pytest.raises(TypeError):
        person_ref(["phone", MOBILE])  # type: ignore[arg-type]


# --- pseudonyms ---------------------------------------------------------------------------------------
def test_pseudonyms_are_stable_across_runs() -> None:
    # Pinned: a change of the derivation would silently split every repeat count and orphan every data key.
    pseudonymizer = Pseudonymizer(KEY)
    assert pseudonymizer.pseudonym("phone", MOBILE) == "p_e3d826f2e83b58059b341989f86bd792"
    assert pseudonymizer.pseudonym("id_number", ID) == "p_16fd538a52d1fc519be6c114297aefc5"
    # ... and they are exactly HMAC-SHA256(key, label ‖ kind ‖ NUL ‖ value), truncated to 128 bits.
    digest = hmac.new(KEY, b"casetrack/pseudonym/v1\x00phone\x00" + MOBILE.encode(), hashlib.sha256).digest()
    assert "p_" + digest[:16].hex() == "p_e3d826f2e83b58059b341989f86bd792"


def test_pseudonyms_ignore_spelling_and_separate_kinds_and_keys() -> None:
    pseudonymizer = Pseudonymizer(KEY)
    by_phone = pseudonymizer.pseudonym("phone", MOBILE)
    assert PSEUDONYM.fullmatch(by_phone) and is_linkable(by_phone)
    assert pseudonymizer.pseudonym("phone", "+86 138-1234-5678") == by_phone
    assert pseudonymizer.pseudonym("id_number", MOBILE) != by_phone  # domain-separated by kind
    assert Pseudonymizer(bytes(32)).pseudonym("phone", MOBILE) != by_phone
    assert pseudonymizer.pseudonym("id_number", ID[:6] + ID[8:17]) == pseudonymizer.pseudonym("id_number", ID)


def test_person_is_keyed_by_id_number_and_pseudonyms_lists_all() -> None:
    pseudonymizer = Pseudonymizer(KEY)
    both = {"phone": MOBILE, "id_number": ID}
    assert pseudonymizer.person(both) == pseudonymizer.pseudonym("id_number", ID)
    assert pseudonymizer.person({"phone": MOBILE}) == pseudonymizer.pseudonym("phone", MOBILE)
    assert pseudonymizer.person({"name": "张三"}) is None
    assert pseudonymizer.pseudonyms(both) == {
        "id_number": pseudonymizer.pseudonym("id_number", ID),
        "phone": pseudonymizer.pseudonym("phone", MOBILE),
    }
    assert pseudonymizer.pseudonyms({"name": "张三"}) == {}


def test_pseudonymizer_rejects_weak_keys_and_bad_input() -> None:
    with pytest.raises(ValueError):
        Pseudonymizer(b"short")
    with pytest.raises(TypeError):
        Pseudonymizer("k" * 32)  # type: ignore[arg-type]
    pseudonymizer = Pseudonymizer(KEY)
    with pytest.raises(ValueError):
        pseudonymizer.pseudonym("name", "张三")  # type: ignore[arg-type]
    with pytest.raises(ValueError) as empty:
        pseudonymizer.pseudonym("phone", " - ")
    assert "-" not in str(empty.value)


def _no_key_material(obj: object, keys: Iterable[bytes]) -> None:
    shown = repr(obj) + str(obj)
    for key in keys:
        for spelling in (repr(key), key.hex(), base64.b64encode(key).decode()):
            assert spelling not in shown


def test_key_holders_do_not_show_or_pickle_keys() -> None:
    sealer, store = make_sealer()
    sealed = sealer.seal({"phone": MOBILE})
    assert sealed is not None
    data_key = store.get(sealed["person"])
    assert data_key is not None
    for holder in (sealer, sealer.pseudonymizer, store):
        _no_key_material(holder, [KEY, data_key])
        with pytest.raises(TypeError):
            pickle.dumps(holder)


# --- sealing ------------------------------------------------------------------------------------------
def test_seal_round_trip_and_sealed_shape() -> None:
    sealer, _ = make_sealer()
    petitioner = Petitioner(name="张三", phone="138 1234 5678", id_number=ID.lower())
    sealed = sealer.seal(petitioner)
    assert sealed is not None
    assert set(sealed) == {"v", "alg", "person", "nonce", "ct"}
    assert (sealed["v"], sealed["alg"]) == (1, ALG)
    assert sealed["person"] == sealer.pseudonymizer.pseudonym("id_number", ID)
    assert len(base64.b64decode(sealed["nonce"])) == 12
    wire = json.dumps(sealed)
    for value in ("张三", "\\u5f20", MOBILE, "1234", ID, ID.lower()):
        assert value not in wire
    # The stored values are the ones given (only the lookup uses the normalised identifier).
    assert sealer.unseal(json.loads(wire)) == {
        "name": "张三",
        "phone": "138 1234 5678",
        "id_number": ID.lower(),
    }


def test_every_seal_has_a_fresh_nonce() -> None:
    sealer, _ = make_sealer()
    sealed = sealer.seal_many([{"phone": MOBILE}] * 200)
    assert len({s["nonce"] for s in sealed if s is not None}) == 200
    assert len({s["ct"] for s in sealed if s is not None}) == 200
    assert all(p == {"phone": MOBILE} for p in sealer.unseal_many(sealed))


def test_ciphertext_length_does_not_reveal_name_length() -> None:
    sealer, _ = make_sealer()
    sizes = {
        len(base64.b64decode(s["ct"]))
        for s in sealer.seal_many(
            [{"name": name, "phone": MOBILE} for name in ("王五", "欧阳", "司马相如", "A")]
        )
        if s is not None
    }
    assert len(sizes) == 1
    assert (sizes.pop() - 16) % PAD_BLOCK == 0


@pytest.mark.parametrize(
    "empty", [{}, {"name": None, "phone": None}, {"name": " ", "phone": ""}, Petitioner()]
)
def test_nothing_to_seal(empty: Any) -> None:
    sealer, store = make_sealer()
    assert sealer.seal(empty) is None
    assert repr(store) == "<InMemoryKeyStore keys=0 forgotten=0>"


def test_name_only_petitioners_get_an_unlinkable_person_of_their_own() -> None:
    sealer, store = make_sealer()
    first, second = sealer.seal_many([{"name": "张三"}, {"name": "张三"}])
    assert first is not None and second is not None
    assert first["person"] != second["person"]
    assert first["person"].startswith("a_") and not is_linkable(first["person"])
    assert sealer.unseal(first) == {"name": "张三"}
    assert sealer.forget_person(first["person"], **AUDIT) is True
    assert sealer.unseal(first) is None
    assert sealer.unseal(second) == {"name": "张三"}


class SealedModel(BaseModel):
    """Stand-in for ``events.data.SealedPetitioner``: the sealer accepts any pydantic model of the shape."""

    person: str
    alg: str
    nonce: str
    ct: str
    v: int = 1


def test_already_sealed_values_pass_through() -> None:
    sealer, _ = make_sealer()
    sealed = sealer.seal({"name": "张三", "phone": MOBILE})
    assert sealed is not None
    assert sealer.seal(sealed) == sealed
    assert sealer.seal(SealedModel(**sealed)) == sealed
    assert sealer.unseal(SealedModel(**sealed)) == {"name": "张三", "phone": MOBILE}
    erased = {"v": 1, "person": sealed["person"], "erased": True}
    assert sealer.seal(erased) == erased


def test_seal_many_keeps_order_and_nones() -> None:
    sealer, _ = make_sealer()
    batch: list[Any] = [None, {"phone": MOBILE}, {}, {"id_number": ID}, None]
    sealed = sealer.seal_many(batch)
    assert [s is None for s in sealed] == [True, False, True, False, True]
    assert sealer.unseal_many(sealed) == [None, {"phone": MOBILE}, None, {"id_number": ID}, None]
    assert sealer.seal_many([]) == [] and sealer.unseal_many([]) == []


@pytest.mark.parametrize(
    ("value", "sealed"),
    [
        ({"v": 1, "alg": ALG, "person": "p_x", "nonce": "A" * 16, "ct": "AAAA"}, True),
        ({"v": 1, "person": "p_x", "erased": True}, True),
        ({"name": "张三", "phone": MOBILE}, False),
        ({}, False),
        ({"v": True, "alg": ALG, "person": "p_x", "nonce": "A" * 16, "ct": "AAAA"}, False),
        ({"v": 2, "alg": ALG, "person": "p_x", "nonce": "A" * 16, "ct": "AAAA"}, False),
        ({"v": 1, "alg": "AES-128-CBC", "person": "p_x", "nonce": "A" * 16, "ct": "AAAA"}, False),
        ({"v": 1, "alg": ALG, "person": "p_x", "ct": "AAAA"}, False),
        ({"v": 1, "alg": ALG, "person": "p_x", "nonce": "A" * 16, "ct": "AAAA", "name": "张三"}, False),
        ({"v": 1, "alg": ALG, "person": "", "nonce": "A" * 16, "ct": "AAAA"}, False),
        ({"v": 1, "alg": ALG, "person": "p_x", "nonce": "A" * 16, "ct": ""}, False),
        ({"v": 1, "person": "p_x", "erased": "yes"}, False),
        ("sealed", False),
        (None, False),
    ],
)
def test_is_sealed(value: object, sealed: bool) -> None:
    assert is_sealed(value) is sealed
    assert is_erased(value) is (sealed and isinstance(value, dict) and "erased" in value)


def test_a_malformed_sealed_value_is_not_sealed_as_plaintext() -> None:
    sealer, _ = make_sealer()
    with pytest.raises(ValueError):
        sealer.seal({"v": 2, "alg": ALG, "person": "p_x", "nonce": "A" * 16, "ct": "AAAA"})


# --- tampering ----------------------------------------------------------------------------------------
def _flip(b64: str) -> str:
    raw = bytearray(base64.b64decode(b64))
    raw[0] ^= 1
    return base64.b64encode(bytes(raw)).decode()


def test_tampering_fails_authentication_without_quoting_anything() -> None:
    sealer, _ = make_sealer()
    sealed = sealer.seal({"name": "张三", "phone": MOBILE})
    other = sealer.seal({"phone": "13900000000"})
    assert sealed is not None and other is not None
    for bad in (
        {**sealed, "ct": _flip(sealed["ct"])},
        {**sealed, "nonce": _flip(sealed["nonce"])},
        {**sealed, "person": other["person"]},  # moved to another person
        {**sealed, "ct": "!!!!"},
        {**sealed, "nonce": "%" * 16},
        {**sealed, "nonce": base64.b64encode(bytes(11)).decode() + "AAAA"},
    ):
        with pytest.raises(SealError) as info:
            sealer.unseal(bad)
        for secret in ("张三", MOBILE, sealed["ct"], KEY.hex()):
            assert secret not in str(info.value)
    with pytest.raises(SealError):
        sealer.unseal({"name": "张三"})
    assert sealer.unseal(sealed) == {"name": "张三", "phone": MOBILE}


def test_a_lost_key_is_an_error_not_an_erasure() -> None:
    sealer, _ = make_sealer()
    sealed = sealer.seal({"phone": MOBILE})
    assert sealed is not None
    elsewhere = Sealer(Pseudonymizer(KEY), InMemoryKeyStore())  # a key store that never had the key
    with pytest.raises(KeyMissing) as info:
        elsewhere.unseal(sealed)
    assert info.value.person == sealed["person"]


class _BrokenStore(InMemoryKeyStore):
    def get_or_create_many(self, persons: Iterable[str]) -> dict[str, bytes]:
        return {p: b"\x00" * 16 for p in persons}


def test_a_key_of_the_wrong_length_is_refused() -> None:
    with pytest.raises(SealError):
        Sealer(Pseudonymizer(KEY), _BrokenStore()).seal({"phone": MOBILE})


# --- forgetting ---------------------------------------------------------------------------------------
def test_forget_destroys_every_identifier_of_the_person() -> None:
    sealer, store = make_sealer()
    by_id = sealer.seal({"name": "张三", "phone": MOBILE, "id_number": ID})
    by_phone = sealer.seal({"phone": "+86 138 1234 5678"})  # the same person calling, no ID given
    unrelated = sealer.seal({"phone": "13900000000"})
    assert by_id is not None and by_phone is not None and unrelated is not None
    forgotten = sealer.forget({"phone": MOBILE, "id_number": ID.lower()}, **AUDIT)
    assert forgotten == {by_id["person"]: True, by_phone["person"]: True}
    assert sealer.unseal_many([by_id, by_phone, unrelated]) == [None, None, {"phone": "13900000000"}]
    # A replay (or a new petition) by either identifier is stored erased, never readable again.
    replayed = sealer.seal_many([{"name": "张三", "id_number": ID}, {"phone": "138-1234-5678"}])
    assert all(is_erased(s) for s in replayed)
    assert [s["person"] for s in replayed if s is not None] == [by_id["person"], by_phone["person"]]
    assert [d.person for d in store.destructions()] == [by_id["person"], by_phone["person"]]


def test_forget_by_one_identifier_leaves_the_other() -> None:
    sealer, _ = make_sealer()
    by_phone = sealer.seal({"phone": MOBILE})
    sealer.forget({"id_number": ID}, **AUDIT)
    assert by_phone is not None and sealer.unseal(by_phone) == {"phone": MOBILE}


def test_forget_before_anything_was_sealed_still_blocks() -> None:
    sealer, _ = make_sealer()
    assert sealer.forget({"phone": MOBILE}, **AUDIT) == {
        sealer.pseudonymizer.pseudonym("phone", MOBILE): False
    }
    assert is_erased(sealer.seal({"name": "张三", "phone": MOBILE}))


def test_forget_needs_an_identifier_and_an_audit_trail() -> None:
    sealer, store = make_sealer()
    with pytest.raises(ValueError):
        sealer.forget({"name": "张三"}, **AUDIT)
    with pytest.raises(ValueError):
        sealer.forget({"phone": MOBILE}, requested_by="", reason="why")
    assert store.destructions() == []


# --- the AESGCM cache ---------------------------------------------------------------------------------
def test_cache_is_bounded_and_optional() -> None:
    for size in (0, 2):
        sealer, _ = make_sealer(cache_size=size)
        petitioners = [{"phone": f"1390000000{i}"} for i in range(5)]
        sealed = sealer.seal_many(petitioners)
        assert repr(sealer) == f"<Sealer cached={min(size, 5)}/{size}>"
        assert sealer.unseal_many(sealed) == petitioners
    with pytest.raises(ValueError):
        Sealer(Pseudonymizer(KEY), InMemoryKeyStore(), cache_size=-1)


def test_cache_does_not_outlive_a_destruction_elsewhere() -> None:
    sealer, store = make_sealer()
    sealed = sealer.seal({"phone": MOBILE})
    assert sealed is not None and sealer.unseal(sealed) is not None  # cached now
    store.destroy(sealed["person"], **AUDIT)  # not through the sealer
    assert sealer.unseal(sealed) is None
    assert is_erased(sealer.seal({"phone": MOBILE}))


# --- properties ---------------------------------------------------------------------------------------
_SEALER, _ = make_sealer()
_text = st.text(min_size=1, max_size=60).filter(lambda s: bool(s.strip()))


@settings(max_examples=200)
@given(st.fixed_dictionaries({}, optional={"name": _text, "phone": _text, "id_number": _text}))
def test_round_trip_of_anything(petitioner: dict[str, str]) -> None:
    sealed = _SEALER.seal(petitioner)
    if not petitioner:
        assert sealed is None
        return
    assert sealed is not None and is_sealed(json.loads(json.dumps(sealed)))
    assert _SEALER.unseal(sealed) == petitioner


def test_batch_memo_does_not_merge_different_people() -> None:
    sealer, _ = make_sealer()
    # An ID number that normalises to nothing falls back to the phone, which differs between the two.
    first, second, third = sealer.seal_many(
        [
            {"id_number": "-", "phone": "13900000001"},
            {"id_number": "-", "phone": "13900000002"},
            {"phone": "13900000001"},
        ]
    )
    assert first is not None and second is not None and third is not None
    assert first["person"] == third["person"] == sealer.pseudonymizer.pseudonym("phone", "13900000001")
    assert second["person"] == sealer.pseudonymizer.pseudonym("phone", "13900000002")
