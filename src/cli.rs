//! Command-line definitions (clap derive types only). The logic lives in
//! `commands/`, which turns these into plain option structs for the library.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::error::EXIT_CODES_HELP;

const ABOUT: &str = "Keep the privacy policy's promises against the production PostgreSQL: \
subject-access exports, blocking, archives and an audit trail of every change.";

const CONNECTION_HELP: &str = "\
Connection: --db or DATABASE_URL (postgres://user@host/db?sslmode=verify-full), or libpq's
PGHOST, PGPORT, PGUSER, PGDATABASE, PGPASSWORD, PGSSLMODE, PGSSLROOTCERT, PGSERVICE and ~/.pgpass.
";

const EX_ROOT: &str = "\
Examples:
  derbes migrate                                        # install the derbes schema
  derbes --map examples/datamap.toml map check          # the data map fits the database
  derbes audit verify                                   # the audit trail is intact
";

/// derbes: the privacy-policy toolkit for the lender's PostgreSQL.
#[derive(Debug, Parser)]
#[command(name = "derbes", version, about = ABOUT, long_about = None)]
#[command(after_help = format!("{CONNECTION_HELP}\n{EX_ROOT}"), after_long_help = format!("{CONNECTION_HELP}\n{EXIT_CODES_HELP}\n{EX_ROOT}"))]
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

    /// Output format. Default: a table on a terminal; off a terminal (a pipe, a
    /// file, cron) tab-separated text: one header line, one line per row, notes
    /// as lines starting with `# `, no box drawing and no colour.
    #[arg(long, global = true, value_enum, value_name = "FORMAT")]
    pub format: Option<Format>,

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
    /// A table for people (box drawing); the default on a terminal.
    Table,
    /// Tab-separated text, notes as `# ` lines; the default off a terminal.
    Tsv,
    /// One JSON document on stdout.
    Json,
    /// CSV for spreadsheets; notes as `# ` lines after the rows.
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

/// The reference every change and every file of personal data is recorded under.
#[derive(Debug, Args, Clone)]
pub struct TicketArgs {
    /// The request or incident reference (e.g. REQ-2291, INC-4711), recorded in the
    /// audit row (and the file's manifest): a reference, never a note about a person.
    #[arg(long, value_name = "TICKET")]
    pub ticket: String,
}

/// Who can open an encrypted file: one set of flags for `export` and `archive`.
#[derive(Debug, Args, Clone, Default)]
pub struct RecipientArgs {
    /// Age recipient: the public key that can open the file, `age1...` (from
    /// age-keygen) or an SSH public key line `ssh-ed25519 ...` / `ssh-rsa ...`;
    /// repeat for several.
    #[arg(short = 'r', long = "recipient", value_name = "KEY")]
    pub recipients: Vec<String>,

    /// A file of age recipients, one a line (`#` starts a comment); repeatable.
    #[arg(long, value_name = "FILE")]
    pub recipients_file: Vec<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Install or upgrade derbes' own schema (audit log, ...) in the database.
    #[command(after_help = EX_MIGRATE)]
    Migrate(MigrateArgs),
    /// Work with the data map: check it against the database, or draft one.
    #[command(subcommand, after_help = EX_MAP)]
    Map(MapCommand),
    /// Read and verify the append-only, hash-chained audit trail.
    #[command(subcommand, after_help = EX_AUDIT)]
    Audit(AuditCommand),
    /// Load the reference schema and a synthetic population (demo, tests, benchmarks).
    #[command(subcommand, after_help = EX_SAMPLE)]
    Sample(SampleCommand),
    /// Age-encrypted archives of rows the law says to keep: dump, verify, restore, expire.
    #[command(subcommand, after_help = EX_ARCHIVE)]
    Archive(ArchiveCommand),
    /// Find a data subject by IIN, BIN, phone, email or id:KEY and show what is held.
    #[command(subcommand, after_help = EX_SUBJECT_SHOW)]
    Subject(SubjectCommand),
    /// Export everything held about one subject as an age-encrypted bundle (access request).
    ///
    /// The bundle is a tar of manifest.json, data.json (personal data by category,
    /// with purposes, legal bases and recipients), one CSV per table and
    /// summary.html, encrypted with age (a modern file encryption tool: only the
    /// holders of the recipients' private keys can open it). Read it with
    /// `age -d -i key.txt FILE | tar -xv`.
    #[command(after_help = EX_EXPORT)]
    Export(ExportArgs),
    /// Block accounts at once: by identity, from a file, by IP range or device (policy 5.3, 5.7).
    ///
    /// Sets what the data map's [block] section declares (status, revoked sessions,
    /// token version) in one transaction, with a history row per subject and one audit row.
    #[command(after_help = EX_BLOCK)]
    Block(BlockArgs),
    /// Restore blocked accounts on the subject's written application (policy 5.7).
    #[command(after_help = EX_UNBLOCK)]
    Unblock(UnblockArgs),
    /// List blocks: who is blocked, why, by whom, when, under which ticket.
    #[command(after_help = EX_BLOCKS)]
    Blocks(BlocksArgs),
    /// Print shell completions or the man pages.
    #[command(after_help = EX_COMPLETIONS)]
    Completions(CompletionsArgs),
    /// Delete (or archive, then delete) rows past their retention period (DPO, cron).
    ///
    /// Each `[retention.*]` rule of the data map names a period (`keep`), how rows
    /// are aged (each table's time_column, or `age_from`: an event of the subject,
    /// such as their last loan closing), an action and its legal basis. A row is due
    /// when it is older than the period; it is held back while its subject is under
    /// a legal hold (an open loan, a block, an open request) or while rows of
    /// another table still point at it. The dry run counts, per rule and table, the
    /// rows due, the oldest, and what is held back and why; nothing changes. The
    /// real run deletes in primary-key batches, each a short transaction (keyset:
    /// the next keys after the last one done, never OFFSET) checkpointed in
    /// derbes.jobs, so a stopped run resumes where it stopped; whole expired
    /// partitions of a table partitioned by the rule's date are detached and dropped
    /// instead. archive-then-delete rules write each batch to an age archive,
    /// read it back and check it before the batch's delete commits. One purge runs
    /// at a time per database (a second exits 7). One audit row per rule per run.
    #[command(after_help = EX_PURGE)]
    Purge(PurgeArgs),
}

// Examples closing each command's help. Every line starting with `derbes` is parsed
// by a test (tests/cli/usage.rs), so they stay real.
const EX_MIGRATE: &str = "\
Examples:
  derbes migrate --dry-run        # which migrations would run
  derbes migrate                  # install or upgrade the derbes schema
";
const EX_MAP: &str = "\
Examples:
  derbes --map examples/datamap.toml map check
  derbes map init --out draft.toml
";
const EX_MAP_CHECK: &str = "\
Examples:
  derbes --map examples/datamap.toml map check
  derbes --map shop.toml map check --strict      # unbacked links are errors
  derbes --format json map check                 # one JSON document for scripts
";
const EX_MAP_INIT: &str = "\
Examples:
  derbes map init --out draft.toml
  derbes map init --schema crm --schema sales --subject-table crm.klienty
  derbes map init --no-sample --out draft.toml   # names and types only
";
const EX_AUDIT: &str = "\
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
  derbes --format json audit verify
";
const EX_AUDIT_HEAD: &str = "\
Examples:
  derbes audit head                         # the head; its last line is the anchor SEQ:HASH
  derbes audit head | tail -n1 >> /srv/anchors/audit-heads   # from cron, off the database server
";
const EX_SAMPLE: &str = "\
Examples:
  derbes --db postgres:///scratch sample init --borrowers 1000 --seed 42
  derbes --db postgres:///scratch sample init --as-of 2026-11-01 \\
      --force --yes
";
const EX_ARCHIVE: &str = "\
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
      --ticket RET-3 --recipients-file keys.txt --out logs.age --yes
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
const EX_SUBJECT_SHOW: &str = "\
Examples:
  derbes subject show 061211600012
  derbes subject show phone:+77012345678
  derbes --format json subject show aigerim@example.kz
";
const EX_EXPORT: &str = "\
Examples:
  derbes export 061211600012 --ticket REQ-2291 -r age1... --out req-2291.age
  derbes export +77012345678 --ticket REQ-2292 \\
      --recipients-file dpo-keys.txt --out b.age
  derbes export id:42 --ticket REQ-2293 --passphrase-file pass.txt --out subject.age
";
const EX_BLOCK: &str = "\
Examples:
  derbes block 061211600012 aigerim@example.kz --reason compromised --ticket INC-4711
  derbes block --from-file leaked.txt --reason compromised \\
      --ticket INC-4711 --dry-run
  derbes block --ip 203.0.113.0/24 --since 24h --reason fraud --ticket INC-4713 --yes
";
const EX_UNBLOCK: &str = "\
Examples:
  derbes unblock 061211600012 --application MAIL-2026-0042 --ticket REQ-88
  derbes unblock id:42 --application MAIL-2026-0043 --ticket REQ-89 --dry-run
";
const EX_BLOCKS: &str = "\
Examples:
  derbes blocks --active
  derbes blocks --since 7d --format json
";
const EX_COMPLETIONS: &str = "\
Examples:
  derbes completions bash
  derbes completions man --dir /usr/local/share/man/man1  # a page per command
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

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The subject: IIN (12-digit individual identification number), BIN (12-digit
    /// business number), phone, email, or id:KEY (the subject table's primary key).
    #[arg(value_name = "IDENTITY")]
    pub identity: String,

    #[command(flatten)]
    pub request: TicketArgs,

    /// Where to write the bundle (an age file; a tar file with --plaintext).
    #[arg(long, value_name = "PATH")]
    pub out: PathBuf,

    /// Replace --out if it exists.
    #[arg(long)]
    pub force: bool,

    #[command(flatten)]
    pub to: RecipientArgs,

    /// Encrypt with a passphrase (prompted twice) for handing the bundle to the subject.
    #[arg(long, conflicts_with_all = ["recipients", "recipients_file", "passphrase_file"])]
    pub passphrase: bool,

    /// Encrypt with the passphrase on the first line of this file.
    #[arg(long, value_name = "PATH", conflicts_with_all = ["recipients", "recipients_file"])]
    pub passphrase_file: Option<PathBuf>,

    /// Write an unencrypted tar file (warns): personal data in clear on disk.
    #[arg(long, conflicts_with_all = ["recipients", "recipients_file", "passphrase", "passphrase_file"])]
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

    /// With --ip or --device: only rows newer than this: a period back from now
    /// (24h, 7d, 6mo: calendar months and years) or a date (2026-11-01, midnight in
    /// the data map's time zone).
    #[arg(long, value_name = "WHEN")]
    pub since: Option<String>,

    /// Why the accounts are blocked.
    #[arg(long, value_enum)]
    pub reason: BlockReason,

    #[command(flatten)]
    pub request: TicketArgs,

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

    #[command(flatten)]
    pub request: TicketArgs,

    #[command(flatten)]
    pub confirm: ConfirmArgs,
}

#[derive(Debug, Args)]
pub struct BlocksArgs {
    /// Only blocks still in force.
    #[arg(long)]
    pub active: bool,

    /// Only blocks made since: a period back from now (24h, 7d, 6mo) or a date
    /// (2026-11-01).
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
    #[command(after_help = EX_MAP_CHECK)]
    Check(MapCheckArgs),
    /// Draft a data map from the database catalogue (review it before use).
    ///
    /// Reads every non-system schema, guesses the subject table (named in the draft's
    /// header with the reason), drafts links from foreign keys in both directions, and
    /// finds personal columns by name and by sampling a few hundred rows per table
    /// (values are never printed). Tables with no path to the subject are listed as
    /// comments. The draft is checked as `map check` would (exit 6 on a problem).
    #[command(after_help = EX_MAP_INIT)]
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
    #[command(after_help = EX_SAMPLE)]
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
    /// bash, zsh, fish, or man for the man pages.
    #[arg(value_enum)]
    pub shell: CompletionShell,

    /// With man: write one page per command (derbes.1, derbes-archive-dump.1, ...)
    /// into this directory instead of printing derbes.1 on stdout.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
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
    /// breaks a constraint is reported and nothing is loaded. An archive this
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
    #[arg(long, value_name = "PERIOD|DATE", conflicts_with = "rule")]
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

    #[command(flatten)]
    pub to: RecipientArgs,

    /// How long the archive is kept, a calendar period (90d, 6mo, 5y); default: the
    /// archive_keep of the retention rule (--rule, or the table's rule with --table).
    #[arg(long, value_name = "PERIOD")]
    pub keep: Option<String>,

    #[command(flatten)]
    pub request: TicketArgs,

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

    #[command(flatten)]
    pub request: TicketArgs,

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
    pub request: TicketArgs,

    #[command(flatten)]
    pub confirm: ConfirmArgs,
}

const EX_PURGE: &str = "\
Examples:
  derbes purge --dry-run
  derbes purge --rule server-logs --rule location --yes --max-duration 30m --format json
  derbes purge --yes --archive-dir /srv/archives --recipients-file dpo.keys \\
      --batch-size 5000 --pause 100ms --ticket RET-2026-11
";

#[derive(Debug, Args)]
pub struct PurgeArgs {
    /// Only this retention rule (repeatable); default every rule some table names.
    #[arg(long = "rule", value_name = "NAME")]
    pub rules: Vec<String>,

    /// Rows per batch (one short transaction each).
    #[arg(long, value_name = "N", default_value_t = 10_000,
          value_parser = clap::value_parser!(i64).range(1..=1_000_000))]
    pub batch_size: i64,

    /// Sleep between batches, leaving the server to other work: 100ms, 1s.
    #[arg(long, value_name = "DURATION")]
    pub pause: Option<String>,

    /// Stop cleanly between batches after this long (30m, 2h); the next run resumes.
    #[arg(long, value_name = "DURATION")]
    pub max_duration: Option<String>,

    /// Compute the cut-offs as of this date (2026-11-01, midnight in the data map's
    /// time zone) or time (RFC 3339) instead of now.
    #[arg(long, value_name = "DATE")]
    pub as_of: Option<String>,

    /// How long a batch waits for a row lock before it fails (lock_timeout).
    #[arg(long, value_name = "DURATION", default_value = "2s")]
    pub lock_timeout: String,

    /// Directory for the archives of archive-then-delete rules (one file per batch
    /// or expired partition, catalogued in derbes.archives).
    #[arg(long, value_name = "DIR")]
    pub archive_dir: Option<PathBuf>,

    #[command(flatten)]
    pub recipients: RecipientArgs,

    /// The reference the audit rows are recorded under (a change or schedule id).
    #[arg(long, value_name = "TICKET", default_value = "retention")]
    pub ticket: String,

    #[command(flatten)]
    pub confirm: ConfirmArgs,
}
