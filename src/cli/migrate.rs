//! `derbes migrate`: install or upgrade derbes' own schema.

use clap::Args;

pub(super) const EX_MIGRATE: &str = "\
Examples:
  derbes migrate --dry-run        # which migrations would run
  derbes migrate                  # install or upgrade the derbes schema
";

#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// Show which migrations would run, change nothing.
    #[arg(long)]
    pub dry_run: bool,
}
