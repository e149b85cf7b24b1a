"""Masking free text and sealing the originals (privacy/text_sealing.py), on the in-memory key store, and the
consumer transform that applies it (privacy/transform.py) on the in-memory store."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest

from consumers.memory_store import MemoryStore
from consumers.ports import StoredEvent
from events import data as d
from events.catalog import EVENT_TYPES, Event
from events.codec import event_from_dict
from events.topics import Topics
from privacy.keystore import InMemoryKeyStore
from privacy.pii import Pseudonymizer, Sealer, SealError, seal_events
from privacy.text_pii import Known
from privacy.text_sealing import TEXT_FIELDS, TextSeal, open_seals, placeholder, protect_texts
from privacy.transform import PersonalDataTransform
from producers.sdk import EventProducer
from tests.factories import envelope

T0 = dt.datetime(2026, 10, 12, 9, tzinfo=dt.timezone(dt.timedelta(hours=8)))
NAME = "欧阳震华"
PHONE = "13987654321"
OTHER = "13700001111"


def event(event_id: str, type_: str, subject: str, data: dict[str, Any], hours: int = 0) -> Event:
    return event_from_dict(envelope(event_id, type_, subject, T0 + dt.timedelta(hours=hours), data))


def received(case_id: str, summary: str, petitioner: dict[str, str] | None = None) -> Event:
    data: dict[str, Any] = {"channel": "hotline_12345", "category": "劳动保障", "summary": summary}
    if petitioner is not None:
        data["petitioner"] = petitioner
    return event(f"{case_id}-0", "case.received", case_id, data)


@pytest.fixture
def sealer() -> Sealer:
    return Sealer(Pseudonymizer(b"k" * 32), InMemoryKeyStore())


def test_every_free_text_field_of_every_event_type_is_covered() -> None:
    # Written out, so that a new Text field (or one that stops being Text) is a visible change here.
    assert TEXT_FIELDS == {
        "case.received": ("summary",), "case.rejected": ("reason",), "case.assigned": ("note",),
        "case.returned": ("reason",), "case.extended": ("reason",), "case.suspended": ("reason",),
        "case.resolved": ("reply_summary",), "case.followed_up": ("note",), "case.reopened": ("reason",),
        "supervision.issued": ("title",), "supervision.progress_reported": ("note",),
        "supervision.urged": ("note",), "supervision.completed": ("result",),
        "supervision.cancelled": ("reason",), "rectification.opened": ("problem", "measures"),
        "rectification.progress_reported": ("note",), "rectification.extended": ("reason",),
        "rectification.completed": ("summary",), "rectification.verified": ("note",),
    }  # fmt: skip
    assert set(TEXT_FIELDS) <= set(EVENT_TYPES)


def test_masks_with_placeholders_bound_to_the_pseudonym_and_seals_the_originals(sealer: Sealer) -> None:
    sent = [received("C1", f"{NAME}反映欠薪,联系 139 8765 4321,工友 {OTHER}", {"name": NAME, "phone": PHONE})]
    (stored,) = seal_events(sent, sealer)
    assert isinstance(stored.data, d.CaseReceived)
    assert isinstance(stored.data.petitioner, d.SealedPetitioner)
    person = stored.data.petitioner.person
    known = {"C1": (Known(name=NAME, phone=PHONE), person)}
    (masked,), seals = protect_texts([stored], sealer, known)
    other = sealer.pseudonymizer.pseudonym("phone", OTHER)
    assert isinstance(masked.data, d.CaseReceived)
    assert masked.data.summary == (
        f"{placeholder('name', person)}反映欠薪,联系 {placeholder('phone', person)},工友 {placeholder('phone', other)}"
    )
    assert masked.data.petitioner == stored.data.petitioner  # the rest of the event is untouched
    assert [(s.field, s.ordinal, s.kind, s.person) for s in seals] == [
        ("summary", 0, "name", person), ("summary", 1, "phone", person), ("summary", 2, "phone", other),
    ]  # fmt: skip
    assert all(NAME not in repr(s) and (s.ct or "") and PHONE not in str(s) for s in seals)
    keys = sealer.keystore.get_many({s.person for s in seals})
    assert open_seals(seals, keys) == [NAME, "139 8765 4321", OTHER]  # exactly as written

    # Deterministic and idempotent: the same text masks the same way, masked text has nothing left.
    (again,), _ = protect_texts([stored], sealer, known)
    assert again == masked
    (twice,), none = protect_texts([masked], sealer, known)
    assert twice is masked and none == []


def test_lists_and_other_aggregates_and_untouched_events(sealer: Sealer) -> None:
    opened = event(
        "R1-0", "rectification.opened", "R1",
        {"source": "petition", "problem": "群众反映", "department": "市住建局", "responsible_person": "王科长",
         "deadline": "2026-12-31", "measures": ["约谈物业", f"回访投诉人,电话{OTHER}"]},
    )  # fmt: skip
    plain = event("C2-1", "case.accepted", "C2", {})
    out, seals = protect_texts([opened, plain], sealer)
    assert out[1] is plain
    assert isinstance(out[0].data, d.RectificationOpened)
    assert out[0].data.measures[0] == "约谈物业" and OTHER not in out[0].data.measures[1]
    assert [(s.aggregate, s.subject, s.field) for s in seals] == [("rectification", "R1", "measures.1")]


def test_a_forgotten_person_gets_erased_seals_and_a_moved_seal_fails(sealer: Sealer) -> None:
    sealer.forget({"phone": OTHER}, requested_by="clerk", reason="request 1")
    out, (seal,) = protect_texts([received("C3", f"工友电话{OTHER}")], sealer)
    assert seal.ct is None and seal.nonce is None and OTHER not in str(out[0].data)
    _, (live,) = protect_texts([received("C4", f"电话{PHONE}")], sealer)
    keys = sealer.keystore.get_many({live.person})
    moved = dataclasses.replace(live, event_id="C5-0")  # pasted onto another event
    with pytest.raises(SealError):
        open_seals([moved], keys)
    assert open_seals([seal, live], keys) == [None, PHONE]


def test_the_transform_knows_the_petitioner_of_later_events(sealer: Sealer) -> None:
    """The name in an officer's reply, batches after the receipt, and after a restart (from the store)."""
    store = MemoryStore()
    first = [received("C1", "反映欠薪", {"name": NAME, "phone": PHONE})]
    later = [event("C1-1", "case.resolved", "C1", {"department": "人社局", "outcome": "resolved",
                                                     "reply_summary": f"已电话告知{NAME}处理结果"}, 5)]  # fmt: skip
    transform = PersonalDataTransform(sealer)
    with store.transaction() as tx:
        (stored,) = transform(tx, [StoredEvent(first[0], "t", 0, 0)])
        tx.append_events([stored])
    with store.transaction() as tx:
        (reply,) = transform(tx, [StoredEvent(later[0], "t", 0, 1)])
    restarted = PersonalDataTransform(sealer)  # nothing remembered: the receipt is read back from the store
    with store.transaction() as tx:
        (again,) = restarted(tx, [StoredEvent(later[0], "t", 0, 1)])
    for out in (reply, again):
        assert isinstance(out.event.data, d.CaseResolved) and NAME not in (out.event.data.reply_summary or "")
    assert reply.event == again.event
    assert NAME not in repr(transform) and transform.unstored_seals[-1].kind == "name"


def test_a_producer_with_nowhere_to_keep_the_originals_sends_nothing(sealer: Sealer) -> None:
    """Sealing at the source with a key store that cannot keep text seals (the in-memory one): refused before
    anything reaches the Kafka client, which is never used here."""
    producer = EventProducer(None, Topics(), sealer=sealer)
    with pytest.raises(ValueError, match="nowhere to store"):
        producer.publish_many([received("C1", f"联系电话{PHONE}")])
    kept: list[TextSeal] = []
    producer = EventProducer(None, Topics(), sealer=sealer, text_seals=kept.extend)
    with pytest.raises(AttributeError):  # past the seals, the (absent) Kafka client is reached
        producer.publish_many([received("C2", f"联系电话{PHONE}")])
    assert [s.kind for s in kept] == ["phone"]
