"""Build a new generation in several processes: from the event store, or the bulk of a Kafka replay.

``casetrack replay --from event-store --workers N`` splits the family's subjects into ``N`` slices by a hash
of the subject (an aggregate's events all fall in one slice) and folds each slice in its own process with its
own connections; each writes its states into the same building generation, which analysts do not see until
the swap (:mod:`ops.replay`). Folding is CPU-bound Python, so one process uses one core; reading, decoding and
folding a slice does not depend on any other slice.

``casetrack replay --from kafka --workers N`` reads the bulk of the topic in ``N`` processes over disjoint
partitions, exactly as ``consume --workers`` does but into the building generation; the replay then resumes
from the positions they stored for the catch-up and the swap (:func:`bulk_from_kafka`).
"""

from __future__ import annotations

import datetime as dt
import queue
from collections.abc import Callable, Sequence
from typing import Any

from app.bootstrap import Endpoints, build_codec, build_projections, build_runner
from app.settings import Settings
from app.workers import mp_context, run_workers
from consumers.pg_store import PgStore
from consumers.ports import TP, StateRow, StoreTx, Tracked
from consumers.runner import ProjectionRunner
from events.catalog import Event
from projections.base import Projection, fold


def save_folded(tx: StoreTx, proj: Projection[Any], generation: int, events: Sequence[Event]) -> None:
    """Fold ``events`` (whole aggregates, in store order) and upsert one state row per aggregate."""
    by_subject: dict[str, list[Event]] = {}
    for e in events:
        by_subject.setdefault(e.subject, []).append(e)
    now = dt.datetime.now(dt.UTC)
    rows = []
    for subject, evs in by_subject.items():
        state = fold(proj, subject, evs)
        last = max(e.sort_key for e in evs)
        rows.append(
            StateRow(
                proj.row(state, now),
                Tracked(proj.dump(state), tuple(e.id for e in evs), last[0], last[1]),
            )
        )
    tx.save_states(proj.table, proj.columns, generation, rows)


def _build_slice(
    settings: Settings,
    ep: Endpoints,
    family: str,
    generation: int,
    part: int,
    parts: int,
    report: Callable[[int], None],
) -> int:
    proj = build_projections(settings)[family]
    codec = build_codec(settings)
    reader = PgStore(ep.database_url, codec, application_name="casetrack-replay")
    writer = PgStore(ep.database_url, codec, application_name="casetrack-replay")
    done = 0
    try:
        for chunk in reader.iter_events(family, part=part, parts=parts):
            with writer.transaction() as tx:
                save_folded(tx, proj, generation, chunk)
            done += len(chunk)
            report(len(chunk))
    finally:
        reader.close()
        writer.close()
    return done


def _slice_process(
    settings: Settings, ep: Endpoints, family: str, generation: int, part: int, parts: int, out: Any
) -> None:
    try:
        _build_slice(settings, ep, family, generation, part, parts, lambda n: out.put(("events", n)))
        out.put(("done", part))
    except BaseException as exc:  # reported to the parent, which fails the replay
        out.put(("error", f"slice {part + 1}/{parts}: {type(exc).__name__}: {exc}"))
        raise


def build_from_event_store(
    settings: Settings,
    ep: Endpoints,
    family: str,
    generation: int,
    workers: int,
    progress: Callable[[int], None],
) -> int:
    """Fold every stored event of ``family`` into ``generation``; returns the number of events folded.
    ``progress`` is called with the running total."""
    if workers <= 1:
        total = [0]

        def step(n: int) -> None:
            total[0] += n
            progress(total[0])

        return _build_slice(settings, ep, family, generation, 0, 1, step)
    ctx = mp_context()
    out = ctx.Queue()
    procs = [
        ctx.Process(target=_slice_process, args=(settings, ep, family, generation, k, workers, out))
        for k in range(workers)
    ]
    for p in procs:
        p.start()
    done, finished, errors = 0, 0, list[str]()
    try:
        while finished < workers and not errors:
            try:
                kind, value = out.get(timeout=0.5)
            except queue.Empty:
                if not any(p.is_alive() for p in procs) and out.empty():
                    break
                continue
            if kind == "events":
                done += value
                progress(done)
            elif kind == "done":
                finished += 1
            else:
                errors.append(value)
    finally:
        if errors:
            for p in procs:
                p.terminate()
        for p in procs:
            p.join()
    failed = [p.exitcode for p in procs if p.exitcode != 0]
    if errors or failed or finished < workers:
        raise RuntimeError("; ".join(errors) or f"a rebuild worker failed (exit codes {failed})")
    return done


def bulk_from_kafka(
    settings: Settings,
    endpoints: Endpoints,
    runner: ProjectionRunner,
    begin: dict[TP, int],
    workers: int,
    options: dict[str, Any],
    progress: Callable[[int], None],
) -> ProjectionRunner:
    """Fold the bulk of the topic with ``workers`` processes, then return a fresh runner (built with the same
    ``options``) that resumes from the positions they stored. ``runner`` is closed. ``progress`` gets the
    expected total and reads the committed positions itself."""
    runner.step()  # one batch: the broker's high watermarks, for the progress total
    ends = {tp: max(runner.source.highwater(tp) or 0, pos) for tp, pos in runner.positions.items()}
    total = sum(ends[tp] - begin[tp] for tp in ends)
    applied = runner.totals.applied
    runner.close()  # no Kafka client threads while the workers fork
    totals = run_workers(
        settings, endpoints, workers, True, runner_options=options, tick=lambda: progress(total)
    )
    fresh = build_runner(settings, endpoints, **options)
    fresh.start()  # from the positions the workers stored for the new generation
    fresh.totals.applied = applied + totals.applied
    return fresh
