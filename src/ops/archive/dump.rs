//! Writing an archive: [`dump`] (`archive dump`, a change that deletes nothing) and
//! [`write_verified`], which erasure and purging call in their own transaction:
//! each table's rows streamed with `COPY`, written, read back and checked, then the
//! register and audit rows inserted. With `capture_keys` the same statement keeps
//! the archived rows' keys for the delete that follows.

use std::collections::BTreeSet;

use chrono::Utc;
use tokio_postgres::{Client, Transaction};

use crate::error::DerbesError;
use crate::files::secure_file::SecureFile;
use crate::files::tar_writer::{Member, TarWriter};
use crate::map::{quote_ident, DataMap, TableName};
use crate::pg::audit::{self, AuditEntry};
use crate::pg::catalog::Catalog;
use crate::pg::change;

use super::register::{absolute, refuse_registered};
use super::{
    manifest, parallel, read, select, session_limits, write, ArchiveReceipt, ArchiveRequest,
    ArchiveSummary, ArchivedKeys, Manifest, Progress, Selection, ROW_ADDRESS,
};

/// Settings for the dump's own transaction. A dump's cost estimate is high (the
/// cut-off is a parameter, so the planner cannot prune partitions before running),
/// and JIT then spends over half a second inlining and optimising expressions a
/// scan bound by CSV output gains nothing from; plain JIT compilation stays.
const DUMP_SETTINGS: &[(&str, &str)] = &[
    ("jit_inline_above_cost", "-1"),
    ("jit_optimize_above_cost", "-1"),
];

/// `archive dump`: write, read back and register an archive as one change that
/// deletes nothing; committed, or for a dry run rolled back with the file removed.
pub async fn dump(
    client: &mut Client,
    map: &DataMap,
    catalog: &Catalog,
    request: ArchiveRequest,
    dry_run: bool,
    progress: Progress<'_>,
) -> anyhow::Result<ArchiveSummary> {
    let limits = session_limits(&*client).await?;
    // The receipt ends the transaction itself (it keeps or removes the file by the
    // commit's outcome), and `write_verified` appends the audit row in it.
    let tx = change::begin(client, &limits, dry_run)
        .await?
        .into_transaction();
    let receipt = write_verified(&tx, map, catalog, request, progress).await?;
    if dry_run {
        receipt.discard(tx).await
    } else {
        receipt.commit(tx).await
    }
}

/// Dump the selected rows into an archive, read it back and check it, and record
/// it in the register and the audit trail, all in `tx`. See the module docs.
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

    // The register lists the operator's recipients; the read-back key is added only
    // to the file and its secret is dropped when this function returns.
    let mut recipients = request.recipients;
    let public = recipients.public.clone();
    let read_back = age::x25519::Identity::generate();
    recipients.add(&read_back.to_public().to_string(), public.len() + 1)?;

    let out = absolute(&request.out);
    if request.overwrite {
        refuse_registered(tx, &out).await?;
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
    // register row commits.
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
