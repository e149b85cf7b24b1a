"""A consumer-group member leaving mid-run: the remaining ``consume --group --until-caught-up`` must take over its
partitions and finish everything before it exits 0 (nothing left unconsumed, nothing doubled)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from app.settings import Settings
from bench.harness import stop_process
from tests.conftest import broker_kind
from tests.faults.support import (
    Snapshot,
    assert_same_tables,
    check_accounting,
    consumed,
    output,
    snapshot,
    start_consume,
    workload,
)


def _assigned(log: Path) -> bool:
    return "partitions assigned" in output(log)


@pytest.mark.slow
@pytest.mark.timeout(720)
def test_a_member_leaving_hands_its_partitions_to_the_one_that_stays(
    fault_settings: Callable[..., Settings], clean_run: Callable[[Settings], Snapshot], tmp_path: Path
) -> None:
    # Its own group id: the session broker is shared, and members of one group (any topics) rebalance together.
    # The poll interval is also the rebalance timeout. Tansu holds a join for all of it, so it is short there;
    # Apache Kafka enforces it between polls, and on a loaded CI machine 5 s between two polls of 100-record
    # batches made it drop the member and rebalance again and again, so it is longer there.
    poll_interval = 5000 if broker_kind() == "tansu" else 30_000
    s = fault_settings(
        max_batch_records=100,
        max_poll_interval_ms=poll_interval,
        group_id=f"rebalance-{uuid.uuid4().hex[:8]}",
    )
    url = s.database_url or ""
    pub = workload(s, 40_000, seed=31)
    leaving_log, staying_log = tmp_path / "leaving.log", tmp_path / "staying.log"
    leaving = start_consume(s, leaving_log, "--group", until_caught_up=False)
    staying = start_consume(s, staying_log, "--group")
    try:
        deadline = time.monotonic() + 60
        while not (_assigned(leaving_log) and _assigned(staying_log)):
            assert time.monotonic() < deadline, output(leaving_log) + output(staying_log)
            time.sleep(0.1)
        time.sleep(1.0)
        assert consumed(url) < pub.total / 2, "the backlog should outlast the hand-over"
        stop_process(leaving)  # SIGTERM: it finishes its batch and leaves the group
        assert staying.wait(600) == 0, output(staying_log)
    finally:
        stop_process(leaving)
        stop_process(staying)
    check_accounting(s, url, pub)
    assert_same_tables(snapshot(url), clean_run(s))
