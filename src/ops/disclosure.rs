//! Transfers of a subject's data to third parties (docs/policy.md 7.2): recording one in
//! the application's disclosure ledger (`[ledgers] disclosures` of the data map)
//! and listing them.
//!
//! The policy allows a transfer on three grounds: the subject's consent for a
//! service (7.2.1), a duty under the law (7.2.2), the sale of the resource (7.2.3).
//! The purpose must be one the data map declares, so the subject's export can say
//! what it was for in their language; the categories, when given, are the map's
//! category names, so the export lists the recipient under each category it
//! received.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, GenericClient};

use crate::map::link::{KeyMatch, LinkPath};
use crate::map::{quote_ident, Category, DataMap, DisclosureLedger};
use crate::ops::ledger::{self, DirectLink};
use crate::ops::subject::DisclosureRecord;
use crate::pg::audit::AuditEntry;
use crate::pg::catalog::Catalog;
use crate::pg::change::{self, ChangeError, Limits};

/// The ground of a transfer (7.2.1-7.2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Basis {
    Consent,
    Law,
    Sale,
}

impl Basis {
    pub fn as_str(self) -> &'static str {
        match self {
            Basis::Consent => "consent",
            Basis::Law => "law",
            Basis::Sale => "sale",
        }
    }

    /// What the ledger's legal-basis column records.
    pub fn ledger_text(self) -> &'static str {
        match self {
            Basis::Consent => "consent of the subject (policy 7.2.1)",
            Basis::Law => "required by law (policy 7.2.2)",
            Basis::Sale => "sale of the resource (policy 7.2.3)",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DisclosureError {
    #[error("the data map has no [ledgers] disclosures: name the table where transfers are logged (see examples/datamap.toml)")]
    NoLedger,
    #[error("purpose `{purpose}` is not declared in the data map: use one of {known}, or declare it under [purposes]; nothing was recorded")]
    UnknownPurpose { purpose: String, known: String },
    #[error("`{0}` is not a category: use the data map's category names, e.g. name,iin,phone (see `derbes map check`); nothing was recorded")]
    UnknownCategory(String),
    #[error("the disclosure ledger has no `categories` column, so --categories cannot be recorded: drop it, or name the column in [ledgers] disclosures")]
    NoCategoriesColumn,
    #[error("the transfer date {0} is in the future: give when the data was handed over (today or earlier)")]
    FutureDate(String),
    #[error("the subject {0} was not found when the transfer was recorded (deleted meanwhile?): nothing was recorded")]
    SubjectGone(String),
    #[error("the data map does not fit the database: {0}; run `derbes map check`")]
    MapMismatch(String),
    #[error(transparent)]
    Change(#[from] ChangeError),
    #[error("database error: {0}")]
    Database(String),
}

impl From<tokio_postgres::Error> for DisclosureError {
    fn from(error: tokio_postgres::Error) -> DisclosureError {
        match ChangeError::from(error) {
            ChangeError::Database(message) => DisclosureError::Database(message),
            other => DisclosureError::Change(other),
        }
    }
}

fn ledger_of(map: &DataMap) -> Result<&DisclosureLedger, DisclosureError> {
    map.ledgers
        .disclosures
        .as_ref()
        .ok_or(DisclosureError::NoLedger)
}

/// `--categories name,iin` as categories; unknown names are refused.
pub fn parse_categories(text: &str) -> Result<Vec<Category>, DisclosureError> {
    let mut categories = Vec::new();
    for name in text.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let category = Category::ALL
            .into_iter()
            .find(|c| c.name() == name)
            .ok_or_else(|| DisclosureError::UnknownCategory(name.chars().take(40).collect()))?;
        if !categories.contains(&category) {
            categories.push(category);
        }
    }
    Ok(categories)
}

/// A transfer to record.
#[derive(Debug, Clone)]
pub struct DisclosureRequest {
    pub key: String,
    pub subject_ref: String,
    pub recipient: String,
    pub basis: Basis,
    pub purpose: String,
    pub categories: Vec<Category>,
    /// When the data was handed over; now when absent.
    pub at: Option<DateTime<Utc>>,
    pub ticket: String,
    pub operator: String,
    pub dry_run: bool,
}

/// Everything that can be refused before the database is asked.
pub fn check(map: &DataMap, request: &DisclosureRequest) -> Result<(), DisclosureError> {
    let ledger = ledger_of(map)?;
    if !map.purposes.contains_key(&request.purpose) {
        return Err(DisclosureError::UnknownPurpose {
            purpose: request.purpose.chars().take(40).collect(),
            known: map.purposes.keys().cloned().collect::<Vec<_>>().join(", "),
        });
    }
    if !request.categories.is_empty() && ledger.categories.is_none() {
        return Err(DisclosureError::NoCategoriesColumn);
    }
    if let Some(at) = request.at {
        if at > Utc::now() {
            return Err(DisclosureError::FutureDate(at.to_rfc3339()));
        }
    }
    Ok(())
}

#[derive(Debug, Clone, Serialize)]
pub struct DisclosureReport {
    pub dry_run: bool,
    pub subject: String,
    pub recipient: String,
    pub basis: Basis,
    pub purpose: String,
    pub categories: Vec<String>,
    pub disclosed_at: String,
    pub ticket: String,
    pub audit_seq: Option<i64>,
}

/// Write one row into the disclosure ledger, with its audit row.
pub async fn record(
    client: &mut Client,
    map: &DataMap,
    catalog: &Catalog,
    request: &DisclosureRequest,
) -> Result<DisclosureReport, DisclosureError> {
    check(map, request)?;
    let ledger = ledger_of(map)?;
    let link =
        DirectLink::compile(map, catalog, &ledger.table).map_err(DisclosureError::MapMismatch)?;
    let ty = |column: &str| {
        ledger::column_type(map, catalog, &ledger.table, column)
            .map_err(DisclosureError::MapMismatch)
    };
    let change = change::begin(client, &Limits::default(), request.dry_run).await?;
    change
        .lock_subjects(&link.subject, std::slice::from_ref(&request.key))
        .await?;
    let tx = change.tx();
    let at: DateTime<Utc> = match request.at {
        Some(at) => at,
        None => tx.query_one("SELECT now()", &[]).await?.get(0),
    };
    let categories: Vec<String> = request.categories.iter().map(|c| c.name()).collect();
    let basis = request.basis.ledger_text().to_owned();
    let mut params: Vec<&(dyn ToSql + Sync)> =
        vec![&request.key, &request.recipient, &request.purpose, &at];
    let mut columns = vec![
        quote_ident(&ledger.recipient),
        quote_ident(&ledger.purpose),
        quote_ident(&ledger.disclosed_at),
    ];
    let mut values = vec![
        format!("CAST($2::text AS {})", ty(&ledger.recipient)?),
        format!("CAST($3::text AS {})", ty(&ledger.purpose)?),
        format!("CAST($4::timestamptz AS {})", ty(&ledger.disclosed_at)?),
    ];
    let mut fields = vec![
        format!("{}.{}", ledger.table, ledger.recipient),
        format!("{}.{}", ledger.table, ledger.purpose),
        format!("{}.{}", ledger.table, ledger.disclosed_at),
    ];
    if let Some(column) = &ledger.legal_basis {
        params.push(&basis);
        columns.push(quote_ident(column));
        values.push(format!("CAST(${}::text AS {})", params.len(), ty(column)?));
        fields.push(format!("{}.{column}", ledger.table));
    }
    if let Some(column) = &ledger.categories {
        params.push(&categories);
        columns.push(quote_ident(column));
        values.push(format!(
            "CAST(${}::text[] AS {})",
            params.len(),
            ty(column)?
        ));
        fields.push(format!("{}.{column}", ledger.table));
    }
    let sql = format!(
        "INSERT INTO {} ({}, {}) SELECT {}, {} FROM {} s WHERE {}",
        link.table,
        link.columns,
        columns.join(", "),
        link.values,
        values.join(", "),
        link.subject.table.quoted(),
        link.subject.rows_of("s", KeyMatch::One(1)),
    );
    let inserted = tx.execute(&sql, &params).await? as i64;
    if inserted == 0 {
        return Err(DisclosureError::SubjectGone(request.subject_ref.clone()));
    }
    let entry = AuditEntry {
        action: "disclosure.record".to_owned(),
        ticket: Some(request.ticket.clone()),
        subject_ref: Some(request.subject_ref.clone()),
        counts: BTreeMap::from([(ledger.table.clone(), inserted)]),
        fields,
        detail: serde_json::json!({
            "recipient": request.recipient,
            "basis": request.basis.as_str(),
            "purpose": request.purpose,
            "categories": categories,
            "disclosed_at": at.to_rfc3339(),
            "map_digest": map.digest(),
        }),
    };
    let record = change.commit(&request.operator, &entry).await?;
    Ok(DisclosureReport {
        dry_run: request.dry_run,
        subject: request.subject_ref.clone(),
        recipient: request.recipient.clone(),
        basis: request.basis,
        purpose: request.purpose.clone(),
        categories,
        disclosed_at: at.format("%Y-%m-%d %H:%M UTC").to_string(),
        ticket: request.ticket.clone(),
        audit_seq: Some(record.seq),
    })
}

/// One transfer with the subject it concerns.
#[derive(Debug, Clone, Serialize)]
pub struct DisclosureRow {
    /// `table:key`.
    pub subject: String,
    #[serde(flatten)]
    pub record: DisclosureRecord,
}

/// Transfers of one subject (`subject` is its key) or of every subject, newest first.
pub async fn list(
    client: &impl GenericClient,
    map: &DataMap,
    catalog: &Catalog,
    subject: Option<&str>,
    since: Option<DateTime<Utc>>,
    limit: i64,
) -> Result<Vec<DisclosureRow>, DisclosureError> {
    let ledger = ledger_of(map)?;
    let path =
        LinkPath::compile(map, catalog, &ledger.table).map_err(DisclosureError::MapMismatch)?;
    let joined = path.joined();
    let optional = |column: Option<&String>, ty: &str| {
        column
            .map(|c| format!("t0.{}::{ty}", quote_ident(c)))
            .unwrap_or_else(|| format!("NULL::{ty}"))
    };
    let of_subject = match subject {
        Some(_) => format!(" AND {}", path.rows_of("t0", KeyMatch::One(3))),
        None => String::new(),
    };
    let sql = format!(
        "SELECT {key}::text, t0.{r}::text, t0.{p}::text, t0.{d}::text, {}, {} FROM {}{} \
         WHERE ($1::timestamptz IS NULL OR t0.{d} >= $1){of_subject} ORDER BY t0.{d} DESC LIMIT $2",
        optional(ledger.legal_basis.as_ref(), "text"),
        optional(ledger.categories.as_ref(), "text[]"),
        joined.first,
        joined.joins,
        key = joined.key,
        r = quote_ident(&ledger.recipient),
        p = quote_ident(&ledger.purpose),
        d = quote_ident(&ledger.disclosed_at),
    );
    let rows = match subject {
        Some(key) => client.query(&sql, &[&since, &limit, &key]).await?,
        None => client.query(&sql, &[&since, &limit]).await?,
    };
    Ok(rows
        .iter()
        .map(|row| DisclosureRow {
            subject: format!("{}:{}", map.subject.table, row.get::<_, String>(0)),
            record: DisclosureRecord {
                recipient: row.get(1),
                purpose: row.get(2),
                disclosed_at: row.get(3),
                legal_basis: row.get(4),
                categories: row
                    .get::<_, Option<Vec<Option<String>>>>(5)
                    .unwrap_or_default()
                    .into_iter()
                    .flatten()
                    .collect(),
            },
        })
        .collect())
}
