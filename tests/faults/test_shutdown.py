"""SIGTERM (and SIGINT) in the middle of a batch: ``consume`` finishes or abandons that batch as a whole, exits 0,
and a restart ends with the same tables as a clean run."""

from __future__ import annotations

import signal
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


@pytest.mark.parametrize(
    ("sig", "args"),
    [(signal.SIGTERM, ()), (signal.SIGINT, ()), (signal.SIGTERM, ("--workers", "2"))],
    ids=["sigterm", "sigint", "sigterm-2-workers"],
)
def test_signal_mid_batch_stops_atomically(
    fault_settings: Callable[..., Settings],
    clean_run: Callable[[Settings], Snapshot],
    tmp_path: Path,
    sig: signal.Signals,
    args: tuple[str, ...],
) -> None:
    s = fault_settings(max_batch_records=400)
    url = s.database_url or ""
    pub = workload(s, 8000, seed=5)
    log = tmp_path / "consume.log"

    proc = start_consume(s, log, *args)
    assert wait_consumed_more(url, 0, proc, timeout=60), output(log)
    assert wait_in_batch(url, proc), f"never saw an open batch transaction:\n{output(log)}"
    proc.send_signal(sig)
    assert proc.wait(60) == 0, f"consume should stop cleanly on {sig.name}:\n{output(log)}"
    check_atomic_prefix(s, url, pub)
    assert consumed(url) < pub.total, f"{sig.name} should stop the run early"

    assert run_to_completion(s, log, *args).returncode == 0, output(log)
    check_accounting(s, url, pub)
    assert_same_tables(snapshot(url), clean_run(s))
