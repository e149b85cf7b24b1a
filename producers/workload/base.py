"""The shared state of one simulated run and the office-time helpers every life cycle draws from.

:class:`SimBase` owns the run's single ``random.Random`` (every choice, event ids included, comes from it: that
is what makes the byte stream reproducible), the working-day :class:`~producers.workload.clock.Clock`, the
calendar queue the life cycles are scheduled into, and the helpers that place a step in office hours, by a
deadline or after it. The layers of the simulation (:mod:`.people`, :mod:`.cases`, :mod:`.oversight`,
:mod:`.intake`, :mod:`.stream`) subclass it, so the hot paths keep calling ``self.office(...)`` without an
indirection, and each layer adds its own state in its ``__init__``. Only the intake's batch days are drawn
while setting up (last), so the order of the random draws is that of the life cycles.
"""

from __future__ import annotations

import calendar as _stdcal
import heapq
import math
import random
from bisect import bisect_left
from collections.abc import Iterator, Sequence
from datetime import date, datetime
from itertools import accumulate
from typing import Any, TypeVar

from producers.workload.clock import DAY, TZ, Calendar, Clock, time_of_day
from producers.workload.config import GenerationStats, GeneratorConfig

Step = tuple[int, str, dict[str, Any], int]  # (seconds since the start, type, data, schemaversion)
Life = Iterator[Step]

_AM0, _AM1, _PM0, _PM1 = 30_600, 43_200, 50_400, 63_000  # office hours 08:30-12:00, 14:00-17:30
_T = TypeVar("_T")


def cumulative(weights: tuple[float, ...] | list[float]) -> list[float]:
    """Cumulative weights, as :meth:`SimBase.weighted` takes them (computed once per run, not per draw)."""
    return list(accumulate(weights))


class SimBase:
    """One run of the workload. All randomness comes from ``self.rng``; hot paths use ``rnd``/``ri``/``pick``
    (inlined equivalents of ``random``, ``randint`` and ``choice``) for speed.

    Keep a run's attributes (all layers together, 26 now) at 30 or fewer: CPython 3.11 stores up to 30
    instance attributes inline and turns an instance with more into a plain dict, which makes every ``self.x``
    of the hot paths slower (about 1% of the whole run). Constant tables are module constants for that reason.
    """

    def __init__(self, cfg: GeneratorConfig, calendar: Calendar, stats: GenerationStats) -> None:
        self.cfg = cfg
        self.stats = stats
        self.rng = random.Random(cfg.seed)
        rnd = self.rnd = self.rng.random

        def ri(a: int, b: int) -> int:  # rng.randint(a, b), three times faster
            return a + int(rnd() * (b - a + 1))

        def pick(seq: Sequence[_T]) -> _T:  # rng.choice(seq)
            return seq[int(rnd() * len(seq))]

        self.ri = ri
        self.pick = pick
        self.clock = Clock(calendar, cfg.start)
        self.prefix = cfg.source_prefix.rstrip("/")
        start_dt = datetime(cfg.start.year, cfg.start.month, cfg.start.day, tzinfo=TZ)
        if cfg.now is None:
            self.now_t: float = math.inf
        else:
            now = cfg.now if cfg.now.tzinfo is not None else cfg.now.replace(tzinfo=TZ)
            self.now_t = (now - start_dt).total_seconds()
        # The schedule: the next event of every open aggregate, as a reused list [time, seq, life, aggregate,
        # subject, source, type, data as JSON, version, channel of a case.received], in a bucket per day.
        self.buckets: dict[int, list[list[Any]]] = {}
        self.same_day: list[list[Any]] = []  # heap of the day being published
        self.today = -1
        self.seq = 0
        self.day_prefix: list[str] = []

    # -- time helpers ---------------------------------------------------------------------------------
    def ts(self, t: int) -> str:
        """RFC 3339 with the +08:00 offset."""
        day, sec = divmod(t, DAY)
        while day >= len(self.day_prefix):
            self.day_prefix.append(self.clock.date_of(len(self.day_prefix)).isoformat() + "T")
        return self.day_prefix[day] + time_of_day()[sec]

    def office(self, day: int) -> int:
        """A random moment in office hours of ``day``."""
        r = self.rnd()
        if r < 0.55:
            return day * DAY + _AM0 + int(r * 22_909)  # 12,600 s / 0.55
        return day * DAY + _PM0 + int((r - 0.55) * 28_000)  # 12,600 s / 0.45

    def office_after(self, t: int, gap: int) -> int:
        """``t + gap`` if that is in office hours of a working day, else soon after the next opening."""
        t2 = t + gap
        day, sec = divmod(t2, DAY)
        if self.clock.is_wd(day):
            if sec < _AM0:
                return day * DAY + _AM0 + int(self.rnd() * 3600)
            if sec < _AM1 or _PM0 <= sec < _PM1:
                return t2
            if sec < _PM0:
                return day * DAY + _PM0 + int(self.rnd() * 3600)
        return self.clock.next_wd(day + 1) * DAY + _AM0 + int(self.rnd() * 5400)

    def wd_after(self, t: int, k: int) -> int:
        """An office moment on the ``k``-th working day after ``t``'s day (``k == 0``: later the same day or soon)."""
        if k <= 0:
            return self.office_after(t, 900 + int(self.rnd() * 9900))
        return self.office(self.clock.add_wd(t // DAY, k))

    def around_clock(self, t: int, mean: int) -> int:
        """A 24-hour centre acting after ``t`` (dispatch): exponential delay, nights pushed to the morning."""
        t2 = t + 120 + int(-mean * math.log(1.0 - self.rnd()))
        day, sec = divmod(t2, DAY)
        if sec < 25_200:
            return day * DAY + 25_200 + int(self.rnd() * 7200)
        if sec >= 79_200:
            return (day + 1) * DAY + 25_200 + int(self.rnd() * 7200)
        return t2

    def deadline(self, unit: str, day: int, n: int) -> int:
        """The last day of a period of ``n`` ``unit`` counted from the day after ``day``."""
        clock = self.clock
        if unit == "wd":
            return clock.add_wd(day, n)
        if unit == "cal":
            return clock.next_wd(day + n)
        d = clock.date_of(day)
        month = d.month - 1 + n
        year, month = d.year + month // 12, month % 12 + 1
        d = date(year, month, min(d.day, _stdcal.monthrange(year, month)[1]))
        return clock.next_wd(clock.index_of(d))

    def until(self, t: int, deadline_day: int, speed: float) -> int:
        """A moment after ``t`` and by the end of ``deadline_day``; ``speed > 1`` favours early ones."""
        clock = self.clock
        cur = t // DAY
        n = clock.wd_between(cur, deadline_day)
        k = min(int((n + 1) * self.rnd() ** speed), n)
        if k == 0:
            t2 = self.office_after(t, 900 + int(self.rnd() * 9900))
            if t2 // DAY <= deadline_day:
                return t2
            if n == 0:
                return t + self.ri(600, 3600)
            k = 1
        return self.office(clock.add_wd(cur, k))

    def overdue(self, unit: str, t: int, deadline_day: int) -> int:
        """A moment after the deadline: a late resolution."""
        clock, ri = self.clock, self.ri
        if unit == "wd":
            day = clock.add_wd(deadline_day, ri(1, 4))
        elif unit == "cal":
            day = clock.next_wd(deadline_day + ri(1, 15))
        else:
            day = clock.next_wd(deadline_day + ri(5, 40))
        return max(self.office(day), t + 600)

    def extend_deadline(self, unit: str, deadline_day: int, extra: int) -> int:
        return (
            self.deadline(unit, deadline_day, extra)
            if unit != "wd"
            else self.clock.add_wd(deadline_day, extra)
        )

    def weighted(self, options: Sequence[_T], cum: list[float]) -> _T:
        """One of ``options``, by the cumulative weights ``cum``."""
        return options[bisect_left(cum, self.rnd() * cum[-1])]

    def schedule(self, entry: list[Any]) -> None:
        """Put an aggregate's next event in the calendar queue (see :meth:`.stream.Sim.drain`)."""
        day = entry[0] // DAY
        if day == self.today:
            heapq.heappush(self.same_day, entry)
        else:
            bucket = self.buckets.get(day)
            if bucket is None:
                self.buckets[day] = [entry]
            else:
                bucket.append(entry)
