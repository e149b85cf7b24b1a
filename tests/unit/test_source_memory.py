"""The record-source contract against the in-memory adapter, plus what only the fake does (its scripting)."""

from __future__ import annotations

import itertools

import pytest

from consumers.memory_source import MemoryBroker, MemorySource, NoPosition
from consumers.ports import TP, RecordSource
from consumers.source import RetentionGap
from tests.contracts.source_contract import SourceContract


class MemoryHarness:
    def __init__(self) -> None:
        self.broker = MemoryBroker()
        self._names = itertools.count()

    def topic(self, partitions: int) -> str:
        name = f"t{next(self._names)}"
        self.broker.create_topic(name, partitions)
        return name

    def produce(
        self,
        topic: str,
        partition: int,
        values: list[bytes],
        key: bytes | None = None,
        headers: list[tuple[str, bytes]] | None = None,
    ) -> None:
        for v in values:
            self.broker.append(topic, partition, v, key, tuple(headers or ()))

    def source(self, group_id: str | None = None) -> RecordSource:
        return MemorySource(self.broker, group_id)


class TestMemorySource(SourceContract):
    @pytest.fixture
    def harness(self) -> MemoryHarness:
        return MemoryHarness()


def test_scripted_polls_fail_return_nothing_then_read() -> None:
    broker = MemoryBroker()
    broker.create_topic("t", 1)
    broker.append("t", 0, b"x")
    src = MemorySource(broker)
    src.assign([("t", 0)])
    src.seek({("t", 0): 0})
    src.fail_next_poll(ConnectionError("broker gone"))
    src.empty_polls(2)
    with pytest.raises(ConnectionError):
        src.poll(10, 0)
    assert src.poll(10, 0) == [] and src.poll(10, 0) == []
    assert [r.value for r in src.poll(10, 0)] == [b"x"]


def test_a_scripted_rebalance_revokes_everything_then_assigns_with_no_position() -> None:
    broker = MemoryBroker()
    broker.create_topic("t", 3)
    src = MemorySource(broker, group_id="g")
    calls: list[tuple[str, list[TP]]] = []
    src.subscribe(["t"], lambda a: calls.append(("assigned", a)), lambda r: calls.append(("revoked", r)))
    src.rebalance([("t", 0), ("t", 1)])
    with pytest.raises(
        NoPosition
    ):  # assigned and not sought: kafka-python with auto_offset_reset=none refuses
        src.poll(10, 0)
    assert calls == [("revoked", []), ("assigned", [("t", 0), ("t", 1)])]
    src.seek({("t", 0): 0, ("t", 1): 0})
    assert src.poll(10, 0) == []
    src.rebalance([("t", 1), ("t", 2)])
    with pytest.raises(NoPosition):  # eager: even the kept partition t[1] lost its position
        src.poll(10, 0)
    assert calls[2:] == [("revoked", [("t", 0), ("t", 1)]), ("assigned", [("t", 1), ("t", 2)])]
    assert src.assignment() == [("t", 1), ("t", 2)]


def test_retention_and_data_loss() -> None:
    broker = MemoryBroker()
    broker.create_topic("t", 1)
    for v in (b"a", b"b", b"c", b"d"):
        broker.append("t", 0, v)
    broker.delete_before(("t", 0), 2)
    src = MemorySource(broker)
    src.assign([("t", 0)])
    assert src.beginning([("t", 0)]) == {("t", 0): 2}
    src.seek({("t", 0): 1})
    with pytest.raises(RetentionGap):
        src.poll(10, 0)
    broker.lose_from(("t", 0), 3)  # the broker kept offsets 2 only: its end is 3
    src.seek({("t", 0): 2})
    assert [r.offset for r in src.poll(10, 0)] == [2] and src.highwater(("t", 0)) == 3
