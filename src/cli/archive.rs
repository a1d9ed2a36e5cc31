//! `derbes archive`: dump, verify, restore, list and expire age-encrypted archives.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::{
    number, unsigned, ConfirmArgs, LinkArgs, RecipientArgs, TicketArgs, OLDER_THAN, PERIOD,
};

pub(super) const EX_ARCHIVE: &str = "\
Examples:
  derbes archive dump --rule loan-records --ticket RET-1 \\
      -r age1... --out loans.age --yes
  derbes archive verify loans.age -i key.txt
  derbes archive expire --ticket RET-2 --dry-run
";

const EX_ARCHIVE_DUMP: &str = "\
Examples:
  derbes archive dump --subject 061211600012 --keep 5y --ticket DPO-17 \\
      -r age1... --out dpo-17.age --yes
  derbes archive dump --table server_logs --where-older-than 1y --keep 1y \\
      --ticket RET-3 --recipients-file keys.txt --out logs.age --yes --jobs 4
  derbes archive dump --rule loan-records --ticket RET-4 \\
      -r age1... --out loans.age --dry-run     # written, checked, removed
";

const EX_ARCHIVE_VERIFY: &str = "\
Examples:
  derbes archive verify dpo-17.age --identity key.txt
  derbes archive verify dpo-17.age -i ~/.ssh/id_ed25519   # an SSH private key
";

const EX_ARCHIVE_RESTORE: &str = "\
Examples:
  derbes archive restore dpo-17.age -i key.txt --into inspect \\
      --ticket DPO-18 --yes
  derbes archive restore dpo-17.age -i key.txt --ticket DPO-19 --dry-run
  derbes archive restore dpo-17.age -i key.txt --ticket DPO-20 --jobs 4 --yes
";

const EX_ARCHIVE_LIST: &str = "\
Examples:
  derbes archive list
  derbes archive list --expired
  derbes --format json archive list
";

const EX_ARCHIVE_EXPIRE: &str = "\
Examples:
  derbes archive expire --ticket RET-2026-11 --dry-run
  derbes archive expire --ticket RET-2026-11 --yes
";

#[derive(Debug, Subcommand)]
pub enum ArchiveCommand {
    /// Write selected rows to an age-encrypted archive (tar of CSV + manifest.json).
    ///
    /// The file is written 0600 under a temporary name, read back and checked, then
    /// catalogued in the derbes schema with an audit row. Nothing is deleted. Asks
    /// for confirmation on a terminal; off one it needs --yes. --dry-run is the real
    /// dump (written, read back, checked), after which the file is removed and
    /// nothing is catalogued or audited.
    #[command(after_help = EX_ARCHIVE_DUMP)]
    Dump(ArchiveDumpArgs),
    /// Decrypt an archive and check every member against its manifest and the catalogue.
    ///
    /// Exits 6 naming what is wrong: wrong key, truncation, a flipped byte, a member
    /// that does not match, a file the catalogue does not know.
    #[command(after_help = EX_ARCHIVE_VERIFY)]
    Verify(ArchiveVerifyArgs),
    /// Load an archive's rows back (COPY FROM), into their tables or a side schema.
    ///
    /// The archive is verified first; all rows load in one transaction, so a row that
    /// breaks a constraint is reported and nothing is loaded (with --jobs N, one
    /// transaction per member on N connections, parents first, resumable: see
    /// --jobs). An archive this
    /// database's catalogue does not know (e.g. a fresh database) is checked against
    /// its own manifest and loaded, with a warning. Generated columns are computed
    /// again; GENERATED ALWAYS identity columns keep their archived values.
    #[command(after_help = EX_ARCHIVE_RESTORE)]
    Restore(ArchiveRestoreArgs),
    /// List catalogued archives (or only those past keep-until, which expire destroys).
    #[command(after_help = EX_ARCHIVE_LIST)]
    List(ArchiveListArgs),
    /// Destroy archives past their keep-until: the file and its catalogue row go, an
    /// audit row records it.
    #[command(after_help = EX_ARCHIVE_EXPIRE)]
    Expire(ArchiveExpireArgs),
}

/// Which rows an archive holds: exactly one of --subject, --table, --rule.
#[derive(Debug, Args)]
#[group(id = "selection", required = true, multiple = false)]
pub struct ArchiveSelectionArgs {
    /// Every row of one subject, through the data map (IIN, BIN, phone, email or id:KEY).
    #[arg(long, value_name = "IDENTITY", group = "selection")]
    pub subject: Option<String>,

    /// The rows of one mapped table (all, or with --where-older-than).
    #[arg(long, value_name = "TABLE", group = "selection")]
    pub table: Option<String>,

    /// The expired rows of a retention rule of the data map (older than its keep).
    #[arg(long, value_name = "NAME", group = "selection")]
    pub rule: Option<String>,
}

#[derive(Debug, Args)]
pub struct ArchiveDumpArgs {
    #[command(flatten)]
    pub selection: ArchiveSelectionArgs,

    /// With --table or --subject: only rows older than this, each table's rows by its
    /// time_column in the data map: a period back from now (90d, 6mo, 1y: calendar
    /// months and years, as PostgreSQL's interval counts them) or a date (2024-01-01,
    /// midnight in the data map's time zone).
    #[arg(long, value_name = "PERIOD|DATE", conflicts_with = "rule", allow_hyphen_values = true,
          value_parser = unsigned(OLDER_THAN))]
    pub where_older_than: Option<String>,

    /// With --table --where-older-than: the timestamp column to age rows by
    /// (default: the table's time_column in the data map).
    #[arg(long, value_name = "COLUMN", requires_all = ["where_older_than", "table"])]
    pub on: Option<String>,

    /// The archive file to write (refuses to overwrite without --force).
    #[arg(long, value_name = "PATH")]
    pub out: PathBuf,

    /// Overwrite --out if it exists.
    #[arg(long)]
    pub force: bool,

    /// COPY streams run at once, each on its own connection, all reading one
    /// snapshot (as pg_dump -j does). Work is cut by partition, or by primary-key
    /// range for a large table without partitions. Default: the number of CPU
    /// cores, at most the number of partitions or ranges; 1 = one stream.
    #[arg(long, short = 'j', value_name = "N", allow_negative_numbers = true,
          value_parser = number::<u16>(1, 64))]
    pub jobs: Option<u16>,

    #[command(flatten)]
    pub to: RecipientArgs,

    /// How long the archive is kept, a calendar period (90d, 6mo, 5y); default: the
    /// archive_keep of the retention rule (--rule, or the table's rule with --table).
    #[arg(long, value_name = "PERIOD", allow_hyphen_values = true,
          value_parser = unsigned(PERIOD))]
    pub keep: Option<String>,

    #[command(flatten)]
    pub ticket: TicketArgs,

    #[command(flatten)]
    pub link: LinkArgs,

    #[command(flatten)]
    pub confirm: ConfirmArgs,
}

#[derive(Debug, Args)]
pub struct ArchiveVerifyArgs {
    /// The archive file.
    pub path: PathBuf,

    /// Age identity: the private key that opens the file, an age-keygen key file
    /// (`AGE-SECRET-KEY-1...`) or an SSH private key.
    #[arg(long, short = 'i', value_name = "KEYFILE")]
    pub identity: PathBuf,
}

#[derive(Debug, Args)]
pub struct ArchiveRestoreArgs {
    /// The archive file.
    pub path: PathBuf,

    /// Age identity: the private key that opens the file, an age-keygen key file
    /// (`AGE-SECRET-KEY-1...`) or an SSH private key.
    #[arg(long, short = 'i', value_name = "KEYFILE")]
    pub identity: PathBuf,

    /// Load into new tables of this schema for inspection (created LIKE the originals,
    /// or from the archive's column definitions where the database has none).
    #[arg(long, value_name = "SCHEMA")]
    pub into: Option<String>,

    /// Connections that load at once. 1 (the default): every row in one
    /// transaction, all or nothing. N > 1: each CSV member (a part of at most
    /// 8 MiB) in its own transaction on one of N connections, a table's members
    /// only after every member of the tables it references has committed; a
    /// failure leaves the members committed loaded, and the same command run again
    /// skips them and loads the rest. --dry-run always uses one transaction.
    #[arg(long, short = 'j', value_name = "N", default_value_t = 1,
          allow_negative_numbers = true, value_parser = number::<u16>(1, 64))]
    pub jobs: u16,

    /// Restore the rows of subjects erased after the archive was made too (a legal
    /// need, named by --ticket; audited). Without it those rows are left out and
    /// counted: an erased subject stays erased.
    #[arg(long)]
    pub restore_erased: bool,

    #[command(flatten)]
    pub ticket: TicketArgs,

    #[command(flatten)]
    pub link: LinkArgs,

    #[command(flatten)]
    pub confirm: ConfirmArgs,
}

#[derive(Debug, Args)]
pub struct ArchiveListArgs {
    /// Only archives past their keep-until (what `archive expire` would destroy).
    #[arg(long)]
    pub expired: bool,
}

#[derive(Debug, Args)]
pub struct ArchiveExpireArgs {
    #[command(flatten)]
    pub ticket: TicketArgs,

    #[command(flatten)]
    pub link: LinkArgs,

    #[command(flatten)]
    pub confirm: ConfirmArgs,
}
