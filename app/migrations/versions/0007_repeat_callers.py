"""Repeat callers: the analysts' view public.repeat_callers

Issue 7 asks for repeat-caller counts beside the repeat-petition counts of petition_tallies, both by the
stable pseudonym (``case_status.petitioner_pseudonym``) and never by identity. The view counts, by month x
channel x category, the cases of the citizen lines, how many distinct callers made them, and how many
cases came from a caller who had called before.

Which channels are "calls": ``hotline_12345``, ``hotline_12319`` and ``mayor_mailbox``, the lines through
which a citizen raises a complaint or request (诉求), the ones the 12345 platform merges. The other
non-petition channels are left out on purpose: ``city_management`` cases are reported by the city's
inspectors (监督员上报), ``npc_suggestion`` / ``cppcc_proposal`` come from deputies in their official role,
and a second ``service_center`` application or ``disclosure_request`` is a new application, not a repeat
of a grievance. Counting those people as repeat callers would be wrong. Petitions have their own view.

"Repeat" means exactly what it means for ``petition_tallies.repeat_petitions``: a case is a repeat call
when the same linkable pseudonym has an earlier case (ordered by ``received_at``, then ``case_id``) among
the same family of channels, at any time before, not only within the month. The two families are
disjoint: a petition never makes a call a repeat, and a call never makes a petition one. Only ``p_``
pseudonyms link; a name-only caller's ``a_`` person is unique per event, so it is never a repeat (in
petition_tallies too) and is not counted as a caller here. The view reads public.case_status, so it shows
the live generation only (casetrack.live_generations), and it exposes aggregates only, no pseudonym.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

# The window function runs over every call of the live generation before grouping: a caller's first call
# may lie in an earlier month, or on another line, and still make this month's call a repeat.
REPEAT_CALLERS = """
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

# The same readers as every analysts' view of 0002: analysts, officers and the writer.
GRANTS = """
GRANT SELECT ON public.repeat_callers TO casetrack_analyst, casetrack_officer, casetrack_writer;
"""


def upgrade() -> None:
    op.execute(REPEAT_CALLERS)
    op.execute(GRANTS)


def downgrade() -> None:
    op.execute("DROP VIEW IF EXISTS public.repeat_callers")
