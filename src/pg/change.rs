//! The change engine: how every command that changes data does it.
//!
//! One change is one transaction with one audit row ([`begin`], [`Change::commit`]):
//! a read-only server is refused before anything runs, `lock_timeout` and
//! `statement_timeout` bound every statement (production traffic keeps flowing and a
//! stuck lock never hangs an on-call run), the subjects' rows are locked in key order
//! ([`Change::lock_subjects`]) so concurrent runs queue instead of interleaving, the
//! audit row is appended in the same transaction, and a dry run is the same
//! transaction rolled back. A change that must read one snapshot throughout
//! (REPEATABLE READ or SERIALIZABLE: what is archived is what is deleted) starts with
//! [`begin_snapshot`], which takes the audit lock before the snapshot so its audit
//! row follows the true chain head (see `audit`).
//!
//! Cohort work (purging, cohort anonymisation) runs in batches ([`run_batches`]):
//! keyset on the table's primary key (never OFFSET, never `ctid`), one short
//! transaction per batch, each with its audit row and a checkpoint row in
//! `derbes.jobs`, so a killed run resumes after the last committed batch. A run lock
//! (session advisory lock per operation and scope) keeps two runs of one job apart:
//! the second exits 7.

use std::collections::{BTreeMap, HashSet};

use serde::Serialize;

use tokio_postgres::{Client, Transaction};

use crate::map::link::{KeyMatch, LinkPath};
use crate::map::{quote_ident, TableName};
use crate::pg::audit::{self, AuditEntry, AuditRecord};
use crate::pg::catalog::Catalog;

/// Bounds on every statement of a change.
#[derive(Debug, Clone)]
pub struct Limits {
    /// How long a statement waits for a row or table lock (`lock_timeout`).
    pub lock_timeout: String,
    /// How long one statement may run (`statement_timeout`).
    pub statement_timeout: String,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            lock_timeout: "10s".to_owned(),
            statement_timeout: "15min".to_owned(),
        }
    }
}

/// Why a change did not happen. Nothing was changed in any of these cases.
#[derive(Debug, thiserror::Error)]
pub enum ChangeError {
    #[error("the database is read-only (a standby, or default_transaction_read_only is on): nothing was changed; run against the primary")]
    ReadOnly,
    #[error("a row or table needed is locked by another transaction for longer than lock_timeout: nothing was changed; run again in a moment, or find the blocking session in pg_stat_activity")]
    LockTimeout,
    #[error("a statement ran longer than statement_timeout: nothing was changed; run it in smaller batches or at a quieter time")]
    StatementTimeout,
    #[error("another derbes {operation} run ({scope}) holds the lock on this database: wait for it to finish (pg_stat_activity, application_name = 'derbes') and run again")]
    RunLockHeld { operation: String, scope: String },
    #[error("another transaction changed the rows this change needs while it ran (a serialization failure or a deadlock): nothing was changed; run again")]
    Conflict,
    #[error("{0}")]
    Audit(String),
    /// The change was refused when its audit row was written (a request about
    /// another subject); the transaction rolled back.
    #[error("{0}")]
    Refused(String),
    #[error("database error: {0}")]
    Database(String),
}

impl From<audit::AppendError> for ChangeError {
    fn from(error: audit::AppendError) -> ChangeError {
        match error {
            audit::AppendError::Database(e) => ChangeError::from(e),
            refused @ audit::AppendError::RequestOfAnotherSubject { .. } => {
                ChangeError::Refused(refused.to_string())
            }
            other => ChangeError::Audit(other.to_string()),
        }
    }
}

impl From<tokio_postgres::Error> for ChangeError {
    fn from(error: tokio_postgres::Error) -> ChangeError {
        match error.code().map(|c| c.code()) {
            Some("25006") => ChangeError::ReadOnly,
            Some("55P03") => ChangeError::LockTimeout,
            Some("57014") => ChangeError::StatementTimeout,
            Some("40001") | Some("40P01") => ChangeError::Conflict,
            _ => ChangeError::Database(crate::pg::db::describe(&error)),
        }
    }
}

/// One change in progress: a transaction bounded by [`Limits`].
pub struct Change<'c> {
    tx: Transaction<'c>,
    dry_run: bool,
}

/// Start a change: refuse a read-only server at once, set the limits.
pub async fn begin<'c>(
    client: &'c mut Client,
    limits: &Limits,
    dry_run: bool,
) -> Result<Change<'c>, ChangeError> {
    let tx = client.transaction().await?;
    let read_only: String = tx
        .query_one("SELECT current_setting('transaction_read_only')", &[])
        .await?
        .get(0);
    if read_only == "on" {
        return Err(ChangeError::ReadOnly);
    }
    tx.execute(
        "SELECT set_config('lock_timeout', $1, true), set_config('statement_timeout', $2, true)",
        &[&limits.lock_timeout, &limits.statement_timeout],
    )
    .await?;
    Ok(Change { tx, dry_run })
}

/// The isolation of a change that reads one snapshot from start to commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Snapshot {
    RepeatableRead,
    Serializable,
}

/// Start a change whose statements all see one snapshot (REPEATABLE READ or
/// SERIALIZABLE: erasure and purging, where what is archived must be what is
/// deleted). Its first statement takes the audit lock ([`audit::LOCK_BEFORE_SNAPSHOT`];
/// `LOCK TABLE` takes no snapshot), so the snapshot, taken by the next statement,
/// holds every audit row committed before, and the audit row appended at commit
/// follows the true head. The lock is held to commit: other changes wait for their
/// audit row (up to their `lock_timeout`) while this one runs, so keep these
/// transactions short (one subject, one batch).
///
/// The bounds are set on the session before the transaction starts (`SET` takes no
/// parameters, and a `SELECT set_config` inside would fix the snapshot before the
/// lock); the session keeps them.
pub async fn begin_snapshot<'c>(
    client: &'c mut Client,
    limits: &Limits,
    isolation: Snapshot,
    dry_run: bool,
) -> Result<Change<'c>, ChangeError> {
    client
        .execute(
            "SELECT set_config('lock_timeout', $1, false), set_config('statement_timeout', $2, false)",
            &[&limits.lock_timeout, &limits.statement_timeout],
        )
        .await?;
    let level = match isolation {
        Snapshot::RepeatableRead => tokio_postgres::IsolationLevel::RepeatableRead,
        Snapshot::Serializable => tokio_postgres::IsolationLevel::Serializable,
    };
    let tx = client
        .build_transaction()
        .isolation_level(level)
        .start()
        .await?;
    // Neither `SHOW` nor `LOCK TABLE` takes a snapshot. A read-only transaction may
    // take the lock (a standby refuses it, SQLSTATE 25006), so ask first.
    let read_only = tx
        .simple_query("SHOW transaction_read_only")
        .await?
        .into_iter()
        .find_map(|message| match message {
            tokio_postgres::SimpleQueryMessage::Row(row) => row.get(0).map(str::to_owned),
            _ => None,
        });
    if read_only.as_deref() == Some("on") {
        return Err(ChangeError::ReadOnly);
    }
    tx.batch_execute(audit::LOCK_BEFORE_SNAPSHOT).await?;
    Ok(Change { tx, dry_run })
}

impl<'c> Change<'c> {
    pub fn tx(&self) -> &Transaction<'c> {
        &self.tx
    }

    /// The transaction itself, for a change that ends with another owner's commit
    /// (an archive receipt that must outlive the commit). The caller appends the
    /// audit row and commits or, for a dry run, rolls back.
    pub fn into_transaction(self) -> Transaction<'c> {
        self.tx
    }

    /// Lock the subject rows of `keys`, in key order (so two runs over the same
    /// subjects queue instead of deadlocking). Returns the keys still present.
    pub async fn lock_subjects(
        &self,
        subject: &LinkPath,
        keys: &[String],
    ) -> Result<HashSet<String>, ChangeError> {
        let key = quote_ident(&subject.subject_key);
        let sql = format!(
            "SELECT t0.{key}::text FROM {} t0 WHERE {} ORDER BY t0.{key} FOR UPDATE",
            subject.table.quoted(),
            subject.rows_of("t0", KeyMatch::Any(1)),
        );
        Ok(self
            .tx
            .query(&sql, &[&keys])
            .await?
            .iter()
            .map(|row| row.get(0))
            .collect())
    }

    /// Append the audit row and commit, or roll back for a dry run (the audit row
    /// goes with it). Returns the audit record as written.
    pub async fn commit(
        self,
        operator: &str,
        entry: &AuditEntry,
    ) -> Result<AuditRecord, ChangeError> {
        let record = audit::append(&self.tx, operator, entry).await?;
        crate::pg::db::finish(self.tx, self.dry_run).await?;
        Ok(record)
    }
}

/// A session-level advisory lock on one operation and scope (`purge` / rule name),
/// held for a whole run; released when dropped with the session or on `release`.
pub struct RunLock {
    key: i64,
}

impl RunLock {
    /// Take the lock or fail with [`ChangeError::RunLockHeld`] (exit 7) at once.
    pub async fn acquire(
        client: &Client,
        operation: &str,
        scope: &str,
    ) -> Result<RunLock, ChangeError> {
        let key: i64 = client
            .query_one(
                "SELECT hashtextextended('derbes:' || $1::text || ':' || $2::text, 0)",
                &[&operation, &scope],
            )
            .await?
            .get(0);
        let got: bool = client
            .query_one("SELECT pg_try_advisory_lock($1)", &[&key])
            .await?
            .get(0);
        if got {
            Ok(RunLock { key })
        } else {
            Err(ChangeError::RunLockHeld {
                operation: operation.to_owned(),
                scope: scope.to_owned(),
            })
        }
    }

    pub async fn release(self, client: &Client) -> Result<(), ChangeError> {
        client
            .execute("SELECT pg_advisory_unlock($1)", &[&self.key])
            .await?;
        Ok(())
    }
}

/// A cohort job: the rows of one table that a condition selects, worked through in
/// primary-key batches.
#[derive(Debug, Clone)]
pub struct BatchJob {
    /// The operation (`purge`, `anonymise`), for the run lock, the checkpoint and
    /// the audit rows.
    pub operation: String,
    /// What this run covers (a retention rule, a cohort): one run per scope at once.
    pub scope: String,
    pub table: TableName,
    /// A condition on `t0` selecting the rows to work on, built from the data map;
    /// its values are the text parameters `$1..$n` of `params` (cast them:
    /// `$1::text::int`).
    pub condition: String,
    pub params: Vec<String>,
    pub batch_size: i64,
    pub ticket: String,
    pub operator: String,
    pub dry_run: bool,
}

/// What one batch did, per `table.column` or kind.
pub type Counts = BTreeMap<String, i64>;

/// The work of one batch, given the primary keys it covers (each as text, in
/// key-column order), inside the batch's transaction.
pub trait BatchStep {
    fn apply(
        &mut self,
        tx: &Transaction<'_>,
        keys: &[Vec<String>],
    ) -> impl std::future::Future<Output = Result<Counts, ChangeError>>;

    /// Called after the batch's commit was attempted: `committed` is false when it
    /// failed (whether it reached the server may be unknown). A step that wrote a
    /// file in `apply` keeps or removes it here.
    fn after_commit(&mut self, committed: bool) {
        let _ = committed;
    }
}

/// How a batched run paces itself, stops and reports; [`RunOptions::default`] is
/// what [`run_batches`] uses.
pub struct RunOptions<'a> {
    /// Sleep between batches, leaving the server to other work.
    pub pause: std::time::Duration,
    /// Stop cleanly between batches once this instant has passed (the checkpoint
    /// stays, so the next run resumes).
    pub deadline: Option<std::time::Instant>,
    /// One audit row per batch (in its transaction). Off, the checkpoint row in
    /// `derbes.jobs` (same transaction) records the counts and the caller appends
    /// one audit row for the run.
    pub audit_each_batch: bool,
    /// Called after each committed batch with the run so far.
    pub progress: Option<&'a (dyn Fn(&BatchReport) + Sync)>,
    /// Lock the selected rows (`FOR UPDATE`) before the step runs. A step that
    /// changes the rows between the batch's first and last key with the job's
    /// condition checked again in its own statement (which then waits for and
    /// re-reads any row changed meanwhile) turns this off and saves writing every
    /// row twice.
    pub lock_rows: bool,
}

impl Default for RunOptions<'_> {
    fn default() -> Self {
        RunOptions {
            pause: std::time::Duration::ZERO,
            deadline: None,
            audit_each_batch: true,
            progress: None,
            lock_rows: true,
        }
    }
}

/// What [`run_batches_with`] adds to the report.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct RunTiming {
    /// The run stopped at its deadline with rows left (its checkpoint stays).
    pub stopped: bool,
    /// The longest batch transaction, from `BEGIN` to the end of `COMMIT`, in ms.
    pub longest_batch_ms: u64,
    /// Batches and rows done by this run (the report also counts resumed work).
    pub batches_this_run: i64,
    pub rows_this_run: i64,
}

/// What a batched run did.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct BatchReport {
    pub operation: String,
    pub scope: String,
    pub dry_run: bool,
    /// The run continued a checkpoint left by a run that was stopped.
    pub resumed: bool,
    pub batches: i64,
    pub rows: i64,
    pub counts: Counts,
}

/// Run a job in batches: take the run lock, resume after the checkpoint of an
/// unfinished run of the same job, and for each batch (one transaction) select the
/// next keys in key order, lock them, apply `step`, advance the checkpoint, append
/// the audit row and commit (or roll back, for a dry run, and go on past the keys).
pub async fn run_batches(
    client: &mut Client,
    catalog: &Catalog,
    limits: &Limits,
    job: &BatchJob,
    step: &mut impl BatchStep,
) -> Result<BatchReport, ChangeError> {
    run_batches_with(client, catalog, limits, job, step, &RunOptions::default())
        .await
        .map(|(report, _)| report)
}

/// [`run_batches`] with pacing, a deadline, progress and the audit choice of
/// `options`.
pub async fn run_batches_with(
    client: &mut Client,
    catalog: &Catalog,
    limits: &Limits,
    job: &BatchJob,
    step: &mut impl BatchStep,
    options: &RunOptions<'_>,
) -> Result<(BatchReport, RunTiming), ChangeError> {
    let table = catalog
        .tables
        .get(&job.table)
        .ok_or_else(|| ChangeError::Database(format!("table {} does not exist", job.table)))?;
    if table.primary_key.is_empty() {
        return Err(ChangeError::Database(format!(
            "table {} has no primary key to work through in batches: add one",
            job.table
        )));
    }
    let key_columns = &table.primary_key;
    let key_types: Vec<String> = key_columns
        .iter()
        .map(|c| table.column_type(c).unwrap_or("text").to_owned())
        .collect();
    let lock = RunLock::acquire(client, &job.operation, &job.scope).await?;
    let result = run_locked(client, limits, job, key_columns, &key_types, step, options).await;
    lock.release(client).await?;
    result
}

async fn run_locked(
    client: &mut Client,
    limits: &Limits,
    job: &BatchJob,
    key_columns: &[String],
    key_types: &[String],
    step: &mut impl BatchStep,
    options: &RunOptions<'_>,
) -> Result<(BatchReport, RunTiming), ChangeError> {
    let mut timing = RunTiming::default();
    // An unfinished run of the same job leaves its checkpoint: continue after it.
    let checkpoint = client
        .query_opt(
            "SELECT id, last_key, batches, rows, counts FROM derbes.jobs \
             WHERE operation = $1 AND scope = $2 AND finished_at IS NULL",
            &[&job.operation, &job.scope],
        )
        .await?;
    let (job_id, mut last_key, mut report) = match (checkpoint, job.dry_run) {
        (Some(row), _) => {
            let counts: serde_json::Value = row.get(4);
            (
                Some(row.get::<_, i64>(0)),
                row.get::<_, Option<Vec<String>>>(1),
                BatchReport {
                    operation: job.operation.clone(),
                    scope: job.scope.clone(),
                    dry_run: job.dry_run,
                    resumed: true,
                    batches: row.get(2),
                    rows: row.get(3),
                    counts: serde_json::from_value(counts).unwrap_or_default(),
                },
            )
        }
        (None, dry_run) => (
            None,
            None,
            BatchReport {
                operation: job.operation.clone(),
                scope: job.scope.clone(),
                dry_run,
                resumed: false,
                batches: 0,
                rows: 0,
                counts: Counts::new(),
            },
        ),
    };
    let job_id = match (job_id, job.dry_run) {
        (Some(id), _) => Some(id),
        (None, true) => None,
        (None, false) => Some(
            client
                .query_one(
                    "INSERT INTO derbes.jobs (operation, scope, table_name, ticket, operator) \
                     VALUES ($1, $2, $3, $4, $5) RETURNING id",
                    &[
                        &job.operation,
                        &job.scope,
                        &job.table.to_string(),
                        &job.ticket,
                        &job.operator,
                    ],
                )
                .await?
                .get(0),
        ),
    };

    let columns: Vec<String> = key_columns
        .iter()
        .map(|c| format!("t0.{}::text", quote_ident(c)))
        .collect();
    let tuple: Vec<String> = key_columns
        .iter()
        .map(|c| format!("t0.{}", quote_ident(c)))
        .collect();
    let n = job.params.len();
    let after: Vec<String> = key_types
        .iter()
        .enumerate()
        .map(|(i, ty)| format!("${}::text::{ty}", n + 1 + i))
        .collect();
    let select = |resume: bool| {
        format!(
            "SELECT {} FROM {} t0 WHERE ({}){} ORDER BY {} LIMIT {}{}",
            columns.join(", "),
            job.table.quoted(),
            job.condition,
            if resume {
                format!(" AND ({}) > ({})", tuple.join(", "), after.join(", "))
            } else {
                String::new()
            },
            tuple.join(", "),
            job.batch_size.max(1),
            if options.lock_rows { " FOR UPDATE" } else { "" }
        )
    };
    loop {
        if options
            .deadline
            .is_some_and(|d| std::time::Instant::now() >= d)
        {
            timing.stopped = true;
            break;
        }
        let started = std::time::Instant::now();
        let change = begin(client, limits, job.dry_run).await?;
        let mut params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = job
            .params
            .iter()
            .map(|p| p as &(dyn tokio_postgres::types::ToSql + Sync))
            .collect();
        if let Some(last) = &last_key {
            params.extend(
                last.iter()
                    .map(|p| p as &(dyn tokio_postgres::types::ToSql + Sync)),
            );
        }
        let rows = change
            .tx()
            .query(&select(last_key.is_some()), &params)
            .await?;
        if rows.is_empty() {
            drop(change);
            break;
        }
        let keys: Vec<Vec<String>> = rows
            .iter()
            .map(|row| (0..key_columns.len()).map(|i| row.get(i)).collect())
            .collect();
        let counts = step.apply(change.tx(), &keys).await?;
        let batch_last = keys.last().cloned().expect("a batch has keys");
        report.batches += 1;
        report.rows += keys.len() as i64;
        for (name, n) in &counts {
            *report.counts.entry(name.clone()).or_default() += n;
        }
        if let Some(id) = job_id {
            change
                .tx()
                .execute(
                    "UPDATE derbes.jobs SET last_key = $2, batches = $3, rows = $4, \
                     counts = $5, updated_at = now() WHERE id = $1",
                    &[
                        &id,
                        &batch_last,
                        &report.batches,
                        &report.rows,
                        &serde_json::to_value(&report.counts).expect("counts serialise"),
                    ],
                )
                .await?;
        }
        crate::fault::point("batch.applied");
        let committed = if options.audit_each_batch {
            let entry = AuditEntry {
                action: job.operation.clone(),
                ticket: Some(job.ticket.clone()),
                subject_ref: None,
                counts: counts.clone(),
                fields: counts.keys().cloned().collect(),
                detail: serde_json::json!({
                    "scope": job.scope,
                    "table": job.table.to_string(),
                    "batch": report.batches,
                    "rows": keys.len(),
                    "job": job_id,
                }),
            };
            change.commit(&job.operator, &entry).await.map(|_| ())
        } else {
            crate::pg::db::finish(change.tx, job.dry_run)
                .await
                .map_err(ChangeError::from)
        };
        step.after_commit(committed.is_ok() && !job.dry_run);
        committed?;
        timing.longest_batch_ms = timing
            .longest_batch_ms
            .max(started.elapsed().as_millis() as u64);
        timing.batches_this_run += 1;
        timing.rows_this_run += keys.len() as i64;
        if let Some(progress) = options.progress {
            progress(&report);
        }
        last_key = Some(batch_last);
        if (keys.len() as i64) < job.batch_size.max(1) {
            break;
        }
        if !options.pause.is_zero() {
            tokio::time::sleep(options.pause).await;
        }
    }
    if timing.stopped {
        return Ok((report, timing));
    }
    if let Some(id) = job_id {
        client
            .execute(
                "UPDATE derbes.jobs SET finished_at = now(), updated_at = now() WHERE id = $1",
                &[&id],
            )
            .await?;
    }
    Ok((report, timing))
}
