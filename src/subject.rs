//! Finding a data subject from one identity, and what is held about them.
//!
//! [`resolve`] turns an [`Identity`] (IIN, BIN, phone, email or `id:KEY`) into the
//! subject keys it matches, through every identity column the data map declares,
//! whether it sits in the subject table or in a linked table. [`SubjectJoin`] builds
//! the `FROM ... WHERE <subject key> = $1` of any mapped table, following its link
//! path, so every statement about one subject is filtered by the subject key (one
//! shard on a distributed database). [`summary`] gathers what `subject show` prints.
//!
//! Keys travel as text and are compared in SQL with a cast to the catalogue's type of
//! the key column, so indexes are used whatever the key type.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use serde::Serialize;
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::GenericClient;

use crate::catalog::{Catalog, CatalogTable};
use crate::datamap::{quote_ident, Category, DataMap, IdentityKind, TableName};
use crate::error::DerbesError;
use crate::identity::{Identity, Iin};

/// One subject an identity matched, safe to show to whoever picks among them.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Candidate {
    /// The subject key (`id:KEY` picks this one).
    pub key: String,
    /// The IIN with its middle digits hidden, when the map names an IIN column.
    pub masked_iin: Option<String>,
    pub status: Option<String>,
}

/// Why an identity did not lead to exactly one subject.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    #[error(
        "no subject matches {kind} {masked} (searched {searched}): check the value with the \
         person, or try another identity (IIN, phone, email, id:KEY)"
    )]
    NotFound {
        kind: &'static str,
        masked: String,
        searched: String,
    },
    #[error(
        "{kind} {masked} matches {} subjects: {}; pick one with id:KEY after checking with the person",
        candidates.len(),
        candidates.iter().map(Candidate::label).collect::<Vec<_>>().join("; ")
    )]
    Ambiguous {
        kind: &'static str,
        masked: String,
        candidates: Vec<Candidate>,
    },
    #[error(
        "the data map declares no {kind} identity column: add one under [[subject.identities]], \
         or search by another identity"
    )]
    NoIdentityColumn { kind: &'static str },
    #[error("the data map does not fit the database: {0}. Run `derbes map check`")]
    Map(String),
    #[error("looking up the subject failed: {}", crate::db::describe(.0))]
    Db(#[from] tokio_postgres::Error),
}

impl Candidate {
    /// One line naming the candidate without a personal value in clear.
    pub fn label(&self) -> String {
        format!(
            "id:{} (IIN {}, {})",
            self.key,
            self.masked_iin.as_deref().unwrap_or("unknown"),
            self.status.as_deref().unwrap_or("status unknown")
        )
    }
}

/// The name an identity's kind has in messages and in the data map.
pub fn kind_name(identity: &Identity) -> &'static str {
    identity.kind()
}

/// The `FROM` clause that reaches a mapped table's rows from a subject key.
///
/// The table itself is always aliased `t0`; `key_expr` is the column that holds the
/// subject key at the end of the link path (never the subject table joined in, so
/// the filter sits on the table being read).
#[derive(Debug, Clone)]
pub struct SubjectJoin {
    pub table: TableName,
    pub from: String,
    pub key_expr: String,
    /// The catalogue type of the subject key, for the `$1::text::TYPE` cast.
    pub key_type: String,
}

impl SubjectJoin {
    pub fn new(map: &DataMap, catalog: &Catalog, table: &str) -> Result<SubjectJoin, String> {
        let key_type = subject_key_type(map, catalog)?;
        let table_name = map.table_name(table);
        let steps = map.link_path(table)?;
        let mut from = format!("{} t0", table_name.quoted());
        let mut key_expr = format!("t0.{}", quote_ident(&map.subject.key));
        for (i, step) in steps.iter().enumerate() {
            let last = i + 1 == steps.len();
            if last {
                // The link column holds the subject key itself: filter on it directly.
                key_expr = format!("t{i}.{}", quote_ident(&step.column));
                break;
            }
            let to = map.table_name(&step.to);
            let to_column = match &step.to_column {
                Some(column) => column.clone(),
                None => single_primary_key(catalog_table(catalog, &to)?)?,
            };
            from.push_str(&format!(
                " JOIN {} t{next} ON t{i}.{} = t{next}.{}",
                to.quoted(),
                quote_ident(&step.column),
                quote_ident(&to_column),
                next = i + 1
            ));
        }
        Ok(SubjectJoin {
            table: table_name,
            from,
            key_expr,
            key_type,
        })
    }

    /// `FROM ... WHERE <subject key> = $1::text::TYPE`.
    pub fn from_where(&self) -> String {
        format!(
            "FROM {} WHERE {} = $1::text::{}",
            self.from, self.key_expr, self.key_type
        )
    }
}

fn catalog_table<'c>(catalog: &'c Catalog, name: &TableName) -> Result<&'c CatalogTable, String> {
    catalog
        .tables
        .get(name)
        .ok_or_else(|| format!("table {name} is in the data map but not in the database"))
}

fn single_primary_key(table: &CatalogTable) -> Result<String, String> {
    match table.primary_key.as_slice() {
        [only] => Ok(only.clone()),
        _ => Err(format!(
            "table {} has no single-column primary key to link to: give `via_column` in its link",
            table.name
        )),
    }
}

/// The catalogue type of the subject key (`bigint`, `uuid`, ...).
pub fn subject_key_type(map: &DataMap, catalog: &Catalog) -> Result<String, String> {
    let table = catalog_table(catalog, &map.subject_table())?;
    table
        .column_type(&map.subject.key)
        .map(str::to_owned)
        .ok_or_else(|| {
            format!(
                "the subject key {}.{} does not exist",
                table.name, map.subject.key
            )
        })
}

fn column_type(catalog: &Catalog, table: &TableName, column: &str) -> Result<String, String> {
    catalog_table(catalog, table)?
        .column_type(column)
        .map(str::to_owned)
        .ok_or_else(|| format!("column {table}.{column} does not exist"))
}

impl ResolveError {
    /// As an error with its exit code: not found 3, ambiguous 4, a map problem 6.
    pub fn into_anyhow(self) -> anyhow::Error {
        let message = self.to_string();
        match self {
            ResolveError::NotFound { .. } => DerbesError::NotFound(message).into(),
            ResolveError::Ambiguous { .. } => DerbesError::Ambiguous(message).into(),
            ResolveError::NoIdentityColumn { .. } => DerbesError::Usage(message).into(),
            ResolveError::Map(_) => DerbesError::VerificationFailed(message).into(),
            ResolveError::Db(_) => anyhow::Error::new(self),
        }
    }
}

/// Every subject `identity` matches, through every identity column of its kind.
///
/// Returns one candidate or fails with [`ResolveError::NotFound`] or
/// [`ResolveError::Ambiguous`]; use [`candidates`] to get them all.
pub async fn resolve(
    client: &impl GenericClient,
    map: &DataMap,
    catalog: &Catalog,
    identity: &Identity,
) -> Result<Candidate, ResolveError> {
    let (found, searched) = candidates(client, map, catalog, identity).await?;
    let kind = kind_name(identity);
    match found.len() {
        0 => Err(ResolveError::NotFound {
            kind,
            masked: identity.masked(),
            searched,
        }),
        1 => Ok(found.into_iter().next().expect("one candidate")),
        _ => Err(ResolveError::Ambiguous {
            kind,
            masked: identity.masked(),
            candidates: found,
        }),
    }
}

/// All subjects `identity` matches, and a description of the columns searched.
pub async fn candidates(
    client: &impl GenericClient,
    map: &DataMap,
    catalog: &Catalog,
    identity: &Identity,
) -> Result<(Vec<Candidate>, String), ResolveError> {
    let subject_table = map.subject_table();
    let key_type = subject_key_type(map, catalog).map_err(ResolveError::Map)?;
    let mut keys = BTreeSet::new();
    let mut searched = Vec::new();
    let (kind, value) = match identity {
        Identity::Key(key) => (None, key.clone()),
        Identity::Iin(iin) => (Some(IdentityKind::Iin), iin.to_string()),
        Identity::Bin(bin) => (Some(IdentityKind::Bin), bin.to_string()),
        Identity::Phone(phone) => (Some(IdentityKind::Phone), phone.as_str().to_owned()),
        Identity::Email(email) => (Some(IdentityKind::Email), email.as_str().to_owned()),
    };
    match kind {
        None => {
            searched.push(format!("{subject_table}.{}", map.subject.key));
            let sql = format!(
                "SELECT t0.{key}::text FROM {} t0 WHERE t0.{key} = $1::text::{key_type}",
                subject_table.quoted(),
                key = quote_ident(&map.subject.key)
            );
            match client.query(&sql, &[&value]).await {
                Ok(rows) => keys.extend(rows.iter().map(|row| row.get::<_, String>(0))),
                // A key that is not even of the key's type matches nobody.
                Err(e) if is_bad_literal(&e) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Some(kind) => {
            let specs: Vec<_> = map
                .subject
                .identities
                .iter()
                .filter(|spec| spec.kind == kind)
                .collect();
            if specs.is_empty() {
                return Err(ResolveError::NoIdentityColumn {
                    kind: kind_name(identity),
                });
            }
            for spec in specs {
                let table = spec.table.as_deref().unwrap_or(&map.subject.table);
                let join = SubjectJoin::new(map, catalog, table).map_err(ResolveError::Map)?;
                let column = quote_ident(&spec.column);
                let condition = if spec.case_insensitive {
                    format!("lower(t0.{column}::text) = lower($1::text)")
                } else {
                    let ty = column_type(catalog, &join.table, &spec.column)
                        .map_err(ResolveError::Map)?;
                    format!("t0.{column} = $1::text::{ty}")
                };
                let sql = format!(
                    "SELECT DISTINCT {}::text FROM {} WHERE {condition} AND {} IS NOT NULL",
                    join.key_expr, join.from, join.key_expr
                );
                searched.push(format!("{}.{}", join.table, spec.column));
                for row in client.query(&sql, &[&value]).await? {
                    keys.insert(row.get::<_, String>(0));
                }
            }
        }
    }
    let found = describe_candidates(client, map, &key_type, &keys).await?;
    Ok((found, searched.join(", ")))
}

fn is_bad_literal(error: &tokio_postgres::Error) -> bool {
    use tokio_postgres::error::SqlState;
    matches!(
        error.code(),
        Some(&SqlState::INVALID_TEXT_REPRESENTATION) | Some(&SqlState::NUMERIC_VALUE_OUT_OF_RANGE)
    )
}

/// Masked IIN and status of each key, in key order.
async fn describe_candidates(
    client: &impl GenericClient,
    map: &DataMap,
    key_type: &str,
    keys: &BTreeSet<String>,
) -> Result<Vec<Candidate>, ResolveError> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let iin_column = map
        .subject
        .identities
        .iter()
        .find(|spec| spec.kind == IdentityKind::Iin && spec.table.is_none())
        .map(|spec| format!("t0.{}::text", quote_ident(&spec.column)))
        .unwrap_or_else(|| "NULL::text".to_owned());
    let status_column = map
        .subject
        .status
        .as_ref()
        .map(|s| format!("t0.{}::text", quote_ident(&s.column)))
        .unwrap_or_else(|| "NULL::text".to_owned());
    let sql = format!(
        "SELECT t0.{key}::text, {iin_column}, {status_column} FROM {} t0 \
         WHERE t0.{key} = ANY($1::text[]::{key_type}[]) ORDER BY t0.{key}",
        map.subject_table().quoted(),
        key = quote_ident(&map.subject.key),
    );
    let keys: Vec<&String> = keys.iter().collect();
    let rows = client.query(&sql, &[&keys]).await?;
    Ok(rows
        .iter()
        .map(|row| Candidate {
            key: row.get(0),
            masked_iin: row.get::<_, Option<String>>(1).map(|v| mask_iin(&v)),
            status: row.get(2),
        })
        .collect())
}

/// The IIN with its middle hidden; a value that is not a valid IIN is hidden whole.
pub fn mask_iin(value: &str) -> String {
    match Iin::parse(value.trim()) {
        Ok(iin) => iin.masked(),
        Err(_) => "*".repeat(value.trim().chars().count().max(1)),
    }
}

/// What `derbes subject show` prints: one screen about one subject.
#[derive(Debug, Clone, Serialize)]
pub struct SubjectSummary {
    /// `table:key`, as in audit rows.
    pub subject_ref: String,
    pub key: String,
    /// Identity fields of the subject row: (column, category, value).
    pub identity: Vec<IdentityField>,
    pub status: SubjectStatus,
    pub birth_date: Option<NaiveDate>,
    /// Under 18 by the IIN or the birth date (POLICY.md 11.1).
    pub minor: bool,
    pub categories: Vec<CategoryHeld>,
    /// Loans not yet repaid; None when the map has no loan ledger.
    pub open_loans: Option<i64>,
    pub consents: Vec<ConsentRecord>,
    pub disclosures: Vec<DisclosureRecord>,
}

#[derive(Debug, Clone, Serialize)]
pub struct IdentityField {
    pub column: String,
    pub category: Category,
    pub value: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SubjectStatus {
    /// `active`, `blocked`, `closed`, or the application's own value; `unknown`
    /// when the map names no status column.
    pub state: String,
    /// Why the subject is blocked, when known.
    pub reason: Option<String>,
}

/// The reason, ticket and date of the subject's active block in `derbes.blocks`
/// (None when there is none, or the table is not installed yet).
async fn active_block(
    client: &impl GenericClient,
    map: &DataMap,
    key: &str,
) -> Result<Option<String>, ResolveError> {
    let installed: bool = client
        .query_one("SELECT to_regclass('derbes.blocks') IS NOT NULL", &[])
        .await?
        .get(0);
    if !installed {
        return Ok(None);
    }
    let row = client
        .query_opt(
            "SELECT reason, ticket, to_char(blocked_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') \
             FROM derbes.blocks \
             WHERE subject_table = $1 AND subject_key = $2 AND unblocked_at IS NULL",
            &[&map.subject_table().to_string(), &key],
        )
        .await?;
    Ok(row.map(|r| {
        format!(
            "{}, ticket {}, since {} UTC",
            r.get::<_, String>(0),
            r.get::<_, String>(1),
            r.get::<_, String>(2)
        )
    }))
}

/// Rows held in one category, and the span of their dates.
#[derive(Debug, Clone, Serialize)]
pub struct CategoryHeld {
    pub category: Category,
    pub tables: Vec<String>,
    pub rows: i64,
    pub oldest: Option<String>,
    pub newest: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ConsentRecord {
    pub purpose: Option<String>,
    pub granted_at: Option<String>,
    pub withdrawn_at: Option<String>,
    pub document: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DisclosureRecord {
    pub recipient: Option<String>,
    pub purpose: Option<String>,
    pub disclosed_at: Option<String>,
    pub legal_basis: Option<String>,
    /// Category names the transfer carried; empty when the ledger does not say.
    pub categories: Vec<String>,
}

/// Row count and date span of one mapped table for one subject.
#[derive(Debug, Clone, Serialize)]
pub struct TableHeld {
    pub table: String,
    pub rows: i64,
    pub oldest: Option<String>,
    pub newest: Option<String>,
}

/// Count each mapped table's rows of the subject, with the oldest and newest date.
pub async fn tables_held(
    client: &impl GenericClient,
    map: &DataMap,
    catalog: &Catalog,
    key: &str,
) -> Result<Vec<TableHeld>, ResolveError> {
    let mut queries = Vec::new();
    for (name, spec) in &map.tables {
        let join = SubjectJoin::new(map, catalog, name).map_err(ResolveError::Map)?;
        let span = match &spec.time_column {
            Some(column) => format!(
                "min(t0.{c})::text, max(t0.{c})::text",
                c = quote_ident(column)
            ),
            None => "NULL::text, NULL::text".to_owned(),
        };
        queries.push((
            name,
            format!("SELECT count(*), {span} {}", join.from_where()),
        ));
    }
    // All tables' counts are sent at once (the connection pipelines them) with the
    // parameter typed, so there is no prepare and no wait between tables.
    let params: [(&(dyn ToSql + Sync), Type); 1] = [(&key, Type::TEXT)];
    let rows = futures_util::future::try_join_all(
        queries
            .iter()
            .map(|(_, sql)| client.query_typed_one(sql, &params)),
    )
    .await?;
    Ok(queries
        .iter()
        .zip(rows)
        .map(|((name, _), row)| TableHeld {
            table: (*name).clone(),
            rows: row.get(0),
            oldest: row.get(1),
            newest: row.get(2),
        })
        .collect())
}

/// Gather the summary of the subject with `key`.
pub async fn summary(
    client: &impl GenericClient,
    map: &DataMap,
    catalog: &Catalog,
    key: &str,
    today: NaiveDate,
) -> Result<SubjectSummary, ResolveError> {
    let subject_spec = map
        .tables
        .get(&map.subject.table)
        .ok_or_else(|| ResolveError::Map("the subject table is not mapped".to_owned()))?;
    let shown: Vec<(&String, Category)> = subject_spec
        .columns
        .iter()
        .filter(|(_, c)| {
            matches!(
                c.category,
                Category::Name
                    | Category::Iin
                    | Category::Bin
                    | Category::Phone
                    | Category::Email
                    | Category::BirthDate
                    | Category::Sex
                    | Category::Citizenship
            )
        })
        .map(|(name, c)| (name, c.category))
        .collect();
    let mut select: Vec<String> = shown
        .iter()
        .map(|(column, _)| format!("t0.{}::text", quote_ident(column)))
        .collect();
    let optional = |column: Option<&String>| {
        column
            .map(|c| format!("t0.{}::text", quote_ident(c)))
            .unwrap_or_else(|| "NULL::text".to_owned())
    };
    let iin_column = map
        .subject
        .identities
        .iter()
        .find(|spec| spec.kind == IdentityKind::Iin && spec.table.is_none())
        .map(|spec| &spec.column);
    select.push(optional(iin_column));
    select.push(optional(map.subject.status.as_ref().map(|s| &s.column)));
    select.push(
        map.subject
            .birth_date
            .as_ref()
            .map(|c| format!("t0.{}::date", quote_ident(c)))
            .unwrap_or_else(|| "NULL::date".to_owned()),
    );
    let join = SubjectJoin::new(map, catalog, &map.subject.table).map_err(ResolveError::Map)?;
    let sql = format!("SELECT {} {}", select.join(", "), join.from_where());
    let row = client
        .query_opt(&sql, &[&key])
        .await?
        .ok_or_else(|| ResolveError::NotFound {
            kind: "id",
            masked: format!("id:{key}"),
            searched: format!("{}.{}", map.subject_table(), map.subject.key),
        })?;
    let n = shown.len();
    let identity = shown
        .iter()
        .enumerate()
        .map(|(i, (column, category))| IdentityField {
            column: (*column).clone(),
            category: *category,
            value: row.get(i),
        })
        .collect();
    let iin: Option<Iin> = row
        .get::<_, Option<String>>(n)
        .and_then(|v| Iin::parse(v.trim()).ok());
    let raw_status: Option<String> = row.get(n + 1);
    let birth_column: Option<NaiveDate> = row.get(n + 2);
    let birth_date = iin.as_ref().map(Iin::birth_date).or(birth_column);
    let minor = match (&iin, birth_column) {
        (Some(iin), _) => iin.is_minor_on(today),
        (_, Some(born)) => years_between(born, today) < 18,
        _ => false,
    };
    let active_block = active_block(client, map, key).await?;
    let status = match (&map.subject.status, raw_status) {
        (Some(spec), Some(value)) => {
            let state = if value == spec.active {
                "active".to_owned()
            } else if value == spec.blocked {
                "blocked".to_owned()
            } else if value == spec.closed {
                "closed".to_owned()
            } else {
                value
            };
            let reason = (state == "blocked").then(|| {
                active_block
                    .clone()
                    .unwrap_or_else(|| "not recorded in derbes.blocks".to_owned())
            });
            SubjectStatus { state, reason }
        }
        // No status column: the block history alone says whether access is blocked.
        _ => SubjectStatus {
            state: if active_block.is_some() {
                "blocked".to_owned()
            } else {
                "unknown".to_owned()
            },
            reason: active_block,
        },
    };

    let held = tables_held(client, map, catalog, key).await?;
    let categories = categories_held(map, &held);
    let open_loans = match &map.ledgers.loans {
        Some(loans) => {
            let join = SubjectJoin::new(map, catalog, &loans.table).map_err(ResolveError::Map)?;
            let sql = format!(
                "SELECT count(*) {} AND t0.{}::text = ANY($2::text[])",
                join.from_where(),
                quote_ident(&loans.status)
            );
            Some(client.query_one(&sql, &[&key, &loans.open]).await?.get(0))
        }
        None => None,
    };
    let consents = consent_history(client, map, catalog, key).await?;
    let disclosures = disclosure_history(client, map, catalog, key).await?;
    Ok(SubjectSummary {
        subject_ref: format!("{}:{key}", map.subject.table),
        key: key.to_owned(),
        identity,
        status,
        birth_date,
        minor,
        categories,
        open_loans,
        consents,
        disclosures,
    })
}

fn years_between(born: NaiveDate, on: NaiveDate) -> i32 {
    on.years_since(born).map_or(0, |y| y as i32)
}

/// Fold per-table counts into per-category counts: a table counts for every
/// category of its mapped columns.
pub fn categories_held(map: &DataMap, held: &[TableHeld]) -> Vec<CategoryHeld> {
    let mut by_category: BTreeMap<Category, CategoryHeld> = BTreeMap::new();
    for table in held.iter().filter(|t| t.rows > 0) {
        let Some(spec) = map.tables.get(&table.table) else {
            continue;
        };
        let categories: BTreeSet<Category> = spec.columns.values().map(|c| c.category).collect();
        for category in categories {
            let entry = by_category.entry(category).or_insert(CategoryHeld {
                category,
                tables: Vec::new(),
                rows: 0,
                oldest: None,
                newest: None,
            });
            entry.tables.push(table.table.clone());
            entry.rows += table.rows;
            entry.oldest = min_opt(entry.oldest.take(), table.oldest.clone());
            entry.newest = max_opt(entry.newest.take(), table.newest.clone());
        }
    }
    by_category.into_values().collect()
}

// Dates from different tables compare as text: ISO dates and timestamps sort
// correctly as strings within one session time zone.
fn min_opt(a: Option<String>, b: Option<String>) -> Option<String> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

fn max_opt(a: Option<String>, b: Option<String>) -> Option<String> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

/// The subject's consent history from the consent ledger, oldest first.
pub async fn consent_history(
    client: &impl GenericClient,
    map: &DataMap,
    catalog: &Catalog,
    key: &str,
) -> Result<Vec<ConsentRecord>, ResolveError> {
    let Some(ledger) = &map.ledgers.consents else {
        return Ok(Vec::new());
    };
    let join = SubjectJoin::new(map, catalog, &ledger.table).map_err(ResolveError::Map)?;
    let document = ledger
        .document
        .as_ref()
        .map(|c| format!("t0.{}::text", quote_ident(c)))
        .unwrap_or_else(|| "NULL::text".to_owned());
    let sql = format!(
        "SELECT t0.{p}::text, t0.{g}::text, t0.{w}::text, {document} {} ORDER BY t0.{g}",
        join.from_where(),
        p = quote_ident(&ledger.purpose),
        g = quote_ident(&ledger.granted_at),
        w = quote_ident(&ledger.withdrawn_at),
    );
    Ok(client
        .query(&sql, &[&key])
        .await?
        .iter()
        .map(|row| ConsentRecord {
            purpose: row.get(0),
            granted_at: row.get(1),
            withdrawn_at: row.get(2),
            document: row.get(3),
        })
        .collect())
}

/// The subject's transfers to third parties from the disclosure ledger, oldest first.
pub async fn disclosure_history(
    client: &impl GenericClient,
    map: &DataMap,
    catalog: &Catalog,
    key: &str,
) -> Result<Vec<DisclosureRecord>, ResolveError> {
    let Some(ledger) = &map.ledgers.disclosures else {
        return Ok(Vec::new());
    };
    let join = SubjectJoin::new(map, catalog, &ledger.table).map_err(ResolveError::Map)?;
    let optional = |column: Option<&String>, ty: &str| {
        column
            .map(|c| format!("t0.{}::{ty}", quote_ident(c)))
            .unwrap_or_else(|| format!("NULL::{ty}"))
    };
    let sql = format!(
        "SELECT t0.{r}::text, t0.{p}::text, t0.{d}::text, {}, {} {} ORDER BY t0.{d}",
        optional(ledger.legal_basis.as_ref(), "text"),
        optional(ledger.categories.as_ref(), "text[]"),
        join.from_where(),
        r = quote_ident(&ledger.recipient),
        p = quote_ident(&ledger.purpose),
        d = quote_ident(&ledger.disclosed_at),
    );
    Ok(client
        .query(&sql, &[&key])
        .await?
        .iter()
        .map(|row| DisclosureRecord {
            recipient: row.get(0),
            purpose: row.get(1),
            disclosed_at: row.get(2),
            legal_basis: row.get(3),
            categories: row
                .get::<_, Option<Vec<Option<String>>>>(4)
                .unwrap_or_default()
                .into_iter()
                .flatten()
                .collect(),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_iins_are_hidden_whole() {
        assert_eq!(mask_iin("12345"), "*****");
        assert!(!mask_iin("061211600012").contains("1211600"));
    }

    #[test]
    fn category_spans_take_the_extremes() {
        assert_eq!(
            min_opt(Some("2024-01-02".into()), Some("2023-05-01".into())).as_deref(),
            Some("2023-05-01")
        );
        assert_eq!(max_opt(None, Some("x".into())).as_deref(), Some("x"));
    }
}
