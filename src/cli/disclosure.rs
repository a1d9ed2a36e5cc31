//! `derbes disclosure`: record and list transfers of a subject's data to third parties.

use clap::{Args, Subcommand, ValueEnum};

use super::{number, unsigned, ConfirmArgs, LinkArgs, TicketArgs, SINCE};

pub(super) const EX_DISCLOSURE: &str = "\
Examples:
  derbes disclosure record 061211600012 --recipient PKB --basis law \\
      --purpose services --categories name,iin,microcredit --ticket REQ-77
  derbes disclosure list 061211600012
  derbes --format json disclosure list --since 30d
";

const EX_DISCLOSURE_RECORD: &str = "\
Examples:
  derbes disclosure record 061211600012 --recipient PKB --basis law \\
      --purpose services --categories name,iin,microcredit --ticket REQ-77
  derbes disclosure record id:42 --recipient ScoringPlus --basis consent \\
      --purpose accuracy --at 2026-11-20 --ticket REQ-78 --dry-run
";

const EX_DISCLOSURE_LIST: &str = "\
Examples:
  derbes disclosure list 061211600012
  derbes disclosure list --since 30d --limit 500
  derbes --format json disclosure list id:42
";

#[derive(Debug, Subcommand)]
pub enum DisclosureCommand {
    /// Record that a subject's data was handed to a third party (policy 7.2).
    ///
    /// One row in the disclosure ledger and an audit row, in one transaction. The
    /// purpose must be one the data map declares under [purposes]; the categories
    /// are the map's category names (name, iin, phone, microcredit, ...).
    #[command(after_help = EX_DISCLOSURE_RECORD)]
    Record(DisclosureRecordArgs),
    /// List transfers: one subject's, or everyone's newest first.
    #[command(after_help = EX_DISCLOSURE_LIST)]
    List(DisclosureListArgs),
}

/// The ground of a transfer (policy 7.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DisclosureBasis {
    /// The subject consented to it for a service (7.2.1).
    Consent,
    /// The law requires it (7.2.2), e.g. reports to a credit bureau.
    Law,
    /// The resource was sold; the buyer takes over the policy's duties (7.2.3).
    Sale,
}

#[derive(Debug, Args)]
pub struct DisclosureRecordArgs {
    /// The subject: IIN, BIN, phone, email or id:KEY.
    #[arg(value_name = "IDENTITY")]
    pub identity: String,

    /// Who received the data: the organisation's name (kept in the audit log, so no
    /// IIN, BIN, phone or email in it).
    #[arg(long, value_name = "NAME")]
    pub recipient: String,

    /// On what ground.
    #[arg(long, value_enum)]
    pub basis: DisclosureBasis,

    /// What for: a purpose of the data map's [purposes] (e.g. services).
    #[arg(long, value_name = "PURPOSE")]
    pub purpose: String,

    /// The categories handed over, comma-separated (name,iin,microcredit).
    #[arg(long, value_name = "LIST")]
    pub categories: Option<String>,

    /// When the data was handed over: a date (midnight in the map's time zone), a
    /// timestamp, or a period back from now (2d); default now.
    #[arg(long, value_name = "WHEN", allow_hyphen_values = true, value_parser = unsigned(SINCE))]
    pub at: Option<String>,

    #[command(flatten)]
    pub ticket: TicketArgs,

    #[command(flatten)]
    pub link: LinkArgs,

    #[command(flatten)]
    pub confirm: ConfirmArgs,
}

#[derive(Debug, Args)]
pub struct DisclosureListArgs {
    /// Only this subject's transfers (IIN, BIN, phone, email or id:KEY).
    #[arg(value_name = "IDENTITY")]
    pub identity: Option<String>,

    /// Only transfers since: a period back from now (30d) or a date (2026-11-01).
    #[arg(long, value_name = "WHEN", allow_hyphen_values = true, value_parser = unsigned(SINCE))]
    pub since: Option<String>,

    /// At most this many rows (the newest).
    #[arg(long, default_value_t = 100, allow_negative_numbers = true,
          value_parser = number::<i64>(1, i64::MAX))]
    pub limit: i64,
}
