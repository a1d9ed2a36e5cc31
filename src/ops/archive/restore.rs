//! `archive restore`: an archive verified, then loaded in one transaction (or, with
//! `--jobs`, member by member: [`super::restore_jobs`]), leaving out the rows of
//! subjects erased since it was made.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use futures_util::SinkExt;
use serde::Serialize;
use tokio_postgres::{Client, GenericClient};

use crate::error::DerbesError;
use crate::files::crypto::Identities;
use crate::map::TableName;
use crate::pg::audit::{self, AuditEntry};
use crate::pg::catalog::Catalog;
use crate::pg::change;

use super::register::RegisterEntry;
use super::target::{create_side_table, table_name, Target};
use super::verify::check_and_find;
use super::{manifest, read, restore_jobs, session_limits, Manifest};

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
    /// The archive's register row; None when this database's register does not
    /// know it (restored from its manifest alone).
    #[serde(rename = "catalogue_id")]
    pub register_id: Option<i64>,
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
pub(super) fn restore_entry(
    manifest: &Manifest,
    options: &RestoreOptions,
    entry: Option<&RegisterEntry>,
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
/// The archive stands alone: one the register does not know (e.g. restored into a
/// fresh database) is checked against its own manifest and loaded, and the report
/// says it is not registered. Original tables must exist; side tables are created
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

    // On the change engine (a read-only server refused); the audit row is appended
    // below and the commit's own error kept, to tell a lost connection (outcome
    // unknown) from a refusal.
    let limits = session_limits(client).await?;
    let tx = change::begin(client, &limits, options.dry_run)
        .await?
        .into_transaction();
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
        register_id: entry.map(|e| e.id),
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
