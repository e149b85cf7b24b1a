"""Least privilege for forgetting: ``casetrack_eraser`` destroys keys; the consumer can only create them.

Before, ``casetrack_writer`` served both the consumer and ``casetrack forget``, so a consumer's credentials
could also destroy every person key. Now:

* ``casetrack_writer`` (the consumer, replay, the DLQ tools) keeps SELECT and INSERT on ``person_keys``
  (it creates a key the first time it meets a person) and loses UPDATE (destroying a key) and INSERT on
  ``erasure_audit``;
* ``casetrack_eraser`` (``casetrack forget``) may read, tombstone and destroy keys, write the audit, read the
  pseudonym secret and the schema revision, and, on PostgreSQL 17 and later, VACUUM ``person_keys`` (the
  MAINTAIN privilege), so that dead row versions holding a destroyed key go at once;
* a tombstone (a key-less row) is an erasure too: a trigger refuses to INSERT one unless the session holds
  ``casetrack_eraser`` (a superuser does), so neither the writer nor the sealer can pre-forget anyone.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01
"""

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

UPGRADE = """
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'casetrack_eraser') THEN
        CREATE ROLE casetrack_eraser NOLOGIN;
    END IF;
END
$$;

REVOKE UPDATE ON casetrack.person_keys FROM casetrack_writer;
REVOKE INSERT ON casetrack.erasure_audit FROM casetrack_writer;

GRANT USAGE ON SCHEMA casetrack TO casetrack_eraser;
GRANT SELECT, INSERT, UPDATE ON casetrack.person_keys TO casetrack_eraser;
GRANT SELECT ON casetrack.forgotten_persons TO casetrack_eraser;
GRANT SELECT, INSERT ON casetrack.erasure_audit TO casetrack_eraser;
GRANT SELECT ON casetrack.secrets TO casetrack_eraser;
GRANT SELECT ON public.case_petitioners TO casetrack_eraser;  -- forget --case finds a case's persons
GRANT SELECT ON public.alembic_version TO casetrack_eraser;

DO $$
BEGIN
    IF current_setting('server_version_num')::int >= 170000 THEN
        EXECUTE 'GRANT MAINTAIN ON casetrack.person_keys TO casetrack_eraser';
    END IF;
END
$$;

CREATE FUNCTION casetrack.person_keys_tombstone_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.key IS NULL AND NOT pg_has_role(current_user, 'casetrack_eraser', 'MEMBER') THEN
        RAISE EXCEPTION 'only casetrack_eraser may tombstone a person (casetrack forget)'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END
$$;
REVOKE ALL ON FUNCTION casetrack.person_keys_tombstone_guard() FROM PUBLIC;
CREATE TRIGGER person_keys_tombstone_guard BEFORE INSERT ON casetrack.person_keys
    FOR EACH ROW EXECUTE FUNCTION casetrack.person_keys_tombstone_guard();
"""

DOWNGRADE = """
DROP TRIGGER IF EXISTS person_keys_tombstone_guard ON casetrack.person_keys;
DROP FUNCTION IF EXISTS casetrack.person_keys_tombstone_guard();
REVOKE ALL ON casetrack.person_keys, casetrack.forgotten_persons, casetrack.erasure_audit, casetrack.secrets,
    public.case_petitioners, public.alembic_version FROM casetrack_eraser;
REVOKE USAGE ON SCHEMA casetrack FROM casetrack_eraser;
GRANT UPDATE ON casetrack.person_keys TO casetrack_writer;
GRANT INSERT ON casetrack.erasure_audit TO casetrack_writer;
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
