//! The audit trail: append-only, hash-chained rows in `derbes.audit_log`.
//!
//! [`append`] runs inside the caller's transaction, so a change and its audit row
//! commit or vanish together. Each row's hash covers the previous row's hash and
//! the row's canonical form; [`verify`] recomputes the chain and names the first
//! row that was edited, deleted or reordered. Rows carry counts, field names and
//! subject references (`table:key`), never a personal value in clear. Beside the
//! declared operator, each row records the database's `session_user` (migration 4;
//! older rows have none, and their hash is computed as before).
//!
//! A row also records the request or breach it was written for (migration 8):
//! [`bind_link`] sets them for the session once the command has checked they
//! exist, and [`append`] reads them from there, so every command that takes
//! `--request`/`--breach` links its row without passing the ids down through its
//! operation. Like `db_session_user`, they enter the hash only when set.
//!
//! Deleting the newest rows (or truncating the table) leaves a chain that verifies;
//! only a [`Head`] kept elsewhere (`audit head` in a ticket or a cron log, the
//! manifest of every archive) shows it: [`verify`] given anchors fails when an
//! anchored record is gone or differs.
//!
//! Appends are serialised by a table lock (`derbes.audit_lock`, migration 7) held to
//! commit. A READ COMMITTED transaction takes it in [`append`] and then reads the
//! newest head; a REPEATABLE READ or SERIALIZABLE one must take it before its
//! snapshot ([`LOCK_BEFORE_SNAPSHOT`], which `change::begin_snapshot` runs first),
//! else its snapshot may miss rows committed since, and [`append`] refuses it.

use std::collections::BTreeMap;

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, SubsecRound, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio_postgres::{GenericClient, Row, Transaction};

use crate::pg::audit_key::AuditKey;

/// The lock that serialises appends, held to the end of the transaction (so sequence
/// numbers and hashes follow commit order). `LOCK TABLE` takes no snapshot, so it can
/// be the first statement of a REPEATABLE READ or SERIALIZABLE transaction, whose
/// snapshot then sees every append committed before the lock was granted.
pub const LOCK_BEFORE_SNAPSHOT: &str = "LOCK TABLE derbes.audit_lock IN EXCLUSIVE MODE";

const GENESIS: [u8; 32] = [0; 32];

/// The audit key records are sealed with, set once per process by the command layer
/// when the key is configured ([`seal_with`]).
static SEALING_KEY: std::sync::OnceLock<AuditKey> = std::sync::OnceLock::new();

/// Seal every record this process appends with `key` (see [`AuditKey::seal`]). The
/// first key set stays: one process, one key.
pub fn seal_with(key: AuditKey) {
    let _ = SEALING_KEY.set(key);
}

/// Whether this process seals its records.
pub fn sealing() -> bool {
    SEALING_KEY.get().is_some()
}

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
    /// The request (`derbes.requests`) this row was written for; migration 8.
    pub request_id: Option<i64>,
    /// The breach (`derbes.breaches`) this row was written for; migration 8.
    pub breach_id: Option<i64>,
    #[serde(serialize_with = "as_hex")]
    pub prev_hash: Vec<u8>,
    #[serde(serialize_with = "as_hex")]
    pub row_hash: Vec<u8>,
    /// The audit key's keyed hash of `row_hash` (migration 13); None on records
    /// appended without the key.
    #[serde(
        serialize_with = "optional_hex",
        skip_serializing_if = "Option::is_none"
    )]
    pub seal: Option<Vec<u8>>,
}

fn optional_hex<S: serde::Serializer>(bytes: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
    match bytes {
        Some(bytes) => s.serialize_str(&hex::encode(bytes)),
        None => s.serialize_none(),
    }
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
    /// After it and left out when None, so rows from before migration 8 (and rows
    /// for no request) hash as they did; set, they are covered like every field.
    #[serde(skip_serializing_if = "Option::is_none")]
    request_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    breach_id: Option<i64>,
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
            request_id: self.request_id,
            breach_id: self.breach_id,
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
            request_id: row.get("request_id"),
            breach_id: row.get("breach_id"),
            prev_hash: row.get("prev_hash"),
            row_hash: row.get("row_hash"),
            seal: row.get("seal"),
        }
    }
}

const COLUMNS: &str = "seq, at, operator, action, ticket, subject_ref, counts, fields, detail, \
     prev_hash, row_hash, db_session_user, request_id, breach_id, seal";

/// Why [`append`] wrote nothing (the caller's transaction should roll back).
#[derive(Debug, thiserror::Error)]
pub enum AppendError {
    #[error("an audit row cannot be appended in a {isolation} transaction that did not lock the audit log before its snapshot (its view of the log may be stale, which would fork the chain): start the change with change::begin_snapshot; nothing was written")]
    SnapshotWithoutLock { isolation: String },
    #[error("the audit log grew after this transaction's snapshot was taken, so its head is stale: nothing was written; take the audit lock first (change::begin_snapshot) and run again")]
    StaleSnapshot,
    /// `--request` names a request about another subject than this change's.
    #[error("request {request} is about another subject ({request_subject}) than this change ({subject}): nothing was changed; check the request id (`derbes request show {request}`)")]
    RequestOfAnotherSubject {
        request: i64,
        request_subject: String,
        subject: String,
    },
    #[error(transparent)]
    Database(#[from] tokio_postgres::Error),
}

/// Append one audit row inside the caller's transaction.
///
/// READ COMMITTED: takes the audit lock here, then reads the newest head. REPEATABLE
/// READ and SERIALIZABLE: the transaction must hold the lock already, taken before
/// its snapshot (`change::begin_snapshot`); otherwise [`AppendError::SnapshotWithoutLock`].
/// Whatever the caller did, the chain cannot fork: `seq` is the primary key, so a row
/// appended to a stale head collides with the row that already follows it, which is
/// reported as [`AppendError::StaleSnapshot`].
pub async fn append(
    tx: &Transaction<'_>,
    operator: &str,
    entry: &AuditEntry,
) -> Result<AuditRecord, AppendError> {
    let state = tx
        .query_one(
            "SELECT current_setting('transaction_isolation'), EXISTS ( \
                 SELECT 1 FROM pg_locks WHERE locktype = 'relation' \
                   AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) \
                   AND relation = 'derbes.audit_lock'::regclass \
                   AND pid = pg_backend_pid() AND mode = 'ExclusiveLock' AND granted)",
            &[],
        )
        .await?;
    let isolation: String = state.get(0);
    let locked: bool = state.get(1);
    if !locked {
        if isolation != "read committed" {
            return Err(AppendError::SnapshotWithoutLock { isolation });
        }
        tx.batch_execute(LOCK_BEFORE_SNAPSHOT).await?;
    }
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
        request_id: None,
        breach_id: None,
        prev_hash,
        row_hash: Vec::new(),
        seal: None,
    };
    // Store jsonb as PostgreSQL will give it back, so the verify-time hash matches.
    // ... and the role the server authenticated, beside the declared operator.
    let normalised = tx
        .query_one(
            "SELECT $1::jsonb, $2::jsonb, session_user::text, \
                    nullif(current_setting('derbes.request_id', true), '')::bigint, \
                    nullif(current_setting('derbes.breach_id', true), '')::bigint",
            &[&record.counts, &record.detail],
        )
        .await?;
    record.counts = normalised.get(0);
    record.detail = normalised.get(1);
    record.db_session_user = normalised.get(2);
    record.request_id = normalised.get(3);
    record.breach_id = normalised.get(4);
    // A change made for a request must be about the request's subject: a mistyped
    // id would otherwise file an erasure under someone else's request.
    if let (Some(request), Some(subject)) = (record.request_id, &record.subject_ref) {
        let request_subject: Option<String> = tx
            .query_opt(
                "SELECT subject_ref FROM derbes.requests WHERE id = $1",
                &[&request],
            )
            .await?
            .map(|row| row.get(0));
        if let Some(request_subject) = request_subject.filter(|r| r != subject) {
            return Err(AppendError::RequestOfAnotherSubject {
                request,
                request_subject,
                subject: subject.clone(),
            });
        }
    }
    record.row_hash = record.canonical_hash(&record.prev_hash);
    record.seal = SEALING_KEY.get().map(|key| key.seal(&record.row_hash));
    let inserted = tx.execute(
        &format!("INSERT INTO derbes.audit_log ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)"),
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
            &record.request_id,
            &record.breach_id,
            &record.seal,
        ],
    )
    .await;
    match inserted {
        Ok(_) => Ok(record),
        Err(e) if e.code() == Some(&tokio_postgres::error::SqlState::UNIQUE_VIOLATION) => {
            Err(AppendError::StaleSnapshot)
        }
        Err(e) => Err(e.into()),
    }
}

/// The request and breach the audit rows of this session are written for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct AuditLink {
    pub request_id: Option<i64>,
    pub breach_id: Option<i64>,
}

impl AuditLink {
    pub fn is_empty(&self) -> bool {
        self.request_id.is_none() && self.breach_id.is_none()
    }
}

/// Record `link` in every audit row [`append`] writes on this connection from now
/// on (a session setting; `is_local` false). The caller has checked that the ids
/// exist and are open (`ops::request::check_link`); the foreign keys of
/// `derbes.audit_log` refuse a row for one that vanished since.
pub async fn bind_link(
    client: &impl GenericClient,
    link: &AuditLink,
) -> Result<(), tokio_postgres::Error> {
    let text = |id: Option<i64>| id.map(|id| id.to_string()).unwrap_or_default();
    client
        .execute(
            "SELECT set_config('derbes.request_id', $1, false), \
                    set_config('derbes.breach_id', $2, false)",
            &[&text(link.request_id), &text(link.breach_id)],
        )
        .await?;
    Ok(())
}

/// Every audit row written for a request or a breach, oldest first.
pub async fn linked(
    client: &impl GenericClient,
    link: &AuditLink,
) -> Result<Vec<AuditRecord>, tokio_postgres::Error> {
    let rows = client
        .query(
            &format!(
                "SELECT {COLUMNS} FROM derbes.audit_log \
                 WHERE ($1::bigint IS NOT NULL AND request_id = $1) \
                    OR ($2::bigint IS NOT NULL AND breach_id = $2) ORDER BY seq"
            ),
            &[&link.request_id, &link.breach_id],
        )
        .await?;
    Ok(rows.iter().map(AuditRecord::from_row).collect())
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

/// The newest record of the chain, as kept elsewhere to anchor it: written and
/// read as `SEQ:HASH` (the record's sequence number and its row hash in hex, e.g.
/// `42:9f86d081...`), the form `audit verify --head` takes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Head {
    pub seq: i64,
    /// SHA-256 row hash, lowercase hex.
    pub row_hash: String,
}

impl fmt::Display for Head {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.seq, self.row_hash)
    }
}

impl FromStr for Head {
    type Err = String;

    fn from_str(text: &str) -> Result<Head, String> {
        let usage = "give the head as SEQ:HASH, the anchor `derbes audit head` printed (e.g. 42:9f86d081884c7d65...; 64 hex digits)";
        let (seq, hash) = text
            .trim()
            .split_once(':')
            .ok_or_else(|| format!("not an audit head: {usage}"))?;
        let seq: i64 = seq.parse().ok().filter(|n| *n >= 1).ok_or_else(|| {
            format!("the sequence number before ':' is not a number from 1 up: {usage}")
        })?;
        if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(format!("the hash after ':' is not 64 hex digits: {usage}"));
        }
        Ok(Head {
            seq,
            row_hash: hash.to_ascii_lowercase(),
        })
    }
}

/// The chain head as committed (or as the caller's transaction sees it); None for an
/// empty log. A transaction that appended rows sees its own: read the head before
/// appending when it is to anchor anything outside.
pub async fn head(
    client: &impl GenericClient,
) -> Result<Option<HeadRecord>, tokio_postgres::Error> {
    let row = client
        .query_opt(
            "SELECT seq, row_hash, at FROM derbes.audit_log ORDER BY seq DESC LIMIT 1",
            &[],
        )
        .await?;
    Ok(row.map(|row| HeadRecord {
        head: Head {
            seq: row.get(0),
            row_hash: hex::encode(row.get::<_, Vec<u8>>(1)),
        },
        at: row.get(2),
    }))
}

/// The head and when its record was written.
#[derive(Debug, Clone, Serialize)]
pub struct HeadRecord {
    #[serde(flatten)]
    pub head: Head,
    pub at: DateTime<Utc>,
}

/// Whether the log still holds an anchored head.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AnchorStatus {
    /// The record is there with the same hash.
    Held,
    /// The log ends before the anchored record: the newest rows were deleted, or
    /// the log was truncated.
    Missing,
    /// The record is there with another hash: the log was rewritten.
    Differs,
    /// Not reached: the chain breaks before it (the break is the finding).
    Unchecked,
}

impl AnchorStatus {
    /// What it means, for messages; None when held.
    pub fn problem(self, head: &Head, records: i64) -> Option<String> {
        match self {
            AnchorStatus::Held | AnchorStatus::Unchecked => None,
            AnchorStatus::Missing if records == 0 => Some(format!(
                "the audit log is empty but record {} was anchored: the log was truncated",
                head.seq
            )),
            AnchorStatus::Missing => Some(format!(
                "the log ends at record {records} but record {} was anchored: the newest records were deleted (or the log truncated and refilled)",
                head.seq
            )),
            AnchorStatus::Differs => Some(format!(
                "record {} differs from the anchored head (another hash): the log was rewritten up to it",
                head.seq
            )),
        }
    }
}

/// Look up one anchored head in the log: its record only (without reading the
/// chain; [`verify`] checks that too).
pub async fn check_anchor(
    client: &impl GenericClient,
    head: &Head,
) -> Result<AnchorCheck, tokio_postgres::Error> {
    let row = client
        .query_one(
            "SELECT (SELECT row_hash FROM derbes.audit_log WHERE seq = $1), \
                    (SELECT coalesce(max(seq), 0) FROM derbes.audit_log)",
            &[&head.seq],
        )
        .await?;
    let status = match row.get::<_, Option<Vec<u8>>>(0) {
        None => AnchorStatus::Missing,
        Some(hash) if hex::encode(&hash) == head.row_hash => AnchorStatus::Held,
        Some(_) => AnchorStatus::Differs,
    };
    Ok(AnchorCheck {
        head: head.clone(),
        status,
        problem: status.problem(head, row.get(1)),
    })
}

/// What [`verify`] found.
#[derive(Debug, Clone, Serialize)]
pub struct VerifyReport {
    pub records: i64,
    /// The last record's sequence number, when the chain is intact and not empty.
    pub head_seq: Option<i64>,
    pub head_hash: Option<String>,
    /// The first record that breaks the chain, and how.
    pub first_bad: Option<BadRecord>,
    /// Each head given to check against, and whether the log still holds it.
    pub anchors: Vec<AnchorCheck>,
    /// True when at least one head was given: only then can deleting the newest
    /// records (or truncating the log) be detected.
    pub anchored: bool,
    /// Said when no head was given.
    pub warning: Option<String>,
    /// The records' seals, and what they prove.
    pub seals: SealCheck,
    /// Said when the seals prove less than the whole log: no key given, or records
    /// appended without it.
    pub seal_note: Option<String>,
}

/// What an unanchored check cannot see.
pub const UNANCHORED: &str = "without an anchored head (--head SEQ:HASH, kept from an earlier \
     `derbes audit head` or an archive's manifest), deleting the newest records or truncating \
     the log cannot be detected";

impl VerifyReport {
    /// The first problem found: a break in the chain, else an anchored head that is
    /// missing or differs.
    pub fn problem(&self) -> Option<String> {
        if let Some(bad) = &self.first_bad {
            return Some(format!(
                "audit trail broken at record {}: {}",
                bad.seq, bad.problem
            ));
        }
        self.anchors
            .iter()
            .find_map(|a| a.problem.clone())
            .map(|p| format!("audit trail cut short: {p}"))
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct AnchorCheck {
    pub head: Head,
    pub status: AnchorStatus,
    pub problem: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct BadRecord {
    pub seq: i64,
    pub problem: String,
}

/// Recompute the whole chain in `seq` order, streaming (memory stays flat), and
/// check that it still holds every anchored head: its record there, with its hash.
/// Without anchors, newest records deleted leave a chain that verifies.
pub async fn verify(
    client: &impl GenericClient,
    anchors: &[Head],
    seals: Option<Seals<'_>>,
) -> Result<VerifyReport, tokio_postgres::Error> {
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
    let mut seen: Vec<Option<AnchorStatus>> = vec![None; anchors.len()];
    let mut first_bad = None;
    let key = seals;
    let mut seals = SealCheck {
        key_given: key.is_some(),
        ..SealCheck::default()
    };
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
            seals.check(&record, key)
        };
        if let Some(problem) = problem {
            first_bad = Some(BadRecord {
                seq: record.seq,
                problem,
            });
            break;
        }
        let hash = hex::encode(&record.row_hash);
        for (anchor, status) in anchors.iter().zip(seen.iter_mut()) {
            if anchor.seq == record.seq {
                *status = Some(if anchor.row_hash == hash {
                    AnchorStatus::Held
                } else {
                    AnchorStatus::Differs
                });
            }
        }
        expected_seq += 1;
        prev_hash = record.row_hash;
    }
    let intact = first_bad.is_none();
    let anchors = anchors
        .iter()
        .zip(seen)
        .map(|(head, status)| {
            // Past a break the records were not read: a head there is not judged.
            let status = status.unwrap_or(if intact {
                AnchorStatus::Missing
            } else {
                AnchorStatus::Unchecked
            });
            AnchorCheck {
                head: head.clone(),
                status,
                problem: status.problem(head, records),
            }
        })
        .collect::<Vec<_>>();
    Ok(VerifyReport {
        records,
        head_seq: (intact && records > 0).then_some(expected_seq - 1),
        head_hash: (intact && records > 0).then(|| hex::encode(&prev_hash)),
        first_bad,
        anchored: !anchors.is_empty(),
        warning: anchors.is_empty().then(|| UNANCHORED.to_owned()),
        anchors,
        seal_note: seals.note(),
        seals,
    })
}

/// The audit key to open the records' seals with, and the first record it sealed:
/// every record from there on must carry a seal the key opens.
#[derive(Clone, Copy)]
pub struct Seals<'k> {
    pub key: &'k AuditKey,
    /// Records before this one were appended before the key was set (1: all sealed).
    pub sealed_from: i64,
}

/// What the seals of the records read so far show (see [`AuditKey::seal`]).
#[derive(Debug, Clone, Default, Serialize)]
pub struct SealCheck {
    /// The audit key was given, so each seal was checked.
    pub key_given: bool,
    /// Records carrying a seal (checked against the key when it was given).
    pub sealed: i64,
    /// Records without one (appended without the key).
    pub unsealed: i64,
    /// The first sealed record.
    pub first_sealed: Option<i64>,
}

impl SealCheck {
    /// Count `record`, and with the key say what is wrong with its seal: one that the
    /// key does not open, or none on a record after a sealed one (a rewrite that
    /// dropped the seals to hide a recomputed chain).
    fn check(&mut self, record: &AuditRecord, seals: Option<Seals<'_>>) -> Option<String> {
        match (&record.seal, seals) {
            (Some(seal), Some(seals)) if !seals.key.opens(&record.row_hash, seal) => {
                return Some("its seal does not match the audit key: the record was rewritten (its chain recomputed) by someone without the key, or sealed with another key".to_owned());
            }
            (Some(_), _) => {
                self.sealed += 1;
                self.first_sealed.get_or_insert(record.seq);
            }
            (None, Some(seals)) if record.seq >= seals.sealed_from => {
                return Some(format!(
                    "it has no seal, though the audit key seals every record from {}: a rewrite that \
                     dropped the seals, or a derbes run without the key (set DERBES_AUDIT_KEY or \
                     DERBES_AUDIT_KEY_FILE for every run; --sealed-from SEQ accepts records before SEQ)",
                    seals.sealed_from
                ));
            }
            (None, _) => self.unsealed += 1,
        }
        None
    }

    /// What the check can and cannot prove, when that needs saying.
    fn note(&self) -> Option<String> {
        if !self.key_given {
            return Some(format!(
                "without the audit key the check proves the records agree with each other, not that \
                 nobody who can write the log (a database superuser) rewrote them and recomputed the chain; \
                 give the key (DERBES_AUDIT_KEY or DERBES_AUDIT_KEY_FILE) to check the {} sealed record(s)",
                self.sealed
            ));
        }
        if self.unsealed > 0 {
            return Some(format!(
                "{} record(s) before the first sealed one were accepted without a seal (--sealed-from): \
                 only the chain and an anchored head cover them",
                self.unsealed
            ));
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::Head;

    #[test]
    fn a_head_reads_back_as_it_is_printed() {
        let hash = "9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08";
        let head: Head = format!(" 42:{hash}\n").parse().unwrap();
        assert_eq!(head.seq, 42);
        assert_eq!(head.row_hash, hash.to_ascii_lowercase());
        assert_eq!(head.to_string().parse::<Head>().unwrap(), head);
        for bad in [
            "",
            "42",
            "0:00",
            "-1:00",
            "x:00",
            &format!("1:{}", &hash[1..]),
            &format!("1:{}z", &hash[1..]),
        ] {
            let err = bad.parse::<Head>().unwrap_err();
            assert!(err.contains("SEQ:HASH"), "{bad}: {err}");
        }
    }
}
