"""Keep the KPI knobs that the analysts' views read in step with the policy file.

The views are SQL, so they cannot read ``policy.toml``: ``completion_rates`` reads the one-row table
``casetrack.kpi_settings`` instead, and ``department_scorecard`` reads ``casetrack.scorecard_settings``.
:func:`sync_kpi_settings` copies the policy's values into them; the composition root calls it whenever the
policy is loaded for real work (``casetrack migrate`` and the consumers' start-up), so the policy file stays
the one place an operator changes a formula.

Scorecard points are not part of the policy file: pass them as ``points`` to set them, or leave them
``None`` to keep what the table holds (the migrations' defaults −2 / −5 / −10 / 0 and −5 per violation, or an operator's
``UPDATE casetrack.scorecard_settings``).
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg2

from projections.policy import DeadlinePolicy

__all__ = ["PenaltyPoints", "read_kpi_settings", "sync_kpi_settings"]


@dataclass(frozen=True, slots=True)
class PenaltyPoints:
    """Points per scorecard event (negative numbers deduct)."""

    supervision_notice: float = -2.0  # per overdue supervision order addressed to the department
    yellow: float = -5.0  # per yellow card
    red: float = -10.0  # per red card
    overdue_rectification: float = 0.0  # per overdue rectification item
    violation: float = -5.0  # per violation (an extension beyond the channel's cap; migration 0010)


def sync_kpi_settings(database_url: str, policy: DeadlinePolicy, points: PenaltyPoints | None = None) -> bool:
    """Copy ``policy.kpi`` (and ``points``, if given) into the settings tables; True if anything changed.

    Idempotent and cheap: rows are only written when a value differs. Needs a migrated database (0002).
    """
    basic = policy.kpi.basically_satisfied_counts_as_satisfied
    conn = psycopg2.connect(database_url, application_name="casetrack-kpi-settings")
    try:
        with conn, conn.cursor() as cur:
            cur.execute(
                "INSERT INTO casetrack.kpi_settings AS k (id, basically_satisfied_counts) VALUES (true, %s)"
                " ON CONFLICT (id) DO UPDATE SET basically_satisfied_counts = EXCLUDED.basically_satisfied_counts,"
                " updated_at = now()"
                " WHERE k.basically_satisfied_counts IS DISTINCT FROM EXCLUDED.basically_satisfied_counts",
                (basic,),
            )
            changed = cur.rowcount > 0
            if points is not None:
                cur.execute(
                    "INSERT INTO casetrack.scorecard_settings AS s (id, supervision_notice_points,"
                    " yellow_points, red_points, overdue_rectification_points, violation_points)"
                    " VALUES (true, %s, %s, %s, %s, %s)"
                    " ON CONFLICT (id) DO UPDATE SET"
                    " supervision_notice_points = EXCLUDED.supervision_notice_points,"
                    " yellow_points = EXCLUDED.yellow_points, red_points = EXCLUDED.red_points,"
                    " overdue_rectification_points = EXCLUDED.overdue_rectification_points,"
                    " violation_points = EXCLUDED.violation_points, updated_at = now()"
                    " WHERE (s.supervision_notice_points, s.yellow_points, s.red_points,"
                    " s.overdue_rectification_points, s.violation_points) IS DISTINCT FROM"
                    " (EXCLUDED.supervision_notice_points, EXCLUDED.yellow_points, EXCLUDED.red_points,"
                    " EXCLUDED.overdue_rectification_points, EXCLUDED.violation_points)",
                    (
                        points.supervision_notice,
                        points.yellow,
                        points.red,
                        points.overdue_rectification,
                        points.violation,
                    ),  # fmt: skip
                )
                changed = changed or cur.rowcount > 0
        return changed
    finally:
        conn.close()


def read_kpi_settings(database_url: str) -> tuple[bool, PenaltyPoints]:
    """What the views currently use: (basically satisfied counts as satisfied, scorecard points)."""
    conn = psycopg2.connect(database_url, application_name="casetrack-kpi-settings")
    try:
        with conn, conn.cursor() as cur:
            cur.execute("SELECT basically_satisfied_counts FROM casetrack.kpi_settings")
            row = cur.fetchone()
            basic = True if row is None else bool(row[0])
            cur.execute(
                "SELECT supervision_notice_points, yellow_points, red_points, overdue_rectification_points,"
                " violation_points FROM casetrack.scorecard_settings"
            )
            p = cur.fetchone()
            points = PenaltyPoints() if p is None else PenaltyPoints(*(float(v) for v in p))
        return basic, points
    finally:
        conn.close()
