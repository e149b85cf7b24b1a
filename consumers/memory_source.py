"""An in-memory adapter of :class:`consumers.ports.RecordSource`, for unit tests of the consumer loop.

:class:`MemoryBroker` holds the topics' logs; :class:`MemorySource` reads them as :class:`consumers.source.KafkaSource`
reads Kafka (same contract suite, ``tests/contracts/source_contract.py``), and lets a test script what the next
polls do: raise an error, return nothing, or run a group rebalance (revoke, then assign, eagerly, inside the
poll as kafka-python does). See docs/architecture.md ("Testing the consumer loop").
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from consumers.ports import TP
from consumers.source import OffsetsAheadOfBroker, RetentionGap
from events.codec import Record

Headers = tuple[tuple[str, bytes], ...]


class MemoryBroker:
    """Topics as lists of records, with what brokers do to them: retention and (Tansu's) data loss."""

    def __init__(self) -> None:
        self.logs: dict[TP, list[Record]] = {}
        self.starts: dict[TP, int] = {}  # first offset still held (retention deletes before it)
        self.clock_ms = 1_767_225_600_000  # record timestamps: 2026-01-01T00:00Z, +1 ms per record

    def create_topic(self, topic: str, partitions: int = 1) -> None:
        for p in range(partitions):
            self.logs.setdefault((topic, p), [])
            self.starts.setdefault((topic, p), 0)

    def append(
        self, topic: str, partition: int, value: bytes | None, key: bytes | None = None, headers: Headers = ()
    ) -> int:
        """Write one record; returns its offset."""
        log = self.logs[(topic, partition)]
        offset = self.end((topic, partition))
        self.clock_ms += 1
        log.append(Record(topic, partition, offset, key, value, tuple(headers), self.clock_ms))
        return offset

    def end(self, tp: TP) -> int:
        """The next offset to be written (the high watermark)."""
        log = self.logs[tp]
        return log[-1].offset + 1 if log else self.starts[tp]

    def delete_before(self, tp: TP, offset: int) -> None:
        """Retention: records before ``offset`` are gone."""
        self.logs[tp] = [r for r in self.logs[tp] if r.offset >= offset]
        self.starts[tp] = max(self.starts[tp], offset)

    def lose_from(self, tp: TP, offset: int) -> None:
        """Broker data loss (Tansu keeps its log in memory): records from ``offset`` on are gone."""
        self.logs[tp] = [r for r in self.logs[tp] if r.offset < offset]

    def read(self, tp: TP, offset: int, limit: int) -> list[Record]:
        return [r for r in self.logs[tp] if r.offset >= offset][:limit]


@dataclass(frozen=True)
class _Fail:
    error: BaseException


@dataclass(frozen=True)
class _Empty:
    pass


@dataclass(frozen=True)
class _Rebalance:
    partitions: tuple[TP, ...]
    before_fetch: bool
    assign_later: bool = False


@dataclass(frozen=True)
class _Assign:
    partitions: tuple[TP, ...]


class NoPosition(RuntimeError):
    """A partition is fetched with no position: kafka-python with ``auto_offset_reset='none'`` refuses it too."""


class MemorySource:
    """Reads a :class:`MemoryBroker`; what the next polls do can be scripted (see the module docstring)."""

    def __init__(self, broker: MemoryBroker, group_id: str | None = None) -> None:
        self.broker = broker
        self.group_id = group_id
        self._assigned: list[TP] = []
        self._fetch: dict[TP, int | None] = {}
        self._paused: set[TP] = set()
        self._highwater: dict[TP, int] = {}
        self._script: deque[_Fail | _Empty | _Rebalance | _Assign] = deque()
        self._listener: tuple[Callable[[list[TP]], None], Callable[[list[TP]], None]] | None = None
        self._topics: list[str] = []
        self._joined = False
        self.committed: dict[TP, int] = {}  # group offsets mirrored by commit_positions
        self.polls = 0
        self.closed = False

    # -- scripting ----------------------------------------------------------------------------------
    def fail_next_poll(self, error: BaseException, times: int = 1) -> None:
        """The next ``times`` polls raise ``error`` (after any scripted step queued before)."""
        self._script.extend(_Fail(error) for _ in range(times))

    def empty_polls(self, times: int = 1) -> None:
        """The next ``times`` polls return nothing, as a fetch still in flight does."""
        self._script.extend(_Empty() for _ in range(times))

    def rebalance(
        self, partitions: Sequence[TP], before_fetch: bool = True, assign_later: bool = False
    ) -> None:
        """The group gives this member ``partitions`` during the next poll: ``on_revoked`` with everything
        held, then ``on_assigned`` with the new set, whose positions are unknown until sought. With
        ``before_fetch=False`` the poll fetches first, so it returns records of partitions it then revokes.
        With ``assign_later=True`` the poll only revokes and returns nothing; the assignment comes with the
        next poll (a join that spans polls, as when another member has just left the group)."""
        self._script.append(_Rebalance(tuple(partitions), before_fetch, assign_later))

    # -- partitions ---------------------------------------------------------------------------------
    def partitions_of(self, topic: str) -> list[TP]:
        parts = sorted(tp for tp in self.broker.logs if tp[0] == topic)
        if not parts:
            raise LookupError(f"topic {topic!r} does not exist (run `casetrack migrate` to create topics)")
        return parts

    def assign(self, partitions: Sequence[TP]) -> None:
        self._set_assignment(partitions)

    def subscribe(
        self,
        topics: Sequence[str],
        on_assigned: Callable[[list[TP]], None],
        on_revoked: Callable[[list[TP]], None],
    ) -> None:
        self._topics = list(topics)
        self._listener = (on_assigned, on_revoked)
        self._joined = False

    def assignment(self) -> list[TP]:
        return sorted(self._assigned)

    def seek(self, positions: Mapping[TP, int]) -> None:
        for tp, offset in positions.items():
            if tp not in self._fetch:
                raise ValueError(f"{tp[0]}[{tp[1]}] is not assigned")
            self._fetch[tp] = offset

    def beginning(self, partitions: Sequence[TP]) -> dict[TP, int]:
        return {tp: self.broker.starts[tp] for tp in partitions}

    def pause(self, partitions: Sequence[TP]) -> None:
        self._paused.update(tp for tp in partitions if tp in self._fetch)

    def resume(self, partitions: Sequence[TP]) -> None:
        self._paused.difference_update(partitions)

    # -- reading ------------------------------------------------------------------------------------
    def poll(self, max_records: int, timeout_ms: int) -> list[Record]:
        self.polls += 1
        step = self._script.popleft() if self._script else None
        if isinstance(step, _Fail):
            raise step.error
        if isinstance(step, _Empty):
            return []
        if isinstance(step, _Rebalance) and step.assign_later:
            self._revoke_all()
            self._script.appendleft(_Assign(step.partitions))
            return []
        if isinstance(step, _Assign):
            self._assign(list(step.partitions))
            return self._fetch_records(max_records)
        if isinstance(step, _Rebalance) and not step.before_fetch:
            records = self._fetch_records(max_records)
            self._run_rebalance(list(step.partitions))
            return records
        if isinstance(step, _Rebalance):
            self._run_rebalance(list(step.partitions))
        elif self._listener is not None and not self._joined:
            self._run_rebalance([tp for t in self._topics for tp in self.partitions_of(t)])
        return self._fetch_records(max_records)

    def _fetch_records(self, max_records: int) -> list[Record]:
        out: list[Record] = []
        for tp in sorted(self._assigned):
            if tp in self._paused:
                continue
            offset = self._fetch[tp]
            if offset is None:
                raise NoPosition(f"{tp[0]}[{tp[1]}] has no position (seek it first)")
            if offset < self.broker.starts[tp]:
                raise RetentionGap({tp: (offset, self.broker.starts[tp])})
            self._highwater[tp] = self.broker.end(tp)
            got = self.broker.read(tp, offset, max_records - len(out))
            if got:
                self._fetch[tp] = got[-1].offset + 1
                out.extend(got)
        return out

    def _run_rebalance(self, partitions: list[TP]) -> None:
        self._revoke_all()
        self._assign(partitions)

    def _revoke_all(self) -> None:
        assert self._listener is not None, "rebalance() scripted for a source that did not subscribe"
        self._joined = True
        self._listener[1](sorted(self._assigned))
        self._set_assignment([])

    def _assign(self, partitions: list[TP]) -> None:
        assert self._listener is not None, "rebalance() scripted for a source that did not subscribe"
        self._set_assignment(partitions)
        self._listener[0](sorted(partitions))

    def _set_assignment(self, partitions: Sequence[TP]) -> None:
        self._assigned = sorted(set(partitions))
        self._fetch = {tp: self._fetch.get(tp) for tp in self._assigned}
        self._paused &= set(self._assigned)

    def highwater(self, tp: TP) -> int | None:
        """The partition's end as of the last fetch from it; None before one."""
        return self._highwater.get(tp)

    def check_positions(self, positions: Mapping[TP, int]) -> None:
        ahead = {}
        for tp, stored in positions.items():
            hw = self.highwater(tp)
            if hw is not None and stored > hw:
                ahead[tp] = (stored, hw)
        if ahead:
            raise OffsetsAheadOfBroker(ahead)

    def commit_positions(self, positions: Mapping[TP, int]) -> None:
        """Mirror positions to the group's offsets (``committed``); nothing without a group, as on Kafka."""
        if self.group_id and positions:
            self.committed.update(positions)

    def close(self) -> None:
        self.closed = True
