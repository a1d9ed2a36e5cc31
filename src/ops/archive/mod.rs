//! Age-encrypted archives of rows the law says to keep (POLICY.md 8.1): the safety
//! net under erasure and purging, and the only place such rows live on.
//!
//! An archive is one age file holding a tar: one CSV per table (cut into parts of
//! at most [`crate::files::tar_writer::PART_BYTES`]; see `write`), then `manifest.json` with the
//! selection, columns, row counts and each member's SHA-256. Each archive is
//! catalogued in `derbes.archives` (path, digest of the whole file, recipients,
//! counts, keep-until) with an audit row.
//!
//! The API erasure and purging call:
//!
//! ```text
//! let tx = client.transaction().await?;
//! // request.capture_keys = true: record the primary key of every row archived
//! let receipt = archive::write_verified(&tx, &map, &catalog, request, &|_, _| {}).await?;
//! let deleted = receipt.delete_archived(&tx).await?; // exactly the archived keys
//! receipt.commit(tx).await?;          // commit; the file is kept
//! ```
//!
//! `write_verified` dumps the rows, reads the file back from disk with a one-off
//! read-back key (an extra X25519 recipient whose secret never leaves memory) and
//! checks every member (following the writer, a few megabytes behind it, so the
//! check costs little beyond the dump itself), then inserts the catalogue and audit rows in the caller's
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
//! catalogue are the same. `archive restore --jobs N` loads members on N
//! connections, one transaction each, resumably ([`restore_jobs`]).
//!
//! The rows archived are those the caller's transaction sees when each table's
//! `COPY` runs. With [`ArchiveRequest::capture_keys`], the same statement that
//! streams a table's rows also inserts their primary keys into a temporary table of
//! the caller's transaction (`ON COMMIT DROP`; one statement, one snapshot), and
//! [`ArchiveReceipt::delete_archived`] deletes by those keys: never the selection
//! run again, which under READ COMMITTED would also take rows committed by others
//! after the dump.

pub mod manifest;
pub mod parallel;
pub mod read;
pub mod restore_jobs;
pub mod select;
pub mod write;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures_util::SinkExt;
use serde::Serialize;
use tokio_postgres::{Client, GenericClient, Transaction};

use crate::error::DerbesError;
use crate::files::crypto::{Identities, Recipients};
use crate::files::secure_file::SecureFile;
use crate::files::tar_writer::{Member, TarWriter};
use crate::map::{quote_ident, DataMap, TableName};
use crate::pg::audit::{self, AuditEntry};
use crate::pg::catalog::Catalog;

pub use manifest::Manifest;
pub use select::{estimated_rows, ColumnDef, OlderThan, Selection, SelectionRecord};

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

/// A written, read-back and catalogued archive, not yet committed. Dropping it
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

/// What an archive holds, as reported to the operator and stored in the catalogue.
#[derive(Debug, Clone, Serialize)]
pub struct ArchiveSummary {
    /// Catalogue row id (0 when not catalogued, e.g. a dry run).
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

    /// Commit the caller's transaction (the delete, the catalogue and audit rows);
    /// from then on the file stays.
    pub async fn commit(mut self, tx: Transaction<'_>) -> anyhow::Result<ArchiveSummary> {
        crate::fault::point("archive.dump.committing");
        if let Err(e) = tx.commit().await {
            if crate::pg::db::connection_lost(&e) {
                // The commit may have reached the server before the connection went:
                // removing the file could destroy a catalogued archive whose rows
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

    /// Keep the file: the caller committed the transaction that catalogued it
    /// itself (a purge batch), or cannot tell whether that commit happened (then a
    /// stray file is safer than a catalogued archive gone missing).
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

/// Settings for the dump's own transaction. A dump's cost estimate is high (the
/// cut-off is a parameter, so the planner cannot prune partitions before running),
/// and JIT then spends over half a second inlining and optimising expressions a
/// scan bound by CSV output gains nothing from; plain JIT compilation stays.
const DUMP_SETTINGS: &[(&str, &str)] = &[
    ("jit_inline_above_cost", "-1"),
    ("jit_optimize_above_cost", "-1"),
];

/// Called as parts go out: (bytes, rows) since the last call.
pub type Progress<'a> = &'a (dyn Fn(u64, u64) + Send + Sync);

/// Dump the selected rows into an archive, read it back and check it, and record
/// it in the catalogue and the audit trail, all in `tx`. See the module docs.
pub async fn write_verified(
    tx: &Transaction<'_>,
    map: &DataMap,
    catalog: &Catalog,
    request: ArchiveRequest,
    progress: Progress<'_>,
) -> anyhow::Result<ArchiveReceipt> {
    let mut plan = select::plan(tx, map, catalog, &request.selection).await?;
    // Parents before children: a restore loads in archive order.
    let names: BTreeSet<TableName> = plan.tables.iter().map(|t| t.name.clone()).collect();
    if let Ok(mut order) = catalog.delete_order(&names) {
        order.reverse();
        plan.tables.sort_by_key(|t| {
            order
                .iter()
                .position(|n| n == &t.name)
                .unwrap_or(usize::MAX)
        });
    }
    let keep_text = request
        .keep
        .clone()
        .or(plan.default_keep.clone())
        .ok_or_else(|| {
            DerbesError::Usage(
                "say how long the archive is kept with --keep (e.g. 5y, the period the law sets): \
                 only --rule, or --table of a table whose retention rule has archive_keep, \
                 has a default"
                    .to_owned(),
            )
        })?;
    let keep = crate::when::Period::parse(&keep_text).map_err(|e| {
        DerbesError::Usage(format!("--keep {keep_text}: {e}; give e.g. 90d, 1y or 5y"))
    })?;
    // An archive kept less than a day would be destroyed by the next expire run.
    if keep.is_under_a_day() {
        return Err(DerbesError::Usage(format!(
            "keep {keep_text} is shorter than one day, so the archive would expire at once: \
             give --keep of at least 1d (e.g. 90d, 1y or 5y, the period the law sets)"
        ))
        .into());
    }
    let settings = plan
        .settings
        .iter()
        .map(|(setting, value)| (*setting, value.as_str()))
        .chain(DUMP_SETTINGS.iter().copied());
    for (setting, value) in settings {
        tx.execute("SELECT set_config($1, $2, true)", &[&setting, &value])
            .await?;
    }
    let created_at = Utc::now();
    // Calendar years and months, counted in the map's time zone.
    let keep_until = keep.after(created_at, map.time_zone());
    let archive_id = hex::encode(rand::random::<[u8; 16]>());
    let database: String = tx.query_one("SELECT current_database()", &[]).await?.get(0);
    // The head the archive anchors: read before this transaction appends its own row
    // (a caller that appended earlier in `tx` would anchor a row that may roll back).
    let audit_head = audit::head(tx).await?.map(|h| h.head);

    // The catalogue lists the operator's recipients; the read-back key is added only
    // to the file and its secret is dropped when this function returns.
    let mut recipients = request.recipients;
    let public = recipients.public.clone();
    let read_back = age::x25519::Identity::generate();
    recipients.add(&read_back.to_public().to_string(), public.len() + 1)?;

    let out = absolute(&request.out);
    if request.overwrite {
        refuse_catalogued(tx, &out).await?;
    }
    let file = SecureFile::create(&out, request.overwrite)?;
    let mut writer = TarWriter::start(
        file,
        Some(&recipients),
        created_at.timestamp().max(0) as u64,
    )?;
    // The read-back follows the writer: it decrypts and checks what was written and
    // fsynced while later parts are still being dumped.
    let following = writer.follow()?;
    let read_back_path = out.clone();
    let read_back = std::thread::Builder::new()
        .name("archive-read-back".to_owned())
        .spawn(move || read::check_following(&read_back_path, following, &read_back))?;
    let keys = if request.capture_keys {
        capture_keys(tx, &mut plan.tables, &archive_id).await?
    } else {
        Vec::new()
    };
    let parallel = match &request.jobs {
        Some(jobs)
            if jobs.jobs > 1
                && !request.capture_keys
                // A subject's and a rule's rows are chosen with session tables
                // (the link's keys, the retention decision's holds).
                && !matches!(
                    request.selection,
                    Selection::Subject { .. } | Selection::Rule { .. }
                ) =>
        {
            let tasks = parallel::split(tx, catalog, &plan.tables, jobs).await;
            match tasks {
                Ok(split) if split.tasks.len() > 1 => Some((jobs, split)),
                Ok(_) => None,
                Err(e) => {
                    writer.abandon();
                    return Err(e);
                }
            }
        }
        _ => None,
    };
    let mut tables = Vec::new();
    if let Some((jobs, split)) = parallel {
        let settings: Vec<(&str, &str)> = plan
            .settings
            .iter()
            .map(|(setting, value)| (*setting, value.as_str()))
            .chain(DUMP_SETTINGS.iter().copied())
            .collect();
        let dumped = parallel::dump(
            tx,
            split,
            jobs,
            &settings,
            &writer,
            request.part_bytes.max(1),
            progress,
        )
        .await;
        match dumped {
            Ok(entries) => tables = entries,
            Err(e) => {
                writer.abandon();
                return Err(e);
            }
        }
    }
    for table in plan.tables.iter().skip(tables.len()) {
        match write::dump_table(tx, table, &mut writer, request.part_bytes.max(1), progress).await {
            Ok(entry) => {
                tables.push(entry);
                crate::fault::point("archive.dump.writing");
            }
            Err(e) => {
                writer.abandon();
                return Err(e);
            }
        }
    }
    let manifest = Manifest {
        format: manifest::FORMAT.to_owned(),
        version: manifest::VERSION,
        created_at,
        operator: request.operator.clone(),
        ticket: request.ticket.clone(),
        map_digest: map.digest(),
        files: Vec::new(),
        audit_head,
        kind: manifest::ArchiveFacts {
            archive_id: archive_id.clone(),
            keep_until,
            database,
            selection: plan.record.clone(),
            empty: tables.iter().all(|t| t.rows == 0),
        },
        tables,
    };
    let manifest_json = serde_json::to_vec_pretty(&manifest)?;
    writer
        .send(Member {
            name: manifest::MANIFEST_NAME.to_owned(),
            data: manifest_json.clone(),
        })
        .await?;
    let written = writer.finish().await?;
    crate::fault::point("archive.dump.renamed");

    let mut receipt = ArchiveReceipt {
        summary: ArchiveSummary {
            id: 0,
            archive_id: archive_id.clone(),
            path: written.path.clone(),
            sha256: written.sha256.clone(),
            bytes: written.bytes,
            recipients: public,
            counts: manifest
                .tables
                .iter()
                .map(|t| (t.table.clone(), t.rows))
                .collect(),
            rows: manifest.total_rows(),
            empty: manifest.kind.empty,
            selection: plan.record.clone(),
            created_at,
            keep_until,
        },
        keys: keys
            .into_iter()
            .zip(&manifest.tables)
            .map(|(keys, entry)| ArchivedKeys {
                rows: entry.rows,
                ..keys
            })
            .collect(),
        armed: true,
    };

    // The file as read back from disk must be checked before anyone may delete.
    let checked = tokio::task::spawn_blocking(move || read_back.join())
        .await?
        .map_err(|_| {
            anyhow::anyhow!(
                "reading archive back failed unexpectedly; nothing was catalogued. Run again"
            )
        })??;
    // Age authenticated every byte read back (see `read`'s module docs); what is
    // left is that the file holds this very manifest and nothing beyond what was
    // written, so the writer's digest is the digest of the file on disk.
    if checked.manifest_json != manifest_json
        || checked.manifest.kind.archive_id != archive_id
        || checked.bytes != written.bytes
    {
        return Err(DerbesError::VerificationFailed(format!(
            "archive {} read back differently from what was written: the disk or filesystem is unreliable; nothing was catalogued",
            written.path.display()
        ))
        .into());
    }

    let counts_json = serde_json::to_value(&receipt.summary.counts)?;
    let selection_json = serde_json::to_value(&plan.record)?;
    let path_text = written.path.to_string_lossy().into_owned();
    let bytes = written.bytes as i64;
    let row = tx
        .query_one(
            "INSERT INTO derbes.archives (archive_id, path, sha256, bytes, recipients, counts, selection, \
             keep_until, created_at, operator, ticket) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
            &[
                &archive_id,
                &path_text,
                &written.sha256,
                &bytes,
                &receipt.summary.recipients,
                &counts_json,
                &selection_json,
                &keep_until,
                &created_at,
                &request.operator,
                &request.ticket,
            ],
        )
        .await?;
    receipt.summary.id = row.get(0);
    // This session's pending run for the file (see `begin_run`) ends when the
    // catalogue row commits.
    tx.execute(
        "DELETE FROM derbes.archive_runs WHERE path = $1 AND backend_pid = pg_backend_pid()",
        &[&path_text],
    )
    .await?;
    audit::append(
        tx,
        &request.operator,
        &AuditEntry {
            action: "archive.dump".to_owned(),
            ticket: request.ticket.clone(),
            subject_ref: plan.record.subject_ref.clone(),
            counts: receipt
                .summary
                .counts
                .iter()
                .map(|(t, n)| (t.clone(), *n as i64))
                .collect(),
            fields: Vec::new(),
            detail: serde_json::json!({
                "archive_id": archive_id,
                "catalogue_id": receipt.summary.id,
                "sha256": written.sha256,
                "selection": selection_json,
                "keep_until": keep_until,
            }),
        },
    )
    .await?;
    Ok(receipt)
}

/// For an archive-then-delete: give every planned table a temporary table for its
/// primary keys and make its dump statement fill it from the very rows it streams
/// (`WITH sel AS MATERIALIZED (...), keys AS (INSERT ...) SELECT * FROM sel`: one
/// statement, one snapshot). A table without a primary key records its rows'
/// addresses (`ctid`) instead: exactly the rows archived are the rows later
/// deleted or masked, in the same REPEATABLE READ transaction.
async fn capture_keys(
    tx: &Transaction<'_>,
    tables: &mut [select::PlannedTable],
    archive_id: &str,
) -> anyhow::Result<Vec<ArchivedKeys>> {
    let mut keys = Vec::new();
    for (index, table) in tables.iter_mut().enumerate() {
        let temp_table = format!("derbes_archived_{}_{index}", &archive_id[..12]);
        let quoted = format!("pg_temp.{}", quote_ident(&temp_table));
        let (key_columns, table_columns) = if table.key_columns.is_empty() {
            (vec![ROW_ADDRESS.to_owned()], vec!["ctid".to_owned()])
        } else {
            (table.key_columns.clone(), table.key_columns.clone())
        };
        let columns = key_columns
            .iter()
            .map(|c| quote_ident(c))
            .collect::<Vec<_>>()
            .join(", ");
        let created = if table.key_columns.is_empty() {
            format!(
                "CREATE TEMPORARY TABLE {} ({ROW_ADDRESS} tid) ON COMMIT DROP",
                quote_ident(&temp_table)
            )
        } else {
            format!(
                "CREATE TEMPORARY TABLE {} ON COMMIT DROP AS SELECT {columns} FROM {} WITH NO DATA",
                quote_ident(&temp_table),
                table.name.quoted()
            )
        };
        tx.batch_execute(&created).await.map_err(|e| {
            anyhow::anyhow!(
                "cannot create the temporary table for the keys of {}: {}; check the role may \
                 create temporary tables (GRANT TEMPORARY ON DATABASE)",
                table.name,
                crate::pg::db::describe(&e)
            )
        })?;
        table.select = if table.key_columns.is_empty() {
            // The address rides along in the materialised rows and is left out of
            // what the archive holds. Every planned select reads the table as t0.
            let Some(rest) = table.select.strip_prefix("SELECT ") else {
                return Err(anyhow::anyhow!(
                    "internal: the dump of {} is not a plain SELECT",
                    table.name
                ));
            };
            let archived: Vec<String> =
                table.columns.iter().map(|c| quote_ident(&c.name)).collect();
            format!(
                "WITH sel AS MATERIALIZED (SELECT t0.ctid AS {ROW_ADDRESS}, {rest}), \
                 keys AS (INSERT INTO {quoted} ({ROW_ADDRESS}) SELECT {ROW_ADDRESS} FROM sel) \
                 SELECT {} FROM sel",
                archived.join(", ")
            )
        } else {
            format!(
                "WITH sel AS MATERIALIZED ({}), keys AS (INSERT INTO {quoted} ({columns}) \
                 SELECT {columns} FROM sel) SELECT * FROM sel",
                table.select
            )
        };
        keys.push(ArchivedKeys {
            table: table.name.clone(),
            key_columns,
            table_columns,
            temp_table,
            rows: 0,
        });
    }
    Ok(keys)
}

/// Record a dump to `out` before writing it, committed at once: a run killed at any
/// point leaves this row, which names the file and the run's session, so the next
/// dump or expire can tell the run is gone and remove what it left
/// ([`clean_dead_runs`]). The transaction that catalogues the archive deletes the
/// row; [`end_run`] deletes it after a run that failed or was a dry run.
pub async fn begin_run(
    client: &Client,
    out: &Path,
    operator: &str,
    ticket: Option<&str>,
) -> anyhow::Result<i64> {
    let path = absolute(out).to_string_lossy().into_owned();
    let row = client
        .query_one(
            "INSERT INTO derbes.archive_runs (path, backend_pid, backend_start, operator, ticket) \
             SELECT $1, pid, backend_start, $2, $3 FROM pg_stat_activity WHERE pid = pg_backend_pid() \
             RETURNING id",
            &[&path, &operator, &ticket],
        )
        .await?;
    Ok(row.get(0))
}

/// Forget a run recorded by [`begin_run`] (a no-op once its archive was catalogued).
pub async fn end_run(client: &Client, run: i64) -> anyhow::Result<()> {
    client
        .execute("DELETE FROM derbes.archive_runs WHERE id = $1", &[&run])
        .await?;
    Ok(())
}

/// An archive dump recorded by [`begin_run`] and not yet catalogued.
#[derive(Debug, Clone, Serialize)]
pub struct PendingRun {
    pub id: i64,
    pub path: String,
    pub started_at: DateTime<Utc>,
    pub operator: String,
    pub ticket: Option<String>,
    /// False when the run's session is gone: the run was killed.
    pub running: bool,
    /// Files the run left: its `.partial` temporary, or a finished archive the
    /// catalogue never learnt of (empty while it runs).
    pub leftovers: Vec<String>,
}

const RUNS_SQL: &str = "SELECT r.id, r.path, r.started_at, r.operator, r.ticket, \
     EXISTS (SELECT 1 FROM pg_stat_activity a \
             WHERE a.pid = r.backend_pid AND a.backend_start = r.backend_start) \
     FROM derbes.archive_runs r ORDER BY r.started_at, r.id";

/// Archive dumps in progress, and those left by runs that are gone, with the files
/// they left.
pub async fn pending_runs(client: &impl GenericClient) -> anyhow::Result<Vec<PendingRun>> {
    let rows = client.query(RUNS_SQL, &[]).await?;
    let mut runs = Vec::new();
    for row in rows {
        let mut run = PendingRun {
            id: row.get(0),
            path: row.get(1),
            started_at: row.get(2),
            operator: row.get(3),
            ticket: row.get(4),
            running: row.get(5),
            leftovers: Vec::new(),
        };
        if !run.running {
            run.leftovers = leftovers_of(client, &run).await?;
        }
        runs.push(run);
    }
    Ok(runs)
}

/// Remove what dead runs left (see [`begin_run`]) and their rows; returns them.
pub async fn clean_dead_runs(client: &impl GenericClient) -> anyhow::Result<Vec<PendingRun>> {
    let runs = pending_runs(client).await?;
    let live: BTreeSet<String> = runs
        .iter()
        .filter(|r| r.running)
        .map(|r| r.path.clone())
        .collect();
    let mut cleaned = Vec::new();
    for run in runs.into_iter().filter(|r| !r.running) {
        // A live run writing to the same path may own a matching temporary file.
        if !live.contains(&run.path) {
            for file in &run.leftovers {
                match std::fs::remove_file(file) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => {
                        return Err(anyhow::anyhow!(
                        "cannot remove {file}, left by an archive dump that did not finish: {e}; \
                             fix its permissions (or remove it) and run again"
                    ))
                    }
                }
            }
        }
        client
            .execute("DELETE FROM derbes.archive_runs WHERE id = $1", &[&run.id])
            .await?;
        cleaned.push(run);
    }
    Ok(cleaned)
}

/// The files a dead run left: its temporaries (`.<name>.*.partial` beside the
/// target), and the target itself when it is an age file written after the run
/// started that the catalogue does not know (the run died between the rename and
/// the commit).
async fn leftovers_of(
    client: &impl GenericClient,
    run: &PendingRun,
) -> anyhow::Result<Vec<String>> {
    let path = Path::new(&run.path);
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return Ok(Vec::new());
    };
    let since = std::time::SystemTime::from(run.started_at) - std::time::Duration::from_secs(2);
    let written_since = |meta: &std::fs::Metadata| {
        meta.file_type().is_file() && meta.modified().is_ok_and(|m| m >= since)
    };
    let prefix = format!(".{}.", name.to_string_lossy());
    let mut found = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let file_name = entry.file_name().to_string_lossy().into_owned();
            if file_name.starts_with(&prefix)
                && file_name.ends_with(".partial")
                && entry.metadata().is_ok_and(|m| written_since(&m))
            {
                found.push(entry.path().to_string_lossy().into_owned());
            }
        }
    }
    if std::fs::symlink_metadata(path).is_ok_and(|m| written_since(&m)) && is_age_file(path) {
        let catalogued: bool = client
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM derbes.archives WHERE path = $1)",
                &[&run.path],
            )
            .await?
            .get(0);
        if !catalogued {
            found.push(run.path.clone());
        }
    }
    found.sort();
    Ok(found)
}

fn is_age_file(path: &Path) -> bool {
    use std::io::Read;
    let mut head = [0u8; 21];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut head))
        .is_ok_and(|()| &head == b"age-encryption.org/v1")
}

/// Refuse to replace a catalogued archive: `--force` (of `archive dump` or `export`)
/// never destroys an archive the catalogue still promises to keep. The path is
/// compared as given, made absolute, and resolved through links and `..`.
pub async fn refuse_catalogued(client: &impl GenericClient, path: &Path) -> anyhow::Result<()> {
    if std::fs::symlink_metadata(path).is_err() {
        return Ok(()); // nothing there to replace
    }
    let given = absolute(path);
    let resolved = std::fs::canonicalize(path).ok();
    let name = match given.file_name() {
        Some(name) => name.to_string_lossy().into_owned(),
        None => return Ok(()),
    };
    let mut spellings = vec![given.to_string_lossy().into_owned()];
    if let Some(resolved) = &resolved {
        spellings.push(resolved.to_string_lossy().into_owned());
    }
    // Candidates: the same spelling, or any catalogued path with the same file name
    // (resolved here, since the catalogue keeps paths as they were given).
    let rows = client
        .query(
            "SELECT id, path FROM derbes.archives \
             WHERE path = ANY($1) OR right(path, length($2) + 1) = '/' || $2",
            &[&spellings, &name],
        )
        .await?;
    for row in rows {
        let id: i64 = row.get(0);
        let catalogued: String = row.get(1);
        let same = spellings.contains(&catalogued)
            || match (&resolved, std::fs::canonicalize(&catalogued)) {
                (Some(a), Ok(b)) => *a == b,
                _ => false,
            };
        if same {
            return Err(DerbesError::Refused(format!(
                "{} is catalogued archive {id}: --force never replaces a catalogued archive; \
                 choose another path (an archive leaves the catalogue only through `derbes archive expire`)",
                path.display()
            ))
            .into());
        }
    }
    Ok(())
}

fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_owned())
}

/// A catalogued archive.
#[derive(Debug, Clone, Serialize)]
pub struct CatalogueEntry {
    pub id: i64,
    pub archive_id: String,
    pub path: String,
    pub sha256: String,
    pub bytes: i64,
    pub recipients: Vec<String>,
    pub counts: serde_json::Value,
    pub selection: serde_json::Value,
    pub keep_until: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub operator: String,
    pub ticket: Option<String>,
}

const CATALOGUE_COLUMNS: &str =
    "id, archive_id, path, sha256, bytes, recipients, counts, selection, \
     keep_until, created_at, operator, ticket";

fn catalogue_entry(row: &tokio_postgres::Row) -> CatalogueEntry {
    CatalogueEntry {
        id: row.get(0),
        archive_id: row.get(1),
        path: row.get(2),
        sha256: row.get(3),
        bytes: row.get(4),
        recipients: row.get(5),
        counts: row.get(6),
        selection: row.get(7),
        keep_until: row.get(8),
        created_at: row.get(9),
        operator: row.get(10),
        ticket: row.get(11),
    }
}

/// Archives that still exist (not expired); with `only_past_keep`, only those past
/// their keep-until, which `expire` would destroy.
pub async fn list(
    client: &impl GenericClient,
    only_past_keep: bool,
) -> anyhow::Result<Vec<CatalogueEntry>> {
    let sql = format!(
        "SELECT {CATALOGUE_COLUMNS} FROM derbes.archives \
         WHERE NOT $1 OR keep_until < now() ORDER BY created_at, id"
    );
    let rows = client.query(&sql, &[&only_past_keep]).await?;
    Ok(rows.iter().map(catalogue_entry).collect())
}

/// What `verify` found.
#[derive(Debug, Clone, Serialize)]
pub struct VerifyReport {
    pub path: PathBuf,
    pub archive_id: String,
    pub sha256: String,
    pub bytes: u64,
    pub catalogue_id: i64,
    pub created_at: DateTime<Utc>,
    pub keep_until: DateTime<Utc>,
    pub selection: SelectionRecord,
    pub counts: BTreeMap<String, u64>,
    pub members: usize,
    pub rows: u64,
    pub empty: bool,
    /// The audit head the manifest recorded at creation, and whether this database's
    /// audit log still holds it (None: an archive made before heads were recorded,
    /// or on an empty log).
    pub audit_head: Option<audit::AnchorCheck>,
}

/// Decrypt and check an archive against its manifest (every member, every CSV row
/// count) and against the catalogue digest. Exit 6 on any mismatch.
pub async fn verify(
    client: &impl GenericClient,
    path: &Path,
    identities: Arc<Identities>,
) -> anyhow::Result<(VerifyReport, Manifest)> {
    verify_reporting(client, path, identities, None).await
}

/// [`verify`], telling `bytes_read` as the file is read (a progress bar's total is
/// the file's size).
pub async fn verify_reporting(
    client: &impl GenericClient,
    path: &Path,
    identities: Arc<Identities>,
    bytes_read: Option<read::BytesRead>,
) -> anyhow::Result<(VerifyReport, Manifest)> {
    let (checked, entry) = check_and_find(client, path, identities, bytes_read).await?;
    let manifest = checked.manifest;
    let entry = entry.ok_or_else(|| {
        DerbesError::VerificationFailed(format!(
            "archive {} (id {}) is not in this database's archive catalogue: it was not made here, or its dump was rolled back",
            path.display(),
            manifest.kind.archive_id
        ))
    })?;
    let report = VerifyReport {
        path: path.to_owned(),
        archive_id: manifest.kind.archive_id.clone(),
        sha256: checked.sha256,
        bytes: checked.bytes,
        catalogue_id: entry.id,
        created_at: manifest.created_at,
        keep_until: manifest.kind.keep_until,
        selection: manifest.kind.selection.clone(),
        counts: manifest
            .tables
            .iter()
            .map(|t| (t.table.clone(), t.rows))
            .collect(),
        members: manifest.members().count(),
        rows: manifest.total_rows(),
        empty: manifest.kind.empty,
        audit_head: match &manifest.audit_head {
            Some(head) => Some(audit::check_anchor(client, head).await?),
            None => None,
        },
    };
    Ok((report, manifest))
}

/// Decrypt and check an archive against its manifest (every member, every CSV row
/// count), then find it in the catalogue: None when the catalogue does not know it,
/// exit 6 when it does and the file's digest is not the catalogued one.
async fn check_and_find(
    client: &impl GenericClient,
    path: &Path,
    identities: Arc<Identities>,
    bytes_read: Option<read::BytesRead>,
) -> anyhow::Result<(read::Checked, Option<CatalogueEntry>)> {
    let owned = path.to_owned();
    let checked = match tokio::task::spawn_blocking(move || {
        read::check_with_identities_reporting(&owned, &identities, true, bytes_read)
    })
    .await?
    {
        Ok(checked) => checked,
        Err(e) if e.chain().any(|c| c.is::<read::KeyMismatch>()) => {
            return Err(damaged_or_wrong_key(client, path).await?.unwrap_or(e));
        }
        Err(e) => return Err(e),
    };
    let row = client
        .query_opt(
            &format!("SELECT {CATALOGUE_COLUMNS} FROM derbes.archives WHERE archive_id = $1"),
            &[&checked.manifest.kind.archive_id],
        )
        .await?;
    let entry = row.as_ref().map(catalogue_entry);
    if let Some(entry) = &entry {
        if entry.sha256 != checked.sha256 || entry.bytes as u64 != checked.bytes {
            return Err(DerbesError::VerificationFailed(format!(
                "archive {}: its SHA-256 differs from the catalogue's (catalogue id {}): the file was replaced or altered",
                path.display(),
                entry.id
            ))
            .into());
        }
    }
    Ok((checked, entry))
}

/// When no key opens `path`: compare its SHA-256 with what the catalogue recorded
/// for that path. A differing digest means the file was damaged or altered (a
/// flipped byte in a recipient stanza looks like a wrong key to age); `None` when
/// the file is as catalogued, or not catalogued, and the key may be wrong.
async fn damaged_or_wrong_key(
    client: &impl GenericClient,
    path: &Path,
) -> anyhow::Result<Option<anyhow::Error>> {
    let mut spellings = vec![absolute(path).to_string_lossy().into_owned()];
    if let Ok(resolved) = std::fs::canonicalize(path) {
        spellings.push(resolved.to_string_lossy().into_owned());
    }
    let rows = client
        .query(
            "SELECT id, sha256 FROM derbes.archives WHERE path = ANY($1) ORDER BY id DESC",
            &[&spellings],
        )
        .await?;
    if rows.is_empty() {
        return Ok(None);
    }
    let owned = path.to_owned();
    let digest = tokio::task::spawn_blocking(move || -> std::io::Result<String> {
        use sha2::Digest;
        let mut hasher = sha2::Sha256::new();
        std::io::copy(&mut std::fs::File::open(owned)?, &mut hasher)?;
        Ok(hex::encode(hasher.finalize()))
    })
    .await?;
    let Ok(digest) = digest else {
        return Ok(None);
    };
    if rows.iter().any(|r| r.get::<_, String>(1) == digest) {
        return Ok(None);
    }
    let id: i64 = rows[0].get(0);
    Ok(Some(
        DerbesError::VerificationFailed(format!(
            "archive {} is damaged or altered, not a key problem: no key opens it and its SHA-256 \
             differs from the catalogue's (catalogue id {id}); restore it from a good copy",
            path.display()
        ))
        .into(),
    ))
}

/// Options of a restore.
pub struct RestoreOptions {
    pub path: PathBuf,
    /// Load into new tables of this schema instead of the originals.
    pub into: Option<String>,
    pub dry_run: bool,
    pub operator: String,
    pub ticket: Option<String>,
    /// Told the bytes of the archive file read: the file is read twice, once to
    /// check it and once to load it, so a progress bar's total is twice its size.
    pub progress: Option<read::BytesRead>,
    /// Load members on several connections, one transaction each
    /// (`archive restore --jobs N`, see [`restore_jobs`]); None or one job is the
    /// single transaction. A dry run always uses the single transaction.
    pub jobs: Option<restore_jobs::Jobs>,
    /// The data map, whose link paths tell which archived rows belong to a subject
    /// erased after the archive was made (left out unless `restore_erased`).
    pub map: Option<crate::map::DataMap>,
    /// Restore the rows of subjects erased after the archive was made too (a legal
    /// need; audited).
    pub restore_erased: bool,
}

/// What a restore loaded (or would load, in a dry run).
#[derive(Debug, Clone, Serialize)]
pub struct RestoreReport {
    pub path: PathBuf,
    pub archive_id: String,
    /// The archive's catalogue row; None when this database's catalogue does not
    /// know it (restored from its manifest alone).
    pub catalogue_id: Option<i64>,
    /// Table loaded into -> rows.
    pub counts: BTreeMap<String, u64>,
    pub rows: u64,
    pub into: Option<String>,
    pub dry_run: bool,
    /// Connections that loaded (1: one transaction).
    pub jobs: usize,
    /// With --jobs: members an earlier, stopped run had already loaded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resumed: Option<restore_jobs::Resumed>,
    /// Said to the operator beside the counts (a dry run asked for --jobs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Rows left out because their subject was erased after the archive was made.
    pub left_out_erased: u64,
    /// Subjects erased after the archive was made, whose rows were left out (or,
    /// with --restore-erased, restored).
    pub erased_subjects: u64,
}

fn check_side_schema(name: &str, map_schema: &str) -> anyhow::Result<()> {
    let valid = !name.is_empty()
        && name.len() <= 63
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        && !name.as_bytes()[0].is_ascii_digit();
    let reserved =
        name == map_schema || name == "derbes" || name == "public" || name.starts_with("pg_");
    if !valid || reserved {
        return Err(DerbesError::Usage(format!(
            "--into `{name}`: give a new schema name of lower-case letters, digits and _ \
             (not public, derbes, pg_* or the data map's schema)"
        ))
        .into());
    }
    Ok(())
}

/// The audit row of a restore: the rows per table, the archive and where it went,
/// and `extra` details (a parallel restore's jobs and members).
pub(crate) fn restore_entry(
    manifest: &Manifest,
    options: &RestoreOptions,
    entry: Option<&CatalogueEntry>,
    counts: &BTreeMap<String, u64>,
    extra: serde_json::Value,
) -> AuditEntry {
    let mut detail = serde_json::json!({
        "archive_id": manifest.kind.archive_id,
        "into": options.into,
        "catalogue_id": entry.map(|e| e.id),
    });
    if let (Some(detail), serde_json::Value::Object(extra)) = (detail.as_object_mut(), extra) {
        detail.extend(extra);
    }
    AuditEntry {
        action: "archive.restore".to_owned(),
        ticket: options.ticket.clone(),
        subject_ref: manifest.kind.selection.subject_ref.clone(),
        counts: counts.iter().map(|(t, n)| (t.clone(), *n as i64)).collect(),
        fields: Vec::new(),
        detail,
    }
}

/// Verify an archive, then load its rows with `COPY ... FROM STDIN` in one
/// transaction: into the original tables (parents first), or into tables of a side
/// schema. A row that breaks a constraint rolls everything back and is reported by
/// table and constraint, never by value.
///
/// The archive stands alone: one the catalogue does not know (e.g. restored into a
/// fresh database) is checked against its own manifest and loaded, and the report
/// says it is not catalogued. Original tables must exist; side tables are created
/// `LIKE` the originals where they exist, else from the manifest's column names and
/// types (no constraints). Generated columns are left out (the server computes
/// them again) and `GENERATED ALWAYS` identity columns get the archived values:
/// such a table is loaded through a temporary table and
/// `INSERT ... OVERRIDING SYSTEM VALUE`; the identity's sequence is then moved past
/// the largest value loaded (not in a dry run: sequences do not roll back).
///
/// With [`RestoreOptions::jobs`] of more than one (and not a dry run), members load
/// on several connections, one transaction each, resumably: see [`restore_jobs`].
pub async fn restore(
    client: &mut Client,
    identities: Arc<Identities>,
    map_schema: &str,
    options: RestoreOptions,
) -> anyhow::Result<RestoreReport> {
    if let Some(schema) = &options.into {
        check_side_schema(schema, map_schema)?;
    }
    let (checked, entry) = check_and_find(
        &*client,
        &options.path,
        identities.clone(),
        options.progress.clone(),
    )
    .await?;
    let manifest = checked.manifest;
    let catalog = Catalog::read(&*client).await?;

    // Archives list parent tables before their children (see `write_verified`), so
    // loading in archive order keeps foreign keys satisfied as rows arrive.
    if options.into.is_none() {
        for table in &manifest.tables {
            let name = table_name(&table.table);
            if !catalog.tables.contains_key(&name) {
                return Err(DerbesError::Refused(format!(
                    "table {name} of the archive is not in this database: create it first (from the \
                     schema the archive came from), or restore --into SCHEMA, which creates side \
                     tables from the archive's column definitions"
                ))
                .into());
            }
        }
    }

    // Subjects erased after the archive was made stay erased: their rows are left
    // out, found through the data map's link paths (one transaction).
    let erased = erased_since(&*client, &options, &manifest).await?;
    let filtering = erased > 0 && !options.restore_erased;
    let filter_map = match (&options.map, filtering) {
        (Some(map), true) => Some(map),
        (None, true) => {
            return Err(DerbesError::Usage(format!(
                "{erased} subject(s) were erased after this archive was made: give the data map \
                 (--map or DERBES_MAP) so their rows can be left out, or --restore-erased to \
                 restore them for a legal need (audited); nothing was loaded"
            ))
            .into())
        }
        _ => None,
    };
    // Several connections, one transaction per member (`restore_jobs`); a dry run
    // stays one transaction, rolled back, and so does a restore that leaves rows out.
    let jobs = options.jobs.as_ref().map_or(1, |j| j.jobs);
    if jobs > 1 && !options.dry_run && filter_map.is_none() {
        return restore_jobs::restore(client, identities, manifest, entry, &catalog, options).await;
    }
    let note = (jobs > 1).then(|| {
        format!(
            "--dry-run loads in one transaction, as --jobs 1 does: the per-member commits of \
             --jobs {jobs} cannot be rolled back together"
        )
    });

    let tx = client.transaction().await?;
    if filter_map.is_some() {
        tx.execute(
            &format!("CREATE TEMPORARY TABLE {ERASED} (key text NOT NULL) ON COMMIT DROP"),
            &[],
        )
        .await?;
        tx.execute(
            &format!(
                "INSERT INTO pg_temp.{ERASED} SELECT DISTINCT subject_key FROM derbes.erasures \
                 WHERE subject_table = $1 AND erased_at > $2"
            ),
            &[
                &options
                    .map
                    .as_ref()
                    .map(|m| m.subject.table.clone())
                    .unwrap_or_default(),
                &manifest.created_at,
            ],
        )
        .await?;
    }
    let mut targets: BTreeMap<String, Target> = BTreeMap::new();
    let mut left_out = BTreeMap::new();
    for (index, table) in manifest.tables.iter().enumerate() {
        let name = table_name(&table.table);
        let mut target = match &options.into {
            None => Target::original(&tx, name.clone(), index, &table.columns).await?,
            Some(schema) => create_side_table(&tx, &catalog, schema, table).await?,
        };
        if let Some(map) = filter_map {
            if let Some(erased) = erased_rows(map, &catalog, &name)? {
                target
                    .leave_out(&tx, index, &table.columns, &erased)
                    .await?;
                left_out.insert(table.table.clone(), 0u64);
            }
        }
        targets.insert(table.table.clone(), target);
    }

    let mut counts = BTreeMap::new();
    let path = options.path.clone();
    let file = read::Telling::new(std::fs::File::open(&path)?, options.progress.clone());
    let plain = crate::files::crypto::decrypt(file, &identities)?;
    let mut archive = tar::Archive::new(plain);
    let by_member: BTreeMap<&str, &manifest::TableEntry> = manifest
        .members()
        .map(|(t, m)| (m.name.as_str(), t))
        .collect();
    // Deferrable foreign keys (e.g. between rows of one table) are checked at commit.
    tx.batch_execute("SET CONSTRAINTS ALL DEFERRED").await?;
    for entry in archive.entries()? {
        let mut entry = entry?;
        let name = entry.path()?.to_string_lossy().into_owned();
        let Some(table) = by_member.get(name.as_str()) else {
            continue;
        };
        let target = &targets[&table.table];
        let refused = |e: tokio_postgres::Error| -> anyhow::Error {
            if crate::pg::db::connection_lost(&e) {
                // Not a refusal: the session is gone (exit 1, with the advice).
                return anyhow::Error::new(e).context(format!(
                    "restoring {} failed; nothing was loaded",
                    table.table
                ));
            }
            match e.as_db_error() {
                Some(db) => DerbesError::Refused(format!(
                    "restoring {} into {} failed: {}; nothing was loaded. \
                     Restore --into a side schema to compare with what is there",
                    table.table,
                    target.table,
                    crate::pg::db::describe_db(db)
                ))
                .into(),
                None => anyhow::anyhow!(
                    "restoring {} failed: {}; nothing was loaded. Check the connection to the \
                     database and run the restore again",
                    table.table,
                    crate::pg::db::describe(&e)
                ),
            }
        };
        let sink = tx
            .copy_in(target.copy_sql.as_str())
            .await
            .map_err(refused)?;
        futures_util::pin_mut!(sink);
        let mut buffer = vec![0u8; 256 * 1024];
        loop {
            let n = std::io::Read::read(&mut entry, &mut buffer)?;
            if n == 0 {
                break;
            }
            sink.send(Bytes::copy_from_slice(&buffer[..n]))
                .await
                .map_err(refused)?;
        }
        let mut loaded = sink.finish().await.map_err(refused)?;
        if let Some(count) = &target.left_out_sql {
            let n: i64 = tx
                .query_one(count.as_str(), &[])
                .await
                .map_err(refused)?
                .get(0);
            *left_out.entry(table.table.clone()).or_insert(0) += n as u64;
        }
        if let Some(insert) = &target.insert_sql {
            loaded = tx.execute(insert.as_str(), &[]).await.map_err(refused)?;
            tx.batch_execute(&format!("TRUNCATE {}", target.staging_quoted()))
                .await
                .map_err(refused)?;
        }
        *counts.entry(target.table.to_string()).or_insert(0u64) += loaded;
        crate::fault::point("archive.restore.loading");
    }
    if !options.dry_run {
        for target in targets.values() {
            target.advance_identities(&tx).await?;
        }
    }
    let rows = counts.values().sum();
    let left_out_erased: u64 = left_out.values().sum();
    audit::append(
        &tx,
        &options.operator,
        &restore_entry(
            &manifest,
            &options,
            entry.as_ref(),
            &counts,
            serde_json::json!({
                "erased_subjects": erased,
                "left_out_erased": left_out,
                "restored_erased": erased > 0 && options.restore_erased,
            }),
        ),
    )
    .await?;
    crate::fault::point("archive.restore.committing");
    crate::pg::db::finish(tx, options.dry_run)
        .await
        .map_err(|e| {
            if crate::pg::db::connection_lost(&e) {
                // The commit may have reached the server before the connection went.
                return anyhow::Error::new(e).context(
                    "restoring failed at commit: whether the rows were loaded is unknown; \
                 `derbes audit log` shows an archive.restore row if they were",
                );
            }
            DerbesError::Refused(format!(
                "restoring failed at commit: {}; nothing was loaded",
                crate::pg::db::describe(&e)
            ))
            .into()
        })?;
    Ok(RestoreReport {
        path,
        archive_id: manifest.kind.archive_id,
        catalogue_id: entry.map(|e| e.id),
        counts,
        rows,
        into: options.into,
        dry_run: options.dry_run,
        jobs: 1,
        resumed: None,
        note,
        left_out_erased,
        erased_subjects: erased,
    })
}

/// Session table of the keys of subjects erased after the archive was made.
const ERASED: &str = "derbes_restore_erased";

/// Subjects erased (the erasure ledger) after the archive was made; 0 when the
/// ledger is not there yet.
async fn erased_since(
    client: &impl GenericClient,
    options: &RestoreOptions,
    manifest: &Manifest,
) -> anyhow::Result<u64> {
    let table = match &options.map {
        Some(map) => map.subject.table.clone(),
        None => String::new(),
    };
    let n: i64 = client
        .query_one(
            "SELECT count(DISTINCT (subject_table, subject_key)) FROM derbes.erasures \
             WHERE ($1 = '' OR subject_table = $1) AND erased_at > $2",
            &[&table, &manifest.created_at],
        )
        .await?
        .get(0);
    Ok(n as u64)
}

/// The condition on `t0` (a row of `table`, or of its staging table) that it
/// belongs to a subject in [`ERASED`]; None for a table the map does not link.
fn erased_rows(
    map: &crate::map::DataMap,
    catalog: &Catalog,
    table: &TableName,
) -> anyhow::Result<Option<String>> {
    let Some(mapped) = map
        .tables
        .keys()
        .find(|k| &map.table_name(k) == table)
        .cloned()
    else {
        return Ok(None);
    };
    let path = crate::map::link::LinkPath::compile(map, catalog, &mapped)
        .map_err(DerbesError::VerificationFailed)?;
    let query = format!("SELECT key::{} FROM pg_temp.{ERASED}", path.key_type);
    Ok(Some(format!(
        "COALESCE({}, false)",
        path.rows_of("t0", crate::map::link::KeyMatch::In(&query))
    )))
}

/// Create the side table of `schema` for an archived table (in `tx`): `LIKE` the
/// original where this database has it, else from the manifest's columns.
async fn create_side_table(
    tx: &Transaction<'_>,
    catalog: &Catalog,
    schema: &str,
    table: &manifest::TableEntry,
) -> anyhow::Result<Target> {
    let name = table_name(&table.table);
    let side = TableName {
        schema: schema.to_owned(),
        table: name.table.clone(),
    };
    let definition = if catalog.tables.contains_key(&name) {
        format!("(LIKE {})", name.quoted())
    } else {
        columns_from_manifest(tx, &table.table, &table.columns).await?
    };
    tx.batch_execute(&format!(
        "CREATE SCHEMA IF NOT EXISTS {}; CREATE TABLE {} {definition}",
        quote_ident(schema),
        side.quoted(),
    ))
    .await
    .map_err(|e| {
        if crate::pg::db::connection_lost(&e) {
            // Not a refusal: the session is gone (exit 1, with the advice).
            return anyhow::Error::new(e).context(
                "the connection to the database was lost during the restore: \
                 nothing was loaded",
            );
        }
        anyhow::Error::from(DerbesError::Refused(format!(
            "cannot create side table {side}: {}; drop it or choose another --into schema",
            crate::pg::db::describe(&e)
        )))
    })?;
    Ok(Target::plain(side, &table.columns))
}

/// Where one archived table's rows go, and how.
struct Target {
    table: TableName,
    /// `COPY ... FROM STDIN` into the table, or into its staging table.
    copy_sql: String,
    /// Staging table (`pg_temp`) when the table has generated or `GENERATED ALWAYS`
    /// identity columns among the archived ones.
    staging: Option<String>,
    /// `INSERT INTO table (...) OVERRIDING SYSTEM VALUE SELECT ... FROM staging`.
    insert_sql: Option<String>,
    /// `CREATE TEMPORARY TABLE staging ... ON COMMIT DROP`: run in each transaction
    /// that loads through the staging table.
    create_staging: Option<String>,
    /// Identity columns given archived values, whose sequences follow them.
    identities: Vec<String>,
    /// Counts the staged rows of erased subjects (left out by `insert_sql`).
    left_out_sql: Option<String>,
}

fn column_list_of(columns: &[&str]) -> String {
    columns
        .iter()
        .map(|c| quote_ident(c))
        .collect::<Vec<_>>()
        .join(", ")
}

fn copy_into(table: &str, columns: &[&str]) -> String {
    format!(
        "COPY {table} ({}) FROM STDIN (FORMAT csv, HEADER)",
        column_list_of(columns)
    )
}

impl Target {
    /// A table without generated or identity columns of its own (a side table).
    fn plain(table: TableName, columns: &[ColumnDef]) -> Target {
        let names: Vec<&str> = columns.iter().map(|c| c.name.as_str()).collect();
        Target {
            copy_sql: copy_into(&table.quoted(), &names),
            table,
            staging: None,
            insert_sql: None,
            create_staging: None,
            identities: Vec::new(),
            left_out_sql: None,
        }
    }

    /// An original table: read which archived columns it generates (left out) and
    /// which are identity columns; stage through a temporary table where `COPY`
    /// cannot write directly, created in `tx` (`ON COMMIT DROP`).
    async fn original(
        tx: &Transaction<'_>,
        table: TableName,
        index: usize,
        columns: &[ColumnDef],
    ) -> anyhow::Result<Target> {
        let target = Target::inspect(tx, table, index, columns).await?;
        target.create_staging(tx).await?;
        Ok(target)
    }

    /// [`Target::original`] without creating the staging table: each transaction
    /// that loads through it creates its own ([`Target::create_staging`]).
    async fn inspect(
        client: &impl GenericClient,
        table: TableName,
        index: usize,
        columns: &[ColumnDef],
    ) -> anyhow::Result<Target> {
        let rows = client
            .query(
                "SELECT a.attname::text, a.attgenerated <> '', a.attidentity::text \
                 FROM pg_attribute a WHERE a.attrelid = $1::text::regclass \
                 AND a.attnum > 0 AND NOT a.attisdropped",
                &[&table.quoted()],
            )
            .await?;
        let mut generated = BTreeSet::new();
        let mut always = false;
        let mut identities = Vec::new();
        for row in &rows {
            let name: String = row.get(0);
            if !columns.iter().any(|c| c.name == name) {
                continue;
            }
            if row.get::<_, bool>(1) {
                generated.insert(name.clone());
            }
            match row.get::<_, String>(2).as_str() {
                "a" => {
                    always = true;
                    identities.push(name);
                }
                "d" => identities.push(name),
                _ => {}
            }
        }
        let all: Vec<&str> = columns.iter().map(|c| c.name.as_str()).collect();
        if generated.is_empty() && !always {
            let mut target = Target::plain(table, columns);
            target.identities = identities;
            return Ok(target);
        }
        let staging = format!("derbes_restore_{index}");
        let staging_quoted = format!("pg_temp.{}", quote_ident(&staging));
        // The staging table has the archived columns as plain columns of the same
        // types (CREATE TABLE AS copies neither generation nor identity).
        let create_staging = format!(
            "CREATE TEMPORARY TABLE {} ON COMMIT DROP AS SELECT {} FROM {} WITH NO DATA",
            quote_ident(&staging),
            column_list_of(&all),
            table.quoted()
        );
        let kept: Vec<&str> = all
            .iter()
            .copied()
            .filter(|c| !generated.contains(*c))
            .collect();
        let kept_list = column_list_of(&kept);
        Ok(Target {
            copy_sql: copy_into(&staging_quoted, &all),
            insert_sql: Some(format!(
                "INSERT INTO {} ({kept_list}) OVERRIDING SYSTEM VALUE SELECT {kept_list} FROM {staging_quoted}",
                table.quoted()
            )),
            table,
            staging: Some(staging),
            create_staging: Some(create_staging),
            identities,
            left_out_sql: None,
        })
    }

    /// Load through a staging table in `tx` and insert only the rows for which
    /// `erased` (a condition on `t0`) is false, counting the others.
    async fn leave_out(
        &mut self,
        tx: &Transaction<'_>,
        index: usize,
        columns: &[ColumnDef],
        erased: &str,
    ) -> anyhow::Result<()> {
        let all: Vec<&str> = columns.iter().map(|c| c.name.as_str()).collect();
        let staging_quoted = match (&self.staging, &self.insert_sql) {
            (Some(staging), Some(_)) => format!("pg_temp.{}", quote_ident(staging)),
            _ => {
                let staging = format!("derbes_restore_kept_{index}");
                let quoted = format!("pg_temp.{}", quote_ident(&staging));
                tx.batch_execute(&format!(
                    "CREATE TEMPORARY TABLE {} ON COMMIT DROP AS SELECT {} FROM {} WITH NO DATA",
                    quote_ident(&staging),
                    column_list_of(&all),
                    self.table.quoted()
                ))
                .await?;
                self.copy_sql = copy_into(&quoted, &all);
                self.insert_sql = Some(format!(
                    "INSERT INTO {} ({list}) SELECT {list} FROM {quoted}",
                    self.table.quoted(),
                    list = column_list_of(&all)
                ));
                self.staging = Some(staging);
                quoted
            }
        };
        let insert = self.insert_sql.take().expect("a staged target");
        self.insert_sql = Some(format!("{insert} t0 WHERE NOT {erased}"));
        self.left_out_sql = Some(format!(
            "SELECT count(*) FROM {staging_quoted} t0 WHERE {erased}"
        ));
        Ok(())
    }

    /// Create the staging table (if the target has one) in the current transaction.
    async fn create_staging(&self, client: &impl GenericClient) -> anyhow::Result<()> {
        let Some(create) = &self.create_staging else {
            return Ok(());
        };
        client.batch_execute(create).await.map_err(|e| {
            anyhow::anyhow!(
                "cannot create a temporary table to restore {} through: {}; check the role \
                 may create temporary tables (GRANT TEMPORARY ON DATABASE)",
                self.table,
                crate::pg::db::describe(&e)
            )
        })?;
        Ok(())
    }

    fn staging_quoted(&self) -> String {
        format!(
            "pg_temp.{}",
            quote_ident(self.staging.as_deref().unwrap_or_default())
        )
    }

    /// Move each identity column's sequence past the largest value now in the
    /// table, so later inserts (e.g. in a fresh database) do not collide.
    async fn advance_identities(&self, tx: &impl GenericClient) -> anyhow::Result<()> {
        for column in &self.identities {
            let sql = format!(
                "SELECT setval(s.seq, s.top) FROM (SELECT pg_get_serial_sequence($1, $2)::regclass AS seq, \
                 (SELECT max({})::bigint FROM {}) AS top) s \
                 WHERE s.seq IS NOT NULL AND s.top IS NOT NULL \
                 AND s.top > coalesce(pg_sequence_last_value(s.seq), 0)",
                quote_ident(column),
                self.table.quoted()
            );
            tx.query(&sql, &[&self.table.quoted(), column])
                .await
                .map_err(|e| {
                    anyhow::anyhow!(
                        "moving the identity sequence of {}.{column} past the restored rows failed: {}; \
                         nothing was loaded. Check the role may use the sequence and run again",
                        self.table,
                        crate::pg::db::describe(&e)
                    )
                })?;
        }
        Ok(())
    }
}

/// Whether a manifest's type could be a `format_type` spelling (`integer`,
/// `character varying(20)`, `numeric(12,2)`, `timestamp with time zone`, `text[]`,
/// `"char"`, `public.mood`): letters, digits, spaces and `_ , ( ) [ ] " .` only, so
/// no quote, semicolon or comment can end the type and start other SQL.
fn plain_type_spelling(text: &str) -> bool {
    !text.trim().is_empty()
        && text.len() <= 200
        && text.chars().all(|c| {
            c.is_ascii_alphanumeric()
                || matches!(c, ' ' | '_' | ',' | '(' | ')' | '[' | ']' | '"' | '.')
        })
}

/// `(col type, ...)` for a side table the database has no original of, from the
/// manifest. The names are quoted; each type must be a plain type name the server
/// knows (`to_regtype`), spelt only with letters, digits, spaces and `_ , ( ) [ ] " .`
/// as `format_type` writes them, so no text of the file reaches the SQL otherwise.
async fn columns_from_manifest(
    tx: &Transaction<'_>,
    table: &str,
    columns: &[ColumnDef],
) -> anyhow::Result<String> {
    let mut definitions = Vec::new();
    for column in columns {
        let known = plain_type_spelling(&column.pg_type)
            && tx
                .query_one("SELECT to_regtype($1) IS NOT NULL", &[&column.pg_type])
                .await
                .map(|row| row.get::<_, bool>(0))
                .unwrap_or(false);
        if !known {
            return Err(DerbesError::Refused(format!(
                "table {table} of the archive is not in this database and its column {} has a type \
                 this server does not know: create the table first, then restore into it",
                quote_ident(&column.name)
            ))
            .into());
        }
        definitions.push(format!("{} {}", quote_ident(&column.name), column.pg_type));
    }
    Ok(format!("({})", definitions.join(", ")))
}

fn table_name(text: &str) -> TableName {
    match text.split_once('.') {
        Some((schema, table)) => TableName {
            schema: schema.to_owned(),
            table: table.to_owned(),
        },
        None => TableName {
            schema: "public".to_owned(),
            table: text.to_owned(),
        },
    }
}

/// What `expire` did (or would do, in a dry run).
#[derive(Debug, Clone, Serialize)]
pub struct ExpireReport {
    /// Archives destroyed (or, in a dry run, that would be): catalogue row deleted.
    pub expired: Vec<ExpiredArchive>,
    /// Archives past keep-until whose path holds something that is not the
    /// catalogued file: the file and the catalogue row were both kept.
    pub kept: Vec<ExpiredArchive>,
    pub dry_run: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct ExpiredArchive {
    pub id: i64,
    pub path: String,
    pub keep_until: DateTime<Utc>,
    pub file: FileOutcome,
}

/// What happened to the file at a catalogued path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FileOutcome {
    /// The catalogued file was removed.
    Removed,
    /// Dry run: the catalogued file is there and would be removed.
    WouldRemove,
    /// No file at the path (e.g. a run stopped between removing the file and
    /// deleting the row): only the catalogue row goes.
    AlreadyGone,
    /// The path holds something else (a different file, a directory, a link):
    /// kept, with its catalogue row.
    NotTheArchive,
}

impl FileOutcome {
    pub fn describe(self) -> &'static str {
        match self {
            FileOutcome::Removed => "removed",
            FileOutcome::WouldRemove => "would be removed",
            FileOutcome::AlreadyGone => "already gone: catalogue row deleted",
            FileOutcome::NotTheArchive => "KEPT: not the catalogued file (SHA-256 differs)",
        }
    }
}

/// What sits at a catalogued path, compared by size and SHA-256 with the catalogue.
enum AtPath {
    Missing,
    TheArchive,
    SomethingElse,
}

fn examine(path: &str, sha256: &str, bytes: i64) -> std::io::Result<AtPath> {
    use sha2::{Digest, Sha256};
    use std::io::Read;
    let meta = match std::fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(AtPath::Missing),
        Err(e) => return Err(e),
    };
    if !meta.file_type().is_file() || meta.len() as i64 != bytes {
        return Ok(AtPath::SomethingElse);
    }
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1024 * 1024];
    loop {
        let n = file.read(&mut buffer)?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
    }
    Ok(if hex::encode(hasher.finalize()) == sha256 {
        AtPath::TheArchive
    } else {
        AtPath::SomethingElse
    })
}

/// Destroy every archive past its keep-until: remove the file and its catalogue row,
/// one audit row per archive (the record that it existed and when it was
/// destroyed), each in its own transaction.
///
/// A file is removed only when its size and SHA-256 are the catalogue's; anything
/// else at the path is kept, with its catalogue row, and reported in
/// [`ExpireReport::kept`]. Both steps are safe to repeat: a run stopped after
/// removing the file leaves a row whose file is gone, which the next run deletes
/// (reported as [`FileOutcome::AlreadyGone`]).
/// One run at a time per database: a second `archive expire` exits 7 at once.
pub async fn expire(
    client: &mut Client,
    operator: &str,
    ticket: Option<String>,
    dry_run: bool,
) -> anyhow::Result<ExpireReport> {
    let lock = crate::pg::change::RunLock::acquire(client, "archive expire", "database").await?;
    let result = expire_locked(client, operator, ticket, dry_run).await;
    lock.release(client).await?;
    result
}

async fn expire_locked(
    client: &mut Client,
    operator: &str,
    ticket: Option<String>,
    dry_run: bool,
) -> anyhow::Result<ExpireReport> {
    let due = list(&*client, true).await?;
    let mut expired = Vec::new();
    let mut kept = Vec::new();
    for archive in due {
        let (path, sha256, bytes) = (archive.path.clone(), archive.sha256.clone(), archive.bytes);
        let at_path = tokio::task::spawn_blocking(move || examine(&path, &sha256, bytes))
            .await?
            .map_err(|e| {
                anyhow::anyhow!(
                    "cannot read expired archive {} to check it against the catalogue: {e}; \
                     fix its permissions and run `derbes archive expire` again",
                    archive.path
                )
            })?;
        let present = match at_path {
            AtPath::SomethingElse => {
                kept.push(ExpiredArchive {
                    id: archive.id,
                    path: archive.path,
                    keep_until: archive.keep_until,
                    file: FileOutcome::NotTheArchive,
                });
                continue;
            }
            AtPath::TheArchive => true,
            AtPath::Missing => false,
        };
        let tx = client.transaction().await?;
        let updated = tx
            .execute("DELETE FROM derbes.archives WHERE id = $1", &[&archive.id])
            .await?;
        if updated == 0 {
            continue; // another run expired it meanwhile
        }
        audit::append(
            &tx,
            operator,
            &AuditEntry {
                action: "archive.expire".to_owned(),
                ticket: ticket.clone(),
                subject_ref: archive
                    .selection
                    .get("subject_ref")
                    .and_then(|v| v.as_str())
                    .map(str::to_owned),
                counts: BTreeMap::new(),
                fields: Vec::new(),
                detail: serde_json::json!({
                    "archive_id": archive.archive_id,
                    "catalogue_id": archive.id,
                    "sha256": archive.sha256,
                    "keep_until": archive.keep_until,
                    "file_was_present": present,
                }),
            },
        )
        .await?;
        // The file goes before the row's deletion commits: a stop in between leaves
        // a row whose file is gone, which the next run deletes.
        if !dry_run && present {
            match std::fs::remove_file(&archive.path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    return Err(anyhow::anyhow!(
                        "cannot remove expired archive {}: {e}; fix its permissions and run `derbes archive expire` again",
                        archive.path
                    ))
                }
            }
            crate::fault::point("archive.expire.removed");
        }
        crate::pg::db::finish(tx, dry_run).await?;
        expired.push(ExpiredArchive {
            id: archive.id,
            path: archive.path,
            keep_until: archive.keep_until,
            file: match (present, dry_run) {
                (true, true) => FileOutcome::WouldRemove,
                (true, false) => FileOutcome::Removed,
                (false, _) => FileOutcome::AlreadyGone,
            },
        });
    }
    Ok(ExpireReport {
        expired,
        kept,
        dry_run,
    })
}

#[cfg(test)]
mod tests {
    use super::plain_type_spelling;

    /// Types in a manifest reach `CREATE TABLE` of a side table: only spellings
    /// `format_type` writes pass; anything that could end the type and run other SQL
    /// is refused.
    #[test]
    fn archive_manifest_types_are_plain_spellings_only() {
        for good in [
            "integer",
            "bigint",
            "character varying(20)",
            "numeric(12,2)",
            "timestamp with time zone",
            "text[]",
            "\"char\"",
            "public.mood",
            "inet",
        ] {
            assert!(plain_type_spelling(good), "{good}");
        }
        for bad in [
            "",
            "   ",
            "text); DROP TABLE borrowers; --",
            "text default 'x'",
            "int -- comment",
            "text/*x*/",
            "text\n",
            &"a".repeat(201),
        ] {
            assert!(!plain_type_spelling(bad), "{bad:?}");
        }
    }
}
