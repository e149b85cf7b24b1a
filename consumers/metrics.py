"""Technical metrics of the consumer (Prometheus conventions: base units, ``_total`` counters, bounded
labels). Labels are topic names, partitions, catalog event types and dead-letter reason codes: all bounded
by configuration or code, never by event data. No metric carries personal data.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Mapping

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from consumers.ports import TP
from consumers.runner import BatchStats

_AGE_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 21600, 86400)


class ConsumerMetrics:
    """Implements :class:`consumers.runner.Observer` on a Prometheus registry."""

    def __init__(self, registry: CollectorRegistry, stall_after_seconds: float = 60.0) -> None:
        self.stall_after_seconds = stall_after_seconds
        self._counters(registry)
        self._histograms(registry)
        self._gauges(registry)
        self._caught_up_at: dict[TP, float] = {}
        self._advanced_at: dict[TP, tuple[int, float]] = {}

    def _counters(self, registry: CollectorRegistry) -> None:
        self.records = Counter(
            "casetrack_records_consumed", "Kafka records read and committed, valid or not.", ["topic"],
            registry=registry,
        )  # fmt: skip
        self.applied = Counter(
            "casetrack_events_applied", "Valid new events folded into the projections.", ["topic", "type"],
            registry=registry,
        )  # fmt: skip
        self.duplicates = Counter(
            "casetrack_events_duplicate", "Events skipped because their id was already folded.",
            registry=registry,
        )  # fmt: skip
        self.dead_letters = Counter(
            "casetrack_dead_letters", "Records sent to the dead-letter topic.", ["topic", "reason"],
            registry=registry,
        )  # fmt: skip
        self.refolds = Counter(
            "casetrack_late_refolds", "Aggregates re-folded from history because a late event arrived.",
            registry=registry,
        )  # fmt: skip
        self.db_retries = Counter(
            "casetrack_db_retries", "Batches retried after a database error.", registry=registry
        )

    def _histograms(self, registry: CollectorRegistry) -> None:
        self.batch_records = Histogram(
            "casetrack_batch_records", "Records per processed batch.",
            buckets=(1, 10, 100, 500, 1000, 2000, 5000, 10000), registry=registry,
        )  # fmt: skip
        self.batch_seconds = Histogram(
            "casetrack_batch_duration_seconds", "Time to process one batch, by stage.", ["stage"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10), registry=registry,
        )  # fmt: skip
        self.event_age = Histogram(
            "casetrack_event_age_seconds",
            "Age of an event (now minus its CloudEvents time) when its batch committed: end-to-end latency.",
            buckets=_AGE_BUCKETS, registry=registry,
        )  # fmt: skip

    def _gauges(self, registry: CollectorRegistry) -> None:
        self.position = Gauge(
            "casetrack_consumer_position", "Next offset to consume (stored in PostgreSQL).", ["topic", "partition"],
            registry=registry,
        )  # fmt: skip
        self.highwater = Gauge(
            "casetrack_consumer_highwater", "Partition end as reported by the last fetch.", ["topic", "partition"],
            registry=registry,
        )  # fmt: skip
        self.lag = Gauge(
            "casetrack_consumer_lag_records", "High watermark minus position.", ["topic", "partition"],
            registry=registry,
        )  # fmt: skip
        self.lag_seconds = Gauge(
            "casetrack_consumer_lag_seconds", "Seconds since the partition was last fully caught up (0 when it is).",
            ["topic", "partition"], registry=registry,
        )  # fmt: skip
        self.stalled = Gauge(
            "casetrack_consumer_stalled",
            "1 when the partition has lag but its position has not advanced for the stall period.",
            ["topic", "partition"], registry=registry,
        )  # fmt: skip
        self.last_batch = Gauge(
            "casetrack_last_batch_timestamp_seconds",
            "Unix time of the last committed batch.",
            registry=registry,
        )

    def batch_done(self, stats: BatchStats) -> None:
        now = dt.datetime.now(dt.UTC)
        for topic, n in stats.records_by_topic.items():
            self.records.labels(topic).inc(n)
        for (topic, ev_type), n in stats.applied_by_type.items():
            self.applied.labels(topic, ev_type).inc(n)
        for (topic, reason), n in stats.dead_letters.items():
            self.dead_letters.labels(topic, reason).inc(n)
        if stats.duplicates:
            self.duplicates.inc(stats.duplicates)
        if stats.refolded:
            self.refolds.inc(stats.refolded)
        self.batch_records.observe(stats.records)
        self.batch_seconds.labels("decode").observe(stats.decode_seconds)
        self.batch_seconds.labels("commit").observe(stats.commit_seconds)
        self.batch_seconds.labels("total").observe(stats.total_seconds)
        for t in stats.event_times:
            self.event_age.observe(max(0.0, (now - t).total_seconds()))
        self.last_batch.set(time.time())

    def positions(self, positions: Mapping[TP, int], highwaters: Mapping[TP, int | None]) -> None:
        now = time.monotonic()
        for tp, pos in positions.items():
            topic, part = tp[0], str(tp[1])
            hw = highwaters.get(tp)
            self.position.labels(topic, part).set(pos)
            prev = self._advanced_at.get(tp)
            if prev is None or prev[0] != pos:
                self._advanced_at[tp] = (pos, now)
            if hw is None:
                continue
            lag = max(0, hw - pos)
            self.highwater.labels(topic, part).set(hw)
            self.lag.labels(topic, part).set(lag)
            if lag == 0:
                self._caught_up_at[tp] = now
                self.lag_seconds.labels(topic, part).set(0)
                self.stalled.labels(topic, part).set(0)
            else:
                since = self._caught_up_at.setdefault(tp, now)
                self.lag_seconds.labels(topic, part).set(now - since)
                idle = now - self._advanced_at[tp][1]
                self.stalled.labels(topic, part).set(1 if idle >= self.stall_after_seconds else 0)

    def db_retry(self) -> None:
        self.db_retries.inc()
