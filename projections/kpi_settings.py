"""The KPI knobs that the analysts' views read, as values: what the policy file says and the scorecard points.

The views are SQL, so they cannot read ``policy.toml``: ``completion_rates`` reads the one-row table
``casetrack.kpi_settings`` instead, and ``department_scorecard`` reads ``casetrack.scorecard_settings``.
:func:`app.pg_kpi_settings.sync_kpi_settings` copies :func:`kpi_settings_of` the policy into them; the
composition root calls it whenever the policy is loaded for real work (``casetrack migrate`` and the consumers'
start-up), so the policy file stays the one place an operator changes a formula.

Scorecard points are not part of the policy file: pass them as ``points`` to set them, or leave them
``None`` to keep what the table holds (the migrations' defaults −2 / −5 / −10 / 0 and −5 per violation, or an operator's
``UPDATE casetrack.scorecard_settings``).
"""

from __future__ import annotations

from dataclasses import dataclass

from projections.policy import DeadlinePolicy

__all__ = ["KpiSettings", "PenaltyPoints", "kpi_settings_of"]


@dataclass(frozen=True, slots=True)
class PenaltyPoints:
    """Points per scorecard event (negative numbers deduct)."""

    supervision_notice: float = -2.0  # per overdue supervision order addressed to the department
    yellow: float = -5.0  # per yellow card
    red: float = -10.0  # per red card
    overdue_rectification: float = 0.0  # per overdue rectification item
    violation: float = -5.0  # per violation (an extension beyond the channel's cap; migration 0010)


@dataclass(frozen=True, slots=True)
class KpiSettings:
    """What the settings tables should hold; ``points`` None leaves the stored points as they are."""

    basically_satisfied_counts: bool
    points: PenaltyPoints | None = None


def kpi_settings_of(policy: DeadlinePolicy, points: PenaltyPoints | None = None) -> KpiSettings:
    """The settings the views need from ``policy`` (and ``points``, if given)."""
    return KpiSettings(policy.kpi.basically_satisfied_counts_as_satisfied, points)
