//! The subject-access bundle (POLICY.md 2.3, 4, 7.2; Law 94-V Art. 24(1)(1)).
//!
//! [`write_bundle`] reads everything the data map says belongs to one subject,
//! through every table's link path, and writes a tar stream of:
//! - `manifest.json`: subject reference, time, operator, ticket, data-map digest,
//!   and per file its size and SHA-256 (per table also the row count);
//! - `data.json`: the personal data grouped by category, each category with its
//!   purposes, legal bases and retention from the map, the recipients the
//!   disclosure ledger says received it, every transfer, the consent history and
//!   the notices of policy versions with any objection;
//! - `tables/<table>.csv`: every row of every mapped table, all columns;
//! - `summary.html`: the same facts for a reader without tools, in Kazakh, Russian
//!   and English: labels and texts in each section's language where derbes or the
//!   data map knows them.
//!
//! Memory stays flat whatever the subject holds: rows are streamed from the server
//! and never collected. A tar header needs the member's size before its bytes, so
//! each member is first spooled to an anonymous temporary file (unlinked at once,
//! gone when the process ends) encrypted with age to a key that exists only in this
//! process; the tar is then written by decrypting the spools one after another.
//! Personal data never reaches the disk in clear, even in temporary files.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Seek, SeekFrom, Write};

use chrono::{DateTime, Utc};
use futures_util::{pin_mut, TryStreamExt};
use serde::Serialize;
use sha2::{Digest, Sha256};
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::GenericClient;

use crate::map::labels::period_words;
use crate::map::link::LinkPath;
use crate::map::{quote_ident, Category, DataMap, Lang, RetentionAction};
use crate::ops::policy::NoticeRecord;
use crate::ops::subject::{self, ConsentRecord, DisclosureRecord, SubjectSummary};
use crate::pg::catalog::Catalog;

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
    pub files: Vec<FileEntry>,
    /// Bytes of the tar stream before encryption.
    pub tar_bytes: u64,
    /// Milliseconds spent reading the subject's data: every query of the bundle,
    /// with the rows streamed into the (encrypted) spools; not connecting, reading
    /// the catalogue, writing the tar or auditing.
    pub query_ms: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct TableExport {
    pub table: String,
    pub file: String,
    pub rows: u64,
    pub sha256: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct FileEntry {
    pub path: String,
    pub bytes: u64,
    pub sha256: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("reading the subject's data failed: {}. Nothing was written; check the connection and run again", crate::pg::db::describe(.0))]
    Db(#[from] tokio_postgres::Error),
    #[error("writing the bundle failed: {0}. Nothing was kept; {advice}", advice = io_advice(.0))]
    Io(#[from] io::Error),
    #[error("{0}")]
    Subject(#[from] subject::ResolveError),
    #[error("the data map does not fit the database: {0}. Run `derbes map check`")]
    Map(String),
}

/// Write the bundle of the subject with `key` as a tar stream into `out`, and
/// return `out` (for the caller to finish encryption and commit the file).
///
/// Run it inside a `REPEATABLE READ READ ONLY` transaction so every table is read
/// from one snapshot.
pub async fn write_bundle<W: Write>(
    client: &impl GenericClient,
    map: &DataMap,
    catalog: &Catalog,
    key: &str,
    options: &ExportOptions,
    out: W,
) -> Result<(W, ExportReport), ExportError> {
    let spool_key = age::x25519::Identity::generate();
    let reading = std::time::Instant::now();
    let summary = subject::summary(client, map, catalog, key, options.today).await?;
    let notices = crate::ops::policy::notices_of(client, map, catalog, key)
        .await
        .map_err(|e| ExportError::Map(e.to_string()))?;

    let mut categories: BTreeMap<Category, CategorySpool> = BTreeMap::new();
    let mut table_files: Vec<(TableExport, Spooled)> = Vec::new();
    for table in map.tables.keys() {
        let (export, spooled) = spool_table(
            client,
            map,
            catalog,
            table,
            key,
            &spool_key,
            &mut categories,
        )
        .await?;
        table_files.push((export, spooled));
    }
    let query_ms = reading.elapsed().as_millis() as u64;
    tracing::info!(
        "read the subject's data in {query_ms} ms ({} tables)",
        table_files.len()
    );

    let mut data = spool_data_json(map, &summary, &notices, options, categories, &spool_key)?;
    let summary_html = render_summary_html(map, &summary, &notices, options);

    let mut files = vec![FileEntry {
        path: "data.json".to_owned(),
        bytes: data.bytes,
        sha256: hex::encode(data.sha256),
    }];
    files.push(FileEntry {
        path: "summary.html".to_owned(),
        bytes: summary_html.len() as u64,
        sha256: hex::encode(Sha256::digest(summary_html.as_bytes())),
    });
    for (export, spooled) in &table_files {
        files.push(FileEntry {
            path: export.file.clone(),
            bytes: spooled.bytes,
            sha256: export.sha256.clone(),
        });
    }
    let tables: Vec<TableExport> = table_files.iter().map(|(t, _)| t.clone()).collect();
    let manifest = Manifest {
        format: "derbes-export/1",
        subject_ref: &summary.subject_ref,
        generated_at: options.generated_at,
        operator: &options.operator,
        ticket: &options.ticket,
        data_map_digest: map.digest(),
        files: &files,
        tables: &tables,
    };
    let manifest_json = serde_json::to_vec_pretty(&manifest).map_err(io::Error::other)?;

    let mtime = options.generated_at.timestamp().max(0) as u64;
    let mut tar = TarWriter {
        builder: tar::Builder::new(CountingWriter {
            inner: out,
            bytes: 0,
        }),
        mtime,
    };
    tar.append(
        "manifest.json",
        manifest_json.len() as u64,
        &manifest_json[..],
    )?;
    let size = data.bytes;
    tar.append("data.json", size, data.reader(&spool_key)?)?;
    tar.append(
        "summary.html",
        summary_html.len() as u64,
        summary_html.as_bytes(),
    )?;
    for (export, mut spooled) in table_files {
        let size = spooled.bytes;
        tar.append(&export.file, size, spooled.reader(&spool_key)?)?;
    }
    let counting = tar.builder.into_inner()?;
    let report = ExportReport {
        subject_ref: summary.subject_ref.clone(),
        data_map_digest: map.digest(),
        tables,
        files,
        tar_bytes: counting.bytes,
        query_ms,
    };
    Ok((counting.inner, report))
}

#[derive(Serialize)]
struct Manifest<'a> {
    format: &'static str,
    subject_ref: &'a str,
    generated_at: DateTime<Utc>,
    operator: &'a str,
    ticket: &'a str,
    data_map_digest: String,
    files: &'a [FileEntry],
    tables: &'a [TableExport],
}

struct TarWriter<W: Write> {
    builder: tar::Builder<W>,
    mtime: u64,
}

impl<W: Write> TarWriter<W> {
    fn append(&mut self, path: &str, size: u64, data: impl Read) -> io::Result<()> {
        let mut header = tar::Header::new_gnu();
        header.set_path(path)?;
        header.set_size(size);
        header.set_mode(0o600);
        header.set_mtime(self.mtime);
        header.set_entry_type(tar::EntryType::Regular);
        header.set_cksum();
        // `take` guards the size promised in the header against a spool that grew.
        self.builder.append(&header, data.take(size))
    }
}

struct CountingWriter<W> {
    inner: W,
    bytes: u64,
}

impl<W: Write> Write for CountingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.bytes += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// A member being written: age-encrypted to the export's own key, into an
/// anonymous temporary file, hashing and counting the plaintext on the way.
/// A failure of the temporary space the spools live in (`TMPDIR`), not of `--out`.
#[derive(Debug)]
struct SpoolError(io::Error);

impl std::fmt::Display for SpoolError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the temporary space for the encrypted spools ({}, from TMPDIR) failed: {}",
            std::env::temp_dir().display(),
            self.0
        )
    }
}

impl std::error::Error for SpoolError {}

fn spool_io(error: io::Error) -> io::Error {
    if error.get_ref().is_some_and(|e| e.is::<SpoolError>()) {
        return error;
    }
    io::Error::new(error.kind(), SpoolError(error))
}

/// What to do after an I/O failure: the spools' temporary space, or the output.
fn io_advice(error: &io::Error) -> String {
    let spool = error.get_ref().is_some_and(|e| e.is::<SpoolError>())
        || error.to_string().contains("from TMPDIR");
    if spool {
        format!(
            "free space in {} or set TMPDIR to a directory that exists and has room (the export needs about its own size there), and run again",
            std::env::temp_dir().display()
        )
    } else {
        "free space in the directory of --out or pick another --out, and run again".to_owned()
    }
}

struct Spool {
    writer: age::stream::StreamWriter<BufWriter<File>>,
    hasher: Sha256,
    bytes: u64,
}

/// A finished spool: the encrypted file, and the plaintext's size and hash.
struct Spooled {
    file: File,
    bytes: u64,
    sha256: [u8; 32],
}

impl Spool {
    fn create(key: &age::x25519::Identity) -> io::Result<Spool> {
        let file = tempfile::tempfile().map_err(spool_io)?;
        let recipient = key.to_public();
        let encryptor =
            age::Encryptor::with_recipients(std::iter::once(&recipient as &dyn age::Recipient))
                .map_err(io::Error::other)?;
        let writer = encryptor
            .wrap_output(BufWriter::with_capacity(64 * 1024, file))
            .map_err(spool_io)?;
        Ok(Spool {
            writer,
            hasher: Sha256::new(),
            bytes: 0,
        })
    }

    fn finish(self) -> io::Result<Spooled> {
        let mut buffered = self.writer.finish().map_err(spool_io)?;
        buffered.flush().map_err(spool_io)?;
        let file = buffered
            .into_inner()
            .map_err(|e| spool_io(e.into_error()))?;
        Ok(Spooled {
            file,
            bytes: self.bytes,
            sha256: self.hasher.finalize().into(),
        })
    }
}

impl Write for Spool {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.writer.write(buf).map_err(spool_io)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.writer.flush().map_err(spool_io)
    }
}

impl Spooled {
    fn reader(&mut self, key: &age::x25519::Identity) -> io::Result<impl Read + '_> {
        self.file.seek(SeekFrom::Start(0))?;
        let decryptor =
            age::Decryptor::new_buffered(BufReader::with_capacity(64 * 1024, &mut self.file))
                .map_err(io::Error::other)?;
        decryptor
            .decrypt(std::iter::once(key as &dyn age::Identity))
            .map_err(io::Error::other)
    }
}

/// The records of one category, as comma-separated JSON objects.
struct CategorySpool {
    spool: Spool,
    records: u64,
}

#[derive(Serialize)]
struct CategoryRecord<'a> {
    table: &'a str,
    key: String,
    values: BTreeMap<&'a str, Option<&'a str>>,
}

/// Stream one table's rows of the subject into its CSV spool and, for each of its
/// mapped columns, into the spool of the column's category.
async fn spool_table(
    client: &impl GenericClient,
    map: &DataMap,
    catalog: &Catalog,
    table: &str,
    key: &str,
    spool_key: &age::x25519::Identity,
    categories: &mut BTreeMap<Category, CategorySpool>,
) -> Result<(TableExport, Spooled), ExportError> {
    let join = LinkPath::compile(map, catalog, table).map_err(ExportError::Map)?;
    let catalog_table = catalog.tables.get(&join.table).ok_or_else(|| {
        ExportError::Map(format!(
            "table {} is in the data map but not in the database",
            join.table
        ))
    })?;
    let spec = &map.tables[table];
    let columns: Vec<&str> = catalog_table
        .columns
        .iter()
        .map(|(name, _)| name.as_str())
        .collect();
    let select: Vec<String> = columns
        .iter()
        .map(|c| format!("t0.{}::text", quote_ident(c)))
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
    let key_positions: Vec<usize> = catalog_table
        .primary_key
        .iter()
        .filter_map(|pk| columns.iter().position(|c| c == pk))
        .collect();
    // Category -> positions of this table's columns in it.
    let mut by_category: BTreeMap<Category, Vec<usize>> = BTreeMap::new();
    for (column, column_spec) in &spec.columns {
        if let Some(position) = columns.iter().position(|c| c == column) {
            by_category
                .entry(column_spec.category)
                .or_default()
                .push(position);
        }
    }
    for category in by_category.keys() {
        if !categories.contains_key(category) {
            categories.insert(
                *category,
                CategorySpool {
                    spool: Spool::create(spool_key)?,
                    records: 0,
                },
            );
        }
    }

    let file = format!("tables/{}.csv", file_stem(table));
    let mut csv = csv::Writer::from_writer(Spool::create(spool_key)?);
    csv.write_record(&columns).map_err(csv_error)?;
    // The parameter's type is given, so the query goes out in one round trip
    // (no separate prepare per table).
    let params: [(&(dyn ToSql + Sync), Type); 1] = [(&key, Type::TEXT)];
    let rows = client.query_typed_raw(&sql, params).await?;
    pin_mut!(rows);
    let mut count = 0u64;
    let mut values: Vec<Option<String>> = Vec::with_capacity(columns.len());
    while let Some(row) = rows.try_next().await? {
        values.clear();
        values.extend((0..columns.len()).map(|i| row.get::<_, Option<String>>(i)));
        csv.write_record(values.iter().map(|v| v.as_deref().unwrap_or("")))
            .map_err(csv_error)?;
        let row_key = key_positions
            .iter()
            .map(|&i| values[i].as_deref().unwrap_or(""))
            .collect::<Vec<_>>()
            .join(",");
        for (category, positions) in &by_category {
            let record = CategoryRecord {
                table,
                key: row_key.clone(),
                values: positions
                    .iter()
                    .map(|&i| (columns[i], values[i].as_deref()))
                    .collect(),
            };
            let target = categories.get_mut(category).expect("spool created above");
            if target.records > 0 {
                target.spool.write_all(b",\n")?;
            }
            serde_json::to_writer(&mut target.spool, &record).map_err(io::Error::other)?;
            target.records += 1;
        }
        count += 1;
    }
    let spooled = csv
        .into_inner()
        .map_err(|e| io::Error::other(e.to_string()))?
        .finish()?;
    Ok((
        TableExport {
            table: table.to_owned(),
            file,
            rows: count,
            sha256: hex::encode(spooled.sha256),
        },
        spooled,
    ))
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
    record_count: u64,
}

#[derive(Serialize)]
struct DataHead<'a> {
    format: &'static str,
    subject_ref: &'a str,
    generated_at: DateTime<Utc>,
    consents: &'a [ConsentRecord],
    disclosures: &'a [DisclosureRecord],
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

/// Assemble `data.json` from the category spools, itself as a spool (its size
/// must be known for the tar header).
fn spool_data_json(
    map: &DataMap,
    summary: &SubjectSummary,
    notices: &[NoticeRecord],
    options: &ExportOptions,
    categories: BTreeMap<Category, CategorySpool>,
    spool_key: &age::x25519::Identity,
) -> Result<Spooled, ExportError> {
    let mut out = Spool::create(spool_key)?;
    let head = DataHead {
        format: "derbes-export/1",
        subject_ref: &summary.subject_ref,
        generated_at: options.generated_at,
        consents: &summary.consents,
        disclosures: &summary.disclosures,
        policy_notices: notices,
    };
    let mut head_json = serde_json::to_string_pretty(&head).map_err(io::Error::other)?;
    close_object(&mut head_json, "categories", "[\n");
    out.write_all(head_json.as_bytes())?;
    let mut first = true;
    for (category, spool) in categories {
        if spool.records == 0 {
            continue;
        }
        let head = CategoryHead {
            category,
            held_in: held_in(map, category),
            disclosed_to: disclosed_to(summary, category),
            record_count: spool.records,
        };
        let mut json = serde_json::to_string(&head).map_err(io::Error::other)?;
        close_object(&mut json, "records", "[\n");
        if !first {
            out.write_all(b",\n")?;
        }
        first = false;
        out.write_all(json.as_bytes())?;
        let mut spooled = spool.spool.finish()?;
        io::copy(&mut spooled.reader(spool_key)?, &mut out)?;
        out.write_all(b"\n]}")?;
    }
    out.write_all(b"\n]\n}\n")?;
    Ok(out.finish()?)
}

/// Turn a serialised object `{...}` into `{..., "field": <open>` so a streamed
/// array can follow.
fn close_object(json: &mut String, field: &str, open: &str) {
    let closing = json.rfind('}').expect("an object ends with }");
    json.truncate(closing);
    let trimmed = json.trim_end().len();
    json.truncate(trimmed);
    json.push_str(&format!(",\n\"{field}\": {open}"));
}

/// Escape text for HTML.
fn html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Headings of the summary, in Kazakh, Russian and English.
struct Words {
    lang: Lang,
    title: &'static str,
    intro: &'static str,
    identity: &'static str,
    categories: &'static str,
    category: &'static str,
    purpose: &'static str,
    legal_basis: &'static str,
    retention: &'static str,
    rows: &'static str,
    period: &'static str,
    recipients: &'static str,
    consents: &'static str,
    granted: &'static str,
    withdrawn: &'static str,
    none: &'static str,
    transfers: &'static str,
    not_recorded: &'static str,
    files: &'static str,
    date: &'static str,
    recipient: &'static str,
    notices: &'static str,
    /// `{v}` is the version label.
    notice_version: &'static str,
    notified: &'static str,
    objected: &'static str,
}

const LANGUAGES: [Words; 3] = [
    Words {
        lang: Lang::Kk,
        title: "Сіз туралы сақталатын дербес деректер",
        intro: "Бұл құжат «Дербес деректер және оларды қорғау туралы» Заңның 24-бабына сәйкес компанияда сіз туралы сақталатын барлық деректерді көрсетеді.",
        identity: "Жеке деректер",
        categories: "Деректер санаттары",
        category: "Санат",
        purpose: "Мақсаты",
        legal_basis: "Құқықтық негіз",
        retention: "Сақтау мерзімі",
        rows: "Жазбалар",
        period: "Кезең",
        recipients: "Деректер берілген үшінші тұлғалар",
        consents: "Келісімдер",
        granted: "берілген",
        withdrawn: "кері қайтарылған",
        none: "жоқ",
        transfers: "Деректерді үшінші тұлғаларға беру",
        not_recorded: "берілген санаттар тіркелмеген",
        files: "Толық деректер: data.json және tables/ қалтасындағы CSV файлдары.",
        date: "Күні",
        recipient: "Алушы",
        notices: "Құпиялылық саясатының өзгерістері туралы хабарламалар",
        notice_version: "{v} нұсқасы",
        notified: "хабарлама жіберілді",
        objected: "қарсылық білдірілді",
    },
    Words {
        lang: Lang::Ru,
        title: "Персональные данные, которые мы храним о вас",
        intro: "Этот документ показывает все данные о вас, которые хранит компания, согласно статье 24 Закона «О персональных данных и их защите».",
        identity: "Личные данные",
        categories: "Категории данных",
        category: "Категория",
        purpose: "Цель",
        legal_basis: "Правовое основание",
        retention: "Срок хранения",
        rows: "Записей",
        period: "Период",
        recipients: "Третьи лица, которым переданы данные",
        consents: "Согласия",
        granted: "дано",
        withdrawn: "отозвано",
        none: "нет",
        transfers: "Передача данных третьим лицам",
        not_recorded: "переданные категории не записаны",
        files: "Полные данные: data.json и CSV-файлы в папке tables/.",
        date: "Дата",
        recipient: "Получатель",
        notices: "Уведомления об изменениях политики конфиденциальности",
        notice_version: "Версия {v}",
        notified: "уведомление направлено",
        objected: "возражение получено",
    },
    Words {
        lang: Lang::En,
        title: "The personal data we hold about you",
        intro: "This document shows all data the company holds about you, under Article 24 of the Law on Personal Data and Their Protection.",
        identity: "Personal details",
        categories: "Categories of data",
        category: "Category",
        purpose: "Purpose",
        legal_basis: "Legal basis",
        retention: "Kept for",
        rows: "Records",
        period: "Period",
        recipients: "Third parties the data was disclosed to",
        consents: "Consents",
        granted: "given",
        withdrawn: "withdrawn",
        none: "none",
        transfers: "Transfers of data to third parties",
        not_recorded: "the categories transferred were not recorded",
        files: "The full data: data.json and the CSV files in the tables/ folder.",
        date: "Date",
        recipient: "Recipient",
        notices: "Notices of changes to the privacy policy",
        notice_version: "Version {v}",
        notified: "notified",
        objected: "objected",
    },
];

/// `summary.html`: what the subject can read without tools. Every text the
/// subject reads is in the section's language where a variant is known: category
/// labels from derbes, field labels, purposes, legal bases and retention texts from
/// the data map (falling back to the text it gives).
fn render_summary_html(
    map: &DataMap,
    summary: &SubjectSummary,
    notices: &[NoticeRecord],
    options: &ExportOptions,
) -> String {
    let mut page = String::from(
        "<!DOCTYPE html>\n<html>\n<head><meta charset=\"utf-8\"><title>derbes</title>\n\
         <style>body{font-family:sans-serif;max-width:60em;margin:auto}table{border-collapse:collapse}\
         td,th{border:1px solid #999;padding:.2em .5em;text-align:left;vertical-align:top}</style>\n\
         </head>\n<body>\n",
    );
    for words in &LANGUAGES {
        let lang = words.lang;
        page.push_str(&format!(
            "<section lang=\"{}\">\n<h1>{}</h1>\n<p>{}</p>\n<p>{} UTC</p>\n",
            lang.code(),
            html(words.title),
            html(words.intro),
            options.generated_at.format("%Y-%m-%d %H:%M")
        ));
        page.push_str(&format!("<h2>{}</h2>\n<table>\n", html(words.identity)));
        let subject_columns = map.tables.get(&map.subject.table).map(|t| &t.columns);
        for field in &summary.identity {
            let label = subject_columns
                .and_then(|columns| columns.get(&field.column))
                .and_then(|column| column.label_in(lang))
                .unwrap_or_else(|| field.category.label(lang));
            page.push_str(&format!(
                "<tr><th>{}</th><td>{}</td></tr>\n",
                html(label),
                html(field.value.as_deref().unwrap_or(""))
            ));
        }
        page.push_str("</table>\n");
        page.push_str(&format!(
            "<h2>{}</h2>\n<table>\n<tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>\n",
            html(words.categories),
            html(words.category),
            html(words.purpose),
            html(words.legal_basis),
            html(words.retention),
            html(words.rows),
            html(words.period),
            html(words.recipients),
        ));
        for held in &summary.categories {
            let places = held_in(map, held.category);
            let purposes: BTreeSet<String> = places
                .iter()
                .map(|p| purpose_text(map, p.purpose, lang))
                .collect();
            let bases: BTreeSet<&str> = places
                .iter()
                .filter_map(|p| map.purposes.get(p.purpose))
                .map(|p| p.legal_basis_in(lang))
                .collect();
            let retention: BTreeSet<String> = places
                .iter()
                .filter_map(|p| p.retention.as_ref())
                .map(|r| {
                    let basis = map
                        .retention
                        .get(r.rule)
                        .map_or(r.legal_basis, |rule| rule.legal_basis_in(lang));
                    format!("{} ({basis})", period_words(r.keep, lang))
                })
                .collect();
            let recipients: BTreeSet<&str> = disclosed_to(summary, held.category)
                .into_iter()
                .filter_map(|d| d.recipient.as_deref())
                .collect();
            page.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{} – {}</td><td>{}</td></tr>\n",
                html(held.category.label(lang)),
                html(&join(purposes.iter().map(String::as_str), words.none)),
                html(&join(bases.into_iter(), words.none)),
                html(&join(retention.iter().map(String::as_str), words.none)),
                held.rows,
                html(&day(held.oldest.as_deref())),
                html(&day(held.newest.as_deref())),
                html(&join(recipients.into_iter(), words.none)),
            ));
        }
        page.push_str("</table>\n");
        page.push_str(&format!("<h2>{}</h2>\n<ul>\n", html(words.consents)));
        if summary.consents.is_empty() {
            page.push_str(&format!("<li>{}</li>\n", html(words.none)));
        }
        for consent in &summary.consents {
            page.push_str(&format!(
                "<li>{}: {} {}{}</li>\n",
                html(&purpose_text(
                    map,
                    consent.purpose.as_deref().unwrap_or(""),
                    lang
                )),
                html(words.granted),
                html(&day(consent.granted_at.as_deref())),
                consent
                    .withdrawn_at
                    .as_deref()
                    .map(|w| format!(", {} {}", html(words.withdrawn), html(&day(Some(w)))))
                    .unwrap_or_default()
            ));
        }
        page.push_str("</ul>\n");
        if !notices.is_empty() {
            page.push_str(&format!("<h2>{}</h2>\n<ul>\n", html(words.notices)));
            for notice in notices {
                let version = words
                    .notice_version
                    .replace("{v}", notice.version.as_deref().unwrap_or("?"));
                page.push_str(&format!(
                    "<li>{}: {} {}{}</li>\n",
                    html(&version),
                    html(words.notified),
                    html(&day(notice.notified_at.as_deref())),
                    notice
                        .objected_at
                        .as_deref()
                        .map(|o| format!(", {} {}", html(words.objected), html(&day(Some(o)))))
                        .unwrap_or_default()
                ));
            }
            page.push_str("</ul>\n");
        }
        page.push_str(&format!("<h2>{}</h2>\n", html(words.transfers)));
        if summary.disclosures.is_empty() {
            page.push_str(&format!("<p>{}</p>\n", html(words.none)));
        } else {
            page.push_str(&format!(
                "<table>\n<tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>\n",
                html(words.date),
                html(words.recipient),
                html(words.purpose),
                html(words.categories),
                html(words.legal_basis),
            ));
        }
        for disclosure in &summary.disclosures {
            let categories = if disclosure.categories.is_empty() {
                words.not_recorded.to_owned()
            } else {
                disclosure
                    .categories
                    .iter()
                    .map(|name| category_text(name, lang))
                    .collect::<Vec<_>>()
                    .join("; ")
            };
            page.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
                html(&day(disclosure.disclosed_at.as_deref())),
                html(disclosure.recipient.as_deref().unwrap_or("")),
                html(&purpose_text(
                    map,
                    disclosure.purpose.as_deref().unwrap_or(""),
                    lang
                )),
                html(&categories),
                html(disclosure.legal_basis.as_deref().unwrap_or("")),
            ));
        }
        if !summary.disclosures.is_empty() {
            page.push_str("</table>\n");
        }
        page.push_str(&format!("<p>{}</p>\n</section>\n<hr>\n", html(words.files)));
    }
    page.push_str("</body>\n</html>\n");
    page
}

/// A purpose as the subject reads it: the map's description in `lang`, else the
/// name as recorded (a ledger may hold purposes the map does not declare).
fn purpose_text(map: &DataMap, purpose: &str, lang: Lang) -> String {
    map.purposes
        .get(purpose)
        .map_or_else(|| purpose.to_owned(), |p| p.description_in(lang).to_owned())
}

/// A category name as recorded in a ledger, as the subject reads it.
fn category_text(name: &str, lang: Lang) -> String {
    Category::ALL
        .into_iter()
        .find(|c| c.name() == name)
        .map_or_else(|| name.to_owned(), |c| c.label(lang).to_owned())
}

/// The date of a timestamp as PostgreSQL prints it (`2026-11-28 10:00:00+00`).
fn day(text: Option<&str>) -> String {
    let text = text.unwrap_or("");
    text.get(..10).unwrap_or(text).to_owned()
}

fn join<'a>(items: impl Iterator<Item = &'a str>, none: &str) -> String {
    let items: Vec<&str> = items.collect();
    if items.is_empty() {
        none.to_owned()
    } else {
        items.join("; ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_object_opens_a_trailing_array() {
        let mut json = "{\n  \"a\": 1\n}".to_owned();
        close_object(&mut json, "records", "[");
        json.push_str("1,2]}");
        let value: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(value["records"][1], 2);
    }

    #[test]
    fn spools_round_trip_and_hash_the_plaintext() {
        let key = age::x25519::Identity::generate();
        let mut spool = Spool::create(&key).unwrap();
        spool.write_all(b"hello spool").unwrap();
        let mut spooled = spool.finish().unwrap();
        assert_eq!(spooled.bytes, 11);
        assert_eq!(
            spooled.sha256,
            <[u8; 32]>::from(Sha256::digest(b"hello spool"))
        );
        let mut text = String::new();
        spooled
            .reader(&key)
            .unwrap()
            .read_to_string(&mut text)
            .unwrap();
        assert_eq!(text, "hello spool");
    }

    #[test]
    fn html_is_escaped() {
        assert_eq!(html("<a href='x'>&"), "&lt;a href=&#39;x&#39;&gt;&amp;");
    }

    #[test]
    fn file_stems_are_safe() {
        assert_eq!(file_stem("shop.orders"), "shop.orders");
        assert_eq!(file_stem("../x y"), ".._x_y");
    }
}
