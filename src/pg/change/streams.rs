//! A job cut into half-open key ranges ("streams"), each its own checkpointed job
//! on its own connection, all at once ([`run_streams`], the one runner of purge's
//! and cohort anonymisation's `--jobs`): the due rows cut at sampled keys, every
//! stream recorded before any runs (a run killed early leaves all of them), an
//! unfinished run resumed as it was cut, and the streams' jobs closed together
//! when the operation asks for it.

use std::future::Future;
use std::sync::atomic::{AtomicI64, Ordering};

use tokio_postgres::{Client, GenericClient};

use super::batches::unfinished_params;
use super::{
    finish_job, run_batches_with, BatchJob, BatchReport, BatchStep, ChangeError, Counts, Limits,
    PrimaryKey, RunOptions, RunTiming,
};
use crate::map::{quote_ident, TableName};
use crate::pg::catalog::Catalog;

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
    /// The whole job as one stream, with its own scope and no bounds.
    fn whole(scope: &str, params: Vec<String>) -> Stream {
        Stream {
            scope: scope.to_owned(),
            params,
            from: None,
            to: None,
        }
    }

    /// The job of this stream: `whole`'s condition within the stream's key range.
    pub fn job(&self, whole: &BatchJob, key: &PrimaryKey) -> BatchJob {
        let within = self.condition(&key.columns, &key.types, &whole.condition);
        BatchJob {
            scope: self.scope.clone(),
            condition: within.condition,
            params: within.params,
            span_below: within.span_below,
            ..whole.clone()
        }
    }

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
async fn cut_into_streams(
    client: &Client,
    table: &TableName,
    key_columns: &[String],
    condition: &str,
    params: &[String],
    streams: usize,
    scope: &str,
) -> Result<Vec<Stream>, ChangeError> {
    let whole = || vec![Stream::whole(scope, params.to_vec())];
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
async fn open_streams(
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
async fn unfinished_streams(
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

/// What an operation gives [`run_streams`]: the step that works through one
/// stream's job, the connections of the streams after the first, and whether an
/// unfinished run's recorded parameters fit this one.
pub trait StreamWork {
    /// The step of one stream.
    type Step: BatchStep;
    /// The operation's error, which a [`ChangeError`] becomes.
    type Error: From<ChangeError>;

    /// The step that works through `job`, one stream's range of the whole job.
    fn step(&self, job: &BatchJob, key: &PrimaryKey) -> Self::Step;

    /// One more connection for one of `streams` streams, ready for its step: what
    /// the step reads of its own session (a retention rule's holds) is prepared in
    /// it.
    fn connect(&self, streams: usize) -> impl Future<Output = Result<Client, Self::Error>>;

    /// The parameters an unfinished run of the whole job (one stream, the job's own
    /// scope) continues with, given those it started with; None when they do not
    /// fit this run, which then looks for streams or starts afresh.
    fn resume_whole(&mut self, started: &[String]) -> Option<Vec<String>>;

    /// Accept an unfinished stream (its own parameters as it started them), taking
    /// in what the operation needs of them, or refuse it when they do not fit.
    fn resume_stream(&mut self, stream: &Stream) -> Result<(), Self::Error>;
}

/// How [`run_streams`] runs a job.
pub struct StreamOptions<'a> {
    /// Streams a fresh run is cut into (1: one, on the caller's connection); an
    /// unfinished run continues as it was cut.
    pub streams: usize,
    /// How every stream's batches run; their `progress` is the runner's (`rows`).
    pub batches: RunOptions<'a>,
    /// Called after each committed batch of any stream with the rows of every
    /// stream so far (work resumed from a checkpoint included).
    pub rows: Option<&'a (dyn Fn(i64) + Sync)>,
}

/// What the streams of a job did.
pub struct StreamsRun<S> {
    /// Each stream's step, in stream order, whatever became of the run: a failed
    /// run's steps still say what they did before it failed.
    pub steps: Vec<S>,
    /// Each stream's report, or the first failure (which stopped the others; every
    /// stream's checkpoint stays for the next run).
    pub outcome: Result<StreamsReport, ChangeError>,
}

/// The report and timing of every stream of a job, in stream order.
#[derive(Debug, Clone)]
pub struct StreamsReport {
    pub runs: Vec<(BatchReport, RunTiming)>,
}

impl StreamsReport {
    /// Every stream's counts, added up (work resumed from a checkpoint included).
    pub fn counts(&self) -> Counts {
        let mut counts = Counts::new();
        for (report, _) in &self.runs {
            for (key, n) in &report.counts {
                *counts.entry(key.clone()).or_default() += n;
            }
        }
        counts
    }

    pub fn batches(&self) -> i64 {
        self.runs.iter().map(|(report, _)| report.batches).sum()
    }

    pub fn rows(&self) -> i64 {
        self.runs.iter().map(|(report, _)| report.rows).sum()
    }

    /// Some stream continued a checkpoint of a stopped run.
    pub fn resumed(&self) -> bool {
        self.runs.iter().any(|(report, _)| report.resumed)
    }

    /// Some stream stopped at its deadline with rows left.
    pub fn stopped(&self) -> bool {
        self.runs.iter().any(|(_, timing)| timing.stopped)
    }

    pub fn longest_batch_ms(&self) -> u64 {
        self.runs
            .iter()
            .map(|(_, timing)| timing.longest_batch_ms)
            .max()
            .unwrap_or(0)
    }

    /// Close every stream's job together, in `client`'s transaction (for runs
    /// with [`RunOptions::leave_open`]: the transaction that records what follows
    /// from the whole job, so a kill in between resumes every stream instead).
    pub async fn finish(&self, client: &impl GenericClient) -> Result<(), ChangeError> {
        for (_, timing) in &self.runs {
            if let Some(id) = timing.job_id {
                finish_job(client, id).await?;
            }
        }
        Ok(())
    }
}

/// Run `job` in streams at once: an unfinished run is resumed as it was cut (the
/// whole job, or its streams `<scope>#k/N`, with the parameters they started with
/// as `work` accepts them); otherwise the due rows are cut into
/// `options.streams` key ranges ([`cut_into_streams`]) and every stream is recorded
/// ([`open_streams`]) before any runs. Each stream is its own checkpointed job
/// ([`run_batches_with`]) on its own connection: the first on `client`, the others
/// on connections `work` opens. A stream that fails stops the others (their open
/// batches roll back).
pub async fn run_streams<W: StreamWork>(
    client: &mut Client,
    catalog: &Catalog,
    limits: &Limits,
    job: &BatchJob,
    work: &mut W,
    options: &StreamOptions<'_>,
) -> Result<StreamsRun<W::Step>, W::Error> {
    let key = PrimaryKey::of(catalog, &job.table)?;
    let streams = plan_streams(client, job, &key, work, options.streams).await?;
    let jobs: Vec<BatchJob> = streams.iter().map(|s| s.job(job, &key)).collect();
    if jobs.len() > 1 {
        let recorded: Vec<(String, Vec<String>)> = jobs
            .iter()
            .map(|stream| (stream.scope.clone(), stream.params.clone()))
            .collect();
        open_streams(client, job, &recorded).await?;
    }
    let mut extra = Vec::with_capacity(jobs.len().saturating_sub(1));
    for _ in 1..jobs.len() {
        extra.push(work.connect(jobs.len()).await?);
    }
    let work = &*work;
    let mut steps: Vec<W::Step> = jobs.iter().map(|stream| work.step(stream, &key)).collect();
    let rows_so_far = AtomicI64::new(0);
    let clients = std::iter::once(&mut *client).chain(extra.iter_mut());
    let runs = jobs
        .iter()
        .zip(steps.iter_mut())
        .zip(clients)
        .map(|((stream, step), client)| {
            let rows_so_far = &rows_so_far;
            async move {
                let last = AtomicI64::new(0);
                let progress = |so_far: &BatchReport| {
                    let before = last.swap(so_far.rows, Ordering::Relaxed);
                    let added = so_far.rows - before;
                    let total = rows_so_far.fetch_add(added, Ordering::Relaxed) + added;
                    if let Some(rows) = options.rows {
                        rows(total);
                    }
                };
                let batches = RunOptions {
                    progress: Some(&progress),
                    ..options.batches.clone()
                };
                run_batches_with(client, catalog, limits, stream, step, &batches).await
            }
        });
    let outcome = futures_util::future::try_join_all(runs)
        .await
        .map(|runs| StreamsReport { runs });
    Ok(StreamsRun { steps, outcome })
}

/// The streams of `job`: an unfinished run's as it was cut, else the due rows cut
/// into `wanted` key ranges.
async fn plan_streams<W: StreamWork>(
    client: &Client,
    job: &BatchJob,
    key: &PrimaryKey,
    work: &mut W,
    wanted: usize,
) -> Result<Vec<Stream>, W::Error> {
    // A run cut short in one stream resumes in one.
    if let Some(started) = unfinished_params(client, &job.operation, &job.scope).await? {
        if let Some(params) = work.resume_whole(&started) {
            return Ok(vec![Stream::whole(&job.scope, params)]);
        }
    }
    let unfinished = unfinished_streams(
        client,
        &job.operation,
        &job.scope,
        job.params.len(),
        key.columns.len(),
    )
    .await?;
    if !unfinished.is_empty() {
        for stream in &unfinished {
            work.resume_stream(stream)?;
        }
        return Ok(unfinished);
    }
    Ok(cut_into_streams(
        client,
        &job.table,
        &key.columns,
        &job.condition,
        &job.params,
        wanted,
        &job.scope,
    )
    .await?)
}
