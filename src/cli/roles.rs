//! `derbes roles`: the SQL of the least-privilege group roles.

use clap::Args;

pub(super) const EX_ROLES: &str = "\
Examples:
  derbes roles --print-sql
  derbes --map datamap.toml roles --print-sql --prefix lender
";

/// `derbes roles`.
#[derive(Debug, Args)]
pub struct RolesArgs {
    /// Print the SQL that creates the roles and their grants (nothing is run).
    #[arg(long, required = true)]
    pub print_sql: bool,

    /// Role name prefix: the roles are PREFIX_support, PREFIX_oncall, PREFIX_dpo.
    #[arg(long, value_name = "PREFIX", default_value = "derbes")]
    pub prefix: String,
}
