"""Figures (issue 14): 重办 cycles, cards charged to the responsible party, violations, estimated deadlines

* ``casetrack.case_state`` gains the columns of a case's current cycle and its responsibilities (written by
  ``projections/case_status.py`` through ``projections/case_cards.py``): ``cycle``, ``cycle_started_at``,
  ``due_department``, ``yellow_department``, ``step_due_cause``, ``step_due_department``,
  ``extension_requested``, ``extension_excess``, ``legal_time_limit``, ``promise_violation``,
  ``correction_due_at``, ``withdrawn_at``, and two JSON lists, ``cards`` (cards that no longer depend on
  the wall clock) and ``past_cycles`` (the figures of every cycle a reopen ended).
* ``casetrack.scorecard_settings`` gains ``violation_points`` (default −5).
* Views: ``case_status`` (new columns at the end; ``warning_level`` none and ``outcome`` 'withdrawn' for a
  disclosure request whose correction period passed), new ``case_cycles`` (one row per case × cycle) and
  ``penalty_items`` (one row per card, points included), and ``completion_rates``, ``petition_tallies``
  and ``department_scorecard`` redefined on them: resolutions are counted per cycle in the month they
  happened, so a later reopen never changes a published month, and the scorecard is the sum of
  ``penalty_items`` by construction. ``estimated_deadlines`` / ``estimated_cards`` count the figures that
  rest on a deadline in a year without an official calendar. docs/analysts.md describes every column.

Rows written before this migration get the new columns when their case is next written; ``casetrack
replay`` fills every row (and the holder history the attribution needs) from the event store.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04
"""

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

COLUMNS = """
ALTER TABLE casetrack.case_state
    ADD COLUMN cycle               integer NOT NULL DEFAULT 1,
    ADD COLUMN cycle_started_at    timestamptz,
    ADD COLUMN due_department      text,
    ADD COLUMN yellow_department   text,
    ADD COLUMN step_due_cause      text,
    ADD COLUMN step_due_department text,
    ADD COLUMN extension_requested integer NOT NULL DEFAULT 0,
    ADD COLUMN extension_excess    integer NOT NULL DEFAULT 0,
    ADD COLUMN legal_time_limit    integer,
    ADD COLUMN promise_violation   boolean NOT NULL DEFAULT false,
    ADD COLUMN correction_due_at   timestamptz,
    ADD COLUMN cards               jsonb,
    ADD COLUMN past_cycles         jsonb,
    ADD COLUMN withdrawn_at        timestamptz;
COMMENT ON COLUMN casetrack.case_state.cards IS
    'cards that no longer depend on the wall clock: steps done late, extension violations, earlier cycles';
COMMENT ON COLUMN casetrack.case_state.past_cycles IS 'figures of every cycle a reopen (重办) ended';
ALTER TABLE casetrack.scorecard_settings
    ADD COLUMN violation_points numeric(6, 2) NOT NULL DEFAULT -5;  -- per violation (extension beyond the cap)
"""

CASE_STATUS = """
CREATE OR REPLACE VIEW public.case_status AS
SELECT s.case_id, s.channel, s.category, s.region, s.urgency, s.department, s.status,
       s.received_at, s.accepted_at, s.assigned_at, s.due_at, s.resolved_at, s.closed_at, s.on_time,
       CASE
           WHEN s.status IN ('rejected', 'merged') OR s.withdrawn_at IS NOT NULL THEN 'none'
           WHEN s.status = 'suspended' AND s.correction_due_at <= now() THEN 'none'
           WHEN s.step_overrun THEN 'red'
           WHEN s.step_due_at IS NOT NULL AND now() >= s.step_due_at THEN 'red'
           WHEN s.resolved_at IS NOT NULL THEN CASE WHEN s.on_time IS FALSE THEN 'red' ELSE 'none' END
           WHEN s.due_at IS NOT NULL AND now() >= s.due_at THEN 'red'
           WHEN s.yellow_at IS NOT NULL AND now() >= s.yellow_at THEN 'yellow'
           ELSE 'none'
       END AS warning_level,
       s.yellow_at,
       CASE WHEN s.withdrawn_at IS NULL AND s.status = 'suspended' AND s.correction_due_at <= now()
            THEN 'withdrawn' ELSE s.outcome END AS outcome,
       s.satisfaction, s.followed_up, s.reopen_count, s.return_count,
       s.extension_count, s.suspended_days, s.time_limit, s.time_limit_unit, s.working_days,
       s.step_overrun, s.calendar_gap, s.merged_into, s.review_level, s.review_decision,
       s.petitioner_pseudonym, s.event_count, s.last_event_at,
       s.cycle, s.cycle_started_at, s.due_department, s.yellow_department, s.step_due_at, s.step_due_cause,
       s.step_due_department, s.extension_requested, s.extension_excess, s.legal_time_limit,
       s.promise_violation, s.correction_due_at,
       coalesce(s.withdrawn_at, CASE WHEN s.status = 'suspended' AND s.correction_due_at <= now()
                                     THEN s.correction_due_at END) AS withdrawn_at
FROM casetrack.case_state s
JOIN casetrack.live_generations g ON g.projection = 'case' AND g.generation = s.generation;
COMMENT ON VIEW public.case_status IS
    'One row per case (live generation), its current 重办 cycle. warning_level follows the wall clock.';
"""

# One row per case x cycle: the earlier cycles from past_cycles, then the current one from the row itself.
CASE_CYCLES = """
CREATE VIEW public.case_cycles AS
SELECT c.case_id, c.channel, c.category, c.region, c.status, p.cycle, false AS current,
       p.started_at, p.ended_at, p.department, p.due_at, p.yellow_at, p.resolved_at, p.on_time,
       p.working_days, p.satisfaction, p.followed_up, p.calendar_gap, p.time_limit, p.time_limit_unit,
       p.extension_excess
FROM public.case_status c
JOIN casetrack.case_state s ON s.case_id = c.case_id
JOIN casetrack.live_generations g ON g.projection = 'case' AND g.generation = s.generation
CROSS JOIN LATERAL jsonb_to_recordset(s.past_cycles) AS p(
    cycle integer, started_at timestamptz, ended_at timestamptz, department text, due_at timestamptz,
    yellow_at timestamptz, resolved_at timestamptz, on_time boolean, working_days numeric(8, 2),
    satisfaction text, followed_up boolean, calendar_gap boolean, time_limit integer, time_limit_unit text,
    extension_excess integer)
WHERE s.past_cycles IS NOT NULL
UNION ALL
SELECT c.case_id, c.channel, c.category, c.region, c.status, c.cycle, true,
       c.cycle_started_at, NULL, c.department, c.due_at, c.yellow_at, c.resolved_at, c.on_time,
       c.working_days, c.satisfaction, c.followed_up, c.calendar_gap, c.time_limit, c.time_limit_unit,
       c.extension_excess
FROM public.case_status c;
COMMENT ON VIEW public.case_cycles IS
    'One row per case x handling cycle (a 重办 starts a new one): see docs/analysts.md.';
"""

# Months are Asia/Shanghai calendar months; a limit (due_at, step_due_at) is 24:00 of its last day, so its
# month is the month of (limit - 1 microsecond).

# The current cycle's red and yellow and a pending step past its limit follow the wall clock; the rest
# comes from case_state.cards. Rejected and merged cases carry no card (as their warning_level is none).
PENALTY_ITEMS = """
CREATE VIEW public.penalty_items AS
WITH pts AS (
    SELECT coalesce(max(p.supervision_notice_points), -2) AS supervision,
           coalesce(max(p.yellow_points), -5) AS yellow,
           coalesce(max(p.red_points), -10) AS red,
           coalesce(max(p.violation_points), -5) AS violation,
           coalesce(max(p.overdue_rectification_points), 0) AS rectification
    FROM casetrack.scorecard_settings p
),
c AS (
    SELECT c.*, c.due_at IS NOT NULL AND (c.on_time IS FALSE OR (c.resolved_at IS NULL AND now() >= c.due_at))
               AS overdue
    FROM public.case_status c
    WHERE c.status NOT IN ('rejected', 'merged') AND c.withdrawn_at IS NULL
),
items AS (
    SELECT 'case' AS aggregate, c.case_id AS subject_id, c.cycle, c.due_department AS department,
           'overdue' AS cause, 'red' AS card, date_trunc('month', (c.due_at - interval '1 microsecond') AT TIME ZONE 'Asia/Shanghai')::date AS month,
           c.due_at AS earned_at, c.calendar_gap AS estimated
    FROM c WHERE c.overdue
    UNION ALL
    SELECT 'case', c.case_id, c.cycle, c.yellow_department, 'yellow', 'yellow',
           date_trunc('month', (c.yellow_at) AT TIME ZONE 'Asia/Shanghai')::date, c.yellow_at, c.calendar_gap
    FROM c WHERE NOT c.overdue AND c.yellow_at <= coalesce(c.resolved_at, now())
    UNION ALL
    SELECT 'case', c.case_id, c.cycle, c.step_due_department, c.step_due_cause, 'red',
           date_trunc('month', (c.step_due_at - interval '1 microsecond') AT TIME ZONE 'Asia/Shanghai')::date, c.step_due_at, false
    FROM c WHERE now() >= c.step_due_at
    UNION ALL
    SELECT 'case', s.case_id, x.cycle, x.department, x.cause, x.card, x.month, x.at, x.estimated
    FROM casetrack.case_state s
    JOIN casetrack.live_generations g ON g.projection = 'case' AND g.generation = s.generation
    CROSS JOIN LATERAL jsonb_to_recordset(s.cards) AS x(
        cycle integer, cause text, card text, department text, month date, at timestamptz, estimated boolean)
    WHERE s.cards IS NOT NULL AND s.status NOT IN ('rejected', 'merged') AND s.withdrawn_at IS NULL
    UNION ALL
    SELECT 'supervision', s.order_id, NULL, d.department, 'supervision_overdue', 'supervision',
           date_trunc('month', s.due_date::timestamp)::date, s.due_at, false
    FROM public.supervision_orders s CROSS JOIN LATERAL unnest(s.departments) AS d(department)
    WHERE s.overdue
    UNION ALL
    SELECT 'rectification', r.item_id, NULL, r.department, 'rectification_overdue', 'rectification',
           date_trunc('month', r.deadline::timestamp)::date, r.deadline_at, false
    FROM public.rectification_items r
    WHERE r.overdue
)
SELECT i.aggregate, i.subject_id, i.cycle, i.department, i.cause, i.card, i.month, i.earned_at, i.estimated,
       (CASE i.card WHEN 'red' THEN p.red WHEN 'yellow' THEN p.yellow WHEN 'violation' THEN p.violation
                    WHEN 'supervision' THEN p.supervision ELSE p.rectification END)::numeric(10, 2) AS points
FROM items i CROSS JOIN pts p;
COMMENT ON VIEW public.penalty_items IS
    'One row per card (red, yellow, violation, overdue order or item): department_scorecard sums it. See docs/analysts.md.';
"""

DEPARTMENT_SCORECARD = """
CREATE OR REPLACE VIEW public.department_scorecard AS
WITH facts AS (
    SELECT k.department, date_trunc('month', (k.resolved_at) AT TIME ZONE 'Asia/Shanghai')::date AS month, 1 AS handled, NULL::text AS card,
           0::numeric AS points, false AS estimated
    FROM public.case_cycles k
    WHERE k.resolved_at IS NOT NULL
    UNION ALL
    SELECT i.department, i.month, 0, i.card, i.points, i.estimated
    FROM public.penalty_items i
)
SELECT f.department, f.month,
       sum(f.handled)::integer AS cases_handled,
       count(*) FILTER (WHERE f.card = 'yellow')::integer AS yellow_count,
       count(*) FILTER (WHERE f.card = 'red')::integer AS red_count,
       count(*) FILTER (WHERE f.card = 'supervision')::integer AS overdue_supervision_orders,
       count(*) FILTER (WHERE f.card = 'rectification')::integer AS overdue_rectification_items,
       sum(f.points)::numeric(10, 2) AS penalty_score,
       count(*) FILTER (WHERE f.card = 'violation')::integer AS violation_count,
       count(*) FILTER (WHERE f.estimated)::integer AS estimated_cards
FROM facts f
GROUP BY f.department, f.month;
COMMENT ON VIEW public.department_scorecard IS
    'Cards and penalty score per department x month: the sums of penalty_items. See docs/analysts.md.';
"""

# Resolutions and deadlines are counted per cycle (case_cycles), each in its own month; reopens in the
# month they happened, against the department whose resolution was reopened.
COMPLETION_RATES = """
CREATE OR REPLACE VIEW public.completion_rates AS
WITH knobs AS (
    SELECT coalesce((SELECT k.basically_satisfied_counts FROM casetrack.kpi_settings k), true) AS basic_ok
),
facts AS (
    SELECT date_trunc('month', (c.received_at) AT TIME ZONE 'Asia/Shanghai')::date AS month, c.channel, c.department,
           1 AS received,
           -- resolved at least once (a reopen does not take a case out of its cohort's 办结 count)
           CASE WHEN c.resolved_at IS NOT NULL OR c.reopen_count > 0 THEN 1 ELSE 0 END AS received_resolved,
           CASE WHEN c.status = 'rejected' THEN 1 ELSE 0 END AS rejected,
           CASE WHEN c.status = 'merged' THEN 1 ELSE 0 END AS merged,
           CASE WHEN c.return_count > 0 THEN 1 ELSE 0 END AS returned,
           0 AS resolved, 0 AS resolved_on_time, 0 AS followed_up, 0 AS rated, 0 AS satisfied,
           0 AS reopened, NULL::numeric AS working_days,
           0 AS due, 0 AS resolved_on_schedule, 0 AS closed,
           CASE WHEN c.withdrawn_at IS NOT NULL THEN 1 ELSE 0 END AS withdrawn,
           NULL::text AS estimated
    FROM public.case_status c
    WHERE c.received_at IS NOT NULL
    UNION ALL
    SELECT date_trunc('month', (k.resolved_at) AT TIME ZONE 'Asia/Shanghai')::date, k.channel, k.department,
           0, 0, 0, 0, 0,
           1,
           CASE WHEN k.on_time THEN 1 ELSE 0 END,
           CASE WHEN k.followed_up THEN 1 ELSE 0 END,
           CASE WHEN k.satisfaction <> 'unreachable' THEN 1 ELSE 0 END,
           CASE WHEN k.satisfaction IN ('very_satisfied', 'satisfied')
                  OR (k.satisfaction = 'basically_satisfied' AND n.basic_ok) THEN 1 ELSE 0 END,
           0, k.working_days,
           0, 0, 0, 0,
           CASE WHEN k.calendar_gap THEN k.case_id || '#' || k.cycle END
    FROM public.case_cycles k CROSS JOIN knobs n
    WHERE k.resolved_at IS NOT NULL
    UNION ALL
    SELECT date_trunc('month', (k.ended_at) AT TIME ZONE 'Asia/Shanghai')::date, k.channel, k.department,
           0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
           1, NULL, 0, 0, 0, 0, NULL
    FROM public.case_cycles k
    WHERE k.ended_at IS NOT NULL
    UNION ALL
    SELECT date_trunc('month', (k.due_at - interval '1 microsecond') AT TIME ZONE 'Asia/Shanghai')::date, k.channel, k.department,
           0, 0, 0, 0, 0,
           0, 0, 0, 0, 0, 0, NULL,
           1,
           CASE WHEN k.on_time THEN 1 ELSE 0 END,
           CASE WHEN k.current AND k.status = 'closed' THEN 1 ELSE 0 END,
           0,
           CASE WHEN k.calendar_gap THEN k.case_id || '#' || k.cycle END
    FROM public.case_cycles k
    JOIN public.case_status c ON c.case_id = k.case_id
    WHERE k.due_at IS NOT NULL AND k.status NOT IN ('rejected', 'merged') AND c.withdrawn_at IS NULL
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
           sum(f.closed)::integer AS closed,
           sum(f.withdrawn)::integer AS withdrawn,
           count(DISTINCT f.estimated)::integer AS estimated_deadlines
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
       s.avg_working_days, s.median_working_days,
       s.withdrawn, s.estimated_deadlines
FROM sums s;
COMMENT ON VIEW public.completion_rates IS
    'KPIs by month x channel x department, resolutions counted per 重办 cycle: see docs/analysts.md.';
"""

# As 0002 defined it, except that resolutions are counted per cycle (case_cycles), each in its own month.
PETITION_TALLIES = """
CREATE OR REPLACE VIEW public.petition_tallies AS
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
           CASE WHEN p.resolved_at IS NOT NULL OR p.reopen_count > 0 THEN 1 ELSE 0 END AS received_resolved,
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
    SELECT date_trunc('month', k.resolved_at AT TIME ZONE 'Asia/Shanghai')::date,
           k.channel, k.category, k.region,
           0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
           1, CASE WHEN k.on_time THEN 1 ELSE 0 END
    FROM public.case_cycles k
    WHERE k.channel IN ('letter', 'visit', 'online_petition') AND k.resolved_at IS NOT NULL
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
    'Petitions (letter, visit, online_petition) by month x channel x category x region: resolutions counted per 重办 cycle, see docs/analysts.md.';
"""

GRANTS = """
GRANT SELECT ON public.case_cycles, public.penalty_items TO casetrack_analyst, casetrack_officer, casetrack_writer;
"""


# --- downgrade: the views exactly as 0002, 0007 and 0008 defined them ---------------------------------

DOWNGRADE_DROP = """
DROP VIEW IF EXISTS public.department_scorecard, public.penalty_items, public.completion_rates,
    public.petition_tallies, public.case_cycles, public.repeat_callers, public.case_status;
"""

DOWNGRADE_CASE_STATUS = """
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

DOWNGRADE_COMPLETION_RATES = """
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

DOWNGRADE_PETITION_TALLIES = """
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

DOWNGRADE_DEPARTMENT_SCORECARD = """
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

DOWNGRADE_REPEAT_CALLERS = """
CREATE VIEW public.repeat_callers AS
WITH calls AS (
    SELECT c.case_id, c.channel, c.category, c.received_at,
           CASE WHEN left(c.petitioner_pseudonym, 2) = 'p_' THEN c.petitioner_pseudonym END AS caller
    FROM public.case_status c
    WHERE c.channel IN ('hotline_12345', 'hotline_12319', 'mayor_mailbox') AND c.received_at IS NOT NULL
),
r AS (
    SELECT k.*,
           k.caller IS NOT NULL
               AND row_number() OVER (PARTITION BY k.caller ORDER BY k.received_at, k.case_id) > 1 AS is_repeat
    FROM calls k
)
SELECT date_trunc('month', r.received_at AT TIME ZONE 'Asia/Shanghai')::date AS month,
       r.channel, r.category,
       count(*)::integer AS cases,
       count(*) FILTER (WHERE r.caller IS NULL)::integer AS unidentified,
       count(DISTINCT r.caller)::integer AS callers,
       count(DISTINCT r.caller) FILTER (WHERE r.is_repeat)::integer AS repeat_callers,
       count(*) FILTER (WHERE r.is_repeat)::integer AS repeat_calls,
       round((count(*) FILTER (WHERE r.is_repeat))::numeric / nullif(count(*), 0), 4) AS repeat_rate
FROM r
GROUP BY 1, 2, 3;
COMMENT ON VIEW public.repeat_callers IS
    'Hotline and mailbox cases by month x channel x category, repeat calls by pseudonym: see the README (Projections for analysts).';
"""

DOWNGRADE_GRANTS_AND_COLUMNS = """
GRANT SELECT ON public.case_status, public.completion_rates, public.petition_tallies,
    public.department_scorecard, public.repeat_callers TO casetrack_analyst, casetrack_officer, casetrack_writer;
ALTER TABLE casetrack.scorecard_settings DROP COLUMN violation_points;
ALTER TABLE casetrack.case_state DROP COLUMN cycle, DROP COLUMN cycle_started_at, DROP COLUMN due_department,
    DROP COLUMN yellow_department, DROP COLUMN step_due_cause, DROP COLUMN step_due_department,
    DROP COLUMN extension_requested, DROP COLUMN extension_excess, DROP COLUMN legal_time_limit,
    DROP COLUMN promise_violation, DROP COLUMN correction_due_at, DROP COLUMN cards, DROP COLUMN past_cycles,
    DROP COLUMN withdrawn_at;
"""


def upgrade() -> None:
    op.execute(COLUMNS)
    op.execute(CASE_STATUS)
    op.execute(CASE_CYCLES)
    op.execute(PENALTY_ITEMS)
    op.execute(DEPARTMENT_SCORECARD)
    op.execute(COMPLETION_RATES)
    op.execute(PETITION_TALLIES)
    op.execute(GRANTS)


def downgrade() -> None:
    """Back to 0009: the views as 0002/0007/0008 defined them, the new columns dropped."""
    op.execute(DOWNGRADE_DROP)
    op.execute(DOWNGRADE_CASE_STATUS)
    op.execute(DOWNGRADE_COMPLETION_RATES)
    op.execute(DOWNGRADE_PETITION_TALLIES)
    op.execute(DOWNGRADE_DEPARTMENT_SCORECARD)
    op.execute(DOWNGRADE_REPEAT_CALLERS)
    op.execute(DOWNGRADE_GRANTS_AND_COLUMNS)
