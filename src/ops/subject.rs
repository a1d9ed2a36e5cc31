//! Finding a data subject from one identity, and what is held about them.
//!
//! Identities are resolved by [`crate::ops::resolve`] and rows reached through the
//! compiled link paths of [`crate::map::link`], like every other command; [`summary`]
//! gathers what `subject show` prints.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use serde::Serialize;
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::GenericClient;

use crate::kz::identity::{Identity, Iin};
use crate::map::link::LinkPath;
use crate::map::{quote_ident, Category, DataMap, IdentityKind};
use crate::pg::catalog::Catalog;

pub use crate::ops::resolve::{mask_iin, resolve_one as resolve, Candidate, ResolveError};

/// The name an identity's kind has in messages and in the data map.
pub fn kind_name(identity: &Identity) -> &'static str {
    identity.kind()
}

fn path(map: &DataMap, catalog: &Catalog, table: &str) -> Result<LinkPath, ResolveError> {
    LinkPath::compile(map, catalog, table).map_err(ResolveError::Map)
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
    /// Under 18 by the IIN or the birth date (docs/policy.md 11.1).
    pub minor: bool,
    pub categories: Vec<CategoryHeld>,
    /// Loans not yet repaid; None when the map has no loan ledger.
    pub open_loans: Option<i64>,
    pub consents: Vec<ConsentRecord>,
    pub disclosures: Vec<DisclosureRecord>,
    /// The subject's requests (`derbes request`), newest first; None when the derbes
    /// schema holds no requests table (not installed, or older than version 8).
    pub requests: Option<Vec<crate::ops::request::RequestRecord>>,
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
        let path = path(map, catalog, name)?;
        let span = match &spec.time_column {
            Some(column) => format!(
                "min(t0.{c})::text, max(t0.{c})::text",
                c = quote_ident(column)
            ),
            None => "NULL::text, NULL::text".to_owned(),
        };
        queries.push((
            name,
            format!("SELECT count(*), {span} {}", path.from_where_one()),
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
    let subject = path(map, catalog, &map.subject.table)?;
    let sql = format!("SELECT {} {}", select.join(", "), subject.from_where_one());
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
            let sql = format!(
                "SELECT count(*) {} AND t0.{}::text = ANY($2::text[])",
                path(map, catalog, &loans.table)?.from_where_one(),
                quote_ident(&loans.status)
            );
            Some(client.query_one(&sql, &[&key, &loans.open]).await?.get(0))
        }
        None => None,
    };
    let consents = consent_history(client, map, catalog, key).await?;
    let disclosures = disclosure_history(client, map, catalog, key).await?;
    let subject_ref = format!("{}:{key}", map.subject.table);
    let requests = crate::ops::request::of_subject(client, &subject_ref, today).await?;
    Ok(SubjectSummary {
        subject_ref,
        key: key.to_owned(),
        identity,
        status,
        birth_date,
        minor,
        categories,
        open_loans,
        consents,
        disclosures,
        requests,
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
    let join = path(map, catalog, &ledger.table)?;
    let document = ledger
        .document
        .as_ref()
        .map(|c| format!("t0.{}::text", quote_ident(c)))
        .unwrap_or_else(|| "NULL::text".to_owned());
    let sql = format!(
        "SELECT t0.{p}::text, t0.{g}::text, t0.{w}::text, {document} {} ORDER BY t0.{g}",
        join.from_where_one(),
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
    let join = path(map, catalog, &ledger.table)?;
    let optional = |column: Option<&String>, ty: &str| {
        column
            .map(|c| format!("t0.{}::{ty}", quote_ident(c)))
            .unwrap_or_else(|| format!("NULL::{ty}"))
    };
    let sql = format!(
        "SELECT t0.{r}::text, t0.{p}::text, t0.{d}::text, {}, {} {} ORDER BY t0.{d}",
        optional(ledger.legal_basis.as_ref(), "text"),
        optional(ledger.categories.as_ref(), "text[]"),
        join.from_where_one(),
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
    fn category_spans_take_the_extremes() {
        assert_eq!(
            min_opt(Some("2024-01-02".into()), Some("2023-05-01".into())).as_deref(),
            Some("2023-05-01")
        );
        assert_eq!(max_opt(None, Some("x".into())).as_deref(), Some("x"));
    }
}
