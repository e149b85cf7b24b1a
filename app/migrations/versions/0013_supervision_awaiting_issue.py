"""supervision_orders shows only orders that exist: an urging (催办) that arrives before its order's
``supervision.issued`` is kept in the fold (status NULL) and counted once the issue arrives, but does not show
a phantom order with no title (issue 15). The column list is unchanged, so dependent views stay.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04
"""

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

WITH_FILTER = """
CREATE OR REPLACE VIEW public.supervision_orders AS
SELECT s.order_id, s.title, s.issued_by, s.level, s.departments, s.status, s.issued_at, s.due_date, s.due_at,
       s.completed_at, s.completed_by, s.cancelled_at,
       CASE
           WHEN s.due_at IS NULL OR s.status = 'cancelled' THEN false
           WHEN s.status = 'completed' THEN s.completed_at > s.due_at
           ELSE now() >= s.due_at
       END AS overdue,
       CASE
           WHEN s.due_at IS NULL OR s.status = 'cancelled' THEN 0
           WHEN s.status = 'completed' THEN
               CASE WHEN s.completed_at > s.due_at
                    THEN (s.completed_at AT TIME ZONE 'Asia/Shanghai')::date - s.due_date ELSE 0 END
           WHEN now() >= s.due_at THEN (now() AT TIME ZONE 'Asia/Shanghai')::date - s.due_date
           ELSE 0
       END AS days_overdue,
       s.urge_count, s.last_urged_at, s.escalation_stage, s.progress_percent, s.progress_reports,
       s.last_progress_at, s.target_case_id, s.event_count, s.last_event_at
FROM casetrack.supervision_state s
JOIN casetrack.live_generations g ON g.projection = 'supervision' AND g.generation = s.generation
WHERE s.status IS NOT NULL;
"""

WITHOUT_FILTER = """
CREATE OR REPLACE VIEW public.supervision_orders AS
SELECT s.order_id, s.title, s.issued_by, s.level, s.departments, s.status, s.issued_at, s.due_date, s.due_at,
       s.completed_at, s.completed_by, s.cancelled_at,
       CASE
           WHEN s.due_at IS NULL OR s.status = 'cancelled' THEN false
           WHEN s.status = 'completed' THEN s.completed_at > s.due_at
           ELSE now() >= s.due_at
       END AS overdue,
       CASE
           WHEN s.due_at IS NULL OR s.status = 'cancelled' THEN 0
           WHEN s.status = 'completed' THEN
               CASE WHEN s.completed_at > s.due_at
                    THEN (s.completed_at AT TIME ZONE 'Asia/Shanghai')::date - s.due_date ELSE 0 END
           WHEN now() >= s.due_at THEN (now() AT TIME ZONE 'Asia/Shanghai')::date - s.due_date
           ELSE 0
       END AS days_overdue,
       s.urge_count, s.last_urged_at, s.escalation_stage, s.progress_percent, s.progress_reports,
       s.last_progress_at, s.target_case_id, s.event_count, s.last_event_at
FROM casetrack.supervision_state s
JOIN casetrack.live_generations g ON g.projection = 'supervision' AND g.generation = s.generation;
"""


def upgrade() -> None:
    op.execute(WITH_FILTER)


def downgrade() -> None:
    op.execute(WITHOUT_FILTER)
