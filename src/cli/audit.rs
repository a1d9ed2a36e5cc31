//! `derbes audit`: read the audit trail, print its head, verify its chain.

use clap::{Args, Subcommand};

use super::{number, unsigned, SINCE};

pub(super) const EX_AUDIT: &str = "\
Examples:
  derbes audit log --since 7d --action block
  derbes audit verify
";

const EX_AUDIT_LOG: &str = "\
Examples:
  derbes audit log --since 7d --action block
  derbes audit log --ticket INC-4711
  derbes --format csv audit log --since 2026-11-01 --limit 1000
";

const EX_AUDIT_VERIFY: &str = "\
Examples:
  derbes audit verify                       # exit 6 names the first bad record
  derbes audit verify --head 42:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
  derbes audit verify --sealed-from 120     # the key's seals start at record 120
  derbes --format json audit verify
";

const EX_AUDIT_HEAD: &str = "\
Examples:
  derbes audit head                         # the head; its last line is the anchor SEQ:HASH
  derbes audit head | tail -n1 >> /srv/anchors/audit-heads   # from cron, off the database server
";

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// List audit records, newest last.
    #[command(after_help = EX_AUDIT_LOG)]
    Log(AuditLogArgs),
    /// Print the chain head (the newest record's sequence number and hash) to keep elsewhere.
    ///
    /// The last line is the anchor, SEQ:HASH, for a ticket or a cron log. Kept outside
    /// the database, it lets `audit verify --head` detect that the newest records were
    /// deleted or the log truncated, which the chain alone cannot show.
    #[command(after_help = EX_AUDIT_HEAD)]
    Head,
    /// Recompute the hash chain; exits 6 naming the first bad record.
    ///
    /// With --head, also checks that the log still holds each anchored head (same
    /// sequence number, same hash): a log that ends before it (newest records
    /// deleted, the table truncated) or differs there fails, exit 6. Without it,
    /// deleting the newest records cannot be detected.
    #[command(after_help = EX_AUDIT_VERIFY)]
    Verify(AuditVerifyArgs),
}

#[derive(Debug, Args)]
pub struct AuditVerifyArgs {
    /// A head printed earlier by `derbes audit head` (or recorded in an archive's
    /// manifest), as SEQ:HASH: the record's sequence number, a colon, its 64-hex-digit
    /// hash. Repeatable.
    #[arg(long = "head", value_name = "SEQ:HASH", value_parser = parse_head)]
    pub heads: Vec<crate::pg::audit::Head>,

    /// With the audit key set (DERBES_AUDIT_KEY or DERBES_AUDIT_KEY_FILE), every
    /// record must carry a seal the key opens; records before SEQ, appended before
    /// the key was set, are accepted without one.
    #[arg(long, value_name = "SEQ", default_value_t = 1, value_parser = clap::value_parser!(i64).range(1..))]
    pub sealed_from: i64,
}

fn parse_head(text: &str) -> Result<crate::pg::audit::Head, String> {
    text.parse()
}

#[derive(Debug, Args)]
pub struct AuditLogArgs {
    /// Only records of this action (e.g. block, export).
    #[arg(long)]
    pub action: Option<String>,

    /// Only records with this ticket.
    #[arg(long)]
    pub ticket: Option<String>,

    /// Only records newer than this: a period back from now (24h, 7d, 6mo) or a
    /// date (2026-11-01).
    #[arg(long, value_name = "WHEN", allow_hyphen_values = true, value_parser = unsigned(SINCE))]
    pub since: Option<String>,

    /// At most this many records (the newest).
    #[arg(long, default_value_t = 100, allow_negative_numbers = true,
          value_parser = number::<i64>(1, i64::MAX))]
    pub limit: i64,
}
