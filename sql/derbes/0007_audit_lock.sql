-- derbes' own schema, version 7: the lock every audit append holds until it commits.
-- An append takes `LOCK TABLE derbes.audit_lock IN EXCLUSIVE MODE` (it conflicts with
-- itself, not with readers), reads the chain head and inserts the next row; the lock
-- is held to commit, so sequence numbers and hashes follow commit order. A table lock,
-- unlike an advisory lock taken by a SELECT, can be taken before a transaction's
-- snapshot: a REPEATABLE READ or SERIALIZABLE change takes it as its first statement,
-- so its snapshot holds every audit row committed before it (the head it appends to).
-- The table holds no row. A role that runs changes needs UPDATE on it (what LOCK TABLE
-- in this mode asks for), never UPDATE on derbes.audit_log.

CREATE TABLE derbes.audit_lock (
    unused boolean,
    CONSTRAINT audit_lock_holds_no_rows CHECK (false)
);
