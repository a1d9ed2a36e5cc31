//! `derbes purge`: delete, or archive then delete, rows past their retention period.

use std::path::PathBuf;

use clap::Args;

use super::{
    number, parse_batch_size, unsigned, ConfirmArgs, LinkArgs, RecipientArgs, TicketArgs, DURATION,
    SINCE,
};
use crate::pg::change::BatchSize;

pub(super) const EX_PURGE: &str = "\
Examples:
  derbes purge --dry-run --ticket RET-2026-11
  derbes purge --rule server-logs --rule location --yes --max-duration 30m --format json \\
      --ticket RET-NIGHTLY
  derbes purge --yes --archive-dir /srv/archives --recipients-file dpo.keys \\
      --batch-size 5000 --pause 100ms --ticket RET-2026-11
";

#[derive(Debug, Args)]
pub struct PurgeArgs {
    /// Only this retention rule (repeatable); default every rule some table names.
    #[arg(long = "rule", value_name = "NAME")]
    pub rules: Vec<String>,

    /// Keys per batch (one short transaction each): a number, or `auto` for
    /// batches of about 100 ms each.
    #[arg(long, default_value = "auto", value_name = "N|auto", value_parser = parse_batch_size,
          allow_negative_numbers = true)]
    pub batch_size: BatchSize,

    /// Sleep between batches, leaving the server to other work: 100ms, 1s.
    #[arg(long, value_name = "DURATION", allow_hyphen_values = true,
          value_parser = unsigned(DURATION))]
    pub pause: Option<String>,

    /// Stop cleanly between batches after this long (30m, 2h); the next run resumes.
    #[arg(long, value_name = "DURATION", allow_hyphen_values = true,
          value_parser = unsigned(DURATION))]
    pub max_duration: Option<String>,

    /// Compute the cut-offs as of this date (2026-11-01, midnight in the data map's
    /// time zone) or time (RFC 3339) instead of now.
    #[arg(long, value_name = "DATE", allow_hyphen_values = true, value_parser = unsigned(SINCE))]
    pub as_of: Option<String>,

    /// How long a batch waits for a row lock before it fails (lock_timeout).
    #[arg(long, value_name = "DURATION", default_value = "2s", allow_hyphen_values = true,
          value_parser = unsigned(DURATION))]
    pub lock_timeout: String,

    /// Directory for the archives of archive-then-delete rules (one file per batch
    /// or expired partition, catalogued in derbes.archives).
    #[arg(long, value_name = "DIR")]
    pub archive_dir: Option<PathBuf>,

    /// COPY streams, each on its own connection in one snapshot, that archive an
    /// expired partition before it is dropped (cut by primary-key range). Default:
    /// the number of CPU cores. A batch's archive is one stream: it holds exactly
    /// the keys the batch then deletes. Given, it is also the streams that delete a
    /// delete rule's due rows at once, each its own key range on its own connection
    /// (one stream unless given); a resumed run continues as it was cut.
    #[arg(long, short = 'j', value_name = "N", allow_negative_numbers = true,
          value_parser = number::<u16>(1, 64))]
    pub jobs: Option<u16>,

    #[command(flatten)]
    pub recipients: RecipientArgs,

    /// File holding the masking key of `hmac` columns, for rules whose action is
    /// `anonymise` (else DERBES_MASK_KEY): at least 32 random bytes as base64, hex or
    /// raw; never printed.
    #[arg(long, value_name = "FILE")]
    pub key_file: Option<PathBuf>,

    #[command(flatten)]
    pub ticket: TicketArgs,

    #[command(flatten)]
    pub link: LinkArgs,

    #[command(flatten)]
    pub confirm: ConfirmArgs,
}
