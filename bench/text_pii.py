"""Free-text personal data: the detector's precision and recall, and what masking costs per event.

    python -m bench.text_pii                        # 3,000 labelled texts, 50,000 workload events
    python -m bench.text_pii --texts 10000 --events 200000

1. **Precision and recall** of :func:`privacy.text_pii.find` on the realistic complaint texts of
   :mod:`producers.workload.texts` (each with its truth), by kind. A span counts when its start, end and kind
   are exactly right.
2. **Cost** (CPU time, in process, no Kafka, no PostgreSQL; in-memory key store): microseconds per event of the
   consumer's personal-data transform on the workload generator's valid events, in batches as the consumer
   sees them, *before* (petitioners sealed only, as until issue 18) and *after* (petitioners sealed, free
   text searched, masked and sealed), and the detector alone per text. See docs/personal-data.md.
"""

from __future__ import annotations

import argparse
import random
import time
from collections import Counter
from collections.abc import Callable

from bench import monitor as m
from consumers.memory_store import MemoryStore
from consumers.ports import StoredEvent
from events.catalog import Event
from events.codec import Codec, Record
from privacy.keystore import InMemoryKeyStore
from privacy.pii import Pseudonymizer, Sealer, seal_events
from privacy.text_pii import Known, find
from privacy.text_sealing import TEXT_FIELDS
from privacy.transform import PersonalDataTransform
from producers.generator import GeneratorConfig, generate
from producers.workload.texts import labelled_text

BATCH = 2000


def accuracy(n: int, seed: int) -> None:
    """Print precision and recall by kind over ``n`` labelled texts."""
    rnd = random.Random(seed)
    tp: Counter[str] = Counter()
    fp: Counter[str] = Counter()
    fn: Counter[str] = Counter()
    for i in range(n):
        name = "欧阳震华" if i % 2 else "张伟"
        labelled = labelled_text(rnd, name)
        got = {(s.start, s.end, s.kind) for s in find(labelled.text, Known(name=name))}
        truth = set(labelled.truth)
        tp.update(k for *_, k in got & truth)
        fp.update(k for *_, k in got - truth)
        fn.update(k for *_, k in truth - got)
    print(f"precision and recall on {n:,} generated complaint texts (seed {seed}):")
    print(f"  {'kind':10s} {'found':>6s} {'false':>6s} {'missed':>6s} {'precision':>9s} {'recall':>7s}")
    for kind in (*sorted(set(tp) | set(fp) | set(fn)), "all"):
        t, f, mi = (sum(c.values()) if kind == "all" else c[kind] for c in (tp, fp, fn))
        precision = t / (t + f) if t + f else float("nan")
        recall = t / (t + mi) if t + mi else float("nan")
        print(f"  {kind:10s} {t:>6,} {f:>6,} {mi:>6,} {precision:>9.4f} {recall:>7.4f}")


def workload(events: int, seed: int) -> list[Event]:
    codec = Codec()
    out = []
    for message in generate(GeneratorConfig.for_event_count(events, seed=seed)):
        if message.kind == "valid":
            out.append(codec.decode(Record("bench", 0, 0, message.key, message.value, message.headers, None)))
    return out


def cpu_us_per_event(
    events: list[Event], make: Callable[[], Callable[[list[Event]], object]], rounds: int = 3
) -> float:
    """The best of ``rounds`` runs over every batch (a fresh ``make()`` each), in CPU microseconds per event."""
    best = float("inf")
    for _ in range(rounds):
        step = make()
        t0 = time.process_time()
        for i in range(0, len(events), BATCH):
            step(events[i : i + BATCH])
        best = min(best, time.process_time() - t0)
    return best / len(events) * 1e6


def cost(events: list[Event]) -> None:
    sealer = Sealer(Pseudonymizer(b"bench-pseudonym-key-32-bytes-...."), InMemoryKeyStore())
    store = MemoryStore()

    def before() -> Callable[[list[Event]], object]:
        return lambda batch: seal_events(batch, sealer)

    def after() -> Callable[[list[Event]], object]:
        transform = PersonalDataTransform(sealer)  # one per run, as in the consumer: it remembers petitioners

        def step(batch: list[Event]) -> object:
            with store.transaction() as tx:
                return transform(tx, [StoredEvent(e, "t", 0, i) for i, e in enumerate(batch)])

        return step

    def wrapping() -> Callable[[list[Event]], object]:  # what `after` spends on the test harness itself
        def step(batch: list[Event]) -> object:
            with store.transaction():
                return [StoredEvent(e, "t", 0, i) for i, e in enumerate(batch)]

        return step

    before_us = cpu_us_per_event(events, before)
    after_us = cpu_us_per_event(events, after) - cpu_us_per_event(events, wrapping)
    texts = [
        v
        for e in events
        for f in TEXT_FIELDS.get(e.type, ())
        for v in ([e.data.__dict__[f]] if isinstance(e.data.__dict__[f], str) else e.data.__dict__[f] or [])
    ]
    with_data = [t for t in texts if find(t)]
    t0 = time.process_time()
    for t in texts:
        find(t)
    per_text = (time.process_time() - t0) / len(texts) * 1e6
    t0 = time.process_time()
    for t in with_data:
        find(t)
    per_hit = (time.process_time() - t0) / max(1, len(with_data)) * 1e6
    print(
        f"cost on {len(events):,} valid workload events ({len(texts):,} free texts, {len(with_data):,} with data):"
    )
    print(f"  personal-data transform before (petitioners only): {before_us:6.2f} us/event")
    print(f"  personal-data transform after (and free text):     {after_us:6.2f} us/event")
    print(f"  added: {after_us - before_us:6.2f} us/event")
    print(f"  detector alone: {per_text:.2f} us per text; {per_hit:.1f} us per text holding personal data")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--texts", type=int, default=3000)
    p.add_argument("--events", type=int, default=50_000)
    p.add_argument("--seed", type=int, default=20261101)
    args = p.parse_args(argv)
    print(f"machine: {m.machine()}; cpu yardstick {m.cpu_speed():.2f} us per json.loads (lower is faster)")
    accuracy(args.texts, 20261204)
    cost(workload(args.events, args.seed))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
