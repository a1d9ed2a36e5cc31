-- derbes' own schema, version 8: subjects' requests with their legal deadlines, and
-- personal-data breaches with the deadline for telling the authorised body.
-- A request names its subject as "<table>:<key>", never by an identity in clear.
-- Every mutating derbes command run with --request ID (or --breach ID) records the
-- id in its audit row, so a request's audit rows are what was done for it.

CREATE TABLE derbes.requests (
    id           bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind         text        NOT NULL CHECK (kind IN ('access', 'rectify', 'block', 'destroy',
                                 'withdraw-consent', 'object-automated', 'transfer-notice')),
    subject_ref  text        NOT NULL,               -- "<table>:<key>" of the subject
    received_on  date        NOT NULL,               -- the day the request reached the controller
    channel      text        CHECK (channel IN ('email', 'call', 'office')),
    jurisdiction text        NOT NULL DEFAULT 'kz' CHECK (jurisdiction IN ('kz', 'gdpr')),
    days         integer,                            -- working days allowed (kz), NULL for gdpr
    due_on       date        NOT NULL,               -- the last day to answer (inclusive)
    extended     boolean     NOT NULL DEFAULT false, -- gdpr: extended by two months
    calendar     text        NOT NULL,               -- the calendar the due date was counted on
    status       text        NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
    outcome      text        CHECK (outcome IN ('done', 'refused', 'partly', 'withdrawn')),
    outcome_ref  text,                               -- the reply's reference (letter, ticket)
    ticket       text        NOT NULL,
    opened_by    text        NOT NULL,
    opened_at    timestamptz NOT NULL DEFAULT now(),
    closed_by    text,
    closed_at    timestamptz,
    CHECK ((status = 'closed') = (closed_at IS NOT NULL)),
    CHECK ((status = 'closed') = (outcome IS NOT NULL))
);
CREATE INDEX requests_subject_idx ON derbes.requests (subject_ref);
CREATE INDEX requests_open_due_idx ON derbes.requests (due_on) WHERE status = 'open';

CREATE TABLE derbes.breaches (
    id             bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    discovered_at  timestamptz NOT NULL,
    summary        text        NOT NULL,             -- a reference-like summary, never personal data
    subject_refs   text[]      NOT NULL DEFAULT '{}',-- "<table>:<key>" of the subjects concerned
    notify_by      date        NOT NULL,             -- the authorised body told by this day (inclusive)
    calendar       text        NOT NULL,
    ticket         text        NOT NULL,
    opened_by      text        NOT NULL,
    opened_at      timestamptz NOT NULL DEFAULT now(),
    notified_at    timestamptz,                      -- when the authorised body was told
    reference      text,                             -- the notification's reference
    closed_by      text,
    closed_at      timestamptz,
    CHECK ((closed_at IS NULL) = (notified_at IS NULL)),
    CHECK ((closed_at IS NULL) = (reference IS NULL))
);
CREATE INDEX breaches_open_idx ON derbes.breaches (notify_by) WHERE closed_at IS NULL;

-- The request or breach an audit row was written for. Rows written before this
-- version hold NULL, and a row's hash covers each column only when it is set, so
-- those rows keep verifying.
ALTER TABLE derbes.audit_log
    ADD COLUMN request_id bigint REFERENCES derbes.requests (id),
    ADD COLUMN breach_id  bigint REFERENCES derbes.breaches (id);
CREATE INDEX audit_log_request_idx ON derbes.audit_log (request_id) WHERE request_id IS NOT NULL;
CREATE INDEX audit_log_breach_idx ON derbes.audit_log (breach_id) WHERE breach_id IS NOT NULL;
