"""Running ``casetrack`` as a subprocess while watching it: resident memory (VmRSS, and VmHWM as the peak) of the
process and its children, their proportional set size summed (PSS: a page shared by forked workers counts once
in all, not once per process), progress from the positions it stores, and a description of the machine."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import psycopg2

from bench.harness import CASETRACK, MB, REPO, consumed, say


def _proc_kb(path: str, field_name: str) -> int:
    """The N of a "Field: N kB" line of a /proc file (``/proc/meminfo``, ``/proc/PID/status``, or
    ``/proc/PID/smaps_rollup``, Linux 4.14+, whose PSS splits each shared page between its sharers); 0 when
    the file is gone (the process ended)."""
    try:
        with open(path) as fh:
            for line in fh:
                if line.startswith(field_name + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _descendants(pid: int) -> list[int]:
    """``pid`` and every process below it (from /proc: parent ids)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, ()))
    return out


class MemoryWatch:
    """Samples the resident memory of a process and its descendants (VmRSS now, VmHWM = peak, PSS summed)."""

    def __init__(self, pid: int, every: float = 0.25) -> None:
        self.pid = pid
        self.every = every
        self.peak_kb: dict[int, int] = {}
        self.samples: list[tuple[float, int]] = []  # (seconds, total VmRSS kB)
        self.peak_pss_kb = 0  # the largest sum of PSS over the process tree in one sample
        self._stop = threading.Event()
        self._t0 = time.monotonic()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            total = pss = 0
            for p in _descendants(self.pid):
                hwm = _proc_kb(f"/proc/{p}/status", "VmHWM")
                if hwm:
                    self.peak_kb[p] = max(self.peak_kb.get(p, 0), hwm)
                total += _proc_kb(f"/proc/{p}/status", "VmRSS")
                pss += _proc_kb(f"/proc/{p}/smaps_rollup", "Pss")
            self.peak_pss_kb = max(self.peak_pss_kb, pss)
            if total:
                self.samples.append((time.monotonic() - self._t0, total))
            self._stop.wait(self.every)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def rss_mb(self) -> float:
        return self.samples[-1][1] / 1024 if self.samples else 0.0

    @property
    def peak_mb(self) -> float:
        """The largest peak of any one process."""
        return max(self.peak_kb.values(), default=0) / 1024

    @property
    def peak_total_mb(self) -> float:
        """The sum of every process's peak (several workers)."""
        return sum(self.peak_kb.values()) / 1024

    @property
    def peak_pss_total_mb(self) -> float:
        """The peak of the whole process tree's memory with shared pages counted once (summed PSS)."""
        return self.peak_pss_kb / 1024


@dataclass
class Run:
    returncode: int
    seconds: float
    peak_mb: float
    peak_total_mb: float
    processes: int
    peak_pss_total_mb: float
    output: str
    rss_timeline: list[tuple[float, float, int]]  # (seconds, RSS MB, records consumed)
    first_commit_at: float | None  # seconds after start when the first position was stored


def run_cli(
    args: Sequence[str],
    env: Mapping[str, str],
    database_url: str,
    log_file: Path,
    *,
    total: int | None = None,
    label: str = "consume",
    log: Callable[[str], None] | None = say,
    progress_every: float = 5.0,
    timeout: float = 3600.0,
) -> Run:
    """Run ``casetrack ARGS`` to completion, printing progress (positions stored in the database) and memory."""
    with open(log_file, "wb") as out:
        t0 = time.monotonic()
        proc = subprocess.Popen(
            [CASETRACK, *args], env=dict(env), stdout=out, stderr=subprocess.STDOUT, cwd=REPO
        )
        watch = MemoryWatch(proc.pid)
        timeline: list[tuple[float, float, int]] = []
        first: float | None = None
        last_print = t0
        try:
            while proc.poll() is None:
                time.sleep(0.2)
                now = time.monotonic()
                if now - t0 > timeout:
                    proc.send_signal(signal.SIGTERM)
                    proc.wait(30)
                    raise TimeoutError(f"casetrack {' '.join(args)} ran longer than {timeout:.0f}s")
                if first is None or now - last_print >= progress_every:
                    try:
                        n = consumed(database_url)
                    except psycopg2.Error:
                        continue
                    if first is None and n > 0:
                        first = now - t0
                    if now - last_print >= progress_every:
                        last_print = now
                        timeline.append((now - t0, watch.rss_mb(), n))
                        if log:
                            of = f" / {total:,}" if total else ""
                            log(
                                f"  {label}: {n:,}{of} records, {n / (now - t0):,.0f}/s, RSS {watch.rss_mb():.0f} MB"
                            )
        finally:
            watch.stop()
    seconds = time.monotonic() - t0
    output = log_file.read_text(errors="replace")
    return Run(
        proc.returncode,
        seconds,
        watch.peak_mb,
        watch.peak_total_mb,
        len(watch.peak_kb),
        watch.peak_pss_total_mb,
        output,
        timeline,
        first,
    )


def last_line(text: str) -> str:
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    return lines[-1] if lines else ""


def machine() -> str:
    """nproc, RAM and CPU model, for docs/benchmarks.md."""
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_kb = _proc_kb("/proc/meminfo", "MemTotal")
    return f"{os.cpu_count()} CPUs ({model}), {mem_kb / MB:.1f} GB RAM, Python {sys.version.split()[0]}"


_PROBE = (
    b'{"specversion":"1.0","id":"2e10ce28-16a8-4fd0-8768-f718772874b5","source":"sim/hotline/12345",'
    b'"type":"case.received","subject":"RX2026091400001","time":"2026-09-14T00:26:43+08:00",'
    b'"data":{"channel":"hotline_12345","category":"x","summary":"y","region":"z"}}'
)


def cpu_speed() -> float:
    """Microseconds for one ``json.loads`` of a small event (best of 5 x 20,000): a yardstick of how fast this
    machine runs Python right now. Shared 2-core VMs vary by up to 1.8x over a day, so every benchmark prints
    it beside its figures; compare runs by ratios measured in the same run, or at a similar yardstick."""
    best = float("inf")
    for _ in range(5):
        t0 = time.perf_counter()
        for _ in range(20_000):
            json.loads(_PROBE)
        best = min(best, (time.perf_counter() - t0) / 20_000 * 1e6)
    return best
