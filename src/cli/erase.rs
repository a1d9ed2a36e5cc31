//! `derbes erase` and `derbes anonymise`: one subject erased, or one subject or a
//! retention rule's cohort masked.

use std::path::PathBuf;

use clap::Args;

use super::{
    number, parse_batch_size, unsigned, ConfirmArgs, LinkArgs, RecipientArgs, TicketArgs, DURATION,
    PERIOD,
};
use crate::pg::change::BatchSize;

pub(super) const EX_ERASE: &str = "\
Examples:
  derbes erase 061211600012 --ticket REQ-2291 --archive-to age1... --dry-run
  derbes erase id:42 --ticket REQ-2292 --recipients-file dpo.keys --yes
  derbes erase aigerim@example.kz --ticket REQ-2293 -r age1... --key-file mask.key \\
      --archive-out /srv/archive/req-2293.age
";

pub(super) const EX_ANONYMISE: &str = "\
Examples:
  derbes anonymise id:42 --ticket REQ-2301 --key-file mask.key --dry-run
  derbes anonymise --rule traffic --ticket JOB-7 --yes --report
  derbes anonymise --rule traffic --ticket JOB-7 --batch-size 5000 --lock-timeout 2s --yes
";

/// `derbes erase`.
#[derive(Debug, Args)]
pub struct EraseArgs {
    /// The subject: IIN, BIN, phone, email or id:KEY (the subject table's key).
    #[arg(value_name = "IDENTITY")]
    pub identity: String,

    /// Age recipient of the archive of the subject's rows (`age1...` or an SSH public key); repeatable.
    #[arg(long = "archive-to", value_name = "RECIPIENT")]
    pub archive_to: Vec<String>,

    #[command(flatten)]
    pub recipients: RecipientArgs,

    /// Where to write the archive; default ./derbes-erase-<table>-<key>-<time>.age.
    #[arg(long, value_name = "FILE")]
    pub archive_out: Option<PathBuf>,

    /// How long the archive is kept (5y); default the longest archive_keep of the map's rules.
    #[arg(long, value_name = "PERIOD", allow_hyphen_values = true,
          value_parser = unsigned(PERIOD))]
    pub keep: Option<String>,

    /// File holding the masking key of hmac and fake:deterministic (else
    /// DERBES_MASK_KEY): at least 32 random bytes as base64, hex or raw (make one with
    /// `openssl rand -base64 32 > mask.key`); never printed.
    #[arg(long, value_name = "FILE")]
    pub key_file: Option<PathBuf>,

    /// Erase a subject the erasure ledger says was erased before (rows that
    /// arrived since, e.g. a returning customer); without it such a subject is
    /// reported as erased already (exit 3) and nothing changes.
    #[arg(long)]
    pub again: bool,

    #[command(flatten)]
    pub ticket: TicketArgs,

    #[command(flatten)]
    pub link: LinkArgs,

    #[command(flatten)]
    pub confirm: ConfirmArgs,
}

/// `derbes anonymise`.
#[derive(Debug, Args)]
pub struct AnonymiseArgs {
    /// One subject: IIN, BIN, phone, email or id:KEY. Give this or --rule.
    #[arg(
        value_name = "IDENTITY",
        required_unless_present = "rule",
        conflicts_with = "rule"
    )]
    pub identity: Option<String>,

    /// A retention rule: its tables' rows older than the rule's keep period (by each
    /// table's time column) are the cohort.
    #[arg(long, value_name = "NAME")]
    pub rule: Option<String>,

    /// File holding the masking key of hmac and fake:deterministic (else
    /// DERBES_MASK_KEY): at least 32 random bytes as base64, hex or raw (make one with
    /// `openssl rand -base64 32 > mask.key`); never printed.
    #[arg(long, value_name = "FILE")]
    pub key_file: Option<PathBuf>,

    /// Keys per batch (one short transaction each) of a cohort: a number, or
    /// `auto` for batches of about 100 ms each.
    #[arg(long, default_value = "auto", value_name = "N|auto", value_parser = parse_batch_size,
          allow_negative_numbers = true)]
    pub batch_size: BatchSize,

    /// How long one batch waits for a row lock before giving up (lock_timeout).
    #[arg(long, default_value = "5s", value_name = "DURATION", allow_hyphen_values = true,
          value_parser = unsigned(DURATION))]
    pub lock_timeout: String,

    /// Streams that mask a cohort at once (--rule), each its own key range on its
    /// own connection: faster where the server has cores to spare, and a writer
    /// still waits for one batch at most. A resumed run continues as it was cut.
    #[arg(long, short = 'j', value_name = "N", default_value_t = 1,
          allow_negative_numbers = true, value_parser = number::<u16>(1, 64))]
    pub jobs: u16,

    /// Mask a subject anonymised before once more (after the data map gained
    /// columns): hmac pseudonyms are hashed again and fakes redrawn. Without it a
    /// second anonymisation of the same subject is refused (exit 5).
    #[arg(long)]
    pub again: bool,

    /// After the run, print k: the smallest group of subjects sharing the map's
    /// quasi-identifiers (columns with quasi_identifier = true).
    #[arg(long)]
    pub report: bool,

    #[command(flatten)]
    pub ticket: TicketArgs,

    #[command(flatten)]
    pub link: LinkArgs,

    #[command(flatten)]
    pub confirm: ConfirmArgs,
}
