//! Cohort work in primary-key batches: one short transaction per batch with its
//! checkpoint in `derbes.jobs`, so a stopped run resumes after its last committed
//! batch; batch sizes fixed or sized to a target time; the statements that find
//! each batch's keys or bounds.

use std::collections::BTreeMap;

use serde::Serialize;
use tokio_postgres::{Client, Transaction};

use super::retry::{self, retry_safe, RETRIES};
use super::{begin_with, Change, ChangeError, Commit, Limits, Plans, RunLock};
use crate::map::{quote_ident, TableName};
use crate::pg::audit::AuditEntry;
use crate::pg::catalog::Catalog;
use crate::pg::db::StatementCache;

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

/// A table's primary key, the order batches and streams work in: its columns and
/// their types, as the catalogue has them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrimaryKey {
    pub columns: Vec<String>,
    pub types: Vec<String>,
}

impl PrimaryKey {
    /// The primary key of `table`, which must exist and have one.
    pub fn of(catalog: &Catalog, table: &TableName) -> Result<PrimaryKey, ChangeError> {
        let found = catalog
            .tables
            .get(table)
            .ok_or_else(|| ChangeError::Database(format!("table {table} does not exist")))?;
        if found.primary_key.is_empty() {
            return Err(ChangeError::Database(format!(
                "table {table} has no primary key to work through in batches: add one"
            )));
        }
        Ok(PrimaryKey {
            columns: found.primary_key.clone(),
            types: found
                .primary_key
                .iter()
                .map(|c| found.column_type(c).unwrap_or("text").to_owned())
                .collect(),
        })
    }
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
    let key = PrimaryKey::of(catalog, &job.table)?;
    let lock = RunLock::acquire(client, &job.operation, &job.scope).await?;
    let result = run_locked(client, limits, job, &key.columns, &key.types, step, options).await;
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
    let (job_id, mut last_key, mut report) = open_job(client, job).await?;
    let mode = step.mode();
    let statements = Statements::new(job, key_columns, key_types, options.lock_rows);
    let mut sizer = Sizer::new(job.batch_size);
    // Every statement of the loop is parsed once per run (the bounds statement in
    // its two forms, with and without a checkpoint).
    let mut cache = StatementCache::default();
    let commit = match options.audit_each_batch {
        true => Commit::Synchronous,
        false => Commit::Asynchronous,
    };
    let plans = match mode {
        BatchMode::Keys => Plans::Custom,
        BatchMode::Range => Plans::Generic,
    };
    loop {
        // At the deadline, or asked to stop (SIGTERM, `crate::stop`): between
        // batches, so the checkpoint is whole and the next run resumes from it.
        if options
            .deadline
            .is_some_and(|d| std::time::Instant::now() >= d)
            || crate::stop::requested()
        {
            timing.stopped = true;
            break;
        }
        let wanted = sizer.next();
        let mut started;
        let mut retries = 0;
        // Up to the step's work, a batch whose transaction the server rolled back
        // for a transient reason runs again from the same checkpoint. Once the step
        // has applied, a failure is final: the step has counted its work (an
        // archive step has written its file), and a commit's fate may be unknown.
        let attempt = loop {
            started = std::time::Instant::now();
            let attempt = async {
                let change = begin_with(client, limits, job.dry_run, commit, plans).await?;
                let found = statements
                    .next_batch(&change, &mut cache, mode, job, last_key.as_deref(), wanted)
                    .await?;
                let Some(found) = found else {
                    return Ok(None);
                };
                let batch = Batch {
                    first: &found.first,
                    last: &found.last,
                    keys: &found.keys,
                };
                let counts = step.apply(change.tx(), &batch).await?;
                Ok::<_, ChangeError>(Some((change, found, counts)))
            }
            .await;
            match attempt {
                Err(error) if retries < RETRIES && retry_safe(&error) => {
                    retries += 1;
                    let what = format!(
                        "{} {}: batch {}",
                        job.operation,
                        job.scope,
                        report.batches + 1
                    );
                    retry::wait_before(retries, &what, &error).await;
                }
                attempt => break attempt?,
            }
        };
        let Some((change, found, counts)) = attempt else {
            break;
        };
        let rows = match mode {
            BatchMode::Keys => found.keys.len() as i64,
            BatchMode::Range => counts.values().sum(),
        };
        report.batches += 1;
        report.rows += rows;
        for (name, n) in &counts {
            *report.counts.entry(name.clone()).or_default() += n;
        }
        if let Some(id) = job_id {
            checkpoint(&change, &mut cache, id, &found.last, &report).await?;
        }
        crate::fault::point("batch.applied");
        let committed = if options.audit_each_batch {
            let entry = batch_entry(job, job_id, &report, counts, rows);
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
        last_key = Some(found.last);
        // A keys batch short of what it asked for reached the last due row; a
        // range batch cannot tell (rows past it may be due), so the next asks.
        if mode == BatchMode::Keys && found.span < wanted {
            break;
        }
        sizer.took(found.span, elapsed);
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

/// The job's record: an unfinished run's checkpoint (its id, the last key done and
/// the report so far), or a new record (none for a dry run, which records nothing).
async fn open_job(
    client: &Client,
    job: &BatchJob,
) -> Result<(Option<i64>, Option<Vec<String>>, BatchReport), ChangeError> {
    let mut report = BatchReport {
        operation: job.operation.clone(),
        scope: job.scope.clone(),
        dry_run: job.dry_run,
        resumed: false,
        batches: 0,
        rows: 0,
        counts: Counts::new(),
    };
    // An unfinished run of the same job leaves its checkpoint: continue after it.
    let checkpoint = client
        .query_opt(
            "SELECT id, last_key, batches, rows, counts FROM derbes.jobs \
             WHERE operation = $1 AND scope = $2 AND finished_at IS NULL",
            &[&job.operation, &job.scope],
        )
        .await?;
    if let Some(row) = checkpoint {
        let last_key: Option<Vec<String>> = row.get(1);
        // A job opened ahead of its run (`open_streams`) and killed before its
        // first batch starts afresh.
        report.resumed = last_key.is_some();
        report.batches = row.get(2);
        report.rows = row.get(3);
        report.counts = serde_json::from_value(row.get(4)).unwrap_or_default();
        return Ok((Some(row.get(0)), last_key, report));
    }
    if job.dry_run {
        return Ok((None, None, report));
    }
    let id: i64 = client
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
        .get(0);
    Ok((Some(id), None, report))
}

/// Advance job `id`'s checkpoint to `last`, with the run's counts so far, in the
/// batch's transaction.
async fn checkpoint(
    change: &Change<'_>,
    cache: &mut StatementCache,
    id: i64,
    last: &[String],
    report: &BatchReport,
) -> Result<(), ChangeError> {
    let statement = cache
        .prepare(
            change.tx(),
            "UPDATE derbes.jobs SET last_key = $2, batches = $3, rows = $4, \
             counts = $5, updated_at = now() WHERE id = $1",
        )
        .await?;
    change
        .tx()
        .execute(
            &statement,
            &[
                &id,
                &last,
                &report.batches,
                &report.rows,
                &serde_json::to_value(&report.counts).expect("counts serialise"),
            ],
        )
        .await?;
    Ok(())
}

/// The audit row of one batch, for a run audited batch by batch.
fn batch_entry(
    job: &BatchJob,
    job_id: Option<i64>,
    report: &BatchReport,
    counts: Counts,
    rows: i64,
) -> AuditEntry {
    AuditEntry {
        action: job.operation.clone(),
        ticket: Some(job.ticket.clone()),
        subject_ref: None,
        fields: counts.keys().cloned().collect(),
        counts,
        detail: serde_json::json!({
            "scope": job.scope,
            "table": job.table.to_string(),
            "batch": report.batches,
            "rows": rows,
            "job": job_id,
        }),
    }
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
pub(super) async fn unfinished_params(
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

/// A batch found: its first and last key, how many keys lie between them, and
/// (for [`BatchMode::Keys`]) every key.
struct Found {
    first: Vec<String>,
    last: Vec<String>,
    span: i64,
    keys: Vec<Vec<String>>,
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

    /// The next batch after the checkpoint `after`, of at most `wanted` keys, read
    /// in the batch's transaction; None when no due row is left.
    async fn next_batch(
        &self,
        change: &Change<'_>,
        cache: &mut StatementCache,
        mode: BatchMode,
        job: &BatchJob,
        after: Option<&[String]>,
        wanted: i64,
    ) -> Result<Option<Found>, ChangeError> {
        let mut params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = job
            .params
            .iter()
            .map(|p| p as &(dyn tokio_postgres::types::ToSql + Sync))
            .collect();
        if let Some(last) = after {
            params.extend(
                last.iter()
                    .map(|p| p as &(dyn tokio_postgres::types::ToSql + Sync)),
            );
        }
        let resume = after.is_some();
        let n = self.key_columns.len();
        match mode {
            BatchMode::Keys => {
                let rows = change
                    .tx()
                    .query(&self.keys(resume, wanted), &params)
                    .await?;
                let keys: Vec<Vec<String>> = rows
                    .iter()
                    .map(|row| (0..n).map(|i| row.get(i)).collect())
                    .collect();
                let (Some(first), Some(last)) = (keys.first().cloned(), keys.last().cloned())
                else {
                    return Ok(None);
                };
                Ok(Some(Found {
                    first,
                    last,
                    span: keys.len() as i64,
                    keys,
                }))
            }
            BatchMode::Range => {
                let statement = cache
                    .prepare(change.tx(), &self.bounds(resume, params.len() + 1))
                    .await?;
                let limit = wanted.max(1);
                params.push(&limit);
                let Some(row) = change.tx().query_opt(&statement, &params).await? else {
                    return Ok(None);
                };
                Ok(Some(Found {
                    first: (0..n).map(|i| row.get(i)).collect(),
                    last: (n..2 * n).map(|i| row.get(i)).collect(),
                    span: row.get(2 * n),
                    keys: Vec::new(),
                }))
            }
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
