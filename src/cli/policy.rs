//! `derbes policy`: policy versions, the subjects' objections, the notice status.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::{parse_date, ConfirmArgs, LinkArgs, TicketArgs};

pub(super) const EX_POLICY: &str = "\
Examples:
  derbes policy publish 2.2 --effective 2027-01-15 --text policy-2.2.txt --ticket POL-22 --dry-run
  derbes policy objection 061211600012 --version 2.2 --document MAIL-2027-0042 --ticket REQ-90
  derbes --format json policy status 2.2
";

const EX_POLICY_PUBLISH: &str = "\
Examples:
  derbes policy publish 2.2 --effective 2027-01-15 --text policy-2.2.txt --ticket POL-22 --dry-run
  derbes policy publish 2.2 --effective 2027-01-15 --text policy-2.2.txt --ticket POL-22 --yes
";

const EX_POLICY_OBJECTION: &str = "\
Examples:
  derbes policy objection 061211600012 --version 2.2 --document MAIL-2027-0042 --ticket REQ-90
  derbes policy objection id:42 --version 2.2 --document MAIL-2027-0043 --ticket REQ-91 --dry-run
";

const EX_POLICY_STATUS: &str = "\
Examples:
  derbes policy status 2.2
  derbes --format json policy status 2.1
";

#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Record a new policy version and queue a notice of it for every active subject.
    ///
    /// Inserts the version into the versions table and one notice row per active
    /// subject (the data map's subject status; every subject when it names none) in
    /// one statement and one transaction, with an audit row. The effective date is
    /// when the change takes effect: from then on a subject who has not objected
    /// counts as consenting (10.5). It is kept in derbes.policy_publications.
    // `--version` names the policy version here, not derbes'.
    #[command(after_help = EX_POLICY_PUBLISH, disable_version_flag = true)]
    Publish(PolicyPublishArgs),
    /// Record a subject's written objection to a policy version (policy 10.4).
    ///
    /// Marks the subject's notice of the version as objected, with the reference of
    /// the written objection (the email or letter). Refused (exit 5) when the subject
    /// was sent no notice of that version or already objected.
    // `--version` names the policy version here, not derbes'.
    #[command(after_help = EX_POLICY_OBJECTION, disable_version_flag = true)]
    Objection(PolicyObjectionArgs),
    /// Count the notices of a version: notified, objected, silent (policy 10.5).
    ///
    /// Silent subjects (notified, no objection) count as consenting once the version
    /// is in effect; the report says whether it is. Active subjects without a notice
    /// (who joined after publication) are counted apart.
    // `--version` names the policy version here, not derbes'.
    #[command(after_help = EX_POLICY_STATUS, disable_version_flag = true)]
    Status(PolicyStatusArgs),
}

#[derive(Debug, Args)]
pub struct PolicyPublishArgs {
    /// The version label, e.g. 2.2 (letters, digits, `.`, `-`, `_`).
    #[arg(value_name = "VERSION")]
    pub version: String,

    /// The date the version takes effect (YYYY-MM-DD, today or later): the end of
    /// the notice period, after which silence counts as consent.
    #[arg(long, value_name = "DATE", value_parser = parse_date, allow_hyphen_values = true)]
    pub effective: chrono::NaiveDate,

    /// The published text of the policy; its SHA-256 is recorded (required when the
    /// versions table has a text_sha256 column in the data map).
    #[arg(long, value_name = "FILE")]
    pub text: Option<PathBuf>,

    #[command(flatten)]
    pub ticket: TicketArgs,

    #[command(flatten)]
    pub link: LinkArgs,

    #[command(flatten)]
    pub confirm: ConfirmArgs,
}

#[derive(Debug, Args)]
pub struct PolicyObjectionArgs {
    /// The subject: IIN, BIN, phone, email or id:KEY.
    #[arg(value_name = "IDENTITY")]
    pub identity: String,

    /// The policy version objected to.
    #[arg(long, value_name = "VERSION")]
    pub version: String,

    /// Reference of the written objection (the email or letter, e.g. MAIL-2027-0042).
    #[arg(long, value_name = "REF")]
    pub document: String,

    #[command(flatten)]
    pub ticket: TicketArgs,

    #[command(flatten)]
    pub link: LinkArgs,

    #[command(flatten)]
    pub confirm: ConfirmArgs,
}

#[derive(Debug, Args)]
pub struct PolicyStatusArgs {
    /// The policy version to count.
    #[arg(value_name = "VERSION")]
    pub version: String,
}
