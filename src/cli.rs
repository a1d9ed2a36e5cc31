//! Command-line definitions (clap derive types only). The logic lives in
//! `commands/`, which turns these into plain option structs for the library.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::error::EXIT_CODES_HELP;
use crate::pg::change::BatchSize;

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

impl Cli {
    /// Parse the process's command line as [`Parser::parse`] does (a usage error
    /// exits 2), with derbes' words where clap's would mislead ([`explain`]), and
    /// aliases resolved ([`Command::resolve_aliases`]).
    pub fn parse_command_line() -> Cli {
        let argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
        let cli = Cli::try_parse_from(&argv).unwrap_or_else(|error| explain(error, &argv).exit());
        Cli {
            global: cli.global,
            command: cli.command.resolve_aliases(),
        }
    }
}

/// A parse error in derbes' words where clap's would say nothing useful, else
/// `error` as it is.
///
/// A passphrase typed after `--passphrase` (`--passphrase s3cret`,
/// `--passphrase=s3cret`): clap calls it an unexpected argument and echoes it;
/// here it is not shown and the message says why it is refused and what to do.
/// `--passphrase` given to a command that encrypts to keys only (`archive dump`,
/// whose "no recipients" message names it): clap says "unexpected argument" with
/// no reason; here the reason and the options it takes.
///
/// An option that takes a value starting with `-` (`allow_hyphen_values`, so that
/// `--keep -5y` is answered "must be positive") with its value forgotten:
/// `--keep --ticket T` makes `--ticket` the value and `T` an unexpected argument;
/// here the option is named as lacking its value.
///
/// `request open ID --subject ID`: the subject given twice, positionally and by
/// its older spelling.
pub fn explain(error: clap::Error, argv: &[std::ffi::OsString]) -> clap::Error {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    let Some(ContextValue::String(invalid)) = error.get(ContextKind::InvalidArg) else {
        return error;
    };
    if error.kind() == ErrorKind::ArgumentConflict
        && matches!(
            (invalid.as_str(), error.get(ContextKind::PriorArg)),
            ("[IDENTITY]" | "--subject <IDENTITY>", Some(ContextValue::String(prior)))
                if prior.contains("IDENTITY")
        )
    {
        return clap::Error::raw(
            ErrorKind::ArgumentConflict,
            "the subject is given twice, as IDENTITY and with --subject (its older spelling): \
             give it once, as in `derbes request open 061211600012 --kind access ...`\n",
        );
    }
    let position = argv
        .iter()
        .position(|a| a.to_str() == Some(invalid.as_str()));
    if error.kind() == ErrorKind::UnknownArgument {
        if let Some(option) = value_forgotten(argv, position) {
            return clap::Error::raw(
                ErrorKind::InvalidValue,
                format!(
                    "{option} has no value: what follows it is the next option; give its value \
                     right after it (see --help)\n"
                ),
            );
        }
    }
    let after_passphrase =
        position.is_some_and(|i| i > 0 && argv[i - 1].to_str() == Some("--passphrase"));
    let passphrase_value = match error.kind() {
        ErrorKind::TooManyValues => invalid == "--passphrase",
        ErrorKind::UnknownArgument => after_passphrase,
        _ => false,
    };
    if passphrase_value {
        return clap::Error::raw(
            ErrorKind::ArgumentConflict,
            "--passphrase takes no value (what followed it is not shown): it asks for the \
             passphrase at the terminal, twice. A passphrase typed on the command line stays in \
             the shell history and is visible to every user of the machine in `ps`. Give \
             --passphrase alone, or put the passphrase on the first line of a file only you can \
             read and pass --passphrase-file FILE\n",
        );
    }
    let unknown_passphrase = error.kind() == ErrorKind::UnknownArgument
        && (invalid == "--passphrase" || invalid.starts_with("--passphrase="));
    if unknown_passphrase {
        let path = command_path(argv);
        if path.takes_recipients {
            return clap::Error::raw(
                ErrorKind::UnknownArgument,
                format!(
                    "`derbes {}` takes no passphrase: it encrypts to public keys only, given with \
                     -r/--recipient (age1... or an SSH public key) or --recipients-file FILE, so \
                     that what it writes opens with a key file (`derbes archive verify -i \
                     KEYFILE`), not a passphrase someone must remember for years. Only `derbes \
                     export --passphrase` encrypts with a passphrase, to hand a bundle to the \
                     subject\n",
                    path.words.join(" ")
                ),
            );
        }
    }
    error
}

/// The option before the option before `argv[position]`, when it takes values
/// starting with `-` and so took the next option as its value (`--keep --ticket T`:
/// `--keep`).
fn value_forgotten(argv: &[std::ffi::OsString], position: Option<usize>) -> Option<String> {
    let position = position.filter(|&i| i >= 2)?;
    let taken = argv[position - 1].to_str()?;
    let option = argv[position - 2].to_str()?;
    let long = option.strip_prefix("--")?;
    if !taken.starts_with('-') {
        return None;
    }
    let leaf = command_path(argv).command;
    let arg = leaf.get_arguments().find(|a| a.get_long() == Some(long))?;
    arg.is_allow_hyphen_values_set().then(|| option.to_owned())
}

/// The subcommands named on a command line, and whether the last takes age
/// recipients.
struct CommandPath {
    words: Vec<String>,
    takes_recipients: bool,
    /// The last of them (the root when none).
    command: clap::Command,
}

fn command_path(argv: &[std::ffi::OsString]) -> CommandPath {
    use clap::CommandFactory;
    let root = Cli::command();
    let mut current = &root;
    let mut words = Vec::new();
    for word in argv.iter().skip(1).filter_map(|a| a.to_str()) {
        if let Some(sub) = current.find_subcommand(word) {
            words.push(sub.get_name().to_owned());
            current = sub;
        }
    }
    let takes_recipients = current
        .get_arguments()
        .any(|a| matches!(a.get_id().as_str(), "recipients" | "archive_to"));
    CommandPath {
        words,
        takes_recipients,
        command: current.clone(),
    }
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

/// The request or breach a change is made for: one set of flags every mutating
/// command flattens (`#[command(flatten)] pub link: LinkArgs`) and passes to
/// `Context::link` before it changes anything.
#[derive(Debug, Args, Clone, Default)]
pub struct LinkArgs {
    /// The subject's request this change answers (the id `derbes request open`
    /// printed): recorded in the audit row, so `request close` lists it. Exit 3 when
    /// there is no such request, 5 when it is closed.
    #[arg(long = "request", value_name = "ID", allow_negative_numbers = true,
          value_parser = number::<i64>(1, i64::MAX))]
    pub request_id: Option<i64>,

    /// The breach this change is made for (the id `derbes breach open` printed),
    /// e.g. blocking the accounts it exposed: recorded in the audit row.
    #[arg(long = "breach", value_name = "ID", allow_negative_numbers = true,
          value_parser = number::<i64>(1, i64::MAX))]
    pub breach_id: Option<i64>,
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
    /// Block accounts at once: by identity, from a file, by IP range or device (policy 5.3,
    /// 5.7); `block list` lists the blocks.
    ///
    /// Sets what the data map's [block] section declares (status, revoked sessions,
    /// token version) in one transaction, with a history row per subject and one audit row.
    #[command(after_help = EX_BLOCK)]
    Block(BlockArgs),
    /// Restore blocked accounts on the subject's written application (policy 5.7).
    #[command(after_help = EX_UNBLOCK)]
    Unblock(UnblockArgs),
    /// List blocks, as `block list` does (this spelling is kept for scripts).
    #[command(after_help = EX_BLOCKS)]
    Blocks(BlocksArgs),
    /// Print shell completions or the man pages.
    #[command(after_help = EX_COMPLETIONS)]
    Completions(CompletionsArgs),
    /// Subjects' requests with their legal deadlines (Law 94-V): open, list, show, close.
    ///
    /// A request gets a due date in Kazakh working days when opened; every change
    /// made with --request ID is linked to it in the audit trail, and closing it
    /// lists what was done. `request list --overdue` exits 6 when anything is late.
    #[command(subcommand, after_help = EX_REQUEST)]
    Request(RequestCommand),
    /// The working-day calendar deadlines are counted on: its days off and their sources.
    #[command(subcommand, after_help = EX_CALENDAR)]
    Calendar(CalendarCommand),
    /// Personal-data breaches and the deadline for telling the authorised body (policy 5.7, 6.2.6).
    #[command(subcommand, after_help = EX_BREACH)]
    Breach(BreachCommand),
    /// Correct a subject's personal data on their request (policy 6.2.3, 8.2; Art. 24).
    ///
    /// Each value is checked for its category (IIN and BIN check digit, an IIN
    /// against the stored birth date and sex, phone to +7 E.164, email, dates, the
    /// values an enum type or CHECK constraint allows, NOT NULL). Only columns the
    /// data map marks `rectify = true` change; a column with a `locked_reason`
    /// (loan and payment records, policy 8.2) is refused with exit 5 and the
    /// reason. The before/after diff is shown masked; the confirmation prompt (on a
    /// terminal only) shows the values in clear so the operator can check them
    /// against the evidence. One transaction with one audit row naming the fields
    /// changed and a keyed hash (HMAC-SHA256) of each old and new value, never the
    /// values: the key comes from DERBES_AUDIT_KEY or --audit-key-file and is never
    /// stored beside the data.
    #[command(after_help = EX_RECTIFY)]
    Rectify(RectifyArgs),
    /// List, withdraw or grant a subject's consents (policy 3.1, 6.1.5; Art. 8).
    #[command(subcommand, after_help = EX_CONSENT)]
    Consent(ConsentCommand),
    /// Policy versions and the notice of each to the subjects: publish, objection, status (policy 10.2-10.5).
    ///
    /// A change of the privacy policy is announced to every user in the personal
    /// cabinet (10.2); the user may object in writing (10.4); no objection counts as
    /// consent (10.5). Tables and columns come from `[ledgers] policy` of the data map.
    #[command(subcommand, after_help = EX_POLICY)]
    Policy(PolicyCommand),
    /// Transfers of a subject's data to third parties: record one, list them (policy 7.2).
    ///
    /// Written to the data map's `[ledgers] disclosures` table, which the subject's
    /// export reads: each recipient appears there with the date and the purpose.
    #[command(subcommand, after_help = EX_DISCLOSURE)]
    Disclosure(DisclosureCommand),
    /// Erase one subject (policy 8.1): archive, then delete or mask, verified before commit.
    ///
    /// Every row of the subject goes into an age-encrypted archive first (read back
    /// and checked). Then, per table, the data map decides: rows under legal hold
    /// (the table's retention rule is archive-then-delete and the row is within its
    /// keep period, or an open loan) stay; rows shared with another subject (an
    /// address two customers point at) stay; tables whose retention rule says
    /// anonymise are masked with their columns' strategies; all else is deleted,
    /// children before parents. A residual check then searches the text columns of
    /// what remains for the subject's IIN, phone, email and names: any hit rolls
    /// everything back and names the column. One transaction, one audit row.
    #[command(after_help = EX_ERASE)]
    Erase(EraseArgs),
    /// Depersonalise one subject, or a cohort from a retention rule, with the map's masking.
    ///
    /// Each mapped column gets its masking strategy (null, redact, hmac, generalise,
    /// truncate, partial, fake, keep, delete-row); nothing else is deleted. A cohort
    /// (--rule) runs in primary-key batches, each a short transaction with its audit
    /// row and a checkpoint, so a stopped run resumes; a second run of the same rule
    /// exits 7. hmac is pseudonymisation (the key holder can re-link), not
    /// anonymisation; --report shows k, the smallest group of subjects sharing the
    /// same quasi-identifiers (e.g. birth year, sex, region): k = 1 means someone is
    /// still singled out.
    #[command(after_help = EX_ANONYMISE)]
    Anonymise(AnonymiseArgs),
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
    /// Least-privilege group roles for support, on-call and the DPO, from the data map.
    ///
    /// Prints the SQL (for the DBA to review and run) that creates the NOLOGIN roles
    /// <prefix>_support, <prefix>_oncall and <prefix>_dpo and grants each exactly
    /// what its commands need on this database's mapped tables, columns and
    /// derbes' own tables. None may change or remove an audit row.
    #[command(
        after_help = "Examples:\n  derbes roles --print-sql\n  derbes --map datamap.toml roles --print-sql --prefix lender\n"
    )]
    Roles(RolesArgs),
}

const EX_ERASE: &str = "\
Examples:
  derbes erase 061211600012 --ticket REQ-2291 --archive-to age1... --dry-run
  derbes erase id:42 --ticket REQ-2292 --recipients-file dpo.keys --yes
  derbes erase aigerim@example.kz --ticket REQ-2293 -r age1... --key-file mask.key \\
      --archive-out /srv/archive/req-2293.age
";

const EX_ANONYMISE: &str = "\
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
    pub request: TicketArgs,

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
    pub request: TicketArgs,

    #[command(flatten)]
    pub link: LinkArgs,

    #[command(flatten)]
    pub confirm: ConfirmArgs,
}

const EX_POLICY: &str = "\
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
const EX_DISCLOSURE: &str = "\
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
    pub request: TicketArgs,

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
    pub request: TicketArgs,

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
    pub request: TicketArgs,

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

const EX_RECTIFY: &str = "\
Examples:
  derbes rectify 061211600012 --set phone=87011234567 \\
      --ticket REQ-301 --evidence MAIL-2026-0042
  derbes rectify id:42 --set addresses.city=Almaty --set addresses.street=Abaya \\
      --row 17 --ticket REQ-302 --dry-run
  derbes rectify id:42 --set marital_status=married \\
      --audit-key-file /etc/derbes/audit.key --ticket REQ-303 --yes
";
const EX_CONSENT: &str = "\
Examples:
  derbes consent list 061211600012
  derbes consent withdraw id:42 --purpose marketing \\
      --document APP-2026-0042 --ticket REQ-310
  derbes consent grant id:42 --purpose marketing \\
      --document FORM-2026-0077 --ticket REQ-311 --yes
";

#[derive(Debug, Args)]
pub struct RectifyArgs {
    /// The subject: IIN (12-digit individual identification number), BIN, phone,
    /// email, or id:KEY (the subject table's primary key).
    #[arg(value_name = "IDENTITY")]
    pub identity: String,

    /// A correction: COLUMN=VALUE for a column of the subject table, or
    /// TABLE.COLUMN=VALUE for a mapped table (a 1:n table needs --row when the
    /// subject has several rows there). An empty VALUE empties a nullable column.
    /// Repeat for several columns.
    #[arg(long = "set", value_name = "COLUMN=VALUE", required = true)]
    pub set: Vec<String>,

    /// The primary key of the row to change in a linked table (an address, a
    /// contact person), when the subject has several (the error lists them).
    #[arg(long, value_name = "KEY")]
    pub row: Option<String>,

    /// Reference of the document proving the correct value (a scan, a letter),
    /// recorded in the audit row: a reference, never the value.
    #[arg(long, value_name = "REF")]
    pub evidence: Option<String>,

    /// File holding the key of the audit row's keyed hashes (at least 32 random
    /// bytes as hex, base64 or raw; make one with `openssl rand -hex 32`). Or set DERBES_AUDIT_KEY to the key
    /// itself. Keep it off the database server.
    #[arg(long, env = "DERBES_AUDIT_KEY_FILE", value_name = "PATH")]
    pub audit_key_file: Option<PathBuf>,

    #[command(flatten)]
    pub request: TicketArgs,

    #[command(flatten)]
    pub link: LinkArgs,

    #[command(flatten)]
    pub confirm: ConfirmArgs,
}

#[derive(Debug, Subcommand)]
pub enum ConsentCommand {
    /// The subject's consents from the data map's consent ledger, oldest first,
    /// and any open loan that holds a withdrawal back.
    #[command(after_help = EX_CONSENT_LIST)]
    List(ConsentListArgs),
    /// Record the withdrawal of consent to one purpose (Art. 8).
    ///
    /// Refused with exit 5 while the subject has an open loan that needs the purpose
    /// (Art. 8(2): consent cannot be withdrawn while an obligation is unfulfilled;
    /// the data map's `[ledgers].loans.needs` names the purposes, every one when
    /// absent); the message names the loan and what the subject can do. Otherwise
    /// the consent rows in force get the withdrawal time and the document
    /// reference, which tells the application that processing for the purpose stops.
    #[command(after_help = EX_CONSENT_WITHDRAW)]
    Withdraw(ConsentChangeArgs),
    /// Record a consent to one purpose, with the document the subject signed.
    #[command(after_help = EX_CONSENT_GRANT)]
    Grant(ConsentChangeArgs),
}

const EX_CONSENT_LIST: &str = "\
Examples:
  derbes consent list 061211600012
  derbes --format json consent list id:42
";
const EX_CONSENT_WITHDRAW: &str = "\
Examples:
  derbes consent withdraw 061211600012 --purpose marketing \\
      --document APP-2026-0042 --ticket REQ-310
  derbes consent withdraw id:42 --purpose location_security --document APP-2026-0043 \\
      --ticket REQ-312 --dry-run
";
const EX_CONSENT_GRANT: &str = "\
Examples:
  derbes consent grant 061211600012 --purpose marketing \\
      --document FORM-2026-0077 --ticket REQ-311
  derbes consent grant id:42 --purpose notices \\
      --document FORM-2026-0078 --ticket REQ-313 --yes
";

#[derive(Debug, Args)]
pub struct ConsentListArgs {
    /// The subject: IIN, BIN, phone, email, or id:KEY.
    #[arg(value_name = "IDENTITY")]
    pub identity: String,
}

#[derive(Debug, Args)]
pub struct ConsentChangeArgs {
    /// The subject: IIN, BIN, phone, email, or id:KEY.
    #[arg(value_name = "IDENTITY")]
    pub identity: String,

    /// The purpose of processing, as named under [purposes] in the data map.
    #[arg(long, value_name = "PURPOSE")]
    pub purpose: String,

    /// Reference of the subject's written application or signed consent.
    #[arg(long, value_name = "REF")]
    pub document: String,

    #[command(flatten)]
    pub request: TicketArgs,

    #[command(flatten)]
    pub link: LinkArgs,

    #[command(flatten)]
    pub confirm: ConfirmArgs,
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
  derbes block list --active                     # who is blocked now
";
const EX_BLOCK_LIST: &str = "\
Examples:
  derbes block list --active
  derbes block list --since 7d --format json
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
const EX_CALENDAR: &str = "\
Examples:
  derbes calendar show 2027
  derbes calendar show 2026 --format json
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

    #[command(flatten)]
    pub link: LinkArgs,

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

/// `derbes block`: block the subjects the arguments name, or `block list`.
///
/// `list` is a subcommand that excludes the blocking arguments
/// (`args_conflicts_with_subcommands`): `derbes block list` lists, while
/// `derbes block ID list ...` still takes `list` as an identity (and refuses it).
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
#[command(group(clap::ArgGroup::new("subjects").required(true).multiple(true)
    .args(["identities", "from_file", "ip", "device"])))]
pub struct BlockArgs {
    /// `block list`; None to block.
    #[command(subcommand)]
    pub command: Option<BlockCommand>,

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
    #[arg(long, value_name = "WHEN", allow_hyphen_values = true, value_parser = unsigned(SINCE))]
    pub since: Option<String>,

    /// Why the accounts are blocked.
    // Required to block; an Option only because `block list` has none.
    #[arg(long, value_enum, required = true)]
    pub reason: Option<BlockReason>,

    #[command(flatten)]
    pub request: BlockTicketArgs,

    #[command(flatten)]
    pub link: LinkArgs,

    /// Refuse (exit 5) when more subjects than this would be blocked.
    #[arg(long, value_name = "N", default_value_t = 100, allow_negative_numbers = true,
          value_parser = number::<usize>(0, i64::MAX))]
    pub max: usize,

    /// Block the identities that resolve and list the others, instead of refusing.
    #[arg(long)]
    pub skip_unknown: bool,

    #[command(flatten)]
    pub confirm: ConfirmArgs,
}

#[derive(Debug, Subcommand)]
pub enum BlockCommand {
    /// List blocks: who is blocked, why, by whom, when, under which ticket.
    #[command(after_help = EX_BLOCK_LIST)]
    List(BlocksArgs),
}

/// `--ticket` of `block`: the option of [`TicketArgs`], required to block, absent
/// under `block list` (which changes nothing). Read by hand because clap's derive
/// insists on a required `String` even when a subcommand lifted the requirement;
/// the ticket is empty only under `block list`.
#[derive(Debug, Clone, Default)]
pub struct BlockTicketArgs {
    pub ticket: String,
}

impl clap::FromArgMatches for BlockTicketArgs {
    fn from_arg_matches(matches: &clap::ArgMatches) -> Result<Self, clap::Error> {
        Self::from_arg_matches_mut(&mut matches.clone())
    }
    fn from_arg_matches_mut(matches: &mut clap::ArgMatches) -> Result<Self, clap::Error> {
        let mut args = BlockTicketArgs::default();
        args.update_from_arg_matches_mut(matches)?;
        Ok(args)
    }
    fn update_from_arg_matches(&mut self, matches: &clap::ArgMatches) -> Result<(), clap::Error> {
        self.update_from_arg_matches_mut(&mut matches.clone())
    }
    fn update_from_arg_matches_mut(
        &mut self,
        matches: &mut clap::ArgMatches,
    ) -> Result<(), clap::Error> {
        if let Some(ticket) = matches.remove_one::<String>("ticket") {
            self.ticket = ticket;
        }
        Ok(())
    }
}

impl Args for BlockTicketArgs {
    fn group_id() -> Option<clap::Id> {
        TicketArgs::group_id()
    }
    fn augment_args(cmd: clap::Command) -> clap::Command {
        TicketArgs::augment_args(cmd)
    }
    fn augment_args_for_update(cmd: clap::Command) -> clap::Command {
        TicketArgs::augment_args_for_update(cmd)
    }
}

impl Command {
    /// The command to run: `block list` is `blocks`, whichever way it was spelled.
    pub fn resolve_aliases(self) -> Command {
        match self {
            Command::Block(BlockArgs {
                command: Some(BlockCommand::List(args)),
                ..
            }) => Command::Blocks(args),
            other => other,
        }
    }
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
    pub link: LinkArgs,

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
    #[arg(long, value_name = "WHEN", allow_hyphen_values = true, value_parser = unsigned(SINCE))]
    pub since: Option<String>,

    /// At most this many rows (the newest).
    #[arg(long, default_value_t = 1000, allow_negative_numbers = true,
          value_parser = number::<i64>(1, i64::MAX))]
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
    #[arg(long, value_name = "WHEN", allow_hyphen_values = true, value_parser = unsigned(SINCE))]
    pub since: Option<String>,

    /// At most this many records (the newest).
    #[arg(long, default_value_t = 100, allow_negative_numbers = true,
          value_parser = number::<i64>(1, i64::MAX))]
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
    #[arg(long, default_value_t = 1000, allow_negative_numbers = true,
          value_parser = number::<u64>(0, i64::MAX))]
    pub borrowers: u64,

    /// Seed of the generator: the same seed gives the same population.
    #[arg(long, default_value_t = 42, allow_negative_numbers = true,
          value_parser = number::<u64>(0, i64::MAX))]
    pub seed: u64,

    /// Average server-log rows per borrower.
    #[arg(long, default_value_t = 20, allow_negative_numbers = true,
          value_parser = number::<u32>(0, u32::MAX as i64))]
    pub logs_per_borrower: u32,

    /// Date the population is generated as of (YYYY-MM-DD); defaults to today.
    #[arg(long, value_name = "DATE", value_parser = parse_date, allow_hyphen_values = true)]
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
    pub request: TicketArgs,

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
    pub request: TicketArgs,

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
    pub request: TicketArgs,

    #[command(flatten)]
    pub link: LinkArgs,

    #[command(flatten)]
    pub confirm: ConfirmArgs,
}

const EX_REQUEST: &str = "\
Examples:
  derbes request open 061211600012 --kind block --received 2026-11-20 \\
      --channel email --ticket REQ-2301 --yes
  derbes request list --overdue                # exit 6 when anything is late (for cron)
  derbes request close 12 --outcome done --reply OUT-2026-118 --ticket REQ-2301 --yes
";
const EX_REQUEST_OPEN: &str = "\
Examples:
  derbes request open 061211600012 --kind block --received 2026-11-20 \\
      --channel email --ticket REQ-2301 --yes
  derbes request open phone:+77012345678 --kind access --received 2026-11-23 \\
      --access-days 5 --ticket REQ-2302 --yes
  derbes request open id:42 --kind access --received 2026-11-23 \\
      --jurisdiction gdpr --ticket REQ-2303 --dry-run
";
const EX_REQUEST_LIST: &str = "\
Examples:
  derbes request list                 # open requests and breaches, soonest due first
  derbes request list --overdue       # from cron: exit 6 (and the list) when anything is late
  derbes request list --due-within 2 --format json
";
const EX_REQUEST_SHOW: &str = "\
Examples:
  derbes request show 12
  derbes --format json request show 12
";
const EX_REQUEST_CLOSE: &str = "\
Examples:
  derbes request close 12 --outcome done --reply OUT-2026-118 --ticket REQ-2301 --yes
  derbes request close 13 --outcome refused --reply OUT-2026-119 --ticket REQ-2302 --dry-run
";
const EX_REQUEST_EXTEND: &str = "\
Examples:
  derbes request extend 14 --ticket REQ-2303 --dry-run
  derbes request extend 14 --ticket REQ-2303 --yes
";
const EX_BREACH: &str = "\
Examples:
  derbes breach open --discovered 2026-11-27T09:30 --summary INC-4711-session-export-leak \\
      --subjects leaked.txt --ticket INC-4711 --yes
  derbes block --from-file leaked.txt --reason compromised --breach 3 --ticket INC-4711 --yes
  derbes breach close 3 --notified-at 2026-11-27T16:00 --reference AUTH-2026-77 \\
      --ticket INC-4711 --yes
";
const EX_BREACH_OPEN: &str = "\
Examples:
  derbes breach open --discovered 2026-11-27T09:30 --summary INC-4711-session-export-leak \\
      --subjects leaked.txt --ticket INC-4711 --yes
  derbes breach open --discovered 2026-11-27T09:30:00+05:00 --summary lost-laptop-INC-4712 \\
      --ticket INC-4712 --dry-run
";
const EX_BREACH_LIST: &str = "\
Examples:
  derbes breach list
  derbes breach list --overdue        # exit 6 when a notification is late
  derbes breach list --all --format json
";
const EX_BREACH_SHOW: &str = "\
Examples:
  derbes breach show 3
  derbes --format json breach show 3
";
const EX_BREACH_CLOSE: &str = "\
Examples:
  derbes breach close 3 --notified-at 2026-11-27T16:00 --reference AUTH-2026-77 \\
      --ticket INC-4711 --yes
  derbes breach close 3 --notified-at 2026-11-27T16:00:00+05:00 --reference AUTH-2026-77 \\
      --ticket INC-4711 --dry-run
";

/// The working-day calendar deadlines are counted on.
#[derive(Debug, Args, Clone, Default)]
pub struct CalendarArgs {
    /// A calendar file (TOML) that replaces the built-in Kazakh rules and yearly
    /// facts (transfer orders, Kurban Ait), or lists every day off of the years it
    /// covers; see examples/kz-calendar-rules.toml for the format and sources.
    #[arg(long, env = "DERBES_CALENDAR", value_name = "FILE")]
    pub calendar: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum CalendarCommand {
    /// List a year's days off (holidays, days moved from a holiday on a weekend,
    /// transfers) and weekend days made working, each with its source.
    ///
    /// A year whose transfer orders and Kurban Ait date are not known yet is
    /// computed by the law's rules and marked provisional; deadlines counted across
    /// it are provisional too.
    #[command(after_help = EX_CALENDAR)]
    Show(CalendarShowArgs),
}

#[derive(Debug, Args)]
pub struct CalendarShowArgs {
    /// The year, e.g. 2027.
    #[arg(allow_negative_numbers = true, value_parser = number::<i32>(1992, 2200))]
    pub year: i32,

    #[command(flatten)]
    pub calendar: CalendarArgs,
}

#[derive(Debug, Subcommand)]
pub enum RequestCommand {
    /// Record a subject's request and compute its due date.
    ///
    /// Due dates are counted in Kazakh working days from the day after receipt
    /// (a due date never falls on a day off): rectify, block and destroy 1 working
    /// day (Law 94-V Art. 25(2)(8)); withdraw-consent 15 (Art. 8(7));
    /// object-automated 3 (Art. 19-1); transfer-notice 10 (Art. 19(1)); access
    /// --access-days (default 3). With --jurisdiction gdpr: one calendar month
    /// (GDPR Art. 12(3)), extendable once by two (`request extend`).
    // The usage written out: clap's would show IDENTITY as optional ([IDENTITY]),
    // since the hidden --subject may stand for it.
    #[command(
        after_help = EX_REQUEST_OPEN,
        override_usage = "derbes request open [OPTIONS] --kind <KIND> --received <DATE> \
                          --ticket <TICKET> <IDENTITY>"
    )]
    Open(RequestOpenArgs),
    /// List open requests and breaches, soonest due first.
    ///
    /// With --overdue: only those past their due date, and exit 6 when there is any
    /// (so cron can alert); 0 when none is late.
    #[command(after_help = EX_REQUEST_LIST)]
    List(RequestListArgs),
    /// One request, its due date and every audit row linked to it (what was done).
    #[command(after_help = EX_REQUEST_SHOW)]
    Show(RequestShowArgs),
    /// Close a request with its outcome; lists the audit rows linked to it.
    #[command(after_help = EX_REQUEST_CLOSE)]
    Close(RequestCloseArgs),
    /// Extend a GDPR request's deadline by two months (once, GDPR Art. 12(3)).
    #[command(after_help = EX_REQUEST_EXTEND)]
    Extend(RequestExtendArgs),
}

/// What the subject asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RequestKindArg {
    /// What is held and how it is processed (deadline: --access-days).
    Access,
    /// Change or supplement data (1 working day).
    Rectify,
    /// Block data (1 working day).
    Block,
    /// Destroy data (1 working day).
    Destroy,
    /// Withdraw consent (15 working days).
    WithdrawConsent,
    /// Object to an automated decision (3 working days).
    ObjectAutomated,
    /// Notice of a transfer of their data (10 working days).
    TransferNotice,
}

/// How the request reached the controller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ChannelArg {
    Email,
    Call,
    Office,
}

/// Whose deadlines apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum JurisdictionArg {
    /// Law 94-V: working days on the Kazakh calendar.
    Kz,
    /// GDPR: one calendar month, extendable by two.
    Gdpr,
}

/// How a request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutcomeArg {
    /// Done as asked.
    Done,
    /// Refused, with the reasons given to the subject.
    Refused,
    /// Partly done.
    Partly,
    /// The subject withdrew it.
    Withdrawn,
}

/// A calendar date as YYYY-MM-DD (a one-digit month or day will do): chrono
/// alone would also take a signed or short year (`-2026-01-01`, `26-01-02` as the
/// year 26) and say "input contains invalid characters" of the rest. The option
/// sets `allow_hyphen_values`, so a leading `-` is answered here.
fn parse_date(text: &str) -> Result<chrono::NaiveDate, String> {
    const GIVE: &str = "give it as YYYY-MM-DD (e.g. 2026-11-20)";
    let text = text.trim();
    let digits = |part: &str, min: usize, max: usize| {
        (min..=max).contains(&part.len()) && part.bytes().all(|b| b.is_ascii_digit())
    };
    let parts: Vec<&str> = text.split('-').collect();
    let shaped = matches!(parts.as_slice(), [year, month, day]
        if digits(year, 4, 4) && digits(month, 1, 2) && digits(day, 1, 2));
    if !shaped {
        return Err(format!("not a date: {GIVE}"));
    }
    chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map_err(|_| format!("not a date (no such day in the calendar): {GIVE}"))
}

/// A whole number from `min` to `max` (`i64::MAX`: no upper bound) for a numeric
/// argument. The argument sets `allow_negative_numbers`, so `-1` reaches this
/// parser and is answered ("must be positive") instead of by clap's hint to write
/// `-- -1`, which passes the same bad value on.
fn number<T>(min: i64, max: i64) -> impl Fn(&str) -> Result<T, String> + Clone + Send + Sync
where
    T: TryFrom<i64> + Clone + Send + Sync + 'static,
{
    move |text: &str| {
        let range = if max == i64::MAX {
            format!(", {min} or more")
        } else {
            format!(" from {min} to {max}")
        };
        let n: i64 = text
            .trim()
            .parse()
            .map_err(|_| format!("not a whole number: give one{range}"))?;
        if n < min {
            return Err(match min {
                1 => format!("must be positive: give a whole number{range}"),
                0 => format!("cannot be negative: give a whole number{range}"),
                _ => format!("too small: give a whole number{range}"),
            });
        }
        if n > max {
            return Err(format!("too large: give a whole number{range}"));
        }
        T::try_from(n).map_err(|_| format!("too large: give a whole number{range}"))
    }
}

/// Which periods, durations and points in time the options below take, for their
/// messages.
const PERIOD: &str = "a period like 5y, 6mo or 90d";
const OLDER_THAN: &str = "a period like 1y, 6mo or 90d, or a date like 2024-01-01";
const DURATION: &str = "a duration like 500ms, 2s, 30m or 2h";
const SINCE: &str = "a period back from now like 24h, 7d or 6mo, or a date like 2026-11-01";

/// For a period, a duration or a point in time, which never starts with `-`: the
/// option sets `allow_hyphen_values`, so that `--keep -5y` reaches this parser
/// instead of clap's hint to write `-- -5y`. A value with a minus sign is refused
/// ("must be positive"); one that is the next option (`--keep --ticket T`, the
/// value forgotten) is told apart. Anything else passes on, unchanged, to the
/// command, which reads it.
fn unsigned(what: &'static str) -> impl Fn(&str) -> Result<String, String> + Clone + Send + Sync {
    move |text: &str| match text.trim_start().strip_prefix('-') {
        Some(rest) if rest.starts_with(|c: char| c.is_ascii_digit()) => {
            Err(format!("must be positive: give {what}"))
        }
        Some(_) => Err(format!(
            "this looks like the next option, not a value: give {what} right after the option"
        )),
        None => Ok(text.to_owned()),
    }
}

/// `--batch-size`: `auto`, or a number of keys from 1 to 1,000,000.
fn parse_batch_size(text: &str) -> Result<BatchSize, String> {
    if text.trim().eq_ignore_ascii_case("auto") {
        return Ok(BatchSize::AUTO);
    }
    match text.trim().parse::<i64>() {
        Ok(n) if (1..=1_000_000).contains(&n) => Ok(BatchSize::Fixed(n)),
        Ok(n) if n < 1 => {
            Err("must be positive: give a number of keys from 1 to 1000000, or auto".to_owned())
        }
        _ => Err("give a number of keys from 1 to 1000000, or auto".to_owned()),
    }
}

#[derive(Debug, Args)]
pub struct RequestOpenArgs {
    /// What the subject asked for.
    #[arg(long, value_enum)]
    pub kind: RequestKindArg,

    /// The subject: IIN, BIN, phone, email or id:KEY. Stored as table:key, never in clear.
    #[arg(
        value_name = "IDENTITY",
        required_unless_present = "subject",
        conflicts_with = "subject"
    )]
    pub identity: Option<String>,

    /// The subject, as IDENTITY: the spelling of earlier versions, kept for scripts.
    #[arg(long, value_name = "IDENTITY", hide = true)]
    pub subject: Option<String>,

    /// The day the request reached you (YYYY-MM-DD); counting starts the day after.
    #[arg(long, value_name = "DATE", value_parser = parse_date, allow_hyphen_values = true)]
    pub received: chrono::NaiveDate,

    /// How it reached you.
    #[arg(long, value_enum)]
    pub channel: Option<ChannelArg>,

    /// Whose deadlines apply.
    #[arg(long, value_enum, default_value = "kz")]
    pub jurisdiction: JurisdictionArg,

    /// Working days allowed for an access request (the controller's setting).
    #[arg(long, env = "DERBES_ACCESS_DAYS", value_name = "N", default_value_t = 3,
          allow_negative_numbers = true, value_parser = number::<u32>(1, 30))]
    pub access_days: u32,

    #[command(flatten)]
    pub calendar: CalendarArgs,

    #[command(flatten)]
    pub request: TicketArgs,

    #[command(flatten)]
    pub confirm: ConfirmArgs,
}

impl RequestOpenArgs {
    /// The subject as given: IDENTITY, or the hidden `--subject` (clap lets exactly
    /// one through).
    pub fn subject_identity(&self) -> &str {
        self.identity
            .as_deref()
            .or(self.subject.as_deref())
            .unwrap_or_default()
    }
}

#[derive(Debug, Args)]
pub struct RequestListArgs {
    /// Only requests and breaches past their due date; exit 6 when there is any.
    #[arg(long)]
    pub overdue: bool,

    /// Only those due within this many calendar days from today (0: due today or late).
    #[arg(long, value_name = "DAYS", allow_negative_numbers = true,
          value_parser = number::<i64>(0, 3650))]
    pub due_within: Option<i64>,

    /// Closed ones too.
    #[arg(long, conflicts_with_all = ["overdue", "due_within"])]
    pub all: bool,
}

#[derive(Debug, Args)]
pub struct RequestShowArgs {
    /// The request's id.
    #[arg(value_name = "ID", allow_negative_numbers = true,
          value_parser = number::<i64>(1, i64::MAX))]
    pub id: i64,
}

#[derive(Debug, Args)]
pub struct RequestCloseArgs {
    /// The request's id.
    #[arg(value_name = "ID", allow_negative_numbers = true,
          value_parser = number::<i64>(1, i64::MAX))]
    pub id: i64,

    /// How it ended.
    #[arg(long, value_enum)]
    pub outcome: OutcomeArg,

    /// The reference of the reply sent to the subject (a letter number, a mail's ticket).
    #[arg(long, value_name = "REF")]
    pub reply: Option<String>,

    #[command(flatten)]
    pub request: TicketArgs,

    #[command(flatten)]
    pub confirm: ConfirmArgs,
}

#[derive(Debug, Args)]
pub struct RequestExtendArgs {
    /// The request's id.
    #[arg(value_name = "ID", allow_negative_numbers = true,
          value_parser = number::<i64>(1, i64::MAX))]
    pub id: i64,

    #[command(flatten)]
    pub request: TicketArgs,

    #[command(flatten)]
    pub confirm: ConfirmArgs,
}

#[derive(Debug, Subcommand)]
pub enum BreachCommand {
    /// Record a breach and compute when the authorised body must be told.
    ///
    /// The deadline is one working day after the day of discovery (Law 94-V as
    /// amended by Law 44-VIII, in force 1 July 2024), on the same calendar as
    /// requests. Blocks made for it (`block --breach ID`) are linked to it.
    #[command(after_help = EX_BREACH_OPEN)]
    Open(BreachOpenArgs),
    /// List open breaches (or all), soonest deadline first, with the blocks made for them.
    #[command(after_help = EX_BREACH_LIST)]
    List(BreachListArgs),
    /// One breach and every audit row linked to it.
    #[command(after_help = EX_BREACH_SHOW)]
    Show(RequestShowArgs),
    /// Record that the authorised body was told, and close the breach.
    #[command(after_help = EX_BREACH_CLOSE)]
    Close(BreachCloseArgs),
}

#[derive(Debug, Args)]
pub struct BreachOpenArgs {
    /// When it was discovered: 2026-11-27T09:30:00+05:00, or 2026-11-27T09:30 (also
    /// '2026-11-27 09:30') in the data map's time zone (default Asia/Almaty).
    #[arg(long, value_name = "TIMESTAMP")]
    pub discovered: String,

    /// What happened, as a reference-like line (kept forever: no personal data).
    #[arg(long, value_name = "TEXT")]
    pub summary: String,

    /// The subjects concerned: a file of identities, one a line (as `block --from-file`).
    #[arg(long, value_name = "FILE")]
    pub subjects: Option<PathBuf>,

    #[command(flatten)]
    pub calendar: CalendarArgs,

    #[command(flatten)]
    pub request: TicketArgs,

    #[command(flatten)]
    pub confirm: ConfirmArgs,
}

#[derive(Debug, Args)]
pub struct BreachListArgs {
    /// Only breaches past their notification deadline; exit 6 when there is any.
    #[arg(long)]
    pub overdue: bool,

    /// Closed ones too.
    #[arg(long, conflicts_with = "overdue")]
    pub all: bool,
}

#[derive(Debug, Args)]
pub struct BreachCloseArgs {
    /// The breach's id.
    #[arg(value_name = "ID", allow_negative_numbers = true,
          value_parser = number::<i64>(1, i64::MAX))]
    pub id: i64,

    /// When the authorised body was told (as --discovered).
    #[arg(long, value_name = "TIMESTAMP")]
    pub notified_at: String,

    /// The notification's reference (outgoing letter or portal number).
    #[arg(long, value_name = "REF")]
    pub reference: String,

    #[command(flatten)]
    pub request: TicketArgs,

    #[command(flatten)]
    pub confirm: ConfirmArgs,
}

const EX_PURGE: &str = "\
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
    pub request: TicketArgs,

    #[command(flatten)]
    pub link: LinkArgs,

    #[command(flatten)]
    pub confirm: ConfirmArgs,
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_yyyy_mm_dd_with_a_four_digit_year() {
        let day = chrono::NaiveDate::from_ymd_opt(2026, 1, 5).unwrap();
        assert_eq!(parse_date("2026-01-05"), Ok(day));
        assert_eq!(parse_date(" 2026-1-5 "), Ok(day));
        for bad in [
            "-2026-01-05",
            "+2026-01-05",
            "26-01-05",
            "2026-13-01",
            "2026-02-30",
            "yesterday",
            "",
        ] {
            let message = parse_date(bad).unwrap_err();
            assert!(message.contains("YYYY-MM-DD"), "{bad}: {message}");
        }
    }

    #[test]
    fn numbers_and_periods_with_a_minus_sign_must_be_positive() {
        let jobs = number::<u16>(1, 64);
        assert_eq!(jobs("4"), Ok(4));
        assert!(jobs("-2").unwrap_err().starts_with("must be positive"));
        assert!(jobs("65").unwrap_err().starts_with("too large"));
        assert!(jobs("x").unwrap_err().starts_with("not a whole number"));
        assert!(number::<usize>(0, i64::MAX)("-1")
            .unwrap_err()
            .starts_with("cannot be negative"));
        let keep = unsigned(PERIOD);
        assert_eq!(keep("5y"), Ok("5y".to_owned()));
        assert!(keep("-5y").unwrap_err().starts_with("must be positive"));
        assert!(keep("--ticket").unwrap_err().contains("next option"));
    }
}
