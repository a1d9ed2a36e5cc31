//! The subject-access bundle (docs/policy.md 2.3, 4, 7.2; Law 94-V Art. 24(1)(1)).
//!
//! [`write_bundle`] reads everything the data map says belongs to one subject,
//! through every table's link path, and writes it through the one tar writer
//! ([`crate::files::tar_writer`], age-encrypted as it is written) as:
//! - `tables/<table>.csv`: every row of every mapped table, all columns; a table
//!   larger than a part is `tables/<table>.0001.csv`, `.0002.csv`, ... each with
//!   the header line;
//! - `data.json`: the personal data by category, each category with its purposes,
//!   legal bases and retention from the map, the recipients the disclosure ledger
//!   says received it, its record count and the parts and columns that hold its
//!   values; then the consent history, every transfer, the subject's requests and
//!   the notices of policy versions with any objection;
//! - `summary.html`: the same facts for a reader without tools, in Kazakh, Russian
//!   and English: labels and texts in each section's language where derbes or the
//!   data map knows them;
//! - `manifest.json` (last): the shared manifest model ([`crate::files::manifest`],
//!   format `derbes-export` version 2): subject reference, time, operator, ticket,
//!   data-map digest, every table's columns, rows and parts, and every member's size
//!   and SHA-256.
//!
//! Memory stays flat whatever the subject holds: rows are streamed from the server
//! into parts of at most a few MiB, and nothing but the output file touches the disk.
//!
//! [`export`] is the whole command's work: the bundle read in one read-only snapshot
//! (on the primary or a replica of it), then its audit row appended on the primary
//! as a change of its own, and the file kept only if that change commits.

use std::collections::BTreeMap;
use std::io;
use std::path::PathBuf;

use chrono::{DateTime, Utc};
use futures_util::{pin_mut, TryStreamExt};
use serde::Serialize;
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::{Client, GenericClient};

use crate::files::manifest::{ColumnDef, MemberEntry, TableEntry, MANIFEST_NAME};
use crate::files::tar_writer::{member_entry, Member, Parts, TarWriter};
use crate::map::link::LinkPath;
use crate::map::{quote_ident, Category, DataMap, RetentionAction};
use crate::ops::policy::NoticeRecord;
use crate::ops::subject::{self, ConsentRecord, DisclosureRecord, SubjectSummary};
use crate::pg::audit::{self, AuditEntry};
use crate::pg::catalog::Catalog;
use crate::pg::change::{self, Limits};

/// Who asked for the export and why; recorded in the manifest.
#[derive(Debug, Clone)]
pub struct ExportOptions {
    pub ticket: String,
    pub operator: String,
    pub generated_at: DateTime<Utc>,
    /// Date the minor flag is computed on.
    pub today: chrono::NaiveDate,
}

/// What went into the bundle; no personal value, safe to print and audit.
#[derive(Debug, Clone, Serialize)]
pub struct ExportReport {
    pub subject_ref: String,
    pub data_map_digest: String,
    pub tables: Vec<TableExport>,
    /// Every member that is not table data, the manifest last.
    pub files: Vec<MemberEntry>,
    /// Bytes of the members before tar framing and encryption.
    pub tar_bytes: u64,
    /// Milliseconds spent reading the subject's data: every query of the bundle,
    /// with the rows streamed into the tar writer's parts; not connecting, reading
    /// the catalogue, finishing the file or auditing.
    pub query_ms: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct TableExport {
    pub table: String,
    /// The table's CSV members, in order (one unless it is larger than a part).
    pub files: Vec<String>,
    pub rows: u64,
}

/// What the export's audit row says beside the report (never an identity value).
#[derive(Debug, Clone)]
pub struct ExportAudit {
    /// The kind of identity that named the subject (`iin`, `phone`, ...).
    pub identity_kind: &'static str,
    /// Who can open the bundle; None for a plaintext one.
    pub recipients: Option<Vec<String>>,
    /// The rows were read on a replica (`--read-db`).
    pub read_replica: bool,
}

/// Export one subject: read the bundle in one read-only snapshot on `replica`, or on
/// `primary` when there is none, then append the audit row on `primary` (a change
/// of its own: exports read a replica, audit rows go to the primary) and let the
/// file appear only with that commit. Returns where the bundle is and what it holds.
#[allow(clippy::too_many_arguments)]
pub async fn export(
    primary: &mut Client,
    replica: Option<&mut Client>,
    map: &DataMap,
    catalog: &Catalog,
    key: &str,
    options: &ExportOptions,
    audit: &ExportAudit,
    mut writer: TarWriter,
    part_bytes: usize,
) -> anyhow::Result<(PathBuf, ExportReport)> {
    let reader = match replica {
        Some(replica) => replica,
        None => &mut *primary,
    };
    // One snapshot for every table; READ ONLY also works on a replica. A read, not
    // a change: it ends before the audit row's change begins.
    let snapshot = reader
        .build_transaction()
        .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await?;
    let written = write_bundle(
        &snapshot,
        map,
        catalog,
        key,
        options,
        &mut writer,
        part_bytes,
    )
    .await;
    let report = match written {
        Ok(report) => report,
        Err(e) => {
            // Dropping the writer removes the partial file.
            writer.abandon();
            return Err(e.into());
        }
    };
    snapshot.commit().await?;

    // The export is processing too: audit it, and only then let the file appear.
    let entry = AuditEntry {
        action: "export".to_owned(),
        ticket: Some(options.ticket.clone()),
        subject_ref: Some(report.subject_ref.clone()),
        counts: report
            .tables
            .iter()
            .map(|t| (t.table.clone(), t.rows as i64))
            .collect(),
        fields: Vec::new(),
        detail: serde_json::json!({
            "identity_kind": audit.identity_kind,
            "encrypted": audit.recipients.is_some(),
            "recipients": audit.recipients.clone().unwrap_or_default(),
            "data_map_digest": report.data_map_digest,
            "tar_bytes": report.tar_bytes,
            "read_replica": audit.read_replica,
        }),
    };
    // The file appears between the append and the commit: never before its audit
    // row is written, and removed if the commit fails.
    let change = change::begin(primary, &Limits::default(), false).await?;
    audit::append(change.tx(), &options.operator, &entry).await?;
    let path = writer.finish().await?.path;
    if let Err(e) = change.into_transaction().commit().await {
        let _ = std::fs::remove_file(&path);
        return Err(anyhow::Error::new(e).context(
            "recording the export in the audit trail failed, so the bundle was removed; run again",
        ));
    }
    Ok((path, report))
}

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("reading the subject's data failed: {}. Nothing was written; check the connection and run again", crate::pg::db::describe(.0))]
    Db(#[from] tokio_postgres::Error),
    #[error("writing the bundle failed: {0}. Nothing was kept; free space in the directory of --out or pick another --out, and run again")]
    Io(#[from] io::Error),
    /// The tar writer's own error, which already says what happened to the file.
    #[error("{0:#}")]
    Write(anyhow::Error),
    #[error("{0}")]
    Subject(#[from] subject::ResolveError),
    #[error("the data map does not fit the database: {0}. Run `derbes map check`")]
    Map(String),
}

/// Write the bundle of the subject with `key` into `writer` (the caller finishes
/// it, which fsyncs and renames the file, once the export is audited).
///
/// Run it inside a `REPEATABLE READ READ ONLY` transaction so every table is read
/// from one snapshot.
pub async fn write_bundle(
    client: &impl GenericClient,
    map: &DataMap,
    catalog: &Catalog,
    key: &str,
    options: &ExportOptions,
    writer: &mut TarWriter,
    part_bytes: usize,
) -> Result<ExportReport, ExportError> {
    let reading = std::time::Instant::now();
    let summary = subject::summary(client, map, catalog, key, options.today).await?;
    let notices = crate::ops::policy::notices_of(client, map, catalog, key)
        .await
        .map_err(|e| ExportError::Map(e.to_string()))?;

    let mut entries: Vec<TableEntry> = Vec::new();
    let mut tables: Vec<TableExport> = Vec::new();
    let mut tar_bytes = 0u64;
    for table in map.tables.keys() {
        let entry = export_table(client, map, catalog, table, key, writer, part_bytes).await?;
        tar_bytes += entry.members.iter().map(|m| m.bytes).sum::<u64>();
        tables.push(TableExport {
            table: entry.table.clone(),
            files: entry.members.iter().map(|m| m.name.clone()).collect(),
            rows: entry.rows,
        });
        entries.push(entry);
    }
    let query_ms = reading.elapsed().as_millis() as u64;
    tracing::info!(
        "read the subject's data in {query_ms} ms ({} tables)",
        entries.len()
    );

    let data_json = data_json(map, &summary, &notices, options, &entries)?;
    let summary_html =
        crate::ops::html::subject_summary::render(map, &summary, &notices, options.generated_at);
    let mut files = Vec::new();
    for (name, data) in [
        ("data.json", data_json),
        ("summary.html", summary_html.into_bytes()),
    ] {
        files.push(member_entry(name.to_owned(), &data, 0));
        tar_bytes += data.len() as u64;
        writer
            .send(Member {
                name: name.to_owned(),
                data,
            })
            .await
            .map_err(ExportError::Write)?;
    }

    let manifest = Manifest {
        format: FORMAT.to_owned(),
        version: VERSION,
        created_at: options.generated_at,
        operator: options.operator.clone(),
        ticket: Some(options.ticket.clone()),
        map_digest: map.digest(),
        tables: entries,
        files: files.clone(),
        audit_head: None,
        kind: ExportFacts {
            subject_ref: summary.subject_ref.clone(),
        },
    };
    let manifest_json = serde_json::to_vec_pretty(&manifest).map_err(io::Error::other)?;
    files.push(member_entry(MANIFEST_NAME.to_owned(), &manifest_json, 0));
    tar_bytes += manifest_json.len() as u64;
    writer
        .send(Member {
            name: MANIFEST_NAME.to_owned(),
            data: manifest_json,
        })
        .await
        .map_err(ExportError::Write)?;
    Ok(ExportReport {
        subject_ref: summary.subject_ref.clone(),
        data_map_digest: map.digest(),
        tables,
        files,
        tar_bytes,
        query_ms,
    })
}

/// The `format` field of every bundle's manifest.
pub const FORMAT: &str = "derbes-export";
/// Version 2: tables cut into parts and `data.json` pointing into them, the shared
/// manifest model ([`crate::files::manifest`]). Version 1 inlined every record in
/// `data.json`.
pub const VERSION: u32 = 2;

/// What a bundle's manifest records beyond the shared model.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct ExportFacts {
    /// `table:key` of the subject.
    pub subject_ref: String,
}

/// A bundle's manifest.
pub type Manifest = crate::files::manifest::Manifest<ExportFacts>;

/// Stream one table's rows of the subject, all columns as text, into CSV parts.
async fn export_table(
    client: &impl GenericClient,
    map: &DataMap,
    catalog: &Catalog,
    table: &str,
    key: &str,
    writer: &mut TarWriter,
    part_bytes: usize,
) -> Result<TableEntry, ExportError> {
    let join = LinkPath::compile(map, catalog, table).map_err(ExportError::Map)?;
    let catalog_table = catalog.tables.get(&join.table).ok_or_else(|| {
        ExportError::Map(format!(
            "table {} is in the data map but not in the database",
            join.table
        ))
    })?;
    let columns: Vec<ColumnDef> = catalog_table
        .columns
        .iter()
        .map(|(name, pg_type)| ColumnDef {
            name: name.clone(),
            pg_type: pg_type.to_string(),
        })
        .collect();
    let select: Vec<String> = columns
        .iter()
        .map(|c| format!("t0.{}::text", quote_ident(&c.name)))
        .collect();
    let order: Vec<String> = catalog_table
        .primary_key
        .iter()
        .map(|c| format!("t0.{}", quote_ident(c)))
        .collect();
    let mut sql = format!("SELECT {} {}", select.join(", "), join.from_where_one());
    if !order.is_empty() {
        sql.push_str(&format!(" ORDER BY {}", order.join(", ")));
    }

    let mut csv = csv::WriterBuilder::new();
    csv.terminator(csv::Terminator::Any(b'\n'))
        .buffer_capacity(1024);
    let mut line: Vec<u8> = Vec::new();
    write_csv_line(&csv, &mut line, columns.iter().map(|c| c.name.as_str()))?;
    let mut parts = Parts::new(
        format!("tables/{}", file_stem(table)),
        std::mem::take(&mut line),
        part_bytes,
    );
    // The parameter's type is given, so the query goes out in one round trip
    // (no separate prepare per table).
    let params: [(&(dyn ToSql + Sync), Type); 1] = [(&key, Type::TEXT)];
    let rows = client.query_typed_raw(&sql, params).await?;
    pin_mut!(rows);
    let mut values: Vec<Option<String>> = Vec::with_capacity(columns.len());
    while let Some(row) = rows.try_next().await? {
        values.clear();
        values.extend((0..columns.len()).map(|i| row.get::<_, Option<String>>(i)));
        line.clear();
        write_csv_line(
            &csv,
            &mut line,
            values.iter().map(|v| v.as_deref().unwrap_or("")),
        )?;
        parts
            .push(&line, writer)
            .await
            .map_err(ExportError::Write)?;
    }
    let (members, rows, _) = parts.finish(writer).await.map_err(ExportError::Write)?;
    Ok(TableEntry {
        table: table.to_owned(),
        columns,
        rows,
        members,
    })
}

/// Append one CSV record (with its line end) to `line`.
fn write_csv_line<'a>(
    csv: &csv::WriterBuilder,
    line: &mut Vec<u8>,
    fields: impl Iterator<Item = &'a str>,
) -> io::Result<()> {
    let mut writer = csv.from_writer(line);
    writer.write_record(fields).map_err(csv_error)?;
    writer.flush()
}

fn csv_error(error: csv::Error) -> io::Error {
    match error.into_kind() {
        csv::ErrorKind::Io(e) => e,
        other => io::Error::other(format!("{other:?}")),
    }
}

/// A file name from a map table name: letters, digits, `.`, `_` and `-` only.
fn file_stem(table: &str) -> String {
    table
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Where one category is held and on what grounds, as told to the subject.
#[derive(Serialize)]
struct HeldIn<'a> {
    table: &'a str,
    column: &'a str,
    purpose: &'a str,
    purpose_description: Option<&'a str>,
    legal_basis: Option<&'a str>,
    clause: Option<&'a str>,
    retention: Option<Retention<'a>>,
}

#[derive(Serialize)]
struct Retention<'a> {
    rule: &'a str,
    keep: &'a str,
    action: RetentionAction,
    legal_basis: &'a str,
}

#[derive(Serialize)]
struct CategoryHead<'a> {
    category: Category,
    held_in: Vec<HeldIn<'a>>,
    disclosed_to: Vec<&'a DisclosureRecord>,
    /// Rows of the subject's tables that hold a value of this category.
    record_count: u64,
    found_in: Vec<FoundIn<'a>>,
}

/// Where in the bundle a category's values are: these columns of these CSV parts.
#[derive(Serialize)]
struct FoundIn<'a> {
    table: &'a str,
    columns: Vec<&'a str>,
    rows: u64,
    files: Vec<&'a str>,
}

#[derive(Serialize)]
struct DataHead<'a> {
    format: &'static str,
    version: u32,
    subject_ref: &'a str,
    generated_at: DateTime<Utc>,
    categories: Vec<CategoryHead<'a>>,
    consents: &'a [ConsentRecord],
    disclosures: &'a [DisclosureRecord],
    /// The subject's requests with their due dates; null when not recorded.
    requests: Option<&'a [crate::ops::request::RequestRecord]>,
    /// Notices of policy versions and objections to them (policy 10.2-10.5).
    policy_notices: &'a [NoticeRecord],
}

fn held_in(map: &DataMap, category: Category) -> Vec<HeldIn<'_>> {
    let mut held = Vec::new();
    for (table, spec) in &map.tables {
        let retention = spec.retention.as_deref().and_then(|name| {
            map.retention.get(name).map(|rule| Retention {
                rule: name,
                keep: &rule.keep,
                action: rule.action,
                legal_basis: &rule.legal_basis,
            })
        });
        for (column, column_spec) in &spec.columns {
            if column_spec.category != category {
                continue;
            }
            let purpose = map.purposes.get(&column_spec.purpose);
            held.push(HeldIn {
                table,
                column,
                purpose: &column_spec.purpose,
                purpose_description: purpose.map(|p| p.description.as_str()),
                legal_basis: purpose.map(|p| p.legal_basis.as_str()),
                clause: purpose.and_then(|p| p.clause.as_deref()),
                retention: retention.as_ref().map(|r| Retention {
                    rule: r.rule,
                    keep: r.keep,
                    action: r.action,
                    legal_basis: r.legal_basis,
                }),
            });
        }
    }
    held
}

/// Transfers that carried `category`, as the disclosure ledger's categories column
/// records them. A transfer whose categories are not recorded is not claimed for
/// any category: it stays in the full list of disclosures, marked so.
fn disclosed_to(summary: &SubjectSummary, category: Category) -> Vec<&DisclosureRecord> {
    let name = category.name();
    summary
        .disclosures
        .iter()
        .filter(|d| d.categories.contains(&name))
        .collect()
}

/// `data.json`: the subject's data by category (docs/policy.md 2.3): where each category
/// is held and on what grounds, who received it, how many records hold it, and the
/// CSV members and columns the values are in; then the consent history and every
/// transfer. It holds no row itself (the rows are in the table parts), so its size
/// is set by the data map and the ledgers, not by how much the subject holds.
fn data_json(
    map: &DataMap,
    summary: &SubjectSummary,
    notices: &[NoticeRecord],
    options: &ExportOptions,
    tables: &[TableEntry],
) -> Result<Vec<u8>, ExportError> {
    let mut found: BTreeMap<Category, (u64, Vec<FoundIn<'_>>)> = BTreeMap::new();
    for entry in tables {
        let Some(spec) = map.tables.get(&entry.table) else {
            continue;
        };
        let mut by_category: BTreeMap<Category, Vec<&str>> = BTreeMap::new();
        for (column, column_spec) in &spec.columns {
            if entry.columns.iter().any(|c| &c.name == column) {
                by_category
                    .entry(column_spec.category)
                    .or_default()
                    .push(column);
            }
        }
        for (category, columns) in by_category {
            if entry.rows == 0 {
                continue;
            }
            let (count, places) = found.entry(category).or_default();
            *count += entry.rows;
            places.push(FoundIn {
                table: &entry.table,
                columns,
                rows: entry.rows,
                files: entry.members.iter().map(|m| m.name.as_str()).collect(),
            });
        }
    }
    let categories: Vec<CategoryHead<'_>> = found
        .into_iter()
        .map(|(category, (record_count, found_in))| CategoryHead {
            category,
            held_in: held_in(map, category),
            disclosed_to: disclosed_to(summary, category),
            record_count,
            found_in,
        })
        .collect();
    let data = DataHead {
        format: FORMAT,
        version: VERSION,
        subject_ref: &summary.subject_ref,
        generated_at: options.generated_at,
        categories,
        consents: &summary.consents,
        disclosures: &summary.disclosures,
        requests: summary.requests.as_deref(),
        policy_notices: notices,
    };
    Ok(serde_json::to_vec_pretty(&data).map_err(io::Error::other)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_stems_are_safe() {
        assert_eq!(file_stem("shop.orders"), "shop.orders");
        assert_eq!(file_stem("../x y"), ".._x_y");
    }
}
