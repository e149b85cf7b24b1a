"""The event-store replay after broker data loss (``casetrack replay --from event-store --accept-broker-loss``,
docs/operators.md, "Broker data loss"): which stored positions the broker contradicts, and where the new
generation continues on those partitions.
"""

from __future__ import annotations

import logging

from app.bootstrap import Endpoints
from app.settings import Settings
from consumers.ports import TP

log = logging.getLogger("casetrack.replay")


def broker_offsets(settings: Settings, ep: Endpoints, topic: str) -> dict[TP, tuple[int, int]]:
    """(beginning, end) of every partition the broker holds of ``topic`` (the end as ``casetrack lag`` reads it)."""
    from ops.lag import probe_ends

    begin, ends = probe_ends(ep.kafka_bootstrap, settings.kafka_security.client_options(), [topic])
    return {tp: (begin.get(tp, 0), end) for tp, end in ends.items()}


def mismatched(positions: dict[TP, int], held: dict[TP, tuple[int, int]]) -> list[TP]:
    """Partitions whose stored position lies outside what the broker holds (a missing partition holds 0..0)."""
    out = []
    for tp, pos in positions.items():
        begin, end = held.get(tp, (0, 0))
        if pos > end or pos < begin:
            out.append(tp)
    return out


def mismatch_message(positions: dict[TP, int], held: dict[TP, tuple[int, int]]) -> str:
    where = ", ".join(
        f"{t}[{p}] stored {positions[(t, p)]}, broker holds {held.get((t, p), (0, 0))[0]}..{held.get((t, p), (0, 0))[1]}"
        for t, p in sorted(mismatched(positions, held))
    )
    return (
        f"the stored positions do not match the broker ({where}). To rebuild from the event store and continue "
        "from what the broker holds now, add --accept-broker-loss"
    )


def restart_positions(held: dict[TP, tuple[int, int]], lost: list[TP]) -> dict[TP, int]:
    """Where the new generation starts on the partitions ``lost``: at the beginning of what the broker holds now.
    Every event consumed before is in the event store (and in the new generation), events the broker still
    holds are deduplicated by id, new ones are applied. Other partitions keep the live positions (live
    consumers may have moved them past the ends probed before the build; that is no loss)."""
    out: dict[TP, int] = {}
    for topic, part in sorted(lost):
        begin, end = held.get((topic, part), (0, 0))
        out[(topic, part)] = begin
        log.info(
            "%s[%d]: the broker holds offsets %d..%d; the new generation continues from %d",
            topic, part, begin, end, begin,
        )  # fmt: skip
    return out
