"""``casetrack replay``: zero-downtime rebuilds in the middle of traffic, on the real broker and database."""

from __future__ import annotations

import datetime as dt
import random
import threading
import time
from collections.abc import Callable

import psycopg2
import pytest

from app.bootstrap import build_runner
from app.settings import Settings
from events.catalog import Event
from ops.replay import ReplayError, replay
from producers.sdk import EventProducer
from projections.base import fold
from projections.case_status import CaseStatusProjection
from tests.conftest import endpoints
from tests.factories import TZ, case_lifecycle, case_stream
from tests.integration.helpers import consume, publish, query
from tests.integration.ops_support import run_cli


def _new_cases(prefix: str, n: int, seed: int) -> list[list[Event]]:
    rng = random.Random(seed)
    base = dt.datetime(2026, 10, 20, 9, 0, tzinfo=TZ)
    return [case_lifecycle(rng, f"{prefix}{i:05d}", base + dt.timedelta(minutes=i)) for i in range(n)]


class _Analyst(threading.Thread):
    """Queries the analysts' view in a loop and records what it saw."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.seen: list[tuple[int, int, int, int]] = []  # (cases, events folded, closed cases, generation)
        self.done = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        conn = psycopg2.connect(self.url)
        conn.autocommit = True
        try:
            with conn.cursor() as cur:
                while not self.done.is_set():
                    cur.execute(  # one statement, one snapshot: the counts and the generation they came from
                        "SELECT count(*), coalesce(sum(event_count), 0),"
                        " count(*) FILTER (WHERE status = 'closed'),"
                        " (SELECT generation FROM casetrack.live_generations WHERE projection = 'case')"
                        " FROM case_status"
                    )
                    row = cur.fetchone()
                    assert row is not None
                    self.seen.append((int(row[0]), int(row[1]), int(row[2]), int(row[3])))
                    time.sleep(0.005)
        except BaseException as exc:
            self.error = exc
        finally:
            conn.close()


class _Traffic(threading.Thread):
    """Publishes new cases, one lifecycle at a time, until told to stop."""

    def __init__(self, settings: Settings, cases: list[list[Event]]) -> None:
        super().__init__(daemon=True)
        self.settings, self.cases = settings, cases
        self.sent: list[Event] = []
        self.done = threading.Event()

    def run(self) -> None:
        assert self.settings.kafka_bootstrap
        producer = EventProducer.connect(self.settings.kafka_bootstrap, self.settings.topics)
        try:
            for events in self.cases:
                if self.done.is_set():
                    return
                producer.publish_many(events)
                self.sent.extend(events)
                time.sleep(0.005)
        finally:
            producer.close()


def _wait_until_folded(url: str, n_events: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if query(url, "SELECT coalesce(sum(event_count), 0) FROM case_status")[0][0] == n_events:
            return
        time.sleep(0.1)
    raise AssertionError("the live consumer did not catch up")


@pytest.mark.parametrize(
    ("source", "workers"), [("kafka", 1), ("kafka", 2), ("event-store", 1), ("event-store", 2)]
)
def test_replay_in_traffic_never_shows_a_partial_table(
    settings_factory: Callable[..., Settings], database_url: str, source: str, workers: int
) -> None:
    settings = settings_factory(database_url, max_batch_records=100)
    url = settings.database_url or ""
    history = case_stream(150, seed=1)
    publish(settings, history)
    consume(settings)

    live = build_runner(settings, endpoints(settings))
    live.start()
    consumer = threading.Thread(target=live.run_forever, daemon=True)
    consumer.start()
    analyst = _Analyst(url)
    analyst.start()
    traffic = _Traffic(settings, _new_cases("T", 3000, seed=2))
    traffic.start()
    progress: list[tuple[str, int, int]] = []
    try:
        time.sleep(0.5)
        (report,) = replay(
            settings, endpoints(settings), ["case"], source,  # type: ignore[arg-type]
            lambda *p: progress.append(p), workers=workers,
        )  # fmt: skip
        time.sleep(0.5)  # traffic continues after the swap
    finally:
        traffic.done.set()
        traffic.join(30)
    try:
        all_events = history + traffic.sent
        _wait_until_folded(url, len(all_events))
    finally:
        live.stop()
        consumer.join(30)
        live.close()
        analyst.done.set()
        analyst.join(30)
    assert analyst.error is None, analyst.error

    # Analysts never saw an empty, shrinking or half-built table.
    seen = analyst.seen
    assert len(seen) > 20
    assert seen[0][0] >= 150
    assert {g for *_, g in seen} == {1, report.generation}  # the queries spanned the swap
    for before, after in zip(seen, seen[1:], strict=False):
        assert after[0] >= before[0] and after[1] >= before[1] and after[2] >= before[2], (before, after)

    # The new generation is live, the old one retired and its rows gone.
    assert report.previous == 1 and report.generation > 1
    assert query(url, "SELECT generation FROM casetrack.live_generations WHERE projection = 'case'") == [
        (report.generation,)
    ]
    statuses = dict(
        query(url, "SELECT generation, status FROM casetrack.generations WHERE projection = 'case'")
    )
    assert statuses == {1: "retired", report.generation: "live"}
    assert query(url, "SELECT count(*) FROM casetrack.case_state WHERE generation = 1")[0][0] == 0
    assert report.deleted_rows >= 150
    assert progress and progress[-1][0] == "cleanup"
    builds = [p for p in progress if p[0] == "build"]
    assert builds[-1][1] == builds[-1][2] > 0

    # Every event once, and the view equals the in-order fold of everything sent.
    assert query(url, "SELECT count(*) FROM casetrack.event_store")[0][0] == len(all_events)
    by_case: dict[str, list[Event]] = {}
    for e in all_events:
        by_case.setdefault(e.subject, []).append(e)
    rows = query(url, "SELECT case_id, status, department, event_count, reopen_count FROM case_status")
    assert len(rows) == len(by_case)
    proj = CaseStatusProjection()
    for case_id, status, dept, count, reopens in rows:
        s = fold(proj, case_id, by_case[case_id])
        assert (status, dept, count, reopens) == (s.status, s.department, s.event_count, s.reopen_count)


@pytest.mark.parametrize("workers", ["1", "3"])
def test_replay_one_projection_leaves_the_others(settings: Settings, workers: str) -> None:
    url = settings.database_url or ""
    publish(settings, case_stream(20))
    consume(settings)
    before = query(url, "SELECT * FROM case_status ORDER BY case_id")
    result = run_cli(
        settings,
        ["replay", "--projection", "case", "--from", "event-store", "--no-progress", "--workers", workers],
    )
    assert result.returncode == 0, result.stderr
    assert "case: generation 4 is live (was 1)" in result.stdout
    gens = dict(query(url, "SELECT projection, generation FROM casetrack.live_generations"))
    assert gens == {"case": 4, "supervision": 2, "rectification": 3}
    after = query(url, "SELECT * FROM case_status ORDER BY case_id")
    assert [r[:8] for r in after] == [r[:8] for r in before]
    # The consumer continues from the copied positions: nothing is read twice.
    publish(settings, case_stream(25)[-5:])
    totals = consume(settings)
    assert totals.duplicates == 5 and totals.applied == 0  # those ids were folded already


def test_kafka_replay_refuses_when_the_broker_lost_events(settings: Settings) -> None:
    url = settings.database_url or ""
    publish(settings, case_stream(10))
    consume(settings)
    conn = psycopg2.connect(url)
    with conn, conn.cursor() as cur:  # as if the broker had lost the tail of every partition
        cur.execute("UPDATE casetrack.tracking SET next_offset = next_offset + 7")
    conn.close()
    with pytest.raises(ReplayError, match="lost data"):
        replay(settings, endpoints(settings), ["case"], "kafka", swap_timeout_seconds=5)
    statuses = dict(
        query(url, "SELECT generation, status FROM casetrack.generations WHERE projection = 'case'")
    )
    assert statuses == {1: "live", 4: "abandoned"}
    assert query(url, "SELECT count(*) FROM casetrack.case_state WHERE generation = 4")[0][0] == 0
    # Following the broker on purpose resets the positions to what it holds.
    (report,) = replay(settings, endpoints(settings), ["case"], "kafka", accept_broker_loss=True)
    assert report.broker_behind
    assert consume(settings).records == 0  # no OffsetsAheadOfBroker any more
