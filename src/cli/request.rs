//! `derbes request` and `derbes breach`: subjects' requests and breaches, with their
//! legal deadlines.

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};

use super::{number, parse_date, CalendarArgs, ConfirmArgs, TicketArgs};

pub(super) const EX_REQUEST: &str = "\
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

pub(super) const EX_BREACH: &str = "\
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
    #[arg(long, env = "DERBES_ACCESS_DAYS", value_name = "N", default_value_t = 3, hide_env_values = true,
          allow_negative_numbers = true, value_parser = number::<u32>(1, 30))]
    pub access_days: u32,

    #[command(flatten)]
    pub calendar: CalendarArgs,

    #[command(flatten)]
    pub ticket: TicketArgs,

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
    pub ticket: TicketArgs,

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
    pub ticket: TicketArgs,

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
    pub ticket: TicketArgs,

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
    pub ticket: TicketArgs,

    #[command(flatten)]
    pub confirm: ConfirmArgs,
}
