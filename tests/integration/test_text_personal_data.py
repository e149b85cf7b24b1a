"""Personal data written into free text, end to end on the real broker and database: realistic texts in every
free-text field are stored masked, a pg_dump of the whole database and the logs hold none of the originals,
officers can still read them, ``casetrack forget`` erases them, and analysts see only placeholders.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import random
from typing import Any

import psycopg2
import pytest

from app.bootstrap import build_sealer
from app.settings import Settings
from bench.harness import publish as publish_messages
from events.catalog import Event
from events.codec import event_from_dict
from privacy.lookup import officer_texts
from privacy.pg_people import PgPeople
from privacy.text_pii import find
from producers.generator import GeneratorConfig, Message, generate
from producers.sdk import EventProducer
from producers.workload.texts import bank_card, id_number, labelled_text, mobile
from tests.conftest import endpoints
from tests.factories import TZ, case_stream, envelope
from tests.integration.helpers import consume, publish, query, read_topic
from tests.integration.test_personal_data import pg_dump, run_cli

T0 = dt.datetime(2026, 10, 12, 9, tzinfo=TZ)
NAME = "欧阳震华"
PHONE = "13987654321"
CARD = "6222021234567890128"
NEAR_MISSES = ("工单号13812345678", "订单号 2026120300012345", "编号HX2026120300123", "已拨打12345热线")


def ev(event_id: str, type_: str, subject: str, hours: float, data: dict[str, Any]) -> Event:
    return event_from_dict(envelope(event_id, type_, subject, T0 + dt.timedelta(hours=hours), data))


def texts_workload(rnd: random.Random) -> tuple[list[Event], set[str]]:
    """Background cases, a case with personal data in every one of its free-text fields, 60 cases whose
    summaries are realistic complaint texts, a supervision order and a rectification item; and every original
    (as written and normalised) that must not reach PostgreSQL."""
    needles = {NAME, PHONE, "139 8765 4321", "8765 4321", CARD, "6222 0212 3456 7890 128"}
    events = case_stream(30, seed=5)
    petitioner = {"name": NAME, "phone": PHONE}
    steps = [
        ("case.received", {"channel": "hotline_12345", "category": "劳动保障", "petitioner": petitioner,
                           "summary": f"{NAME}反映拖欠工资三个月,联系电话139 8765 4321,{NEAR_MISSES[0]}"}),
        ("case.assigned", {"department": "市人社局", "note": f"请联系来电人{NAME}(电话{PHONE})核实"}),
        ("case.returned", {"department": "市人社局", "reason": f"非本单位职责,已告知{NAME}"}),
        ("case.assigned", {"department": "区人社局"}),
        ("case.suspended", {"reason": f"等待{NAME}补充工资卡号6222 0212 3456 7890 128流水"}),
        ("case.resumed", {}),
        ("case.extended", {"extra": 3, "reason": f"{NAME}的欠薪涉及多家单位", "approved_by": "主任"}),
        ("case.resolved", {"department": "区人社局", "outcome": "resolved",
                           "reply_summary": f"已电话{PHONE}告知{NAME}:工资已补发至卡号{CARD}"}),
        ("case.followed_up", {"satisfaction": "satisfied", "note": f"回访{NAME},满意"}),
        ("case.reopened", {"reason": f"{NAME}来电称仅发放一半"}),
    ]  # fmt: skip
    events += [ev(f"P1-{i}", t, "P1", i, data) for i, (t, data) in enumerate(steps)]  # type: ignore[arg-type]
    for n in range(60):
        name = f"司马{'相如迁光懿'[n % 5]}"
        labelled = labelled_text(rnd, name)
        # Third parties' names are not found (no NLP; docs/personal-data.md): only the petitioner's name counts.
        needles |= {
            labelled.text[a:b]
            for a, b, kind in labelled.truth
            if kind != "name" or labelled.text[a:b] == name
        }
        needles |= {s.value for s in find(labelled.text) if s.kind != "name"}
        data = {"channel": "mayor_mailbox", "category": "综合", "summary": labelled.text,
                "petitioner": {"name": name, "phone": mobile(rnd)}}  # fmt: skip
        events.append(ev(f"T{n}-0", "case.received", f"T{n}", 20 + n, data))
    third = mobile(rnd)
    card = bank_card(rnd)
    idn = id_number(rnd)
    needles |= {third, card, idn, idn.upper()}
    events += [
        ev("S1-0", "supervision.issued", "S1", 1, {"title": f"督办:群众{third}反映欠薪", "issued_by": "市委督查室",
           "level": "office", "departments": ["市人社局"], "due_date": "2026-11-30"}),
        ev("S1-1", "supervision.progress_reported", "S1", 5, {"department": "市人社局",
           "note": f"已联系反映人,电话{third},身份证{idn}", "percent": 50}),
        ev("R1-0", "rectification.opened", "R1", 2, {"source": "petition", "problem": f"信访人卡号{card}被冒用",
           "department": "市人社局", "responsible_person": "王科长", "deadline": "2026-12-31",
           "measures": ["约谈银行", f"回访信访人,电话{third}"]}),
        ev("R1-1", "rectification.completed", "R1", 9, {"summary": f"已回访{third},完成整改"}),
    ]  # fmt: skip
    return sorted(events, key=lambda e: e.sort_key), {n for n in needles if len(n) >= 3}


def leaked(text: str, needles: set[str]) -> list[str]:
    return sorted(n for n in needles if n in text)


def test_free_text_is_stored_masked_officers_read_it_forget_erases_it(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    url = settings.database_url or ""
    events, needles = texts_workload(random.Random(18))
    caplog.set_level(logging.DEBUG)
    logging.getLogger("kafka").setLevel(logging.INFO)
    publish(settings, events)
    totals = consume(settings)
    assert totals.applied == len(events) and totals.dead_letters == 0

    dump = pg_dump(url)
    assert leaked(dump, needles) == []
    assert leaked(caplog.text, needles) == []
    for near_miss in NEAR_MISSES[:1]:  # what only looks like personal data stays readable
        assert near_miss in dump
    (summary,) = query(url, "SELECT data ->> 'summary' FROM casetrack.event_store WHERE event_id = 'P1-0'")
    assert summary[0].startswith("[姓名#") and "[电话#" in summary[0] and "拖欠工资三个月" in summary[0]

    # An officer reads every text of the case as it was written (and the access is logged).
    conn = psycopg2.connect(url)
    try:
        opened = {(t.event_id, t.field): t for t in officer_texts(PgPeople(conn), "P1")}
        order = officer_texts(PgPeople(conn), "R1", aggregate="rectification")
    finally:
        conn.close()
    assert opened[("P1-7", "reply_summary")].text == f"已电话{PHONE}告知{NAME}:工资已补发至卡号{CARD}"
    assert len(opened) == 8 and all(t.erased == 0 for t in opened.values())
    assert {t.field for t in order} == {"problem", "measures.1", "summary"}
    assert ("P1",) in query(url, "SELECT case_id FROM casetrack.identity_access_log")

    # Forget the petitioner: their name, phone and card in the texts are gone with their key.
    result = run_cli(
        settings, "forget", "--phone", PHONE, "--requested-by", "clerk-7", "--reason", "request 18"
    )
    assert result.exit_code == 0, result.output
    conn = psycopg2.connect(url)
    try:
        after = {(t.event_id, t.field): t for t in officer_texts(PgPeople(conn), "P1")}
    finally:
        conn.close()
    reply = after[("P1-7", "reply_summary")]
    assert NAME not in reply.text and PHONE not in reply.text and reply.erased == 2
    assert CARD in reply.text  # a card number is its own person's: forget it with its own key
    refused = run_cli(
        settings, "forget", "--bank-card", CARD, "--requested-by", "x", "--reason", f"card {CARD}"
    )
    assert refused.exit_code != 0 and "must not contain" in refused.output
    spaced = "6222 0212 3456 7890 128"
    result = run_cli(
        settings, "forget", "--bank-card", spaced, "--requested-by", "clerk-7", "--reason", "req 19"
    )
    assert result.exit_code == 0, result.output
    conn = psycopg2.connect(url)
    try:
        after = {(t.event_id, t.field): t for t in officer_texts(PgPeople(conn), "P1")}
    finally:
        conn.close()
    assert after[("P1-7", "reply_summary")].erased == 3 and CARD not in after[("P1-7", "reply_summary")].text
    shown = run_cli(settings, "officer-lookup", "P1")
    assert shown.exit_code == 0 and NAME not in shown.output and "[姓名#" in shown.output


def test_the_demo_workload_leaves_no_petitioner_data_in_postgresql(settings: Settings) -> None:
    """The generator's realistic stream (summaries with contact data, late, duplicate and malformed messages,
    dead letters included): no petitioner's name, phone or ID number is in a pg_dump."""
    url = settings.database_url or ""
    messages = list(generate(GeneratorConfig.for_event_count(4000, seed=18, malformed_fraction=0.02)))
    needles = petitioners_in_summaries(messages)
    assert len(needles) > 50, "the workload should write petitioners' data into summaries"
    publish_messages(settings, messages)
    totals = consume(settings)
    assert totals.dead_letters > 0
    assert query(url, "SELECT count(*) FROM casetrack.text_seals")[0][0] > 50
    assert leaked(pg_dump(url), needles) == []


def petitioners_in_summaries(messages: list[Message]) -> set[str]:
    """The names (3+ characters), phones and ID numbers of petitioners that the summaries repeat."""
    out: set[str] = set()
    for m in messages:
        try:
            data = json.loads(m.value or b"").get("data")
        except (ValueError, AttributeError):
            continue
        if not isinstance(data, dict) or not isinstance(data.get("petitioner"), dict):
            continue
        summary = str(data.get("summary", ""))
        for key, value in data["petitioner"].items():
            if not isinstance(value, str) or (key == "name" and len(value) < 3):
                continue
            spellings = {value}
            if key == "phone":
                a, b, c = value[:3], value[3:7], value[7:]
                spellings |= {f"{a} {b} {c}", f"{a}-{b}-{c}", f"{a}{b} {c}"}
            if any(s in summary for s in spellings):
                out |= spellings
    return out


def test_sealed_at_the_source_kafka_holds_no_free_text_originals(settings: Settings) -> None:
    """A producer with a sealer masks free text too, stores the sealed originals before it sends, and
    remembers its petitioners for later events; the consumer stores the events as sent."""
    assert settings.kafka_bootstrap
    url = settings.database_url or ""
    events, needles = texts_workload(random.Random(19))
    sealer = build_sealer(settings, endpoints(settings))
    producer = EventProducer.connect(settings.kafka_bootstrap, settings.topics, sealer=sealer)
    try:
        half = len(events) // 2  # two calls: the petitioner of P1 is remembered across them
        producer.publish_many(events[:half])
        for event in events[half:]:
            producer.publish(event).result()
        producer.flush()
    finally:
        producer.close()
    raw = b"".join(
        r.value or b""
        for topic in (settings.topics.case, settings.topics.supervision, settings.topics.rectification)
        for r in read_topic(settings.kafka_bootstrap, topic)
    ).decode("utf-8", "replace")
    assert leaked(raw, needles) == []
    seals_before = query(url, "SELECT count(*) FROM casetrack.text_seals")[0][0]
    assert consume(settings).applied == len(events)
    assert query(url, "SELECT count(*) FROM casetrack.text_seals")[0][0] == seals_before  # nothing re-sealed
    assert leaked(pg_dump(url), needles) == []
    conn = psycopg2.connect(url)
    try:
        opened = {(t.event_id, t.field): t.text for t in officer_texts(PgPeople(conn), "P1")}
    finally:
        conn.close()
    assert opened[("P1-8", "note")] == f"回访{NAME},满意"
