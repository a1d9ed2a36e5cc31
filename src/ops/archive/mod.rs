//! Age-encrypted archives of rows the law says to keep (docs/policy.md 8.1): the safety
//! net under erasure and purging, and the only place such rows live on.
//!
//! An archive is one age file holding a tar: one CSV per table (cut into parts of
//! at most [`crate::files::tar_writer::PART_BYTES`]; see `write`), then `manifest.json` with the
//! selection, columns, row counts and each member's SHA-256. Each archive is
//! registered in `derbes.archives` (path, digest of the whole file, recipients,
//! counts, keep-until) with an audit row.
//!
//! The API erasure and purging call:
//!
//! ```text
//! let change = change::begin_snapshot(client, &limits, Snapshot::RepeatableRead, false).await?;
//! let tx = change.into_transaction(); // the receipt commits it
//! // request.capture_keys = true: record the primary key of every row archived
//! let receipt = archive::write_verified(&tx, &map, &catalog, request, &|_, _| {}).await?;
//! let deleted = receipt.delete_archived(&tx).await?; // exactly the archived keys
//! receipt.commit(tx).await?;          // commit; the file is kept
//! ```
//!
//! `write_verified` dumps the rows, reads the file back from disk with a one-off
//! read-back key (an extra X25519 recipient whose secret never leaves memory) and
//! checks every member (following the writer, a few megabytes behind it, so the
//! check costs little beyond the dump itself), then inserts the register and audit rows in the caller's
//! transaction. The read-back authenticates every byte with age and checks the
//! tar against the manifest by name, order and size, the manifest against the one
//! written and the length against what was written; it does not hash the members
//! or the file again, since age's tags already prove the bytes are those hashed
//! when written (the argument is in [`read`]'s docs; `archive verify` hashes all). Until [`ArchiveReceipt::commit`] succeeds, dropping the receipt
//! removes the file, so a failed or rolled-back delete leaves no stray archive.
//!
//! With [`ArchiveRequest::jobs`] (`archive dump --jobs N`) the rows are dumped by N
//! connections in the snapshot the caller's transaction exports, large tables cut
//! by partition or key range ([`parallel`]); the file, manifest, read-back and
//! register are the same. `archive restore --jobs N` loads members on N
//! connections, one transaction each, resumably ([`restore_jobs`]).
//!
//! The rows archived are those the caller's transaction sees when each table's
//! `COPY` runs. With [`ArchiveRequest::capture_keys`], the same statement that
//! streams a table's rows also inserts their primary keys into a temporary table of
//! the caller's transaction (`ON COMMIT DROP`; one statement, one snapshot), and
//! [`ArchiveReceipt::delete_archived`] deletes by those keys: never the selection
//! run again, which under READ COMMITTED would also take rows committed by others
//! after the dump.
//!
//! One job per file: `dump` (writing and the read-back), `runs` (dumps in
//! progress, and what killed ones left), `register` (`derbes.archives`: the list
//! and the `--force` guard), `verify`, `restore` and `target` (where restored rows
//! go), [`restore_jobs`] (restoring on N connections), `expire`; `select`, `write`,
//! `read` and `manifest` are the parts a dump and a read share. This file holds the
//! types they share and re-exports the API.

mod dump;
mod expire;
pub mod manifest;
pub mod parallel;
pub mod read;
mod register;
mod restore;
pub mod restore_jobs;
mod runs;
pub mod select;
mod target;
mod verify;
pub mod write;

use std::collections::BTreeMap;
use std::path::PathBuf;

use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio_postgres::{GenericClient, Transaction};

use crate::error::DerbesError;
use crate::files::crypto::Recipients;
use crate::map::{quote_ident, TableName};
use crate::pg::change::Limits;

pub use dump::{dump, write_verified};
pub use expire::{expire, ExpireReport, ExpiredArchive, FileOutcome};
pub use manifest::Manifest;
pub use register::{list, refuse_registered, RegisterEntry};
pub use restore::{restore, RestoreOptions, RestoreReport};
pub use runs::{begin_run, clean_dead_runs, end_run, pending_runs, PendingRun};
pub use select::{estimated_rows, ColumnDef, OlderThan, Selection, SelectionRecord};
pub use verify::{record_intact, verify, verify_reporting, VerifyReport};

/// What to archive, where, for whom and for how long.
pub struct ArchiveRequest {
    pub selection: Selection,
    pub out: PathBuf,
    /// Replace `out` if it exists.
    pub overwrite: bool,
    /// Who can open the archive (X25519 or SSH keys; a passphrase is refused).
    pub recipients: Recipients,
    /// How long to keep it: a duration (`5y`); None takes the retention rule's
    /// `archive_keep`.
    pub keep: Option<String>,
    pub operator: String,
    pub ticket: Option<String>,
    /// Largest CSV member, in bytes; [`crate::files::tar_writer::PART_BYTES`] unless testing.
    pub part_bytes: usize,
    /// Record the primary key of every archived row in a temporary table of the
    /// caller's transaction (see [`ArchivedKeys`]), for an archive-then-delete.
    /// Every table of the selection needs a primary key. Costs a materialised copy
    /// of the rows on the server, so a plain `archive dump` leaves it off.
    pub capture_keys: bool,
    /// Dump with several connections in one snapshot (`archive dump --jobs`); None
    /// (or one job) is the single-stream dump. Ignored with `capture_keys`, whose
    /// keys must be recorded by the caller's own transaction, and for a subject's
    /// rows (few, found by index). See [`parallel`].
    pub jobs: Option<parallel::Jobs>,
}

/// A written, read-back and registered archive, not yet committed. Dropping it
/// without [`ArchiveReceipt::commit`] removes the file.
#[derive(Debug)]
pub struct ArchiveReceipt {
    pub summary: ArchiveSummary,
    /// With [`ArchiveRequest::capture_keys`]: per table, in archive order (parents
    /// first), where the keys of its archived rows are. Empty otherwise.
    pub keys: Vec<ArchivedKeys>,
    armed: bool,
}

/// The primary keys of the rows one table contributed to an archive, held in a
/// temporary table of the transaction that wrote it (dropped at its end).
#[derive(Debug, Clone, Serialize)]
pub struct ArchivedKeys {
    pub table: TableName,
    /// The temporary table's columns: the table's primary key columns, or
    /// [`ROW_ADDRESS`] for a table without one.
    pub key_columns: Vec<String>,
    /// What each key column is on the table's side: the same primary key columns,
    /// or `ctid` for a table without one (its rows addressed where they lie, which
    /// holds in the REPEATABLE READ transaction that wrote the archive: a row changed
    /// by another transaction since fails the change instead of moving under it).
    pub table_columns: Vec<String>,
    /// Name of the temporary table (schema `pg_temp`), unquoted.
    pub temp_table: String,
    /// Rows archived (= keys recorded).
    pub rows: u64,
}

/// The key column of a table without a primary key, in the temporary table of
/// its archived rows' addresses (`ctid`, which no table column may be named).
pub const ROW_ADDRESS: &str = "derbes_ctid";

impl ArchivedKeys {
    /// `pg_temp."<temp_table>"`, for SQL.
    pub fn quoted_temp_table(&self) -> String {
        format!("pg_temp.{}", quote_ident(&self.temp_table))
    }

    /// The condition that row `row` (an alias of the table) is the archived row
    /// `keys` (an alias of the temporary table).
    pub fn matches(&self, row: &str, keys: &str) -> String {
        self.table_columns
            .iter()
            .zip(&self.key_columns)
            .map(|(t, k)| format!("{row}.{} = {keys}.{}", quote_ident(t), quote_ident(k)))
            .collect::<Vec<_>>()
            .join(" AND ")
    }

    /// The table has no primary key: its rows are addressed by `ctid`.
    pub fn by_row_address(&self) -> bool {
        self.key_columns.first().map(String::as_str) == Some(ROW_ADDRESS)
    }
}

/// What an archive holds, as reported to the operator and stored in the register.
#[derive(Debug, Clone, Serialize)]
pub struct ArchiveSummary {
    /// Register row id (0 when not registered, e.g. a dry run).
    pub id: i64,
    pub archive_id: String,
    pub path: PathBuf,
    pub sha256: String,
    pub bytes: u64,
    pub recipients: Vec<String>,
    pub counts: BTreeMap<String, u64>,
    pub rows: u64,
    pub empty: bool,
    pub selection: SelectionRecord,
    pub created_at: DateTime<Utc>,
    pub keep_until: DateTime<Utc>,
}

impl ArchiveReceipt {
    /// Delete, in `tx` (the transaction that wrote the archive), exactly the rows
    /// whose keys the archive recorded, children before parents; returns the rows
    /// deleted per table (`schema.table`). A row committed by someone else after
    /// the dump is never deleted, even when it matches the selection; a row deleted
    /// meanwhile is simply not counted. Needs [`ArchiveRequest::capture_keys`].
    pub async fn delete_archived(
        &self,
        tx: &Transaction<'_>,
    ) -> anyhow::Result<BTreeMap<String, u64>> {
        if self.keys.len() != self.summary.counts.len() {
            return Err(anyhow::anyhow!(
                "archive {} was written without capture_keys, so its rows' keys are unknown: \
                 write it with ArchiveRequest::capture_keys = true to delete what it holds",
                self.summary.path.display()
            ));
        }
        let mut deleted = BTreeMap::new();
        for keys in self.keys.iter().rev() {
            let on = keys.matches("t", "k");
            let sql = format!(
                "DELETE FROM {} t USING {} k WHERE {on}",
                keys.table.quoted(),
                keys.quoted_temp_table()
            );
            let n = tx.execute(&sql, &[]).await.map_err(|e| {
                DerbesError::Refused(format!(
                    "deleting the archived rows of {} failed: {}; nothing was deleted and the archive \
                     is removed when the transaction rolls back",
                    keys.table,
                    crate::pg::db::describe(&e)
                ))
            })?;
            deleted.insert(keys.table.to_string(), n);
        }
        Ok(deleted)
    }

    /// Commit the caller's transaction (the delete, the register and audit rows);
    /// from then on the file stays.
    pub async fn commit(mut self, tx: Transaction<'_>) -> anyhow::Result<ArchiveSummary> {
        crate::fault::point("archive.dump.committing");
        if let Err(e) = tx.commit().await {
            if crate::pg::db::connection_lost(&e) {
                // The commit may have reached the server before the connection went:
                // removing the file could destroy a registered archive whose rows
                // were deleted. Keep it; if the commit did not happen, the run's
                // pending row (`begin_run`) lets the next dump or expire remove it.
                self.armed = false;
                return Err(anyhow::anyhow!(
                    "committing after archive {} failed: {}. Whether it committed is unknown, \
                     so the file is kept: `derbes archive list` shows it catalogued if it did, \
                     else the next `derbes archive dump` or `archive expire` removes it",
                    self.summary.path.display(),
                    crate::pg::db::describe(&e)
                ));
            }
            return Err(anyhow::anyhow!(
                "committing after archive {} failed: {}; the archive was removed and nothing changed",
                self.summary.path.display(),
                crate::pg::db::describe(&e)
            ));
        }
        self.armed = false;
        Ok(self.summary.clone())
    }

    /// Keep the file: the caller committed the transaction that registered it
    /// itself (a purge batch), or cannot tell whether that commit happened (then a
    /// stray file is safer than a registered archive gone missing).
    pub fn keep(mut self) -> ArchiveSummary {
        self.armed = false;
        self.summary.clone()
    }

    /// Roll the caller's transaction back and remove the file (a dry run).
    pub async fn discard(self, tx: Transaction<'_>) -> anyhow::Result<ArchiveSummary> {
        let summary = self.summary.clone();
        drop(self);
        tx.rollback().await?;
        Ok(summary)
    }
}

impl Drop for ArchiveReceipt {
    fn drop(&mut self) {
        if self.armed {
            let _ = std::fs::remove_file(&self.summary.path);
        }
    }
}

/// The bounds of an archive's change: the connection's own `lock_timeout` and
/// `statement_timeout`, kept as they were, since one `COPY` of a whole table runs
/// as long as the table needs.
pub async fn session_limits(client: &impl GenericClient) -> anyhow::Result<Limits> {
    let row = client
        .query_one(
            "SELECT current_setting('lock_timeout'), current_setting('statement_timeout')",
            &[],
        )
        .await?;
    Ok(Limits {
        lock_timeout: row.get(0),
        statement_timeout: row.get(1),
    })
}

/// Called as parts go out: (bytes, rows) since the last call.
pub type Progress<'a> = &'a (dyn Fn(u64, u64) + Send + Sync);
