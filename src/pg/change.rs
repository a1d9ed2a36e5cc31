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
//!
//! A step either needs the batch's keys ([`BatchMode::Keys`]: they are selected,
//! sent to derbes and, if asked, locked) or only its bounds ([`BatchMode::Range`]:
//! the first due key after the checkpoint and the key `n` index entries further on,
//! read from the primary key index alone; the step's one statement walks that key
//! range and checks the job's condition itself, so a row changed meanwhile is
//! re-read). Range batches read each row once, as the single statement they stand
//! for does. [`BatchSize::Auto`] sizes each batch from the ones before so that a
//! batch transaction takes about its target time: large enough that per-batch costs
//! vanish, short enough that a writer waiting for one of its rows waits little.

use std::collections::{BTreeMap, HashSet};

use serde::Serialize;

use tokio_postgres::{Client, Transaction};

use crate::map::link::{KeyMatch, LinkPath};
use crate::map::{quote_ident, TableName};
use crate::pg::audit::{self, AuditEntry, AuditRecord};
use crate::pg::catalog::Catalog;
use crate::pg::db::StatementCache;

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
    begin_with(client, limits, dry_run, Commit::Synchronous, Plans::Custom).await
}

/// Whether a change's commit waits for its WAL to reach disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Commit {
    Synchronous,
    /// For batches whose loss in a crash is harmless (see
    /// [`RunOptions::audit_each_batch`]).
    Asynchronous,
}

/// How the server plans a change's parameterised statements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Plans {
    /// The server's own choice (`plan_cache_mode`), usually a plan per execution.
    Custom,
    /// One plan per prepared statement, kept for every batch. A range batch's
    /// statements are the same each time but for the bounds, and a custom plan per
    /// batch costs milliseconds: estimating `time < $cutoff` probes the time
    /// index's end, which fills with the dead entries of rows just changed.
    Generic,
}

async fn begin_with<'c>(
    client: &'c mut Client,
    limits: &Limits,
    dry_run: bool,
    commit: Commit,
    plans: Plans,
) -> Result<Change<'c>, ChangeError> {
    let tx = client.transaction().await?;
    // Synchronous keeps the server's own setting (which may wait for a standby).
    let synchronous = match commit {
        Commit::Synchronous => None,
        Commit::Asynchronous => Some("off"),
    };
    let plan_cache_mode = match plans {
        Plans::Custom => None,
        Plans::Generic => Some("force_generic_plan"),
    };
    // One round trip: batches begin many of these.
    let read_only: String = tx
        .query_one(
            "SELECT current_setting('transaction_read_only'), \
                    set_config('lock_timeout', $1, true), set_config('statement_timeout', $2, true), \
                    set_config('synchronous_commit', \
                               coalesce($3::text, current_setting('synchronous_commit')), true), \
                    set_config('plan_cache_mode', \
                               coalesce($4::text, current_setting('plan_cache_mode')), true)",
            &[
                &limits.lock_timeout,
                &limits.statement_timeout,
                &synchronous,
                &plan_cache_mode,
            ],
        )
        .await?
        .get(0);
    if read_only == "on" {
        return Err(ChangeError::ReadOnly);
    }
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

/// How many primary keys one batch covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchSize {
    /// This many keys per batch.
    Fixed(i64),
    /// Sized from the batches before so that each batch transaction takes about
    /// this long.
    Auto(std::time::Duration),
}

impl BatchSize {
    /// The default of every batched command: batches of about 100 ms, inside the
    /// 250 ms a writer should ever wait for a row of a batch with room for a batch
    /// that runs long (a checkpoint, a busy disk).
    pub const AUTO: BatchSize = BatchSize::Auto(std::time::Duration::from_millis(100));
    /// The first batch of an automatic run (then it grows or shrinks).
    const AUTO_FIRST: i64 = 1_000;
    const AUTO_MAX: i64 = 1_000_000;
}

impl std::fmt::Display for BatchSize {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BatchSize::Fixed(n) => write!(f, "{n}"),
            BatchSize::Auto(target) => write!(f, "auto ({} ms a batch)", target.as_millis()),
        }
    }
}

/// The size of the next batch: fixed, or scaled from how long the last one took
/// (at most half as large again or halved at a step, so one odd batch does not
/// swing it, and a batch that grows overshoots the target little).
#[derive(Debug)]
struct Sizer {
    size: BatchSize,
    next: i64,
}

impl Sizer {
    fn new(size: BatchSize) -> Sizer {
        let next = match size {
            BatchSize::Fixed(n) => n.max(1),
            BatchSize::Auto(_) => BatchSize::AUTO_FIRST,
        };
        Sizer { size, next }
    }

    fn next(&self) -> i64 {
        self.next
    }

    fn took(&mut self, keys: i64, elapsed: std::time::Duration) {
        let BatchSize::Auto(target) = self.size else {
            return;
        };
        // A batch that found fewer keys than asked (the table's end) says nothing.
        if keys < self.next {
            return;
        }
        let ratio = target.as_secs_f64() / elapsed.as_secs_f64().max(0.000_1);
        let scaled = (self.next as f64 * ratio.clamp(0.5, 1.5)) as i64;
        self.next = scaled.clamp(100, BatchSize::AUTO_MAX);
    }
}

/// What a step is given of its batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchMode {
    /// Every key of the batch (locked first when [`RunOptions::lock_rows`]).
    Keys,
    /// Only the first and last key: the step works on the rows between them that
    /// the job's condition selects, in one statement that checks it again.
    Range,
}

/// One batch as its step sees it: keys as text, in key-column order.
#[derive(Debug)]
pub struct Batch<'k> {
    pub first: &'k [String],
    pub last: &'k [String],
    /// Every key, in key order ([`BatchMode::Keys`]); empty for [`BatchMode::Range`].
    pub keys: &'k [Vec<String>],
}

/// `sql` with each placeholder `$n` outside quotes moved to `$(n + by)`: a job's
/// condition (numbered from `$1`) placed into a statement whose own parameters
/// come first.
pub fn shift_placeholders(sql: &str, by: usize) -> String {
    let mut out = String::with_capacity(sql.len() + 8);
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' | '"' => {
                out.push(c);
                // Up to the closing quote; a doubled quote is an escaped one and
                // simply closes and reopens.
                for inner in chars.by_ref() {
                    out.push(inner);
                    if inner == c {
                        break;
                    }
                }
            }
            '$' if chars.peek().is_some_and(|d| d.is_ascii_digit()) => {
                let mut digits = String::new();
                while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                    digits.push(*d);
                    chars.next();
                }
                let n: usize = digits.parse().expect("digits");
                out.push_str(&format!("${}", n + by));
            }
            _ => out.push(c),
        }
    }
    out
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
    pub batch_size: BatchSize,
    pub ticket: String,
    pub operator: String,
    pub dry_run: bool,
    /// A condition on `t1` (a row of the key index) that ends the job's key range,
    /// with the job's parameters: a stream's upper bound, so that a batch's bounds
    /// never run on into the next stream's rows.
    pub span_below: Option<String>,
}

/// What one batch did, per `table.column` or kind.
pub type Counts = BTreeMap<String, i64>;

/// The work of one batch, given the primary keys it covers (each as text, in
/// key-column order), inside the batch's transaction.
pub trait BatchStep {
    /// What the step needs of a batch; a [`BatchMode::Range`] step returns counts
    /// that add up to the rows it worked on (they advance the progress).
    fn mode(&self) -> BatchMode {
        BatchMode::Keys
    }

    fn apply(
        &mut self,
        tx: &Transaction<'_>,
        batch: &Batch<'_>,
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
#[derive(Clone)]
pub struct RunOptions<'a> {
    /// Sleep between batches, leaving the server to other work.
    pub pause: std::time::Duration,
    /// Stop cleanly between batches once this instant has passed (the checkpoint
    /// stays, so the next run resumes).
    pub deadline: Option<std::time::Instant>,
    /// One audit row per batch (in its transaction). Off, the checkpoint row in
    /// `derbes.jobs` (same transaction) records the counts and the caller appends
    /// one audit row for the run; the batches then commit without waiting for
    /// their WAL to reach disk (a crash may lose the last few batches, changes and
    /// checkpoint together, so their rows are simply due again; the run's audit
    /// row, committed synchronously after them, flushes them all first).
    pub audit_each_batch: bool,
    /// Called after each committed batch with the run so far.
    pub progress: Option<&'a (dyn Fn(&BatchReport) + Sync)>,
    /// Lock the selected rows (`FOR UPDATE`) before the step runs. A step that
    /// changes the rows between the batch's first and last key with the job's
    /// condition checked again in its own statement (which then waits for and
    /// re-reads any row changed meanwhile) turns this off and saves writing every
    /// row twice.
    pub lock_rows: bool,
    /// Leave the job open when its last batch is done: the caller closes it with
    /// [`finish_job`] in the transaction that records what follows from it (a
    /// cohort's mark), so a kill in between resumes the job instead of losing that.
    pub leave_open: bool,
}

impl Default for RunOptions<'_> {
    fn default() -> Self {
        RunOptions {
            pause: std::time::Duration::ZERO,
            deadline: None,
            audit_each_batch: true,
            progress: None,
            lock_rows: true,
            leave_open: false,
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
    /// The job's row in `derbes.jobs` (None for a dry run).
    pub job_id: Option<i64>,
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
                    // A job opened ahead of its run (`open_streams`) and killed before
                    // its first batch starts afresh.
                    resumed: row.get::<_, Option<Vec<String>>>(1).is_some(),
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
                    "INSERT INTO derbes.jobs (operation, scope, table_name, ticket, operator, params) \
                     VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                    &[
                        &job.operation,
                        &job.scope,
                        &job.table.to_string(),
                        &job.ticket,
                        &job.operator,
                        &job.params,
                    ],
                )
                .await?
                .get(0),
        ),
    };

    let mode = step.mode();
    let statements = Statements::new(job, key_columns, key_types, options.lock_rows);
    let mut sizer = Sizer::new(job.batch_size);
    // Every statement of the loop is parsed once per run (the bounds statement in
    // its two forms, with and without a checkpoint).
    let mut cache = StatementCache::default();
    loop {
        if options
            .deadline
            .is_some_and(|d| std::time::Instant::now() >= d)
        {
            timing.stopped = true;
            break;
        }
        let started = std::time::Instant::now();
        let wanted = sizer.next();
        let commit = match options.audit_each_batch {
            true => Commit::Synchronous,
            false => Commit::Asynchronous,
        };
        let plans = match mode {
            BatchMode::Keys => Plans::Custom,
            BatchMode::Range => Plans::Generic,
        };
        let change = begin_with(client, limits, job.dry_run, commit, plans).await?;
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
        let resume = last_key.is_some();
        let keys: Vec<Vec<String>>;
        let (first, last, span): (Vec<String>, Vec<String>, i64) = match mode {
            BatchMode::Keys => {
                let rows = change
                    .tx()
                    .query(&statements.keys(resume, wanted), &params)
                    .await?;
                keys = rows
                    .iter()
                    .map(|row| (0..key_columns.len()).map(|i| row.get(i)).collect())
                    .collect();
                match (keys.first(), keys.last()) {
                    (Some(first), Some(last)) => (first.clone(), last.clone(), keys.len() as i64),
                    _ => {
                        drop(change);
                        break;
                    }
                }
            }
            BatchMode::Range => {
                keys = Vec::new();
                let statement = cache
                    .prepare(change.tx(), &statements.bounds(resume, params.len() + 1))
                    .await?;
                let limit = wanted.max(1);
                params.push(&limit);
                let Some(row) = change.tx().query_opt(&statement, &params).await? else {
                    drop(change);
                    break;
                };
                let n = key_columns.len();
                (
                    (0..n).map(|i| row.get(i)).collect(),
                    (n..2 * n).map(|i| row.get(i)).collect(),
                    row.get(2 * n),
                )
            }
        };
        let batch = Batch {
            first: &first,
            last: &last,
            keys: &keys,
        };
        let counts = step.apply(change.tx(), &batch).await?;
        let rows = match mode {
            BatchMode::Keys => keys.len() as i64,
            BatchMode::Range => counts.values().sum(),
        };
        report.batches += 1;
        report.rows += rows;
        for (name, n) in &counts {
            *report.counts.entry(name.clone()).or_default() += n;
        }
        if let Some(id) = job_id {
            let checkpoint = cache
                .prepare(
                    change.tx(),
                    "UPDATE derbes.jobs SET last_key = $2, batches = $3, rows = $4, \
                     counts = $5, updated_at = now() WHERE id = $1",
                )
                .await?;
            change
                .tx()
                .execute(
                    &checkpoint,
                    &[
                        &id,
                        &last,
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
                    "rows": rows,
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
        let elapsed = started.elapsed();
        timing.longest_batch_ms = timing.longest_batch_ms.max(elapsed.as_millis() as u64);
        timing.batches_this_run += 1;
        timing.rows_this_run += rows;
        if let Some(progress) = options.progress {
            progress(&report);
        }
        last_key = Some(last);
        // A keys batch short of what it asked for reached the last due row; a
        // range batch cannot tell (rows past it may be due), so the next asks.
        if mode == BatchMode::Keys && span < wanted {
            break;
        }
        sizer.took(span, elapsed);
        if !options.pause.is_zero() {
            tokio::time::sleep(options.pause).await;
        }
    }
    timing.job_id = job_id;
    if timing.stopped || options.leave_open {
        return Ok((report, timing));
    }
    if let Some(id) = job_id {
        finish_job(&*client, id).await?;
    }
    Ok((report, timing))
}

/// Close job `id`: its work is done (a later run of the same job starts afresh).
pub async fn finish_job(
    client: &impl tokio_postgres::GenericClient,
    id: i64,
) -> Result<(), ChangeError> {
    client
        .execute(
            "UPDATE derbes.jobs SET finished_at = now(), updated_at = now() WHERE id = $1",
            &[&id],
        )
        .await?;
    Ok(())
}

/// The condition parameters the unfinished run of job (`operation`, `scope`)
/// started with, if there is one: a resumed run that uses them works through the
/// same rows.
pub async fn unfinished_params(
    client: &impl tokio_postgres::GenericClient,
    operation: &str,
    scope: &str,
) -> Result<Option<Vec<String>>, ChangeError> {
    let row = client
        .query_opt(
            "SELECT params FROM derbes.jobs \
             WHERE operation = $1 AND scope = $2 AND finished_at IS NULL",
            &[&operation, &scope],
        )
        .await?;
    Ok(row.and_then(|r| r.get::<_, Option<Vec<String>>>(0)))
}

/// One stream of a job cut into key ranges (scope `<job scope>#k/N`, the k-th of N),
/// covering `from <= key < to` (the first has no `from`, the last no `to`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stream {
    pub scope: String,
    /// The job's own condition parameters, as the stream's run started them.
    pub params: Vec<String>,
    pub from: Option<Vec<String>>,
    pub to: Option<Vec<String>>,
}

impl Stream {
    /// The stream's condition: `condition` (on `t0`, parameters `params`) within its
    /// key range, the bounds bound after `params`; all the parameters, which the
    /// stream's job keeps ([`unfinished_streams`] reads them back); and the upper
    /// bound on `t1` ([`BatchJob::span_below`]).
    pub fn condition(
        &self,
        key_columns: &[String],
        key_types: &[String],
        condition: &str,
    ) -> StreamCondition {
        let mut params = self.params.clone();
        let on = |alias: &str| {
            key_columns
                .iter()
                .map(|c| format!("{alias}.{}", quote_ident(c)))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut condition = format!("({condition})");
        let mut span_below = None;
        for (bound, op) in [(&self.from, ">="), (&self.to, "<")] {
            if let Some(bound) = bound {
                let placeholders: Vec<String> = bound
                    .iter()
                    .zip(key_types)
                    .map(|(value, ty)| {
                        params.push(value.clone());
                        format!("${}::text::{ty}", params.len())
                    })
                    .collect();
                let placeholders = placeholders.join(", ");
                condition.push_str(&format!(" AND ({}) {op} ({placeholders})", on("t0")));
                if op == "<" {
                    span_below = Some(format!("({}) < ({placeholders})", on("t1")));
                }
            }
        }
        StreamCondition {
            condition,
            params,
            span_below,
        }
    }
}

/// A stream's job condition (see [`Stream::condition`]).
#[derive(Debug, Clone)]
pub struct StreamCondition {
    pub condition: String,
    pub params: Vec<String>,
    pub span_below: Option<String>,
}

/// Keys sampled to place the bounds of streams' key ranges.
const SAMPLE_KEYS: f64 = 10_000.0;

/// Cut the rows of `table` that `condition` selects (parameters `params`) into at
/// most `streams` half-open key ranges, at keys sampled from them
/// (`TABLESAMPLE SYSTEM`, about 10,000 keys), so every row falls in exactly one
/// whatever the sample saw; composite keys cut as row values. Streams named
/// `<scope>#k/N`. One stream (no bounds) when the sample is too small to cut.
#[allow(clippy::too_many_arguments)]
pub async fn cut_into_streams(
    client: &Client,
    table: &TableName,
    key_columns: &[String],
    condition: &str,
    params: &[String],
    streams: usize,
    scope: &str,
) -> Result<Vec<Stream>, ChangeError> {
    let whole = || {
        vec![Stream {
            scope: scope.to_owned(),
            params: params.to_vec(),
            from: None,
            to: None,
        }]
    };
    if streams < 2 {
        return Ok(whole());
    }
    let estimate: f32 = client
        .query_one(
            "SELECT greatest(reltuples, 0) FROM pg_class WHERE oid = $1::text::regclass",
            &[&table.quoted()],
        )
        .await?
        .get(0);
    // A table never analysed (or a partitioned one) has no estimate: read every
    // key, once; the run reads every row it selects anyway.
    let percent = if estimate > 0.0 {
        (SAMPLE_KEYS * 100.0 / f64::from(estimate)).clamp(0.000_1, 100.0)
    } else {
        100.0
    };
    let text_keys: Vec<String> = key_columns
        .iter()
        .map(|c| format!("t0.{}::text", quote_ident(c)))
        .collect();
    let tuple: Vec<String> = key_columns
        .iter()
        .map(|c| format!("t0.{}", quote_ident(c)))
        .collect();
    let mut sample_params = params.to_vec();
    sample_params.push(percent.to_string());
    let refs: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = sample_params
        .iter()
        .map(|p| p as &(dyn tokio_postgres::types::ToSql + Sync))
        .collect();
    let sample = client
        .query(
            &format!(
                "SELECT {} FROM {} t0 TABLESAMPLE SYSTEM (${}::text::float4) WHERE {condition} ORDER BY {}",
                text_keys.join(", "),
                table.quoted(),
                sample_params.len(),
                tuple.join(", ")
            ),
            &refs,
        )
        .await?;
    let mut bounds: Vec<Vec<String>> = Vec::new();
    for i in 1..streams {
        let at = i * sample.len() / streams;
        let Some(row) = sample.get(at).filter(|_| at > 0) else {
            continue;
        };
        let bound: Vec<String> = (0..key_columns.len()).map(|c| row.get(c)).collect();
        if bounds.last() != Some(&bound) {
            bounds.push(bound);
        }
    }
    if bounds.is_empty() {
        return Ok(whole());
    }
    let of = bounds.len() + 1;
    Ok((1..=of)
        .map(|k| Stream {
            scope: format!("{scope}#{k}/{of}"),
            params: params.to_vec(),
            from: (k > 1).then(|| bounds[k - 2].clone()),
            to: (k < of).then(|| bounds[k - 1].clone()),
        })
        .collect())
}

/// Record every stream of `job` (each scope with its parameters) as an unfinished
/// job, in one transaction, before any of them runs: a run killed early leaves all
/// of them, so the next one resumes every range (one never started included).
/// Streams already recorded are left as they are.
pub async fn open_streams(
    client: &mut Client,
    job: &BatchJob,
    streams: &[(String, Vec<String>)],
) -> Result<(), ChangeError> {
    if job.dry_run {
        return Ok(());
    }
    let tx = client.transaction().await?;
    for (scope, params) in streams {
        tx.execute(
            "INSERT INTO derbes.jobs (operation, scope, table_name, ticket, operator, params) \
             VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (operation, scope) WHERE finished_at IS NULL DO NOTHING",
            &[
                &job.operation,
                scope,
                &job.table.to_string(),
                &job.ticket,
                &job.operator,
                params,
            ],
        )
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// The unfinished streams of job (`operation`, `scope`) cut into key ranges, with
/// the parameters and bounds they started with; `own_params` is how many of a
/// stream's parameters are the job's own (the bounds follow). A stream whose
/// record does not fit (another data map or version) is an error naming it.
pub async fn unfinished_streams(
    client: &Client,
    operation: &str,
    scope: &str,
    own_params: usize,
    keys: usize,
) -> Result<Vec<Stream>, ChangeError> {
    let prefix = format!("{scope}#");
    let rows = client
        .query(
            "SELECT scope, params FROM derbes.jobs \
             WHERE operation = $1 AND finished_at IS NULL AND starts_with(scope, $2) \
             ORDER BY scope",
            &[&operation, &prefix],
        )
        .await?;
    let mut streams = Vec::new();
    for row in &rows {
        let stream_scope: String = row.get(0);
        let started: Vec<String> = row.get::<_, Option<Vec<String>>>(1).unwrap_or_default();
        let (k, of) = stream_scope
            .strip_prefix(&prefix)
            .and_then(|rest| rest.split_once('/'))
            .and_then(|(k, of)| Some((k.parse::<usize>().ok()?, of.parse::<usize>().ok()?)))
            .unwrap_or((0, 0));
        let bounds = keys * (usize::from(k > 1) + usize::from(k < of));
        if k == 0 || k > of || started.len() != own_params + bounds {
            return Err(ChangeError::Database(format!(
                "the unfinished run {stream_scope} was started by another data map or version of \
                 derbes: finish it with that one, or close it (UPDATE derbes.jobs SET finished_at = now() \
                 WHERE operation = '{operation}' AND starts_with(scope, '{prefix}')) to start afresh"
            )));
        }
        let rest = &started[own_params..];
        let (from, to) = match (k > 1, k < of) {
            (true, true) => (Some(rest[..keys].to_vec()), Some(rest[keys..].to_vec())),
            (true, false) => (Some(rest.to_vec()), None),
            (false, true) => (None, Some(rest.to_vec())),
            (false, false) => (None, None),
        };
        streams.push(Stream {
            scope: stream_scope,
            params: started[..own_params].to_vec(),
            from,
            to,
        });
    }
    Ok(streams)
}

/// The statements that find a job's next batch, built once per run.
struct Statements {
    /// `SELECT` list of the key columns as text, on `t0`.
    text_columns: Vec<String>,
    /// The key columns on `t0`, for ordering and comparing.
    tuple: Vec<String>,
    /// The checkpoint's key as bound parameters after the job's own.
    after: Vec<String>,
    table: String,
    condition: String,
    key_columns: Vec<String>,
    /// One integer key column: its largest value in a batch is `max()`, which needs
    /// no sort.
    integer_key: bool,
    lock_rows: bool,
    /// ` AND <the job's span_below>`, or nothing.
    span_below: String,
}

impl Statements {
    fn new(job: &BatchJob, key_columns: &[String], key_types: &[String], lock_rows: bool) -> Self {
        let n = job.params.len();
        Statements {
            text_columns: key_columns
                .iter()
                .map(|c| format!("t0.{}::text", quote_ident(c)))
                .collect(),
            tuple: key_columns
                .iter()
                .map(|c| format!("t0.{}", quote_ident(c)))
                .collect(),
            after: key_types
                .iter()
                .enumerate()
                .map(|(i, ty)| format!("${}::text::{ty}", n + 1 + i))
                .collect(),
            table: job.table.quoted(),
            condition: job.condition.clone(),
            key_columns: key_columns.iter().map(|c| quote_ident(c)).collect(),
            integer_key: matches!(key_types, [ty] if ["smallint", "integer", "bigint"].contains(&ty.as_str())),
            lock_rows,
            span_below: job
                .span_below
                .as_ref()
                .map(|below| format!(" AND {below}"))
                .unwrap_or_default(),
        }
    }

    fn resume(&self, resume: bool) -> String {
        if resume {
            format!(
                " AND ({}) > ({})",
                self.tuple.join(", "),
                self.after.join(", ")
            )
        } else {
            String::new()
        }
    }

    /// The next `limit` due keys in key order (locked, if asked).
    fn keys(&self, resume: bool, limit: i64) -> String {
        format!(
            "SELECT {} FROM {} t0 WHERE ({}){} ORDER BY {} LIMIT {}{}",
            self.text_columns.join(", "),
            self.table,
            self.condition,
            self.resume(resume),
            self.tuple.join(", "),
            limit.max(1),
            if self.lock_rows { " FOR UPDATE" } else { "" }
        )
    }

    /// The first due key after the checkpoint, the key `limit - 1` index entries
    /// further on (or the table's last) and how many keys lie between them: one
    /// statement, the second part read from the key index alone. The limit is the
    /// bigint parameter `$limit`, after the job's and the checkpoint's.
    fn bounds(&self, resume: bool, limit: usize) -> String {
        let on = |alias: &str| -> Vec<String> {
            self.key_columns
                .iter()
                .map(|c| format!("{alias}.{c}"))
                .collect()
        };
        let (f, s, t1) = (on("f"), on("s"), on("t1"));
        let descending: Vec<String> = s.iter().map(|c| format!("{c} DESC")).collect();
        if self.integer_key {
            let (key, first) = (&self.key_columns[0], &f[0]);
            return format!(
                "SELECT {first}::text, l.last::text, l.derbes_span FROM \
                   (SELECT {tuple} FROM {table} t0 WHERE ({condition}){resume} ORDER BY {tuple} LIMIT 1) f \
                 CROSS JOIN LATERAL \
                   (SELECT max(s.{key}) AS last, count(*) AS derbes_span FROM \
                      (SELECT t1.{key} FROM {table} t1 WHERE t1.{key} >= {first}{below} ORDER BY t1.{key} LIMIT ${limit}::bigint) s) l",
                tuple = self.tuple.join(", "),
                table = self.table,
                condition = self.condition,
                resume = self.resume(resume),
                below = self.span_below,
            );
        }
        format!(
            "SELECT {first}, {last}, l.derbes_span FROM \
               (SELECT {tuple} FROM {table} t0 WHERE ({condition}){resume} ORDER BY {tuple} LIMIT 1) f \
             CROSS JOIN LATERAL \
               (SELECT {s_cols}, count(*) OVER () AS derbes_span FROM \
                  (SELECT {t1_cols} FROM {table} t1 WHERE ({t1_row}) >= ({f_row}){below} ORDER BY {t1_row} LIMIT ${limit}::bigint) s \
                ORDER BY {descending} LIMIT 1) l",
            first = f.iter().map(|c| format!("{c}::text")).collect::<Vec<_>>().join(", "),
            last = on("l").iter().map(|c| format!("{c}::text")).collect::<Vec<_>>().join(", "),
            tuple = self.tuple.join(", "),
            table = self.table,
            condition = self.condition,
            resume = self.resume(resume),
            s_cols = s.join(", "),
            t1_cols = t1.join(", "),
            t1_row = t1.join(", "),
            f_row = f.join(", "),
            descending = descending.join(", "),
            below = self.span_below,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn placeholders_move_outside_quotes_only() {
        assert_eq!(
            shift_placeholders("t0.a < $1::text::int AND t0.\"$2\" = '$1' OR $12 > $2", 3),
            "t0.a < $4::text::int AND t0.\"$2\" = '$1' OR $15 > $5"
        );
        assert_eq!(
            shift_placeholders("'it''s $1' || $1", 1),
            "'it''s $1' || $2"
        );
    }

    #[test]
    fn an_automatic_batch_grows_towards_its_target_and_shrinks_when_slow() {
        let mut sizer = Sizer::new(BatchSize::Auto(Duration::from_millis(100)));
        assert_eq!(sizer.next(), 1_000);
        sizer.took(1_000, Duration::from_millis(10));
        assert_eq!(sizer.next(), 1_500, "at most half as large again at a step");
        sizer.took(1_500, Duration::from_millis(80));
        assert_eq!(sizer.next(), 1_875);
        sizer.took(1_875, Duration::from_millis(500));
        assert_eq!(sizer.next(), 937, "at most halving at a step");
        sizer.took(10, Duration::from_millis(1));
        assert_eq!(
            sizer.next(),
            937,
            "a short batch (the table's end) says nothing"
        );
        let mut fixed = Sizer::new(BatchSize::Fixed(7));
        fixed.took(7, Duration::from_secs(5));
        assert_eq!(fixed.next(), 7);
    }
}
