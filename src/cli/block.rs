//! `derbes block`, `block list`, `unblock`, and `blocks` (the older spelling of
//! `block list`, hidden).

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};

use super::{number, unsigned, ConfirmArgs, LinkArgs, TicketArgs, SINCE};

pub(super) const EX_BLOCK: &str = "\
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

pub(super) const EX_UNBLOCK: &str = "\
Examples:
  derbes unblock 061211600012 --application MAIL-2026-0042 --ticket REQ-88
  derbes unblock id:42 --application MAIL-2026-0043 --ticket REQ-89 --dry-run
";

pub(super) const EX_BLOCKS: &str = "\
Examples:
  derbes blocks --active
  derbes blocks --since 7d --format json
";

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
    pub ticket: BlockTicketArgs,

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
    List(BlockListArgs),
}

/// `--ticket` of `block`: the option of [`TicketArgs`], required to block, absent
/// under `block list` (which changes nothing). Read by hand because clap's derive
/// insists on a required `String` even when a subcommand lifted the requirement;
/// the ticket is empty only under `block list`.
#[derive(Debug, Clone, Default)]
pub struct BlockTicketArgs {
    pub reference: String,
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
            self.reference = ticket;
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

#[derive(Debug, Args)]
pub struct UnblockArgs {
    /// Identities to unblock: IIN, BIN, phone, email or id:KEY.
    #[arg(value_name = "IDENTITY", required = true)]
    pub identities: Vec<String>,

    /// Reference of the subject's written application asking for access back (policy 5.7).
    #[arg(long, value_name = "REF")]
    pub application: String,

    #[command(flatten)]
    pub ticket: TicketArgs,

    #[command(flatten)]
    pub link: LinkArgs,

    #[command(flatten)]
    pub confirm: ConfirmArgs,
}

#[derive(Debug, Args)]
pub struct BlockListArgs {
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
