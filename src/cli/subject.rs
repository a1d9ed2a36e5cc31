//! `derbes subject`: find a data subject and show what is held.

use clap::{Args, Subcommand};

pub(super) const EX_SUBJECT_SHOW: &str = "\
Examples:
  derbes subject show 061211600012
  derbes subject show phone:+77012345678
  derbes --format json subject show aigerim@example.kz
";

#[derive(Debug, Subcommand)]
pub enum SubjectCommand {
    /// One screen about a subject: identity, status, minor flag, data held per
    /// category with its date span, open loans, consents and disclosures.
    ///
    /// Exits 3 when nobody matches and 4 when several subjects do (a shared phone,
    /// a duplicate email); on a terminal it offers a choice instead.
    #[command(after_help = EX_SUBJECT_SHOW)]
    Show(SubjectShowArgs),
}

#[derive(Debug, Args)]
pub struct SubjectShowArgs {
    /// IIN (a person's 12-digit individual identification number, check digit
    /// verified), BIN (a business's 12-digit number), phone (+7 701 234 56 78,
    /// 87012345678, 7012345678), email, or id:KEY (the subject table's primary key).
    /// A prefix iin:, bin:, phone:, email: says the kind where it is ambiguous.
    #[arg(value_name = "IDENTITY")]
    pub identity: String,
}
