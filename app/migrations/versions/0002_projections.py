"""Supervision, rectification and the analysts' aggregate views

State tables of the 'supervision' and 'rectification' folds, the KPI and scorecard settings, and the views
in public: supervision_orders, rectification_items, completion_rates, petition_tallies,
department_scorecard. Every view reads the live generation only (casetrack.live_generations), directly or
through public.case_status. Months are Asia/Shanghai calendar months, keyed by their first day. The
attribution rules are documented in the README (Projections for analysts).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

STATE_TABLES = """
-- The supervision fold (projections/supervision.py), one row per (generation, order).
CREATE TABLE casetrack.supervision_state (
    generation       integer     NOT NULL,
    order_id         text        NOT NULL,
    title            text,
    issued_by        text,
    level            text,
    departments      text[],
    status           text,
    issued_at        timestamptz,
    due_date         date,
    due_at           timestamptz,  -- 24:00 Asia/Shanghai at the end of due_date
    completed_at     timestamptz,
    completed_by     text,
    cancelled_at     timestamptz,
    urge_count       integer     NOT NULL DEFAULT 0,
    last_urged_at    timestamptz,
    escalation_stage text        NOT NULL DEFAULT 'none',
    progress_percent integer,
    progress_reports integer     NOT NULL DEFAULT 0,
    last_progress_at timestamptz,
    target_case_id   text,
    event_count      integer     NOT NULL,
    last_event_at    timestamptz,
    applied_ids      text[]      NOT NULL,
    last_time        timestamptz NOT NULL,
    last_id          text        NOT NULL,
    fold_state       text        NOT NULL,
    PRIMARY KEY (generation, order_id)
);

-- The rectification fold (projections/rectification.py), one row per (generation, item).
CREATE TABLE casetrack.rectification_state (
    generation         integer     NOT NULL,
    item_id            text        NOT NULL,
    source             text,
    problem            text,
    department         text,
    responsible_person text,
    status             text,
    opened_at          timestamptz,
    deadline           date,
    deadline_at        timestamptz,  -- 24:00 Asia/Shanghai at the end of deadline
    original_deadline  date,
    extension_count    integer     NOT NULL DEFAULT 0,
    measures_planned   integer,
    measures_done      integer     NOT NULL DEFAULT 0,
    progress           numeric(5, 4),
    progress_reports   integer     NOT NULL DEFAULT 0,
    last_progress_at   timestamptz,
    completed_at       timestamptz,
    verified_at        timestamptz,
    rejected_at        timestamptz,
    verifier           text,
    rejection_count    integer     NOT NULL DEFAULT 0,
    related_case_id    text,
    event_count        integer     NOT NULL,
    last_event_at      timestamptz,
    applied_ids        text[]      NOT NULL,
    last_time          timestamptz NOT NULL,
    last_id            text        NOT NULL,
    fold_state         text        NOT NULL,
    PRIMARY KEY (generation, item_id)
);
"""

SETTINGS_TABLES = """
-- KPI knobs read by the views. One row (id is always true). basically_satisfied_counts mirrors the policy
-- file's [kpi] basically_satisfied_counts_as_satisfied: `casetrack migrate` and the consumer copy it here
-- (projections/kpi_settings.py), so change it in the policy file.
CREATE TABLE casetrack.kpi_settings (
    id                         boolean     PRIMARY KEY DEFAULT true CHECK (id),
    basically_satisfied_counts boolean     NOT NULL DEFAULT true,
    updated_at                 timestamptz NOT NULL DEFAULT now()
);
INSERT INTO casetrack.kpi_settings DEFAULT VALUES;

-- Points of the department scorecard (negative = deduction). One row; operators change it with UPDATE.
CREATE TABLE casetrack.scorecard_settings (
    id                         boolean       PRIMARY KEY DEFAULT true CHECK (id),
    supervision_notice_points  numeric(6, 2) NOT NULL DEFAULT -2,  -- per overdue supervision order
    yellow_points              numeric(6, 2) NOT NULL DEFAULT -5,  -- per yellow card
    red_points                 numeric(6, 2) NOT NULL DEFAULT -10, -- per red card
    overdue_rectification_points numeric(6, 2) NOT NULL DEFAULT 0, -- per overdue rectification item
    updated_at                 timestamptz   NOT NULL DEFAULT now()
);
INSERT INTO casetrack.scorecard_settings DEFAULT VALUES;
"""

SUPERVISION_ORDERS = """
CREATE VIEW public.supervision_orders AS
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
COMMENT ON VIEW public.supervision_orders IS
    'One row per supervision order (live generation). overdue and days_overdue follow the wall clock.';
"""

RECTIFICATION_ITEMS = """
CREATE VIEW public.rectification_items AS
SELECT r.item_id, r.source, r.problem, r.department, r.responsible_person, r.status, r.opened_at,
       r.deadline, r.deadline_at, r.original_deadline, r.extension_count,
       CASE
           WHEN r.deadline_at IS NULL THEN false
           WHEN r.status = 'verified' THEN r.verified_at > r.deadline_at
           ELSE now() >= r.deadline_at
       END AS overdue,
       CASE
           WHEN r.deadline_at IS NULL THEN 0
           WHEN r.status = 'verified' THEN
               CASE WHEN r.verified_at > r.deadline_at
                    THEN (r.verified_at AT TIME ZONE 'Asia/Shanghai')::date - r.deadline ELSE 0 END
           WHEN now() >= r.deadline_at THEN (now() AT TIME ZONE 'Asia/Shanghai')::date - r.deadline
           ELSE 0
       END AS days_overdue,
       r.measures_planned, r.measures_done, r.progress, r.progress_reports, r.last_progress_at,
       r.completed_at, r.verified_at, r.verifier, r.rejected_at, r.rejection_count, r.related_case_id,
       r.event_count, r.last_event_at
FROM casetrack.rectification_state r
JOIN casetrack.live_generations g ON g.projection = 'rectification' AND g.generation = r.generation;
COMMENT ON VIEW public.rectification_items IS
    'One row per rectification item (live generation). overdue and days_overdue follow the wall clock.';
"""

# Each case contributes up to three fact rows, one per attribution month (see the README (Projections for analysts)):
# the received cohort (month of received_at), its resolution (month of resolved_at) and its deadline (month
# of the deadline's last day; due_at is 24:00 of that day, hence the microsecond).
COMPLETION_RATES = """
CREATE VIEW public.completion_rates AS
WITH knobs AS (
    SELECT coalesce((SELECT k.basically_satisfied_counts FROM casetrack.kpi_settings k), true) AS basic_ok
),
facts AS (
    SELECT date_trunc('month', c.received_at AT TIME ZONE 'Asia/Shanghai')::date AS month,
           c.channel, c.department,
           1 AS received,
           CASE WHEN c.resolved_at IS NOT NULL THEN 1 ELSE 0 END AS received_resolved,
           CASE WHEN c.status = 'rejected' THEN 1 ELSE 0 END AS rejected,
           CASE WHEN c.status = 'merged' THEN 1 ELSE 0 END AS merged,
           CASE WHEN c.return_count > 0 THEN 1 ELSE 0 END AS returned,
           0 AS resolved, 0 AS resolved_on_time, 0 AS followed_up, 0 AS rated, 0 AS satisfied,
           0 AS reopened, NULL::numeric AS working_days,
           0 AS due, 0 AS resolved_on_schedule, 0 AS closed
    FROM public.case_status c
    WHERE c.received_at IS NOT NULL
    UNION ALL
    SELECT date_trunc('month', c.resolved_at AT TIME ZONE 'Asia/Shanghai')::date,
           c.channel, c.department,
           0, 0, 0, 0, 0,
           1,
           CASE WHEN c.on_time THEN 1 ELSE 0 END,
           CASE WHEN c.followed_up THEN 1 ELSE 0 END,
           CASE WHEN c.satisfaction <> 'unreachable' THEN 1 ELSE 0 END,
           CASE WHEN c.satisfaction IN ('very_satisfied', 'satisfied')
                  OR (c.satisfaction = 'basically_satisfied' AND k.basic_ok) THEN 1 ELSE 0 END,
           CASE WHEN c.reopen_count > 0 THEN 1 ELSE 0 END,
           c.working_days,
           0, 0, 0
    FROM public.case_status c CROSS JOIN knobs k
    WHERE c.resolved_at IS NOT NULL
    UNION ALL
    SELECT date_trunc('month', (c.due_at - interval '1 microsecond') AT TIME ZONE 'Asia/Shanghai')::date,
           c.channel, c.department,
           0, 0, 0, 0, 0,
           0, 0, 0, 0, 0, 0, NULL,
           1,
           CASE WHEN c.on_time THEN 1 ELSE 0 END,
           CASE WHEN c.status = 'closed' THEN 1 ELSE 0 END
    FROM public.case_status c
    WHERE c.due_at IS NOT NULL AND c.status NOT IN ('rejected', 'merged')
),
sums AS (
    SELECT f.month, f.channel, f.department,
           sum(f.received)::integer AS received,
           sum(f.received_resolved)::integer AS received_resolved,
           sum(f.rejected)::integer AS rejected,
           sum(f.merged)::integer AS merged,
           sum(f.returned)::integer AS returned,
           sum(f.resolved)::integer AS resolved,
           sum(f.resolved_on_time)::integer AS resolved_on_time,
           sum(f.followed_up)::integer AS followed_up,
           sum(f.rated)::integer AS rated,
           sum(f.satisfied)::integer AS satisfied,
           sum(f.reopened)::integer AS reopened,
           round(avg(f.working_days), 2) AS avg_working_days,
           round((percentile_cont(0.5) WITHIN GROUP (ORDER BY f.working_days))::numeric, 2)
               AS median_working_days,
           sum(f.due)::integer AS due,
           sum(f.resolved_on_schedule)::integer AS resolved_on_schedule,
           sum(f.closed)::integer AS closed
    FROM facts f
    GROUP BY f.month, f.channel, f.department
)
SELECT s.month, s.channel, s.department,
       s.received, s.received_resolved,
       round(s.received_resolved::numeric / nullif(s.received, 0), 4) AS completion_rate,
       s.rejected, s.merged,
       s.resolved, s.resolved_on_time,
       round(s.resolved_on_time::numeric / nullif(s.resolved, 0), 4) AS on_time_rate,
       s.due, s.resolved_on_schedule,
       round(s.resolved_on_schedule::numeric / nullif(s.due, 0), 4) AS on_schedule_rate,
       s.closed,
       round(s.closed::numeric / nullif(s.due, 0), 4) AS closure_rate,
       s.rated, s.satisfied,
       round(s.satisfied::numeric / nullif(s.rated, 0), 4) AS satisfaction_rate,
       s.followed_up,
       round(s.followed_up::numeric / nullif(s.resolved, 0), 4) AS follow_up_rate,
       s.returned,
       round(s.returned::numeric / nullif(s.received, 0), 4) AS return_rate,
       s.reopened,
       round(s.reopened::numeric / nullif(s.resolved, 0), 4) AS reopen_rate,
       s.avg_working_days, s.median_working_days
FROM sums s;
COMMENT ON VIEW public.completion_rates IS
    'KPIs by month x channel x department. Each count has its own attribution month: see the README (Projections for analysts).';
"""

PETITION_TALLIES = """
CREATE VIEW public.petition_tallies AS
WITH p AS (
    SELECT c.*,
           c.petitioner_pseudonym IS NOT NULL
               AND row_number() OVER (PARTITION BY c.petitioner_pseudonym
                                      ORDER BY c.received_at, c.case_id) > 1 AS is_repeat
    FROM public.case_status c
    WHERE c.channel IN ('letter', 'visit', 'online_petition') AND c.received_at IS NOT NULL
),
facts AS (
    SELECT date_trunc('month', p.received_at AT TIME ZONE 'Asia/Shanghai')::date AS month,
           p.channel, p.category, p.region,
           1 AS received,
           CASE WHEN p.accepted_at IS NOT NULL THEN 1 ELSE 0 END AS accepted,
           CASE WHEN p.status = 'rejected' THEN 1 ELSE 0 END AS rejected,
           CASE WHEN p.resolved_at IS NOT NULL THEN 1 ELSE 0 END AS received_resolved,
           CASE WHEN p.is_repeat THEN 1 ELSE 0 END AS repeat_petitions,
           CASE WHEN p.status = 'merged' THEN 1 ELSE 0 END AS merged,
           CASE WHEN p.review_level IS NOT NULL THEN 1 ELSE 0 END AS review_requests,
           CASE WHEN p.review_level = 're_review' THEN 1 ELSE 0 END AS re_review_requests,
           CASE WHEN p.review_level IS NOT NULL AND p.review_decision IS NULL THEN 1 ELSE 0 END
               AS reviews_pending,
           CASE WHEN p.review_level = 'review' AND p.review_decision = 'upheld' THEN 1 ELSE 0 END
               AS review_upheld,
           CASE WHEN p.review_level = 'review' AND p.review_decision = 'changed' THEN 1 ELSE 0 END
               AS review_changed,
           CASE WHEN p.review_level = 're_review' AND p.review_decision = 'upheld' THEN 1 ELSE 0 END
               AS re_review_upheld,
           CASE WHEN p.review_level = 're_review' AND p.review_decision = 'changed' THEN 1 ELSE 0 END
               AS re_review_changed,
           0 AS resolved, 0 AS resolved_on_time
    FROM p
    UNION ALL
    SELECT date_trunc('month', p.resolved_at AT TIME ZONE 'Asia/Shanghai')::date,
           p.channel, p.category, p.region,
           0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
           1, CASE WHEN p.on_time THEN 1 ELSE 0 END
    FROM p
    WHERE p.resolved_at IS NOT NULL
),
sums AS (
    SELECT f.month, f.channel, f.category, f.region,
           sum(f.received)::integer AS received,
           sum(f.accepted)::integer AS accepted,
           sum(f.rejected)::integer AS rejected,
           sum(f.received_resolved)::integer AS received_resolved,
           sum(f.resolved)::integer AS resolved,
           sum(f.resolved_on_time)::integer AS resolved_on_time,
           sum(f.repeat_petitions)::integer AS repeat_petitions,
           sum(f.merged)::integer AS merged,
           sum(f.review_requests)::integer AS review_requests,
           sum(f.re_review_requests)::integer AS re_review_requests,
           sum(f.reviews_pending)::integer AS reviews_pending,
           sum(f.review_upheld)::integer AS review_upheld,
           sum(f.review_changed)::integer AS review_changed,
           sum(f.re_review_upheld)::integer AS re_review_upheld,
           sum(f.re_review_changed)::integer AS re_review_changed
    FROM facts f
    GROUP BY f.month, f.channel, f.category, f.region
)
SELECT s.month, s.channel, s.category, s.region,
       s.received, s.accepted, s.rejected, s.received_resolved,
       round(s.received_resolved::numeric / nullif(s.received, 0), 4) AS completion_rate,
       s.resolved, s.resolved_on_time,
       round(s.resolved_on_time::numeric / nullif(s.resolved, 0), 4) AS on_time_rate,
       s.repeat_petitions,
       round(s.repeat_petitions::numeric / nullif(s.received, 0), 4) AS repeat_rate,
       s.merged, s.review_requests, s.re_review_requests, s.reviews_pending,
       s.review_upheld, s.review_changed, s.re_review_upheld, s.re_review_changed
FROM sums s;
COMMENT ON VIEW public.petition_tallies IS
    'Petitions (letter, visit, online_petition) by month x channel x category x region: see the README (Projections for analysts).';
"""

# Cards are attributed to the month they were earned: a yellow card to the month of yellow_at, a red card
# to the month the deadline passed (due_at) or, for a red earned only by a step overrun, to the month the
# case was received; an overdue order or item to the month of its due date / deadline.
DEPARTMENT_SCORECARD = """
CREATE VIEW public.department_scorecard AS
WITH pts AS (
    SELECT coalesce(max(p.supervision_notice_points), -2) AS supervision_notice,
           coalesce(max(p.yellow_points), -5) AS yellow,
           coalesce(max(p.red_points), -10) AS red,
           coalesce(max(p.overdue_rectification_points), 0) AS rectification
    FROM casetrack.scorecard_settings p
),
cards AS (
    SELECT c.department, date_trunc('month', c.resolved_at AT TIME ZONE 'Asia/Shanghai')::date AS month,
           1 AS cases_handled, 0 AS yellow, 0 AS red, 0 AS supervision, 0 AS rectification
    FROM public.case_status c
    WHERE c.resolved_at IS NOT NULL
    UNION ALL
    SELECT c.department, date_trunc('month', c.yellow_at AT TIME ZONE 'Asia/Shanghai')::date, 0, 1, 0, 0, 0
    FROM public.case_status c
    WHERE c.yellow_at IS NOT NULL AND c.yellow_at <= coalesce(c.resolved_at, now())
      AND c.warning_level <> 'red' AND c.status NOT IN ('rejected', 'merged')
    UNION ALL
    SELECT c.department,
           date_trunc('month', CASE WHEN c.on_time IS FALSE OR (c.resolved_at IS NULL AND c.due_at <= now())
                                    THEN c.due_at ELSE c.received_at END
                               AT TIME ZONE 'Asia/Shanghai')::date,
           0, 0, 1, 0, 0
    FROM public.case_status c
    WHERE c.warning_level = 'red'
    UNION ALL
    SELECT d.department, date_trunc('month', s.due_date::timestamp)::date, 0, 0, 0, 1, 0
    FROM public.supervision_orders s CROSS JOIN LATERAL unnest(s.departments) AS d(department)
    WHERE s.overdue
    UNION ALL
    SELECT r.department, date_trunc('month', r.deadline::timestamp)::date, 0, 0, 0, 0, 1
    FROM public.rectification_items r
    WHERE r.overdue
)
SELECT c.department, c.month,
       sum(c.cases_handled)::integer AS cases_handled,
       sum(c.yellow)::integer AS yellow_count,
       sum(c.red)::integer AS red_count,
       sum(c.supervision)::integer AS overdue_supervision_orders,
       sum(c.rectification)::integer AS overdue_rectification_items,
       (sum(c.supervision) * p.supervision_notice + sum(c.yellow) * p.yellow + sum(c.red) * p.red
        + sum(c.rectification) * p.rectification)::numeric(10, 2) AS penalty_score
FROM cards c CROSS JOIN pts p
GROUP BY c.department, c.month, p.supervision_notice, p.yellow, p.red, p.rectification;
COMMENT ON VIEW public.department_scorecard IS
    'Yellow/red cards, overdue orders and items, and the penalty score per department x month.';
"""

GRANTS = """
GRANT SELECT, INSERT, UPDATE, DELETE ON casetrack.supervision_state, casetrack.rectification_state
    TO casetrack_writer;
GRANT SELECT, INSERT, UPDATE ON casetrack.kpi_settings, casetrack.scorecard_settings TO casetrack_writer;
GRANT SELECT ON public.supervision_orders, public.rectification_items, public.completion_rates,
    public.petition_tallies, public.department_scorecard
    TO casetrack_analyst, casetrack_officer, casetrack_writer;
"""


def upgrade() -> None:
    op.execute(STATE_TABLES)
    op.execute(SETTINGS_TABLES)
    op.execute(SUPERVISION_ORDERS)
    op.execute(RECTIFICATION_ITEMS)
    op.execute(COMPLETION_RATES)
    op.execute(PETITION_TALLIES)
    op.execute(DEPARTMENT_SCORECARD)
    op.execute(GRANTS)


def downgrade() -> None:
    op.execute("DROP VIEW IF EXISTS public.department_scorecard")
    op.execute("DROP VIEW IF EXISTS public.petition_tallies")
    op.execute("DROP VIEW IF EXISTS public.completion_rates")
    op.execute("DROP VIEW IF EXISTS public.rectification_items")
    op.execute("DROP VIEW IF EXISTS public.supervision_orders")
    op.execute("DROP TABLE IF EXISTS casetrack.scorecard_settings")
    op.execute("DROP TABLE IF EXISTS casetrack.kpi_settings")
    op.execute("DROP TABLE IF EXISTS casetrack.rectification_state")
    op.execute("DROP TABLE IF EXISTS casetrack.supervision_state")
