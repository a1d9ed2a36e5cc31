//! `derbes map`: check the data map against the database, or draft one.

use std::path::PathBuf;

use clap::{Args, Subcommand};

pub(super) const EX_MAP: &str = "\
Examples:
  derbes --map examples/datamap.toml map check
  derbes map init --out draft.toml
";

const EX_MAP_CHECK: &str = "\
Examples:
  derbes --map examples/datamap.toml map check
  derbes --map shop.toml map check --strict      # unbacked links are errors
  derbes --format json map check                 # one JSON document for scripts
";

const EX_MAP_INIT: &str = "\
Examples:
  derbes map init --out draft.toml
  derbes map init --schema crm --schema sales --subject-table crm.klienty
  derbes map init --no-sample --out draft.toml   # names and types only
";

#[derive(Debug, Subcommand)]
pub enum MapCommand {
    /// Validate the data map against the live catalogue and print the delete order.
    ///
    /// Checks that tables and columns exist, that types fit the declared categories,
    /// that every link step is backed by a foreign key (either direction; on a
    /// partitioned table, one on every partition counts) and indexed, and reports
    /// columns that look personal but are not mapped. All problems are reported in
    /// one run. Exits 6 when the map does not fit the database.
    #[command(after_help = EX_MAP_CHECK)]
    Check(MapCheckArgs),
    /// Draft a data map from the database catalogue (review it before use).
    ///
    /// Reads every non-system schema, guesses the subject table (named in the draft's
    /// header with the reason), drafts links from foreign keys in both directions, and
    /// finds personal columns by name and by sampling a few hundred rows per table
    /// (values are never printed). Tables with no path to the subject are listed as
    /// comments. The draft is checked as `map check` would (exit 6 on a problem).
    #[command(after_help = EX_MAP_INIT)]
    Init(MapInitArgs),
}

#[derive(Debug, Args)]
pub struct MapCheckArgs {
    /// Treat a link step that no foreign key backs as an error (exit 6), not a warning.
    #[arg(long)]
    pub strict: bool,
}

#[derive(Debug, Args)]
pub struct MapInitArgs {
    /// The table that holds one row per data subject (`table` or `schema.table`);
    /// guessed from table names and foreign keys if absent.
    #[arg(long, value_name = "TABLE")]
    pub subject_table: Option<String>,

    /// Read only this schema (repeat for several); default: every schema but the
    /// system ones.
    #[arg(long = "schema", value_name = "SCHEMA")]
    pub schemas: Vec<String>,

    /// Guess personal columns from names and types only: sample no rows.
    #[arg(long)]
    pub no_sample: bool,

    /// Write the draft here instead of stdout (refuses to overwrite without --force).
    #[arg(long, value_name = "PATH")]
    pub out: Option<PathBuf>,

    /// Overwrite --out if it exists.
    #[arg(long)]
    pub force: bool,
}
