-- derbes' own schema, version 13: the audit record's seal. With the audit key set
-- (DERBES_AUDIT_KEY or DERBES_AUDIT_KEY_FILE), each record appended carries an
-- HMAC-SHA256, under that key, of its chain hash. The key never reaches the
-- database, so a superuser who edits records and recomputes the chain cannot
-- recompute the seals: `derbes audit verify` with the key finds the rewrite without
-- an anchored head. Records appended without the key have none (NULL).

ALTER TABLE derbes.audit_log ADD COLUMN seal bytea;
