//! The audit trail: append-only, hash-chained rows in `derbes.audit_log`.
//!
//! [`append`] runs inside the caller's transaction, so a change and its audit row
//! commit or vanish together. Each row's hash covers the previous row's hash and
//! the row's canonical form; [`verify`] recomputes the chain and names the first
//! row that was edited, deleted or reordered. Rows carry counts, field names and
//! subject references (`table:key`), never a personal value in clear. Beside the
//! declared operator, each row records the database's `session_user` (migration 4;
//! older rows have none, and their hash is computed as before).

use std::collections::BTreeMap;

use chrono::{DateTime, SubsecRound, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};
use tokio_postgres::{GenericClient, Row, Transaction};

/// Key of the advisory lock that serialises appends (held to the end of the
/// transaction, so sequence numbers and hashes follow commit order).
const AUDIT_LOCK: i64 = 0x6465_7262_6573_0002;

const GENESIS: [u8; 32] = [0; 32];

/// What a mutating command records.
#[derive(Debug, Clone, Default)]
pub struct AuditEntry {
    /// What was done: `block`, `export`, `archive.dump`, ...
    pub action: String,
    pub ticket: Option<String>,
    /// `table:key` of the subject, when the change is about one.
    pub subject_ref: Option<String>,
    /// Rows affected per table or kind.
    pub counts: BTreeMap<String, i64>,
    /// `table.column` names touched (names only, never values).
    pub fields: Vec<String>,
    /// Anything else worth keeping that is not personal (reason, selector kind, digest).
    pub detail: serde_json::Value,
}

/// One row of the audit log.
#[derive(Debug, Clone, Serialize)]
pub struct AuditRecord {
    pub seq: i64,
    pub at: DateTime<Utc>,
    pub operator: String,
    pub action: String,
    pub ticket: Option<String>,
    pub subject_ref: Option<String>,
    pub counts: serde_json::Value,
    pub fields: Vec<String>,
    pub detail: serde_json::Value,
    /// The role the database authenticated (`session_user`); None on rows written
    /// before migration 4.
    pub db_session_user: Option<String>,
    #[serde(serialize_with = "as_hex")]
    pub prev_hash: Vec<u8>,
    #[serde(serialize_with = "as_hex")]
    pub row_hash: Vec<u8>,
}

fn as_hex<S: serde::Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&hex::encode(bytes))
}

/// The hashed form of a row: every field but the hashes, in a fixed order.
#[derive(Serialize)]
struct Canonical<'a> {
    seq: i64,
    at: String,
    operator: &'a str,
    action: &'a str,
    ticket: Option<&'a str>,
    subject_ref: Option<&'a str>,
    counts: &'a serde_json::Value,
    fields: &'a [String],
    detail: &'a serde_json::Value,
    /// Last and left out when None, so rows from before migration 4 hash as they did.
    #[serde(skip_serializing_if = "Option::is_none")]
    db_session_user: Option<&'a str>,
}

impl AuditRecord {
    fn canonical_hash(&self, prev_hash: &[u8]) -> Vec<u8> {
        let canonical = Canonical {
            seq: self.seq,
            at: self.at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            operator: &self.operator,
            action: &self.action,
            ticket: self.ticket.as_deref(),
            subject_ref: self.subject_ref.as_deref(),
            counts: &self.counts,
            fields: &self.fields,
            detail: &self.detail,
            db_session_user: self.db_session_user.as_deref(),
        };
        let mut hasher = Sha256::new();
        hasher.update(prev_hash);
        hasher.update(serde_json::to_vec(&canonical).expect("audit rows serialise"));
        hasher.finalize().to_vec()
    }

    fn from_row(row: &Row) -> AuditRecord {
        AuditRecord {
            seq: row.get("seq"),
            at: row.get("at"),
            operator: row.get("operator"),
            action: row.get("action"),
            ticket: row.get("ticket"),
            subject_ref: row.get("subject_ref"),
            counts: row.get("counts"),
            fields: row.get("fields"),
            detail: row.get("detail"),
            db_session_user: row.get("db_session_user"),
            prev_hash: row.get("prev_hash"),
            row_hash: row.get("row_hash"),
        }
    }
}

const COLUMNS: &str = "seq, at, operator, action, ticket, subject_ref, counts, fields, detail, \
     prev_hash, row_hash, db_session_user";

/// Append one audit row inside the caller's transaction.
pub async fn append(
    tx: &Transaction<'_>,
    operator: &str,
    entry: &AuditEntry,
) -> Result<AuditRecord, tokio_postgres::Error> {
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&AUDIT_LOCK])
        .await?;
    let last = tx
        .query_opt(
            "SELECT seq, row_hash FROM derbes.audit_log ORDER BY seq DESC LIMIT 1",
            &[],
        )
        .await?;
    let (seq, prev_hash) = match last {
        Some(row) => (row.get::<_, i64>(0) + 1, row.get::<_, Vec<u8>>(1)),
        None => (1, GENESIS.to_vec()),
    };
    let counts = serde_json::to_value(&entry.counts).expect("counts serialise");
    let detail = if entry.detail.is_null() {
        serde_json::json!({})
    } else {
        entry.detail.clone()
    };
    let mut record = AuditRecord {
        seq,
        // Microseconds: what timestamptz stores, so the hash survives the round trip.
        at: Utc::now().trunc_subsecs(6),
        operator: operator.to_owned(),
        action: entry.action.clone(),
        ticket: entry.ticket.clone(),
        subject_ref: entry.subject_ref.clone(),
        counts,
        fields: entry.fields.clone(),
        detail,
        db_session_user: None,
        prev_hash,
        row_hash: Vec::new(),
    };
    // Store jsonb as PostgreSQL will give it back, so the verify-time hash matches.
    // ... and the role the server authenticated, beside the declared operator.
    let normalised = tx
        .query_one(
            "SELECT $1::jsonb, $2::jsonb, session_user::text",
            &[&record.counts, &record.detail],
        )
        .await?;
    record.counts = normalised.get(0);
    record.detail = normalised.get(1);
    record.db_session_user = normalised.get(2);
    record.row_hash = record.canonical_hash(&record.prev_hash);
    tx.execute(
        &format!("INSERT INTO derbes.audit_log ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"),
        &[
            &record.seq,
            &record.at,
            &record.operator,
            &record.action,
            &record.ticket,
            &record.subject_ref,
            &record.counts,
            &record.fields,
            &record.detail,
            &record.prev_hash,
            &record.row_hash,
            &record.db_session_user,
        ],
    )
    .await?;
    Ok(record)
}

/// Filters for [`list`].
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub action: Option<String>,
    pub ticket: Option<String>,
    pub since: Option<DateTime<Utc>>,
    pub limit: i64,
}

/// The newest `limit` records matching the filter, oldest first.
pub async fn list(
    client: &impl GenericClient,
    filter: &AuditFilter,
) -> Result<Vec<AuditRecord>, tokio_postgres::Error> {
    let rows = client
        .query(
            &format!(
                "SELECT * FROM (SELECT {COLUMNS} FROM derbes.audit_log \
                 WHERE ($1::text IS NULL OR action = $1) \
                   AND ($2::text IS NULL OR ticket = $2) \
                   AND ($3::timestamptz IS NULL OR at >= $3) \
                 ORDER BY seq DESC LIMIT $4) newest ORDER BY seq"
            ),
            &[&filter.action, &filter.ticket, &filter.since, &filter.limit],
        )
        .await?;
    Ok(rows.iter().map(AuditRecord::from_row).collect())
}

/// What [`verify`] found.
#[derive(Debug, Clone, Serialize)]
pub struct VerifyReport {
    pub records: i64,
    pub head_hash: Option<String>,
    /// The first record that breaks the chain, and how.
    pub first_bad: Option<BadRecord>,
}

#[derive(Debug, Clone, Serialize)]
pub struct BadRecord {
    pub seq: i64,
    pub problem: String,
}

/// Recompute the whole chain in `seq` order, streaming (memory stays flat).
pub async fn verify(client: &impl GenericClient) -> Result<VerifyReport, tokio_postgres::Error> {
    use futures_util::{pin_mut, TryStreamExt};

    let stream = client
        .query_raw(
            &format!("SELECT {COLUMNS} FROM derbes.audit_log ORDER BY seq"),
            std::iter::empty::<i32>(),
        )
        .await?;
    pin_mut!(stream);
    let mut expected_seq = 1;
    let mut prev_hash = GENESIS.to_vec();
    let mut records = 0;
    while let Some(row) = stream.try_next().await? {
        let record = AuditRecord::from_row(&row);
        records += 1;
        let problem = if record.seq != expected_seq {
            Some(if record.seq > expected_seq {
                format!(
                    "records {expected_seq}..{} are missing (deleted)",
                    record.seq - 1
                )
            } else {
                "sequence number repeats".to_owned()
            })
        } else if record.prev_hash != prev_hash {
            Some("its link to the previous record is broken (a record before it was edited, deleted or reordered)".to_owned())
        } else if record.canonical_hash(&prev_hash) != record.row_hash {
            Some("its content does not match its hash (the record was edited)".to_owned())
        } else {
            None
        };
        if let Some(problem) = problem {
            return Ok(VerifyReport {
                records,
                head_hash: None,
                first_bad: Some(BadRecord {
                    seq: record.seq,
                    problem,
                }),
            });
        }
        expected_seq += 1;
        prev_hash = record.row_hash;
    }
    Ok(VerifyReport {
        records,
        head_hash: (records > 0).then(|| hex::encode(&prev_hash)),
        first_bad: None,
    })
}
