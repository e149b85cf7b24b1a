"""The seeded workload generator: determinism, wire validity, injected faults and a realistic month."""

from __future__ import annotations

import collections
import dataclasses
import datetime as dt
import json
import re
from collections.abc import Iterable
from typing import Any

import pytest

from events.catalog import EVENT_TYPES, Aggregate, Event
from events.codec import Codec, DecodeError, Record
from events.data import CHANNELS, PETITION_CHANNELS
from producers.generator import (
    MALFORMED_REASONS,
    GenerationStats,
    GeneratorConfig,
    Message,
    generate,
    generate_with_stats,
)
from producers.workload import data as W
from projections.calendar import WorkCalendar

TOPICS: dict[Aggregate, str] = {
    "case": "gov.case.events",
    "supervision": "gov.supervision.events",
    "rectification": "gov.rectification.events",
}
CODEC = Codec({topic: aggregate for aggregate, topic in TOPICS.items()}, max_event_bytes=256 * 1024)
TZ = dt.timezone(dt.timedelta(hours=8))
SMALL = GeneratorConfig(cases_per_day=120, days=12, supervision_per_day=2.0, rectification_per_day=2.0)


def data(event: Event) -> Any:
    """The payload, untyped (each type has its own model)."""
    return event.data


def record(m: Message, offset: int = 0) -> Record:
    return Record(TOPICS[m.aggregate], 0, offset, m.key, m.value, m.headers)


def decode_valid(messages: Iterable[Message]) -> list[Event]:
    """The decoded valid messages in publish order (duplicates and malformed ones left out)."""
    return [CODEC.decode(record(m, i)) for i, m in enumerate(messages) if m.kind == "valid"]


@pytest.fixture(scope="module")
def calendar() -> WorkCalendar:
    return WorkCalendar.load()


@pytest.fixture(scope="module")
def month(calendar: WorkCalendar) -> tuple[list[Message], GenerationStats]:
    """The default workload: a month of a city's case work."""
    return generate_with_stats(GeneratorConfig(), calendar=calendar)


@pytest.fixture(scope="module")
def month_events(month: tuple[list[Message], GenerationStats]) -> list[Event]:
    return decode_valid(month[0])


@pytest.fixture(scope="module")
def small(calendar: WorkCalendar) -> tuple[list[Message], GenerationStats]:
    return generate_with_stats(SMALL, calendar=calendar)


# --- determinism -------------------------------------------------------------------------------------------
def test_same_config_same_byte_stream(calendar: WorkCalendar) -> None:
    def stream(cfg: GeneratorConfig) -> list[tuple[object, ...]]:
        return [(m.aggregate, m.key, m.value, m.headers, m.kind) for m in generate(cfg, calendar=calendar)]

    first = stream(SMALL)
    assert first == stream(SMALL)
    assert first != stream(dataclasses.replace(SMALL, seed=SMALL.seed + 1))


def test_default_calendar_is_loaded_when_none_is_given(small: tuple[list[Message], GenerationStats]) -> None:
    assert [m.value for m in generate(SMALL)] == [m.value for m in small[0]]


def test_event_ids_are_unique_uuids(month: tuple[list[Message], GenerationStats]) -> None:
    ids = [m.event_id for m in month[0] if m.kind == "valid"]
    assert len(ids) == len(set(ids))
    assert all(
        re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", i or "")
        for i in ids
    )
    malformed_ids = {m.event_id for m in month[0] if m.kind == "malformed"} - {None}
    assert not malformed_ids & set(ids)  # an invalid message never reuses a valid event's id


# --- wire validity -----------------------------------------------------------------------------------------
def test_every_valid_message_decodes(month: tuple[list[Message], GenerationStats]) -> None:
    messages, _ = month
    for i, m in enumerate(messages):
        if m.kind == "malformed":
            continue
        event = CODEC.decode(record(m, i))
        assert (event.id, event.type, event.aggregate) == (m.event_id, m.event_type, m.aggregate)
        assert m.key == event.subject.encode()
        assert event.time.utcoffset() == dt.timedelta(hours=8)


def test_times_are_rfc3339_with_the_china_offset(small: tuple[list[Message], GenerationStats]) -> None:
    for m in small[0]:
        if m.kind == "valid" and not any(k == "ce_id" for k, _ in m.headers):
            assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+08:00", json.loads(m.value or b"")["time"])


def test_binary_mode_messages(month: tuple[list[Message], GenerationStats]) -> None:
    messages, stats = month
    binary = [m for m in messages if m.kind == "valid" and any(k == "ce_specversion" for k, _ in m.headers)]
    assert len(binary) == stats.binary_mode
    assert 0.04 < len(binary) / stats.valid < 0.06
    for m in binary[:200]:
        headers = dict(m.headers)
        assert headers["content-type"] == b"application/json"
        assert headers["ce_subject"] == m.key
        assert isinstance(json.loads(m.value or b""), dict)  # the value is the payload alone


def test_a_source_prefix_that_needs_escaping(calendar: WorkCalendar) -> None:
    cfg = GeneratorConfig(cases_per_day=20, days=2, source_prefix='sim/"quoted" \\ city/')
    events = decode_valid(generate(cfg, calendar=calendar))
    assert events and all(e.source.startswith('sim/"quoted" \\ city/') for e in events)


# --- injected faults ---------------------------------------------------------------------------------------
def test_every_malformed_message_is_rejected_with_its_reason(calendar: WorkCalendar) -> None:
    cfg = GeneratorConfig(cases_per_day=60, days=6, malformed_fraction=0.05)
    messages, stats = generate_with_stats(cfg, calendar=calendar)
    seen: collections.Counter[str] = collections.Counter()
    for i, m in enumerate(messages):
        if m.kind != "malformed":
            continue
        assert m.defect is not None
        with pytest.raises(DecodeError) as err:
            CODEC.decode(record(m, i))
        assert err.value.reason == MALFORMED_REASONS[m.defect], m.defect
        seen[m.defect] += 1
    assert set(seen) == set(MALFORMED_REASONS)  # every kind, roughly evenly (a shuffled cycle)
    assert max(seen.values()) - min(seen.values()) <= 1
    assert sum(seen.values()) == stats.malformed == sum(stats.by_defect.values())


def test_oversized_messages_exceed_256_kib(month: tuple[list[Message], GenerationStats]) -> None:
    oversized = [m for m in month[0] if m.defect == "oversized"]
    assert oversized and all(len(m.value or b"") > 256 * 1024 for m in oversized)


def test_malformed_share(month: tuple[list[Message], GenerationStats]) -> None:
    _, stats = month
    assert 0.001 < stats.malformed / stats.valid < 0.003


def test_duplicates_redeliver_an_earlier_message_byte_for_byte(
    month: tuple[list[Message], GenerationStats],
) -> None:
    messages, stats = month
    published: set[tuple[object, ...]] = set()
    duplicates = 0
    for m in messages:
        wire = (m.aggregate, m.key, m.value, m.headers, m.event_id)
        if m.kind == "duplicate":
            assert wire in published
            duplicates += 1
        elif m.kind == "valid":
            published.add(wire)
    assert duplicates == stats.duplicates
    assert 0.007 < duplicates / stats.valid < 0.013


def test_late_events_are_out_of_order_and_the_rest_in_time_order(
    month: tuple[list[Message], GenerationStats], month_events: list[Event]
) -> None:
    latest: dt.datetime | None = None
    out_of_order = 0
    for event in month_events:
        if latest is not None and event.time < latest:
            out_of_order += 1
        else:
            latest = event.time
    share = out_of_order / len(month_events)
    assert 0.015 < share < 0.025  # late_fraction = 0.02
    assert out_of_order <= month[1].late  # only the held-back events are out of order


def test_no_faults_when_the_fractions_are_zero(calendar: WorkCalendar) -> None:
    cfg = GeneratorConfig(
        cases_per_day=50,
        days=5,
        late_fraction=0,
        duplicate_fraction=0,
        malformed_fraction=0,
        binary_mode_fraction=0,
    )
    messages, stats = generate_with_stats(cfg, calendar=calendar)
    assert {m.kind for m in messages} == {"valid"}
    assert stats.late == stats.binary_mode == 0
    times = [e.time for e in decode_valid(messages)]
    assert times == sorted(times)


# --- stats, limits, the clock ------------------------------------------------------------------------------
def test_stats_match_the_messages(small: tuple[list[Message], GenerationStats]) -> None:
    messages, stats = small
    kinds = collections.Counter(m.kind for m in messages)
    assert (stats.valid, stats.duplicates, stats.malformed) == (
        kinds["valid"],
        kinds["duplicate"],
        kinds["malformed"],
    )
    assert stats.total == len(messages)
    assert stats.by_type == collections.Counter(m.event_type for m in messages if m.kind == "valid")
    assert stats.by_aggregate == collections.Counter(m.aggregate for m in messages if m.kind == "valid")
    assert sum(stats.by_channel.values()) == stats.by_type["case.received"]


def test_stats_stream_while_iterating(calendar: WorkCalendar) -> None:
    stats = GenerationStats()
    stream = generate(SMALL, stats=stats, calendar=calendar)
    first = [next(stream) for _ in range(100)]
    assert stats.total == 100 == len(first)


def test_max_events_and_for_event_count(calendar: WorkCalendar) -> None:
    cfg = GeneratorConfig.for_event_count(5000, days=5)
    messages, stats = generate_with_stats(cfg, calendar=calendar)
    assert len(messages) == stats.total == 5000
    assert cfg.max_events == 5000 and cfg.days == 5


def test_now_leaves_cases_open_and_cuts_a_prefix(calendar: WorkCalendar) -> None:
    now = dt.datetime(2026, 9, 19, 15, 0, tzinfo=TZ)
    full = decode_valid(generate(SMALL, calendar=calendar))
    cut = decode_valid(generate(dataclasses.replace(SMALL, now=now), calendar=calendar))
    assert cut and all(e.time <= now for e in cut)
    assert {e.id for e in cut} == {e.id for e in full if e.time <= now}
    closed = {e.subject for e in cut if e.type == "case.closed"}
    received = {e.subject for e in cut if e.type == "case.received"}
    assert len(received - closed) > 50  # still open at `now`


def test_config_is_validated() -> None:
    with pytest.raises(ValueError):
        GeneratorConfig(late_fraction=1.5)
    with pytest.raises(ValueError):
        GeneratorConfig(days=0)


def test_office_channels_follow_the_official_calendar(
    month_events: list[Event], calendar: WorkCalendar
) -> None:
    # The default month spans Mid-Autumn and the National Day week, with the 调休 working days
    # 2026-09-20 (Sunday) and 2026-10-10 (Saturday).
    office = [
        e
        for e in month_events
        if e.type == "case.received" and data(e).channel in ("visit", "service_center")
    ]
    days = {e.time.date() for e in office}
    assert all(calendar.is_working_day(d) for d in days)
    assert {dt.date(2026, 9, 20), dt.date(2026, 10, 10)} <= days
    assert not days & {dt.date(2026, 9, 25), dt.date(2026, 10, 1), dt.date(2026, 10, 5)}
    for e in office:
        assert dt.time(8, 30) <= e.time.time() <= dt.time(17, 30)
    hotline_days = {
        e.time.date()
        for e in month_events
        if e.type == "case.received" and data(e).channel == "hotline_12345"
    }
    assert dt.date(2026, 10, 1) in hotline_days  # the hotline never closes


# --- a realistic month -------------------------------------------------------------------------------------
def test_a_month_has_every_channel_and_every_event_type(month: tuple[list[Message], GenerationStats]) -> None:
    _, stats = month
    # the contract's channels, and the seeds' others filed from 12345 orders (issue 19, point 5)
    extras = {"hotline_12315", "bureau_hotline", "efficiency_complaint"}
    assert set(stats.by_channel) == set(CHANNELS) | extras
    assert set(stats.by_type) == set(EVENT_TYPES)
    assert 0.9 * 400 * 30 < stats.by_type["case.received"] < 1.1 * 400 * 30


def test_channel_proportions(month: tuple[list[Message], GenerationStats], month_events: list[Event]) -> None:
    received = month[1].by_channel
    total = sum(received.values())
    assert max(received, key=received.__getitem__) == "hotline_12345"
    assert 0.45 < received["hotline_12345"] / total < 0.65
    # deputies' suggestions and proposals arrive in batches
    per_day = collections.Counter(
        e.time.date()
        for e in month_events
        if e.type == "case.received" and data(e).channel == "npc_suggestion"
    )
    assert max(per_day.values()) > 0.6 * received["npc_suggestion"]
    # service centre: about 30% on the spot (即办件, limit 0), the rest with a promise
    limits = [
        data(e).time_limit_days
        for e in month_events
        if e.type == "case.received" and data(e).channel == "service_center"
    ]
    assert all(limit is not None for limit in limits)
    assert 0.2 < limits.count(0) / len(limits) < 0.45


def by_subject(events: Iterable[Event]) -> dict[str, list[Event]]:
    out: dict[str, list[Event]] = collections.defaultdict(list)
    for e in events:
        out[e.subject].append(e)
    for evs in out.values():
        evs.sort(key=lambda e: e.sort_key)
    return out


def test_life_cycles_are_sane(month_events: list[Event]) -> None:
    first = {
        "case": "case.received",
        "supervision": "supervision.issued",
        "rectification": "rectification.opened",
    }
    cases = by_subject(month_events)
    statuses: collections.Counter[str] = collections.Counter()
    for subject, evs in cases.items():
        types = [e.type for e in evs]
        assert types[0] == first[evs[0].aggregate], (subject, types)
        assert len({e.time for e in evs}) == len(evs), (subject, types)  # strictly increasing times
        assert types.count(first[evs[0].aggregate]) == 1
        if evs[0].aggregate == "case":
            if "case.closed" in types:
                assert types[-1] == "case.closed"
            if "case.merged" in types:
                assert types == ["case.received", "case.merged"]
                target = cases[data(evs[1]).into_case_id]
                assert target[0].time < evs[0].time  # merged into an earlier case
            if "case.followed_up" in types:
                assert types.index("case.resolved") < types.index("case.followed_up")
            if "case.reopened" in types:
                assert types.count("case.resolved") == 2
            if "case.suspended" in types:
                assert types.count("case.resumed") == 1 or types[-1] == "case.closed"
            statuses[types[-1]] += 1
        elif evs[0].aggregate == "supervision":
            assert types[-1] in ("supervision.completed", "supervision.cancelled")
            assert types.count("supervision.urged") <= 3
        else:
            assert types[-1] == "rectification.verified" and data(evs[-1]).accepted
    assert statuses["case.closed"] > 0.9 * sum(statuses.values())


def test_the_month_shows_every_handling_path(month_events: list[Event]) -> None:
    cases = by_subject(e for e in month_events if e.aggregate == "case")
    resumed = [data(e) for e in month_events if e.type == "case.resumed"]
    assert any(r.restart_clock for r in resumed) and not all(r.restart_clock for r in resumed)
    reopened = [evs for evs in cases.values() if any(e.type == "case.reopened" for e in evs)]
    assert reopened and all(
        any(
            e.type == "case.followed_up" and data(e).satisfaction in ("dissatisfied", "very_dissatisfied")
            for e in evs
        )
        for evs in reopened
    )
    returned = [evs for evs in cases.values() if any(e.type == "case.returned" for e in evs)]
    assert returned and all([e.type for e in evs].count("case.assigned") >= 2 for evs in returned)
    levels = collections.Counter(data(e).level for e in month_events if e.type == "case.review_decided")
    assert levels["review"] > levels["re_review"] > 0
    extended = [e for e in month_events if e.type == "case.extended"]
    assert {data(e).unit for e in extended} >= {None, "working_days", "months"}
    satisfaction = collections.Counter(
        data(e).satisfaction for e in month_events if e.type == "case.followed_up"
    )
    rated = sum(satisfaction.values()) - satisfaction["unreachable"]
    happy = satisfaction["very_satisfied"] + satisfaction["satisfied"] + satisfaction["basically_satisfied"]
    assert 0.85 < happy / rated < 0.98
    urged = collections.Counter(
        sum(e.type == "supervision.urged" for e in evs)
        for evs in by_subject(month_events).values()
        if evs[0].aggregate == "supervision"
    )
    assert urged[0] and urged[1]
    verified = [data(e).accepted for e in month_events if e.type == "rectification.verified"]
    assert True in verified and False in verified


def test_supervision_orders_can_run_overdue(month_events: list[Event]) -> None:
    orders = by_subject(e for e in month_events if e.aggregate == "supervision")
    overdue = 0
    for evs in orders.values():
        due = data(evs[0]).due_date
        if evs[-1].type == "supervision.completed" and evs[-1].time.date() > due:
            overdue += 1
    assert 0.05 < overdue / len(orders) < 0.3


def test_personal_data_is_well_formed_and_repeats(month_events: list[Event]) -> None:
    petitioners = [
        (data(e).channel, data(e).petitioner)
        for e in month_events
        if e.type == "case.received" and data(e).petitioner is not None
    ]
    assert len(petitioners) > 1000
    petition_ids: collections.Counter[str] = collections.Counter()
    for channel, p in petitioners:
        assert p.name and 2 <= len(p.name) <= 3
        assert p.phone and re.fullmatch(r"1[3-9]\d{9}", p.phone)
        if p.id_number is not None:
            assert re.fullmatch(r"\d{17}[\dX]", p.id_number)
            assert W.id_check_digit(p.id_number[:17]) == p.id_number[17]
            birth = dt.date(int(p.id_number[6:10]), int(p.id_number[10:12]), int(p.id_number[12:14]))
            assert dt.date(1940, 1, 1) < birth < dt.date(2010, 1, 1)
            if channel in PETITION_CHANNELS:
                petition_ids[p.id_number] += 1
        else:
            # callers: the hotlines and the mailbox, and the other lines filed from 12345 orders (issue 19)
            assert channel in ("hotline_12345", "hotline_12319", "mayor_mailbox", "hotline_12315",
                               "bureau_hotline", "efficiency_complaint")  # fmt: skip
    repeaters = [n for n in petition_ids.values() if n > 1]
    assert len(repeaters) > 20 and max(repeaters) >= 3  # 重复信访: the same person again


def test_id_check_digit() -> None:
    assert W.id_check_digit("11010519491231002") == "X"  # the GB 11643 example
    assert W.id_check_digit("44052418800101001") == "4"
