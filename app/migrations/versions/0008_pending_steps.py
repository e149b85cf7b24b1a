"""Red for a step still pending past its limit, by the wall clock.

``case_state.step_due_at`` is the earliest limit among the steps a case's rule bounds and that are still
pending: routing and acceptance of an open petition (15 days from receipt), and a 复查/复核 review
requested but not decided (30 days; also on a resolved or closed case). ``case_status.warning_level`` is ``red`` once ``now()`` passes
it, as it is for an overdue case, with no event needed. A step done late was, and stays, ``step_overrun``.

Rows written before this migration have no ``step_due_at`` until their case is written again; ``casetrack
replay`` fills every row.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01
"""

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

UPGRADE = """
ALTER TABLE casetrack.case_state ADD COLUMN step_due_at timestamptz;
COMMENT ON COLUMN casetrack.case_state.step_due_at IS
    'earliest limit of a step still pending (routing, acceptance, a requested review)';
CREATE OR REPLACE VIEW public.case_status AS
SELECT s.case_id, s.channel, s.category, s.region, s.urgency, s.department, s.status,
       s.received_at, s.accepted_at, s.assigned_at, s.due_at, s.resolved_at, s.closed_at, s.on_time,
       CASE
           WHEN s.status IN ('rejected', 'merged') THEN 'none'
           WHEN s.step_overrun THEN 'red'
           WHEN s.step_due_at IS NOT NULL AND now() >= s.step_due_at THEN 'red'
           WHEN s.resolved_at IS NOT NULL THEN CASE WHEN s.on_time IS FALSE THEN 'red' ELSE 'none' END
           WHEN s.due_at IS NOT NULL AND now() >= s.due_at THEN 'red'
           WHEN s.yellow_at IS NOT NULL AND now() >= s.yellow_at THEN 'yellow'
           ELSE 'none'
       END AS warning_level,
       s.yellow_at, s.outcome, s.satisfaction, s.followed_up, s.reopen_count, s.return_count,
       s.extension_count, s.suspended_days, s.time_limit, s.time_limit_unit, s.working_days,
       s.step_overrun, s.calendar_gap, s.merged_into, s.review_level, s.review_decision,
       s.petitioner_pseudonym, s.event_count, s.last_event_at
FROM casetrack.case_state s
JOIN casetrack.live_generations g ON g.projection = 'case' AND g.generation = s.generation;
"""

DOWNGRADE = """
CREATE OR REPLACE VIEW public.case_status AS
SELECT s.case_id, s.channel, s.category, s.region, s.urgency, s.department, s.status,
       s.received_at, s.accepted_at, s.assigned_at, s.due_at, s.resolved_at, s.closed_at, s.on_time,
       CASE
           WHEN s.status IN ('rejected', 'merged') THEN 'none'
           WHEN s.step_overrun THEN 'red'
           WHEN s.resolved_at IS NOT NULL THEN CASE WHEN s.on_time IS FALSE THEN 'red' ELSE 'none' END
           WHEN s.due_at IS NOT NULL AND now() >= s.due_at THEN 'red'
           WHEN s.yellow_at IS NOT NULL AND now() >= s.yellow_at THEN 'yellow'
           ELSE 'none'
       END AS warning_level,
       s.yellow_at, s.outcome, s.satisfaction, s.followed_up, s.reopen_count, s.return_count,
       s.extension_count, s.suspended_days, s.time_limit, s.time_limit_unit, s.working_days,
       s.step_overrun, s.calendar_gap, s.merged_into, s.review_level, s.review_decision,
       s.petitioner_pseudonym, s.event_count, s.last_event_at
FROM casetrack.case_state s
JOIN casetrack.live_generations g ON g.projection = 'case' AND g.generation = s.generation;
ALTER TABLE casetrack.case_state DROP COLUMN step_due_at;
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
