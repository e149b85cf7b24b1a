"""Intake: how many cases, orders and items come in on each simulated day, and when.

Volumes follow each channel's share of ``cases_per_day`` (Poisson counts), with the channel's rhythm: the
24-hour hotlines and online forms receive around the clock with a daytime peak and keep going on rest days,
offices only receive in office hours of working days, and 人大建议/政协提案 arrive in one batch early in the
period. Intake is created one day at a time, just before that day is published, so the schedule only ever
holds the aggregates in flight.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from typing import Final

from producers.workload import data as W
from producers.workload.base import Life, cumulative
from producers.workload.cases import CaseLives
from producers.workload.clock import DAY, Calendar
from producers.workload.config import AggregateName, GenerationStats, GeneratorConfig
from producers.workload.envelope import dumps
from producers.workload.oversight import OversightLives

_REST_DAY_FACTOR: Final = {"24h": 0.7, "online": 0.8, "daytime": 0.85}
_HOUR_CUM: Final = {"24h": cumulative(W.HOURLY_24H), "online": cumulative(W.HOURLY_ONLINE)}


class Intake(CaseLives, OversightLives):
    """Creates each day's new cases, supervision orders and rectification items."""

    def __init__(self, cfg: GeneratorConfig, calendar: Calendar, stats: GenerationStats) -> None:
        super().__init__(cfg, calendar, stats)
        self.order_no = 0
        self.item_no = 0
        clock = self.clock
        self.wd_in_period = sum(clock.is_wd(d) for d in range(cfg.days)) or 1
        self.norm = {
            k: sum(self.day_factor(k, d) for d in range(cfg.days)) or 1.0
            for k in ("24h", "online", "daytime", "office")
        }
        early = [d for d in range(max(1, cfg.days * 2 // 3)) if clock.is_wd(d)] or [0]
        self.burst_day = {p.channel: self.rng.choice(early) for p in W.PROFILES if p.intake == "burst"}

    def count(self, mean: float) -> int:
        """A Poisson-distributed count (normal approximation for large means)."""
        rnd = self.rnd
        if mean <= 0:
            return 0
        if mean < 30:  # Knuth
            limit, k, prod = math.exp(-mean), 0, rnd()
            while prod > limit:
                k += 1
                prod *= rnd()
            return k
        return max(0, round(self.rng.gauss(mean, math.sqrt(mean))))

    def day_factor(self, intake: str, day: int) -> float:
        """Relative intake of a day: hotlines keep ringing on rest days, offices are closed."""
        if self.clock.is_wd(day):
            return 1.0
        return _REST_DAY_FACTOR.get(intake, 0.0)

    def intake_time(self, intake: str, day: int) -> int:
        rnd = self.rnd
        if intake == "24h" or intake == "online":
            cum = _HOUR_CUM[intake]
            hour = bisect_left(cum, rnd() * cum[-1])
            return day * DAY + hour * 3600 + int(rnd() * 3600)
        if intake == "daytime":
            return day * DAY + 25_200 + int(rnd() * 43_200)
        return self.office(day)

    def intake(self, day: int) -> None:
        """Create the day's new cases, orders and items and schedule their first events."""
        cfg, clock = self.cfg, self.clock
        items: list[tuple[int, int]] = []
        for idx, p in enumerate(W.PROFILES):
            total = p.share * cfg.cases_per_day * cfg.days
            if p.intake == "burst":  # 人大建议/政协提案 are handed over in batches
                mean = 0.85 * total if day == self.burst_day[p.channel] else 0.0
                mean += 0.15 * total / self.wd_in_period if clock.is_wd(day) else 0.0
            else:
                mean = total * self.day_factor(p.intake, day) / self.norm[p.intake]
            items.extend((self.intake_time(p.intake, day), idx) for _ in range(self.count(mean)))
        items.sort()
        ymd = clock.date_of(day).strftime("%Y%m%d")
        numbers = [0] * len(W.PROFILES)
        for t, idx in items:
            p = W.PROFILES[idx]
            numbers[idx] += 1
            cid = f"{p.id_prefix}{ymd}{numbers[idx]:05d}"
            self.start_case(p, cid, t, f"{self.prefix}/{p.system}")
        if not clock.is_wd(day):
            return
        n = self.count(cfg.supervision_per_day * cfg.days / self.wd_in_period)
        for t in sorted(self.office(day) for _ in range(n)):
            self.order_no += 1
            oid = f"DB{ymd[:4]}{self.order_no:06d}"
            self.start_life(self.supervision_life(oid, t), "supervision", oid, f"{self.prefix}/supervision")
        n = self.count(cfg.rectification_per_day * cfg.days / self.wd_in_period)
        for t in sorted(self.office(day) for _ in range(n)):
            self.item_no += 1
            iid = f"ZG{ymd[:4]}{self.item_no:06d}"
            self.start_life(
                self.rectification_life(iid, t), "rectification", iid, f"{self.prefix}/rectification"
            )

    def start_life(self, life: Life, aggregate: AggregateName, subject: str, source: str) -> None:
        """Schedule a new supervision order or rectification item (its first event is yielded by ``life``)."""
        t, etype, data, ver = next(life)
        self.seq += 1
        self.schedule([t, self.seq, life, aggregate, subject, source, etype, dumps(data), ver, None])
