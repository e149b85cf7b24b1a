"""The public value types of the workload: what to generate (:class:`GeneratorConfig`), what comes out
(:class:`Message`) and what was counted on the way (:class:`GenerationStats`).

They live apart from the simulation so that consumers of the stream (the demo, the benchmark harness, the
report) can import them without reading how the month is simulated. :func:`valid_message` is the hot-path
constructor of :class:`Message` used once per published event.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Final, Literal

AggregateName = Literal["case", "supervision", "rectification"]
MessageKind = Literal["valid", "duplicate", "malformed"]
#: Kafka message headers
Headers = tuple[tuple[str, bytes], ...]


@dataclass(frozen=True)
class GeneratorConfig:
    """What to generate: the seed, the simulated period and volumes, and the injected faults (same config,
    same byte stream)."""

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
    headers: Headers
    kind: MessageKind
    event_id: str | None
    event_type: str | None = None  # the catalog type of a valid or duplicate message
    defect: str | None = None  # the malformed kind (a key of MALFORMED_REASONS)


_new_object = object.__new__
_SET_AGGREGATE, _SET_KEY, _SET_VALUE, _SET_HEADERS, _SET_KIND, _SET_EVENT_ID, _SET_EVENT_TYPE, _SET_DEFECT = (
    Message.__dict__[name].__set__ for name in Message.__slots__
)


def valid_message(
    aggregate: AggregateName,
    key: bytes,
    value: bytes,
    headers: Headers,
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
