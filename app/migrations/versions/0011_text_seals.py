"""Free-text personal data: the sealed originals of what was masked in events' texts (issue 18)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04

Events keep their free text with personal data replaced by placeholders (``[电话#1a2b3c4d]``, see
``privacy/text_sealing.py`` and docs/personal-data.md); the originals live here, each sealed with AES-256-GCM
under its person's data key, so ``casetrack forget`` erases them with the key:

* ``casetrack.text_seals``: one row per masked value: the event, the field (``summary``, ``measures.2``), the
  placeholder's position in it, the kind, the person, and the ciphertext (NULL: the person was already
  forgotten when the text was sealed). Written by the consumer (``casetrack_writer``) and by producers that
  seal at the source (``casetrack_sealer``); first write wins (a replay re-seals with new nonces).
* ``public.text_seals``: the same rows with an ``erased`` flag, the ciphertext as a ``sealed`` object (as
  ``public.case_petitioners`` shows petitioners) and the field's masked text, for case officers only.
* ``casetrack.text_keys(aggregate, subject)``: the data keys of one aggregate's masked values, for officers
  only; every call leaves a row in ``casetrack.identity_access_log`` (as ``petitioner_keys`` does; the
  ``case_id`` column holds ``supervision:<id>``/``rectification:<id>`` for the other aggregates).

Analysts get nothing here.
"""

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

UPGRADE = """
CREATE TABLE casetrack.text_seals (
    event_id  text        NOT NULL,
    field     text        NOT NULL,
    ordinal   integer     NOT NULL CHECK (ordinal >= 0),
    aggregate text        NOT NULL CHECK (aggregate IN ('case', 'supervision', 'rectification')),
    subject   text        NOT NULL,
    kind      text        NOT NULL
        CHECK (kind IN ('phone', 'id_number', 'bank_card', 'email', 'plate', 'name')),
    person    text        NOT NULL CHECK (length(person) BETWEEN 1 AND 200),
    nonce     text,
    ct        text,
    sealed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (event_id, field, ordinal),
    CONSTRAINT text_seals_nonce_with_ct CHECK ((nonce IS NULL) = (ct IS NULL))
);
CREATE INDEX text_seals_subject ON casetrack.text_seals (aggregate, subject);
COMMENT ON TABLE casetrack.text_seals IS
    'Originals of personal data masked in events'' free text, sealed per person (see docs/personal-data.md). Never readable by analysts.';

-- sealed: {"nonce", "ct"} as case_petitioners shows a sealed petitioner (NULL: erased when it was sealed);
-- masked_text: the field's text as stored in the event (placeholders in place of the originals).
CREATE VIEW public.text_seals AS
SELECT t.aggregate, t.subject, t.event_id, t.field, t.ordinal, t.kind, t.person,
       t.ct IS NULL OR k.forgotten_at IS NOT NULL AS erased,
       CASE WHEN t.ct IS NOT NULL THEN jsonb_build_object('nonce', t.nonce, 'ct', t.ct) END AS sealed,
       CASE WHEN strpos(t.field, '.') > 0
            THEN e.data -> split_part(t.field, '.', 1) ->> split_part(t.field, '.', 2)::int
            ELSE e.data ->> t.field END AS masked_text
FROM casetrack.text_seals t
LEFT JOIN casetrack.person_keys k ON k.person = t.person
LEFT JOIN casetrack.event_store e ON e.event_id = t.event_id;
COMMENT ON VIEW public.text_seals IS
    'Case officers only: sealed originals of masked free text (open with `casetrack officer-lookup CASE_ID`). Not for analysts.';

CREATE FUNCTION casetrack.text_keys(p_aggregate text, p_subject text)
RETURNS TABLE (person text, key bytea, kek_id text)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    INSERT INTO casetrack.identity_access_log (case_id)
    VALUES (CASE WHEN p_aggregate = 'case' THEN p_subject ELSE p_aggregate || ':' || p_subject END);
    RETURN QUERY
        SELECT k.person, k.key, k.kek_id
        FROM casetrack.person_keys k
        WHERE k.key IS NOT NULL AND k.person IN (
            SELECT t.person FROM casetrack.text_seals t
            WHERE t.aggregate = p_aggregate AND t.subject = p_subject);
END
$$;

REVOKE ALL ON casetrack.text_seals, public.text_seals FROM PUBLIC;
REVOKE ALL ON casetrack.text_seals, public.text_seals FROM casetrack_analyst;
REVOKE ALL ON FUNCTION casetrack.text_keys(text, text) FROM PUBLIC;
GRANT SELECT, INSERT ON casetrack.text_seals TO casetrack_writer;
GRANT INSERT ON casetrack.text_seals TO casetrack_sealer;
GRANT SELECT ON public.text_seals TO casetrack_officer;
GRANT EXECUTE ON FUNCTION casetrack.text_keys(text, text) TO casetrack_officer;
"""

DOWNGRADE = """
DROP FUNCTION IF EXISTS casetrack.text_keys(text, text);
DROP VIEW IF EXISTS public.text_seals;
DROP TABLE IF EXISTS casetrack.text_seals;
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    # Dropping the table loses the sealed originals for good; the events keep their placeholders.
    op.execute(DOWNGRADE)
