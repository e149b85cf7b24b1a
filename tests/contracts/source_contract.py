"""The contract every :class:`consumers.ports.RecordSource` adapter honours. Subclass and provide ``harness``.

Run against the in-memory adapter (tests/unit/test_source_memory.py) and the Kafka adapter on the session's
real broker (tests/integration/test_source_kafka.py), so the runner's unit tests on the fake say something about
production. A real broker may hand records over several polls, so the tests poll until they have what they
expect (a bounded number of times), never assuming one poll returns everything.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import pytest

from consumers.ports import TP, RecordSource
from consumers.source import OffsetsAheadOfBroker
from events.codec import Record

POLLS = 100  # at most this many polls of up to 200 ms to see what was produced (a real broker, a loaded CI)
JOIN_POLLS = 600  # up to 2 minutes for a group's first assignment (Apache Kafka under a loaded CI)


class SourceHarness(Protocol):
    """A broker for the contract: fresh topics, records written to chosen partitions, sources reading them."""

    def topic(self, partitions: int) -> str: ...
    def produce(
        self,
        topic: str,
        partition: int,
        values: list[bytes],
        key: bytes | None = None,
        headers: list[tuple[str, bytes]] | None = None,
    ) -> None: ...
    def source(self, group_id: str | None = None) -> RecordSource: ...


def poll_until(
    source: RecordSource, done: Callable[[list[Record]], bool], max_records: int = 500
) -> list[Record]:
    got: list[Record] = []
    for _ in range(POLLS):
        got += source.poll(max_records, 200)
        if done(got):
            return got
    raise AssertionError(f"gave up after {POLLS} polls with {len(got)} records")


class SourceContract:
    """Behaviour shared by every record source."""

    @pytest.fixture
    def harness(self) -> SourceHarness:
        raise NotImplementedError

    def test_partitions_of_lists_every_partition_in_order(self, harness: SourceHarness) -> None:
        topic = harness.topic(3)
        assert harness.source().partitions_of(topic) == [(topic, 0), (topic, 1), (topic, 2)]

    def test_seek_then_poll_reads_from_the_position_in_offset_order(self, harness: SourceHarness) -> None:
        topic = harness.topic(2)
        harness.produce(topic, 0, [b"a0", b"a1", b"a2", b"a3"], key=b"k", headers=[("h", b"v")])
        harness.produce(topic, 1, [b"b0", b"b1"])
        src = harness.source()
        src.assign([(topic, 0), (topic, 1)])
        src.seek({(topic, 0): 1, (topic, 1): 0})
        got = poll_until(src, lambda rs: len(rs) >= 5)
        by_tp = {
            tp: [(r.offset, r.value) for r in got if (r.topic, r.partition) == tp] for tp in src.assignment()
        }
        # partition 0 from offset 1: a1 a2 a3 (3 records); partition 1 from 0: b0 b1 (2 records)
        assert by_tp == {
            (topic, 0): [(1, b"a1"), (2, b"a2"), (3, b"a3")],
            (topic, 1): [(0, b"b0"), (1, b"b1")],
        }
        first = next(r for r in got if r.partition == 0)
        assert first.key == b"k" and first.headers == (("h", b"v"),) and first.timestamp_ms is not None

    def test_poll_returns_at_most_max_records(self, harness: SourceHarness) -> None:
        topic = harness.topic(1)
        harness.produce(topic, 0, [str(i).encode() for i in range(10)])
        src = harness.source()
        src.assign([(topic, 0)])
        src.seek({(topic, 0): 0})
        batches: list[list[Record]] = []
        for _ in range(POLLS):
            batch = src.poll(3, 200)
            batches.append(batch)
            if sum(map(len, batches)) >= 10:
                break
        assert all(len(b) <= 3 for b in batches)
        assert [r.offset for b in batches for r in b] == list(range(10))

    def test_beginning_and_highwater(self, harness: SourceHarness) -> None:
        topic = harness.topic(1)
        tp: TP = (topic, 0)
        harness.produce(topic, 0, [b"x", b"y", b"z"])
        src = harness.source()
        src.assign([tp])
        assert src.beginning([tp]) == {tp: 0}
        assert src.highwater(tp) is None  # nothing fetched yet
        src.seek({tp: 0})
        poll_until(src, lambda rs: len(rs) >= 3)
        assert src.highwater(tp) == 3

    def test_paused_partitions_yield_nothing_until_resumed(self, harness: SourceHarness) -> None:
        topic = harness.topic(2)
        harness.produce(topic, 0, [b"a"])
        harness.produce(topic, 1, [b"b"])
        src = harness.source()
        src.assign([(topic, 0), (topic, 1)])
        src.seek({(topic, 0): 0, (topic, 1): 0})
        src.pause([(topic, 1)])
        got = poll_until(src, lambda rs: len(rs) >= 1)
        for _ in range(3):
            got += src.poll(100, 100)
        assert [(r.partition, r.value) for r in got] == [(0, b"a")]
        src.resume([(topic, 1)])
        assert [(r.partition, r.value) for r in poll_until(src, lambda rs: len(rs) >= 1)] == [(1, b"b")]

    def test_pausing_or_resuming_a_partition_no_longer_assigned_does_nothing(
        self, harness: SourceHarness
    ) -> None:
        # The rebalance hand-off resumes what an assignment gave once the loop applies it; by then a later
        # rebalance may have taken some of it away again. That must not crash the consumer (kafka-python itself
        # raises KeyError for a partition it no longer holds).
        topic = harness.topic(2)
        harness.produce(topic, 0, [b"a"])
        src = harness.source()
        src.assign([(topic, 0)])
        src.seek({(topic, 0): 0})
        src.pause([(topic, 0), (topic, 1)])
        src.resume([(topic, 0), (topic, 1)])
        assert [(r.partition, r.value) for r in poll_until(src, lambda rs: len(rs) >= 1)] == [(0, b"a")]
        assert src.assignment() == [(topic, 0)]

    def test_a_stored_position_past_the_end_is_refused(self, harness: SourceHarness) -> None:
        topic = harness.topic(1)
        tp: TP = (topic, 0)
        harness.produce(topic, 0, [b"x", b"y", b"z"])
        src = harness.source()
        src.assign([tp])
        src.seek({tp: 0})
        poll_until(src, lambda rs: len(rs) >= 3)
        src.check_positions({tp: 3})  # at the end: fine
        with pytest.raises(OffsetsAheadOfBroker) as caught:
            src.check_positions({tp: 5})  # stored 5 > broker end 3
        assert caught.value.gaps == {tp: (5, 3)}

    def test_a_lone_group_member_is_assigned_every_partition_inside_poll(
        self, harness: SourceHarness
    ) -> None:
        topic = harness.topic(2)
        harness.produce(topic, 1, [b"b"])
        src = harness.source(group_id=f"contract-{topic}")
        assigned: list[list[TP]] = []

        def on_assigned(partitions: list[TP]) -> None:
            # What the runner's hand-off does on the client's thread: pause, and give a placeholder position.
            src.pause(partitions)
            src.seek({tp: 0 for tp in partitions})
            assigned.append(sorted(partitions))

        src.subscribe([topic], on_assigned, lambda revoked: None)
        # Apache Kafka holds a new group's first join for group.initial.rebalance.delay.ms (3 s) and, on a
        # loaded machine, may take several times that: wait up to JOIN_POLLS polls (a bound, not a timing).
        for _ in range(JOIN_POLLS):
            assert src.poll(100, 200) == []  # the new partitions are paused
            if assigned:
                break
        assert assigned and assigned[-1] == [(topic, 0), (topic, 1)]
        assert src.assignment() == [(topic, 0), (topic, 1)]
        src.resume(src.assignment())
        got = poll_until(src, lambda rs: len(rs) >= 1)
        assert [(r.partition, r.offset, r.value) for r in got] == [(1, 0, b"b")]
        src.commit_positions({(topic, 1): 1})  # mirrored to the group's offsets; never raises
