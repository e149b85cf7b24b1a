"""SIGKILL the real ``casetrack consume --until-caught-up`` mid-batch, restart it, and compare with a clean run.

After every kill the database must hold exactly what the stored positions cover (a batch commits whole or not
at all); after the last restart the tables equal a clean run's and the accounting matches the generator's
ground truth: consumed = projected + duplicates + dead-lettered.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from app.settings import Settings
from tests.faults.support import (
    Snapshot,
    assert_same_tables,
    check_accounting,
    check_atomic_prefix,
    consumed,
    output,
    run_to_completion,
    snapshot,
    start_consume,
    wait_consumed_more,
    wait_in_batch,
    workload,
)


def test_one_kill_mid_batch_then_restart_equals_a_clean_run(
    fault_settings: Callable[..., Settings], clean_run: Callable[[Settings], Snapshot], tmp_path: Path
) -> None:
    s = fault_settings(max_batch_records=300)
    url = s.database_url or ""
    pub = workload(s, 4000, seed=3)
    log = tmp_path / "consume.log"

    proc = start_consume(s, log)
    assert wait_consumed_more(url, 0, proc), output(log)  # one batch committed: the kill is not at the start
    assert wait_in_batch(url, proc), f"never saw an open batch transaction:\n{output(log)}"
    proc.kill()
    proc.wait()
    check_atomic_prefix(s, url, pub)
    assert 0 < consumed(url) < pub.total, "the kill should land in the middle of the run"

    assert run_to_completion(s, log).returncode == 0, output(log)
    check_accounting(s, url, pub)
    assert_same_tables(snapshot(url), clean_run(s))


@pytest.mark.slow
def test_twenty_random_kills_during_a_100k_event_run(
    fault_settings: Callable[..., Settings], clean_run: Callable[[Settings], Snapshot], tmp_path: Path
) -> None:
    s = fault_settings(max_batch_records=500)
    url = s.database_url or ""
    pub = workload(s, 100_000, seed=11)
    log = tmp_path / "consume.log"
    rng = random.Random(2026)
    kills = mid_batch = 0
    while kills < 22:
        proc = start_consume(s, log)
        if kills % 5 == 4:
            time.sleep(rng.uniform(0.0, 1.5))  # anywhere: start-up, seeking, the first poll
        else:
            wait_consumed_more(url, consumed(url), proc)
            time.sleep(rng.uniform(0.0, 0.25))
            mid_batch += wait_in_batch(url, proc, timeout=5)
        if proc.poll() is not None:  # ran to the end before the kill
            assert proc.returncode == 0, output(log)
            break
        proc.kill()
        proc.wait()
        kills += 1
        check_atomic_prefix(s, url, pub)

    assert run_to_completion(s, log).returncode == 0, output(log)
    assert kills >= 20, f"only {kills} kills landed before the run finished"
    assert mid_batch >= 12, f"only {mid_batch} of {kills} kills landed inside a batch transaction"
    check_accounting(s, url, pub)
    assert_same_tables(snapshot(url), clean_run(s))
