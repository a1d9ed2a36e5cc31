-- derbes' own schema, version 4: the database role behind each audit row.
-- `operator` is who the person running derbes declares (--operator, or the OS user);
-- `db_session_user` is the role the database authenticated for the session
-- (session_user), which the operator does not choose. Rows written before this
-- version hold NULL; a row's hash covers the column only when it is set, so those
-- rows keep verifying.

ALTER TABLE derbes.audit_log ADD COLUMN db_session_user text;
