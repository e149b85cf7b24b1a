"""Sealing whole events (consumer transform and producers sealing at the source), KEK wrapping, forgetting."""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import json
import logging
import pickle
from collections.abc import Iterable
from typing import Any

import pytest

from consumers.ports import StoredEvent, StoreTx
from events import data as d
from events.catalog import Event
from events.codec import Codec, Record, event_from_dict
from privacy.erase import forget
from privacy.keystore import InMemoryKeyStore, KeyStore, KeyWrapper, decode_key_setting
from privacy.pii import Pseudonymizer, Sealer, is_erased, seal_event, seal_events
from privacy.transform import PersonalDataTransform
from projections.base import fold
from projections.case_status import CaseStatusProjection
from tests.factories import TZ, case_stream, envelope

KEY = bytes(range(32))
AUDIT = {"requested_by": "clerk-7", "reason": "erasure request 2026-118"}
MOBILE = "13812345678"
ID = "11010519491231002X"
T0 = dt.datetime(2026, 11, 2, 9, tzinfo=TZ)


def make_sealer() -> tuple[Sealer, InMemoryKeyStore]:
    store = InMemoryKeyStore()
    return Sealer(Pseudonymizer(KEY), store), store


def received(event_id: str, petitioner: dict[str, Any] | None, subject: str = "C1", hours: int = 0) -> Event:
    data: dict[str, Any] = {"channel": "letter", "category": "征地拆迁", "summary": "补偿争议"}
    if petitioner is not None:
        data["petitioner"] = petitioner
    return event_from_dict(envelope(event_id, "case.received", subject, T0 + dt.timedelta(hours=hours), data))


def closed(event_id: str, subject: str = "C1") -> Event:
    return event_from_dict(envelope(event_id, "case.closed", subject, T0 + dt.timedelta(days=3), {}))


def wire(event: Event) -> str:
    return json.dumps(event.wire(), ensure_ascii=False)


# --- seal_event / seal_events -------------------------------------------------------------------------
def test_seal_event_leaves_no_plaintext_and_round_trips() -> None:
    sealer, _ = make_sealer()
    event = received("e1", {"name": "张三", "phone": "138 1234 5678", "id_number": ID})
    sealed = seal_event(event, sealer)
    assert isinstance(sealed.data, d.CaseReceived)
    assert isinstance(sealed.data.petitioner, d.SealedPetitioner)
    assert sealed.data.petitioner.person == sealer.pseudonymizer.pseudonym("id_number", ID)
    text = wire(sealed)
    for value in ("张三", MOBILE, "1234", ID):
        assert value not in text
    # Everything else is untouched.
    assert sealed.model_dump(exclude={"data"}) == event.model_dump(exclude={"data"})
    assert sealed.data.model_dump(exclude={"petitioner"}) == event.data.model_dump(exclude={"petitioner"})
    assert sealer.unseal(sealed.data.petitioner) == {
        "name": "张三",
        "phone": "138 1234 5678",
        "id_number": ID,
    }


def test_source_sealed_events_survive_the_wire_and_pass_through_the_consumer() -> None:
    sealer, _ = make_sealer()
    sealed = seal_event(received("e1", {"name": "张三", "phone": MOBILE}), sealer)
    key, value, headers = Codec.encode(sealed)
    decoded = Codec().decode(Record("t", 0, 0, key, value, tuple(headers)))
    assert decoded == sealed
    assert isinstance(decoded.data, d.CaseReceived)
    again = seal_events([decoded], sealer)
    assert again[0] is decoded  # already sealed: the same object, not re-encrypted


def test_seal_events_touches_only_plaintext_petitioners() -> None:
    sealer, store = make_sealer()
    events = [
        received("e1", {"phone": MOBILE}),
        closed("e2"),
        received("e3", None, subject="C2"),
        received("e4", {"phone": "  "}, subject="C3"),  # nothing to protect: dropped
    ]
    out = seal_events(events, sealer)
    assert out[1] is events[1] and out[2] is events[2]
    assert isinstance(out[0].data, d.CaseReceived) and isinstance(out[0].data.petitioner, d.SealedPetitioner)
    assert isinstance(out[3].data, d.CaseReceived) and out[3].data.petitioner is None
    assert "petitioner" not in out[3].wire()["data"]
    assert seal_events([], sealer) == []
    assert repr(store) == "<InMemoryKeyStore keys=1 forgotten=0>"


def test_forgotten_persons_are_sealed_as_erased_and_still_counted() -> None:
    sealer, _ = make_sealer()
    first = seal_event(received("e1", {"name": "张三", "phone": MOBILE}), sealer)
    sealer.forget({"phone": MOBILE}, **AUDIT)
    replayed = seal_event(received("e1", {"name": "张三", "phone": MOBILE}), sealer)
    assert isinstance(first.data, d.CaseReceived) and isinstance(replayed.data, d.CaseReceived)
    assert isinstance(replayed.data.petitioner, d.ErasedPetitioner)
    assert is_erased(replayed.data.petitioner.model_dump())
    assert isinstance(first.data.petitioner, d.SealedPetitioner)
    assert replayed.data.petitioner.person == first.data.petitioner.person
    assert sealer.unseal(first.data.petitioner) is None
    # The erased form is a valid wire payload, and the fold still gets the pseudonym from it.
    assert event_from_dict(replayed.wire()) == replayed
    proj = CaseStatusProjection()
    assert fold(proj, "C1", [replayed]).petitioner_pseudonym == first.data.petitioner.person
    assert fold(proj, "C1", [first]).petitioner_pseudonym == first.data.petitioner.person


def test_name_only_petitioners_are_unlinkable_but_repeatable() -> None:
    sealer, _ = make_sealer()
    a1 = seal_event(received("e1", {"name": "张三"}), sealer)
    a1_again = seal_event(received("e1", {"name": "张三"}), sealer)  # a redelivery or replay
    a2 = seal_event(received("e2", {"name": "张三"}, subject="C2"), sealer)
    persons = [e.data.petitioner.person for e in (a1, a1_again, a2)]  # type: ignore[attr-defined]
    assert persons[0] == persons[1] != persons[2]
    assert all(p.startswith("a_") for p in persons)
    assert a1.data.petitioner.nonce != a1_again.data.petitioner.nonce  # type: ignore[attr-defined]
    assert sealer.unseal(a1_again.data.petitioner) == {"name": "张三"}  # type: ignore[attr-defined]
    assert sealer.pseudonymizer.anonymous("e1") == persons[0]
    with pytest.raises(ValueError):
        sealer.pseudonymizer.anonymous("")
    with pytest.raises(ValueError):
        sealer.seal_many([{"name": "x"}], anchors=[])


def test_the_union_tells_the_three_forms_apart() -> None:
    base = {"channel": "letter", "category": "c", "summary": "s"}
    plain = d.CaseReceived.model_validate({**base, "petitioner": {"name": "张三"}})
    erased = d.CaseReceived.model_validate({**base, "petitioner": {"v": 1, "person": "p_x", "erased": True}})
    assert type(plain.petitioner) is d.Petitioner
    assert type(erased.petitioner) is d.ErasedPetitioner
    with pytest.raises(ValueError):
        d.CaseReceived.model_validate({**base, "petitioner": {"person": "p_x", "erased": False}})
    with pytest.raises(ValueError):  # a plaintext field next to a sealed form is refused, not dropped
        d.CaseReceived.model_validate(
            {**base, "petitioner": {"person": "p_x", "erased": True, "name": "张三"}}
        )


# --- the consumer transform -----------------------------------------------------------------------------
class CountingStore(InMemoryKeyStore):
    """Counts batch round trips, as a database-backed store would pay them."""

    def __init__(self) -> None:
        super().__init__()
        self.batches = 0

    def get_or_create_many(self, persons: Iterable[str]) -> dict[str, bytes]:
        self.batches += 1
        return super().get_or_create_many(persons)


def stored(events: list[Event]) -> list[StoredEvent]:
    return [StoredEvent(e, "gov.case.events", 0, i) for i, e in enumerate(events)]


def test_transform_seals_a_batch_with_one_key_query() -> None:
    store = CountingStore()
    bound: list[object] = []

    def keystore_for(tx: StoreTx) -> KeyStore:
        bound.append(tx)
        return store

    transform = PersonalDataTransform(Sealer(Pseudonymizer(KEY), InMemoryKeyStore()), keystore_for)
    events = case_stream(200, seed=3)
    batch = stored(events)
    tx: Any = object()
    out = transform(tx, batch)
    assert bound == [tx] and store.batches == 1
    assert [(s.topic, s.partition, s.offset) for s in out] == [
        (s.topic, s.partition, s.offset) for s in batch
    ]
    with_petitioner = 0
    for before, after in zip(batch, out, strict=True):
        data = before.event.data
        if isinstance(data, d.CaseReceived) and data.petitioner is not None:
            with_petitioner += 1
            assert isinstance(after.event.data, d.CaseReceived)
            assert isinstance(after.event.data.petitioner, d.SealedPetitioner)
            assert "张三" not in wire(after.event)
        else:
            assert after is before
    assert with_petitioner > 20
    assert transform(tx, stored([closed("x")]))[0].event.id == "x" and store.batches == 1  # nothing to seal


def test_transform_keeps_the_fold_result_apart_from_the_pseudonym() -> None:
    sealer, _ = make_sealer()
    transform = PersonalDataTransform(sealer)
    events = case_stream(40, seed=5)
    out = [s.event for s in transform(None, stored(events))]  # type: ignore[arg-type]
    proj = CaseStatusProjection()
    by_case: dict[str, list[Event]] = {}
    for e in events:
        by_case.setdefault(e.subject, []).append(e)
    sealed_by_case: dict[str, list[Event]] = {}
    for e in out:
        sealed_by_case.setdefault(e.subject, []).append(e)
    for case_id, plain in by_case.items():
        a, b = fold(proj, case_id, plain), fold(proj, case_id, sealed_by_case[case_id])
        assert a.petitioner_pseudonym is None  # a plaintext petitioner is never projected
        assert (b.petitioner_pseudonym is not None) == any(
            isinstance(e.data, d.CaseReceived) and e.data.petitioner is not None for e in plain
        )
        assert dataclasses.replace(b, petitioner_pseudonym=None) == a


def test_with_keystore_shares_the_cache_but_not_the_store() -> None:
    sealer, first = make_sealer()
    other = InMemoryKeyStore()
    bound = sealer.with_keystore(other)
    assert bound.keystore is other and bound.pseudonymizer is sealer.pseudonymizer
    sealed = bound.seal({"phone": MOBILE})
    assert sealed is not None
    assert other.get(sealed["person"]) is not None and first.get(sealed["person"]) is None
    assert repr(sealer) == repr(bound)  # one cache


# --- forgetting through the consumer helpers -----------------------------------------------------------
def test_forget_destroys_every_identifier_and_logs_no_personal_data(caplog: pytest.LogCaptureFixture) -> None:
    sealer, store = make_sealer()
    a = sealer.seal({"name": "张三", "phone": MOBILE, "id_number": ID})
    b = sealer.seal({"phone": MOBILE})
    anon = seal_event(received("e9", {"name": "李四"}), sealer)
    assert a is not None and b is not None and isinstance(anon.data, d.CaseReceived)
    assert isinstance(anon.data.petitioner, d.SealedPetitioner)
    with caplog.at_level(logging.INFO):
        result = forget(sealer, id_number=ID, phone=MOBILE, persons=[anon.data.petitioner.person], **AUDIT)
    assert (result.persons, result.keys_destroyed) == (3, 3)
    assert sealer.unseal_many([a, b, anon.data.petitioner]) == [None, None, None]
    assert [x.requested_by for x in store.destructions()] == ["clerk-7"] * 3
    logged = caplog.text
    assert "3 key(s) destroyed" in logged
    for secret in (MOBILE, ID, a["person"], b["person"], "张三"):
        assert secret not in logged


@pytest.mark.parametrize(
    "audit",
    [
        {"requested_by": "clerk-7", "reason": "request from 138-1234-5678"},
        {"requested_by": "clerk-7", "reason": f"ID {ID.lower()}"},
        {"requested_by": "13812345678", "reason": "request"},
    ],
)
def test_forget_refuses_audit_text_with_the_identifier(audit: dict[str, str]) -> None:
    sealer, store = make_sealer()
    with pytest.raises(ValueError):
        forget(sealer, phone=MOBILE, id_number=ID, **audit)
    assert store.destructions() == []


def test_forget_needs_someone_to_forget() -> None:
    sealer, _ = make_sealer()
    with pytest.raises(ValueError):
        forget(sealer, phone=" ", **AUDIT)
    with pytest.raises(ValueError):
        forget(sealer, persons=[""], **AUDIT)


# --- key wrapping and key settings ----------------------------------------------------------------------
def test_key_wrapper_round_trip_and_binding() -> None:
    wrapper, other = KeyWrapper(KEY), KeyWrapper(bytes(32))
    data_key = bytes(range(100, 132))
    wrapped = wrapper.wrap("p_a", data_key)
    assert len(wrapped) == 60 and data_key not in wrapped
    assert wrapper.wrap("p_a", data_key) != wrapped  # fresh nonce
    assert wrapper.unwrap("p_a", wrapped) == data_key
    for unwrapper, owner in ((wrapper, "p_b"), (other, "p_a")):  # another person, another KEK
        with pytest.raises(ValueError) as info:
            unwrapper.unwrap(owner, wrapped)
        assert data_key.hex() not in str(info.value)
    with pytest.raises(ValueError):
        wrapper.unwrap("p_a", wrapped[:10])
    assert wrapper.kek_id != other.kek_id and wrapper.kek_id == KeyWrapper(KEY).kek_id
    shown = repr(wrapper) + str(wrapper)
    assert KEY.hex() not in shown and base64.b64encode(KEY).decode() not in shown
    with pytest.raises(TypeError):
        pickle.dumps(wrapper)
    with pytest.raises(ValueError):
        KeyWrapper(b"short")


def test_decode_key_setting() -> None:
    assert decode_key_setting(KEY.hex(), what="k") == KEY
    assert decode_key_setting(f"  {KEY.hex().upper()}\n", what="k") == KEY
    assert decode_key_setting(base64.b64encode(KEY).decode(), what="k") == KEY
    assert decode_key_setting((KEY * 2).hex(), what="k") == KEY * 2
    for bad in ("", "abc", KEY.hex()[:-2], "not a key at all, just words", "!" * 64):
        with pytest.raises(ValueError) as info:
            decode_key_setting(bad, what="CASETRACK_PSEUDONYM_KEY")
        assert "CASETRACK_PSEUDONYM_KEY" in str(info.value)
        if bad:
            assert bad not in str(info.value)
