"""Paired A/B of two checkouts' consumers on the same published messages: wall time and the consumer's CPU time.

    git worktree add /tmp/base <commit>                       # the "before" checkout
    python -m bench.ab --base /tmp/base --events 50000 --rounds 4

The workload is published once (this checkout's generator); then each round runs ``casetrack consume
--until-caught-up`` of both checkouts, each on a fresh database, alternating which goes first. On a machine
whose speed drifts (shared cores), the paired ratio is steadier than two separate ``bench.throughput`` runs,
and the consumer's CPU time (user + system, from ``getrusage``) steadier than its wall time. PostgreSQL's own
CPU is not in it: the wall time is what includes it.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from app.settings import Settings
from bench import harness as h
from bench import monitor as m
from producers.generator import GeneratorConfig, generate


def consume(repo: str, settings: Settings, url: str) -> tuple[float, float, int]:
    """(wall seconds, consumer CPU seconds, records consumed) of one ``casetrack consume`` of checkout ``repo``."""
    env = h.cli_env(settings.model_copy(update={"database_url": url}), {"PYTHONPATH": repo})
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "casetrack.cli", "consume", "--until-caught-up"],
        env=env,
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=3600,
    )
    wall = time.monotonic() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise RuntimeError(f"the consumer of {repo} failed:\n{done.stderr[-3000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, h.consumed(url)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--base", required=True, help="the other checkout (the 'before')")
    p.add_argument("--events", type=int, default=50_000)
    p.add_argument("--rounds", type=int, default=4)
    p.add_argument("--seed", type=int, default=20261101)
    args = p.parse_args(argv)
    sides = {"base": str(Path(args.base).resolve()), "this": str(h.REPO)}
    print(f"machine: {m.machine()}; cpu yardstick {m.cpu_speed():.2f} us per json.loads (lower is faster)")
    figures: dict[str, list[tuple[float, float]]] = {side: [] for side in sides}
    ratios: list[float] = []
    with h.servers() as srv:
        settings = h.make_settings(
            srv.bootstrap, srv.fresh_database("ab"), h.new_topics("ab"), Path(tempfile.mkdtemp()) / "data", 4
        )
        h.publish(settings, generate(GeneratorConfig.for_event_count(args.events, seed=args.seed)), log=h.say)
        for r in range(args.rounds):
            order = list(sides) if r % 2 == 0 else list(reversed(sides))
            walls: dict[str, float] = {}
            for side in order:
                wall, cpu, n = consume(sides[side], settings, srv.fresh_database(f"ab_{side}_{r}"))
                figures[side].append((wall, cpu))
                walls[side] = wall
                h.say(f"round {r} {side}: {n:,} records, wall {wall:.1f} s, consumer CPU {cpu:.1f} s")
            ratios.append(walls["base"] / walls["this"])
    for side, runs in figures.items():
        print(
            f"{side}: median wall {statistics.median(w for w, _ in runs):.1f} s,"
            f" median consumer CPU {statistics.median(c for _, c in runs):.2f} s"
        )
    cpu_ratio = statistics.median(c for _, c in figures["this"]) / statistics.median(
        c for _, c in figures["base"]
    )
    print(f"throughput this/base per round: {', '.join(f'{x:.2f}' for x in ratios)}")
    print(f"median throughput ratio {statistics.median(ratios):.3f}; consumer CPU ratio {cpu_ratio:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
