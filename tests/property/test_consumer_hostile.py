"""Hostile messages through the real pipeline (Tansu broker, PostgreSQL, the real runner), mixed with good ones.

Property: the consumer never crashes and never stalls a partition (every partition is consumed to its end);
each message the codec rejects ends in ``casetrack.dead_letters`` and on ``<topic>.dlq`` with its reason; each
message it accepts is stored once (or counted as a duplicate, or dead-lettered as an ``id_conflict`` when its
id belongs to another aggregate); and consumed = projected + duplicates + dead-lettered.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from app.bootstrap import topic_families
from app.settings import Settings
from bench.harness import producer
from events.codec import Codec, DecodeError, Record
from producers.generator import GeneratorConfig, generate
from tests.integration.helpers import consume as consume_in_process
from tests.integration.helpers import query, read_topic
from tests.property.strategies import hostile_records

FAMILY_TOPIC = {"case": "gov.case.events", "supervision": "gov.supervision.events",
                "rectification": "gov.rectification.events"}  # fmt: skip


class Pipeline:
    """One database and one set of topics shared by every example; checks are on what each example adds."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.url = settings.database_url or ""
        self.families = topic_families(settings)
        self.codec = Codec(self.families, settings.consumer.max_event_bytes)
        self.ends: dict[tuple[str, int], int] = {}
        self.seeds = itertools.count(100)
        self.known: set[str] = set()

    def real_topic(self, family: str) -> str:
        return next(t for t, f in self.families.items() if f == family)

    def publish(self, records: list[Record]) -> list[Record]:
        """Send, and return the records with the partition and offset the broker gave them."""
        prod = producer(self.settings.kafka_bootstrap or "")
        try:
            futures = [prod.send(r.topic, key=r.key, value=r.value, headers=list(r.headers)) for r in records]
            prod.flush()
            placed = []
            for r, f in zip(records, futures, strict=True):
                md = f.get(timeout=30)
                placed.append(Record(r.topic, md.partition, md.offset, r.key, r.value, r.headers))
                self.ends[(r.topic, md.partition)] = max(
                    self.ends.get((r.topic, md.partition), 0), md.offset + 1
                )
            return placed
        finally:
            prod.close()

    def good(self, n: int) -> list[Record]:
        config = GeneratorConfig.for_event_count(
            n, seed=next(self.seeds), malformed_fraction=0.0, duplicate_fraction=0.0
        )
        return [
            Record(self.real_topic(m.aggregate), 0, 0, m.key, m.value, m.headers) for m in generate(config)
        ]

    def counts(self) -> Counter[str]:
        (row,) = query(
            self.url,
            "SELECT (SELECT coalesce(sum(next_offset), 0) FROM casetrack.tracking),"
            " (SELECT count(*) FROM casetrack.event_store), (SELECT count(*) FROM casetrack.dead_letters)",
        )
        return Counter(consumed=int(row[0]), stored=int(row[1]), dead=int(row[2]))


@pytest.fixture
def pipeline(settings_factory: Callable[..., Settings], database_url: str) -> Pipeline:
    return Pipeline(settings_factory(database_url, max_batch_records=50))


@settings(
    max_examples=6,
    deadline=None,
    database=None,
    # The examples share one database and topics (stateful), so shrinking would not reproduce; a failure reports
    # the whole example instead.
    phases=(Phase.explicit, Phase.generate),
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large,
                           HealthCheck.large_base_example],
)  # fmt: skip
@given(data=st.data())
def test_hostile_messages_end_in_the_dlq_and_never_stall_a_partition(pipeline: Pipeline, data: Any) -> None:
    n = data.draw(st.integers(3, 25), label="hostile messages")
    hostile = []
    for _ in range(n):
        family = data.draw(st.sampled_from(sorted(FAMILY_TOPIC)))
        r = data.draw(hostile_records(FAMILY_TOPIC[family]))
        value = b"" if r.key is None and r.value is None else r.value  # Kafka needs a key or a value
        hostile.append(Record(pipeline.real_topic(family), 0, 0, r.key, value, r.headers))
    good = pipeline.good(data.draw(st.integers(5, 60), label="good messages"))
    mixed = good + hostile
    order = data.draw(st.permutations(range(len(mixed))), label="order")
    pipeline.known |= {eid for (eid,) in query(pipeline.url, "SELECT event_id FROM casetrack.event_store")}
    before = pipeline.counts()

    placed = pipeline.publish([mixed[i] for i in order])
    consume_in_process(pipeline.settings)  # raises if the consumer crashed

    after = pipeline.counts()
    added = after - before
    assert after["consumed"] == sum(pipeline.ends.values()), "a partition was not consumed to its end"
    expected_dead: dict[tuple[str, int, int], str] = {}
    accepted: list[tuple[Record, str]] = []
    for r in placed:
        try:
            accepted.append((r, pipeline.codec.decode(r).id))
        except DecodeError as exc:
            expected_dead[(r.topic, r.partition, r.offset)] = exc.reason
    letters = {
        (t, p, o): reason
        for t, p, o, reason in query(
            pipeline.url, 'SELECT topic, partition, "offset", reason FROM casetrack.dead_letters'
        )
    }
    for where, reason in expected_dead.items():
        assert letters.get(where) == reason, (
            f"{where}: dead letter {letters.get(where)!r}, expected {reason!r}"
        )
    # ... and on the dead-letter topic, with the same reason in its headers (found by the source header).
    on_dlq: dict[str, str] = {}
    for topic in {t for t, _, _ in expected_dead}:
        for r in read_topic(pipeline.settings.kafka_bootstrap or "", f"{topic}.dlq"):
            h = dict(r.headers)
            on_dlq[h["casetrack.source"].decode()] = h["casetrack.reason"].decode()
    for (t, p, o), reason in expected_dead.items():
        assert on_dlq.get(f"{t}/{p}/{o}") == reason, f"{t}/{p}/{o}: {on_dlq.get(f'{t}/{p}/{o}')!r} on the DLQ"
    stored = {eid for (eid,) in query(pipeline.url, "SELECT event_id FROM casetrack.event_store")}
    conflicts = 0
    for r, eid in accepted:
        where = (r.topic, r.partition, r.offset)
        conflicts += letters.get(where) == "id_conflict"
        assert eid in stored or letters.get(where) == "id_conflict", f"accepted event at {where} was lost"
    new_ids = {eid for _, eid in accepted} - pipeline.known
    pipeline.known |= new_ids
    # consumed = projected + duplicates + dead-lettered, each term from the oracle
    assert added["consumed"] == len(placed)
    assert added["stored"] == len(new_ids), "every new event id is stored exactly once"
    assert added["dead"] == len(expected_dead) + conflicts
    assert added["consumed"] - added["stored"] - added["dead"] == len(accepted) - len(new_ids) - conflicts


def test_dead_letters_reach_the_dlq_topic_with_their_reason(pipeline: Pipeline) -> None:
    topic = pipeline.real_topic("case")
    bad = [Record(topic, 0, 0, b"k", v, ()) for v in (b"\xff", b"{", b"[]", b'{"a": "\\u0000"}', None)]
    pipeline.publish(bad + pipeline.good(20))
    consume_in_process(pipeline.settings)
    dlq = read_topic(pipeline.settings.kafka_bootstrap or "", f"{topic}.dlq")
    reasons = sorted(dict(r.headers)["casetrack.reason"].decode() for r in dlq)
    assert reasons == sorted(
        ["invalid_utf8", "invalid_json", "not_an_object", "nul_character", "empty_value"]
    )
    assert all(dict(r.headers)["casetrack.detail"] for r in dlq)
