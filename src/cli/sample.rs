//! `derbes sample`: the reference schema and a synthetic population.

use clap::{Args, Subcommand};

use super::{number, parse_date};

pub(super) const EX_SAMPLE: &str = "\
Examples:
  derbes --db postgres:///scratch sample init --borrowers 1000 --seed 42
  derbes --db postgres:///scratch sample init --as-of 2026-11-01 \\
      --force --yes
";

#[derive(Debug, Subcommand)]
pub enum SampleCommand {
    /// Create the reference schema and fill it with synthetic borrowers (like pgbench -i).
    ///
    /// Refuses a database that already holds tables in schema public unless --force,
    /// which drops them first, and only when they are an untouched sample this command
    /// made and derbes.audit_log is empty. Never point this at production.
    #[command(after_help = EX_SAMPLE)]
    Init(SampleInitArgs),
}

#[derive(Debug, Args)]
pub struct SampleInitArgs {
    /// How many borrowers to generate.
    #[arg(long, default_value_t = 1000, allow_negative_numbers = true,
          value_parser = number::<u64>(0, i64::MAX))]
    pub borrowers: u64,

    /// Seed of the generator: the same seed gives the same population.
    #[arg(long, default_value_t = 42, allow_negative_numbers = true,
          value_parser = number::<u64>(0, i64::MAX))]
    pub seed: u64,

    /// Average server-log rows per borrower.
    #[arg(long, default_value_t = 20, allow_negative_numbers = true,
          value_parser = number::<u32>(0, u32::MAX as i64))]
    pub logs_per_borrower: u32,

    /// Date the population is generated as of (YYYY-MM-DD); defaults to today.
    #[arg(long, value_name = "DATE", value_parser = parse_date, allow_hyphen_values = true)]
    pub as_of: Option<chrono::NaiveDate>,

    /// Drop the existing tables of schema public first (only an untouched sample
    /// made by this command; confirmation on a terminal, --yes off it).
    #[arg(long)]
    pub force: bool,

    /// With --force: do not ask for confirmation (needed when not on a terminal).
    #[arg(short = 'y', long, requires = "force")]
    pub yes: bool,
}
