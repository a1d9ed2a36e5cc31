//! One module per subcommand. Each turns parsed arguments into the library's
//! option structs, calls the library, and hands the report to `output`.

pub mod anonymise;
pub mod archive;
pub mod audit;
pub mod block;
pub mod blocks;
pub mod calendar;
pub mod completions;
pub mod consent;
pub mod disclosure;
pub mod erase;
pub mod exit_codes;
pub mod export;
pub mod keys;
pub mod map;
pub mod migrate;
pub mod policy;
pub mod purge;
pub mod rectify;
pub mod report;
pub mod request;
pub mod roles;
pub mod sample;
pub mod subject;
pub mod unblock;

use std::io::IsTerminal;
use std::path::PathBuf;

use tokio_postgres::Client;

use crate::cli::{Cli, Command, Format, GlobalOpts};
use crate::error::DerbesError;
use crate::map::DataMap;
use crate::pg::catalog::Catalog;
use crate::pg::connect::{connect, ConnectOptions, Target};
use crate::pg::db::check_read_db;

/// What every command gets: the global options and who is running it.
pub struct Context {
    pub global: GlobalOpts,
    pub operator: String,
}

impl Context {
    pub fn new(global: GlobalOpts) -> Context {
        let operator = global
            .operator
            .clone()
            .filter(|o| !o.trim().is_empty())
            .unwrap_or_else(whoami::username);
        Context { global, operator }
    }

    /// `--format`, else a table on a terminal and tab-separated text off one.
    pub fn format(&self) -> Format {
        self.global
            .format
            .unwrap_or_else(|| crate::output::default_format(std::io::stdout().is_terminal()))
    }

    /// The primary: every write goes here.
    pub async fn connect(&self) -> anyhow::Result<(Client, Target)> {
        self.connect_to(self.global.db.clone()).await
    }

    /// A replica when `--read-db` is given (checked against the primary, see
    /// [`Context::connect_replica`]), else the primary.
    pub async fn connect_read(&self) -> anyhow::Result<(Client, Target)> {
        let primary = self.connect().await?;
        match self.global.read_db {
            Some(_) => self.connect_replica(&primary).await,
            None => Ok(primary),
        }
    }

    /// The `--read-db` connection, refused (exit 2) unless it reaches the same
    /// database as `primary` on the same cluster or a replica of it. Every command
    /// that reads through `--read-db` comes here before its first read.
    pub async fn connect_replica(
        &self,
        primary: &(Client, Target),
    ) -> anyhow::Result<(Client, Target)> {
        let read = self.connect_to(self.global.read_db.clone()).await?;
        check_read_db(&primary.0, &primary.1, &read.0, &read.1).await?;
        Ok(read)
    }

    async fn connect_to(&self, conninfo: Option<String>) -> anyhow::Result<(Client, Target)> {
        let options = ConnectOptions {
            conninfo,
            application_name: "derbes".to_owned(),
            connect_timeout: Some(std::time::Duration::from_secs(10)),
        };
        let (client, target) = connect(&options).await?;
        let place = format!(
            "database \"{}\" on {}{} as {}",
            target.dbname,
            target.host,
            if target.host.starts_with('/') {
                String::new()
            } else {
                format!(":{}", target.port)
            },
            target.user
        );
        tracing::info!("connected to {place}");
        crate::pg::db::note_connected_database(place);
        // With the audit key set, every record this run appends is sealed with it.
        if !crate::pg::audit::sealing() {
            if let Some(key) = crate::commands::keys::audit_key(None)? {
                crate::pg::audit::seal_with(key);
            }
        }
        // Every statement of every command waits at most this long for a lock (a
        // table or row held by another session), then fails with a clear error
        // (`db::describe`) instead of hanging; a command may set a shorter one.
        let replies = client
            .simple_query(&format!(
                "SET lock_timeout = '{}s'; SELECT current_user",
                crate::pg::db::LOCK_TIMEOUT_SECS
            ))
            .await?;
        // The role, so that a "permission denied" can name who lacks the grant.
        if let Some(role) = replies.iter().find_map(|m| match m {
            tokio_postgres::SimpleQueryMessage::Row(row) => row.get(0).map(str::to_owned),
            _ => None,
        }) {
            crate::pg::db::note_connected_role(role);
        }
        Ok((client, target))
    }

    /// The gate before anything that changes data or writes personal data to a
    /// file, for commands without a data map: the derbes schema current and as this
    /// binary wrote it (what `migrate` refuses, refused here too).
    pub async fn gate_schema(&self, client: &Client) -> anyhow::Result<()> {
        crate::pg::migrate::ensure_current(client).await?;
        crate::pg::migrate::ensure_unmodified(client).await?;
        Ok(())
    }

    /// [`Context::gate_schema`], then the data map passing the catalogue checks of
    /// `map check` (tables, columns, types, links, privileges; not the index
    /// definitions or ledgers, which are slow). Refuses with exit 6 naming the first
    /// findings; nothing has run yet. Returns the catalogue it checked, for the
    /// command to use.
    pub async fn gate(&self, client: &Client, map: &DataMap) -> anyhow::Result<Catalog> {
        self.gate_schema(client).await?;
        let catalog = Catalog::read(client).await.map_err(|e| {
            anyhow::anyhow!(
                "cannot read the database catalogue: {}",
                crate::pg::db::describe(&e)
            )
        })?;
        let mut report = crate::ops::map_check::check(map, &catalog, Default::default());
        report
            .findings
            .extend(crate::ops::map_check::check_privileges(client, map, &catalog).await?);
        report
            .findings
            .extend(crate::ops::masking::check_fit(client, map, &catalog).await?);
        let errors: Vec<_> = report
            .findings
            .iter()
            .filter(|f| f.severity == crate::ops::map_check::Severity::Error)
            .collect();
        if errors.is_empty() {
            return Ok(catalog);
        }
        const SHOWN: usize = 3;
        let first: Vec<String> = errors
            .iter()
            .take(SHOWN)
            .map(|f| format!("{}: {}", f.object, f.message))
            .collect();
        let more = match errors.len().saturating_sub(SHOWN) {
            0 => String::new(),
            n => format!(" (and {n} more)"),
        };
        Err(DerbesError::VerificationFailed(format!(
            "the data map does not fit the database, so nothing was changed: {}{more}; \
             run `derbes map check` for every finding and its fix, then try again",
            first.join("; ")
        ))
        .into())
    }

    /// `--request`/`--breach` ([`crate::cli::LinkArgs`]): check that they exist
    /// and are open (exit 3 / 5, before anything changed), then bind them to
    /// `client`, so every audit row written on it records them. Call it after the
    /// gate and before the change, on the connection the audit row is written on.
    pub async fn link(&self, client: &Client, link: &crate::cli::LinkArgs) -> anyhow::Result<()> {
        let link = crate::pg::audit::AuditLink {
            request_id: link.request_id,
            breach_id: link.breach_id,
        };
        if link.is_empty() {
            return Ok(());
        }
        crate::ops::request::check_link(client, &link).await?;
        crate::pg::audit::bind_link(client, &link).await?;
        Ok(())
    }

    /// The zone in which "today" is read: the data map's `timezone` when a map is
    /// given, else Asia/Almaty (`when::DEFAULT_TIME_ZONE`).
    pub fn time_zone(&self) -> anyhow::Result<chrono_tz::Tz> {
        match self.global.map {
            Some(_) => Ok(self.map()?.time_zone()),
            None => Ok(crate::when::default_time_zone()),
        }
    }

    /// The data map named by `--map` / `DERBES_MAP`.
    pub fn map(&self) -> anyhow::Result<DataMap> {
        let path: PathBuf = self.global.map.clone().ok_or_else(|| {
            DerbesError::Usage(
                "this command needs the data map: pass --map PATH or set DERBES_MAP (examples/datamap.toml is the reference one)"
                    .to_owned(),
            )
        })?;
        DataMap::load(&path).map_err(|e| match e {
            crate::map::MapError::Read { .. } => anyhow::Error::new(e),
            other => DerbesError::Usage(other.to_string()).into(),
        })
    }
}

/// The age recipients of `-r/--recipient` and `--recipients-file` (export and
/// archive): a key that does not parse is a usage error (exit 2). May be empty.
pub fn recipients(
    args: &crate::cli::RecipientArgs,
) -> anyhow::Result<crate::files::crypto::Recipients> {
    let usage = |e: crate::files::crypto::CryptoError| DerbesError::Usage(e.to_string());
    let mut recipients = crate::files::crypto::Recipients::new();
    for (index, text) in args.recipients.iter().enumerate() {
        recipients.add(text, index + 1).map_err(usage)?;
    }
    for path in &args.recipients_file {
        recipients.add_file(path).map_err(usage)?;
    }
    Ok(recipients)
}

/// Every free-text value of the command line that an audit row or a history row
/// keeps, with the option it came from.
fn free_text(cli: &Cli) -> Vec<(&'static str, &str)> {
    use crate::cli::ArchiveCommand;
    let mut values = Vec::new();
    if let Some(operator) = &cli.global.operator {
        values.push(("--operator", operator.as_str()));
    }
    let ticket = match &cli.command {
        Command::Export(args) => Some(args.ticket.reference.as_str()),
        Command::Block(args) => Some(args.ticket.reference.as_str()),
        Command::Unblock(args) => {
            values.push(("--application", args.application.as_str()));
            Some(args.ticket.reference.as_str())
        }
        Command::Archive(ArchiveCommand::Dump(args)) => Some(args.ticket.reference.as_str()),
        Command::Archive(ArchiveCommand::Restore(args)) => Some(args.ticket.reference.as_str()),
        Command::Archive(ArchiveCommand::Expire(args)) => Some(args.ticket.reference.as_str()),
        Command::Request(command) => request_free_text(command, &mut values),
        Command::Breach(command) => breach_free_text(command, &mut values),
        Command::Rectify(args) => {
            if let Some(evidence) = &args.evidence {
                values.push(("--evidence", evidence.as_str()));
            }
            Some(args.ticket.reference.as_str())
        }
        Command::Consent(
            crate::cli::ConsentCommand::Withdraw(args) | crate::cli::ConsentCommand::Grant(args),
        ) => {
            values.push(("--document", args.document.as_str()));
            Some(args.ticket.reference.as_str())
        }
        Command::Policy(crate::cli::PolicyCommand::Publish(args)) => {
            values.push(("VERSION", args.version.as_str()));
            Some(args.ticket.reference.as_str())
        }
        Command::Policy(crate::cli::PolicyCommand::Objection(args)) => {
            values.push(("--document", args.document.as_str()));
            Some(args.ticket.reference.as_str())
        }
        Command::Disclosure(crate::cli::DisclosureCommand::Record(args)) => {
            values.push(("--recipient", args.recipient.as_str()));
            Some(args.ticket.reference.as_str())
        }
        Command::Erase(args) => Some(args.ticket.reference.as_str()),
        Command::Anonymise(args) => Some(args.ticket.reference.as_str()),
        Command::Purge(args) => Some(args.ticket.reference.as_str()),
        _ => None,
    };
    if let Some(ticket) = ticket {
        values.push(("--ticket", ticket));
    }
    values
}

fn request_free_text<'a>(
    command: &'a crate::cli::RequestCommand,
    values: &mut Vec<(&'static str, &'a str)>,
) -> Option<&'a str> {
    use crate::cli::RequestCommand;
    match command {
        RequestCommand::Open(args) => Some(args.ticket.reference.as_str()),
        RequestCommand::Close(args) => {
            if let Some(reply) = &args.reply {
                values.push(("--reply", reply.as_str()));
            }
            Some(args.ticket.reference.as_str())
        }
        RequestCommand::Extend(args) => Some(args.ticket.reference.as_str()),
        RequestCommand::List(_) | RequestCommand::Show(_) => None,
    }
}

fn breach_free_text<'a>(
    command: &'a crate::cli::BreachCommand,
    values: &mut Vec<(&'static str, &'a str)>,
) -> Option<&'a str> {
    use crate::cli::BreachCommand;
    match command {
        BreachCommand::Open(args) => {
            values.push(("--summary", args.summary.as_str()));
            Some(args.ticket.reference.as_str())
        }
        BreachCommand::Close(args) => {
            values.push(("--reference", args.reference.as_str()));
            Some(args.ticket.reference.as_str())
        }
        BreachCommand::List(_) | BreachCommand::Show(_) => None,
    }
}

/// Run the parsed command line.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    for (option, value) in free_text(&cli) {
        crate::free_text::check(option, value).map_err(|e| DerbesError::Usage(e.to_string()))?;
    }
    let ctx = Context::new(cli.global);
    let word = roles::command_word(&cli.command);
    let result = match cli.command {
        Command::Migrate(args) => migrate::run(&ctx, args).await,
        Command::Map(command) => map::run(&ctx, command).await,
        Command::Audit(command) => audit::run(&ctx, command).await,
        Command::Sample(command) => sample::run(&ctx, command).await,
        Command::Archive(command) => archive::run(&ctx, command).await,
        Command::Subject(command) => subject::run(&ctx, command).await,
        Command::Export(args) => export::run(&ctx, args).await,
        Command::Block(args) => block::run(&ctx, args).await,
        Command::Unblock(args) => unblock::run(&ctx, args).await,
        Command::Blocks(args) => blocks::run(&ctx, args).await,
        Command::Completions(args) => completions::run(args),
        Command::Calendar(command) => calendar::run(&ctx, command),
        Command::Request(command) => request::run(&ctx, command).await,
        Command::Breach(command) => request::run_breach(&ctx, command).await,
        Command::Rectify(args) => rectify::run(&ctx, args).await,
        Command::Consent(command) => consent::run(&ctx, command).await,
        Command::Policy(command) => policy::run(&ctx, command).await,
        Command::Disclosure(command) => disclosure::run(&ctx, command).await,
        Command::Erase(args) => erase::run(&ctx, args).await,
        Command::Anonymise(args) => anonymise::run(&ctx, args).await,
        Command::Purge(args) => purge::run(&ctx, args).await,
        Command::Roles(args) => roles::run(&ctx, args).await,
        Command::Report(args) => report::run(&ctx, args).await,
    };
    result.map_err(|e| roles::explain_denied(&ctx, word, e))
}
