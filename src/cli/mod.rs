//! Command-line definitions: clap derive types only. The logic lives in
//! `commands/`, which turns these into plain option structs for the library.
//!
//! Here: the command line as a whole ([`Cli`], [`Command`]), the options every
//! command understands ([`GlobalOpts`]), the argument groups the commands flatten
//! ([`TicketArgs`], [`LinkArgs`], [`ConfirmArgs`], [`RecipientArgs`]) and the value
//! parsers they share. Each command group's arguments live in a file of their own,
//! re-exported here so that `crate::cli::ExportArgs` names them wherever they live.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::error::EXIT_CODES_HELP;
use crate::pg::change::BatchSize;

mod archive;
mod audit;
mod block;
mod calendar;
mod completions;
mod consent;
mod disclosure;
mod erase;
mod explain;
mod export;
mod map;
mod migrate;
mod policy;
mod purge;
mod rectify;
mod report;
mod request;
mod roles;
mod sample;
mod subject;

pub use archive::{
    ArchiveCommand, ArchiveDumpArgs, ArchiveExpireArgs, ArchiveListArgs, ArchiveRestoreArgs,
    ArchiveSelectionArgs, ArchiveVerifyArgs,
};
pub use audit::{AuditCommand, AuditLogArgs, AuditVerifyArgs};
pub use block::{
    BlockArgs, BlockCommand, BlockListArgs, BlockReason, BlockTicketArgs, UnblockArgs,
};
pub use calendar::{CalendarArgs, CalendarCommand, CalendarShowArgs};
pub use completions::{CompletionShell, CompletionsArgs};
pub use consent::{ConsentChangeArgs, ConsentCommand, ConsentListArgs};
pub use disclosure::{
    DisclosureBasis, DisclosureCommand, DisclosureListArgs, DisclosureRecordArgs,
};
pub use erase::{AnonymiseArgs, EraseArgs};
pub use explain::explain;
pub use export::ExportArgs;
pub use map::{MapCheckArgs, MapCommand, MapInitArgs};
pub use migrate::MigrateArgs;
pub use policy::{PolicyCommand, PolicyObjectionArgs, PolicyPublishArgs, PolicyStatusArgs};
pub use purge::PurgeArgs;
pub use rectify::RectifyArgs;
pub use report::{ReportArgs, ReportLang};
pub use request::{
    BreachCloseArgs, BreachCommand, BreachListArgs, BreachOpenArgs, ChannelArg, JurisdictionArg,
    OutcomeArg, RequestCloseArgs, RequestCommand, RequestExtendArgs, RequestKindArg,
    RequestListArgs, RequestOpenArgs, RequestShowArgs,
};
pub use roles::RolesArgs;
pub use sample::{SampleCommand, SampleInitArgs};
pub use subject::{SubjectCommand, SubjectShowArgs};

const ABOUT: &str = "Keep the privacy policy's promises against the production PostgreSQL: \
subject-access exports, blocking, archives and an audit trail of every change.";

const CONNECTION_HELP: &str = "\
Connection:
  --db or DATABASE_URL (postgres://user@host/db?sslmode=verify-full), or libpq's PGHOST,
  PGPORT, PGUSER, PGDATABASE, PGPASSWORD, PGSSLMODE, PGSSLROOTCERT, PGSERVICE and ~/.pgpass.
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
#[command(after_help = format!("{CONNECTION_HELP}\n{EX_ROOT}"), after_long_help = format!("{CONNECTION_HELP}\n{EXIT_CODES_HELP}\n\n{EX_ROOT}"))]
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

/// Options every command understands. Their help comes after each command's own
/// options, under two headings of their own, so that `derbes export --help` opens
/// with what `export` takes. Environment variables are named without their values
/// (`hide_env_values`): a set one would show a connection string or a path, an
/// unset one read as "set to empty".
#[derive(Debug, Args, Clone)]
pub struct GlobalOpts {
    /// Database to work on (URL or libpq keyword string); writes go here.
    #[arg(
        long,
        global = true,
        env = "DATABASE_URL",
        value_name = "URL",
        hide_env_values = true,
        help_heading = CONNECTION_OPTIONS
    )]
    pub db: Option<String>,

    /// Replica for reads that need not be fresh (exports); defaults to --db.
    #[arg(
        long,
        global = true,
        env = "DERBES_READ_DATABASE_URL",
        value_name = "URL",
        hide_env_values = true,
        help_heading = CONNECTION_OPTIONS
    )]
    pub read_db: Option<String>,

    /// The data map: where personal data lives in this database.
    #[arg(
        long,
        global = true,
        env = "DERBES_MAP",
        value_name = "PATH",
        hide_env_values = true,
        help_heading = CONNECTION_OPTIONS
    )]
    pub map: Option<PathBuf>,

    /// Who is running this; recorded in every audit row. Defaults to the OS user.
    #[arg(
        long,
        global = true,
        env = "DERBES_OPERATOR",
        value_name = "NAME",
        hide_env_values = true,
        help_heading = CONNECTION_OPTIONS
    )]
    pub operator: Option<String>,

    /// Output format. Default: a table on a terminal; off a terminal (a pipe, a
    /// file, cron) tab-separated text: one header line, one line per row, notes
    /// as lines starting with `# `, no box drawing and no colour.
    #[arg(
        long,
        global = true,
        value_enum,
        value_name = "FORMAT",
        help_heading = OUTPUT_OPTIONS
    )]
    pub format: Option<Format>,

    /// More diagnostics on stderr (-v, -vv). Never prints personal data.
    #[arg(short, long, global = true, action = clap::ArgAction::Count, conflicts_with = "quiet",
          help_heading = OUTPUT_OPTIONS)]
    pub verbose: u8,

    /// Only errors on stderr.
    #[arg(short, long, global = true, help_heading = OUTPUT_OPTIONS)]
    pub quiet: bool,
}

/// The help headings of [`GlobalOpts`] (also the man pages' section names).
pub const CONNECTION_OPTIONS: &str = "Connection options";
pub const OUTPUT_OPTIONS: &str = "Output options";

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
    // Read as `args.ticket.reference`; the id stays `ticket` for `BlockTicketArgs`.
    #[arg(id = "ticket", long = "ticket", value_name = "TICKET")]
    pub reference: String,
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

// Every command's help ends with examples (`after_help`, the `EX_*` texts beside
// each command's arguments). Every line starting with `derbes` is parsed by a test
// (tests/cli/surface.rs), so they stay real.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Install or upgrade derbes' own schema (audit log, ...) in the database.
    #[command(after_help = migrate::EX_MIGRATE)]
    Migrate(MigrateArgs),
    /// Work with the data map: check it against the database, or draft one.
    #[command(subcommand, after_help = map::EX_MAP)]
    Map(MapCommand),
    /// Read and verify the append-only, hash-chained audit trail.
    #[command(subcommand, after_help = audit::EX_AUDIT)]
    Audit(AuditCommand),
    /// Load the reference schema and a synthetic population (demo, tests, benchmarks).
    #[command(subcommand, after_help = sample::EX_SAMPLE)]
    Sample(SampleCommand),
    /// Age-encrypted archives of rows the law says to keep: dump, verify, restore, expire.
    #[command(subcommand, after_help = archive::EX_ARCHIVE)]
    Archive(ArchiveCommand),
    /// Find a data subject by IIN, BIN, phone, email or id:KEY and show what is held.
    #[command(subcommand, after_help = subject::EX_SUBJECT_SHOW)]
    Subject(SubjectCommand),
    /// Export everything held about one subject as an age-encrypted bundle (access request).
    ///
    /// The bundle is a tar of manifest.json, data.json (personal data by category,
    /// with purposes, legal bases and recipients), one CSV per table and
    /// summary.html, encrypted with age (a modern file encryption tool: only the
    /// holders of the recipients' private keys can open it). Read it with
    /// `age -d -i key.txt FILE | tar -xv`.
    #[command(after_help = export::EX_EXPORT)]
    Export(ExportArgs),
    /// Block accounts at once: by identity, from a file, by IP range or device (policy 5.3,
    /// 5.7); `block list` lists the blocks.
    ///
    /// Sets what the data map's [block] section declares (status, revoked sessions,
    /// token version) in one transaction, with a history row per subject and one audit row.
    #[command(after_help = block::EX_BLOCK)]
    Block(BlockArgs),
    /// Restore blocked accounts on the subject's written application (policy 5.7).
    #[command(after_help = block::EX_UNBLOCK)]
    Unblock(UnblockArgs),
    /// List blocks: the older spelling of `block list`, kept for scripts.
    // Hidden from the command list, completions and man pages: `block list` is the
    // spelling taught; `block list` is also run as this variant (`resolve_aliases`).
    #[command(hide = true, after_help = block::EX_BLOCKS)]
    Blocks(BlockListArgs),
    /// Print shell completions or the man pages.
    #[command(after_help = completions::EX_COMPLETIONS)]
    Completions(CompletionsArgs),
    /// Subjects' requests with their legal deadlines (Law 94-V): open, list, show, close.
    ///
    /// A request gets a due date in Kazakh working days when opened; every change
    /// made with --request ID is linked to it in the audit trail, and closing it
    /// lists what was done. `request list --overdue` exits 6 when anything is late.
    #[command(subcommand, after_help = request::EX_REQUEST)]
    Request(RequestCommand),
    /// The working-day calendar deadlines are counted on: its days off and their sources.
    #[command(subcommand, after_help = calendar::EX_CALENDAR)]
    Calendar(CalendarCommand),
    /// Personal-data breaches and the deadline for telling the authorised body (policy 5.7, 6.2.6).
    #[command(subcommand, after_help = request::EX_BREACH)]
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
    #[command(after_help = rectify::EX_RECTIFY)]
    Rectify(RectifyArgs),
    /// List, withdraw or grant a subject's consents (policy 3.1, 6.1.5; Art. 8).
    #[command(subcommand, after_help = consent::EX_CONSENT)]
    Consent(ConsentCommand),
    /// Policy versions and the notice of each to the subjects: publish, objection, status (policy 10.2-10.5).
    ///
    /// A change of the privacy policy is announced to every user in the personal
    /// cabinet (10.2); the user may object in writing (10.4); no objection counts as
    /// consent (10.5). Tables and columns come from `[ledgers] policy` of the data map.
    #[command(subcommand, after_help = policy::EX_POLICY)]
    Policy(PolicyCommand),
    /// Transfers of a subject's data to third parties: record one, list them (policy 7.2).
    ///
    /// Written to the data map's `[ledgers] disclosures` table, which the subject's
    /// export reads: each recipient appears there with the date and the purpose.
    #[command(subcommand, after_help = disclosure::EX_DISCLOSURE)]
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
    #[command(after_help = erase::EX_ERASE)]
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
    #[command(after_help = erase::EX_ANONYMISE)]
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
    #[command(after_help = purge::EX_PURGE)]
    Purge(PurgeArgs),
    /// Least-privilege group roles for support, on-call and the DPO, from the data map.
    ///
    /// Prints the SQL (for the DBA to review and run) that creates the NOLOGIN roles
    /// <prefix>_support, <prefix>_oncall and <prefix>_dpo and grants each exactly
    /// what its commands need on this database's mapped tables, columns and
    /// derbes' own tables. None may change or remove an audit row.
    #[command(after_help = roles::EX_ROLES)]
    Roles(RolesArgs),
    /// The DPO's report: data held against retention, requests and breaches against
    /// their deadlines, nightly jobs, blocks, archives, consents, cohorts, map coverage.
    ///
    /// Counts, references and rule names only, never a person's data, read in one
    /// read-only snapshot. An HTML page to --out, or the same figures as JSON with
    /// --format json. Rows are counted against each retention rule with the
    /// conditions `purge` uses: within the period, due, or held back by an open
    /// loan, a block, an open request or rows that still point at them.
    #[command(after_help = report::EX_REPORT)]
    Report(ReportArgs),
}

impl Command {
    /// The command to run: `block list` and its older spelling `blocks` are one
    /// command, whichever way it was spelled.
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

/// Which periods, durations and points in time the commands' options take (with
/// [`unsigned`]), for their messages.
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
