//! Retention purging (`derbes purge`, issue 14): the rows each `[retention.*]` rule
//! says are past their period, deleted (or archived, then deleted) in primary-key
//! batches through the change engine (`change::run_batches_with`), whole expired
//! partitions detached and dropped, rows under a legal hold kept and counted.
//!
//! Which rows are due, and which hold keeps a row, is the one retention decision
//! (`ops::retention`: age by the row's time or the subject's event, holds of open
//! loans, blocks and open requests in session tables, rows still pointed at),
//! used by the dry run's counts and by the real run's batches alike, and by
//! `erase`, `anonymise` and `archive dump --rule`; tables of one rule go children
//! first.
//!
//! A batch is one short transaction (`lock_timeout`, `statement_timeout`): select
//! the next keys in key order `FOR UPDATE`, delete exactly those keys, advance the
//! checkpoint in `derbes.jobs`; a killed run resumes after the last committed batch.
//! An archive-then-delete batch writes its rows to an age archive with
//! `archive::write_verified` (read back and checked) and deletes exactly the keys
//! the archive captured, in the same transaction, before it commits. One audit row
//! per rule per run records the counts (each batch's counts are in its checkpoint
//! row, committed with it; an archive's own audit row is written with it).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio_postgres::{Client, Transaction};

use crate::error::DerbesError;
use crate::files::crypto::Recipients;
use crate::map::{quote_ident, DataMap, RetentionAction, TableName};
use crate::ops::anonymise::CohortMark;
use crate::ops::archive::{self, ArchiveReceipt, ArchiveRequest, Selection};
pub use crate::ops::retention::HeldBack;
use crate::ops::retention::{
    count_table, plan, prepare, Conditions, Population, RulePlan, TablePlan,
};
use crate::pg::audit::AuditEntry;
use crate::pg::catalog::Catalog;
use crate::pg::change::{
    self, Batch, BatchJob, BatchMode, BatchSize, BatchStep, ChangeError, Counts, Limits,
    PrimaryKey, RunLock, RunOptions, StreamOptions, StreamWork,
};
use crate::pg::db::StatementCache;

/// The run lock's operation and scope: one purge at a time per database.
pub const LOCK_OPERATION: &str = "purge";
pub const LOCK_SCOPE: &str = "database";

/// What to purge and how.
pub struct PurgeRequest {
    /// Rules to run; empty runs every rule that some table names.
    pub rules: Vec<String>,
    /// "Now" for the cut-offs (`--as-of`).
    pub as_of: DateTime<Utc>,
    pub dry_run: bool,
    pub batch_size: BatchSize,
    pub pause: Duration,
    /// Stop cleanly between batches after this instant.
    pub deadline: Option<Instant>,
    pub limits: Limits,
    pub ticket: String,
    pub operator: String,
    /// Where archive-then-delete rules write their archives, and for whom.
    pub archive: Option<ArchiveTarget>,
    /// The masking key of `hmac` columns, for rules whose action is `anonymise`.
    pub mask_key: Option<crate::ops::masking::MaskKey>,
    /// Streams that delete a rule's due rows at once, each its own key range on a
    /// connection `connect` opens (with the rule's holds computed in it); 1 = one.
    pub delete_streams: usize,
    pub connect: Option<crate::ops::archive::parallel::Connect>,
}

/// Archive files of archive-then-delete rules: one per batch (or expired
/// partition), in `dir`, encrypted to `recipients` (age or SSH public keys).
pub struct ArchiveTarget {
    pub dir: PathBuf,
    pub recipients: Vec<String>,
    /// Connections that archive an expired partition at once (`--jobs`); None for
    /// one stream.
    pub jobs: Option<crate::ops::archive::parallel::Jobs>,
}

/// One table of a rule, as planned or done.
#[derive(Debug, Clone, Serialize)]
pub struct TableOutcome {
    pub table: String,
    /// Rows due now (dry run), or due when the table's run started.
    pub due: i64,
    /// The oldest due row's time (by the table's time_column), when it has one.
    pub oldest: Option<DateTime<Utc>>,
    pub held_back: Vec<HeldBack>,
    pub deleted: i64,
    pub archived: i64,
    pub anonymised: i64,
    /// Whole partitions detached and dropped.
    pub partitions_dropped: Vec<String>,
    /// `deleted` counts the rows of dropped partitions from the server's
    /// statistics (`pg_class.reltuples`) rather than row by row: a drop reads none.
    pub rows_estimated: bool,
    pub batches: i64,
    pub longest_batch_ms: u64,
    /// The table's run continued a checkpoint of a stopped run.
    pub resumed: bool,
    /// Rows the batches of a stopped run of the same job deleted (committed, and
    /// on the record in this run's audit row).
    pub deleted_before: i64,
    /// Each batch was audited in its own transaction (a table without a primary
    /// key): the run's audit row does not count its rows again.
    pub audited_per_batch: bool,
    /// Rows of the dropped partitions, audited with their drop (in `deleted` too).
    pub partition_rows: i64,
}

/// One rule's outcome.
#[derive(Debug, Clone, Serialize)]
pub struct RuleOutcome {
    pub rule: String,
    pub action: RetentionAction,
    pub keep: String,
    pub legal_basis: String,
    pub cutoff: DateTime<Utc>,
    /// `done`, `dry-run`, `stopped` (max duration reached; the next run resumes),
    /// `planned` (anonymise is not built yet: nothing done) or `failed`.
    pub status: String,
    pub error: Option<String>,
    pub tables: Vec<TableOutcome>,
    /// Holds that could not be applied, and why (e.g. no derbes.requests table).
    pub notes: Vec<String>,
    /// Catalogue ids of the archives written.
    pub archives: Vec<i64>,
    pub duration_ms: u64,
    pub deleted: i64,
    pub archived: i64,
    pub anonymised: i64,
    pub held_back: i64,
}

/// The whole run.
#[derive(Debug, Clone, Serialize)]
pub struct PurgeReport {
    pub dry_run: bool,
    pub as_of: DateTime<Utc>,
    pub rules: Vec<RuleOutcome>,
}

impl PurgeReport {
    pub fn failed(&self) -> Vec<&str> {
        self.rules
            .iter()
            .filter(|r| r.status == "failed")
            .map(|r| r.rule.as_str())
            .collect()
    }
}

fn usage(message: String) -> anyhow::Error {
    DerbesError::Usage(message).into()
}

/// A rule whose action is `anonymise`: the rows due (old enough, no legal hold:
/// the same conditions a delete uses, except that rows other tables point at may be
/// masked) are depersonalised in place with each column's masking strategy, in
/// checkpointed primary-key batches (`anonymise`'s cohort engine, under its own run
/// lock per rule). The dry run counts.
async fn anonymise_rule(
    client: &mut Client,
    map: &DataMap,
    catalog: &Catalog,
    request: &PurgeRequest,
    rule: &RulePlan,
    outcome: &mut RuleOutcome,
    progress: &(dyn Fn(&str, &str, i64, i64) + Sync),
) -> anyhow::Result<()> {
    let mut conditions = BTreeMap::new();
    for table in &rule.tables {
        let found = Conditions::of(rule, table);
        let (_, _, held_back) = count_table(client, rule, table, &found, true, false).await?;
        // Due: what this run will mask, so not what an earlier run masked.
        let cohort = found.cohort(rule);
        let key_columns = catalog
            .tables
            .get(&table.name)
            .map(|t| t.primary_key.clone())
            .unwrap_or_default();
        let scope = format!("{}/{}", rule.name, table.mapped);
        let mark = CohortMark::read(client, &scope).await?;
        let (selection, params) = cohort.selection(&key_columns, &scope, &mark);
        let oldest = match &table.time_column {
            Some(c) => format!("min(t0.{})::timestamptz", quote_ident(c)),
            None => "NULL::timestamptz".to_owned(),
        };
        let refs: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = params
            .iter()
            .map(|p| p as &(dyn tokio_postgres::types::ToSql + Sync))
            .collect();
        let row = client
            .query_one(
                &format!(
                    "SELECT count(*), {oldest} FROM {} t0 WHERE {selection}",
                    table.name.quoted()
                ),
                &refs,
            )
            .await?;
        let (due, oldest): (i64, Option<DateTime<Utc>>) = (row.get(0), row.get(1));
        outcome.tables.push(TableOutcome {
            table: table.name.to_string(),
            due,
            oldest,
            held_back,
            deleted: 0,
            archived: 0,
            anonymised: 0,
            partitions_dropped: Vec::new(),
            rows_estimated: false,
            batches: 0,
            longest_batch_ms: 0,
            resumed: false,
            deleted_before: 0,
            audited_per_batch: false,
            partition_rows: 0,
        });
        conditions.insert(table.mapped.clone(), cohort);
    }
    if request.dry_run {
        return Ok(());
    }
    let label = rule.name.clone();
    let done = std::sync::atomic::AtomicI64::new(0);
    let total: i64 = outcome.tables.iter().map(|t| t.due).sum();
    let report = crate::ops::anonymise::cohort(
        client,
        map,
        catalog,
        crate::ops::anonymise::CohortRun {
            rule: rule.name.clone(),
            ticket: request.ticket.clone(),
            operator: request.operator.clone(),
            dry_run: false,
            batch_size: request.batch_size,
            limits: request.limits.clone(),
            mask_key: request.mask_key.as_ref(),
            progress: &|rows| {
                let now =
                    done.fetch_add(rows as i64, std::sync::atomic::Ordering::Relaxed) + rows as i64;
                progress(&label, "rows", now, total);
            },
            conditions: Some(conditions),
            // One stream: the rule's holds are tables of this session.
            jobs: 1,
            connect: None,
        },
    )
    .await?;
    for result in &report.tables {
        let name = map.table_name(&result.table).to_string();
        if let Some(table) = outcome.tables.iter_mut().find(|t| t.table == name) {
            table.anonymised = result.masked as i64;
            table.deleted = result.deleted as i64;
            table.batches = result.batches;
            table.resumed = result.resumed;
        }
    }
    Ok(())
}

/// Run the purge: one rule after another under the run lock. A rule that fails is
/// reported (`status = failed`) and the others still run.
pub async fn purge(
    client: &mut Client,
    map: &DataMap,
    catalog: &Catalog,
    request: &PurgeRequest,
    progress: &(dyn Fn(&str, &str, i64, i64) + Sync),
) -> anyhow::Result<PurgeReport> {
    // A cut-off counted from a time to come would destroy rows before their
    // period ends; a dry run may preview one.
    if !request.dry_run && request.as_of > Utc::now() {
        return Err(usage(format!(
            "--as-of {} is in the future: a real purge ages rows from now or an earlier time              only, or it would delete rows before their retention period ends. Preview it with              --dry-run, or leave --as-of out",
            request.as_of.format("%Y-%m-%d %H:%M UTC")
        )));
    }
    let plans = plan(map, catalog, &request.rules, request.as_of)?;
    // A dry run refuses what the real run would refuse (the confirmation aside):
    // an archive-then-delete rule without an archive target, a masking plan
    // without its key or that does not fit.
    for rule in plans
        .iter()
        .filter(|p| p.rule.action == RetentionAction::Anonymise)
    {
        let tables: Vec<String> = rule.tables.iter().map(|t| t.mapped.clone()).collect();
        crate::ops::anonymise::plan(client, map, catalog, &tables, request.mask_key.as_ref())
            .await?;
    }
    if request.archive.is_none()
        && plans
            .iter()
            .any(|p| p.rule.action == RetentionAction::ArchiveThenDelete && !p.tables.is_empty())
    {
        let names: Vec<&str> = plans
            .iter()
            .filter(|p| p.rule.action == RetentionAction::ArchiveThenDelete)
            .map(|p| p.name.as_str())
            .collect();
        return Err(usage(format!(
            "rule(s) {} archive before deleting: give --archive-dir DIR and -r KEY (who can open the archives), or choose other rules with --rule",
            names.join(", ")
        )));
    }
    // A dry run only reads: it may count while the nightly run works.
    let lock = match request.dry_run {
        true => None,
        false => Some(RunLock::acquire(client, LOCK_OPERATION, LOCK_SCOPE).await?),
    };
    let mut report = PurgeReport {
        dry_run: request.dry_run,
        as_of: request.as_of,
        rules: Vec::new(),
    };
    for rule in &plans {
        let started = Instant::now();
        let mut outcome = RuleOutcome {
            rule: rule.name.clone(),
            action: rule.rule.action,
            keep: rule.rule.keep.clone(),
            legal_basis: rule.rule.legal_basis.clone(),
            cutoff: rule.cutoff,
            status: if request.dry_run { "dry-run" } else { "done" }.to_owned(),
            error: None,
            tables: Vec::new(),
            notes: Vec::new(),
            archives: Vec::new(),
            duration_ms: 0,
            deleted: 0,
            archived: 0,
            anonymised: 0,
            held_back: 0,
        };
        let result = run_rule(client, map, catalog, request, rule, &mut outcome, progress).await;
        if let Err(e) = result {
            if matches!(
                e.downcast_ref::<ChangeError>(),
                Some(ChangeError::RunLockHeld { .. })
            ) {
                if let Some(lock) = lock {
                    lock.release(client).await?;
                }
                return Err(e);
            }
            outcome.status = "failed".to_owned();
            outcome.error = Some(format!("{e:#}"));
        }
        outcome.duration_ms = started.elapsed().as_millis() as u64;
        for table in &outcome.tables {
            outcome.deleted += table.deleted;
            outcome.archived += table.archived;
            outcome.anonymised += table.anonymised;
            outcome.held_back += table.held_back.iter().map(|h| h.rows).sum::<i64>();
        }
        if !request.dry_run && outcome.status != "planned" {
            if let Err(e) = audit_rule(client, request, &outcome).await {
                outcome.status = "failed".to_owned();
                outcome.error = Some(format!("writing the audit row failed: {e:#}"));
            }
        }
        report.rules.push(outcome);
    }
    crate::ops::retention::release(client, &plans).await;
    if let Some(lock) = lock {
        // A session lock goes with its session: a connection lost meanwhile has
        // released it, and the report must still name the rules that failed.
        let _ = lock.release(client).await;
    }
    Ok(report)
}

async fn run_rule(
    client: &mut Client,
    map: &DataMap,
    catalog: &Catalog,
    request: &PurgeRequest,
    rule: &RulePlan,
    outcome: &mut RuleOutcome,
    progress: &(dyn Fn(&str, &str, i64, i64) + Sync),
) -> anyhow::Result<()> {
    outcome
        .notes
        .extend(prepare(client, map, catalog, rule, Population::Everyone).await?);
    if rule.rule.action == RetentionAction::Anonymise {
        return anonymise_rule(client, map, catalog, request, rule, outcome, progress).await;
    }
    let any_held: bool = client
        .query_one(
            &format!(
                "SELECT EXISTS (SELECT 1 FROM pg_temp.{})",
                rule.held_table()
            ),
            &[],
        )
        .await?
        .get(0);
    for table in &rule.tables {
        let conditions = Conditions::of(rule, table);
        // A real run counts what it does; counting what is due first would scan
        // every expired row once more (a whole partition's before its drop).
        let (due, oldest, held_back) = count_table(
            client,
            rule,
            table,
            &conditions,
            any_held,
            request.dry_run || rule.rule.action == RetentionAction::Anonymise,
        )
        .await?;
        let mut done = TableOutcome {
            table: table.name.to_string(),
            due,
            oldest,
            held_back,
            deleted: 0,
            archived: 0,
            anonymised: 0,
            partitions_dropped: Vec::new(),
            rows_estimated: false,
            batches: 0,
            longest_batch_ms: 0,
            resumed: false,
            deleted_before: 0,
            audited_per_batch: false,
            partition_rows: 0,
        };
        if request.dry_run || rule.rule.action == RetentionAction::Anonymise {
            outcome.tables.push(done);
            continue;
        }
        let archive = (rule.rule.action == RetentionAction::ArchiveThenDelete)
            .then_some(request.archive.as_ref())
            .flatten();
        // Whole expired partitions first: a drop instead of a delete of their rows.
        // With nothing that can hold a row back, a partition past the cut-off
        // goes unread.
        let unconditional = !any_held && conditions.referenced.is_none() && conditions.own_age_only;
        let result = partitions::purge_expired(
            client,
            map,
            request,
            rule,
            table,
            &conditions,
            archive,
            unconditional,
            &mut done,
        )
        .await;
        match result {
            Ok(ids) => outcome.archives.extend(ids),
            Err(e) => {
                outcome.tables.push(done);
                return Err(e);
            }
        }
        let result = purge_batches(
            client,
            map,
            catalog,
            request,
            rule,
            table,
            &conditions,
            archive,
            &mut done,
            outcome,
            progress,
        )
        .await;
        if done.due == 0 {
            done.due = done.deleted;
        }
        outcome.tables.push(done);
        result?;
        if outcome.status == "stopped" {
            break;
        }
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn purge_batches(
    client: &mut Client,
    map: &DataMap,
    catalog: &Catalog,
    request: &PurgeRequest,
    rule: &RulePlan,
    table: &TablePlan,
    conditions: &Conditions,
    archive: Option<&ArchiveTarget>,
    done: &mut TableOutcome,
    outcome: &mut RuleOutcome,
    progress: &(dyn Fn(&str, &str, i64, i64) + Sync),
) -> anyhow::Result<()> {
    let catalog_table = catalog.tables.get(&table.name).ok_or_else(|| {
        usage(format!(
            "table {} is not in the database: run `derbes map check`",
            table.name
        ))
    })?;
    let key_columns = catalog_table.primary_key.clone();
    if key_columns.is_empty() {
        return delete_keyless(
            client, map, catalog, request, rule, table, conditions, archive, done, outcome,
        )
        .await;
    }
    let key_types: Vec<String> = key_columns
        .iter()
        .map(|c| catalog_table.column_type(c).unwrap_or("text").to_owned())
        .collect();
    let job = BatchJob {
        operation: LOCK_OPERATION.to_owned(),
        scope: format!("{}:{}", rule.name, table.name),
        table: table.name.clone(),
        condition: conditions.due(),
        params: vec![rule.cutoff.to_rfc3339()],
        batch_size: request.batch_size,
        ticket: request.ticket.clone(),
        operator: request.operator.clone(),
        dry_run: false,
        span_below: None,
    };
    let due = if done.due > 0 {
        done.due
    } else {
        estimate(client, table, conditions, &rule.cutoff.to_rfc3339()).await
    };
    let label = format!("{} {}", rule.name, table.name);
    let report_progress = |so_far: &change::BatchReport| {
        progress(&label, "rows", so_far.rows, due);
    };
    let mut options = RunOptions {
        pause: request.pause,
        deadline: request.deadline,
        audit_each_batch: false,
        progress: Some(&report_progress),
        lock_rows: true,
        ..RunOptions::default()
    };
    let Some(target) = archive else {
        options.lock_rows = false;
        return delete_in_streams(
            client, map, catalog, request, rule, &job, options, due, &label, done, outcome,
            progress,
        )
        .await;
    };
    remove_strays(client, &target.dir).await?;
    client
            .batch_execute(&format!(
                "DROP TABLE IF EXISTS pg_temp.{keys}; \
                 CREATE TEMPORARY TABLE {keys} ON COMMIT DELETE ROWS AS SELECT {} FROM {} WITH NO DATA",
                key_columns
                    .iter()
                    .map(|c| quote_ident(c))
                    .collect::<Vec<_>>()
                    .join(", "),
                table.name.quoted(),
                keys = BATCH_KEYS,
            ))
            .await?;
    let mut step = ArchiveStep {
        map,
        catalog,
        rule: rule.name.clone(),
        mapped: table.mapped.clone(),
        table: table.name.clone(),
        key_columns,
        key_types,
        target,
        operator: request.operator.clone(),
        ticket: request.ticket.clone(),
        pending: None,
        written: Vec::new(),
        archived: 0,
        deleted: 0,
        batch: 0,
    };
    let result =
        change::run_batches_with(client, catalog, &request.limits, &job, &mut step, &options).await;
    outcome.archives.extend(step.written.iter().copied());
    done.archived += step.archived;
    done.deleted += step.deleted;
    let (report, timing) = result?;
    let this_run = step.deleted;
    // A resumed job's report counts the batches a stopped run committed too: the
    // run's audit row carries them, so every deleted row is on the record.
    done.deleted_before += (report.rows - this_run).max(0);
    done.resumed = report.resumed;
    done.batches += timing.batches_this_run;
    done.longest_batch_ms = done.longest_batch_ms.max(timing.longest_batch_ms);
    if timing.stopped {
        outcome.status = "stopped".to_owned();
    }
    Ok(())
}

/// Archive, then delete, a table's due rows when the table has no primary key: in
/// one transaction, the rows go to a verified archive that captures their
/// addresses, exactly those are deleted, and the audit row is written (a row
/// changed by another session meanwhile is archived but kept: its address moved).
#[allow(clippy::too_many_arguments)]
async fn archive_keyless(
    client: &mut Client,
    map: &DataMap,
    catalog: &Catalog,
    request: &PurgeRequest,
    rule: &RulePlan,
    table: &TablePlan,
    target: &ArchiveTarget,
    done: &mut TableOutcome,
    outcome: &mut RuleOutcome,
) -> anyhow::Result<()> {
    remove_strays(client, &target.dir).await?;
    let mut recipients = Recipients::new();
    for (index, key) in target.recipients.iter().enumerate() {
        recipients.add(key, index + 1)?;
    }
    let file = format!(
        "purge-{}-{}-{}-keyless.age",
        rule.name,
        table.name.table,
        Utc::now().format("%Y%m%dT%H%M%S%.3f")
    );
    let change = change::begin(client, &request.limits, false).await?;
    let tx = change.into_transaction();
    let receipt = archive::write_verified(
        &tx,
        map,
        catalog,
        ArchiveRequest {
            selection: Selection::DueRows {
                table: table.mapped.clone(),
                rule: rule.name.clone(),
                as_of: request.as_of,
            },
            out: target.dir.join(sanitise(&file)),
            overwrite: false,
            recipients,
            keep: None,
            operator: request.operator.clone(),
            ticket: Some(request.ticket.clone()),
            part_bytes: crate::files::tar_writer::PART_BYTES,
            capture_keys: true,
            jobs: None,
        },
        &|_, _| {},
    )
    .await?;
    let deleted: u64 = receipt.delete_archived(&tx).await?.values().sum();
    crate::fault::point("purge.deleted");
    crate::pg::audit::append(
        &tx,
        &request.operator,
        &keyless_batch_entry(
            request,
            rule,
            table,
            deleted as i64,
            1,
            Some(&receipt.summary.archive_id),
        ),
    )
    .await?;
    let archived = receipt.summary.rows as i64;
    let summary = receipt.commit(tx).await?;
    outcome.archives.push(summary.id);
    done.archived += archived;
    done.deleted += deleted as i64;
    done.batches += 1;
    done.audited_per_batch = true;
    Ok(())
}

/// The audit row of one committed batch of a table without a primary key (its
/// rows addressed by `ctid`), written in the batch's transaction.
fn keyless_batch_entry(
    request: &PurgeRequest,
    rule: &RulePlan,
    table: &TablePlan,
    deleted: i64,
    batch: i64,
    archive_id: Option<&str>,
) -> AuditEntry {
    AuditEntry {
        action: "purge".to_owned(),
        ticket: Some(request.ticket.clone()),
        subject_ref: None,
        counts: BTreeMap::from([(table.name.to_string(), deleted)]),
        fields: Vec::new(),
        detail: serde_json::json!({
            "rule": rule.name,
            "table": table.name.to_string(),
            "cutoff": rule.cutoff,
            "batch": batch,
            "archive_id": archive_id,
            "by": "row address (the table has no primary key)",
        }),
    }
}

/// Delete a table's due rows when the table has no primary key to cut batches by:
/// each batch one statement over at most `BATCH` rows found by address (`ctid`)
/// that checks the rule's condition itself (a row changed since it was found is
/// re-read and kept if no longer due), committed with its own audit row, so a
/// stopped run leaves every deleted row on the record and the next run deletes
/// what is still due. A rule that archives first goes to [`archive_keyless`].
#[allow(clippy::too_many_arguments)]
async fn delete_keyless(
    client: &mut Client,
    map: &DataMap,
    catalog: &Catalog,
    request: &PurgeRequest,
    rule: &RulePlan,
    table: &TablePlan,
    conditions: &Conditions,
    archive: Option<&ArchiveTarget>,
    done: &mut TableOutcome,
    outcome: &mut RuleOutcome,
) -> anyhow::Result<()> {
    const BATCH: i64 = 10_000;
    if let Some(target) = archive {
        return archive_keyless(
            client, map, catalog, request, rule, table, target, done, outcome,
        )
        .await;
    }
    let sql = format!(
        "DELETE FROM {table} t0 WHERE t0.ctid = ANY(ARRAY( \
             SELECT t0.ctid FROM {table} t0 WHERE {due} LIMIT {BATCH})) AND {due}",
        table = table.name.quoted(),
        due = conditions.due(),
    );
    let cutoff = rule.cutoff.to_rfc3339();
    loop {
        if request.deadline.is_some_and(|d| Instant::now() >= d) {
            outcome.status = "stopped".to_owned();
            return Ok(());
        }
        let started = Instant::now();
        let change = change::begin(client, &request.limits, false).await?;
        let deleted = change.tx().execute(&sql, &[&cutoff]).await?;
        if deleted == 0 {
            crate::pg::db::finish(change.into_transaction(), true).await?;
            return Ok(());
        }
        crate::fault::point("purge.deleted");
        done.batches += 1;
        done.audited_per_batch = true;
        change
            .commit(
                &request.operator,
                &keyless_batch_entry(request, rule, table, deleted as i64, done.batches, None),
            )
            .await?;
        done.deleted += deleted as i64;
        done.longest_batch_ms = done
            .longest_batch_ms
            .max(started.elapsed().as_millis() as u64);
        tokio::time::sleep(request.pause).await;
    }
}

/// Delete a table's due rows through the stream runner: in `request.delete_streams`
/// key ranges at once, each its own checkpointed job on its own connection in
/// which the rule's holds are computed first (they are session tables), or in one
/// on `client` (no way to open more connections, or an unfinished run of one).
#[allow(clippy::too_many_arguments)]
async fn delete_in_streams(
    client: &mut Client,
    map: &DataMap,
    catalog: &Catalog,
    request: &PurgeRequest,
    rule: &RulePlan,
    job: &BatchJob,
    options: RunOptions<'_>,
    due: i64,
    label: &str,
    done: &mut TableOutcome,
    outcome: &mut RuleOutcome,
    progress: &(dyn Fn(&str, &str, i64, i64) + Sync),
) -> anyhow::Result<()> {
    let mut work = DeleteWork {
        map,
        catalog,
        rule,
        connect: request.connect.as_ref(),
        scope: &job.scope,
        params: &job.params,
    };
    let rows = |rows: i64| progress(label, "rows", rows, due);
    let streams = match request.connect {
        Some(_) => request.delete_streams,
        None => 1,
    };
    let run = change::run_streams(
        client,
        catalog,
        &request.limits,
        job,
        &mut work,
        &StreamOptions {
            streams,
            batches: options,
            rows: Some(&rows),
        },
    )
    .await?;
    for step in &run.steps {
        done.deleted += step.deleted;
    }
    let report = run.outcome?;
    for ((report, timing), step) in report.runs.iter().zip(&run.steps) {
        // A resumed job's report counts the batches a stopped run committed too:
        // the run's audit row carries them, so every deleted row is on the record.
        done.deleted_before += (report.rows - step.deleted).max(0);
        done.resumed |= report.resumed;
        done.batches += timing.batches_this_run;
        done.longest_batch_ms = done.longest_batch_ms.max(timing.longest_batch_ms);
    }
    if report.stopped() {
        outcome.status = "stopped".to_owned();
    }
    Ok(())
}

/// What the stream runner needs of a delete job: a [`DeleteStep`] per stream, and
/// each further stream's connection with the rule's holds computed in it.
struct DeleteWork<'a> {
    map: &'a DataMap,
    catalog: &'a Catalog,
    rule: &'a RulePlan,
    connect: Option<&'a crate::ops::archive::parallel::Connect>,
    scope: &'a str,
    /// This run's parameters (the cut-off as of `--as-of`).
    params: &'a [String],
}

impl StreamWork for DeleteWork<'_> {
    type Step = DeleteStep;
    type Error = anyhow::Error;

    fn step(&self, job: &BatchJob, key: &PrimaryKey) -> DeleteStep {
        DeleteStep::of(job, &key.columns, &key.types)
    }

    async fn connect(&self, _streams: usize) -> anyhow::Result<Client> {
        let connect = self.connect.ok_or_else(|| {
            usage(format!(
                "{} runs in streams: no connection to open",
                self.scope
            ))
        })?;
        let more = connect().await?;
        prepare(
            &more,
            self.map,
            self.catalog,
            self.rule,
            Population::Everyone,
        )
        .await?;
        Ok(more)
    }

    /// A run cut short in one stream resumes in one, with this run's cut-off: the
    /// condition checks every row again, and rows due since it started go too.
    fn resume_whole(&mut self, _started: &[String]) -> Option<Vec<String>> {
        Some(self.params.to_vec())
    }

    /// A stream resumes with the cut-off it started with: its range was cut from
    /// the rows due then.
    fn resume_stream(&mut self, _stream: &change::Stream) -> anyhow::Result<()> {
        Ok(())
    }
}

/// The planner's estimate of the rows due (for a progress bar's length only).
async fn estimate(
    client: &Client,
    table: &TablePlan,
    conditions: &Conditions,
    cutoff: &str,
) -> i64 {
    let plan = client
        .query_one(
            &format!(
                "EXPLAIN (FORMAT JSON) SELECT 1 FROM {} t0 WHERE {}",
                table.name.quoted(),
                conditions.due()
            ),
            &[&cutoff],
        )
        .await;
    plan.ok()
        .and_then(|row| row.try_get::<_, serde_json::Value>(0).ok())
        .and_then(|v| v[0]["Plan"]["Plan Rows"].as_f64())
        .map(|n| n as i64)
        .unwrap_or(0)
}

/// The batch keys as one text array per key column.
fn key_arrays(keys: &[Vec<String>], columns: usize) -> Vec<Vec<String>> {
    (0..columns)
        .map(|i| keys.iter().map(|k| k[i].clone()).collect())
        .collect()
}

/// A delete batch: the due rows between the batch's first and last key, in one
/// statement that walks the key index over that range and checks the rule's
/// condition itself (a row changed since the bounds were read is re-read, and kept
/// if it is no longer due), so the rows need no lock beforehand.
struct DeleteStep {
    table: TableName,
    key_columns: Vec<String>,
    key_types: Vec<String>,
    /// The job's condition on `t0` and its text parameters (`$1..`).
    condition: String,
    params: Vec<String>,
    /// Rows deleted by the batches that committed.
    deleted: i64,
    /// Rows deleted by the batch in progress, counted once it commits (a stream
    /// stopped by another's failure rolls its batch back).
    pending: i64,
    statements: StatementCache,
}

impl DeleteStep {
    /// The step that deletes `job`'s rows, batch by batch.
    fn of(job: &BatchJob, key_columns: &[String], key_types: &[String]) -> DeleteStep {
        DeleteStep {
            table: job.table.clone(),
            key_columns: key_columns.to_vec(),
            key_types: key_types.to_vec(),
            condition: job.condition.clone(),
            params: job.params.clone(),
            deleted: 0,
            pending: 0,
            statements: StatementCache::default(),
        }
    }
}

impl BatchStep for DeleteStep {
    fn mode(&self) -> BatchMode {
        BatchMode::Range
    }

    async fn apply(
        &mut self,
        tx: &Transaction<'_>,
        batch: &Batch<'_>,
    ) -> Result<Counts, ChangeError> {
        let (first, last) = (batch.first, batch.last);
        let n = self.key_columns.len();
        let own: Vec<String> = self
            .key_columns
            .iter()
            .map(|c| format!("t0.{}", quote_ident(c)))
            .collect();
        let bound = |from: usize| -> Vec<String> {
            self.key_types
                .iter()
                .enumerate()
                .map(|(i, ty)| format!("${}::text::{ty}", from + i))
                .collect()
        };
        // The condition's parameters come first; the bounds follow.
        let m = self.params.len();
        let sql = format!(
            "DELETE FROM {} t0 WHERE ({}) >= ({}) AND ({}) <= ({}) AND ({})",
            self.table.quoted(),
            own.join(", "),
            bound(m + 1).join(", "),
            own.join(", "),
            bound(m + 1 + n).join(", "),
            self.condition
        );
        let mut params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = self
            .params
            .iter()
            .map(|p| p as &(dyn tokio_postgres::types::ToSql + Sync))
            .collect();
        params.extend(
            first
                .iter()
                .chain(last)
                .map(|k| k as &(dyn tokio_postgres::types::ToSql + Sync)),
        );
        let statement = self.statements.prepare(tx, &sql).await?;
        let deleted = tx.execute(&statement, &params).await? as i64;
        crate::fault::point("purge.deleted");
        self.pending = deleted;
        Ok(Counts::from([(self.table.to_string(), deleted)]))
    }

    fn after_commit(&mut self, committed: bool) {
        if committed {
            self.deleted += self.pending;
        }
        self.pending = 0;
    }
}

/// Session temporary table holding the keys of an archive-then-delete batch.
const BATCH_KEYS: &str = "derbes_purge_batch";

/// An archive-then-delete batch: the rows go to a verified archive, then exactly
/// the archived keys are deleted; the archive file is kept once the batch commits.
struct ArchiveStep<'a> {
    map: &'a DataMap,
    catalog: &'a Catalog,
    rule: String,
    mapped: String,
    table: TableName,
    key_columns: Vec<String>,
    key_types: Vec<String>,
    target: &'a ArchiveTarget,
    operator: String,
    ticket: String,
    pending: Option<ArchiveReceipt>,
    written: Vec<i64>,
    archived: i64,
    deleted: i64,
    batch: u64,
}

impl BatchStep for ArchiveStep<'_> {
    async fn apply(
        &mut self,
        tx: &Transaction<'_>,
        batch: &Batch<'_>,
    ) -> Result<Counts, ChangeError> {
        let keys = batch.keys;
        let arrays = key_arrays(keys, self.key_columns.len());
        let params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = arrays
            .iter()
            .map(|a| a as &(dyn tokio_postgres::types::ToSql + Sync))
            .collect();
        let columns: Vec<String> = self.key_columns.iter().map(|c| quote_ident(c)).collect();
        let unnest: Vec<String> = self
            .key_types
            .iter()
            .enumerate()
            .map(|(i, ty)| format!("${}::text[]::{ty}[]", i + 1))
            .collect();
        tx.execute(
            &format!(
                "INSERT INTO pg_temp.{BATCH_KEYS} ({}) SELECT * FROM unnest({})",
                columns.join(", "),
                unnest.join(", ")
            ),
            &params,
        )
        .await?;
        let mut recipients = Recipients::new();
        for (index, key) in self.target.recipients.iter().enumerate() {
            recipients
                .add(key, index + 1)
                .map_err(|e| ChangeError::Database(e.to_string()))?;
        }
        self.batch += 1;
        let file = format!(
            "purge-{}-{}-{}-{}.age",
            self.rule,
            self.table.table,
            Utc::now().format("%Y%m%dT%H%M%S%.3f"),
            self.batch
        );
        let request = ArchiveRequest {
            selection: Selection::Rows {
                table: self.mapped.clone(),
                relation: None,
                keys_table: Some(BATCH_KEYS.to_owned()),
                rule: Some(self.rule.clone()),
            },
            out: self.target.dir.join(sanitise(&file)),
            overwrite: false,
            recipients,
            keep: None,
            operator: self.operator.clone(),
            ticket: Some(self.ticket.clone()),
            part_bytes: crate::files::tar_writer::PART_BYTES,
            capture_keys: true,
            jobs: None,
        };
        let receipt = archive::write_verified(tx, self.map, self.catalog, request, &|_, _| {})
            .await
            .map_err(|e| ChangeError::Audit(format!("archiving the batch failed: {e:#}")))?;
        crate::fault::point("purge.archived");
        let deleted = receipt
            .delete_archived(tx)
            .await
            .map_err(|e| ChangeError::Database(format!("{e:#}")))?;
        let n: u64 = deleted.values().sum();
        self.archived += receipt.summary.rows as i64;
        self.deleted += n as i64;
        self.pending = Some(receipt);
        crate::fault::point("purge.deleted");
        Ok(Counts::from([(self.table.to_string(), n as i64)]))
    }

    fn after_commit(&mut self, committed: bool) {
        if let Some(receipt) = self.pending.take() {
            // Kept either way: committed, it is the catalogued archive of deleted
            // rows; if the commit's fate is unknown, a stray file is the safe side.
            let _ = committed;
            let summary = receipt.keep();
            self.written.push(summary.id);
        }
    }
}

/// Remove what a stopped archive-then-delete run left in the archive directory: a
/// `purge-*.age` file the catalogue does not know (its batch never committed, so
/// its rows were not deleted and are still in the table) and `.purge-*.partial`
/// files being written. A catalogued archive is committed with its batch's delete
/// and is never touched.
async fn remove_strays(client: &Client, dir: &std::path::Path) -> anyhow::Result<()> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(());
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let partial = name.starts_with(".purge-") && name.ends_with(".partial");
        let archive = name.starts_with("purge-") && name.ends_with(".age");
        if !(partial || archive) || !entry.file_type().is_ok_and(|t| t.is_file()) {
            continue;
        }
        let path = std::path::absolute(entry.path()).unwrap_or_else(|_| entry.path());
        if archive {
            let known: bool = client
                .query_one(
                    "SELECT EXISTS (SELECT 1 FROM derbes.archives WHERE path = $1)",
                    &[&path.to_string_lossy().into_owned()],
                )
                .await?
                .get(0);
            if known {
                continue;
            }
        }
        std::fs::remove_file(&path).map_err(|e| {
            anyhow::anyhow!(
                "cannot remove {}, left by a stopped purge (its rows were not deleted): {e}; remove it by hand",
                path.display()
            )
        })?;
    }
    Ok(())
}

/// A file name from a rule and table name: letters, digits, `-`, `_`, `.` only.
fn sanitise(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The one audit row of a rule's run.
async fn audit_rule(
    client: &mut Client,
    request: &PurgeRequest,
    outcome: &RuleOutcome,
) -> anyhow::Result<()> {
    let mut counts = BTreeMap::new();
    for table in outcome.tables.iter().filter(|t| !t.audited_per_batch) {
        let deleted = table.deleted + table.deleted_before - table.partition_rows;
        if deleted > 0 {
            counts.insert(table.table.clone(), deleted);
        }
    }
    let entry = AuditEntry {
        action: "purge".to_owned(),
        ticket: Some(request.ticket.clone()),
        subject_ref: None,
        counts,
        fields: Vec::new(),
        detail: serde_json::json!({
            "rule": outcome.rule,
            "action": outcome.action,
            "keep": outcome.keep,
            "cutoff": outcome.cutoff,
            "status": outcome.status,
            "deleted": outcome.deleted,
            "archived": outcome.archived,
            "anonymised": outcome.anonymised,
            "held_back": outcome.held_back,
            "archives": outcome.archives,
            "partitions_dropped": outcome.tables.iter().flat_map(|t| t.partitions_dropped.clone()).collect::<Vec<_>>(),
            "tables": outcome.tables.iter().map(|t| serde_json::json!({
                "table": t.table, "deleted": t.deleted, "archived": t.archived,
                "held_back": t.held_back, "batches": t.batches, "resumed": t.resumed,
                "deleted_before": t.deleted_before, "audited_per_batch": t.audited_per_batch,
            })).collect::<Vec<_>>(),
            "duration_ms": outcome.duration_ms,
        }),
    };
    let change = change::begin(client, &request.limits, false).await?;
    change.commit(&request.operator, &entry).await?;
    Ok(())
}

mod partitions;

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::map::{AgeWhen, RetentionHold};

    const MAP: &str = include_str!("../../examples/datamap.toml");

    fn parse(text: &str) -> Result<DataMap, String> {
        DataMap::parse(text, Path::new("map.toml")).map_err(|e| e.to_string())
    }

    #[test]
    fn the_reference_rules_parse_with_their_holds_and_events() {
        let map = parse(MAP).unwrap();
        let kyc = &map.retention["identity-kyc"];
        let age_from = kyc.age_from.as_ref().unwrap();
        assert_eq!(
            (age_from.table.as_str(), age_from.column.as_str()),
            ("loans", "closed_at")
        );
        assert_eq!(age_from.when, AgeWhen::AllClosed);
        assert_eq!(kyc.holds(), RetentionHold::ALL.to_vec());
        assert!(map.retention["server-logs"].holds().is_empty());
        assert_eq!(
            map.retention["photos"].holds(),
            vec![RetentionHold::Blocked, RetentionHold::OpenRequest]
        );
        for rule in map.retention.values() {
            assert!(!rule.legal_basis.is_empty());
        }
    }

    #[test]
    fn bad_rules_are_refused_with_what_to_do() {
        let unmapped = MAP.replace(
            "age_from = { table = \"loans\", column = \"closed_at\", when = \"all closed\" }\n\n# Closed",
            "age_from = { table = \"nowhere\", column = \"closed_at\" }\n\n# Closed",
        );
        assert_ne!(unmapped, MAP);
        assert!(parse(&unmapped).unwrap_err().contains("not mapped"));
        let when = MAP.replacen("when = \"all closed\"", "when = \"sometimes\"", 1);
        assert!(parse(&when).is_err());
        let hold = MAP.replacen("exceptions = []", "exceptions = [\"vacation\"]", 1);
        assert!(parse(&hold).is_err());
        let undated = MAP.replacen(
            "time_column = \"recorded_at\"\nretention = \"location\"",
            "retention = \"location\"",
            1,
        );
        assert!(parse(&undated).unwrap_err().contains("no time_column"));
        let no_ledger = MAP
            .replacen("exceptions = []", "exceptions = [\"open-loan\"]", 1)
            .lines()
            .filter(|line| !line.starts_with("loans = {"))
            .collect::<Vec<_>>()
            .join("\n");
        assert!(parse(&no_ledger).unwrap_err().contains("[ledgers].loans"));
        // What a rule keeps is a list of the map's categories, on a rule that keeps.
        let unknown = MAP.replacen("keeps = [\"iin\"", "keeps = [\"horoscope\"", 1);
        assert_ne!(unknown, MAP);
        assert!(parse(&unknown).is_err());
        let on_delete = MAP.replacen(
            "keep = \"1y\"\naction = \"delete\"",
            "keep = \"1y\"\naction = \"delete\"\nkeeps = [\"iin\"]",
            1,
        );
        assert_ne!(on_delete, MAP);
        assert!(parse(&on_delete)
            .unwrap_err()
            .contains("only an archive-then-delete rule"));
    }

    #[test]
    fn batch_keys_split_by_column_and_file_names_are_plain() {
        assert_eq!(
            key_arrays(
                &[vec!["1".into(), "a".into()], vec!["2".into(), "b".into()]],
                2
            ),
            vec![
                vec!["1".to_owned(), "2".into()],
                vec!["a".to_owned(), "b".into()]
            ]
        );
        assert_eq!(sanitise("purge-a/b c.age"), "purge-a_b_c.age");
    }
}
