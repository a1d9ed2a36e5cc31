//! Masking strategies: what each column's `masking` in the data map does to its
//! values, as SQL the server evaluates set-based (one `UPDATE` per table and batch,
//! values bound as parameters), and which column types and constraints each fits.
//!
//! Used by erasure (the columns of rows that stay) and anonymisation (a subject or
//! a cohort). Only `fake` needs values made here (a valid IIN, a +7 phone, a name
//! from the sample lists): those are generated per batch and written with one
//! `UPDATE ... FROM unnest(...)`. `hmac` is HMAC-SHA-256 computed by the server from
//! two padded-key blocks (no extension needed), so the same input gives the same
//! output in every table; it is pseudonymisation, not anonymisation (Law 94-V
//! Art. 1(7)): whoever holds the key can re-link.
//!
//! The key blocks never travel as a statement's parameters: a server that logs
//! slow statements (`log_min_duration_statement`) logs their parameters too, and
//! each block is the key XOR a constant. They are copied (`COPY ... FROM STDIN`,
//! whose data no server log records) into a session temporary table, which is not
//! written to the WAL, and the masking statements read them from there.
//!
//! [`check_fit`] is the `map check` half: a strategy that does not fit its column
//! (NULL into NOT NULL, text into a date, generalising a boolean, one fixed value
//! into a unique column) is refused before anything runs.

use std::fmt;
use std::path::Path;

use rand::{Rng, SeedableRng};
use sha2::{Digest, Sha256};
use tokio_postgres::types::ToSql;
use tokio_postgres::{GenericClient, Transaction};
use zeroize::Zeroizing;

use crate::kz::identity::{Iin, Sex};
use crate::map::{quote_ident, Category, DataMap, Masking, TableName, TypeFamily};
use crate::ops::map_check::{Finding, Severity};
use crate::pg::catalog::Catalog;
use crate::pg::change::ChangeError;
use crate::pg::db::StatementCache;

/// Environment variable holding the masking key when no `--key-file` is given.
pub const KEY_ENV: &str = "DERBES_MASK_KEY";

/// The default replacement of `redact` on text columns.
pub const REDACTED: &str = "[redacted]";

/// Why masking could not be planned or run.
#[derive(Debug, thiserror::Error)]
pub enum MaskingError {
    #[error("{0}")]
    NoKey(String),
    #[error("{0}")]
    BadKey(String),
    #[error("{0}")]
    Misfit(String),
    #[error("masking {table} failed: {message}; nothing of this step was changed")]
    Database {
        table: String,
        message: String,
        /// The change engine's reading of a rollback that may simply be run again
        /// (`change::retry_safe`), for a batch loop to retry.
        transient: Option<ChangeError>,
    },
}

/// The secret key of `hmac` and deterministic `fake`. Never printed or logged.
#[derive(Clone)]
pub struct MaskKey {
    inner: Zeroizing<Vec<u8>>,
    outer: Zeroizing<Vec<u8>>,
}

impl fmt::Debug for MaskKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MaskKey(hidden)")
    }
}

impl MaskKey {
    /// A key from what its file or variable holds, judged by
    /// [`key_strength::judge`](crate::key_strength::judge) (at least 32 random
    /// bytes, written as hex, base64 or raw bytes); a weak key is refused.
    ///
    /// The HMAC key is what the file holds, less a trailing newline, whatever its
    /// encoding: a base64 or hex key is used as that text, not decoded, as it always
    /// was, so a key already in use that is strong enough keeps giving the same
    /// pseudonyms. Text of 44 base64 characters carries the 256 bits of the 32 bytes
    /// it encodes, so nothing is lost by not decoding it.
    pub fn from_bytes(bytes: &[u8]) -> Result<MaskKey, MaskingError> {
        MaskKey::judged(bytes, "the masking key")
    }

    /// [`MaskKey::from_bytes`], naming where the key came from (`what`) when refused.
    fn judged(bytes: &[u8], what: &str) -> Result<MaskKey, MaskingError> {
        let mut bytes = bytes;
        while let Some(rest) = bytes
            .strip_suffix(b"\n")
            .or_else(|| bytes.strip_suffix(b"\r"))
        {
            bytes = rest;
        }
        crate::key_strength::judge(bytes).map_err(|weakness| {
            MaskingError::BadKey(format!(
                "{what} {weakness}; {}; then give it with --key-file FILE or DERBES_MASK_KEY \
                 (pseudonyms made with a new key differ from those of the old one); nothing was changed",
                crate::key_strength::how_to_make("mask.key")
            ))
        })?;
        // HMAC (RFC 2104) with SHA-256: a key longer than the 64-byte block is hashed.
        let mut block = Zeroizing::new(vec![0u8; 64]);
        if bytes.len() > 64 {
            block[..32].copy_from_slice(&Sha256::digest(bytes));
        } else {
            block[..bytes.len()].copy_from_slice(bytes);
        }
        let inner = Zeroizing::new(block.iter().map(|b| b ^ 0x36).collect::<Vec<u8>>());
        let outer = Zeroizing::new(block.iter().map(|b| b ^ 0x5c).collect::<Vec<u8>>());
        Ok(MaskKey { inner, outer })
    }

    /// The key of `--key-file`, else of `DERBES_MASK_KEY`, else None. Either is
    /// judged for strength (see [`MaskKey::from_bytes`]) and refused when weak, even
    /// if the data map has no `hmac` column: a weak key given is a key someone means
    /// to use.
    pub fn load(key_file: Option<&Path>) -> Result<Option<MaskKey>, MaskingError> {
        if let Some(path) = key_file {
            let bytes = Zeroizing::new(std::fs::read(path).map_err(|e| {
                MaskingError::BadKey(format!(
                    "cannot read the masking key file {}: {e}; check the path and its permissions",
                    path.display()
                ))
            })?);
            let what = format!("the masking key in {}", path.display());
            return MaskKey::judged(&bytes, &what).map(Some);
        }
        // Not `env::var`: a value that is not UTF-8 (raw bytes) is a key too, not
        // "no key".
        match std::env::var_os(KEY_ENV) {
            Some(value) => {
                let bytes = Zeroizing::new(value.into_encoded_bytes());
                MaskKey::judged(&bytes, &format!("the masking key in {KEY_ENV}")).map(Some)
            }
            None => Ok(None),
        }
    }

    /// A short digest that tells this key from another without revealing it: the
    /// session's key table holds it, so a session loads a key once.
    fn fingerprint(&self) -> String {
        let mut digest = Sha256::new();
        digest.update(b"derbes mask key fingerprint\0");
        digest.update(&*self.inner);
        hex::encode(&digest.finalize()[..8])
    }

    /// HMAC-SHA-256 of `value` as lowercase hex: what the server computes for `hmac`.
    pub fn hmac_hex(&self, value: &str) -> String {
        let mut inner = Sha256::new();
        inner.update(&*self.inner);
        inner.update(value.as_bytes());
        let mut outer = Sha256::new();
        outer.update(&*self.outer);
        outer.update(inner.finalize());
        hex::encode(outer.finalize())
    }
}

/// The session's temporary table of the key blocks `hmac` reads.
const KEY_TABLE: &str = "pg_temp.derbes_mask_key";

/// Make `tx`'s session hold `key` in [`KEY_TABLE`], unless it already does. Run in
/// every transaction that masks with `hmac`: a rolled-back transaction (a dry run)
/// takes a table it created with it.
async fn load_key(tx: &Transaction<'_>, key: &MaskKey) -> Result<(), tokio_postgres::Error> {
    let fingerprint = key.fingerprint();
    let exists: bool = tx
        .query_one(
            "SELECT to_regclass('pg_temp.derbes_mask_key') IS NOT NULL",
            &[],
        )
        .await?
        .get(0);
    if exists {
        let held = tx
            .query_opt(&format!("SELECT fingerprint FROM {KEY_TABLE}"), &[])
            .await?;
        if held.is_some_and(|row| row.get::<_, String>(0) == fingerprint) {
            return Ok(());
        }
    }
    tx.batch_execute(&format!(
        "CREATE TEMPORARY TABLE IF NOT EXISTS derbes_mask_key \
           (inner_pad bytea NOT NULL, outer_pad bytea NOT NULL, fingerprint text NOT NULL); \
         TRUNCATE {KEY_TABLE}"
    ))
    .await?;
    let line = Zeroizing::new(format!(
        "\\\\x{}\t\\\\x{}\t{fingerprint}\n",
        hex::encode(&*key.inner),
        hex::encode(&*key.outer)
    ));
    let sink = tx
        .copy_in::<_, bytes::Bytes>(&format!(
            "COPY {KEY_TABLE} (inner_pad, outer_pad, fingerprint) FROM STDIN"
        ))
        .await?;
    futures_util::pin_mut!(sink);
    futures_util::SinkExt::send(&mut sink, bytes::Bytes::copy_from_slice(line.as_bytes())).await?;
    sink.finish().await?;
    Ok(())
}

/// A value bound to a masking statement.
#[derive(Clone)]
pub enum Value {
    Text(String),
    Int(i32),
    TextArray(Vec<String>),
}

impl Value {
    fn as_sql(&self) -> &(dyn ToSql + Sync) {
        match self {
            Value::Text(v) => v,
            Value::Int(v) => v,
            Value::TextArray(v) => v,
        }
    }
}

/// Bound values of one statement, numbered `$1..` in push order.
#[derive(Clone, Default)]
pub struct Params {
    values: Vec<Value>,
}

impl Params {
    /// Add a value; returns its placeholder.
    pub fn push(&mut self, value: Value) -> String {
        self.values.push(value);
        format!("${}", self.values.len())
    }

    pub fn text(&mut self, value: impl Into<String>) -> String {
        self.push(Value::Text(value.into()))
    }

    /// How many values so far (the last placeholder's number).
    pub fn len(&self) -> usize {
        self.values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    pub fn refs(&self) -> Vec<&(dyn ToSql + Sync)> {
        self.values.iter().map(Value::as_sql).collect()
    }
}

/// What the catalogue says about one masked column.
#[derive(Debug, Clone)]
pub struct ColumnInfo {
    pub table: String,
    pub column: String,
    /// `format_type` spelling.
    pub ty: String,
    pub family: TypeFamily,
    pub category: Category,
    pub not_null: bool,
    /// The column alone is unique (primary key or a unique index).
    pub unique: bool,
    pub masking: Masking,
    /// The map gives the strategy (absent: `null` by default).
    pub explicit: bool,
}

impl ColumnInfo {
    /// `n` of `character varying(n)` / `character(n)`.
    fn max_length(&self) -> Option<u32> {
        if self.family != TypeFamily::Text {
            return None;
        }
        let open = self.ty.find('(')?;
        let close = self.ty[open..].find(')')? + open;
        self.ty[open + 1..close].trim().parse().ok()
    }

    fn object(&self) -> String {
        format!("{}.{}", self.table, self.column)
    }

    fn is_uuid(&self) -> bool {
        self.ty.eq_ignore_ascii_case("uuid")
    }
}

/// The stand-in `fake` makes for a category, and the characters it needs.
fn fake_kind(category: Category) -> Option<(&'static str, u32)> {
    match category {
        Category::Iin => Some(("IIN", 12)),
        Category::Phone => Some(("phone", 12)),
        Category::Name | Category::ContactPerson => Some(("name", 1)),
        Category::Email => Some(("email", 20)),
        _ => None,
    }
}

/// Whether a strategy fits a column's type and constraints; the reason when not.
/// Redacting a non-text column with a given value is checked by the server as
/// well ([`check_fit`] casts the value).
pub fn fit(info: &ColumnInfo) -> Result<(), String> {
    use TypeFamily as F;
    let family = info.family;
    let ty = &info.ty;
    let collapses = |what: &str| {
        if info.unique {
            Err(format!(
                "`{what}` gives many rows one value, which the unique constraint on this column refuses: use hmac or fake, or keep"
            ))
        } else {
            Ok(())
        }
    };
    match &info.masking {
        Masking::Keep | Masking::DeleteRow => Ok(()),
        Masking::Null if info.not_null => Err(format!(
            "`null` into a NOT NULL column ({ty}): use redact, generalise or fake, or delete-row"
        )),
        Masking::Null => Ok(()),
        Masking::Redact(value) => {
            if family != F::Text && value.is_none() {
                return Err(format!(
                    "`redact` writes text, which a {ty} column cannot hold: give a value of its type (`redact:VALUE`), or use null or generalise"
                ));
            }
            if let (Some(value), Some(max)) = (value, info.max_length()) {
                if value.chars().count() as u32 > max {
                    return Err(format!(
                        "`redact:{value}` is longer than the column's {max} characters: give a shorter value"
                    ));
                }
            }
            collapses("redact")
        }
        Masking::Hmac => match family {
            F::Text => Ok(()),
            _ => Err(format!(
                "`hmac` writes a hex digest, which a {ty} column cannot hold: use it on text columns, or generalise or null"
            )),
        },
        Masking::Generalise(to) => {
            let to = to.as_deref();
            match family {
                F::Date | F::Timestamp => match to {
                    None | Some("year" | "month" | "day") => collapses("generalise"),
                    Some(other) => Err(format!(
                        "`generalise:{other}` on a {ty} column: give year, month or day"
                    )),
                },
                F::Inet if to.is_none() => collapses("generalise"),
                F::Integer | F::Numeric => match to.map(str::parse::<u32>) {
                    None | Some(Ok(1..)) => collapses("generalise"),
                    _ => Err(format!(
                        "`generalise:{}` on a {ty} column: give a positive whole number (the range width, or the decimals kept of a location)",
                        to.unwrap_or_default()
                    )),
                },
                F::Text => match to.map(str::parse::<u32>) {
                    None | Some(Ok(1..)) => collapses("generalise"),
                    _ => Err(format!(
                        "`generalise:{}` on a text column: give the number of leading characters kept",
                        to.unwrap_or_default()
                    )),
                },
                _ => Err(format!(
                    "`generalise` has no coarser form of a {ty} column: use keep, null or redact:VALUE"
                )),
            }
        }
        Masking::Truncate { .. } => match family {
            F::Text if !info.is_uuid() => collapses(info.masking.name()),
            _ => Err(format!(
                "`{}` cuts text, and this column is {ty}: use generalise or null",
                info.masking.name()
            )),
        },
        Masking::Fake { .. } => {
            let Some((kind, needs)) = fake_kind(info.category) else {
                return Err(format!(
                    "`fake` makes IINs, phones, names and emails; this column is category `{}`: use redact, hmac or null",
                    info.category
                ));
            };
            if family != F::Text || info.is_uuid() {
                return Err(format!(
                    "`fake` writes a {kind} as text, which a {ty} column cannot hold"
                ));
            }
            match info.max_length() {
                Some(max) if max < needs => Err(format!(
                    "`fake` writes a {kind} of {needs} characters, longer than the column's {max}"
                )),
                _ => Ok(()),
            }
        }
    }
}

/// Every masked column of `table` with what the catalogue says about it.
pub fn columns_of(
    map: &DataMap,
    catalog: &Catalog,
    table: &str,
    not_null: &dyn Fn(&TableName, &str) -> bool,
) -> Result<Vec<ColumnInfo>, String> {
    let spec = map
        .tables
        .get(table)
        .ok_or_else(|| format!("table `{table}` is not mapped"))?;
    let name = map.table_name(table);
    let found = catalog
        .tables
        .get(&name)
        .ok_or_else(|| format!("table {name} of the data map is not in the database"))?;
    let mut columns = Vec::new();
    for (column, col) in &spec.columns {
        let Some(ty) = found.column_type(column) else {
            continue; // reported by map check
        };
        columns.push(ColumnInfo {
            table: table.to_owned(),
            column: column.clone(),
            ty: ty.to_owned(),
            family: TypeFamily::of(ty),
            category: col.category,
            not_null: not_null(&name, column),
            unique: found.is_unique(std::slice::from_ref(column)),
            masking: col.masking.clone().unwrap_or_default(),
            explicit: col.masking.is_some(),
        });
    }
    Ok(columns)
}

/// NOT NULL columns of every mapped table, as (table, column).
pub async fn not_null_columns(
    client: &impl GenericClient,
    map: &DataMap,
) -> Result<std::collections::BTreeSet<(TableName, String)>, tokio_postgres::Error> {
    let schemas: Vec<String> = map
        .tables
        .keys()
        .map(|t| map.table_name(t).schema)
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let rows = client
        .query(
            "SELECT n.nspname::text, c.relname::text, a.attname::text \
             FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid \
             JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE a.attnotnull AND a.attnum > 0 AND NOT a.attisdropped \
               AND c.relkind IN ('r', 'p') AND n.nspname = ANY($1)",
            &[&schemas],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|row| {
            (
                TableName {
                    schema: row.get(0),
                    table: row.get(1),
                },
                row.get(2),
            )
        })
        .collect())
}

/// The `map check` findings of masking: every strategy that does not fit its
/// column, as errors (exit 6 from `map check` and from the gate of every change).
pub async fn check_fit(
    client: &impl GenericClient,
    map: &DataMap,
    catalog: &Catalog,
) -> Result<Vec<Finding>, tokio_postgres::Error> {
    let not_null = not_null_columns(client, map).await?;
    let is_not_null = |t: &TableName, c: &str| not_null.contains(&(t.clone(), c.to_owned()));
    let mut findings = Vec::new();
    for table in map.tables.keys() {
        let Ok(columns) = columns_of(map, catalog, table, &is_not_null) else {
            continue; // a missing table is map check's own finding
        };
        for info in columns {
            let mut problem = fit(&info).err();
            if problem.is_none() {
                if let (Masking::Redact(Some(value)), false) =
                    (&info.masking, info.family == TypeFamily::Text)
                {
                    let cast = format!("SELECT $1::text::{}", info.ty);
                    if client.query_one(&cast, &[value]).await.is_err() {
                        problem = Some(format!(
                            "`redact:{value}` is not a value of the column's type {}: give one it takes",
                            info.ty
                        ));
                    }
                }
            }
            if let Some(message) = problem {
                // A strategy left to the default is a warning: nothing masks the
                // table until erase or anonymise needs it, and those refuse then.
                let (severity, message) = if info.explicit {
                    (Severity::Error, format!("masking does not fit: {message}"))
                } else {
                    (
                        Severity::Warning,
                        format!("no masking given, and the default does not fit: {message}"),
                    )
                };
                findings.push(Finding {
                    severity,
                    object: info.object(),
                    message,
                    fix: Some(format!(
                        "change `masking` of `{}` under [tables.{}.columns]",
                        info.column, info.table
                    )),
                });
            }
        }
    }
    Ok(findings)
}

/// A `fake` column, filled from values made here.
#[derive(Debug, Clone)]
struct FakeColumn {
    column: String,
    ty: String,
    category: Category,
    deterministic: bool,
}

/// What masking does to one table's rows: one set-based `UPDATE` of the SQL
/// strategies, one of the fakes, or a `DELETE` when a column says `delete-row`.
#[derive(Clone)]
pub struct TableMasks {
    pub table: TableName,
    pub key_columns: Vec<String>,
    key_types: Vec<String>,
    /// `"col" = expr` for each SQL strategy.
    sets: Vec<String>,
    fakes: Vec<FakeColumn>,
    /// Columns masked (not `keep`), for reports and audit rows.
    pub masked_columns: Vec<String>,
    /// Columns whose strategy is `hmac`: pseudonymised, not anonymised.
    pub pseudonymised: Vec<String>,
    pub delete: bool,
    params: Params,
    key_for_fakes: Option<MaskKey>,
    /// The key the `hmac` columns' SQL reads from [`KEY_TABLE`].
    key_for_server: Option<MaskKey>,
}

impl TableMasks {
    /// Nothing to do: every column is `keep`.
    pub fn is_noop(&self) -> bool {
        !self.delete && self.sets.is_empty() && self.fakes.is_empty()
    }

    /// Column names and SQL, for the benchmark's hand-written twin: `SET ...` with
    /// the bound values.
    pub fn set_clause(&self) -> (String, &Params) {
        (self.sets.join(", "), &self.params)
    }
}

/// Plan the masking of mapped table `table`. `key` is needed when a column says
/// `hmac` or `fake:deterministic`.
pub fn plan_table(
    map: &DataMap,
    catalog: &Catalog,
    table: &str,
    not_null: &dyn Fn(&TableName, &str) -> bool,
    key: Option<&MaskKey>,
) -> Result<TableMasks, MaskingError> {
    plan_table_keeping(map, catalog, table, not_null, key, &|_| false)
}

/// Plan the masking of a row the law keeps: the columns whose category `kept`
/// says are left as they are, the others masked by their strategies; the row
/// itself is never deleted (`delete-row` columns are left too).
pub fn plan_kept_row(
    map: &DataMap,
    catalog: &Catalog,
    table: &str,
    not_null: &dyn Fn(&TableName, &str) -> bool,
    key: Option<&MaskKey>,
    kept: &dyn Fn(Category) -> bool,
) -> Result<TableMasks, MaskingError> {
    let mut masks = plan_table_keeping(map, catalog, table, not_null, key, kept)?;
    masks.delete = false;
    Ok(masks)
}

fn plan_table_keeping(
    map: &DataMap,
    catalog: &Catalog,
    table: &str,
    not_null: &dyn Fn(&TableName, &str) -> bool,
    key: Option<&MaskKey>,
    kept: &dyn Fn(Category) -> bool,
) -> Result<TableMasks, MaskingError> {
    let columns = columns_of(map, catalog, table, not_null).map_err(MaskingError::Misfit)?;
    let name = map.table_name(table);
    let found = catalog
        .tables
        .get(&name)
        .ok_or_else(|| MaskingError::Misfit(format!("table {name} is not in the database")))?;
    let mut masks = TableMasks {
        table: name.clone(),
        key_columns: found.primary_key.clone(),
        key_types: found
            .primary_key
            .iter()
            .map(|c| found.column_type(c).unwrap_or("text").to_owned())
            .collect(),
        sets: Vec::new(),
        fakes: Vec::new(),
        masked_columns: Vec::new(),
        pseudonymised: Vec::new(),
        delete: false,
        params: Params::default(),
        key_for_fakes: None,
        key_for_server: None,
    };
    let need_key = |what: &str, info: &ColumnInfo| {
        MaskingError::NoKey(format!(
            "{} says `{what}`, which needs the masking key: pass --key-file FILE or set {KEY_ENV} (the key is never shown or logged)",
            info.object()
        ))
    };
    for info in columns.iter().filter(|info| !kept(info.category)) {
        fit(info).map_err(|m| {
            MaskingError::Misfit(format!(
                "{}: masking does not fit: {m}; run `derbes map check`",
                info.object()
            ))
        })?;
        let c = format!("t0.{}", quote_ident(&info.column));
        let ty = &info.ty;
        let p = &mut masks.params;
        let expr = match &info.masking {
            Masking::Keep => continue,
            Masking::DeleteRow => {
                masks.delete = true;
                continue;
            }
            Masking::Fake { deterministic } => {
                if *deterministic {
                    let key = key.ok_or_else(|| need_key("fake:deterministic", info))?;
                    masks.key_for_fakes = Some(key.clone());
                }
                masks.fakes.push(FakeColumn {
                    column: info.column.clone(),
                    ty: ty.clone(),
                    category: info.category,
                    deterministic: *deterministic,
                });
                masks.masked_columns.push(info.column.clone());
                continue;
            }
            Masking::Null => "NULL".to_owned(),
            Masking::Redact(value) => {
                let value = value.clone().unwrap_or_else(|| REDACTED.to_owned());
                let v = p.text(value);
                match info.max_length() {
                    Some(max) => format!("left({v}::text, {max})::{ty}"),
                    None => format!("{v}::text::{ty}"),
                }
            }
            Masking::Hmac => {
                let key = key.ok_or_else(|| need_key("hmac", info))?;
                masks.key_for_server = Some(key.clone());
                let digest = format!(
                    "encode(sha256((SELECT k.outer_pad FROM {KEY_TABLE} k) || \
                     sha256((SELECT k.inner_pad FROM {KEY_TABLE} k) || convert_to({c}::text, 'UTF8'))), 'hex')"
                );
                masks.pseudonymised.push(info.column.clone());
                if info.is_uuid() {
                    format!("left({digest}, 32)::uuid")
                } else {
                    match info.max_length() {
                        Some(max) => format!("left({digest}, {max})::{ty}"),
                        None => format!("{digest}::{ty}"),
                    }
                }
            }
            Masking::Generalise(to) => generalise(info, &c, to.as_deref(), p),
            Masking::Truncate { keep, from_end } => {
                let n = p.push(Value::Int(*keep as i32));
                let f = if *from_end { "right" } else { "left" };
                format!("{f}({c}::text, {n}::int)::{ty}")
            }
        };
        masks.masked_columns.push(info.column.clone());
        // NULL stays NULL (a strategy never invents a value where there was none);
        // a NOT NULL column needs no test for it on every row.
        let expr = if expr == "NULL" || info.not_null {
            expr
        } else {
            format!("CASE WHEN {c} IS NULL THEN NULL ELSE {expr} END")
        };
        masks
            .sets
            .push(format!("{} = {expr}", quote_ident(&info.column)));
    }
    // A delete needs no key (one statement over the rows in scope); a fake is
    // read, made here and written back by key.
    if !masks.delete && !masks.fakes.is_empty() && masks.key_columns.is_empty() {
        return Err(MaskingError::Misfit(format!(
            "table {name} has no primary key, so its rows cannot be given fake values by key: \
             add a primary key, or mask its columns with null, redact, hmac or generalise"
        )));
    }
    Ok(masks)
}

/// The SQL of `generalise` for one column (its fit already checked).
fn generalise(info: &ColumnInfo, c: &str, to: Option<&str>, p: &mut Params) -> String {
    let ty = &info.ty;
    match info.family {
        TypeFamily::Date | TypeFamily::Timestamp => {
            let unit = to.unwrap_or(if info.category == Category::BirthDate {
                "year"
            } else {
                "month"
            });
            let u = p.text(unit);
            format!("date_trunc({u}::text, {c})::{ty}")
        }
        TypeFamily::Inet => {
            format!("network(set_masklen({c}::inet, CASE WHEN family({c}::inet) = 4 THEN 24 ELSE 48 END))::{ty}")
        }
        TypeFamily::Integer | TypeFamily::Numeric if info.category == Category::Location => {
            let decimals: i32 = to.and_then(|t| t.parse().ok()).unwrap_or(2);
            let d = p.push(Value::Int(decimals));
            format!("round({c}::numeric, {d}::int)::{ty}")
        }
        TypeFamily::Integer | TypeFamily::Numeric => {
            let step: i32 = to.and_then(|t| t.parse().ok()).unwrap_or(1000);
            let s = p.push(Value::Int(step));
            format!("(floor({c}::numeric / {s}::int) * {s}::int)::{ty}")
        }
        _ if info.category == Category::IpAddress => {
            format!("host(network(set_masklen({c}::inet, CASE WHEN family({c}::inet) = 4 THEN 24 ELSE 48 END)))::{ty}")
        }
        _ => {
            let keep: i32 = to.and_then(|t| t.parse().ok()).unwrap_or(3);
            let k = p.push(Value::Int(keep));
            format!("left({c}::text, {k}::int)::{ty}")
        }
    }
}

/// Which rows of the table a masking statement touches: a condition on `t0`
/// (and an optional `FROM` item), built with the statement's [`Params`] so its
/// placeholders follow the strategies' own.
pub type RowFilter<'a> = &'a (dyn Fn(&mut Params) -> RowScope + Sync);

/// The rows a statement works on.
pub struct RowScope {
    /// Extra `FROM` items (`pg_temp."keys" k`), or empty.
    pub using: String,
    /// Condition on `t0` (and the `using` items).
    pub condition: String,
}

/// What masking one set of rows did.
#[derive(Debug, Clone, Default)]
pub struct Applied {
    pub masked: u64,
    pub deleted: u64,
}

impl TableMasks {
    /// Mask (or delete) the rows `filter` selects, in `tx`.
    /// The `UPDATE` is prepared through `statements`: a batch loop passing the same
    /// cache parses it once.
    pub async fn apply(
        &self,
        tx: &Transaction<'_>,
        filter: RowFilter<'_>,
        statements: &mut StatementCache,
    ) -> Result<Applied, MaskingError> {
        let failed = |e: tokio_postgres::Error| MaskingError::Database {
            table: self.table.to_string(),
            message: crate::pg::db::describe(&e),
            transient: Some(ChangeError::from(&e)).filter(crate::pg::change::retry_safe),
        };
        let mut applied = Applied::default();
        if self.delete {
            let mut params = Params::default();
            let scope = filter(&mut params);
            let using = if scope.using.is_empty() {
                String::new()
            } else {
                format!(" USING {}", scope.using)
            };
            let sql = format!(
                "DELETE FROM {} t0{using} WHERE {}",
                self.table.quoted(),
                scope.condition
            );
            let statement = statements.prepare(tx, &sql).await.map_err(failed)?;
            applied.deleted = tx
                .execute(&statement, &params.refs())
                .await
                .map_err(failed)?;
            return Ok(applied);
        }
        if !self.fakes.is_empty() {
            applied.masked = self.apply_fakes(tx, filter).await.map_err(failed)?;
        }
        if !self.sets.is_empty() {
            if let Some(key) = &self.key_for_server {
                load_key(tx, key).await.map_err(failed)?;
            }
            let mut params = self.params.clone();
            let scope = filter(&mut params);
            let from = if scope.using.is_empty() {
                String::new()
            } else {
                format!(" FROM {}", scope.using)
            };
            let sql = format!(
                "UPDATE {} t0 SET {}{from} WHERE {}",
                self.table.quoted(),
                self.sets.join(", "),
                scope.condition
            );
            let statement = statements.prepare(tx, &sql).await.map_err(failed)?;
            let n = tx
                .execute(&statement, &params.refs())
                .await
                .map_err(failed)?;
            applied.masked = applied.masked.max(n);
        }
        Ok(applied)
    }

    /// Read the rows' keys (and originals, for deterministic fakes), make the
    /// stand-ins, write them with one `UPDATE ... FROM unnest(...)`.
    async fn apply_fakes(
        &self,
        tx: &Transaction<'_>,
        filter: RowFilter<'_>,
    ) -> Result<u64, tokio_postgres::Error> {
        let mut params = Params::default();
        let scope = filter(&mut params);
        let from = if scope.using.is_empty() {
            String::new()
        } else {
            format!(", {}", scope.using)
        };
        let keys: Vec<String> = self
            .key_columns
            .iter()
            .map(|k| format!("t0.{}::text", quote_ident(k)))
            .collect();
        let originals: Vec<String> = self
            .fakes
            .iter()
            .map(|f| format!("t0.{}::text", quote_ident(&f.column)))
            .collect();
        let sql = format!(
            "SELECT {}, {} FROM {} t0{from} WHERE {}",
            keys.join(", "),
            originals.join(", "),
            self.table.quoted(),
            scope.condition
        );
        let rows = tx.query(&sql, &params.refs()).await?;
        if rows.is_empty() {
            return Ok(0);
        }
        let nk = self.key_columns.len();
        let mut key_arrays: Vec<Vec<String>> = vec![Vec::with_capacity(rows.len()); nk];
        let mut fake_arrays: Vec<Vec<Option<String>>> =
            vec![Vec::with_capacity(rows.len()); self.fakes.len()];
        let mut rng = rand_chacha::ChaCha20Rng::from_entropy();
        for row in &rows {
            for (i, keys) in key_arrays.iter_mut().enumerate() {
                keys.push(row.get(i));
            }
            for (j, fake) in self.fakes.iter().enumerate() {
                let original: Option<String> = row.get(nk + j);
                let value =
                    original.map(|original| match (&self.key_for_fakes, fake.deterministic) {
                        (Some(key), true) => {
                            let digest = key.hmac_hex(&format!("{}:{original}", fake.category));
                            let mut seed = [0u8; 32];
                            hex::decode_to_slice(&digest, &mut seed).expect("64 hex digits");
                            make_fake(
                                fake.category,
                                &mut rand_chacha::ChaCha20Rng::from_seed(seed),
                            )
                        }
                        _ => make_fake(fake.category, &mut rng),
                    });
                fake_arrays[j].push(value);
            }
        }
        let mut sql_params: Vec<&(dyn ToSql + Sync)> = Vec::new();
        let mut names = Vec::new();
        let mut arrays = Vec::new();
        for i in 0..nk {
            arrays.push(format!("${}::text[]", i + 1));
            names.push(format!("k{i}"));
        }
        for j in 0..self.fakes.len() {
            arrays.push(format!("${}::text[]", nk + j + 1));
            names.push(format!("f{j}"));
        }
        for keys in &key_arrays {
            sql_params.push(keys);
        }
        for fakes in &fake_arrays {
            sql_params.push(fakes);
        }
        let sets: Vec<String> = self
            .fakes
            .iter()
            .enumerate()
            .map(|(j, f)| format!("{} = v.f{j}::{}", quote_ident(&f.column), f.ty))
            .collect();
        let on: Vec<String> = self
            .key_columns
            .iter()
            .zip(&self.key_types)
            .enumerate()
            .map(|(i, (k, ty))| format!("t0.{} = v.k{i}::{ty}", quote_ident(k)))
            .collect();
        let sql = format!(
            "UPDATE {} t0 SET {} FROM unnest({}) AS v({}) WHERE {}",
            self.table.quoted(),
            sets.join(", "),
            arrays.join(", "),
            names.join(", "),
            on.join(" AND ")
        );
        tx.execute(&sql, &sql_params).await
    }
}

/// A stand-in of a category's format.
fn make_fake(category: Category, rng: &mut impl Rng) -> String {
    use crate::ops::sample::names;
    match category {
        Category::Iin => loop {
            let year = rng.gen_range(1950..=2005);
            let date =
                chrono::NaiveDate::from_ymd_opt(year, rng.gen_range(1..=12), rng.gen_range(1..=28))
                    .expect("a valid day");
            let sex = if rng.gen_bool(0.5) {
                Sex::Male
            } else {
                Sex::Female
            };
            if let Some(iin) = Iin::from_parts(date, sex, rng.gen_range(0..=9999)) {
                break iin.to_string();
            }
        },
        Category::Phone => format!("+77{:09}", rng.gen_range(0..1_000_000_000u32)),
        Category::Email => format!(
            "user-{:012x}@example.invalid",
            rng.gen::<u64>() & 0xffff_ffff_ffff
        ),
        _ => {
            let first = if rng.gen_bool(0.5) {
                names::KAZAKH_MALE
            } else {
                names::KAZAKH_FEMALE
            };
            let surname = names::KAZAKH_SURNAMES[rng.gen_range(0..names::KAZAKH_SURNAMES.len())];
            format!("{} {surname}", first[rng.gen_range(0..first.len())])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(ty: &str, category: Category, masking: &str) -> ColumnInfo {
        ColumnInfo {
            table: "t".into(),
            column: "c".into(),
            ty: ty.into(),
            family: TypeFamily::of(ty),
            category,
            not_null: false,
            unique: false,
            masking: Masking::try_from(masking.to_owned()).unwrap(),
            explicit: true,
        }
    }

    #[test]
    fn strategies_parse_with_their_old_names() {
        assert_eq!(Masking::try_from("pseudonym".to_owned()), Ok(Masking::Hmac));
        assert_eq!(
            Masking::try_from("partial".to_owned()),
            Ok(Masking::Truncate {
                keep: 4,
                from_end: true
            })
        );
        assert_eq!(
            Masking::try_from("redact:n/a".to_owned()),
            Ok(Masking::Redact(Some("n/a".into())))
        );
        assert!(Masking::try_from("shred".to_owned()).is_err());
        assert!(Masking::try_from("truncate:0".to_owned()).is_err());
        assert_eq!(
            String::from(Masking::Generalise(Some("year".into()))),
            "generalise:year"
        );
    }

    #[test]
    fn misfits_are_refused() {
        let mut not_null = info("text", Category::Name, "null");
        not_null.not_null = true;
        assert!(fit(&not_null).is_err());
        assert!(fit(&info("date", Category::BirthDate, "redact")).is_err());
        assert!(fit(&info("boolean", Category::Pep, "generalise")).is_err());
        assert!(fit(&info("bigint", Category::Iin, "hmac")).is_err());
        assert!(fit(&info("character(5)", Category::Phone, "fake")).is_err());
        assert!(fit(&info("text", Category::Address, "fake")).is_err());
        let mut unique = info("text", Category::Email, "redact");
        unique.unique = true;
        assert!(fit(&unique).is_err());
        assert!(fit(&info("date", Category::BirthDate, "generalise:year")).is_ok());
        assert!(fit(&info("inet", Category::IpAddress, "generalise")).is_ok());
        assert!(fit(&info("character(12)", Category::Iin, "fake")).is_ok());
        assert!(fit(&info("date", Category::BirthDate, "redact:1900-01-01")).is_ok());
    }

    #[test]
    fn hmac_matches_the_hmac_crate_and_hides_the_key() {
        use hmac::{Hmac, Mac};
        let mut long = [0u8; 100];
        rand::RngCore::fill_bytes(&mut rand_chacha::ChaCha20Rng::seed_from_u64(9), &mut long);
        for secret in [
            &b"jdQn2p5Js3NkdTwwGGjqnZkll/2drJ33KRRyUQln6oc="[..],
            &long[..],
        ] {
            let key = MaskKey::from_bytes(secret).unwrap();
            let mut mac = Hmac::<Sha256>::new_from_slice(secret).unwrap();
            mac.update("061211600012".as_bytes());
            assert_eq!(
                key.hmac_hex("061211600012"),
                hex::encode(mac.finalize().into_bytes())
            );
            assert_eq!(format!("{key:?}"), "MaskKey(hidden)");
        }
        assert!(MaskKey::from_bytes(b"short\n").is_err());
    }

    /// Issue 23, defect 2: a guessable key is refused, saying how to make one and
    /// never showing the key.
    #[test]
    fn weak_masking_keys_are_refused() {
        let spaces = " ".repeat(40);
        for weak in [
            spaces.as_str(),
            "test-mask-key-0123456789abcdef\n",
            "kpWm2P52XEh+fczy/fJ95Q==\n",
            "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk",
        ] {
            let Err(MaskingError::BadKey(message)) = MaskKey::from_bytes(weak.as_bytes()) else {
                panic!("{weak:?} was accepted");
            };
            assert!(message.contains("openssl rand -base64 32"), "{message}");
            assert!(message.contains("32 random bytes"), "{message}");
            if !weak.trim().is_empty() {
                assert!(!message.contains(weak.trim()), "{message}");
            }
        }
        // The same key with or without its newline is the same key.
        let a = MaskKey::from_bytes(b"jdQn2p5Js3NkdTwwGGjqnZkll/2drJ33KRRyUQln6oc=\n").unwrap();
        let b = MaskKey::from_bytes(b"jdQn2p5Js3NkdTwwGGjqnZkll/2drJ33KRRyUQln6oc=").unwrap();
        assert_eq!(a.hmac_hex("x"), b.hmac_hex("x"));
    }

    #[test]
    fn fakes_have_the_format_of_their_category() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
        for _ in 0..100 {
            let iin = make_fake(Category::Iin, &mut rng);
            assert!(Iin::parse(&iin).is_ok(), "{iin}");
            let phone = make_fake(Category::Phone, &mut rng);
            assert!(crate::kz::identity::Phone::parse(&phone).is_ok(), "{phone}");
        }
    }
}
