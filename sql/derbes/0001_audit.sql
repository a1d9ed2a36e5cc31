-- derbes' own schema, version 1: the append-only, hash-chained audit trail.
-- Every mutating command writes one row here in the same transaction as its change.

CREATE TABLE derbes.audit_log (
    seq         bigint      PRIMARY KEY,           -- 1, 2, 3, ... with no gaps
    at          timestamptz NOT NULL,
    operator    text        NOT NULL,
    action      text        NOT NULL,
    ticket      text,
    subject_ref text,                              -- "<table>:<key>", never a personal value
    counts      jsonb       NOT NULL DEFAULT '{}',
    fields      text[]      NOT NULL DEFAULT '{}',
    detail      jsonb       NOT NULL DEFAULT '{}',
    prev_hash   bytea       NOT NULL,              -- row_hash of seq - 1 (32 zero bytes for seq 1)
    row_hash    bytea       NOT NULL               -- sha256(prev_hash || canonical row)
);
CREATE INDEX audit_log_at_idx ON derbes.audit_log (at);
CREATE INDEX audit_log_ticket_idx ON derbes.audit_log (ticket);

-- Append-only: edits and deletes are refused. A superuser can still get around this
-- (session_replication_role, dropping the trigger); `derbes audit verify` finds that.
CREATE FUNCTION derbes.audit_log_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'derbes.audit_log is append-only: % is not allowed', TG_OP
        USING HINT = 'audit rows are never changed; record a correction as a new row';
END;
$$;

CREATE TRIGGER audit_log_append_only
    BEFORE UPDATE OR DELETE ON derbes.audit_log
    FOR EACH ROW EXECUTE FUNCTION derbes.audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate
    BEFORE TRUNCATE ON derbes.audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION derbes.audit_log_append_only();
