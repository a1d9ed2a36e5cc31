//! Age-encrypted archives of rows the law says to keep (POLICY.md 8.1): the safety
//! net under erasure and purging, and the only place such rows live on.
//!
//! An archive is one age file holding a tar: one CSV per table (cut into parts of
//! at most [`write::PART_BYTES`]; see `write`), then `manifest.json` with the
//! selection, columns, row counts and each member's SHA-256. Each archive is
//! catalogued in `derbes.archives` (path, digest of the whole file, recipients,
//! counts, keep-until) with an audit row.
//!
//! The API erasure and purging call:
//!
//! ```text
//! let tx = client.transaction().await?;
//! let receipt = archive::write_verified(&tx, &map, &catalog, request, &|_, _| {}).await?;
//! // ... delete the archived rows in `tx` ...
//! receipt.commit(tx).await?;          // commit; the file is kept
//! ```
//!
//! `write_verified` dumps the rows, reads the file back from disk with a one-off
//! read-back key (an extra X25519 recipient whose secret never leaves memory) and
//! checks every member (following the writer, a few megabytes behind it, so the
//! check costs little beyond the dump itself), then inserts the catalogue and audit rows in the caller's
//! transaction. Until [`ArchiveReceipt::commit`] succeeds, dropping the receipt
//! removes the file, so a failed or rolled-back delete leaves no stray archive.
//!
//! The rows archived are those the caller's transaction sees; the caller deletes
//! with the same selection in the same transaction.

pub mod manifest;
pub mod read;
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

use crate::audit::{self, AuditEntry};
use crate::catalog::Catalog;
use crate::crypto::{Identities, Recipients};
use crate::datamap::{quote_ident, DataMap, TableName};
use crate::error::DerbesError;
use crate::secure_file::{OutputError, SecureFile};

pub use manifest::Manifest;
pub use select::{estimated_rows, OlderThan, Selection, SelectionRecord};

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
    /// Largest CSV member, in bytes; [`write::PART_BYTES`] unless testing.
    pub part_bytes: usize,
}

/// A written, read-back and catalogued archive, not yet committed. Dropping it
/// without [`ArchiveReceipt::commit`] removes the file.
#[derive(Debug)]
pub struct ArchiveReceipt {
    pub summary: ArchiveSummary,
    armed: bool,
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
    /// Commit the caller's transaction (the delete, the catalogue and audit rows);
    /// from then on the file stays.
    pub async fn commit(mut self, tx: Transaction<'_>) -> anyhow::Result<ArchiveSummary> {
        tx.commit().await.map_err(|e| {
            anyhow::anyhow!(
                "committing after archive {} failed: {}; the archive was removed and nothing changed",
                self.summary.path.display(),
                crate::db::describe(&e)
            )
        })?;
        self.armed = false;
        Ok(self.summary.clone())
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

fn output_error(error: OutputError) -> anyhow::Error {
    match error {
        OutputError::Exists { .. }
        | OutputError::IsDirectory { .. }
        | OutputError::NotRegular { .. } => DerbesError::Usage(error.to_string()).into(),
        other => anyhow::Error::new(other),
    }
}

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
    let file = SecureFile::create(&out, request.overwrite).map_err(output_error)?;
    let mut writer =
        write::ArchiveWriter::start(file, recipients, created_at.timestamp().max(0) as u64)?;
    // The read-back follows the writer: it decrypts and checks what was written and
    // fsynced while later parts are still being dumped.
    let following = writer.follow()?;
    let read_back_path = out.clone();
    let read_back = std::thread::Builder::new()
        .name("archive-read-back".to_owned())
        .spawn(move || read::check_following(&read_back_path, following, &read_back))?;
    let mut tables = Vec::new();
    for table in &plan.tables {
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
        version: 1,
        archive_id: archive_id.clone(),
        created_at,
        keep_until,
        operator: request.operator.clone(),
        ticket: request.ticket.clone(),
        database,
        selection: plan.record.clone(),
        map_digest: map.digest(),
        empty: tables.iter().all(|t| t.rows == 0),
        tables,
    };
    let manifest_json = serde_json::to_vec_pretty(&manifest)?;
    writer
        .send(write::Member {
            name: manifest::MANIFEST_NAME.to_owned(),
            data: manifest_json,
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
            empty: manifest.empty,
            selection: plan.record.clone(),
            created_at,
            keep_until,
        },
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
    if checked.sha256 != written.sha256
        || checked.manifest.archive_id != archive_id
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
    let owned = path.to_owned();
    let checked = tokio::task::spawn_blocking(move || {
        read::check_with_identities_reporting(&owned, &identities, true, bytes_read)
    })
    .await??;
    let manifest = checked.manifest;
    let row = client
        .query_opt(
            &format!("SELECT {CATALOGUE_COLUMNS} FROM derbes.archives WHERE archive_id = $1"),
            &[&manifest.archive_id],
        )
        .await?;
    let entry = row.as_ref().map(catalogue_entry).ok_or_else(|| {
        DerbesError::VerificationFailed(format!(
            "archive {} (id {}) is not in this database's archive catalogue: it was not made here, or its dump was rolled back",
            path.display(),
            manifest.archive_id
        ))
    })?;
    if entry.sha256 != checked.sha256 || entry.bytes as u64 != checked.bytes {
        return Err(DerbesError::VerificationFailed(format!(
            "archive {}: its SHA-256 differs from the catalogue's (catalogue id {}): the file was replaced or altered",
            path.display(),
            entry.id
        ))
        .into());
    }
    let report = VerifyReport {
        path: path.to_owned(),
        archive_id: manifest.archive_id.clone(),
        sha256: checked.sha256,
        bytes: checked.bytes,
        catalogue_id: entry.id,
        created_at: manifest.created_at,
        keep_until: manifest.keep_until,
        selection: manifest.selection.clone(),
        counts: manifest
            .tables
            .iter()
            .map(|t| (t.table.clone(), t.rows))
            .collect(),
        members: manifest.members().count(),
        rows: manifest.total_rows(),
        empty: manifest.empty,
    };
    Ok((report, manifest))
}

/// Options of a restore.
pub struct RestoreOptions {
    pub path: PathBuf,
    /// Load into new tables of this schema instead of the originals.
    pub into: Option<String>,
    pub dry_run: bool,
    pub operator: String,
    pub ticket: Option<String>,
}

/// What a restore loaded (or would load, in a dry run).
#[derive(Debug, Clone, Serialize)]
pub struct RestoreReport {
    pub path: PathBuf,
    pub archive_id: String,
    /// Table loaded into -> rows.
    pub counts: BTreeMap<String, u64>,
    pub rows: u64,
    pub into: Option<String>,
    pub dry_run: bool,
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

/// Verify an archive, then load its rows with `COPY ... FROM STDIN` in one
/// transaction: into the original tables (parents first), or into tables of a side
/// schema created `LIKE` the originals. A row that breaks a constraint rolls
/// everything back and is reported by table and constraint, never by value.
pub async fn restore(
    client: &mut Client,
    identities: Arc<Identities>,
    map_schema: &str,
    options: RestoreOptions,
) -> anyhow::Result<RestoreReport> {
    if let Some(schema) = &options.into {
        check_side_schema(schema, map_schema)?;
    }
    let (_, manifest) = verify(&*client, &options.path, identities.clone()).await?;
    let catalog = Catalog::read(&*client).await?;

    // Archives list parent tables before their children (see `write_verified`), so
    // loading in archive order keeps foreign keys satisfied as rows arrive.
    let order: Vec<TableName> = manifest
        .tables
        .iter()
        .map(|t| table_name(&t.table))
        .collect();
    for name in &order {
        if !catalog.tables.contains_key(name) {
            return Err(DerbesError::Refused(format!(
                "table {name} of the archive is not in this database: create it first, or restore elsewhere"
            ))
            .into());
        }
    }

    let tx = client.transaction().await?;
    let mut targets: BTreeMap<TableName, TableName> = BTreeMap::new();
    for name in &order {
        let target = match &options.into {
            None => name.clone(),
            Some(schema) => {
                let side = TableName {
                    schema: schema.clone(),
                    table: name.table.clone(),
                };
                tx.batch_execute(&format!(
                    "CREATE SCHEMA IF NOT EXISTS {}; CREATE TABLE {} (LIKE {})",
                    quote_ident(schema),
                    side.quoted(),
                    name.quoted()
                ))
                .await
                .map_err(|e| {
                    DerbesError::Refused(format!(
                        "cannot create side table {side}: {}; drop it or choose another --into schema",
                        crate::db::describe(&e)
                    ))
                })?;
                side
            }
        };
        targets.insert(name.clone(), target);
    }

    let mut counts = BTreeMap::new();
    let path = options.path.clone();
    let file = std::fs::File::open(&path)?;
    let plain = crate::crypto::decrypt(file, &identities)?;
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
        let source = table_name(&table.table);
        let target = &targets[&source];
        let columns = table
            .columns
            .iter()
            .map(|c| quote_ident(&c.name))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "COPY {} ({columns}) FROM STDIN (FORMAT csv, HEADER)",
            target.quoted()
        );
        let refused = |e: tokio_postgres::Error| -> anyhow::Error {
            match e.as_db_error() {
                Some(db) => DerbesError::Refused(format!(
                    "restoring {source} into {target} failed: {}; nothing was loaded. \
                     Restore --into a side schema to compare with what is there",
                    crate::db::describe_db(db)
                ))
                .into(),
                None => anyhow::anyhow!("restoring {source} failed: {e}; nothing was loaded"),
            }
        };
        let sink = tx.copy_in(sql.as_str()).await.map_err(refused)?;
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
        let loaded = sink.finish().await.map_err(refused)?;
        *counts.entry(target.to_string()).or_insert(0u64) += loaded;
    }
    let rows = counts.values().sum();
    audit::append(
        &tx,
        &options.operator,
        &AuditEntry {
            action: "archive.restore".to_owned(),
            ticket: options.ticket.clone(),
            subject_ref: manifest.selection.subject_ref.clone(),
            counts: counts.iter().map(|(t, n)| (t.clone(), *n as i64)).collect(),
            fields: Vec::new(),
            detail: serde_json::json!({
                "archive_id": manifest.archive_id,
                "into": options.into,
            }),
        },
    )
    .await?;
    crate::db::finish(tx, options.dry_run).await.map_err(|e| {
        DerbesError::Refused(format!(
            "restoring failed at commit: {} ; nothing was loaded",
            crate::db::describe(&e)
        ))
    })?;
    Ok(RestoreReport {
        path,
        archive_id: manifest.archive_id,
        counts,
        rows,
        into: options.into,
        dry_run: options.dry_run,
    })
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
pub async fn expire(
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
        }
        crate::db::finish(tx, dry_run).await?;
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
