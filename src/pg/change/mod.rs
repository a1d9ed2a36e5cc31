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
//!
//! A job may run in several streams at once ([`run_streams`]): its rows cut into
//! key ranges, each its own checkpointed job on its own connection, an unfinished
//! run resumed as it was cut.
//!
//! A batch whose transaction the server rolled back for a transient reason (a
//! serialization failure, a deadlock, a lock wait past `lock_timeout`) is run
//! again from the same checkpoint, at most [`RETRIES`] times with growing waits
//! ([`retry_safe`] decides, for the archive restore's member loads too).
//!
//! Here: one change. Beside it: the run lock (`lock`), batched jobs (`batches`),
//! the retry rule (`retry`) and the stream runner (`streams`).

use std::collections::HashSet;

use tokio_postgres::{Client, Transaction};

use crate::map::link::{KeyMatch, LinkPath};
use crate::map::quote_ident;
use crate::pg::audit::{self, AuditEntry, AuditRecord};

mod batches;
mod lock;
mod retry;
mod streams;

pub use batches::{
    finish_job, run_batches, run_batches_with, shift_placeholders, Batch, BatchJob, BatchMode,
    BatchReport, BatchSize, BatchStep, Counts, PrimaryKey, RunOptions, RunTiming,
};
pub use lock::RunLock;
pub use retry::{retry_safe, wait_before, RETRIES};
pub use streams::{
    run_streams, Stream, StreamCondition, StreamOptions, StreamWork, StreamsReport, StreamsRun,
};

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
        ChangeError::from(&error)
    }
}

impl From<&tokio_postgres::Error> for ChangeError {
    fn from(error: &tokio_postgres::Error) -> ChangeError {
        match error.code().map(|c| c.code()) {
            Some("25006") => ChangeError::ReadOnly,
            Some("55P03") => ChangeError::LockTimeout,
            Some("57014") => ChangeError::StatementTimeout,
            Some("40001") | Some("40P01") => ChangeError::Conflict,
            _ => ChangeError::Database(crate::pg::db::describe(error)),
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
