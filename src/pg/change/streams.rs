//! A job cut into half-open key ranges ("streams"), each its own checkpointed job
//! that runs on its own connection: cutting at sampled keys, recording every
//! stream before any runs, and reading an unfinished run's streams back.

use tokio_postgres::Client;

use super::{BatchJob, ChangeError};
use crate::map::{quote_ident, TableName};

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
