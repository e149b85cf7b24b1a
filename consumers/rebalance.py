"""Group rebalances, moved from kafka-python's IO thread to the consumer's own loop.

The callbacks (on the IO thread, where blocking client calls are refused) only pause the new partitions, give
them a placeholder position (``auto_offset_reset`` is ``none``) and queue the change; the loop applies it
between batches. See docs/architecture.md ("Testing the consumer loop").
"""

from __future__ import annotations

import logging
import queue
from collections.abc import Callable, Sequence
from typing import Protocol

from consumers.ports import TP

log = logging.getLogger("casetrack.consumer")


class PausableSource(Protocol):
    def pause(self, partitions: Sequence[TP]) -> None: ...
    def resume(self, partitions: Sequence[TP]) -> None: ...
    def seek(self, positions: dict[TP, int]) -> None: ...
    def assignment(self) -> list[TP]: ...


class Assignee(Protocol):
    positions: dict[TP, int]

    def revoke(self, partitions: Sequence[TP]) -> None: ...
    def on_assigned(self, partitions: Sequence[TP]) -> None: ...


class RebalanceHandoff:
    """Queues (re)assignments from the IO thread; :meth:`apply` runs them on the loop's thread."""

    def __init__(
        self, source: PausableSource, on_revoked: Callable[[Sequence[TP]], None] | None = None
    ) -> None:
        self.source = source
        self.on_revoked_applied = on_revoked
        self.changes: queue.SimpleQueue[tuple[str, list[TP]]] = queue.SimpleQueue()

    # -- IO thread ----------------------------------------------------------------------------------
    def on_assigned(self, partitions: list[TP]) -> None:
        if partitions:
            self.source.pause(partitions)
            self.source.seek({tp: 0 for tp in partitions})
        self.changes.put(("assigned", list(partitions)))

    def on_revoked(self, partitions: list[TP]) -> None:
        self.changes.put(("revoked", list(partitions)))

    # -- loop thread --------------------------------------------------------------------------------
    def apply(self, runner: Assignee) -> bool:
        """Apply queued changes to ``runner``; returns whether there were any."""
        changed = False
        while True:
            try:
                kind, partitions = self.changes.get_nowait()
            except queue.Empty:
                return changed
            changed = True
            if kind == "revoked":
                if partitions:
                    runner.revoke(partitions)
                    if self.on_revoked_applied is not None:
                        self.on_revoked_applied(partitions)
                    log.info("partitions revoked: %s", _fmt(partitions))
                continue
            current = set(self.source.assignment())
            mine = sorted(tp for tp in set(runner.positions) | set(partitions) if tp in current)
            runner.on_assigned(mine)
            if partitions:
                self.source.resume(partitions)
            log.info("partitions assigned: %s", _fmt(partitions) or "none")


def _fmt(partitions: Sequence[TP]) -> str:
    return ", ".join(f"{t}[{p}]" for t, p in sorted(partitions))
