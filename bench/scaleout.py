"""Scale-out: two consumer processes in one consumer group versus one process, on 4-partition topics.

    python -m bench.scaleout                    # 200,000 messages
    python -m bench.scaleout --events 500000 --with-workers

Variants (one process; one in a group; two in a group; ``--workers 2``) each consume the same topics into
their own empty database; throughput is records / wall time, and every variant's views must equal the first
one's. Details and the latest figures: docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from bench import harness as h
from bench import monitor as m
from producers.generator import GeneratorConfig, generate


def run_group(
    settings: Any, url: str, args: list[list[str]], work: Path, label: str, total: int
) -> tuple[float, float, list[str]]:
    """Start one process per argument list at once; returns (seconds, peak RSS of the largest, outputs)."""
    env = h.cli_env(settings.model_copy(update={"database_url": url}),
                    {"CASETRACK_CONSUMER__GROUP_ID": f"bench-{uuid.uuid4().hex[:8]}"})  # fmt: skip
    t0 = time.monotonic()
    procs, watches, logs = [], [], []
    for i, a in enumerate(args):
        log = work / f"{label.replace(' ', '_')}-{i}.log"
        logs.append(log)
        with open(log, "wb") as fh:
            proc = subprocess.Popen([h.CASETRACK, "consume", "--until-caught-up", *a], env=env, stdout=fh,
                                    stderr=subprocess.STDOUT, cwd=h.REPO)  # fmt: skip
        procs.append(proc)
        watches.append(m.MemoryWatch(proc.pid))
    last = t0
    while any(p.poll() is None for p in procs):
        time.sleep(0.2)
        if time.monotonic() - last >= 5:
            last = time.monotonic()
            n = h.consumed(url)
            h.say(f"  {label}: {n:,} / {total:,} records, {n / (last - t0):,.0f}/s")
    seconds = time.monotonic() - t0
    for w in watches:
        w.stop()
    failed = [p.returncode for p in procs if p.returncode != 0]
    if failed:
        raise RuntimeError(
            f"{label}: exit codes {failed}:\n" + "\n".join(lg.read_text()[-2000:] for lg in logs)
        )
    return seconds, max(w.peak_mb for w in watches), [m.last_line(lg.read_text()) for lg in logs]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--events", type=int, default=200_000)
    p.add_argument("--seed", type=int, default=20261101)
    p.add_argument("--with-workers", action="store_true", help="also measure `consume --workers 2`")
    p.add_argument("--only", action="append", default=[], help="run only these variants (by label)")
    args = p.parse_args(argv)

    h.say(f"machine: {m.machine()}; cpu yardstick {m.cpu_speed():.2f} us per json.loads (lower is faster)")
    work = Path(tempfile.mkdtemp(prefix="casetrack-scaleout-"))
    variants: list[tuple[str, list[list[str]]]] = [
        ("1 process", [[]]),
        ("1 in a group", [["--group"]]),
        ("2 in a group", [["--group"], ["--group"]]),
    ]
    if args.with_workers:
        variants.append(("--workers 2", [["--workers", "2"]]))
    if args.only:
        variants = [v for v in variants if v[0] in args.only]
    rows: list[tuple[str, float, float, bool, list[str]]] = []
    with h.servers() as srv:
        settings = h.make_settings(srv.bootstrap, srv.fresh_database("setup"), h.new_topics("so"), work / "data", 4,
                                   max_poll_interval_ms=5000)  # fmt: skip
        h.say(f"publishing {args.events:,} messages to 4-partition topics ...")
        pub = h.publish(settings, generate(GeneratorConfig.for_event_count(args.events, seed=args.seed)),
                        expected=args.events, log=h.say)  # fmt: skip
        reference: dict[str, tuple[int, str]] | None = None
        ends: dict[tuple[str, int], int] | None = None
        for label, arg_lists in variants:
            url = srv.fresh_database("so")
            h.say(f"{label}: consuming into an empty database ...")
            seconds, peak, outs = run_group(settings, url, arg_lists, work, label, pub.total)
            digests = h.view_digests(url)
            reference = reference or digests
            same = digests == reference
            acc = h.accounting(url)
            stored = {
                (t, p): o
                for t, p, o in h.query(url, "SELECT topic, partition, next_offset FROM casetrack.tracking")
            }
            ends = ends or (stored if acc.consumed == pub.total else None)
            if acc.consumed != pub.total:
                behind = {f"{t}[{p}]": f"{stored.get((t, p), 0)} of {e}" for (t, p), e in sorted((ends or {}).items())
                          if stored.get((t, p), 0) != e}  # fmt: skip
                outs.append(f"only {acc.consumed:,} of {pub.total:,} records consumed; behind: {behind}")
                same = False
            rows.append((label, seconds, peak, same, outs))
            h.say(
                f"{label}: {seconds:.1f}s ({pub.total / seconds:,.0f}/s), views identical to the first: {same}"
            )
    print()
    print(f"== scale-out: {pub.total:,} messages, 4 partitions per topic ==")
    base = rows[0][1]
    for label, seconds, peak, same, outs in rows:
        print(f"  {label:<14} {seconds:6.1f}s  {pub.total / seconds:8,.0f} events/s  x{base / seconds:.2f}"
              f"  peak RSS {peak:.0f} MB  identical views: {same}")  # fmt: skip
        for o in outs:
            print(f"      {o}")
    return 0 if all(r[3] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
