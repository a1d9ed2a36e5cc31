//! `derbes roles --print-sql`: the SQL of the least-privilege group roles, and the
//! message a command refused a privilege gives (which grant, which derbes role).

use std::io::Write;

use crate::cli::{Command, RolesArgs};
use crate::commands::Context;
use crate::error::DerbesError;
use crate::ops::roles::{self, Plan, RolesError};

pub async fn run(ctx: &Context, args: RolesArgs) -> anyhow::Result<()> {
    roles::check_prefix(&args.prefix).map_err(|e| DerbesError::Usage(e.to_string()))?;
    let map = ctx.map()?;
    let (client, _) = ctx.connect().await?;
    crate::pg::migrate::ensure_current(&client).await?;
    let plan = Plan::read(&client, &map, &args.prefix)
        .await
        .map_err(|e| -> anyhow::Error {
            match e {
                RolesError::BadPrefix(_) => DerbesError::Usage(e.to_string()).into(),
                RolesError::MissingTables(_) => {
                    DerbesError::VerificationFailed(e.to_string()).into()
                }
                other => other.into(),
            }
        })?;
    // --print-sql is required: printing is all this command does; running the SQL
    // is the DBA's, as the tables' owner.
    debug_assert!(args.print_sql);
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(plan.sql().as_bytes())?;
    stdout.flush()?;
    Ok(())
}

/// The first word of the command line, as [`roles::COMMANDS`] knows it.
pub fn command_word(command: &Command) -> &'static str {
    match command {
        Command::Migrate(_) => "migrate",
        Command::Map(_) => "map",
        Command::Audit(_) => "audit",
        Command::Sample(_) => "sample",
        Command::Archive(_) => "archive",
        Command::Subject(_) => "subject",
        Command::Export(_) => "export",
        Command::Block(_) => "block",
        Command::Unblock(_) => "unblock",
        Command::Blocks(_) => "blocks",
        Command::Completions(_) => "completions",
        Command::Request(_) => "request",
        Command::Calendar(_) => "calendar",
        Command::Breach(_) => "breach",
        Command::Rectify(_) => "rectify",
        Command::Consent(_) => "consent",
        Command::Policy(_) => "policy",
        Command::Disclosure(_) => "disclosure",
        Command::Erase(_) => "erase",
        Command::Anonymise(_) => "anonymise",
        Command::Purge(_) => "purge",
        Command::Roles(_) => "roles",
        Command::Report(_) => "report",
    }
}

/// A command refused a privilege by the server (SQLSTATE 42501): say which grant it
/// needs on the object named and which derbes role has it, as a refusal (exit 5;
/// the change's transaction was rolled back). Any other error passes unchanged.
pub fn explain_denied(ctx: &Context, command: &str, error: anyhow::Error) -> anyhow::Error {
    if let Some(table) = error.chain().find_map(owner_needed) {
        return error.context(DerbesError::Refused(roles::describe_owner_needed(
            command, &table,
        )));
    }
    let Some((kind, object)) = error.chain().find_map(denied_object) else {
        return error;
    };
    // The map names the privileges; without it the role is still named.
    let plan = ctx
        .global
        .map
        .as_ref()
        .and_then(|_| ctx.map().ok())
        .and_then(|map| Plan::from_map(&map, roles::DEFAULT_PREFIX).ok());
    let text = roles::describe_missing(plan.as_ref(), command, &kind, &object);
    error.context(DerbesError::Refused(text))
}

/// The kind and name of the object a cause says a privilege is missing on: the
/// server's error itself, or its text as `pg::db::describe` rendered it (the change
/// engine keeps errors as text).
fn denied_object(cause: &(dyn std::error::Error + 'static)) -> Option<(String, String)> {
    let db = cause
        .downcast_ref::<tokio_postgres::Error>()
        .and_then(|e| e.as_db_error())
        .or_else(|| cause.downcast_ref::<tokio_postgres::error::DbError>());
    let text = match db {
        Some(db) if db.code().code() == "42501" => crate::pg::db::describe_db(db),
        Some(_) => return None,
        None => cause.to_string(),
    };
    crate::pg::db::denied_object(&text)
}

/// The table a cause says only its owner may change ("must be owner of table
/// server_logs": dropping or detaching a partition), as the server said it or as a
/// report quoted it.
fn owner_needed(cause: &(dyn std::error::Error + 'static)) -> Option<String> {
    let db = cause
        .downcast_ref::<tokio_postgres::Error>()
        .and_then(|e| e.as_db_error())
        .or_else(|| cause.downcast_ref::<tokio_postgres::error::DbError>());
    let text = match db {
        Some(db) if db.code().code() == "42501" => db.message().to_owned(),
        Some(_) => return None,
        None => cause.to_string(),
    };
    let rest = text.split_once("must be owner of table ")?.1;
    let table: String = rest
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '.')
        .collect();
    (!table.is_empty()).then_some(table)
}
