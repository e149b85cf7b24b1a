"""The PostgreSQL adapter for the KPI knobs of the analysts' views (``casetrack.kpi_settings`` and
``casetrack.scorecard_settings``): the values are :mod:`projections.kpi_settings`'s, the SQL is here.

Idempotent and cheap: rows are only written when a value differs. Needs a migrated database (0002).
"""

from __future__ import annotations

from app.pg_connect import connection
from projections.kpi_settings import KpiSettings, PenaltyPoints, kpi_settings_of
from projections.policy import DeadlinePolicy

__all__ = ["read_kpi_settings", "sync_kpi_settings", "write_kpi_settings"]

_APPLICATION = "casetrack-kpi-settings"

_UPSERT_KPI = (
    "INSERT INTO casetrack.kpi_settings AS k (id, basically_satisfied_counts) VALUES (true, %s)"
    " ON CONFLICT (id) DO UPDATE SET basically_satisfied_counts = EXCLUDED.basically_satisfied_counts,"
    " updated_at = now()"
    " WHERE k.basically_satisfied_counts IS DISTINCT FROM EXCLUDED.basically_satisfied_counts"
)
_UPSERT_POINTS = (
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
    " EXCLUDED.overdue_rectification_points, EXCLUDED.violation_points)"
)


def sync_kpi_settings(database_url: str, policy: DeadlinePolicy, points: PenaltyPoints | None = None) -> bool:
    """Copy ``policy.kpi`` (and ``points``, if given) into the settings tables; True if anything changed."""
    return write_kpi_settings(database_url, kpi_settings_of(policy, points))


def write_kpi_settings(database_url: str, settings: KpiSettings) -> bool:
    """Store ``settings`` in one transaction; True if any row changed."""
    with connection(database_url, application_name=_APPLICATION) as conn, conn, conn.cursor() as cur:
        cur.execute(_UPSERT_KPI, (settings.basically_satisfied_counts,))
        changed = cur.rowcount > 0
        p = settings.points
        if p is not None:
            cur.execute(
                _UPSERT_POINTS, (p.supervision_notice, p.yellow, p.red, p.overdue_rectification, p.violation)
            )
            changed = changed or cur.rowcount > 0
    return changed


def read_kpi_settings(database_url: str) -> tuple[bool, PenaltyPoints]:
    """What the views currently use: (basically satisfied counts as satisfied, scorecard points)."""
    with connection(database_url, application_name=_APPLICATION) as conn, conn, conn.cursor() as cur:
        cur.execute("SELECT basically_satisfied_counts FROM casetrack.kpi_settings")
        row = cur.fetchone()
        basic = True if row is None else bool(row[0])
        cur.execute(
            "SELECT supervision_notice_points, yellow_points, red_points, overdue_rectification_points,"
            " violation_points FROM casetrack.scorecard_settings"
        )
        found = cur.fetchone()
        points = PenaltyPoints() if found is None else PenaltyPoints(*(float(v) for v in found))
    return basic, points
