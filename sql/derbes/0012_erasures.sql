-- derbes' own schema, version 12: the erasure ledger. An erased subject stays
-- erased: `erase` records here, in its own transaction, the subject's key and keyed
-- hashes of its identities (never a value), and `archive restore` leaves out the
-- rows of subjects erased after the archive was made. `erase` reads it to say a
-- subject was erased already instead of refusing falsely.

CREATE TABLE derbes.erasures (
    id              bigserial PRIMARY KEY,
    subject_table   text        NOT NULL,
    subject_key     text        NOT NULL,
    identity_hashes text[]      NOT NULL DEFAULT '{}',
    erased_at       timestamptz NOT NULL DEFAULT now(),
    ticket          text        NOT NULL,
    archive_id      text
);
CREATE INDEX erasures_subject_idx ON derbes.erasures (subject_table, subject_key);

-- Append-only, like the audit log: a ledger row is the lender's proof.
CREATE FUNCTION derbes.erasures_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'derbes.erasures is append-only: % is not allowed', TG_OP;
END $$;
CREATE TRIGGER erasures_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON derbes.erasures
    FOR EACH STATEMENT EXECUTE FUNCTION derbes.erasures_append_only();
