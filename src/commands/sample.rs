//! `derbes sample init`: the reference schema and a synthetic population, like
//! `pgbench -i`. For demos, tests and benchmarks; never for production.

use serde::Serialize;

use crate::cli::{SampleCommand, SampleInitArgs};
use crate::commands::Context;
use crate::error::DerbesError;
use crate::ops::sample::{self, SampleOptions};
use crate::output::{emit, Tabular};
use crate::terminal::confirm;

pub async fn run(ctx: &Context, command: SampleCommand) -> anyhow::Result<()> {
    match command {
        SampleCommand::Init(args) => init(ctx, args).await,
    }
}

#[derive(Serialize)]
struct SampleInitReport {
    database: String,
    borrowers: u64,
    seed: u64,
    as_of: chrono::NaiveDate,
    seconds: f64,
    tables: Vec<TableCount>,
}

#[derive(Serialize)]
struct TableCount {
    table: String,
    rows: u64,
}

async fn init(ctx: &Context, args: SampleInitArgs) -> anyhow::Result<()> {
    let (client, target) = ctx.connect().await?;
    let existing: i64 = client
        .query_one(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'",
            &[],
        )
        .await?
        .get(0);
    if existing > 0 {
        if !args.force {
            return Err(DerbesError::Refused(format!(
                "database \"{}\" already holds {existing} table(s) in schema public: \
                 pass --force to drop them all (never on production), or use an empty database",
                target.dbname
            ))
            .into());
        }
        sample::guard::check_replaceable(&client)
            .await
            .map_err(|e| match e {
                sample::guard::ReplaceRefused::Db(_) => anyhow::Error::new(e),
                refused => {
                    DerbesError::Refused(format!("database \"{}\": {refused}", target.dbname))
                        .into()
                }
            })?;
        confirm(
            &format!(
                "Drop all {existing} table(s) of schema public in database \"{}\" on {} and load a new sample?",
                target.dbname, target.host
            ),
            args.yes,
        )?;
        tracing::warn!(tables = existing, "dropping schema public (--force)");
        client
            .batch_execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
            .await?;
    }
    let options = SampleOptions {
        borrowers: args.borrowers,
        seed: args.seed,
        as_of: args
            .as_of
            .unwrap_or_else(|| crate::when::today(crate::when::default_time_zone())),
        log_rows_per_borrower: args.logs_per_borrower,
    };
    let started = std::time::Instant::now();
    sample::load_reference_schema(&client).await?;
    let progress = progress_bar(ctx);
    let report = sample::generate(&client, &options, &mut |table, rows| {
        if let Some(bar) = &progress {
            bar.set_message(format!("{table}: {rows} rows"));
            bar.tick();
        }
    })
    .await?;
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }
    let report = SampleInitReport {
        database: target.dbname.clone(),
        borrowers: options.borrowers,
        seed: options.seed,
        as_of: options.as_of,
        seconds: started.elapsed().as_secs_f64(),
        tables: report
            .tables
            .into_iter()
            .map(|(table, rows)| TableCount { table, rows })
            .collect(),
    };
    emit(ctx.format(), &report)
}

fn progress_bar(ctx: &Context) -> Option<indicatif::ProgressBar> {
    if ctx.global.quiet || !std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        return None;
    }
    let bar = indicatif::ProgressBar::new_spinner();
    bar.enable_steady_tick(std::time::Duration::from_millis(200));
    Some(bar)
}

impl Tabular for SampleInitReport {
    fn headers(&self) -> Vec<&'static str> {
        vec!["table", "rows"]
    }
    fn rows(&self) -> Vec<Vec<String>> {
        self.tables
            .iter()
            .map(|t| vec![t.table.clone(), t.rows.to_string()])
            .collect()
    }
    fn notes(&self) -> Vec<String> {
        vec![format!(
            "loaded {} synthetic borrowers (seed {}, as of {}) into \"{}\" in {:.1} s",
            self.borrowers, self.seed, self.as_of, self.database, self.seconds
        )]
    }
}
