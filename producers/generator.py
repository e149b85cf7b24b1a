"""A seeded, realistic workload: a month of a city's case work, as the Kafka messages upstream systems send.

Used by ``casetrack demo``, by the tests and as the benchmark workload. Same :class:`GeneratorConfig`, same
byte stream: every random choice (event ids included) comes from one ``random.Random(seed)``.

How it works. Each case, supervision order and rectification item is a small Python generator that yields its
life-cycle events in ``time`` order, drawing the next step only when the previous one is published. A calendar
queue (one bucket per day, sorted when the day comes, plus a small heap for steps later the same day) holds the
next pending event of every open aggregate, so publishing order is global ``time`` order across aggregates (as a
real feed interleaves them) and memory is bounded by the aggregates in flight, not by the event count. Intake is
created one simulated day at a time. On top of the time-ordered stream:

* ``late_fraction`` of the valid events are held back and published up to a few days later (out of order);
* ``duplicate_fraction``: an exact redelivery (same bytes) of one of the last published messages;
* ``malformed_fraction``: an invalid message, cycling through :data:`MALFORMED_REASONS` (each one is rejected
  by :class:`events.codec.Codec` with the reason given there);
* ``binary_mode_fraction`` of the valid events use the CloudEvents Kafka binary mode.

Times are placed in office hours (08:30-12:00, 14:00-17:30) on working days of :mod:`projections.calendar`
(holidays and 调休 working weekends included); 24-hour channels (the hotlines, online forms) receive around the
clock with a daytime peak. Long life cycles can run into a year without an official notice: the calendar's own
estimate is used there (a strict calendar that refuses such years gets Monday to Friday). Deadlines aimed at
follow ``projections/default_policy.toml``. Proportions and name lists live in :mod:`producers.workload_data`.
"""

from __future__ import annotations

import calendar as _stdcal
import functools
import heapq
import json
import logging
import math
import random
from bisect import bisect_left, bisect_right
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from itertools import accumulate, islice
from operator import itemgetter
from typing import Any, Final, Literal, Protocol, TypeVar

from events.catalog import EVENT_TYPES
from producers import workload_data as W

log = logging.getLogger(__name__)

AggregateName = Literal["case", "supervision", "rectification"]
MessageKind = Literal["valid", "duplicate", "malformed"]
Step = tuple[int, str, dict[str, Any], int]  # (seconds since the start, type, data, schemaversion)
Life = Iterator[Step]

TZ: Final = timezone(timedelta(hours=8))
DAY: Final = 86_400
_AM0, _AM1, _PM0, _PM1 = 30_600, 43_200, 50_400, 63_000  # office hours 08:30-12:00, 14:00-17:30
_UUID_CLEAR: Final = ~((0xC000 << 48) | (0xF000 << 64)) & ((1 << 128) - 1)
_UUID_SET: Final = (0x8000 << 48) | (0x4000 << 64)
_STRUCTURED_HEADERS: Final = (("content-type", b"application/cloudevents+json"),)
_BINARY_CONTENT_TYPE: Final = ("content-type", b"application/json")

#: every malformed kind and the :class:`events.codec.DecodeError` reason the codec gives it
MALFORMED_REASONS: Final[dict[str, str]] = {
    "broken_json": "invalid_json",
    "invalid_utf8": "invalid_utf8",
    "json_array": "not_an_object",
    "unknown_type": "unknown_type",
    "missing_field": "schema_violation",
    "wrong_type": "schema_violation",
    "key_mismatch": "key_mismatch",
    "oversized": "oversized",
    "nul_character": "nul_character",
    "future_version": "unsupported_version",
    "naive_time": "schema_violation",
}
_WRONG_VALUES: Final[dict[str, Any]] = {  # a value of the wrong type or outside the enum, per data field
    "channel": "fax", "urgency": "very_urgent", "time_limit_days": "五天", "outcome": "done",
    "satisfaction": "meh", "level": "emperor", "decision": "maybe", "extra_days": "十", "extra": -3,
    "restart_clock": "sometimes", "department": 42, "departments": "市住房和城乡建设局", "due_date": "下周五",
    "percent": 150, "measures_done": -1, "measures": [], "deadline": "2026-13-45", "new_deadline": "soon",
    "accepted": "perhaps", "source": "rumour", "into_case_id": ["x"], "reason": 7, "summary": {"x": 1},
}  # fmt: skip
_TEXT_KEYS: Final = ("note", "reason", "summary", "reply_summary", "result", "problem", "title")


class Calendar(Protocol):
    """What the generator needs of :class:`projections.calendar.WorkCalendar`."""

    def is_working_day(self, day: date) -> bool: ...


@dataclass(frozen=True)
class GeneratorConfig:
    seed: int = 20261101
    #: a Monday; the month spans Mid-Autumn (Sep 25), the National Day week and two 调休 working weekends
    start: date = date(2026, 9, 14)
    days: int = 30
    cases_per_day: int = 400  # intake volume across all channels (average per calendar day)
    supervision_per_day: float = 3.0
    rectification_per_day: float = 2.0
    now: datetime | None = None  # events after `now` are not emitted; None = full life cycles
    late_fraction: float = 0.02  # valid events published after events with a later `time`
    duplicate_fraction: float = 0.01  # exact redeliveries of an already published message
    malformed_fraction: float = 0.002  # invalid messages, every kind of MALFORMED_REASONS in turn
    binary_mode_fraction: float = 0.05  # valid events in CloudEvents binary mode
    source_prefix: str = "sim/shijiazhuang"  # CloudEvents source = f"{source_prefix}/{system}"
    late_resolution_fraction: float = 0.04  # handled cases resolved after their deadline
    supervision_overdue_fraction: float = 0.15
    max_events: int | None = None  # stop after this many messages (of every kind)

    def __post_init__(self) -> None:
        for name in ("late_fraction", "duplicate_fraction", "malformed_fraction", "binary_mode_fraction",
                     "late_resolution_fraction", "supervision_overdue_fraction"):  # fmt: skip
            if not 0.0 <= getattr(self, name) < 1.0:
                raise ValueError(f"{name} must lie in [0, 1)")
        if (
            self.days < 1
            or self.cases_per_day < 0
            or self.supervision_per_day < 0
            or self.rectification_per_day < 0
        ):
            raise ValueError("days must be >= 1 and volumes >= 0")
        if self.max_events is not None and self.max_events < 0:
            raise ValueError("max_events must be >= 0")

    @classmethod
    def for_event_count(cls, events: int, **overrides: Any) -> GeneratorConfig:
        """A config for a stream of ``events`` messages (the benchmark: ``for_event_count(1_000_000)``): the
        intake is scaled so that the natural volume exceeds ``events`` by about 5%, and ``max_events`` cuts the
        stream there (the tail of the longest life cycles is left out)."""
        days = int(overrides.get("days", 30))
        per_day = math.ceil(events * 1.05 / (days * EVENTS_PER_INTAKE_CASE))
        return cls(**{"cases_per_day": max(per_day, 1), "max_events": events, **overrides})


#: messages per intake case at the default proportions (measured: 4.97; used by :meth:`for_event_count`)
EVENTS_PER_INTAKE_CASE: Final = 4.95


@dataclass(frozen=True, slots=True)
class Message:
    """One Kafka message in publish order. ``kind``, ``event_type`` and ``defect`` are ground truth for tests."""

    aggregate: AggregateName  # which topic it goes to
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...]
    kind: MessageKind
    event_id: str | None
    event_type: str | None = None  # the catalog type of a valid or duplicate message
    defect: str | None = None  # the malformed kind (a key of MALFORMED_REASONS)


_new_object = object.__new__
_SET_AGGREGATE, _SET_KEY, _SET_VALUE, _SET_HEADERS, _SET_KIND, _SET_EVENT_ID, _SET_EVENT_TYPE, _SET_DEFECT = (
    Message.__dict__[name].__set__ for name in Message.__slots__
)


def _valid_message(
    aggregate: AggregateName,
    key: bytes,
    value: bytes,
    headers: tuple[tuple[str, bytes], ...],
    event_id: str,
    event_type: str,
) -> Message:
    """``Message(aggregate, key, value, headers, "valid", event_id, event_type)`` in half the time: the frozen
    dataclass ``__init__`` goes through ``object.__setattr__`` per field, this sets the slots directly."""
    msg: Message = _new_object(Message)
    _SET_AGGREGATE(msg, aggregate)
    _SET_KEY(msg, key)
    _SET_VALUE(msg, value)
    _SET_HEADERS(msg, headers)
    _SET_KIND(msg, "valid")
    _SET_EVENT_ID(msg, event_id)
    _SET_EVENT_TYPE(msg, event_type)
    _SET_DEFECT(msg, None)
    return msg


@dataclass
class GenerationStats:
    """Counts of what was published; updated as :func:`generate` runs (nothing is buffered)."""

    valid: int = 0
    duplicates: int = 0
    malformed: int = 0
    late: int = 0  # valid events published out of order
    binary_mode: int = 0
    by_type: dict[str, int] = field(default_factory=dict)  # valid events
    by_aggregate: dict[str, int] = field(default_factory=dict)  # valid events
    by_channel: dict[str, int] = field(default_factory=dict)  # cases received
    by_defect: dict[str, int] = field(default_factory=dict)  # malformed messages

    @property
    def total(self) -> int:
        return self.valid + self.duplicates + self.malformed


def generate(
    config: GeneratorConfig, *, stats: GenerationStats | None = None, calendar: Calendar | None = None
) -> Iterator[Message]:
    """The workload in publish order. ``stats``, if given, is updated as the iterator runs. ``calendar``
    defaults to ``projections.calendar.WorkCalendar.load()``."""
    if calendar is None:
        from projections.calendar import WorkCalendar

        calendar = WorkCalendar.load()
    stream = _Sim(config, calendar, stats if stats is not None else GenerationStats()).run()
    return stream if config.max_events is None else islice(stream, config.max_events)


def generate_with_stats(
    config: GeneratorConfig, *, calendar: Calendar | None = None
) -> tuple[list[Message], GenerationStats]:
    """All messages in a list, and their stats (for tests and small runs; large runs stream :func:`generate`)."""
    stats = GenerationStats()
    return list(generate(config, stats=stats, calendar=calendar)), stats


class _Clock:
    """Working days as day indices relative to the start (day 0), extended on demand."""

    def __init__(self, calendar: Calendar, start: date) -> None:
        self._cal = calendar
        self._start = start
        self._flags: list[bool] = []
        self._wd: list[int] = []  # working-day indices, ascending
        self._estimated_years: set[int] = set()
        self.extend(400)

    def extend(self, upto: int) -> None:
        official = getattr(self._cal, "has_official_data", None)
        for i in range(len(self._flags), upto):
            day = self._start + timedelta(days=i)
            try:
                working = bool(self._cal.is_working_day(day))
                estimated = official is not None and not official(day.year)
            except LookupError:  # a strict calendar refuses a year without a notice
                working, estimated = day.weekday() < 5, True
            if estimated and day.year not in self._estimated_years:
                self._estimated_years.add(day.year)
                log.info("no official working-day calendar for %d: the workload uses an estimate", day.year)
            self._flags.append(working)
            if working:
                self._wd.append(i)

    def is_wd(self, day: int) -> bool:
        if day >= len(self._flags):
            self.extend(day + 366)
        return self._flags[day]

    def next_wd(self, day: int) -> int:
        """The first working day on or after ``day``."""
        while True:
            i = bisect_left(self._wd, day)
            if i < len(self._wd):
                return self._wd[i]
            self.extend(len(self._flags) + 366)

    def add_wd(self, day: int, n: int) -> int:
        """The ``n``-th working day after ``day`` (counting starts the day after); ``n == 0`` is ``day``."""
        if n <= 0:
            return day
        while True:
            i = bisect_right(self._wd, day) + n - 1
            if i < len(self._wd):
                return self._wd[i]
            self.extend(len(self._flags) + 366)

    def wd_between(self, a: int, b: int) -> int:
        """Working days in ``(a, b]``."""
        if b <= a:
            return 0
        self.is_wd(b)
        return bisect_right(self._wd, b) - bisect_right(self._wd, a)

    def date_of(self, day: int) -> date:
        return self._start + timedelta(days=day)

    def index_of(self, d: date) -> int:
        return (d - self._start).days


@functools.cache
def _time_of_day() -> tuple[str, ...]:
    return tuple(f"{h:02d}:{m:02d}:{s:02d}+08:00" for h in range(24) for m in range(60) for s in range(60))


def _cum(weights: tuple[float, ...] | list[float]) -> list[float]:
    return list(accumulate(weights))


_T = TypeVar("_T")
#: the fields of a valid message (aggregate, key, value, headers, event id, type)
_Wire = tuple[AggregateName, bytes, bytes, tuple[tuple[str, bytes], ...], str, str]
#: a recent case, for repeats: case id, received, category, region, summary, petitioner items
_Recent = tuple[str, int, str, str, str, tuple[tuple[str, str], ...]]


def _make_dumps() -> Callable[[Any], str]:
    """Compact JSON, non-ASCII as is: ``json.dumps(obj, ensure_ascii=False, separators=(",", ":"))``, calling
    the C encoder directly (about twice as fast as going through ``JSONEncoder.encode``)."""
    from json import encoder

    make = getattr(encoder, "c_make_encoder", None)
    if make is None:  # pragma: no cover - CPython always has it
        return json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    chunks = make(None, None, encoder.encode_basestring, None, ":", ",", False, False, True)
    join = "".join

    def dumps(obj: Any) -> str:
        return join(chunks(obj, 0))

    return dumps


_dumps: Final = _make_dumps()
_RING_SIZE: Final = 1024  # duplicates redeliver one of the last this many valid messages
_POOL_SIZE: Final = 3000  # repeat petitioners / callers remembered per pool
_BIRTH0: Final = date(1945, 1, 1)
_PETITION: Final = frozenset({"letter", "visit", "online_petition"})
_HOTLINES: Final = frozenset({"hotline_12345", "hotline_12319", "mayor_mailbox"})
_HOTLINE_CENTRE: Final = "市12345政务服务便民热线"
_LEADS: Final = {
    "mayor_mailbox": "来信反映",
    "letter": "来信反映",
    "visit": "来访反映",
    "online_petition": "网上反映",
}
_OUTCOME_KIND: Final = {
    "service_center": "service", "disclosure_request": "disclosure", "npc_suggestion": "proposal",
    "cppcc_proposal": "proposal", "letter": "petition", "visit": "petition", "online_petition": "petition",
}  # fmt: skip
_REST_DAY_FACTOR: Final = {"24h": 0.7, "online": 0.8, "daytime": 0.85}
_VERIFIERS: Final = ("市政府督查室", "市纪委监委", "市审计局", "市政务公开办")
_DEPT_COUNT_CUM: Final = [60.0, 88.0, 100.0]  # departments per supervision order: 1, 2 or 3
_APPROVERS: Final = {
    "hotline_12345": "市12345热线服务中心", "hotline_12319": "市住房和城乡建设局", "mayor_mailbox": "市政府办公室",
    "letter": "市信访局", "visit": "市信访局", "online_petition": "市信访局", "npc_suggestion": "市政府办公室",
    "cppcc_proposal": "市政府办公室", "city_management": "市数字化城市管理指挥中心",
    "disclosure_request": "机关负责人", "service_center": "市政务服务管理办公室",
}  # fmt: skip
_UNIT_NAMES: Final = {"wd": "working_days", "cal": "calendar_days", "months": "months"}
_DISSATISFIED: Final = frozenset({"dissatisfied", "very_dissatisfied"})
_ALL_DEPARTMENTS: Final = tuple(
    dict.fromkeys(d for c in W.HOTLINE_CATEGORIES for d in c.departments if "{" not in d)
)


class _Sim:
    """One run of the workload. All randomness comes from ``self.rng``; hot paths use ``rnd``/``ri``/``pick``
    (inlined equivalents of ``random``, ``randint`` and ``choice``) for speed."""

    def __init__(self, cfg: GeneratorConfig, calendar: Calendar, stats: GenerationStats) -> None:
        self.cfg = cfg
        self.stats = stats
        self.rng = random.Random(cfg.seed)
        rnd = self.rnd = self.rng.random

        def ri(a: int, b: int) -> int:  # rng.randint(a, b), three times faster
            return a + int(rnd() * (b - a + 1))

        def pick(seq: Sequence[_T]) -> _T:  # rng.choice(seq)
            return seq[int(rnd() * len(seq))]

        self.ri = ri
        self.pick = pick
        self.clock = _Clock(calendar, cfg.start)
        self.prefix = cfg.source_prefix.rstrip("/")
        start_dt = datetime(cfg.start.year, cfg.start.month, cfg.start.day, tzinfo=TZ)
        if cfg.now is None:
            self.now_t: float = math.inf
        else:
            now = cfg.now if cfg.now.tzinfo is not None else cfg.now.replace(tzinfo=TZ)
            self.now_t = (now - start_dt).total_seconds()
        # The schedule: the next event of every open aggregate, as a reused list [time, seq, life, aggregate,
        # subject, source, type, data as JSON, version, channel of a case.received], in a bucket per day.
        self.buckets: dict[int, list[list[Any]]] = {}
        self.same_day: list[list[Any]] = []  # heap of the day being published
        self.today = -1
        self.late: list[tuple[int, int, _Wire, str | None]] = []  # (release time, seq, wire, channel)
        self.seq = 0
        self.day_prefix: list[str] = []
        self.source_json: dict[str, str] = {}
        self.recent: dict[str, deque[_Recent]] = {p.channel: deque(maxlen=64) for p in W.PROFILES}
        self.pools: dict[str, list[list[Any]]] = {"petition": [], "hotline": []}
        self.ring: list[_Wire] = []
        self.ring_pos = 0
        self.mal_cycle: list[str] = []
        self.order_no = 0
        self.item_no = 0
        self.region_cum = _cum([r[2] for r in W.REGIONS])
        self.hour_cum = {"24h": _cum(W.HOURLY_24H), "online": _cum(W.HOURLY_ONLINE)}
        self.cat_cum = {
            ch: (cats, _cum([c.weight for c in cats]))
            for ch, cats in (
                ("hotline_12319", W.HOUSING_CATEGORIES),
                ("city_management", W.CITY_MANAGEMENT_CATEGORIES),
                ("disclosure_request", W.DISCLOSURE_CATEGORIES),
            )  # fmt: skip
        }
        self.hotline_cats = (W.HOTLINE_CATEGORIES, _cum([c.weight for c in W.HOTLINE_CATEGORIES]))
        self.promised = ([d for d, _ in W.PROMISED_DAYS], _cum([w for _, w in W.PROMISED_DAYS]))
        self.satisfaction = (_cum(W.SATISFACTION_HOTLINE), _cum(W.SATISFACTION_SERVICE))
        self.outcome_cum = {k: _cum(v) for k, v in W.OUTCOME_WEIGHTS.items()}
        self.levels = ([lv for lv, _ in W.SUPERVISION_LEVELS], _cum([w for _, w in W.SUPERVISION_LEVELS]))
        self.rsources = (
            [s for s, _ in W.RECTIFICATION_SOURCES],
            _cum([w for _, w in W.RECTIFICATION_SOURCES]),
        )
        self.required = {
            t: [n for n, f in m.model_fields.items() if f.is_required()] for t, (m, _) in EVENT_TYPES.items()
        }
        clock = self.clock
        self.wd_in_period = sum(clock.is_wd(d) for d in range(cfg.days)) or 1
        self.norm = {
            k: sum(self.day_factor(k, d) for d in range(cfg.days)) or 1.0
            for k in ("24h", "online", "daytime", "office")
        }
        early = [d for d in range(max(1, cfg.days * 2 // 3)) if clock.is_wd(d)] or [0]
        self.burst_day = {p.channel: self.rng.choice(early) for p in W.PROFILES if p.intake == "burst"}

    # -- time helpers ---------------------------------------------------------------------------------
    def ts(self, t: int) -> str:
        """RFC 3339 with the +08:00 offset."""
        day, sec = divmod(t, DAY)
        while day >= len(self.day_prefix):
            self.day_prefix.append(self.clock.date_of(len(self.day_prefix)).isoformat() + "T")
        return self.day_prefix[day] + _time_of_day()[sec]

    def office(self, day: int) -> int:
        """A random moment in office hours of ``day``."""
        r = self.rnd()
        if r < 0.55:
            return day * DAY + _AM0 + int(r * 22_909)  # 12,600 s / 0.55
        return day * DAY + _PM0 + int((r - 0.55) * 28_000)  # 12,600 s / 0.45

    def office_after(self, t: int, gap: int) -> int:
        """``t + gap`` if that is in office hours of a working day, else soon after the next opening."""
        t2 = t + gap
        day, sec = divmod(t2, DAY)
        if self.clock.is_wd(day):
            if sec < _AM0:
                return day * DAY + _AM0 + int(self.rnd() * 3600)
            if sec < _AM1 or _PM0 <= sec < _PM1:
                return t2
            if sec < _PM0:
                return day * DAY + _PM0 + int(self.rnd() * 3600)
        return self.clock.next_wd(day + 1) * DAY + _AM0 + int(self.rnd() * 5400)

    def wd_after(self, t: int, k: int) -> int:
        """An office moment on the ``k``-th working day after ``t``'s day (``k == 0``: later the same day or soon)."""
        if k <= 0:
            return self.office_after(t, 900 + int(self.rnd() * 9900))
        return self.office(self.clock.add_wd(t // DAY, k))

    def around_clock(self, t: int, mean: int) -> int:
        """A 24-hour centre acting after ``t`` (dispatch): exponential delay, nights pushed to the morning."""
        t2 = t + 120 + int(-mean * math.log(1.0 - self.rnd()))
        day, sec = divmod(t2, DAY)
        if sec < 25_200:
            return day * DAY + 25_200 + int(self.rnd() * 7200)
        if sec >= 79_200:
            return (day + 1) * DAY + 25_200 + int(self.rnd() * 7200)
        return t2

    def deadline(self, unit: str, day: int, n: int) -> int:
        """The last day of a period of ``n`` ``unit`` counted from the day after ``day``."""
        clock = self.clock
        if unit == "wd":
            return clock.add_wd(day, n)
        if unit == "cal":
            return clock.next_wd(day + n)
        d = clock.date_of(day)
        month = d.month - 1 + n
        year, month = d.year + month // 12, month % 12 + 1
        d = date(year, month, min(d.day, _stdcal.monthrange(year, month)[1]))
        return clock.next_wd(clock.index_of(d))

    def until(self, t: int, deadline_day: int, speed: float) -> int:
        """A moment after ``t`` and by the end of ``deadline_day``; ``speed > 1`` favours early ones."""
        clock = self.clock
        cur = t // DAY
        n = clock.wd_between(cur, deadline_day)
        k = min(int((n + 1) * self.rnd() ** speed), n)
        if k == 0:
            t2 = self.office_after(t, 900 + int(self.rnd() * 9900))
            if t2 // DAY <= deadline_day:
                return t2
            if n == 0:
                return t + self.ri(600, 3600)
            k = 1
        return self.office(clock.add_wd(cur, k))

    def overdue(self, unit: str, t: int, deadline_day: int) -> int:
        """A moment after the deadline: a late resolution."""
        clock, ri = self.clock, self.ri
        if unit == "wd":
            day = clock.add_wd(deadline_day, ri(1, 4))
        elif unit == "cal":
            day = clock.next_wd(deadline_day + ri(1, 15))
        else:
            day = clock.next_wd(deadline_day + ri(5, 40))
        return max(self.office(day), t + 600)

    def extend_deadline(self, unit: str, deadline_day: int, extra: int) -> int:
        return (
            self.deadline(unit, deadline_day, extra)
            if unit != "wd"
            else self.clock.add_wd(deadline_day, extra)
        )

    def weighted(self, options: Sequence[_T], cum: list[float]) -> _T:
        return options[bisect_left(cum, self.rnd() * cum[-1])]

    # -- people and topics ----------------------------------------------------------------------------
    def new_person(self, region_code: str) -> dict[str, str]:
        """Synthetic, well-formed personal data: a Chinese name, an 11-digit mobile number and an 18-digit
        resident ID number (region code, birth date, sequence with the sex digit, GB 11643 check digit)."""
        rnd, pick = self.rnd, self.pick
        female = rnd() < 0.45
        given = W.GIVEN_FEMALE if female else W.GIVEN_MALE
        name = W.SURNAMES[int(len(W.SURNAMES) * rnd() ** 1.8)] + pick(given)
        if rnd() < 0.7:
            name += pick(given)
        birth = _BIRTH0 + timedelta(days=int(rnd() * 21_900))  # born 1945-2004
        seq = int(rnd() * 100) * 10 + int(rnd() * 5) * 2 + (0 if female else 1)
        first17 = f"{region_code}{birth.year}{birth.month:02d}{birth.day:02d}{seq:03d}"
        phone = f"{pick(W.PHONE_PREFIXES)}{int(rnd() * 100_000_000):08d}"
        return {"name": name, "phone": phone, "id_number": first17 + W.id_check_digit(first17)}

    def person(self, pool_name: str | None, region_code: str) -> tuple[dict[str, str], list[Any] | None]:
        """A petitioner, and its pool entry ``[person, last case id, last received]`` if it may come back:
        repeat petitioners and callers come from a bounded pool, a few of them again and again."""
        rnd = self.rnd
        if pool_name is None:
            return self.new_person(region_code), None
        pool = self.pools[pool_name]
        if pool and rnd() < (0.25 if pool_name == "petition" else 0.12):
            entry = pool[int(len(pool) * rnd() ** 2)]
            return entry[0], entry
        person = self.new_person(region_code)
        if rnd() >= 0.5:
            return person, None
        entry = [person, None, 0]
        if len(pool) < _POOL_SIZE:
            pool.append(entry)
        else:
            pool[self.ri(_POOL_SIZE // 10, _POOL_SIZE - 1)] = entry  # the most frequent petitioners stay
        return person, entry

    def region(self) -> tuple[str, str, float]:
        return W.REGIONS[bisect_left(self.region_cum, self.rnd() * self.region_cum[-1])]

    def topic(self, p: W.Profile, region: str) -> tuple[str, str, tuple[str, ...], int | None]:
        """(category, summary, candidate departments, promised days) of a new case."""
        rnd, pick, ch = self.rnd, self.pick, p.channel
        if ch == "service_center":
            item, window, legal, on_spot = pick(W.SERVICE_ITEMS)
            days = 0 if rnd() < on_spot else self.weighted(*self.promised)
            return item, f"申请办理{item}", (window,), min(days, legal)
        if ch == "npc_suggestion" or ch == "cppcc_proposal":
            subject, dept = pick(W.PROPOSAL_TOPICS)
            kind = "建议" if ch == "npc_suggestion" else "提案"
            return subject, f"关于{subject}的{kind}", (dept, "市发展和改革委员会", "市财政局"), None
        cats, cum = self.cat_cum.get(ch, self.hotline_cats)
        cat = cats[bisect_left(cum, rnd() * cum[-1])]
        problem = pick(cat.problems)
        depts = tuple([d.replace("{region}", region) if "{" in d else d for d in cat.departments])
        if ch == "disclosure_request":
            return cat.name, f"申请公开{region}{problem}相关政府信息", depts, None
        place = pick(W.ESTATES) if rnd() < 0.6 else pick(W.ROADS)
        if ch == "city_management":
            return cat.name, f"监督员上报:{region}{place}{problem}", depts, None
        text = f"{_LEADS.get(ch, '来电反映')}{region}{place}{problem}"
        if ch in _PETITION:
            text += ",要求尽快解决"
        return cat.name, text, depts, None

    # -- life cycles ------------------------------------------------------------------------------------
    def received(
        self, p: W.Profile, cid: str, t0: int
    ) -> tuple[dict[str, Any], str | None, tuple[str, ...], int]:
        """The ``case.received`` payload of a new case, the case it repeats (to merge into) if any, the
        candidate departments and the time limit."""
        rnd, ch = self.rnd, p.channel
        region, region_code, _ = self.region()
        category, summary, depts, promised = self.topic(p, region)
        data: dict[str, Any] = {"channel": ch, "category": category, "summary": summary, "region": region}
        limit = p.limit
        if promised is not None:
            limit = promised
            data["time_limit_days"] = promised
        elif p.p_urgent and rnd() < p.p_urgent:
            data["urgency"] = "urgent"
            limit = 1
        petitioner: dict[str, str] | None = None
        merge_into: str | None = None
        if rnd() < p.p_person:
            pool = "petition" if ch in _PETITION else "hotline" if ch in _HOTLINES else None
            person, entry = self.person(pool, region_code)
            if pool == "hotline":  # callers give a name and a number
                petitioner = {"name": person["name"], "phone": person["phone"]}
            else:
                petitioner = person
            if entry is not None:
                if ch in _PETITION and entry[1] is not None and entry[2] < t0 and rnd() < 0.35:
                    merge_into = entry[1]  # the same petitioner on the same matter again (重复信访)
                entry[1], entry[2] = cid, t0
        if merge_into is None and p.p_merge and rnd() < p.p_merge:
            recent = self.recent[ch]
            if recent and recent[0][1] < t0:
                target = recent[int(rnd() * len(recent))]
                if target[1] < t0:  # a repeat of an earlier case (重复件): merged into it
                    merge_into, _, category, region, summary, person_items = target
                    petitioner = dict(person_items) if person_items else None
                    data.update(category=category, region=region, summary="再次反映:" + summary)
        if petitioner is not None:
            data["petitioner"] = petitioner
        if merge_into is None:
            # the petitioner as a tuple of items: a tuple of strings only, which the cyclic GC untracks
            self.recent[ch].append(
                (cid, t0, category, region, summary, tuple(petitioner.items()) if petitioner else ())
            )
        return data, merge_into, depts, limit

    def start_case(self, p: W.Profile, cid: str, t0: int, source: str) -> None:
        """Schedule a new case: its ``case.received`` now, the rest of its life from :meth:`case_life`."""
        data, merge_into, depts, limit = self.received(p, cid, t0)
        life = self.case_life(p, t0, merge_into, depts, limit, data["region"])
        self.seq += 1
        self.schedule([t0, self.seq, life, "case", cid, source, "case.received", _dumps(data), 1, p.channel])

    def case_life(
        self, p: W.Profile, t0: int, merge_into: str | None, depts: tuple[str, ...], limit: int, region: str
    ) -> Life:
        """The life of a case after its receipt at ``t0``. Locals live as long as the case is open, so there
        are few of them, none holds a payload, and there are no comprehensions (they would make cells)."""
        rnd, ri, pick, clock, ch = self.rnd, self.ri, self.pick, self.clock, p.channel
        if merge_into is not None:
            yield self.office_after(t0, ri(600, 6 * 3600)), "case.merged", {"into_case_id": merge_into}, 1
            return

        t = t0
        if p.p_direct and rnd() < p.p_direct:  # a consultation the call taker answers at once
            t += ri(120, 900)
            reply = "话务员依据知识库直接答复"
            yield (
                t,
                "case.resolved",
                {"department": _HOTLINE_CENTRE, "outcome": "explained", "reply_summary": reply},
                1,
            )
            if rnd() < 0.5:
                t = self.wd_after(t, ri(0, 1))
                sat = self.weighted(W.SATISFACTION, self.satisfaction[0])
                yield t, "case.followed_up", {"satisfaction": sat, "note": "电话回访"}, 1
            yield self.around_clock(t, 3600), "case.closed", {}, 1
            return

        start_day = t0 // DAY
        if p.accept:
            t = self.wd_after(t, ri(0, 4 if ch in _PETITION else 2))
            if rnd() < p.p_reject:
                reasons = W.PETITION_REJECT_REASONS if ch in _PETITION else W.DISCLOSURE_REJECT_REASONS
                yield t, "case.rejected", {"reason": pick(reasons)}, 1
                return
            yield t, "case.accepted", {}, 1
            start_day = t // DAY
        elif p.p_reject and rnd() < p.p_reject:
            yield t + ri(300, 1800), "case.rejected", {"reason": pick(W.SERVICE_REJECT_REASONS)}, 1
            return
        dl = self.deadline(p.unit, start_day, limit)

        dept = depts[0] if len(depts) == 1 or rnd() < 0.6 else depts[1 + int(rnd() * (len(depts) - 1))]
        if ch == "service_center":
            t += ri(60, 300)
        elif p.intake == "24h" or p.intake == "daytime":
            t = self.around_clock(t, 2400)
        else:
            t = self.wd_after(t, ri(0, 3 if p.unit == "months" else 1))
        yield (
            t,
            "case.assigned",
            {"department": dept, "note": "请按时限办理并答复"} if rnd() < 0.5 else {"department": dept},
            1,
        )
        if p.p_return and rnd() < p.p_return:  # 退单: not our duty; the dispatcher re-assigns
            t = self.wd_after(t, ri(0, 1 if ch == "city_management" else 2))
            yield t, "case.returned", {"department": dept, "reason": pick(W.RETURN_REASONS)}, 1
            if len(depts) > 1:  # another candidate (no comprehension in here: it would make ``dept`` a cell)
                i = int(rnd() * (len(depts) - 1))
                dept = depts[i] if depts[i] != dept else depts[-1]
            else:
                other = pick(_ALL_DEPARTMENTS)
                dept = other if other != dept and rnd() < 0.5 else f"{region}人民政府"
            t = self.office_after(t, ri(1800, 4 * 3600))
            yield t, "case.assigned", {"department": dept, "note": "退单后重新派单"}, 1

        if p.p_suspend and rnd() < p.p_suspend:
            correction = ch == "disclosure_request" and rnd() < 0.7
            if correction:
                reason = "申请内容不明确,已书面告知申请人补正"
            elif ch == "disclosure_request":
                reason = "涉及第三方权益,书面征求第三方意见"
            else:
                reason = "组织听证"
            t_s = self.wd_after(t, ri(1, 4))
            yield t_s, "case.suspended", {"reason": reason}, 1
            if correction and rnd() < 0.1:  # never corrected: deemed withdrawn (视为放弃申请)
                yield self.office(clock.add_wd(t_s // DAY, 15 + ri(0, 5))), "case.closed", {}, 1
                return
            if correction:
                t = self.office_after(t_s, DAY * ri(2, 15))
                dl = self.deadline(p.unit, t // DAY, limit)  # 补正 restarts the clock
            else:
                t = self.wd_after(t_s, ri(5, 15))
                paused = t // DAY - t_s // DAY if p.unit != "wd" else clock.wd_between(t_s // DAY, t // DAY)
                dl = self.extend_deadline(p.unit, dl, paused)
            yield t, "case.resumed", {"restart_clock": correction}, 1

        if limit > 0 and p.p_extend and rnd() < p.p_extend:  # 延期, approved
            t = self.until(t, dl, 0.5)
            reason, approver = pick(W.EXTENSION_REASONS), _APPROVERS[ch]
            if p.unit == "months" or rnd() < 0.3:  # schema v2 names the unit
                unit = _UNIT_NAMES[p.unit]
                yield (
                    t,
                    "case.extended",
                    {"extra": p.extend_by, "unit": unit, "reason": reason, "approved_by": approver},
                    2,
                )
            else:
                yield (
                    t,
                    "case.extended",
                    {"extra_days": p.extend_by, "reason": reason, "approved_by": approver},
                    1,
                )
            dl = self.extend_deadline(p.unit, dl, p.extend_by)

        if limit == 0:
            t += ri(300, 2400)  # 即办件: done while the applicant waits
        elif rnd() < self.cfg.late_resolution_fraction * (0.02 if ch == "service_center" else 1.0):
            t = self.overdue(p.unit, t, dl)
        else:
            t = self.until(t, dl, p.speed)
        outcome = self.weighted(W.OUTCOMES, self.outcome_cum[_OUTCOME_KIND.get(ch, "default")])
        reply = pick(W.REPLY_SUMMARIES[outcome])
        yield t, "case.resolved", {"department": dept, "outcome": outcome, "reply_summary": reply}, 1

        reopened = False
        while rnd() < p.p_followup:  # 回访 / 评价
            if ch == "service_center":
                t += ri(30, 1800)
            else:
                t = self.wd_after(t, ri(0, 2))
            sat = self.weighted(W.SATISFACTION, self.satisfaction[1 if p.satisfied_bias or reopened else 0])
            yield t, "case.followed_up", {"satisfaction": sat, "note": pick(W.FOLLOWUP_NOTES)}, 1
            if reopened or sat not in _DISSATISFIED or rnd() >= p.p_reopen:
                break
            reopened = True  # 重办
            t = self.office_after(t, ri(600, 4 * 3600))
            yield t, "case.reopened", {"reason": pick(W.REOPEN_REASONS)}, 1
            if rnd() < 0.5:
                t = self.office_after(t, ri(600, 3 * 3600))
                yield t, "case.assigned", {"department": dept, "note": "重办"}, 1
            t = self.wd_after(t, ri(1, 3))
            yield (
                t,
                "case.resolved",
                {"department": dept, "outcome": "resolved", "reply_summary": "重办后已解决"},
                1,
            )

        if p.p_review and rnd() < p.p_review:  # 复查, then perhaps 复核 (30 days each)
            for level in ("review", "re_review"):
                t = self.office(clock.next_wd(t // DAY + ri(3, 28)))
                yield t, "case.review_requested", {"level": level}, 1
                t = self.office(clock.next_wd(t // DAY + ri(10, 27)))
                decision = "upheld" if rnd() < 0.85 else "changed"
                yield t, "case.review_decided", {"level": level, "decision": decision}, 1
                if decision == "changed" or rnd() >= 0.3:
                    break
        if ch == "service_center":
            t += ri(60, 3600)
        elif ch == "city_management":
            t = self.around_clock(t, 4 * 3600)  # the collector verifies on site (核查结案)
        else:
            t = self.wd_after(t, ri(0, 2))
        yield t, "case.closed", {}, 1

    def supervision_life(self, oid: str, t0: int) -> Life:
        """A supervision order (督办单): issued, progress, 0-3 urgings, completed or cancelled."""
        rnd, ri, pick, clock = self.rnd, self.ri, self.pick, self.clock
        level = self.weighted(*self.levels)
        issued_by = pick(W.SUPERVISION_ISSUERS[level])
        depts = self.rng.sample(_ALL_DEPARTMENTS, self.weighted((1, 2, 3), _DEPT_COUNT_CUM))
        due = clock.add_wd(t0 // DAY, pick((5, 10, 10, 15, 20, 30)))
        subject = pick(W.SUPERVISION_SUBJECTS)
        title = (
            f"{issued_by}批示:抓紧解决{subject}"
            if level == "leader_instruction"
            else f"关于{subject}的督办通知"
        )
        due_date = clock.date_of(due).isoformat()
        data = {
            "title": title,
            "issued_by": issued_by,
            "level": level,
            "departments": depts,
            "due_date": due_date,
        }
        recent = self.recent["hotline_12345" if rnd() < 0.6 else "letter"]
        if recent and rnd() < 0.3:
            data["target_case_id"] = pick(recent)[0]
        yield t0, "supervision.issued", data, 1
        overdue = rnd() < self.cfg.supervision_overdue_fraction
        cancelled = not overdue and rnd() < 0.05
        t_end = self.office(clock.add_wd(due, ri(2, 12))) if overdue else self.until(t0, due, 1.0)
        plan: list[tuple[int, str, dict[str, Any]]] = []
        for dept in depts:
            percent = 0
            for _ in range(ri(1, 2)):
                tt = self.office(clock.next_wd((t0 + int((t_end - t0) * rnd())) // DAY))
                if t0 < tt < t_end:
                    percent = min(90, percent + pick((30, 40, 50)))
                    note = f"已完成{percent}%,正在推进"
                    plan.append(
                        (
                            tt,
                            "supervision.progress_reported",
                            {"department": dept, "note": note, "percent": percent},
                        )
                    )
        urges = ri(1, 3) if overdue else int(rnd() < 0.25)  # each urging raises the escalation stage
        first = clock.add_wd(due, 1) if overdue else (t0 + t_end) // 2 // DAY
        for i in range(urges):
            tt = self.office(clock.next_wd(clock.add_wd(first, 3 * i)))
            if t0 < tt < t_end:
                plan.append((tt, "supervision.urged", {"note": f"第{i + 1}次催办,请抓紧办理"}))
        plan.sort(key=itemgetter(0))
        t = t0
        for tt, etype, d in plan:
            t = max(tt, t + 60)
            yield t, etype, d, 1
        t = max(t_end, t + 600)
        if cancelled:
            yield t, "supervision.cancelled", {"reason": "情况发生变化,经批准撤销督办"}, 1
        else:
            yield (
                t,
                "supervision.completed",
                {"department": depts[0], "result": "已按要求办结,办理结果已书面报送"},
                1,
            )

    def rectification_life(self, iid: str, t0: int) -> Life:
        """A rectification item (整改): opened, progress, maybe extended, completed, verified (or rejected once)."""
        rnd, ri, pick, clock = self.rnd, self.ri, self.pick, self.clock
        source = self.weighted(*self.rsources)
        measures = self.rng.sample(W.RECTIFICATION_MEASURES, ri(2, 6))
        deadline = clock.next_wd(t0 // DAY + pick((30, 45, 60, 90)))
        data: dict[str, Any] = {
            "source": source, "problem": pick(W.RECTIFICATION_PROBLEMS), "department": pick(_ALL_DEPARTMENTS),
            "responsible_person": self.new_person(self.region()[1])["name"],
            "deadline": clock.date_of(deadline).isoformat(), "measures": measures,
        }  # fmt: skip
        recent = self.recent["letter" if source == "petition" else "hotline_12345"]
        if (source == "petition" or source == "public_review") and recent:
            data["related_case_id"] = pick(recent)[0]
        yield t0, "rectification.opened", data, 1
        n = len(measures)
        t, done = t0, 0
        if rnd() < 0.15:
            t = self.office(clock.next_wd(t // DAY + ri(7, 20)))
            done = ri(1, n - 1)
            yield t, "rectification.progress_reported", {"measures_done": done, "note": "按计划推进"}, 1
            t = self.until(t, deadline, 0.5)
            deadline = clock.next_wd(deadline + pick((30, 60)))
            new = clock.date_of(deadline).isoformat()
            yield t, "rectification.extended", {"new_deadline": new, "reason": pick(W.EXTENSION_REASONS)}, 1
        late = rnd() < 0.1
        t_end = self.office(clock.next_wd(deadline + ri(3, 30))) if late else self.until(t, deadline, 1.0)
        while done < n - 1 and rnd() < 0.7:
            tt = self.office(clock.next_wd((t + (t_end - t) // 3) // DAY))
            if not t < tt < t_end:
                break
            t, done = tt, ri(done + 1, n - 1)
            yield t, "rectification.progress_reported", {"measures_done": done}, 1
        t = max(t_end, t + 600)
        yield t, "rectification.completed", {"summary": f"{n}项整改措施已全部完成"}, 1
        for attempt in range(2):
            t = self.wd_after(t, ri(3, 10))
            verifier = pick(_VERIFIERS)
            if attempt == 1 or rnd() < 0.8:
                yield (
                    t,
                    "rectification.verified",
                    {"accepted": True, "verifier": verifier, "note": "验收合格,予以销号"},
                    1,
                )
                return
            yield (
                t,
                "rectification.verified",
                {"accepted": False, "verifier": verifier, "note": "整改不彻底,退回继续整改"},
                1,
            )
            t = self.wd_after(t, ri(2, 6))
            yield (
                t,
                "rectification.progress_reported",
                {"measures_done": n, "note": "根据验收意见补充整改"},
                1,
            )
            t = self.wd_after(t, ri(1, 5))
            yield t, "rectification.completed", {"summary": "已按验收意见补充整改完毕"}, 1

    # -- intake -----------------------------------------------------------------------------------------
    def count(self, mean: float) -> int:
        """A Poisson-distributed count (normal approximation for large means)."""
        rnd = self.rnd
        if mean <= 0:
            return 0
        if mean < 30:  # Knuth
            limit, k, prod = math.exp(-mean), 0, rnd()
            while prod > limit:
                k += 1
                prod *= rnd()
            return k
        return max(0, round(self.rng.gauss(mean, math.sqrt(mean))))

    def day_factor(self, intake: str, day: int) -> float:
        """Relative intake of a day: hotlines keep ringing on rest days, offices are closed."""
        if self.clock.is_wd(day):
            return 1.0
        return _REST_DAY_FACTOR.get(intake, 0.0)

    def intake_time(self, intake: str, day: int) -> int:
        rnd = self.rnd
        if intake == "24h" or intake == "online":
            cum = self.hour_cum[intake]
            hour = bisect_left(cum, rnd() * cum[-1])
            return day * DAY + hour * 3600 + int(rnd() * 3600)
        if intake == "daytime":
            return day * DAY + 25_200 + int(rnd() * 43_200)
        return self.office(day)

    def intake(self, day: int) -> None:
        """Create the day's new cases, orders and items and schedule their first events."""
        cfg, clock = self.cfg, self.clock
        items: list[tuple[int, int]] = []
        for idx, p in enumerate(W.PROFILES):
            total = p.share * cfg.cases_per_day * cfg.days
            if p.intake == "burst":  # 人大建议/政协提案 are handed over in batches
                mean = 0.85 * total if day == self.burst_day[p.channel] else 0.0
                mean += 0.15 * total / self.wd_in_period if clock.is_wd(day) else 0.0
            else:
                mean = total * self.day_factor(p.intake, day) / self.norm[p.intake]
            items.extend((self.intake_time(p.intake, day), idx) for _ in range(self.count(mean)))
        items.sort()
        ymd = clock.date_of(day).strftime("%Y%m%d")
        numbers = [0] * len(W.PROFILES)
        for t, idx in items:
            p = W.PROFILES[idx]
            numbers[idx] += 1
            cid = f"{p.id_prefix}{ymd}{numbers[idx]:05d}"
            self.start_case(p, cid, t, f"{self.prefix}/{p.system}")
        if not clock.is_wd(day):
            return
        n = self.count(cfg.supervision_per_day * cfg.days / self.wd_in_period)
        for t in sorted(self.office(day) for _ in range(n)):
            self.order_no += 1
            oid = f"DB{ymd[:4]}{self.order_no:06d}"
            self.start_life(self.supervision_life(oid, t), "supervision", oid, f"{self.prefix}/supervision")
        n = self.count(cfg.rectification_per_day * cfg.days / self.wd_in_period)
        for t in sorted(self.office(day) for _ in range(n)):
            self.item_no += 1
            iid = f"ZG{ymd[:4]}{self.item_no:06d}"
            self.start_life(
                self.rectification_life(iid, t), "rectification", iid, f"{self.prefix}/rectification"
            )

    def start_life(self, life: Life, aggregate: AggregateName, subject: str, source: str) -> None:
        """Schedule a new supervision order or rectification item (its first event is yielded by ``life``)."""
        t, etype, data, ver = next(life)
        self.seq += 1
        self.schedule([t, self.seq, life, aggregate, subject, source, etype, _dumps(data), ver, None])

    def schedule(self, entry: list[Any]) -> None:
        day = entry[0] // DAY
        if day == self.today:
            heapq.heappush(self.same_day, entry)
        else:
            bucket = self.buckets.get(day)
            if bucket is None:
                self.buckets[day] = [entry]
            else:
                bucket.append(entry)

    # -- publishing -------------------------------------------------------------------------------------
    def run(self) -> Iterator[Message]:
        for day in range(self.cfg.days):
            if day * DAY > self.now_t:
                break
            self.intake(day)
            yield from self.drain(day)
        while self.buckets:
            yield from self.drain(min(self.buckets))
        while self.late:
            yield self.release(heapq.heappop(self.late))

    def release(self, held: tuple[int, int, _Wire, str | None]) -> Message:
        _, _, wire, channel = held
        aggregate, _, _, headers, _, etype = wire
        st = self.stats
        st.valid += 1
        st.late += 1
        st.by_type[etype] = st.by_type.get(etype, 0) + 1
        st.by_aggregate[aggregate] = st.by_aggregate.get(aggregate, 0) + 1
        if channel is not None:
            st.by_channel[channel] = st.by_channel.get(channel, 0) + 1
        if headers is not _STRUCTURED_HEADERS:
            st.binary_mode += 1
        return _valid_message(*wire)

    def drain(self, day: int) -> Iterator[Message]:
        """Publish the events of ``day`` in time order, with the late, duplicate and malformed messages mixed
        in. The day's bucket is sorted once; steps that fall later the same day go through a small heap, steps
        on later days are appended to their day's bucket (a calendar queue: no big heap to sift)."""
        bucket = self.buckets.pop(day, [])
        bucket.sort()
        self.today, same = day, self.same_day
        late, rnd, stats, cfg, ring, buckets = (
            self.late,
            self.rnd,
            self.stats,
            self.cfg,
            self.ring,
            self.buckets,
        )
        by_type, by_aggregate, by_channel = stats.by_type, stats.by_aggregate, stats.by_channel
        heappop, heappush = heapq.heappop, heapq.heappush
        getrandbits, dumps, day_prefix, tod = self.rng.getrandbits, _dumps, self.day_prefix, _time_of_day()
        late_f, dup_f, mal_f = cfg.late_fraction, cfg.duplicate_fraction, cfg.malformed_fraction
        bin_f, now_t, source_json = cfg.binary_mode_fraction, self.now_t, self.source_json
        i, n = 0, len(bucket)
        while True:
            if same and (i == n or same[0] < bucket[i]):
                entry = heappop(same)
            elif i < n:
                entry = bucket[i]
                i += 1
            else:
                break
            t = entry[0]
            if t > now_t:  # nothing later is published; open aggregates stay open
                buckets.clear()
                same.clear()
                return
            while late and late[0][0] <= t:
                yield self.release(heappop(late))
            _, _, life, aggregate, subject, source, etype, data_json, ver, channel = entry
            h = "%032x" % ((getrandbits(128) & _UUID_CLEAR) | _UUID_SET)
            eid = f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
            day_t, sec = divmod(t, DAY)
            time_s = day_prefix[day_t] + tod[sec] if day_t < len(day_prefix) else self.ts(t)
            key = subject.encode()
            if rnd() < bin_f:
                headers: tuple[tuple[str, bytes], ...] = (
                    ("ce_specversion", b"1.0"), ("ce_id", eid.encode()), ("ce_source", source.encode()),
                    ("ce_type", etype.encode()), ("ce_subject", key), ("ce_time", time_s.encode()),
                    *((("ce_schemaversion", str(ver).encode()),) if ver != 1 else ()), _BINARY_CONTENT_TYPE,
                )  # fmt: skip
                value_b = data_json.encode()
            else:
                src = source_json.get(source)
                if src is None:
                    src = source_json[source] = dumps(source)
                version = f'"schemaversion":{ver},' if ver != 1 else ""
                value = (
                    f'{{"specversion":"1.0","id":"{eid}","source":{src},"type":"{etype}","subject":"{subject}",'
                    f'"time":"{time_s}","datacontenttype":"application/json",{version}"data":{data_json}}}'
                )
                value_b, headers = value.encode(), _STRUCTURED_HEADERS
            # Held back, in the duplicate ring: only tuples of str/bytes, which the cyclic GC untracks (a
            # Message is always tracked, and a million of them surviving young collections would make the
            # collector scan every open case again and again).
            wire = (aggregate, key, value_b, headers, eid, etype)
            if rnd() < late_f:  # held back: published after events with a later time
                self.seq += 1
                delay = min(int(-14_400 * math.log(1.0 - rnd())), 3 * DAY) + 300
                heappush(late, (t + delay, self.seq, wire, channel))
            else:
                stats.valid += 1
                by_type[etype] = by_type.get(etype, 0) + 1
                by_aggregate[aggregate] = by_aggregate.get(aggregate, 0) + 1
                if channel is not None:
                    by_channel[channel] = by_channel.get(channel, 0) + 1
                if headers is not _STRUCTURED_HEADERS:
                    stats.binary_mode += 1
                yield _valid_message(aggregate, key, value_b, headers, eid, etype)
                if len(ring) < _RING_SIZE:
                    ring.append(wire)
                else:
                    ring[self.ring_pos] = wire
                    self.ring_pos = (self.ring_pos + 1) % _RING_SIZE
            if rnd() < dup_f and ring:  # an exact redelivery of a recent message
                stats.duplicates += 1
                d_agg, d_key, d_value, d_headers, d_id, d_type = ring[int(rnd() * len(ring))]
                yield Message(d_agg, d_key, d_value, d_headers, "duplicate", d_id, d_type)
            if rnd() < mal_f:
                env = {"specversion": "1.0", "id": eid, "source": source, "type": etype, "subject": subject,
                       "time": time_s, "datacontenttype": "application/json", "schemaversion": ver, "data": json.loads(data_json)}  # fmt: skip
                yield self.malformed(env, aggregate, key)
            step = next(life, None)
            if step is not None:
                self.seq += 1
                t = step[0]
                # the payload is serialised now, so its dict dies young (the cyclic GC never sees it promoted)
                entry[0], entry[1], entry[6], entry[9] = t, self.seq, step[1], None
                entry[7], entry[8] = dumps(step[2]), step[3]
                if t < (day + 1) * DAY:
                    heappush(same, entry)
                else:
                    other = buckets.get(t // DAY)
                    if other is None:
                        buckets[t // DAY] = [entry]
                    else:
                        other.append(entry)
        self.today = -1

    def malformed(self, env: dict[str, Any], aggregate: AggregateName, key: bytes) -> Message:
        """An invalid message, the next kind of :data:`MALFORMED_REASONS` in a shuffled cycle."""
        rng, rnd, pick = self.rng, self.rnd, self.pick
        if not self.mal_cycle:
            self.mal_cycle = list(MALFORMED_REASONS)
            rng.shuffle(self.mal_cycle)
        defect = self.mal_cycle.pop()
        bad = dict(env)
        data = bad["data"] = dict(env["data"])
        h = "%032x" % ((rng.getrandbits(128) & _UUID_CLEAR) | _UUID_SET)
        bad["id"] = f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
        if defect == "unknown_type":
            bad["type"] = pick(
                ("case.escalated", "case.deleted", "supervision.paused", "rectification.archived")
            )
        elif defect == "missing_field":
            present = [k for k in self.required[bad["type"]] if k in data]
            if present and rnd() < 0.6:
                del data[pick(present)]
            else:
                del bad[pick(("id", "source", "subject", "time", "data"))]
        elif defect == "wrong_type":
            wrong = [k for k in data if k in _WRONG_VALUES]
            if wrong:
                k = pick(wrong)
                data[k] = _WRONG_VALUES[k]
            else:
                bad["specversion"] = "0.3"
        elif defect == "key_mismatch":
            key = key + b"-0"
        elif defect == "oversized":
            data["attachment"] = "附" * 100_000  # 300,000 bytes of UTF-8
        elif defect == "nul_character":
            text = next((k for k in _TEXT_KEYS if k in data), None)
            if text is None:
                bad["source"] += "\x00"
            else:
                data[text] = data[text] + "\x00"
        elif defect == "future_version":
            bad["schemaversion"] = 99
        elif defect == "naive_time":
            bad["time"] = bad["time"][:-6]
        value = _dumps(bad).encode()
        if defect == "broken_json" or defect == "invalid_utf8":
            cut = len(value) // 2
            while value[cut] >= 0x80:  # cut between characters, so the rest stays valid UTF-8
                cut -= 1
            value = value[:cut] if defect == "broken_json" else value[:cut] + b"\xff\xfe" + value[cut:]
        elif defect == "json_array":
            value = b"[" + value + b"]"
        self.stats.malformed += 1
        self.stats.by_defect[defect] = self.stats.by_defect.get(defect, 0) + 1
        return Message(aggregate, key, value, _STRUCTURED_HEADERS, "malformed", bad.get("id"), None, defect)


__all__ = [
    "EVENTS_PER_INTAKE_CASE",
    "MALFORMED_REASONS",
    "GenerationStats",
    "GeneratorConfig",
    "Message",
    "generate",
    "generate_with_stats",
]
