"""The office figures of a casetrack database, as ``casetrack demo``'s tables, its HTML report and the end-to-end
test name them: the rows and labels of :mod:`reports.figure_rows` and :func:`load`, whose SQL lives in the read
queries' adapter :mod:`reports.pg_reads` (docs/architecture.md, "Read queries")."""

from __future__ import annotations

from reports.figure_rows import (
    CHANNELS,
    ESCALATION,
    RECTIFICATION_SOURCES,
    UNASSIGNED,
    Accounting,
    DayPoint,
    Figures,
    HeatCell,
    OverdueOrder,
    PetitionRow,
    RateRow,
    RectificationRow,
    ScoreRow,
    Summary,
    SupervisionSummary,
    ratio,
)
from reports.pg_reads import load

__all__ = [
    "CHANNELS",
    "ESCALATION",
    "RECTIFICATION_SOURCES",
    "UNASSIGNED",
    "Accounting",
    "DayPoint",
    "Figures",
    "HeatCell",
    "OverdueOrder",
    "PetitionRow",
    "RateRow",
    "RectificationRow",
    "ScoreRow",
    "Summary",
    "SupervisionSummary",
    "ratio",
    "load",
]
