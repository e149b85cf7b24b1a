"""Exponential backoff with jitter for retrying a batch while the store is unavailable.

The sleep and the random source are injectable, so unit tests of the loop record the delays instead of
waiting (see docs/architecture.md, "Testing the consumer loop").
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass


@dataclass(frozen=True)
class Backoff:
    """Delays of ``first`` seconds doubling on each retry, capped at ``cap``, each scaled by a jitter factor
    drawn uniformly from 0.8 to 1.2 (so that many consumers do not retry in step)."""

    first: float = 0.5
    cap: float = 30.0
    sleep: Callable[[float], None] = time.sleep
    rand: Callable[[], float] = random.random

    def delays(self) -> Iterator[float]:
        """The delays of one retry sequence (endless: the caller decides when to give up)."""
        base = self.first
        while True:
            yield min(base, self.cap) * (0.8 + 0.4 * self.rand())
            base *= 2
