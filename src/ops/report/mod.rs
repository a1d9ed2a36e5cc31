//! The DPO's report (`derbes report`): what is held, what is due, what is late.
//! Every figure is a count, a reference or a rule name, read in one read-only
//! snapshot; [`model`] says what each means. One file per section; each asks the
//! module that owns the decision (retention, requests, `map check`) rather than
//! deciding again.

mod archives;
mod blocks;
mod breaches;
mod cohorts;
mod consents;
mod coverage;
mod jobs;
pub mod model;
mod requests;
mod retention;

use anyhow::Context as _;
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use tokio_postgres::Client;

pub use model::*;

use crate::map::{DataMap, Lang};
use crate::ops::retention as rules;
use crate::pg::catalog::Catalog;

/// What to report on.
#[derive(Debug, Clone)]
pub struct ReportOptions {
    /// First day of the period (inclusive).
    pub since: NaiveDate,
    /// Last day of the period (inclusive).
    pub until: NaiveDate,
    pub lang: Lang,
    /// The report's time: retention cut-offs, "today" for deadlines, archives
    /// expiring. Usually now.
    pub now: DateTime<Utc>,
}

/// The period and the report's time, as the sections query them.
pub(crate) struct Period {
    pub since: NaiveDate,
    pub until: NaiveDate,
    /// `since` at midnight in the map's time zone.
    pub start: DateTime<Utc>,
    /// The day after `until` at midnight in the map's time zone (exclusive).
    pub end: DateTime<Utc>,
    pub now: DateTime<Utc>,
    /// Today in the map's time zone, at `now`.
    pub today: NaiveDate,
    /// The map's time zone name, for `AT TIME ZONE`.
    pub zone: String,
}

impl Period {
    fn new(options: &ReportOptions, zone: chrono_tz::Tz) -> Period {
        let midnight = |day: NaiveDate| {
            zone.from_local_datetime(&day.and_hms_opt(0, 0, 0).unwrap_or_default())
                .earliest()
                .map_or_else(
                    || Utc.from_utc_datetime(&day.and_hms_opt(0, 0, 0).unwrap_or_default()),
                    |t| t.with_timezone(&Utc),
                )
        };
        Period {
            since: options.since,
            until: options.until,
            start: midnight(options.since),
            end: midnight(options.until.succ_opt().unwrap_or(options.until)),
            now: options.now,
            today: options.now.with_timezone(&zone).date_naive(),
            zone: zone.name().to_owned(),
        }
    }

    /// The day falls in the period.
    fn contains(&self, day: NaiveDate) -> bool {
        self.since <= day && day <= self.until
    }
}

/// Gather the whole report in one `REPEATABLE READ READ ONLY` snapshot. The
/// retention holds go to session temporary tables, which a read-only transaction
/// may fill but not create: they are made empty before the snapshot and filled
/// inside it, so every figure is of one moment. Nothing is written to the
/// database's own tables.
pub async fn gather(
    client: &mut Client,
    map: &DataMap,
    catalog: &Catalog,
    options: &ReportOptions,
) -> anyhow::Result<Report> {
    let period = Period::new(options, map.time_zone());
    let plans = rules::plan(map, catalog, &[], options.now)?;
    for rule in &plans {
        rules::create_session_tables(&*client, map, catalog, rule).await?;
    }
    let result = read(client, map, catalog, options, &period, &plans).await;
    rules::release(&*client, &plans).await;
    result
}

async fn read(
    client: &mut Client,
    map: &DataMap,
    catalog: &Catalog,
    options: &ReportOptions,
    period: &Period,
    plans: &[rules::RulePlan],
) -> anyhow::Result<Report> {
    // One snapshot for every section: a read, not a change (no audit row; the
    // report holds no personal data). READ ONLY so that nothing can be written.
    let snapshot = client
        .build_transaction()
        .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await?;
    // Filling the session tables also raises the session's work_mem so that the
    // per-row lookups in them are hashed (`retention::WORK_MEM`).
    for rule in plans {
        rules::fill_session_tables(&snapshot, map, catalog, rule, rules::Population::Everyone)
            .await
            .with_context(|| format!("computing the holds of retention rule {}", rule.name))?;
    }
    let (retention, categories) = retention::gather(&snapshot, map, plans, options.lang)
        .await
        .context("counting rows against the retention rules")?;
    let requests = requests::gather(&snapshot, period)
        .await
        .context("reading derbes.requests")?;
    let breaches = breaches::gather(&snapshot, period)
        .await
        .context("reading derbes.breaches")?;
    let jobs = jobs::gather(&snapshot, period)
        .await
        .context("reading the audit log and derbes.jobs")?;
    let blocks = blocks::gather(&snapshot, period)
        .await
        .context("reading derbes.blocks")?;
    let archives = archives::gather(&snapshot, period)
        .await
        .context("reading derbes.archives")?;
    let consents = consents::gather(&snapshot, map, catalog, period)
        .await
        .context("reading the consent and policy ledgers")?;
    let cohorts = cohorts::gather(&snapshot, map, catalog, period)
        .await
        .context("reading the anonymised cohorts")?;
    snapshot.commit().await?;
    Ok(Report {
        generated_at: options.now,
        since: options.since,
        until: options.until,
        lang: options.lang.code().to_owned(),
        retention,
        categories,
        requests,
        breaches,
        jobs,
        blocks,
        archives,
        consents,
        cohorts,
        coverage: coverage::gather(map, catalog),
    })
}
