"""Personal data: per-person keys, erasure audit, officer view

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22

What is created here (see the README's 'Personal data' section):

* ``casetrack.person_keys``: one row per person (pseudonym or ``a_`` id). A live row holds the data key
  (raw, or wrapped under the key-encryption key named by ``kek_id``); a forgotten row holds no key and the
  time it was forgotten. Key and tombstone share the primary key on purpose: a key creation and a
  destruction racing for the same person are serialised by the unique index, whatever the snapshots.
  ``casetrack.forgotten_persons`` is a view of the tombstones.
* ``casetrack.erasure_audit``: who asked to forget whom (by pseudonym), when and why. Append-only.
* ``casetrack.secrets``: the generated pseudonym key (when none is configured) and its fingerprint.
* ``public.case_petitioners``: the sealed petitioner of each case, for case officers only.
* ``casetrack.petitioner_keys(case_id)``: the data keys of one case's petitioners, for officers only;
  every call is logged in ``casetrack.identity_access_log``. Decryption happens in Python
  (``casetrack officer-lookup``), because PostgreSQL has no AES-GCM.

Roles: ``casetrack_writer`` (the consumer and ``casetrack forget``) reads and writes keys; ``casetrack_sealer``
(producers that encrypt at the source) may read and create keys but never destroy them;
``casetrack_officer`` reads the view and calls the function; ``casetrack_analyst`` gets nothing here.
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

ROLES = """
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'casetrack_sealer') THEN
        CREATE ROLE casetrack_sealer NOLOGIN;
    END IF;
END
$$;
"""

TABLES = """
CREATE TABLE casetrack.person_keys (
    person       text        PRIMARY KEY CHECK (length(person) BETWEEN 1 AND 200),
    key          bytea       CHECK (length(key) IN (32, 60)),  -- raw, or nonce + wrapped key + tag
    kek_id       text,                                         -- NULL: raw key (no KEK configured)
    created_at   timestamptz NOT NULL DEFAULT now(),
    forgotten_at timestamptz,
    CONSTRAINT person_keys_key_xor_tombstone CHECK ((key IS NULL) = (forgotten_at IS NOT NULL)),
    CONSTRAINT person_keys_kek_only_with_key CHECK (key IS NOT NULL OR kek_id IS NULL)
);
COMMENT ON TABLE casetrack.person_keys IS
    'Per-person data keys (crypto-shredding). key NULL + forgotten_at = the person was forgotten. Never readable by analysts.';

-- Forgetting is permanent: no key ever comes back for a tombstoned person, and no tombstone is removed.
CREATE FUNCTION casetrack.person_keys_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF OLD.forgotten_at IS NOT NULL THEN
            RAISE EXCEPTION 'a tombstone in casetrack.person_keys is permanent'
                USING ERRCODE = 'insufficient_privilege';
        END IF;
        RETURN OLD;
    END IF;
    IF OLD.forgotten_at IS NOT NULL AND (NEW.key IS NOT NULL OR NEW.forgotten_at IS NULL) THEN
        RAISE EXCEPTION 'a forgotten person cannot get a key again'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF NEW.person IS DISTINCT FROM OLD.person THEN
        RAISE EXCEPTION 'the person of a key cannot change' USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER person_keys_guard BEFORE UPDATE OR DELETE ON casetrack.person_keys
    FOR EACH ROW EXECUTE FUNCTION casetrack.person_keys_guard();

CREATE VIEW casetrack.forgotten_persons AS
SELECT person, forgotten_at FROM casetrack.person_keys WHERE forgotten_at IS NOT NULL;

CREATE TABLE casetrack.erasure_audit (
    audit_id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    person       text        NOT NULL,
    requested_by text        NOT NULL CHECK (btrim(requested_by) <> ''),
    reason       text        NOT NULL CHECK (btrim(reason) <> ''),
    key_existed  boolean     NOT NULL,
    db_user      text        NOT NULL DEFAULT session_user,
    at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX erasure_audit_person ON casetrack.erasure_audit (person);
CREATE TRIGGER erasure_audit_append_only BEFORE UPDATE OR DELETE ON casetrack.erasure_audit
    FOR EACH ROW EXECUTE FUNCTION casetrack.refuse_change();
CREATE TRIGGER erasure_audit_no_truncate BEFORE TRUNCATE ON casetrack.erasure_audit
    FOR EACH STATEMENT EXECUTE FUNCTION casetrack.refuse_change();
COMMENT ON TABLE casetrack.erasure_audit IS 'One row per destroyed (or pre-emptively tombstoned) person key. Append-only.';

CREATE TABLE casetrack.secrets (
    name       text        PRIMARY KEY,
    value      bytea       NOT NULL,
    kek_id     text,
    created_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE casetrack.secrets IS
    'pseudonym_key: generated when CASETRACK_PSEUDONYM_KEY is unset (production should supply it); pseudonym_key_check: its fingerprint.';
CREATE TRIGGER secrets_append_only BEFORE UPDATE OR DELETE ON casetrack.secrets
    FOR EACH ROW EXECUTE FUNCTION casetrack.refuse_change();

CREATE TABLE casetrack.identity_access_log (
    access_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    case_id   text        NOT NULL,
    db_user   text        NOT NULL DEFAULT session_user,
    at        timestamptz NOT NULL DEFAULT now()
);
CREATE TRIGGER identity_access_log_append_only BEFORE UPDATE OR DELETE ON casetrack.identity_access_log
    FOR EACH ROW EXECUTE FUNCTION casetrack.refuse_change();
"""

OFFICER_ACCESS = """
-- The sealed petitioner of every case, as the event store holds it: ciphertext and pseudonym, no plaintext.
CREATE VIEW public.case_petitioners AS
SELECT e.subject                              AS case_id,
       e.event_id,
       e.time                                 AS received_at,
       e.data -> 'petitioner' ->> 'person'    AS person,
       (e.data -> 'petitioner' ? 'erased') OR k.forgotten_at IS NOT NULL AS erased,
       e.data -> 'petitioner'                 AS sealed
FROM casetrack.event_store e
LEFT JOIN casetrack.person_keys k ON k.person = e.data -> 'petitioner' ->> 'person'
WHERE e.type = 'case.received' AND e.data ? 'petitioner';
COMMENT ON VIEW public.case_petitioners IS
    'Case officers only: sealed petitioners (decrypt with `casetrack officer-lookup CASE_ID`). Not for analysts.';

-- The keys needed to open one case's petitioners. SECURITY DEFINER so officers never read the key table
-- itself; each call leaves a row in identity_access_log (session_user is the officer's login).
CREATE FUNCTION casetrack.petitioner_keys(p_case_id text)
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

GRANTS = """
REVOKE ALL ON casetrack.person_keys, casetrack.forgotten_persons, casetrack.erasure_audit, casetrack.secrets,
    casetrack.identity_access_log, public.case_petitioners FROM PUBLIC;
REVOKE ALL ON casetrack.person_keys, casetrack.forgotten_persons, casetrack.erasure_audit, casetrack.secrets,
    casetrack.identity_access_log, public.case_petitioners FROM casetrack_analyst;
REVOKE ALL ON FUNCTION casetrack.petitioner_keys(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION casetrack.person_keys_guard() FROM PUBLIC;

GRANT SELECT, INSERT, UPDATE ON casetrack.person_keys TO casetrack_writer;
GRANT SELECT ON casetrack.forgotten_persons TO casetrack_writer;
GRANT SELECT, INSERT ON casetrack.erasure_audit, casetrack.secrets TO casetrack_writer;
GRANT SELECT ON casetrack.identity_access_log TO casetrack_writer;

GRANT USAGE ON SCHEMA casetrack TO casetrack_sealer;
GRANT SELECT, INSERT ON casetrack.person_keys TO casetrack_sealer;
GRANT SELECT ON casetrack.secrets TO casetrack_sealer;

GRANT USAGE ON SCHEMA casetrack TO casetrack_officer;
GRANT SELECT ON public.case_petitioners TO casetrack_officer;
GRANT EXECUTE ON FUNCTION casetrack.petitioner_keys(text) TO casetrack_officer;
"""


def upgrade() -> None:
    op.execute(ROLES)
    op.execute(TABLES)
    op.execute(OFFICER_ACCESS)
    op.execute(GRANTS)


def downgrade() -> None:
    # Dropping person_keys destroys every data key: all sealed petitioners become unreadable for good.
    op.execute("DROP FUNCTION IF EXISTS casetrack.petitioner_keys(text)")
    op.execute("DROP VIEW IF EXISTS public.case_petitioners")
    op.execute("DROP VIEW IF EXISTS casetrack.forgotten_persons")
    op.execute("DROP TABLE IF EXISTS casetrack.identity_access_log")
    op.execute("DROP TABLE IF EXISTS casetrack.secrets")
    op.execute("DROP TABLE IF EXISTS casetrack.erasure_audit")
    op.execute("DROP TABLE IF EXISTS casetrack.person_keys")
    op.execute("DROP FUNCTION IF EXISTS casetrack.person_keys_guard()")
