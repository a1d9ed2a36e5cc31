//! Command-line definitions (clap derive types only). The logic lives in
//! `commands/`, which turns these into plain option structs for the library.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::error::EXIT_CODES_HELP;

const ABOUT: &str = "Keep the privacy policy's promises against the production PostgreSQL: \
subject-access exports, blocking, archives and an audit trail of every change.";

const AFTER_HELP: &str = "\
Connection: --db or DATABASE_URL (postgres://user@host/db?sslmode=verify-full), or libpq's
PGHOST, PGPORT, PGUSER, PGDATABASE, PGPASSWORD, PGSSLMODE, PGSSLROOTCERT, PGSERVICE and ~/.pgpass.

Start here:
  derbes migrate                    install or upgrade the derbes schema
  derbes --map datamap.toml map check   check the data map against the database
  derbes audit verify               check the audit trail has not been edited
";

/// derbes: the privacy-policy toolkit for the lender's PostgreSQL.
#[derive(Debug, Parser)]
#[command(name = "derbes", version, about = ABOUT, long_about = None)]
#[command(after_help = AFTER_HELP, after_long_help = format!("{AFTER_HELP}\n{EXIT_CODES_HELP}"))]
#[command(propagate_version = true, arg_required_else_help = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalOpts,

    #[command(subcommand)]
    pub command: Command,
}

/// Options every command understands.
#[derive(Debug, Args, Clone)]
pub struct GlobalOpts {
    /// Database to work on (URL or libpq keyword string); writes go here.
    #[arg(
        long,
        global = true,
        env = "DATABASE_URL",
        value_name = "URL",
        hide_env_values = true
    )]
    pub db: Option<String>,

    /// Replica for reads that need not be fresh (exports); defaults to --db.
    #[arg(
        long,
        global = true,
        env = "DERBES_READ_DATABASE_URL",
        value_name = "URL",
        hide_env_values = true
    )]
    pub read_db: Option<String>,

    /// The data map: where personal data lives in this database.
    #[arg(long, global = true, env = "DERBES_MAP", value_name = "PATH")]
    pub map: Option<PathBuf>,

    /// Output format; table on a terminal, json for scripts.
    #[arg(long, global = true, value_enum, default_value_t = Format::Table)]
    pub format: Format,

    /// Who is running this; recorded in every audit row. Defaults to the OS user.
    #[arg(long, global = true, env = "DERBES_OPERATOR", value_name = "NAME")]
    pub operator: Option<String>,

    /// More diagnostics on stderr (-v, -vv). Never prints personal data.
    #[arg(short, long, global = true, action = clap::ArgAction::Count, conflicts_with = "quiet")]
    pub verbose: u8,

    /// Only errors on stderr.
    #[arg(short, long, global = true)]
    pub quiet: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Table,
    Json,
    Csv,
}

/// Confirmation for commands that change data.
#[derive(Debug, Args, Clone)]
pub struct ConfirmArgs {
    /// Do everything, report the counts, then roll back: nothing changes.
    #[arg(long)]
    pub dry_run: bool,

    /// Do not ask for confirmation (needed when not on a terminal).
    #[arg(short = 'y', long)]
    pub yes: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Install or upgrade derbes' own schema (audit log, ...) in the database.
    Migrate(MigrateArgs),
    /// Work with the data map: check it against the database, or draft one.
    #[command(subcommand)]
    Map(MapCommand),
    /// Read and verify the append-only, hash-chained audit trail.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Load the reference schema and a synthetic population (demo, tests, benchmarks).
    #[command(subcommand)]
    Sample(SampleCommand),
    /// Age-encrypted archives of rows the law says to keep: dump, verify, restore, expire.
    #[command(subcommand)]
    Archive(ArchiveCommand),
    /// Find a data subject by IIN, BIN, phone, email or id:KEY and show what is held.
    #[command(subcommand)]
    Subject(SubjectCommand),
    /// Export everything held about one subject as an age-encrypted bundle (access request).
    Export(ExportArgs),
    /// Block accounts at once: by identity, from a file, by IP range or device (policy 5.3, 5.7).
    ///
    /// Sets what the data map's [block] section declares (status, revoked sessions,
    /// token version) in one transaction, with a history row per subject and one audit row.
    Block(BlockArgs),
    /// Restore blocked accounts on the subject's written application (policy 5.7).
    Unblock(UnblockArgs),
    /// List blocks: who is blocked, why, by whom, when, under which ticket.
    Blocks(BlocksArgs),
    /// Print shell completions or the man page.
    Completions(CompletionsArgs),
}

#[derive(Debug, Subcommand)]
pub enum SubjectCommand {
    /// One screen about a subject: identity, status, minor flag, data held per
    /// category with its date span, open loans, consents and disclosures.
    ///
    /// Exits 3 when nobody matches and 4 when several subjects do (a shared phone,
    /// a duplicate email); on a terminal it offers a choice instead.
    Show(SubjectShowArgs),
}

#[derive(Debug, Args)]
pub struct SubjectShowArgs {
    /// IIN (12 digits), BIN, phone (+7 701 234 56 78, 87012345678, 7012345678),
    /// email, or id:KEY.
    #[arg(value_name = "IDENTITY")]
    pub identity: String,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// IIN (12 digits), BIN, phone, email, or id:KEY of the subject.
    #[arg(value_name = "IDENTITY")]
    pub identity: String,

    /// The request this export answers (recorded in the bundle and the audit trail).
    #[arg(long)]
    pub ticket: String,

    /// Where to write the bundle (an age file; a tar file with --plaintext).
    #[arg(long, value_name = "PATH")]
    pub out: PathBuf,

    /// Replace --out if it exists.
    #[arg(long)]
    pub force: bool,

    /// Encrypt to this age (age1…) or SSH public key; repeatable.
    #[arg(long, value_name = "KEY")]
    pub recipient: Vec<String>,

    /// Encrypt to every key in this file (one per line, # comments); repeatable.
    #[arg(long, value_name = "PATH")]
    pub recipients_file: Vec<PathBuf>,

    /// Encrypt with a passphrase (prompted twice) for handing the bundle to the subject.
    #[arg(long, conflicts_with_all = ["recipient", "recipients_file", "passphrase_file"])]
    pub passphrase: bool,

    /// Encrypt with the passphrase on the first line of this file.
    #[arg(long, value_name = "PATH", conflicts_with_all = ["recipient", "recipients_file"])]
    pub passphrase_file: Option<PathBuf>,

    /// Write an unencrypted tar file (warns): personal data in clear on disk.
    #[arg(long, conflicts_with_all = ["recipient", "recipients_file", "passphrase", "passphrase_file"])]
    pub plaintext: bool,
}

/// Why an account is blocked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BlockReason {
    /// Unauthorised access or a suspected breach was reported (policy 5.7).
    Compromised,
    /// The law or the policy was violated (policy 5.3).
    Violation,
    /// Fraud.
    Fraud,
    /// Anything else; say what in the ticket.
    Other,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("subjects").required(true).multiple(true)
    .args(["identities", "from_file", "ip", "device"])))]
pub struct BlockArgs {
    /// Identities to block: IIN, BIN, phone, email or id:KEY; `-` reads them from stdin.
    #[arg(value_name = "IDENTITY", conflicts_with_all = ["ip", "device"])]
    pub identities: Vec<String>,

    /// Read identities from a file, one per line (`#` starts a comment; `-` is stdin).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["ip", "device"])]
    pub from_file: Option<PathBuf>,

    /// Every subject with a session or log entry from this address range (CIDR).
    #[arg(long, value_name = "CIDR", conflicts_with = "device")]
    pub ip: Option<String>,

    /// Every subject seen with this device identifier.
    #[arg(long, value_name = "ID")]
    pub device: Option<String>,

    /// With --ip or --device: only rows newer than this (e.g. 24h, 7d, 2026-11-01).
    #[arg(long, value_name = "WHEN")]
    pub since: Option<String>,

    /// Why the accounts are blocked.
    #[arg(long, value_enum)]
    pub reason: BlockReason,

    /// The incident or request reference, recorded in the history and the audit row.
    #[arg(long, value_name = "T")]
    pub ticket: String,

    /// Refuse (exit 5) when more subjects than this would be blocked.
    #[arg(long, value_name = "N", default_value_t = 100)]
    pub max: usize,

    /// Block the identities that resolve and list the others, instead of refusing.
    #[arg(long)]
    pub skip_unknown: bool,

    #[command(flatten)]
    pub confirm: ConfirmArgs,
}

#[derive(Debug, Args)]
pub struct UnblockArgs {
    /// Identities to unblock: IIN, BIN, phone, email or id:KEY.
    #[arg(value_name = "IDENTITY", required = true)]
    pub identities: Vec<String>,

    /// Reference of the subject's written application asking for access back (policy 5.7).
    #[arg(long, value_name = "REF")]
    pub application: String,

    /// The request reference, recorded in the history and the audit row.
    #[arg(long, value_name = "T")]
    pub ticket: String,

    #[command(flatten)]
    pub confirm: ConfirmArgs,
}

#[derive(Debug, Args)]
pub struct BlocksArgs {
    /// Only blocks still in force.
    #[arg(long)]
    pub active: bool,

    /// Only blocks made since (e.g. 24h, 7d, 2026-11-01).
    #[arg(long, value_name = "WHEN")]
    pub since: Option<String>,

    /// At most this many rows (the newest).
    #[arg(long, default_value_t = 1000)]
    pub limit: i64,
}

#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// Show which migrations would run, change nothing.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Subcommand)]
pub enum MapCommand {
    /// Validate the data map against the live catalogue and print the delete order.
    ///
    /// Checks that tables and columns exist, that types fit the declared categories,
    /// that every link step is backed by a foreign key (either direction; on a
    /// partitioned table, one on every partition counts) and indexed, and reports
    /// columns that look personal but are not mapped. All problems are reported in
    /// one run. Exits 6 when the map does not fit the database.
    ///
    /// Examples:
    ///   derbes --map examples/datamap.toml map check
    ///   derbes --map shop.toml map check --strict     # unbacked links are errors
    ///   derbes --format json map check | jq .links
    Check(MapCheckArgs),
    /// Draft a data map from the database catalogue (review it before use).
    ///
    /// Reads every non-system schema, guesses the subject table (named in the draft's
    /// header with the reason), drafts links from foreign keys in both directions, and
    /// finds personal columns by name and by sampling a few hundred rows per table
    /// (values are never printed). Tables with no path to the subject are listed as
    /// comments. The draft is checked as `map check` would (exit 6 on a problem).
    ///
    /// Examples:
    ///   derbes map init --out draft.toml
    ///   derbes map init --schema crm --schema sales --subject-table crm.klienty
    ///   derbes map init --no-sample > draft.toml      # names and types only
    #[command(verbatim_doc_comment)]
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

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// List audit records, newest last.
    Log(AuditLogArgs),
    /// Print the chain head (the newest record's sequence number and hash) to keep elsewhere.
    ///
    /// The last line is the anchor, SEQ:HASH, for a ticket or a cron log. Kept outside
    /// the database, it lets `audit verify --head` detect that the newest records were
    /// deleted or the log truncated, which the chain alone cannot show.
    #[command(after_help = "Examples:
  derbes audit head                       # the head; its last line is the anchor SEQ:HASH
  derbes audit head | tail -n1 >> /srv/anchors/audit-heads   # from cron, kept off the database server
  derbes audit verify --head 42:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08")]
    Head,
    /// Recompute the hash chain; exits 6 naming the first bad record.
    ///
    /// With --head, also checks that the log still holds each anchored head (same
    /// sequence number, same hash): a log that ends before it (newest records
    /// deleted, the table truncated) or differs there fails, exit 6. Without it,
    /// deleting the newest records cannot be detected.
    #[command(after_help = "Examples:
  derbes audit verify                     # the chain; says the newest records are unanchored
  derbes audit verify --head 42:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
  derbes audit verify --head \"$(tail -n1 /srv/anchors/audit-heads)\"   # the last kept anchor")]
    Verify(AuditVerifyArgs),
}

#[derive(Debug, Args)]
pub struct AuditVerifyArgs {
    /// A head printed earlier by `derbes audit head` (or recorded in an archive's
    /// manifest), as SEQ:HASH: the record's sequence number, a colon, its 64-hex-digit
    /// hash. Repeatable.
    #[arg(long = "head", value_name = "SEQ:HASH", value_parser = parse_head)]
    pub heads: Vec<crate::pg::audit::Head>,
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

    /// Only records newer than this (e.g. 24h, 7d, 2026-11-01).
    #[arg(long, value_name = "WHEN")]
    pub since: Option<String>,

    /// At most this many records (the newest).
    #[arg(long, default_value_t = 100)]
    pub limit: i64,
}

#[derive(Debug, Subcommand)]
pub enum SampleCommand {
    /// Create the reference schema and fill it with synthetic borrowers (like pgbench -i).
    ///
    /// Refuses a database that already holds tables in schema public unless --force,
    /// which drops them first, and only when they are an untouched sample this command
    /// made and derbes.audit_log is empty. Never point this at production.
    Init(SampleInitArgs),
}

#[derive(Debug, Args)]
pub struct SampleInitArgs {
    /// How many borrowers to generate.
    #[arg(long, default_value_t = 1000)]
    pub borrowers: u64,

    /// Seed of the generator: the same seed gives the same population.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,

    /// Average server-log rows per borrower.
    #[arg(long, default_value_t = 20)]
    pub logs_per_borrower: u32,

    /// Date the population is generated as of (YYYY-MM-DD); defaults to today.
    #[arg(long, value_name = "DATE")]
    pub as_of: Option<chrono::NaiveDate>,

    /// Drop the existing tables of schema public first (only an untouched sample
    /// made by this command; confirmation on a terminal, --yes off it).
    #[arg(long)]
    pub force: bool,

    /// With --force: do not ask for confirmation (needed when not on a terminal).
    #[arg(short = 'y', long, requires = "force")]
    pub yes: bool,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// bash, zsh, fish, or man for the man page.
    #[arg(value_enum)]
    pub shell: CompletionShell,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum CompletionShell {
    Bash,
    Zsh,
    Fish,
    Man,
}

#[derive(Debug, Subcommand)]
pub enum ArchiveCommand {
    /// Write selected rows to an age-encrypted archive (tar of CSV + manifest.json).
    ///
    /// The file is written 0600 under a temporary name, read back and checked, then
    /// catalogued in the derbes schema with an audit row. Nothing is deleted.
    Dump(ArchiveDumpArgs),
    /// Decrypt an archive and check every member against its manifest and the catalogue.
    ///
    /// Exits 6 naming what is wrong: wrong key, truncation, a flipped byte, a member
    /// that does not match, a file the catalogue does not know.
    Verify(ArchiveVerifyArgs),
    /// Load an archive's rows back (COPY FROM), into their tables or a side schema.
    ///
    /// The archive is verified first; all rows load in one transaction, so a row that
    /// breaks a constraint is reported and nothing is loaded. An archive this
    /// database's catalogue does not know (e.g. a fresh database) is checked against
    /// its own manifest and loaded, with a warning. Generated columns are computed
    /// again; GENERATED ALWAYS identity columns keep their archived values.
    Restore(ArchiveRestoreArgs),
    /// List catalogued archives (or only those past keep-until, which expire destroys).
    List(ArchiveListArgs),
    /// Destroy archives past their keep-until: the file and its catalogue row go, an
    /// audit row records it.
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

    /// The expired rows of a retention rule of the data map.
    #[arg(long, value_name = "NAME", group = "selection")]
    pub rule: Option<String>,
}

#[derive(Debug, Args)]
pub struct ArchiveDumpArgs {
    #[command(flatten)]
    pub selection: ArchiveSelectionArgs,

    /// With --table or --subject: only rows older than this (e.g. 90d, 1y,
    /// 2024-01-01), each table's rows by its time_column in the data map.
    #[arg(long, value_name = "DURATION", conflicts_with = "rule")]
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

    /// An age recipient (age1...) or SSH public key line; repeat for several.
    #[arg(
        long = "recipient",
        short = 'r',
        value_name = "RECIPIENT",
        required_unless_present = "recipients_file"
    )]
    pub recipients: Vec<String>,

    /// A file of recipients, one a line (# comments allowed).
    #[arg(long, value_name = "FILE")]
    pub recipients_file: Option<PathBuf>,

    /// How long the archive is kept (e.g. 5y); default: the rule's archive_keep.
    #[arg(long, value_name = "DURATION")]
    pub keep: Option<String>,

    /// The request or incident this archive is for, recorded in the catalogue and audit.
    #[arg(long)]
    pub ticket: Option<String>,

    /// Write, read back and check the archive, then remove it and catalogue nothing.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct ArchiveVerifyArgs {
    /// The archive file.
    pub path: PathBuf,

    /// An age identity file (age-keygen) or an SSH private key.
    #[arg(long, short = 'i', value_name = "KEYFILE")]
    pub identity: PathBuf,
}

#[derive(Debug, Args)]
pub struct ArchiveRestoreArgs {
    /// The archive file.
    pub path: PathBuf,

    /// An age identity file (age-keygen) or an SSH private key.
    #[arg(long, short = 'i', value_name = "KEYFILE")]
    pub identity: PathBuf,

    /// Load into new tables of this schema for inspection (created LIKE the originals,
    /// or from the archive's column definitions where the database has none).
    #[arg(long, value_name = "SCHEMA")]
    pub into: Option<String>,

    /// The request or incident this restore is for.
    #[arg(long)]
    pub ticket: Option<String>,

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
    /// The request or ticket this run is recorded under.
    #[arg(long)]
    pub ticket: Option<String>,

    #[command(flatten)]
    pub confirm: ConfirmArgs,
}
