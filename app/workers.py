"""``casetrack consume --workers N``: N consumer processes over disjoint sets of partitions.

The fold engine is CPU-bound Python, so one process uses one core. Partitions are independent (an
aggregate's events share a partition, being keyed by its id), and each worker's batches are atomic and
fenced by the compare-and-set on stored positions, so splitting partitions across processes is safe. For
elastic scale-out across machines use the consumer group instead (``--group``).
"""

from __future__ import annotations

import gc
import logging
import multiprocessing as mp
import queue
import signal
import sys
import threading
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from app.bootstrap import Endpoints, build_runner
from app.settings import Settings
from consumers.ports import TP
from consumers.runner import RunTotals
from consumers.source import OffsetsAheadOfBroker, RetentionGap

log = logging.getLogger("app.workers")
EXIT_POSITIONS = 3


class WorkerPositionsError(RuntimeError):
    """A worker stopped because the broker lost data or retention deleted unconsumed events."""


def split(partitions: list[TP], n: int) -> list[list[TP]]:
    """Round-robin over partitions ordered by (partition, topic), so each worker gets a share of every topic."""
    ordered = sorted(partitions, key=lambda tp: (tp[1], tp[0]))
    return [ordered[i::n] for i in range(n) if ordered[i::n]]


def _worker(
    settings: Settings,
    endpoints: Endpoints,
    partitions: list[TP],
    until_caught_up: bool,
    out: Any,
    runner_options: dict[str, Any],
) -> None:
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("kafka").setLevel(logging.WARNING)
    runner = build_runner(settings, endpoints, **runner_options)
    signal.signal(signal.SIGTERM, lambda *_: runner.stop())
    signal.signal(signal.SIGINT, lambda *_: runner.stop())
    try:
        runner.start(partitions)
        totals = runner.run_until_caught_up() if until_caught_up else runner.run_forever()
        out.put(asdict(totals))
    except (OffsetsAheadOfBroker, RetentionGap) as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(EXIT_POSITIONS) from None
    finally:
        runner.close()


def mp_context() -> Any:
    """The multiprocessing context for worker processes: ``fork`` when only this thread runs (Kafka and
    database clients closed), so workers start in milliseconds with everything imported, instead of a second
    or two each under ``spawn``. Forking a process with other threads could copy a lock some thread holds, so
    then ``spawn``. Children must open connections of their own and never use the parent's."""
    if "fork" in mp.get_all_start_methods() and threading.active_count() == 1:
        return mp.get_context("fork")
    return mp.get_context("spawn")


def run_workers(
    settings: Settings,
    endpoints: Endpoints,
    n: int,
    until_caught_up: bool,
    *,
    runner_options: dict[str, Any] | None = None,
    tick: Callable[[], None] | None = None,
) -> RunTotals:
    """Run ``n`` worker processes to completion; returns the summed totals. Raises if a worker failed.

    ``runner_options`` go to :func:`app.bootstrap.build_runner` (a replay builds a fixed generation this
    way); ``tick`` is called about twice a second while the workers run (progress output)."""
    runner_options = runner_options or {}
    probe = build_runner(settings, endpoints, **runner_options)
    try:
        partitions = probe.all_partitions()
    finally:
        probe.close()
    groups = split(partitions, n)
    share = _cache_share(settings, len(groups))
    ctx = mp_context()
    out = ctx.Queue()
    procs = [
        ctx.Process(target=_worker, args=(share, endpoints, g, until_caught_up, out, runner_options))
        for g in groups
    ]
    if ctx.get_start_method() == "fork":
        # Freeze the parent's objects before forking: the children's cyclic GC then never walks them, so it does
        # not write to (and copy) the pages the forked workers share (docs/benchmarks.md, "Issue 20").
        gc.collect()
        gc.freeze()
    for p in procs:
        p.start()

    stopping: list[bool] = []

    def forward(_signum: int, _frame: Any) -> None:
        stopping.append(True)
        # Children stop after their current batch (their own SIGTERM handler), so the stop stays atomic.
        for p in procs:
            if p.is_alive():
                p.terminate()

    previous = signal.signal(signal.SIGTERM, forward)
    try:
        results = _collect(procs, out, tick)
    finally:
        signal.signal(signal.SIGTERM, previous)
    return _totals(procs, results, stopped=bool(stopping))


def _cache_share(settings: Settings, workers: int) -> Settings:
    """``settings`` with each worker's share of the state cache: a worker folds only its partitions' aggregates,
    so ``state_cache_size / workers`` keeps the hit rate of one process with the whole cache, and the process
    tree's memory does not grow with ``--workers`` (docs/benchmarks.md, "Issue 20")."""
    c = settings.consumer
    if workers <= 1 or c.state_cache_size == 0:
        return settings
    share = c.model_copy(update={"state_cache_size": -(-c.state_cache_size // workers)})
    return settings.model_copy(update={"consumer": share})


def _collect(procs: list[Any], out: Any, tick: Callable[[], None] | None) -> list[dict[str, int]]:
    """Wait for every worker's report (or its death), calling ``tick`` about twice a second; Ctrl-C stops all."""
    results: list[dict[str, int]] = []
    try:
        while len(results) < len(procs):
            try:
                results.append(out.get(timeout=0.5))
            except queue.Empty:
                if tick is not None:
                    tick()
                if not any(p.is_alive() for p in procs) and out.empty():
                    break  # a worker died without reporting; its exit code tells below
        for p in procs:
            p.join()
    except KeyboardInterrupt:
        for p in procs:
            p.terminate()
        raise
    return results


def _totals(procs: list[Any], results: list[dict[str, int]], *, stopped: bool) -> RunTotals:
    """The workers' summed totals; raises if one found positions the broker cannot serve, or failed."""
    totals = RunTotals()
    if any(p.exitcode == EXIT_POSITIONS for p in procs):
        raise WorkerPositionsError(
            "a worker found stored positions the broker cannot serve (see its message above)"
        )
    # A worker stopped by our SIGTERM before it installed its handler died between batches: a clean stop too.
    failed = [p for p in procs if p.exitcode != 0 and not (stopped and p.exitcode == -signal.SIGTERM)]
    if failed:
        raise RuntimeError(f"{len(failed)} worker(s) failed: exit codes {[p.exitcode for p in failed]}")
    for r in results:
        for k, v in r.items():
            setattr(totals, k, getattr(totals, k) + v)
    return totals
