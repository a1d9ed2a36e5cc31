-- derbes' own schema, version 5: archive dumps in progress.
-- `derbes archive dump` records its run here (committed at once) before it writes a
-- byte, and the transaction that catalogues the archive deletes the row. A row whose
-- session (backend_pid + backend_start) is gone is a run that was killed: the next
-- `archive dump` or `archive expire` removes what it left (a `.partial` file, or a
-- finished archive the catalogue never learnt of) and the row. `archive list` shows
-- runs still going and those left by dead runs.

CREATE TABLE derbes.archive_runs (
    id            bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    path          text        NOT NULL,               -- absolute path the archive is written to
    backend_pid   integer     NOT NULL,               -- the run's session on this server
    backend_start timestamptz NOT NULL,
    started_at    timestamptz NOT NULL DEFAULT now(),
    operator      text        NOT NULL,
    ticket        text
);
