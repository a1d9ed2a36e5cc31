//! A table's due rows in primary-key batches: deleted through the stream runner
//! (`--jobs` key ranges at once, each stream's connection with the rule's holds),
//! or archived then deleted batch by batch by the keys the archive captured.

use tokio_postgres::Client;

use super::steps::{remove_strays, ArchiveStep, DeleteStep, BATCH_KEYS};
use super::{keyless, usage, RuleOutcome, TableOutcome, TablePlan, TableRun, LOCK_OPERATION};
use crate::map::{quote_ident, DataMap};
use crate::ops::retention::{prepare, Conditions, Population, RulePlan};
use crate::pg::catalog::Catalog;
use crate::pg::change::{self, BatchJob, PrimaryKey, RunOptions, StreamOptions, StreamWork};

/// Purge a table's due rows in primary-key batches: deleted through the stream
/// runner, or archived then deleted batch by batch; a table without a primary key
/// goes to [`keyless`].
pub(super) async fn purge_batches(
    client: &mut Client,
    run: &TableRun<'_>,
    done: &mut TableOutcome,
    outcome: &mut RuleOutcome,
) -> anyhow::Result<()> {
    let TableRun {
        catalog,
        request,
        rule,
        table,
        conditions,
        archive,
        ..
    } = *run;
    let catalog_table = catalog.tables.get(&table.name).ok_or_else(|| {
        usage(format!(
            "table {} is not in the database: run `derbes map check`",
            table.name
        ))
    })?;
    let key_columns = catalog_table.primary_key.clone();
    if key_columns.is_empty() {
        return keyless::delete_keyless(client, run, done, outcome).await;
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
    let label = run.label();
    let report_progress = |so_far: &change::BatchReport| {
        (run.progress)(&label, "rows", so_far.rows, due);
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
        return delete_in_streams(client, run, &job, options, due, done, outcome).await;
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
    let mut step = ArchiveStep::new(
        run,
        PrimaryKey {
            columns: key_columns,
            types: key_types,
        },
        target,
    );
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

/// Delete a table's due rows through the stream runner: in `request.delete_streams`
/// key ranges at once, each its own checkpointed job on its own connection in
/// which the rule's holds are computed first (they are session tables), or in one
/// on `client` (no way to open more connections, or an unfinished run of one).
async fn delete_in_streams(
    client: &mut Client,
    run: &TableRun<'_>,
    job: &BatchJob,
    options: RunOptions<'_>,
    due: i64,
    done: &mut TableOutcome,
    outcome: &mut RuleOutcome,
) -> anyhow::Result<()> {
    let request = run.request;
    let mut work = DeleteWork {
        map: run.map,
        catalog: run.catalog,
        rule: run.rule,
        connect: request.connect.as_ref(),
        scope: &job.scope,
        params: &job.params,
    };
    let label = run.label();
    let rows = |rows: i64| (run.progress)(&label, "rows", rows, due);
    let streams = match request.connect {
        Some(_) => request.delete_streams,
        None => 1,
    };
    let streamed = change::run_streams(
        client,
        run.catalog,
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
    for step in &streamed.steps {
        done.deleted += step.deleted;
    }
    let report = streamed.outcome?;
    for ((report, timing), step) in report.runs.iter().zip(&streamed.steps) {
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
        DeleteStep::of(job, key)
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
