"""The published stream: the time-ordered merge of every open life cycle, with the injected faults.

A calendar queue (one bucket per day, sorted when the day comes, plus a small heap for steps later the same
day) holds the next pending event of every open aggregate, so publishing order is global ``time`` order across
aggregates (as a real feed interleaves them) and memory is bounded by the aggregates in flight, not by the
event count. On top of the time-ordered stream, :meth:`Sim.drain` holds back ``late_fraction`` of the valid
events (published up to a few days later), redelivers recent messages (``duplicate_fraction``), inserts
malformed ones (:mod:`.defects`) and picks the CloudEvents mode (:mod:`.envelope`). :func:`generate` is the
entry point.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterator
from itertools import islice
from typing import Any, Final

from producers.workload.clock import DAY, Calendar, time_of_day
from producers.workload.config import GenerationStats, GeneratorConfig, Message, valid_message
from producers.workload.defects import Defects
from producers.workload.envelope import STRUCTURED_HEADERS, Envelopes, Wire, dumps, envelope_dict
from producers.workload.intake import Intake

_RING_SIZE: Final = 1024  # duplicates redeliver one of the last this many valid messages


class Sim(Intake):
    """One run of the workload, published: see :meth:`drain`."""

    def __init__(self, cfg: GeneratorConfig, calendar: Calendar, stats: GenerationStats) -> None:
        super().__init__(cfg, calendar, stats)
        self.late: list[tuple[int, int, Wire, str | None]] = []  # (release time, seq, wire, channel)
        self.ring: list[Wire] = []
        self.ring_pos = 0
        self.envelopes = Envelopes()
        self.defects = Defects(self)
        self.tod = time_of_day()

    def run(self) -> Iterator[Message]:
        """Every message of the run: day by day (intake, then publishing), then the tails of the open life
        cycles, then whatever is still held back."""
        for day in range(self.cfg.days):
            if day * DAY > self.now_t:
                break
            self.intake(day)
            yield from self.drain(day)
        while self.buckets:
            yield from self.drain(min(self.buckets))
        while self.late:
            yield self.release(heapq.heappop(self.late))

    def release(self, held: tuple[int, int, Wire, str | None]) -> Message:
        """Publish a held-back (late) event."""
        _, _, wire, channel = held
        self.stats.late += 1
        self._count_valid(wire, channel)
        return valid_message(*wire)

    def _count_valid(self, wire: Wire, channel: str | None) -> None:
        aggregate, _, _, headers, _, etype = wire
        st = self.stats
        st.valid += 1
        st.by_type[etype] = st.by_type.get(etype, 0) + 1
        st.by_aggregate[aggregate] = st.by_aggregate.get(aggregate, 0) + 1
        if channel is not None:
            st.by_channel[channel] = st.by_channel.get(channel, 0) + 1
        if headers is not STRUCTURED_HEADERS:
            st.binary_mode += 1

    def drain(self, day: int) -> Iterator[Message]:
        """Publish the events of ``day`` in time order, with the late, duplicate and malformed messages mixed
        in. The day's bucket is sorted once; steps that fall later the same day go through a small heap, steps
        on later days are appended to their day's bucket (a calendar queue: no big heap to sift)."""
        bucket = self.buckets.pop(day, [])
        bucket.sort()
        self.today, same = day, self.same_day
        late, buckets, now_t, heappop = self.late, self.buckets, self.now_t, heapq.heappop
        i, n = 0, len(bucket)
        while True:
            if same and (i == n or same[0] < bucket[i]):
                entry = heappop(same)
            elif i < n:
                entry = bucket[i]
                i += 1
            else:
                break
            t = entry[0]
            if t > now_t:  # nothing later is published; open aggregates stay open
                buckets.clear()
                same.clear()
                return
            while late and late[0][0] <= t:
                yield self.release(heappop(late))
            yield from self._publish(entry, t)
            self._next_step(entry, day)
        self.today = -1

    def _publish(self, entry: list[Any], t: int) -> Iterator[Message]:
        """One event, valid or held back (late), then perhaps a duplicate and a malformed message."""
        rnd, cfg, ring = self.rnd, self.cfg, self.ring
        _, _, _, aggregate, subject, source, etype, data_json, ver, channel = entry
        day_t, sec = divmod(t, DAY)
        time_s = self.day_prefix[day_t] + self.tod[sec] if day_t < len(self.day_prefix) else self.ts(t)
        # The id's 128 bits are drawn before the mode (argument order): the order of the draws is part of the
        # byte stream. Held back and in the duplicate ring is the wire tuple of str/bytes, which the cyclic GC
        # untracks (a Message is always tracked, and a million of them surviving young collections would make
        # the collector scan every open case again and again).
        wire = self.envelopes.encode(
            self.rng.getrandbits(128), rnd() < cfg.binary_mode_fraction, aggregate, subject, source, etype,
            time_s, ver, data_json,
        )  # fmt: skip
        _, key, value_b, headers, eid, _ = wire
        if rnd() < cfg.late_fraction:  # held back: published after events with a later time
            self.seq += 1
            delay = min(int(-14_400 * math.log(1.0 - rnd())), 3 * DAY) + 300
            heapq.heappush(self.late, (t + delay, self.seq, wire, channel))
        else:
            self._count_valid(wire, channel)
            yield valid_message(aggregate, key, value_b, headers, eid, etype)
            if len(ring) < _RING_SIZE:
                ring.append(wire)
            else:
                ring[self.ring_pos] = wire
                self.ring_pos = (self.ring_pos + 1) % _RING_SIZE
        if rnd() < cfg.duplicate_fraction and ring:  # an exact redelivery of a recent message
            self.stats.duplicates += 1
            d_agg, d_key, d_value, d_headers, d_id, d_type = ring[int(rnd() * len(ring))]
            yield Message(d_agg, d_key, d_value, d_headers, "duplicate", d_id, d_type)
        if rnd() < cfg.malformed_fraction:
            env = envelope_dict(eid, source, etype, subject, time_s, ver, data_json)
            yield self.defects.make(env, aggregate, key)

    def _next_step(self, entry: list[Any], day: int) -> None:
        """Draw the life's next step and queue it (the same entry, reused): today's heap or its day's bucket."""
        step = next(entry[2], None)
        if step is None:
            return
        self.seq += 1
        t = step[0]
        # the payload is serialised now, so its dict dies young (the cyclic GC never sees it promoted)
        entry[0], entry[1], entry[6], entry[9] = t, self.seq, step[1], None
        entry[7], entry[8] = dumps(step[2]), step[3]
        if t < (day + 1) * DAY:
            heapq.heappush(self.same_day, entry)
        else:
            other = self.buckets.get(t // DAY)
            if other is None:
                self.buckets[t // DAY] = [entry]
            else:
                other.append(entry)


def generate(
    config: GeneratorConfig, *, stats: GenerationStats | None = None, calendar: Calendar | None = None
) -> Iterator[Message]:
    """The workload in publish order. ``stats``, if given, is updated as the iterator runs. ``calendar``
    defaults to ``projections.calendar.WorkCalendar.load()``."""
    if calendar is None:
        from projections.calendar import WorkCalendar

        calendar = WorkCalendar.load()
    stream = Sim(config, calendar, stats if stats is not None else GenerationStats()).run()
    return stream if config.max_events is None else islice(stream, config.max_events)


def generate_with_stats(
    config: GeneratorConfig, *, calendar: Calendar | None = None
) -> tuple[list[Message], GenerationStats]:
    """All messages in a list, and their stats (for tests and small runs; large runs stream :func:`generate`)."""
    stats = GenerationStats()
    return list(generate(config, stats=stats, calendar=calendar)), stats
