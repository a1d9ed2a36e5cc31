//! Consent (docs/policy.md 3.1, 6.1.5; Law 94-V Art. 8): list a subject's consents,
//! withdraw one, grant one, through the data map's consent ledger
//! (`[ledgers].consents`).
//!
//! A withdrawal is refused while the law still requires the processing: Art. 8(2)
//! does not allow withdrawing consent while an obligation between the subject and
//! the operator is unfulfilled, which for a lender is an open loan (the map's
//! `[ledgers].loans`, its `open` statuses). Which purposes the loan needs is the
//! map's `[ledgers].loans.needs`; without it, every purpose (Art. 8(2) as written).
//! The refusal names the loans by their table and key (never a personal value) and
//! says what the subject can do.
//!
//! Otherwise the consent rows of the purpose still in force get their withdrawal
//! time and the document reference, which is what tells the application that
//! processing for the purpose stops; the report names the mapped columns processed
//! for it. Purposes are the data map's `[purposes]`: any other is a usage error
//! before anything is read.

use std::collections::BTreeMap;

use serde::Serialize;
use tokio_postgres::{Client, GenericClient};

use crate::map::link::{KeyMatch, LinkPath};
use crate::map::{quote_ident, ConsentLedger, DataMap};
use crate::ops::resolve::ResolveError;
use crate::pg::audit::AuditEntry;
use crate::pg::catalog::Catalog;
use crate::pg::change::{self, ChangeError, Limits};

/// Why a consent command did nothing. Nothing was changed in any of these cases.
#[derive(Debug, thiserror::Error)]
pub enum ConsentError {
    #[error("the data map has no consent ledger: declare `consents = {{ table = ..., purpose = ..., granted_at = ..., withdrawn_at = ..., document = ... }}` under [ledgers]")]
    NoLedger,
    #[error("`{purpose}` is not a purpose of the data map; its purposes are: {}. Nothing was changed", .known.join(", "))]
    UnknownPurpose { purpose: String, known: Vec<String> },
    #[error("consent to `{purpose}` cannot be withdrawn now: the subject has an unfulfilled obligation that needs it, {} (Law 94-V Art. 8(2): no withdrawal while an obligation is unfulfilled). Nothing was changed. The subject can repay and close the loan, then withdraw; until then the processing stays lawful", .loans.join(", "))]
    OpenObligation { purpose: String, loans: Vec<String> },
    #[error("the subject has no consent to `{purpose}` in force, so there is nothing to withdraw (see `derbes consent list`)")]
    NothingInForce { purpose: String },
    #[error("consent grant adds a row to the consent ledger, which needs it linked straight to the subject key; {table} is reached through other tables: record the consent in the application")]
    IndirectLedger { table: String },
    #[error("the consent ledger's column(s) {} need a value derbes cannot know (NOT NULL, no default) and the subject has no earlier consent row to take them from: record this consent in the application", .columns.join(", "))]
    Required { columns: Vec<String> },
    #[error("the data map does not fit the database: {0}; run `derbes map check`")]
    Map(String),
    #[error(transparent)]
    Resolve(ResolveError),
    #[error(transparent)]
    Change(#[from] ChangeError),
}

impl From<tokio_postgres::Error> for ConsentError {
    fn from(error: tokio_postgres::Error) -> ConsentError {
        ConsentError::Change(ChangeError::from(error))
    }
}

/// The consent ledger, or why there is none.
pub fn ledger(map: &DataMap) -> Result<&ConsentLedger, ConsentError> {
    map.ledgers.consents.as_ref().ok_or(ConsentError::NoLedger)
}

/// A purpose must be one the data map declares.
pub fn check_purpose(map: &DataMap, purpose: &str) -> Result<(), ConsentError> {
    if map.purposes.contains_key(purpose) {
        Ok(())
    } else {
        Err(ConsentError::UnknownPurpose {
            purpose: purpose.chars().take(60).collect(),
            known: map.purposes.keys().cloned().collect(),
        })
    }
}

/// Whether an open loan needs the purpose (`[ledgers].loans.needs`; every purpose
/// when the map does not say).
pub fn needed_by_loans(map: &DataMap, purpose: &str) -> bool {
    map.ledgers.loans.as_ref().is_some_and(|loans| {
        loans
            .needs
            .as_ref()
            .is_none_or(|needs| needs.iter().any(|n| n == purpose))
    })
}

fn path(map: &DataMap, catalog: &Catalog, table: &str) -> Result<LinkPath, ConsentError> {
    LinkPath::compile(map, catalog, table).map_err(ConsentError::Map)
}

/// One consent row.
#[derive(Debug, Clone, Serialize)]
pub struct ConsentEntry {
    pub purpose: Option<String>,
    /// Whether the data map declares the purpose.
    pub declared: bool,
    pub granted_at: Option<String>,
    pub withdrawn_at: Option<String>,
    pub document: Option<String>,
}

/// `consent list`: the subject's consents, oldest first, and the open loans that
/// would hold a withdrawal back.
#[derive(Debug, Clone, Serialize)]
pub struct ConsentList {
    pub subject: String,
    pub consents: Vec<ConsentEntry>,
    /// Open loans as `table:key (status)`; empty when none or no loan ledger.
    pub open_loans: Vec<String>,
}

pub async fn list(
    client: &impl GenericClient,
    map: &DataMap,
    catalog: &Catalog,
    key: &str,
) -> Result<ConsentList, ConsentError> {
    ledger(map)?;
    let history = crate::ops::subject::consent_history(client, map, catalog, key)
        .await
        .map_err(ConsentError::Resolve)?;
    let consents = history
        .into_iter()
        .map(|c| ConsentEntry {
            declared: c
                .purpose
                .as_deref()
                .is_some_and(|p| map.purposes.contains_key(p)),
            purpose: c.purpose,
            granted_at: c.granted_at,
            withdrawn_at: c.withdrawn_at,
            document: c.document,
        })
        .collect();
    Ok(ConsentList {
        subject: format!("{}:{key}", map.subject.table),
        consents,
        open_loans: open_loans(client, map, catalog, key).await?,
    })
}

/// The subject's loans in an open status, as `table:key (status)`: an unfulfilled
/// obligation (Art. 8(2)). Empty when the map has no loan ledger.
pub async fn open_loans(
    client: &impl GenericClient,
    map: &DataMap,
    catalog: &Catalog,
    key: &str,
) -> Result<Vec<String>, ConsentError> {
    let Some(loans) = &map.ledgers.loans else {
        return Ok(Vec::new());
    };
    let table = map.table_name(&loans.table);
    let primary_key = catalog
        .tables
        .get(&table)
        .map(|t| t.primary_key.clone())
        .unwrap_or_default();
    let row_key = if primary_key.is_empty() {
        "NULL::text".to_owned()
    } else {
        let parts: Vec<String> = primary_key
            .iter()
            .map(|c| format!("t0.{}::text", quote_ident(c)))
            .collect();
        format!("concat_ws(',', {})", parts.join(", "))
    };
    let sql = format!(
        "SELECT {row_key}, t0.{status}::text {} AND t0.{status}::text = ANY($2::text[]) ORDER BY 1",
        path(map, catalog, &loans.table)?.from_where_one(),
        status = quote_ident(&loans.status),
    );
    Ok(client
        .query(&sql, &[&key, &loans.open])
        .await?
        .iter()
        .map(|row| {
            let id: Option<String> = row.get(0);
            let status: String = row.get(1);
            format!(
                "loan {}:{} ({status})",
                loans.table,
                id.unwrap_or_else(|| "?".to_owned())
            )
        })
        .collect())
}

/// How many of the subject's consent rows for `purpose` are in force.
pub async fn in_force(
    client: &impl GenericClient,
    map: &DataMap,
    catalog: &Catalog,
    key: &str,
    purpose: &str,
) -> Result<i64, ConsentError> {
    let ledger = ledger(map)?;
    let sql = format!(
        "SELECT count(*) {} AND t0.{}::text = $2 AND t0.{} IS NULL",
        path(map, catalog, &ledger.table)?.from_where_one(),
        quote_ident(&ledger.purpose),
        quote_ident(&ledger.withdrawn_at),
    );
    Ok(client.query_one(&sql, &[&key, &purpose]).await?.get(0))
}

/// Refuse a withdrawal before asking anyone to confirm it: an open loan, or no
/// consent in force for the purpose. [`withdraw`] checks both again under lock.
pub async fn precheck_withdraw(
    client: &impl GenericClient,
    map: &DataMap,
    catalog: &Catalog,
    key: &str,
    purpose: &str,
) -> Result<(), ConsentError> {
    check_purpose(map, purpose)?;
    let loans = if needed_by_loans(map, purpose) {
        open_loans(client, map, catalog, key).await?
    } else {
        Vec::new()
    };
    if !loans.is_empty() {
        return Err(ConsentError::OpenObligation {
            purpose: purpose.to_owned(),
            loans,
        });
    }
    if in_force(client, map, catalog, key, purpose).await? == 0 {
        return Err(ConsentError::NothingInForce {
            purpose: purpose.to_owned(),
        });
    }
    Ok(())
}

/// A withdrawal or grant to apply.
#[derive(Debug, Clone)]
pub struct ConsentRequest {
    pub subject_key: String,
    pub purpose: String,
    /// The subject's written application or signed consent (its reference).
    pub document: String,
    pub ticket: String,
    pub operator: String,
    pub dry_run: bool,
}

/// What a withdrawal or grant did (or, for a dry run, would do).
#[derive(Debug, Clone, Serialize)]
pub struct ConsentReport {
    pub dry_run: bool,
    pub subject: String,
    /// `withdraw` or `grant`.
    pub action: String,
    pub purpose: String,
    /// `withdrawn`, `granted`, `already in force` (with `would ...` on a dry run).
    pub outcome: String,
    /// Consent rows written.
    pub rows: u64,
    pub document: String,
    pub ticket: String,
    /// The mapped columns processed for the purpose (`table.column`): what stops
    /// with a withdrawal, or may be processed with a grant.
    pub processing: Vec<String>,
    pub audit_seq: Option<i64>,
}

fn processing_of(map: &DataMap, purpose: &str) -> Vec<String> {
    map.tables
        .iter()
        .flat_map(|(table, spec)| {
            spec.columns
                .iter()
                .filter(|(_, c)| c.purpose == purpose)
                .map(move |(column, _)| format!("{table}.{column}"))
        })
        .collect()
}

fn report(request: &ConsentRequest, map: &DataMap, action: &str, outcome: &str) -> ConsentReport {
    ConsentReport {
        dry_run: request.dry_run,
        subject: format!("{}:{}", map.subject.table, request.subject_key),
        action: action.to_owned(),
        purpose: request.purpose.clone(),
        outcome: outcome.to_owned(),
        rows: 0,
        document: request.document.clone(),
        ticket: request.ticket.clone(),
        processing: processing_of(map, &request.purpose),
        audit_seq: None,
    }
}

/// Withdraw consent to one purpose in one change transaction: lock the subject,
/// refuse while a loan is open, stamp the rows in force with the withdrawal time
/// and document, append the audit row.
pub async fn withdraw(
    client: &mut Client,
    map: &DataMap,
    catalog: &Catalog,
    request: &ConsentRequest,
) -> Result<ConsentReport, ConsentError> {
    check_purpose(map, &request.purpose)?;
    let ledger = ledger(map)?;
    let subject = path(map, catalog, &map.subject.table)?;
    let ledger_path = path(map, catalog, &ledger.table)?;
    let change = change::begin(client, &Limits::default(), request.dry_run).await?;
    change
        .lock_subjects(&subject, std::slice::from_ref(&request.subject_key))
        .await?;
    let tx = change.tx();
    let loans = if needed_by_loans(map, &request.purpose) {
        open_loans(tx, map, catalog, &request.subject_key).await?
    } else {
        Vec::new()
    };
    if !loans.is_empty() {
        return Err(ConsentError::OpenObligation {
            purpose: request.purpose.clone(),
            loans,
        });
    }
    let table = map.table_name(&ledger.table);
    let ty = |column: &str| {
        catalog
            .tables
            .get(&table)
            .and_then(|t| t.column_type(column))
            .map(str::to_owned)
            .ok_or_else(|| ConsentError::Map(format!("column {table}.{column} does not exist")))
    };
    let document = match &ledger.document {
        Some(column) => format!(", {} = $3::text::{}", quote_ident(column), ty(column)?),
        None => String::new(),
    };
    let sql = format!(
        "UPDATE {} AS t0 SET {} = now(){document} WHERE {} AND t0.{}::text = $2 AND t0.{} IS NULL",
        table.quoted(),
        quote_ident(&ledger.withdrawn_at),
        ledger_path.rows_of("t0", KeyMatch::One(1)),
        quote_ident(&ledger.purpose),
        quote_ident(&ledger.withdrawn_at),
    );
    let rows = if ledger.document.is_some() {
        tx.execute(
            &sql,
            &[&request.subject_key, &request.purpose, &request.document],
        )
        .await?
    } else {
        tx.execute(&sql, &[&request.subject_key, &request.purpose])
            .await?
    };
    if rows == 0 {
        return Err(ConsentError::NothingInForce {
            purpose: request.purpose.clone(),
        });
    }
    let outcome = if request.dry_run {
        "would withdraw"
    } else {
        "withdrawn"
    };
    let mut report = report(request, map, "withdraw", outcome);
    report.rows = rows;
    let entry = audit_entry("consent.withdraw", request, map, &table, ledger, rows);
    report.audit_seq = Some(change.commit(&request.operator, &entry).await?.seq);
    Ok(report)
}

/// Record a consent to one purpose: a new ledger row granted now with its
/// document, unless one is in force already. Columns the ledger requires beyond
/// the map's (a policy version) are taken from the subject's newest consent row.
pub async fn grant(
    client: &mut Client,
    map: &DataMap,
    catalog: &Catalog,
    request: &ConsentRequest,
) -> Result<ConsentReport, ConsentError> {
    check_purpose(map, &request.purpose)?;
    let ledger = ledger(map)?;
    let subject = path(map, catalog, &map.subject.table)?;
    let ledger_path = path(map, catalog, &ledger.table)?;
    let table = map.table_name(&ledger.table);
    let link = match ledger_path.steps.as_slice() {
        [step]
            if step.to == ledger_path.subject_table
                && step.to_columns == [ledger_path.subject_key.clone()]
                && step.from_columns.len() == 1 =>
        {
            step.from_columns[0].clone()
        }
        _ => {
            return Err(ConsentError::IndirectLedger {
                table: table.to_string(),
            })
        }
    };
    let catalog_table = catalog
        .tables
        .get(&table)
        .ok_or_else(|| ConsentError::Map(format!("table {table} does not exist")))?;
    let ty = |column: &str| {
        catalog_table
            .column_type(column)
            .map(str::to_owned)
            .ok_or_else(|| ConsentError::Map(format!("column {table}.{column} does not exist")))
    };
    let change = change::begin(client, &Limits::default(), request.dry_run).await?;
    change
        .lock_subjects(&subject, std::slice::from_ref(&request.subject_key))
        .await?;
    let tx = change.tx();
    if in_force(tx, map, catalog, &request.subject_key, &request.purpose).await? > 0 {
        // Nothing to record; the transaction rolls back with nothing in it.
        return Ok(report(request, map, "grant", "already in force"));
    }

    let mut columns = vec![
        link.clone(),
        ledger.purpose.clone(),
        ledger.granted_at.clone(),
    ];
    let mut values = vec![
        format!("$1::text::{}", ty(&link)?),
        format!("$2::text::{}", ty(&ledger.purpose)?),
        "now()".to_owned(),
    ];
    if let Some(document) = &ledger.document {
        columns.push(document.clone());
        values.push(format!("$3::text::{}", ty(document)?));
    }
    // Required columns the map does not describe, copied from the newest row.
    let named: Vec<&String> = columns.iter().chain([&ledger.withdrawn_at]).collect();
    let required: Vec<String> = tx
        .query(
            "SELECT a.attname::text FROM pg_attribute a \
             WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped \
               AND a.attnotnull AND NOT a.atthasdef AND a.attidentity = '' AND a.attgenerated = '' \
             ORDER BY a.attnum",
            &[&table.quoted()],
        )
        .await?
        .iter()
        .map(|r| r.get::<_, String>(0))
        .filter(|c| !named.contains(&c))
        .collect();
    let quoted: Vec<String> = columns
        .iter()
        .chain(&required)
        .map(|c| quote_ident(c))
        .collect();
    let sql = if required.is_empty() {
        format!(
            "INSERT INTO {} ({}) VALUES ({})",
            table.quoted(),
            quoted.join(", "),
            values.join(", ")
        )
    } else {
        let copied: Vec<String> = required
            .iter()
            .map(|c| format!("t0.{}", quote_ident(c)))
            .collect();
        format!(
            "INSERT INTO {} ({}) SELECT {}, {} FROM {} t0 WHERE {} ORDER BY t0.{} DESC LIMIT 1",
            table.quoted(),
            quoted.join(", "),
            values.join(", "),
            copied.join(", "),
            table.quoted(),
            ledger_path.rows_of("t0", KeyMatch::One(1)),
            quote_ident(&ledger.granted_at),
        )
    };
    let rows = if ledger.document.is_some() {
        tx.execute(
            &sql,
            &[&request.subject_key, &request.purpose, &request.document],
        )
        .await?
    } else {
        tx.execute(&sql, &[&request.subject_key, &request.purpose])
            .await?
    };
    if rows == 0 {
        return Err(ConsentError::Required { columns: required });
    }
    let outcome = if request.dry_run {
        "would grant"
    } else {
        "granted"
    };
    let mut report = report(request, map, "grant", outcome);
    report.rows = rows;
    let entry = audit_entry("consent.grant", request, map, &table, ledger, rows);
    report.audit_seq = Some(change.commit(&request.operator, &entry).await?.seq);
    Ok(report)
}

fn audit_entry(
    action: &str,
    request: &ConsentRequest,
    map: &DataMap,
    table: &crate::map::TableName,
    ledger: &ConsentLedger,
    rows: u64,
) -> AuditEntry {
    let mut fields = vec![
        format!("{}.{}", ledger.table, ledger.granted_at),
        format!("{}.{}", ledger.table, ledger.withdrawn_at),
    ];
    if let Some(document) = &ledger.document {
        fields.push(format!("{}.{document}", ledger.table));
    }
    AuditEntry {
        action: action.to_owned(),
        ticket: Some(request.ticket.clone()),
        subject_ref: Some(format!("{}:{}", map.subject.table, request.subject_key)),
        counts: BTreeMap::from([(table.to_string(), rows as i64)]),
        fields,
        detail: serde_json::json!({
            "purpose": request.purpose,
            "document": request.document,
            "map_digest": map.digest(),
        }),
    }
}
