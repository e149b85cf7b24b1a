"""Summarise a py-spy profile in collapsed ("raw") form: where the consumer spends its time.

    python -m bench.throughput --events 200000 --naive-events 0 --profile /tmp/consume.txt
    python -m bench.profile /tmp/consume.txt                       # inclusive and self time, top frames
    python -m bench.profile /tmp/consume.txt --under FoldEngine.run  # what a frame's time is made of

Percentages are of all samples of the process (every thread; waits inside C calls such as a COPY to PostgreSQL
count as time of the calling line).
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path


def load(path: Path) -> list[tuple[list[str], int]]:
    stacks = []
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            stacks.append((stack.split(";"), int(count)))
    return stacks


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("profile", type=Path)
    p.add_argument("--under", help="break this frame (prefix of 'function (file:line)') into its callees")
    p.add_argument("--top", type=int, default=30)
    args = p.parse_args(argv)
    stacks = load(args.profile)
    total = sum(n for _, n in stacks) or 1
    if args.under:
        children: Counter[str] = Counter()
        for frames, n in stacks:
            for i, f in enumerate(frames):
                if f.startswith(args.under):
                    children[frames[i + 1] if i + 1 < len(frames) else "<self>"] += n
                    break
        print(f"{args.under}: {sum(children.values()) / total:.1%} of {total:,} samples")
        for f, n in children.most_common(args.top):
            print(f"  {n / total:6.1%}  {f}")
        return 0
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    for frames, n in stacks:
        own[frames[-1]] += n
        for f in set(frames):
            inclusive[f] += n
    print(f"{total:,} samples")
    print("inclusive:")
    for f, n in inclusive.most_common(args.top):
        print(f"  {n / total:6.1%}  {f}")
    print("self:")
    for f, n in own.most_common(args.top):
        print(f"  {n / total:6.1%}  {f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
