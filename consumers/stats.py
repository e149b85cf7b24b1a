"""What a batch did and what a run did: the figures the runner hands to its observer (metrics) and sums for
``consume --until-caught-up`` (see docs/architecture.md, "How a batch is processed")."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from consumers.ports import TP


class Observer(Protocol):
    """Receives what each batch did (metrics); see :class:`consumers.metrics.ConsumerMetrics`."""

    def batch_done(self, stats: BatchStats) -> None: ...
    def positions(self, positions: Mapping[TP, int], highwaters: Mapping[TP, int | None]) -> None: ...
    def db_retry(self) -> None: ...


@dataclass
class BatchStats:
    """Per-batch figures handed to the observer and summed by :class:`RunTotals`."""

    records: int = 0
    records_by_topic: Counter[str] = field(default_factory=Counter)
    applied: int = 0
    duplicates: int = 0
    dead_letters: Counter[tuple[str, str]] = field(default_factory=Counter)  # (topic, reason)
    applied_by_type: Counter[tuple[str, str]] = field(default_factory=Counter)  # (topic, type)
    refolded: int = 0
    decode_seconds: float = 0.0
    commit_seconds: float = 0.0
    total_seconds: float = 0.0
    event_times: list[dt.datetime] = field(default_factory=list)


@dataclass
class RunTotals:
    """What a run did, for ``consume --until-caught-up`` and the accounting invariant."""

    records: int = 0
    applied: int = 0
    duplicates: int = 0
    dead_letters: int = 0
    batches: int = 0

    def add(self, s: BatchStats) -> None:
        self.records += s.records
        self.applied += s.applied
        self.duplicates += s.duplicates
        self.dead_letters += sum(s.dead_letters.values())
        self.batches += 1
