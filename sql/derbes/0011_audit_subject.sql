-- derbes' own schema, version 11: the audit rows of one subject found by index (a
-- subject anonymised once is not anonymised again by mistake; its history is read
-- without scanning the whole log).

CREATE INDEX audit_log_subject_idx ON derbes.audit_log (subject_ref, action)
    WHERE subject_ref IS NOT NULL;
