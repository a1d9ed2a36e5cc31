//! The reference schema of a 1Kredit-like lender and a synthetic population to fill
//! it, in the spirit of `pgbench -i`: realistic Kazakh and Russian borrowers with
//! valid IINs, their loans, devices, logs, consents and the rest of what the privacy
//! policy lists, deterministic from the seed, the as-of date and the sizes.
//!
//! Every table is written by one `COPY ... FROM STDIN` streamed in chunks, never a
//! round trip per row and never a whole table in memory. Each borrower's rows for a
//! table come from their own random stream (seed, borrower, table), so a table can
//! be generated on its own pass and still agree with the others; a child table that
//! needs its parent's ids (payments of loans, sessions of devices) replays the
//! parent's stream for that borrower.

pub mod guard;
mod load;
pub(crate) mod names;
mod person;
mod row;
mod shared;
mod world;
mod writers;

use chrono::{Datelike, NaiveDate};
use thiserror::Error;
use tokio_postgres::Client;

use load::{load, quote, TABLES};
// What the generator's tests reach through `super::*`.
#[cfg(test)]
use {
    person::{Person, Status},
    row::{kz_iban, Row},
    std::collections::HashSet,
    world::World,
};

/// The reference schema: every personal-data category of the policy in the tables
/// of an MFO's production database.
pub const REFERENCE_SCHEMA: &str = include_str!("../../../sql/reference/schema.sql");

/// Average server-log rows per borrower unless told otherwise.
pub const DEFAULT_LOG_ROWS_PER_BORROWER: u32 = 20;

/// The largest population `generate` makes: phone numbers and email suffixes are
/// drawn without repetition from a space of this size.
pub const MAX_BORROWERS: u64 = 10_000_000;

/// What to generate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SampleOptions {
    pub borrowers: u64,
    pub seed: u64,
    /// The day the population is seen from: every timestamp is before its midnight
    /// (UTC), ages and minors are counted on it.
    pub as_of: NaiveDate,
    /// Average server-log rows per borrower (about a tenth of them anonymous).
    pub log_rows_per_borrower: u32,
}

impl SampleOptions {
    pub fn new(borrowers: u64, seed: u64, as_of: NaiveDate) -> SampleOptions {
        SampleOptions {
            borrowers,
            seed,
            as_of,
            log_rows_per_borrower: DEFAULT_LOG_ROWS_PER_BORROWER,
        }
    }
}

/// Rows written, per table, in load order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SampleReport {
    pub tables: Vec<(String, u64)>,
}

impl SampleReport {
    pub fn total_rows(&self) -> u64 {
        self.tables.iter().map(|(_, rows)| rows).sum()
    }
}

#[derive(Debug, Error)]
pub enum SampleError {
    #[error("could not {step}: {}; check that the database is reachable and holds the reference schema (load it into an empty database first)", crate::pg::db::describe(.source))]
    Postgres {
        step: String,
        source: tokio_postgres::Error,
    },
    #[error("table {table} already has rows; generate into a fresh database holding only the reference schema")]
    NotEmpty { table: &'static str },
    #[error(
        "{asked} borrowers asked for, at most {MAX_BORROWERS} can be generated; ask for fewer"
    )]
    TooManyBorrowers { asked: u64 },
    #[error("{asked} log rows per borrower asked for, at most 10000 are supported; ask for fewer")]
    TooManyLogRows { asked: u32 },
    #[error("the as-of date must lie between 1950 and 2090 so that every borrower has a valid IIN; pick another date")]
    AsOfOutOfRange,
}

fn postgres(step: impl Into<String>) -> impl FnOnce(tokio_postgres::Error) -> SampleError {
    let step = step.into();
    move |source| SampleError::Postgres { step, source }
}

/// Creates the reference schema's tables in the connected database's current schema.
pub async fn load_reference_schema(client: &Client) -> Result<(), SampleError> {
    client
        .batch_execute(REFERENCE_SCHEMA)
        .await
        .map_err(postgres("load the reference schema"))
}

/// Fills the reference schema (already loaded, empty) with `opts.borrowers`
/// borrowers and everything that hangs off them, in one transaction: a failure
/// leaves the database as it was. `progress` hears the table being loaded and its
/// rows so far, after every chunk.
pub async fn generate(
    client: &Client,
    opts: &SampleOptions,
    progress: &mut dyn FnMut(&str, u64),
) -> Result<SampleReport, SampleError> {
    if opts.borrowers > MAX_BORROWERS {
        return Err(SampleError::TooManyBorrowers {
            asked: opts.borrowers,
        });
    }
    if opts.log_rows_per_borrower > 10_000 {
        return Err(SampleError::TooManyLogRows {
            asked: opts.log_rows_per_borrower,
        });
    }
    if !(1950..=2090).contains(&opts.as_of.year()) {
        return Err(SampleError::AsOfOutOfRange);
    }
    client
        .batch_execute("BEGIN")
        .await
        .map_err(postgres("start the load transaction"))?;
    match load(client, opts, progress).await {
        Ok(report) => {
            client
                .batch_execute("COMMIT")
                .await
                .map_err(postgres("commit the loaded rows"))?;
            let tables: Vec<String> = TABLES.iter().map(|(table, _)| quote(table)).collect();
            client
                .batch_execute(&format!("ANALYZE {}", tables.join(", ")))
                .await
                .map_err(postgres("analyze the loaded tables"))?;
            Ok(report)
        }
        Err(error) => {
            // The load's own error is the one worth reporting; a failed rollback
            // means the connection is gone, which ends the transaction anyway.
            let _ = client.batch_execute("ROLLBACK").await;
            Err(error)
        }
    }
}

#[cfg(test)]
mod tests;
