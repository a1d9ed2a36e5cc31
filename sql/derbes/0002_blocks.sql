-- derbes' own schema, version 2: the history of account blocks (POLICY.md 5.3, 5.7).
-- One row per subject per block; unblocking fills in the unblock columns of that row.
-- Keys are kept as text so any subject-key type fits; never a personal value here.

CREATE TABLE derbes.blocks (
    id              bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    subject_table   text        NOT NULL,          -- "schema.table" of the subject
    subject_key     text        NOT NULL,          -- the subject's primary key, as text
    reason          text        NOT NULL CHECK (reason IN ('compromised', 'violation', 'fraud', 'other')),
    ticket          text        NOT NULL,
    selector        text        NOT NULL,          -- how the subject was chosen: identity, ip, device
    blocked_by      text        NOT NULL,
    blocked_at      timestamptz NOT NULL DEFAULT now(),
    unblocked_at    timestamptz,
    unblocked_by    text,
    unblock_ticket  text,
    application_ref text,                          -- the subject's written application (5.7)
    CHECK ((unblocked_at IS NULL) = (application_ref IS NULL))
);

-- At most one active block per subject: `blocks --active` reads this index, and it
-- is the last line of defence against two concurrent runs blocking one subject twice.
CREATE UNIQUE INDEX blocks_active_subject_idx
    ON derbes.blocks (subject_table, subject_key) WHERE unblocked_at IS NULL;
CREATE INDEX blocks_subject_idx ON derbes.blocks (subject_table, subject_key);
CREATE INDEX blocks_blocked_at_idx ON derbes.blocks (blocked_at);
