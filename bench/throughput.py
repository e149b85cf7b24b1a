"""Throughput: publish the realistic workload, consume it from an empty database with the real CLI, compare with
the naive one-transaction-per-event consumer and the reference baselines.

    python -m bench.throughput                      # 1,000,000 messages
    python -m bench.throughput --consume-arg=--workers --consume-arg=2
    python -m bench.throughput --profile /tmp/consume.txt   # py-spy collapsed stacks of the consumer

It prints records per second, peak memory, the baselines measured right after on the same servers, and
issue 20's targets as ratios to them. What each figure means: docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.bootstrap import build_projections
from bench import baselines as b
from bench import harness as h
from bench import monitor as m
from producers.generator import GeneratorConfig, generate

# (events/s, ratio to the naive consumer): issue 6 at 1,000,000 messages, issue 2 below that (200,000)
TARGETS_AT_SCALE = (25_000, 15.0)
TARGETS_SMALL = (20_000, 10.0)
TARGET_RSS_MB = 400.0
# issue 20, ratios in the same run: one process, then `--workers 2`; memory at 1,000,000 events
ISSUE20_VS_TRIVIAL = 2.5  # time per event at most 2.5x the batched trivial consumer's
ISSUE20_VS_EVENTSOURCING = 15.0
ISSUE20_VS_EVENTSOURCING_WORKERS = 25.0
ISSUE20_RSS_ONE_MB = 250.0
ISSUE20_PSS_WORKERS_MB = 400.0


def run_naive(settings: Any, url: str, records: int, work: Path) -> dict[str, Any]:
    """The naive consumer on the first ``records`` records of the same topics, in a fresh database."""
    env = h.cli_env(settings.model_copy(update={"database_url": url}))
    proc = subprocess.run(
        [sys.executable, "-m", "bench.naive", "--max-records", str(records)],
        env=env,
        cwd=h.REPO,
        capture_output=True,
        text=True,
        timeout=3600,
    )
    (work / "naive.log").write_text(proc.stdout + proc.stderr)
    if proc.returncode != 0:
        raise RuntimeError(f"the naive consumer failed:\n{proc.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(m.last_line(proc.stdout))
    return result


def _parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--events", type=int, default=1_000_000, help="messages to publish (all three topics)")
    p.add_argument(
        "--naive-events", type=int, default=20_000, help="records for the naive consumer (0: skip)"
    )
    p.add_argument("--seed", type=int, default=20261101)
    p.add_argument("--partitions", type=int, default=4)
    p.add_argument(
        "--consume-arg", action="append", default=[], help="extra argument for `casetrack consume`"
    )
    p.add_argument("--env", action="append", default=[], metavar="NAME=VALUE", help="extra environment")
    p.add_argument(
        "--profile", type=Path, help="record the consumer with py-spy (collapsed stacks) into this file"
    )
    p.add_argument(
        "--baselines",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also measure the reference baselines of bench.baselines (about 40 s)",
    )
    p.add_argument("--json", type=Path, help="also write the figures as JSON here")
    return p.parse_args(argv)


@dataclass
class _Measured:
    """One run's raw results: what was published, the consumer's run, its accounting and the baselines."""

    pub: Any
    run: m.Run
    acc: Any
    ok: bool
    cmd: list[str]
    naive: dict[str, Any] | None = None
    baselines: dict[str, float] = field(default_factory=dict)


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    yardstick_before = m.cpu_speed()
    h.say(f"machine: {m.machine()}; cpu yardstick {yardstick_before:.2f} us per json.loads (lower is faster)")
    work = Path(tempfile.mkdtemp(prefix="casetrack-throughput-"))
    with h.servers() as srv:
        res = _measure(args, srv, work)
        if res is None:
            return 1
    yardstick_after = m.cpu_speed()  # the machine's speed moves within a run: a second reading brackets it
    figures = _figures(res, yardstick_before, yardstick_after)
    _print_report(res, figures, yardstick_after)
    _print_verdicts(args, res, figures)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    return 0 if res.ok else 1


def _measure(args: argparse.Namespace, srv: Any, work: Path) -> _Measured | None:
    """Publish, consume with the real CLI, check the accounting, then the naive consumer and the baselines."""
    topics = h.new_topics("tp")
    url = srv.fresh_database("throughput")
    settings = h.make_settings(srv.bootstrap, url, topics, work / "data", args.partitions)
    families = set(build_projections(settings))
    config = GeneratorConfig.for_event_count(args.events, seed=args.seed)
    h.say(f"publishing {args.events:,} messages from the generator (seed {args.seed}) ...")
    pub = h.publish(settings, generate(config), expected=args.events, log=h.say)
    tracked = sum(pub.count(families, kind) for kind in ("valid", "duplicate", "malformed"))
    h.say(
        f"published {pub.total:,} in {pub.seconds:.1f}s ({pub.total / pub.seconds:,.0f}/s); "
        f"{tracked:,} on topics with a projection ({', '.join(sorted(families))})"
    )
    cmd = ["consume", "--until-caught-up", *args.consume_arg]
    h.say(f"running `casetrack {' '.join(cmd)}` on an empty database ...")
    env = h.cli_env(settings, h.env_pairs(args.env))
    if args.profile:
        run = _profiled(cmd, env, url, work, args.profile, tracked)
    else:
        run = m.run_cli(cmd, env, url, work / "consume.log", total=tracked)
    if run.returncode != 0:
        h.say(f"the consumer failed (exit {run.returncode}):\n{run.output[-3000:]}")
        return None
    acc = h.accounting(url)
    ok = (
        acc.consumed == tracked
        and acc.projected == pub.count(families, "valid")
        and acc.dead_lettered == pub.count(families, "malformed")
        and acc.duplicates == pub.count(families, "duplicate")
    )
    h.say(f"consumer: {m.last_line(run.output)}")
    h.say(
        f"accounting {'OK' if ok else 'MISMATCH'}: consumed {acc.consumed:,} = projected {acc.projected:,}"
        f" + duplicates {acc.duplicates:,} + dead-lettered {acc.dead_lettered:,}"
    )
    res = _Measured(pub, run, acc, ok, cmd)
    if args.naive_events:
        h.say(f"running the naive consumer on the first {args.naive_events:,} records ...")
        res.naive = run_naive(settings, srv.fresh_database("naive"), args.naive_events, work)
    if args.baselines:
        h.say("measuring the reference baselines (bench.baselines) on the same servers ...")
        res.baselines = b.measure_baselines(
            srv.bootstrap, srv.admin_url, events=100_000, naive_events=0, partitions=args.partitions
        )
    return res


def _figures(res: _Measured, yardstick_before: float, yardstick_after: float) -> dict[str, Any]:
    run, acc = res.run, res.acc
    rate = acc.consumed / run.seconds
    figures: dict[str, Any] = {
        "machine": m.machine(),
        "published": res.pub.total,
        "consumed": acc.consumed,
        "accounting_ok": res.ok,
        "seconds": round(run.seconds, 2),
        "events_per_second": round(rate),
        "events_per_second_after_first_commit": round(
            acc.consumed / (run.seconds - (run.first_commit_at or 0.0))
        ),
        "startup_seconds": round(run.first_commit_at or 0.0, 2),
        "peak_rss_mb": round(run.peak_mb, 1),
        "peak_rss_total_mb": round(run.peak_total_mb, 1),
        "peak_pss_total_mb": round(run.peak_pss_total_mb, 1),
        "processes": run.processes,
        "rss_timeline": [(round(t, 1), round(mb, 1), n) for t, mb, n in run.rss_timeline],
        "consume_args": res.cmd,
        "baselines": {k: round(v) for k, v in res.baselines.items()},
        "yardstick_before_us": round(yardstick_before, 2),
        "yardstick_after_us": round(yardstick_after, 2),
    }
    if res.naive:
        figures.update(
            naive_events_per_second=res.naive["per_second"],
            naive_records=res.naive["records"],
            ratio=round(rate / res.naive["per_second"], 1),
        )
    if "eventsourcing" in res.baselines:
        figures["ratio_vs_eventsourcing"] = round(rate / res.baselines["eventsourcing"], 1)
    if "batched_trivial" in res.baselines:
        figures["time_per_event_vs_batched_trivial"] = round(res.baselines["batched_trivial"] / rate, 2)
    return figures


def _print_report(res: _Measured, figures: dict[str, Any], yardstick_after: float) -> None:
    run = res.run
    rate = figures["events_per_second"]
    print()
    print(f"== throughput: {res.pub.total:,} messages published, {res.acc.consumed:,} consumed ==")
    print(f"  consumer (subprocess, wall clock incl. start-up): {rate:,.0f} events/s ({run.seconds:.1f}s)")
    print(
        f"  consumer from its first commit:                    {figures['events_per_second_after_first_commit']:,.0f} events/s"
    )
    shared = (
        f" per process (sum over {run.processes} processes {run.peak_total_mb:.0f} MB; the whole tree with"
        f" shared pages counted once, PSS, {run.peak_pss_total_mb:.0f} MB)"
    )
    print(f"  peak RSS: {run.peak_mb:.0f} MB" + (shared if run.processes > 1 else ""))
    step = max(1, len(run.rss_timeline) // 8)
    timeline = ", ".join(f"{t:.0f}s {mb:.0f}MB {n:,}" for t, mb, n in run.rss_timeline[::step])
    print(f"  RSS over the run (s, MB, records): {timeline}")
    if res.naive:
        print(
            f"  naive (one transaction per event, {res.naive['records']:,} records): {res.naive['per_second']:,.0f} events/s"
        )
        print(f"  ratio: {figures['ratio']:.1f}x")
    if res.baselines:
        print(f"  reference baselines, same run (cpu yardstick at the end {yardstick_after:.2f} us):")
        print("\n".join(b.format_report(res.baselines)))
        if "batched_trivial" in res.baselines:
            print(
                f"  casetrack / batched trivial consumer (time per event): {figures['time_per_event_vs_batched_trivial']:.2f}x"
            )


def _print_verdicts(args: argparse.Namespace, res: _Measured, figures: dict[str, Any]) -> None:
    """Each target met or missed: the older absolute ones (issues 2 and 6) and issue 20's same-run ratios."""
    rate, run = figures["events_per_second"], res.run
    target_rate, target_ratio = TARGETS_AT_SCALE if args.events >= 1_000_000 else TARGETS_SMALL
    verdicts = [
        ("events/s", rate >= target_rate, f"{rate:,.0f} vs {target_rate:,}"),
        ("peak RSS", run.peak_mb <= TARGET_RSS_MB, f"{run.peak_mb:.0f} MB vs {TARGET_RSS_MB:.0f} MB"),
    ]
    if "ratio" in figures:
        verdicts.append(
            ("ratio", figures["ratio"] >= target_ratio, f"{figures['ratio']:.1f}x vs {target_ratio:.0f}x")
        )
    workers = _workers(res.cmd)
    if "ratio_vs_eventsourcing" in figures:
        vs_es = figures["ratio_vs_eventsourcing"]
        want = ISSUE20_VS_EVENTSOURCING_WORKERS if workers >= 2 else ISSUE20_VS_EVENTSOURCING
        verdicts.append(("vs pyeventsourcing (issue 20)", vs_es >= want, f"{vs_es:.1f}x vs >= {want:.0f}x"))
    if "time_per_event_vs_batched_trivial" in figures and workers < 2:
        t = figures["time_per_event_vs_batched_trivial"]
        verdicts.append(
            (
                "time per event vs batched trivial (issue 20)",
                t <= ISSUE20_VS_TRIVIAL,
                f"{t:.2f}x vs <= {ISSUE20_VS_TRIVIAL}x",
            )
        )
    if workers >= 2:
        pss = run.peak_pss_total_mb
        verdicts.append(
            (
                "process-tree PSS (issue 20)",
                pss <= ISSUE20_PSS_WORKERS_MB,
                f"{pss:.0f} MB vs <= {ISSUE20_PSS_WORKERS_MB:.0f} MB",
            )
        )
    else:
        verdicts.append(
            (
                "one-process RSS (issue 20)",
                run.peak_mb <= ISSUE20_RSS_ONE_MB,
                f"{run.peak_mb:.0f} MB vs <= {ISSUE20_RSS_ONE_MB:.0f} MB",
            )
        )
    for name, met, detail in verdicts:
        print(f"  target {name}: {'met' if met else 'MISSED'} ({detail})")


def _workers(cmd: list[str]) -> int:
    """The ``--workers N`` of a consume command line (1 without it)."""
    for i, arg in enumerate(cmd):
        if arg == "--workers" and i + 1 < len(cmd):
            return int(cmd[i + 1])
        if arg.startswith("--workers="):
            return int(arg.split("=", 1)[1])
    return 1


def _profiled(cmd: list[str], env: dict[str, str], url: str, work: Path, out: Path, total: int) -> m.Run:
    """Run the consumer under ``py-spy record`` (collapsed stacks, 100 Hz, every process: the workers too)."""
    pyspy = str(Path(sys.executable).with_name("py-spy"))
    t0 = time.monotonic()
    log = work / "consume.log"
    with open(log, "wb") as fh:
        proc = subprocess.Popen(
            [pyspy, "record", "-r", "100", "--subprocesses", "-f", "raw", "-o", str(out), "--", h.CASETRACK, *cmd],
            env=env, stdout=fh, stderr=subprocess.STDOUT, cwd=h.REPO,
        )  # fmt: skip
        watch = m.MemoryWatch(proc.pid)
        first = None
        while proc.poll() is None:
            time.sleep(0.5)
            if first is None and h.consumed(url) > 0:
                first = time.monotonic() - t0
        watch.stop()
    h.say(f"profile written to {out} (summarise with `python -m bench.profile {out}`)")
    return m.Run(
        proc.returncode, time.monotonic() - t0, watch.peak_mb, watch.peak_mb, 1, watch.peak_pss_total_mb,
        log.read_text(), [], first,
    )  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
