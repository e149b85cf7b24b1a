"""Petition statistics (信访): batches (批次) and people (人次) per period, 集体访 and 越级访, as of a moment.

Each petition received (登记) in the period is one batch; its people are its ``headcount`` where the event
gives one, else its petitioners (the first plus ``co_petitioners``), at least one. A petition of 5 or more
people (configurable) is a collective visit (集体访); ``skip_level`` marks a 越级访. Merged repeats still count
as batches (a repeat visit is a visit). See docs/analysts.md, 'Reports'.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from reports.facts import PetitionCount
from reports.periods import Period
from reports.table import Cell, Column, Report

CHANNELS: dict[str, str] = {"letter": "来信", "visit": "来访", "online_petition": "网上信访"}
COLLECTIVE = 5

_COLUMNS = (
    Column("bucket", "统计期", "sub-period"),
    Column("channel", "信访形式", "channel"),
    Column("channel_zh", "信访形式(中文)", "channel (Chinese)"),
    Column("region", "地区", "region"),
    Column("batches", "批次", "batches"),
    Column("people", "人次", "people"),
    Column("collective_batches", "集体访批次", "collective visits (batches)"),
    Column("collective_people", "集体访人次", "collective visits (people)"),
    Column("skip_level_batches", "越级访批次", "skip-level (batches)"),
    Column("skip_level_people", "越级访人次", "skip-level (people)"),
    Column("several_petitioners", "多名信访人件数", "petitions with several petitioners"),
)
_SUMMED = ("batches", "people", "collective_batches", "collective_people", "skip_level_batches",
           "skip_level_people", "several_petitioners")  # fmt: skip


def petition_report(
    counts: Sequence[PetitionCount],
    period: Period,
    as_of: dt.datetime,
    split: str,
    collective: int = COLLECTIVE,
) -> Report:
    """The statistics table: one row per sub-period × channel × region, then the total."""
    rows: list[tuple[Cell, ...]] = []
    for c in counts:
        bucket = "" if c.bucket is None else c.bucket.isoformat()
        rows.append((bucket, c.channel, CHANNELS.get(c.channel, c.channel), c.region or "",
                     *(getattr(c, k) for k in _SUMMED)))  # fmt: skip
    totals = tuple(sum(int(getattr(c, k)) for c in counts) for k in _SUMMED)
    rows.append(("合计", "total", "合计", "", *totals))
    return Report(
        kind="petitions",
        title="信访情况统计 · 批次与人次",
        period=period.label,
        period_start=period.start,
        period_end=period.end,
        as_of=as_of,
        columns=_COLUMNS,
        rows=tuple(rows),
        params={"split": split, "collective": str(collective)},
        notes=(
            f"集体访 = a petition of {collective} or more people; 越级访 = skip_level on case.received.",
            "人次 = headcount where given, else the number of petitioners (at least 1).",
            "As of (recorded by) the moment above: later-recorded events are not counted.",
        ),
    )
