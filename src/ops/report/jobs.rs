//! The nightly jobs, from the audit log: one row per purge rule run (action
//! `purge` with a `status`: rows deleted and anonymised, its duration, whether it
//! failed or stopped) and one per table of a cohort anonymisation (action
//! `anonymise` with a `rule` and no subject: rows masked or deleted); and the runs
//! `derbes.jobs` still holds unfinished (killed or stopped, to be resumed).

use tokio_postgres::GenericClient;

use super::model::{JobFigures, JobNight, UnfinishedJob};
use super::Period;

pub async fn gather(client: &impl GenericClient, period: &Period) -> anyhow::Result<JobFigures> {
    let mut nights = Vec::new();
    let purge = client
        .query(
            "SELECT (at AT TIME ZONE $3)::date, detail->>'rule', count(*), \
                    coalesce(sum(coalesce((detail->>'deleted')::bigint, 0) \
                                + coalesce((detail->>'anonymised')::bigint, 0)), 0)::bigint, \
                    (sum((detail->>'duration_ms')::float8) / 1000.0)::float8, \
                    count(*) FILTER (WHERE detail->>'status' IN ('failed', 'stopped')) \
             FROM derbes.audit_log \
             WHERE action = 'purge' AND detail ? 'status' AND at >= $1 AND at < $2 \
             GROUP BY 1, 2 ORDER BY 1, 2",
            &[&period.start, &period.end, &period.zone],
        )
        .await?;
    for row in purge {
        nights.push(JobNight {
            day: row.get(0),
            operation: "purge".to_owned(),
            rule: row.get(1),
            runs: row.get(2),
            rows: row.get(3),
            seconds: row.get(4),
            failures: row.get(5),
        });
    }
    // A cohort run writes one closing row per table; its runs are told apart by
    // ticket. Its rows are the row's counts (`<table>.masked`, `<table>.deleted`).
    let anonymise = client
        .query(
            "SELECT (a.at AT TIME ZONE $3)::date, a.detail->>'rule', count(DISTINCT a.ticket), \
                    coalesce(sum((SELECT sum(c.value::bigint) FROM jsonb_each_text(a.counts) c)), 0)::bigint \
             FROM derbes.audit_log a \
             WHERE a.action = 'anonymise' AND a.subject_ref IS NULL AND a.detail ? 'rule' \
               AND a.at >= $1 AND a.at < $2 \
             GROUP BY 1, 2 ORDER BY 1, 2",
            &[&period.start, &period.end, &period.zone],
        )
        .await?;
    for row in anonymise {
        nights.push(JobNight {
            day: row.get(0),
            operation: "anonymise".to_owned(),
            rule: row.get(1),
            runs: row.get(2),
            rows: row.get(3),
            seconds: None,
            failures: 0,
        });
    }
    nights.sort_by(|a, b| (a.day, &a.operation, &a.rule).cmp(&(b.day, &b.operation, &b.rule)));
    let unfinished = client
        .query(
            "SELECT operation, scope, started_at, rows FROM derbes.jobs \
             WHERE finished_at IS NULL AND operation IN ('purge', 'purge.partition', 'anonymise') \
             ORDER BY started_at, id",
            &[],
        )
        .await?
        .into_iter()
        .map(|row| UnfinishedJob {
            operation: row.get(0),
            scope: row.get(1),
            started_at: row.get(2),
            rows: row.get(3),
        })
        .collect();
    Ok(JobFigures { nights, unfinished })
}
