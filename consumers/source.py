"""A thin, typed wrapper around kafka-python's consumer: assign or subscribe, seek to stored positions,
poll batches of :class:`events.codec.Record`, and know the high watermark of every partition.

Two quirks of Tansu (see ``stack.md``) shape it: ``end_offsets()`` can be too small, so "caught up" and lag
use the high watermark that fetch responses carry (``highwater``); and seeking past the end raises nothing,
so :meth:`KafkaSource.check_positions` detects stored positions that are ahead of the broker.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from kafka import KafkaConsumer, TopicPartition
from kafka.consumer.subscription_state import ConsumerRebalanceListener
from kafka.errors import OffsetOutOfRangeError

from consumers.ports import TP
from events.codec import Record

log = logging.getLogger("casetrack.source")

#: What an operator runs after broker data loss or a retention gap (``tests/integration/test_operator_advice.py``
#: runs it exactly as printed).
RECOVER_COMMAND = "casetrack replay --from event-store --accept-broker-loss"


class OffsetsAheadOfBroker(RuntimeError):
    """Stored positions point past the broker's end: the broker lost data (Tansu keeps it in memory only),
    or the topic was recreated. casetrack neither skips nor reprocesses silently; the operator decides."""

    def __init__(self, gaps: Mapping[TP, tuple[int, int]]) -> None:
        self.gaps = dict(gaps)
        lines = ", ".join(f"{t}[{p}] stored {s} > broker end {h}" for (t, p), (s, h) in sorted(gaps.items()))
        super().__init__(
            f"stored positions are ahead of the broker ({lines}): the broker lost data or the topic was "
            "recreated. Nothing was skipped or reprocessed. The event store keeps every event consumed; to "
            f"rebuild from it and continue from what the broker holds now, run:\n  {RECOVER_COMMAND}\n"
            "Then re-publish any events sent after the last one consumed (docs/operators.md, 'Broker data loss')."
        )


class RetentionGap(RuntimeError):
    """Stored positions point before the first offset the broker still holds."""

    def __init__(self, gaps: Mapping[TP, tuple[int, int]]) -> None:
        self.gaps = dict(gaps)
        lines = ", ".join(f"{t}[{p}] stored {s} < earliest {b}" for (t, p), (s, b) in sorted(gaps.items()))
        super().__init__(
            f"events were deleted by retention before casetrack consumed them ({lines}). Those events are "
            "lost to the projections unless re-published; to accept the gap and continue from the earliest "
            f"event the broker holds, run:\n  {RECOVER_COMMAND}"
        )


@dataclass(frozen=True)
class SourceConfig:
    """What the source needs from the settings."""

    bootstrap: str
    client_options: Mapping[str, object]
    group_id: str | None = None
    max_poll_interval_ms: int = 10_000
    fetch_max_bytes: int = 16 * 1024 * 1024
    max_partition_fetch_bytes: int = 4 * 1024 * 1024


class KafkaSource:
    """Reads records from Kafka; positions are owned by the caller (stored in PostgreSQL)."""

    def __init__(self, config: SourceConfig) -> None:
        self.config = config
        self._consumer = KafkaConsumer(
            bootstrap_servers=config.bootstrap.split(","),
            group_id=config.group_id,
            enable_auto_commit=False,
            auto_offset_reset="none",  # never jump silently: positions always come from the store
            max_poll_interval_ms=config.max_poll_interval_ms,
            # Apache Kafka refuses a session timeout under its group.min.session.timeout.ms (6 s by default)
            # with INVALID_SESSION_TIMEOUT, so never below that, even with a shorter poll interval.
            session_timeout_ms=max(6_000, min(10_000, config.max_poll_interval_ms)),
            heartbeat_interval_ms=min(3_000, config.max_poll_interval_ms // 3),
            fetch_max_bytes=config.fetch_max_bytes,
            max_partition_fetch_bytes=config.max_partition_fetch_bytes,
            fetch_max_wait_ms=100,
            **config.client_options,
        )

    # -- partitions --------------------------------------------------------------------------------
    def partitions_of(self, topic: str) -> list[TP]:
        parts = self._consumer.partitions_for_topic(topic)
        if not parts:
            raise LookupError(f"topic {topic!r} does not exist (run `casetrack migrate` to create topics)")
        return [(topic, p) for p in sorted(parts)]

    def assign(self, partitions: Sequence[TP]) -> None:
        self._consumer.assign([TopicPartition(t, p) for t, p in partitions])

    def subscribe(
        self,
        topics: Sequence[str],
        on_assigned: Callable[[list[TP]], None],
        on_revoked: Callable[[list[TP]], None],
    ) -> None:
        """Join the consumer group; the callbacks run inside ``poll`` on (re)balance."""

        class _Listener(ConsumerRebalanceListener):  # type: ignore[misc]
            def on_partitions_assigned(self, assigned: Any) -> None:
                on_assigned([(tp.topic, tp.partition) for tp in assigned])

            def on_partitions_revoked(self, revoked: Any) -> None:
                on_revoked([(tp.topic, tp.partition) for tp in revoked])

        # kafka-python joins without waiting for the topics' metadata, and a refresh already in flight when
        # subscribe() asks for one answers (and clears) that request without them: the leader then assigns
        # nothing, and nothing corrects it for metadata_max_age_ms (5 min). So fetch them first: this waits for
        # any refresh in flight, then fetches every topic's metadata (docs/architecture.md, "Rebalances").
        self._consumer.topics()
        self._consumer.subscribe(list(topics), listener=_Listener())

    def assignment(self) -> list[TP]:
        return sorted((tp.topic, tp.partition) for tp in self._consumer.assignment())

    def seek(self, positions: Mapping[TP, int]) -> None:
        for (t, p), offset in positions.items():
            self._consumer.seek(TopicPartition(t, p), offset)

    def beginning(self, partitions: Sequence[TP]) -> dict[TP, int]:
        res = self._consumer.beginning_offsets([TopicPartition(t, p) for t, p in partitions])
        return {(tp.topic, tp.partition): int(o) for tp, o in res.items()}

    def pause(self, partitions: Sequence[TP]) -> None:
        self._each_held(self._consumer.pause, partitions)

    def resume(self, partitions: Sequence[TP]) -> None:
        self._each_held(self._consumer.resume, partitions)

    @staticmethod
    def _each_held(action: Callable[[TopicPartition], None], partitions: Sequence[TP]) -> None:
        """Pause or resume each partition still assigned; one a later rebalance took away meanwhile is skipped
        (kafka-python raises KeyError for it, which crashed a group member between two quick rebalances)."""
        for t, p in partitions:
            try:
                action(TopicPartition(t, p))
            except KeyError:
                continue

    # -- reading -----------------------------------------------------------------------------------
    def poll(self, max_records: int, timeout_ms: int) -> list[Record]:
        try:
            batches = self._consumer.poll(timeout_ms=timeout_ms, max_records=max_records, update_offsets=True)
        except OffsetOutOfRangeError as exc:
            raise self._out_of_range(exc) from None
        out: list[Record] = []
        for tp, records in batches.items():
            for r in records:
                out.append(
                    Record(
                        tp.topic, tp.partition, r.offset, r.key, r.value, tuple(r.headers or ()), r.timestamp
                    )
                )
        return out

    def _out_of_range(self, exc: Exception) -> Exception:
        """Apache Kafka refuses a fetch outside the log (Tansu answers it empty, see :meth:`check_positions`):
        the same errors, with the same advice, as stored positions found ahead of the end or behind the start.
        ListOffsets is right on Apache Kafka, so ``end_offsets`` can be trusted on this path."""
        stored = exc.args[0] if exc.args and isinstance(exc.args[0], dict) else {}
        if not stored:
            return exc
        tps = list(stored)
        begin, end = self._consumer.beginning_offsets(tps), self._consumer.end_offsets(tps)
        key = {tp: (tp.topic, tp.partition) for tp in tps}
        ahead = {key[tp]: (int(o), int(end[tp])) for tp, o in stored.items() if o > end[tp]}
        behind = {key[tp]: (int(o), int(begin[tp])) for tp, o in stored.items() if o < begin[tp]}
        if ahead:
            return OffsetsAheadOfBroker(ahead)
        if behind:
            return RetentionGap(behind)
        return exc

    def highwater(self, tp: TP) -> int | None:
        """The partition's end (next offset to be written) as of the last fetch; None before one."""
        hw = self._consumer.highwater(TopicPartition(*tp))
        return None if hw is None else int(hw)

    def position(self, tp: TP) -> int:
        return int(self._consumer.position(TopicPartition(*tp)))

    def check_positions(self, positions: Mapping[TP, int]) -> None:
        """Raise if stored positions lie outside what the broker holds (after a fetch told us its end)."""
        ahead = {}
        for tp, stored in positions.items():
            hw = self.highwater(tp)
            if hw is not None and stored > hw:
                ahead[tp] = (stored, hw)
        if ahead:
            raise OffsetsAheadOfBroker(ahead)

    def commit_positions(self, positions: Mapping[TP, int]) -> None:
        """Mirror positions to Kafka's group offsets, for standard lag tooling. The store stays the truth."""
        if not self.config.group_id or not positions:
            return
        from kafka.structs import OffsetAndMetadata

        try:
            self._consumer.commit_async(
                {TopicPartition(t, p): OffsetAndMetadata(o, "", -1) for (t, p), o in positions.items()}
            )
        except Exception as exc:  # advisory only; never fail a batch for it
            log.debug("mirroring offsets to Kafka failed: %s", exc)

    def close(self) -> None:
        self._consumer.close(autocommit=False)
