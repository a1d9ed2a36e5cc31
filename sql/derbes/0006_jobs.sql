-- derbes' own schema, version 6: checkpoints of batched jobs (purging, cohort
-- anonymisation). One row per run of an operation over a scope; a run that was
-- stopped leaves finished_at NULL and the last key of its last committed batch, and
-- the next run of the same job continues after it. Never a personal value here: keys
-- are the rows' primary keys, as text.

CREATE TABLE derbes.jobs (
    id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    operation   text        NOT NULL,
    scope       text        NOT NULL,
    table_name  text        NOT NULL,
    ticket      text        NOT NULL,
    operator    text        NOT NULL,
    started_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    last_key    text[],
    batches     bigint      NOT NULL DEFAULT 0,
    rows        bigint      NOT NULL DEFAULT 0,
    counts      jsonb       NOT NULL DEFAULT '{}'
);

-- At most one unfinished run per job.
CREATE UNIQUE INDEX jobs_unfinished_idx
    ON derbes.jobs (operation, scope) WHERE finished_at IS NULL;
