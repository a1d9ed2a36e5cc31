-- derbes' own schema, version 10: what cohort anonymisation has masked, so that a
-- later run of the same rule masks only the rows that became due since (a second
-- pass would hash hmac pseudonyms again, so they would stop matching, and draw new
-- fakes). Per job scope (`<rule>/<table>`), written when a run of it finishes:
-- - cohort_marks: the run's cut-off. Every row then older than it was masked,
--   except the pending ones;
-- - cohort_pending: the rows old enough at that cut-off but held back (an open
--   loan, a block, an open request), masked by a later run once they are free.
-- Keys only, as text; never a personal value.

CREATE TABLE derbes.cohort_marks (
    scope      text        PRIMARY KEY,
    cutoff     timestamptz NOT NULL,
    generation bigint      NOT NULL,
    marked_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE derbes.cohort_pending (
    scope      text   NOT NULL,
    generation bigint NOT NULL,
    key        text[] NOT NULL,
    PRIMARY KEY (scope, generation, key)
);

-- The condition parameters a batched job started with (cut-offs, statuses; never a
-- personal value), so that a resumed cohort run works through the same rows as the
-- run it continues, whatever time it resumes at.
ALTER TABLE derbes.jobs ADD COLUMN params text[];
