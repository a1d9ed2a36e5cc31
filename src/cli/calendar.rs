//! `derbes calendar`, and the `--calendar` file that request and breach deadlines
//! are counted on.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::number;

pub(super) const EX_CALENDAR: &str = "\
Examples:
  derbes calendar show 2027
  derbes calendar show 2026 --format json
";

/// The working-day calendar deadlines are counted on.
#[derive(Debug, Args, Clone, Default)]
pub struct CalendarArgs {
    /// A calendar file (TOML) that replaces the built-in Kazakh rules and yearly
    /// facts (transfer orders, Kurban Ait), or lists every day off of the years it
    /// covers; see examples/kz-calendar-rules.toml for the format and sources.
    #[arg(
        long,
        env = "DERBES_CALENDAR",
        value_name = "FILE",
        hide_env_values = true
    )]
    pub calendar: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum CalendarCommand {
    /// List a year's days off (holidays, days moved from a holiday on a weekend,
    /// transfers) and weekend days made working, each with its source.
    ///
    /// A year whose transfer orders and Kurban Ait date are not known yet is
    /// computed by the law's rules and marked provisional; deadlines counted across
    /// it are provisional too.
    #[command(after_help = EX_CALENDAR)]
    Show(CalendarShowArgs),
}

#[derive(Debug, Args)]
pub struct CalendarShowArgs {
    /// The year, e.g. 2027.
    #[arg(allow_negative_numbers = true, value_parser = number::<i32>(1992, 2200))]
    pub year: i32,

    #[command(flatten)]
    pub calendar: CalendarArgs,
}
