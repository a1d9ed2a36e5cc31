//! `derbes report`: the DPO's report on one period.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::parse_date;

pub(super) const EX_REPORT: &str = "\
Examples:
  derbes report --out report.html                  # the last 90 days, in English
  derbes report --since 2026-10-01 --until 2026-12-31 --lang kk --out q4.html
  derbes report --format json --out report.json    # the same figures as JSON
";

/// The report's language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportLang {
    /// Kazakh.
    Kk,
    /// Russian.
    Ru,
    /// English.
    En,
}

/// `derbes report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// First day of the period, YYYY-MM-DD (default: 89 days before --until).
    #[arg(long, value_name = "DATE", value_parser = parse_date, allow_hyphen_values = true)]
    pub since: Option<chrono::NaiveDate>,

    /// Last day of the period, YYYY-MM-DD (default: today in the data map's time zone).
    #[arg(long, value_name = "DATE", value_parser = parse_date, allow_hyphen_values = true)]
    pub until: Option<chrono::NaiveDate>,

    /// Language of the page's labels and legal bases.
    #[arg(long, value_enum, default_value = "en")]
    pub lang: ReportLang,

    /// Where to write the page (required unless --format json, which prints to stdout
    /// without it). An existing file is replaced.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub out: Option<PathBuf>,
}
