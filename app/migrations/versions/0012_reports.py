"""Published reports (issue 19): frozen office reports and "as of" cuts over the event store.

* "As of" means **recorded by**: ``casetrack.event_store.stored_at`` (since 0001, the database's ``now()`` when
  the consumer stored the event) is the recorded-at moment. Every event ever stored has it, so a cut at any
  moment since the store began is reproducible. A BRIN index on it suits the append-only, monotonic column.
  A database rebuilt from Kafka into an empty event store stamps its events anew; cuts before that rebuild
  are then not reproducible (the frozen reports still are: they keep their content).
* ``casetrack.published_reports``: one row per published report (kind, period, as-of moment, parameters,
  content as JSON, its SHA-256, who and when). Append-only (triggers refuse UPDATE/DELETE/TRUNCATE), so reading
  a frozen report never changes. Publishing the same (kind, period, params) again makes a new ``version``; the
  first is never replaced (see docs/analysts.md, 'Reports').
* ``public.published_reports``: the analysts' view of it (aggregate figures only, no personal data).
* Role ``casetrack_reporter`` (NOLOGIN group): reads the event store for the cuts and publishes reports.
* Several petitioners on one case (``case.received`` ``co_petitioners``, each sealed under their own key by
  :func:`privacy.event_sealing.seal_events`): ``public.case_petitioners`` and ``casetrack.petitioner_keys`` list
  them beside the first, so ``casetrack officer-lookup`` opens them and ``forget --case`` forgets them.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04
"""

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

UPGRADE = """
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'casetrack_reporter') THEN
        CREATE ROLE casetrack_reporter NOLOGIN;
    END IF;
END
$$;

CREATE INDEX event_store_stored_at_brin ON casetrack.event_store USING brin (stored_at);
COMMENT ON COLUMN casetrack.event_store.stored_at IS
    'recorded-at: when casetrack stored the event (transaction time); "as of" report cuts filter on it';

CREATE TABLE casetrack.published_reports (
    report_id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind          text        NOT NULL CHECK (kind ~ '^[a-z][a-z0-9-]{0,40}$'),
    period        text        NOT NULL CHECK (length(period) BETWEEN 1 AND 60),
    period_start  date        NOT NULL,
    period_end    date        NOT NULL CHECK (period_end >= period_start),
    as_of         timestamptz NOT NULL,
    params        jsonb       NOT NULL DEFAULT '{}'::jsonb,
    version       integer     NOT NULL CHECK (version >= 1),
    content       jsonb       NOT NULL,
    content_text  text        NOT NULL,
    sha256        text        NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    published_at  timestamptz NOT NULL DEFAULT now(),
    published_by  text        NOT NULL CHECK (length(published_by) BETWEEN 1 AND 200),
    UNIQUE (kind, period, params, version),
    CHECK (sha256 = encode(sha256(convert_to(content_text, 'UTF8')), 'hex'))
);
COMMENT ON TABLE casetrack.published_reports IS
    'Frozen reports: content_text is the canonical JSON whose SHA-256 is sha256; append-only';

CREATE FUNCTION casetrack.refuse_report_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'casetrack.published_reports is append-only: % is refused (publish a new version)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER published_reports_append_only BEFORE UPDATE OR DELETE ON casetrack.published_reports
    FOR EACH ROW EXECUTE FUNCTION casetrack.refuse_report_change();
CREATE TRIGGER published_reports_no_truncate BEFORE TRUNCATE ON casetrack.published_reports
    FOR EACH STATEMENT EXECUTE FUNCTION casetrack.refuse_report_change();

CREATE VIEW public.published_reports AS
SELECT report_id, kind, period, period_start, period_end, as_of, params, version, content, sha256,
       published_at, published_by
FROM casetrack.published_reports;
COMMENT ON VIEW public.published_reports IS
    'Frozen office reports (casetrack report publish): figures as of as_of, never changed afterwards';

-- A publication settles its as-of moment before any writing transaction still open (reports.facts); seeing
-- other roles' transactions needs pg_read_all_stats. Granting it needs admin rights: skipped (with a notice)
-- where the migrating role lacks them, and then publications settle against its own sessions only.
DO $$
BEGIN
    GRANT pg_read_all_stats TO casetrack_reporter;
EXCEPTION WHEN insufficient_privilege THEN
    RAISE NOTICE 'casetrack_reporter not granted pg_read_all_stats (needs an admin): see docs/analysts.md';
END
$$;
GRANT USAGE ON SCHEMA casetrack TO casetrack_reporter;
GRANT SELECT ON public.alembic_version TO casetrack_reporter;  -- the CLI checks the schema revision first
GRANT SELECT ON casetrack.event_store TO casetrack_reporter;
GRANT SELECT, INSERT ON casetrack.published_reports TO casetrack_reporter;
GRANT SELECT ON public.published_reports TO casetrack_analyst, casetrack_officer, casetrack_reporter;
"""

CO_PETITIONERS = """
CREATE OR REPLACE VIEW public.case_petitioners AS
SELECT e.subject                              AS case_id,
       e.event_id,
       e.time                                 AS received_at,
       p.value ->> 'person'                   AS person,
       (p.value ? 'erased') OR k.forgotten_at IS NOT NULL AS erased,
       p.value                                AS sealed
FROM casetrack.event_store e
CROSS JOIN LATERAL (
    SELECT e.data -> 'petitioner' AS value WHERE e.data ? 'petitioner'
    UNION ALL
    SELECT c.value FROM jsonb_array_elements(coalesce(e.data -> 'co_petitioners', '[]'::jsonb)) c
) p
LEFT JOIN casetrack.person_keys k ON k.person = p.value ->> 'person'
WHERE e.type = 'case.received' AND (e.data ? 'petitioner' OR e.data ? 'co_petitioners');

CREATE OR REPLACE FUNCTION casetrack.petitioner_keys(p_case_id text)
RETURNS TABLE (person text, key bytea, kek_id text)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    INSERT INTO casetrack.identity_access_log (case_id) VALUES (p_case_id);
    RETURN QUERY
        SELECT k.person, k.key, k.kek_id
        FROM casetrack.person_keys k
        WHERE k.key IS NOT NULL AND k.person IN (
            SELECT p.value ->> 'person' FROM casetrack.event_store e
            CROSS JOIN LATERAL (
                SELECT e.data -> 'petitioner' AS value
                UNION ALL
                SELECT c.value FROM jsonb_array_elements(coalesce(e.data -> 'co_petitioners', '[]'::jsonb)) c
            ) p
            WHERE e.aggregate = 'case' AND e.subject = p_case_id AND e.type = 'case.received');
END
$$;
"""

ONE_PETITIONER = """
CREATE OR REPLACE VIEW public.case_petitioners AS
SELECT e.subject                              AS case_id,
       e.event_id,
       e.time                                 AS received_at,
       e.data -> 'petitioner' ->> 'person'    AS person,
       (e.data -> 'petitioner' ? 'erased') OR k.forgotten_at IS NOT NULL AS erased,
       e.data -> 'petitioner'                 AS sealed
FROM casetrack.event_store e
LEFT JOIN casetrack.person_keys k ON k.person = e.data -> 'petitioner' ->> 'person'
WHERE e.type = 'case.received' AND e.data ? 'petitioner';

CREATE OR REPLACE FUNCTION casetrack.petitioner_keys(p_case_id text)
RETURNS TABLE (person text, key bytea, kek_id text)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    INSERT INTO casetrack.identity_access_log (case_id) VALUES (p_case_id);
    RETURN QUERY
        SELECT k.person, k.key, k.kek_id
        FROM casetrack.person_keys k
        WHERE k.key IS NOT NULL AND k.person IN (
            SELECT e.data -> 'petitioner' ->> 'person' FROM casetrack.event_store e
            WHERE e.aggregate = 'case' AND e.subject = p_case_id AND e.type = 'case.received');
END
$$;
"""

DOWNGRADE = """
REVOKE ALL ON public.alembic_version, casetrack.event_store FROM casetrack_reporter;
REVOKE USAGE ON SCHEMA casetrack FROM casetrack_reporter;
DROP VIEW IF EXISTS public.published_reports;
DROP TABLE IF EXISTS casetrack.published_reports;
DROP FUNCTION IF EXISTS casetrack.refuse_report_change();
DROP INDEX IF EXISTS casetrack.event_store_stored_at_brin;
COMMENT ON COLUMN casetrack.event_store.stored_at IS NULL;
"""


def upgrade() -> None:
    op.execute(UPGRADE)
    op.execute(CO_PETITIONERS)


def downgrade() -> None:
    op.execute(ONE_PETITIONER)
    op.execute(DOWNGRADE)
