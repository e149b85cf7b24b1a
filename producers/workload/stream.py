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
from typing import Final

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
        aggregate, _, _, headers, _, etype = wire
        st = self.stats
        st.valid += 1
        st.late += 1
        st.by_type[etype] = st.by_type.get(etype, 0) + 1
        st.by_aggregate[aggregate] = st.by_aggregate.get(aggregate, 0) + 1
        if channel is not None:
            st.by_channel[channel] = st.by_channel.get(channel, 0) + 1
        if headers is not STRUCTURED_HEADERS:
            st.binary_mode += 1
        return valid_message(*wire)

    def drain(self, day: int) -> Iterator[Message]:
        """Publish the events of ``day`` in time order, with the late, duplicate and malformed messages mixed
        in. The day's bucket is sorted once; steps that fall later the same day go through a small heap, steps
        on later days are appended to their day's bucket (a calendar queue: no big heap to sift)."""
        bucket = self.buckets.pop(day, [])
        bucket.sort()
        self.today, same = day, self.same_day
        late, rnd, stats, cfg, ring, buckets = (
            self.late,
            self.rnd,
            self.stats,
            self.cfg,
            self.ring,
            self.buckets,
        )
        by_type, by_aggregate, by_channel = stats.by_type, stats.by_aggregate, stats.by_channel
        heappop, heappush = heapq.heappop, heapq.heappush
        getrandbits, dump_json, day_prefix, tod = self.rng.getrandbits, dumps, self.day_prefix, time_of_day()
        late_f, dup_f, mal_f = cfg.late_fraction, cfg.duplicate_fraction, cfg.malformed_fraction
        bin_f, now_t, encode = cfg.binary_mode_fraction, self.now_t, self.envelopes.encode
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
            _, _, life, aggregate, subject, source, etype, data_json, ver, channel = entry
            day_t, sec = divmod(t, DAY)
            time_s = day_prefix[day_t] + tod[sec] if day_t < len(day_prefix) else self.ts(t)
            # The id's 128 bits are drawn before the mode (argument order): the order of the draws is part of
            # the byte stream. Held back and in the duplicate ring is the wire tuple of str/bytes, which the
            # cyclic GC untracks (a Message is always tracked, and a million of them surviving young
            # collections would make the collector scan every open case again and again).
            wire = encode(
                getrandbits(128), rnd() < bin_f, aggregate, subject, source, etype, time_s, ver, data_json
            )
            _, key, value_b, headers, eid, _ = wire
            if rnd() < late_f:  # held back: published after events with a later time
                self.seq += 1
                delay = min(int(-14_400 * math.log(1.0 - rnd())), 3 * DAY) + 300
                heappush(late, (t + delay, self.seq, wire, channel))
            else:
                stats.valid += 1
                by_type[etype] = by_type.get(etype, 0) + 1
                by_aggregate[aggregate] = by_aggregate.get(aggregate, 0) + 1
                if channel is not None:
                    by_channel[channel] = by_channel.get(channel, 0) + 1
                if headers is not STRUCTURED_HEADERS:
                    stats.binary_mode += 1
                yield valid_message(aggregate, key, value_b, headers, eid, etype)
                if len(ring) < _RING_SIZE:
                    ring.append(wire)
                else:
                    ring[self.ring_pos] = wire
                    self.ring_pos = (self.ring_pos + 1) % _RING_SIZE
            if rnd() < dup_f and ring:  # an exact redelivery of a recent message
                stats.duplicates += 1
                d_agg, d_key, d_value, d_headers, d_id, d_type = ring[int(rnd() * len(ring))]
                yield Message(d_agg, d_key, d_value, d_headers, "duplicate", d_id, d_type)
            if rnd() < mal_f:
                env = envelope_dict(eid, source, etype, subject, time_s, ver, data_json)
                yield self.defects.make(env, aggregate, key)
            step = next(life, None)
            if step is not None:
                self.seq += 1
                t = step[0]
                # the payload is serialised now, so its dict dies young (the cyclic GC never sees it promoted)
                entry[0], entry[1], entry[6], entry[9] = t, self.seq, step[1], None
                entry[7], entry[8] = dump_json(step[2]), step[3]
                if t < (day + 1) * DAY:
                    heappush(same, entry)
                else:
                    other = buckets.get(t // DAY)
                    if other is None:
                        buckets[t // DAY] = [entry]
                    else:
                        other.append(entry)
        self.today = -1


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
