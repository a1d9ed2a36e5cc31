-- derbes' own schema, version 3: the catalogue of age-encrypted archives.
-- One row per archive file `derbes archive dump` (or erasure / purging) wrote and
-- verified. The row names the file and its digest, never a personal value; it stays
-- after `derbes archive expire` destroys the file, with expired_at set, as the
-- record of when the archive ceased to exist.

CREATE TABLE derbes.archives (
    id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    archive_id  text        NOT NULL UNIQUE,        -- random id, also in the archive's manifest.json
    path        text        NOT NULL,               -- absolute path the file was written to
    sha256      text        NOT NULL,               -- hex SHA-256 of the whole (encrypted) file
    bytes       bigint      NOT NULL,
    recipients  text[]      NOT NULL,               -- public keys the file is encrypted to
    counts      jsonb       NOT NULL DEFAULT '{}',  -- rows per table
    selection   jsonb       NOT NULL,               -- what was selected (kind, table, rule, subject ref)
    keep_until  timestamptz NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    operator    text        NOT NULL,
    ticket      text,
    expired_at  timestamptz                          -- set when `archive expire` destroyed the file
);
CREATE INDEX archives_keep_until_idx ON derbes.archives (keep_until) WHERE expired_at IS NULL;
CREATE INDEX archives_sha256_idx ON derbes.archives (sha256);
