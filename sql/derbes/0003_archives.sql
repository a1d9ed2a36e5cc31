-- derbes' own schema, version 3: the catalogue of age-encrypted archives.
-- One row per archive file `derbes archive dump` (or erasure / purging) wrote and
-- verified. The row names the file and its digest, never a personal value.
-- `derbes archive expire` deletes the file and this row once keep-until has passed
-- (its audit row is the record that the archive existed), so the archive does not
-- become the place where data lives forever.

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
    ticket      text
);
CREATE INDEX archives_keep_until_idx ON derbes.archives (keep_until);
CREATE INDEX archives_sha256_idx ON derbes.archives (sha256);
