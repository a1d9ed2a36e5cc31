-- derbes' own schema, version 9: policy versions published with derbes (POLICY.md
-- 10.2-10.5). The application's own versions table holds the version; this row keeps
-- what it may have no column for: the date the version takes effect (when silence
-- starts to count as consent, 10.5), who published it, under which ticket, and how
-- many notices were queued. No personal value here.

CREATE TABLE derbes.policy_publications (
    id             bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    versions_table text        NOT NULL,          -- "schema.table" of the versions table
    version        text        NOT NULL,
    effective_on   date        NOT NULL,
    text_sha256    text,
    notices        bigint      NOT NULL,
    ticket         text        NOT NULL,
    published_by   text        NOT NULL,
    published_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (versions_table, version)
);
