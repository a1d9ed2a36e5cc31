//! Small database helpers every command shares: readable error text, finishing a
//! change (commit, or roll back for a dry run), and the check that a
//! read database is the primary or a replica of it.

use tokio_postgres::{Client, Transaction};

use crate::error::DerbesError;
use crate::pg::connect::Target;

/// Which cluster and database a connection reached: the cluster's
/// `system_identifier` (shared by a primary and its streaming replicas) and the
/// database name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerIdentity {
    pub system_identifier: i64,
    pub database: String,
}

impl ServerIdentity {
    pub async fn of(client: &Client) -> Result<ServerIdentity, tokio_postgres::Error> {
        let row = client
            .query_one(
                "SELECT system_identifier, current_database()::text FROM pg_control_system()",
                &[],
            )
            .await?;
        Ok(ServerIdentity {
            system_identifier: row.get(0),
            database: row.get(1),
        })
    }
}

/// Refuses (exit 2) a read connection that is not the primary itself or a replica
/// of it: another cluster (a different `system_identifier`) or another database of
/// the same cluster would hand back someone else's rows under the primary's names.
/// Call it before reading anything through `read`.
pub async fn check_read_db(
    primary: &Client,
    primary_at: &Target,
    read: &Client,
    read_at: &Target,
) -> anyhow::Result<()> {
    let primary_id = ServerIdentity::of(primary).await?;
    let read_id = ServerIdentity::of(read).await?;
    if primary_id == read_id {
        return Ok(());
    }
    let what = if primary_id.system_identifier != read_id.system_identifier {
        "another cluster"
    } else {
        "another database of the same cluster"
    };
    Err(DerbesError::Usage(format!(
        "--read-db is {what}, not the primary or a replica of it: --db ({primary_at}) is \
         database \"{}\" of cluster {}, --read-db ({read_at}) is database \"{}\" of cluster \
         {}. Point --read-db at the same database on a streaming replica of --db, or leave \
         it out to read from the primary",
        primary_id.database,
        primary_id.system_identifier,
        read_id.database,
        read_id.system_identifier
    ))
    .into())
}

/// The `lock_timeout` of every connection a command opens, in seconds: a statement
/// waits at most this long for a lock held by another session.
pub const LOCK_TIMEOUT_SECS: u32 = 10;

/// The role the primary connection logged in as (`current_user`), for messages.
static CONNECTED_ROLE: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// Remember the role a command connected as (the first connection wins).
pub fn note_connected_role(role: String) {
    let _ = CONNECTED_ROLE.set(role);
}

static CONNECTED_DATABASE: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// Remember where a command connected (the first connection wins): database, host
/// and port, and role, never a password.
pub fn note_connected_database(place: String) {
    let _ = CONNECTED_DATABASE.set(place);
}

/// Where the command connected, when it did: what an error that follows from it
/// names (`main` prints it under the error).
pub fn connected_database() -> Option<&'static str> {
    CONNECTED_DATABASE.get().map(String::as_str)
}

/// What a missing grant means, naming the role and the object, with the GRANT to
/// give: the server says only "permission denied for table loans".
fn permission_denied(db: &tokio_postgres::error::DbError) -> (String, String) {
    let role = CONNECTED_ROLE
        .get()
        .map(|r| crate::map::quote_ident(r))
        .unwrap_or_else(|| "the role derbes connects as".to_owned());
    // "must be owner of table server_logs": no grant gives what only the owner may
    // do (detach or drop a partition). The server's words stay in the text, so a
    // report that quotes it can still be recognised (`commands::roles`).
    if let Some((kind, name)) = db
        .message()
        .strip_prefix("must be owner of ")
        .and_then(|rest| rest.split_once(' '))
    {
        return (
            format!(
                "role {role} must be owner of {kind} {name} for this (only its owner may detach or drop its partitions)"
            ),
            format!(
                "grant the {kind}'s owner role to the login that runs this (`GRANT <owner> TO {role};`), \
                 as `derbes roles --print-sql` explains"
            ),
        );
    }
    // "permission denied for table loans" / "... for schema derbes" / "... sequence x"
    let object = db
        .message()
        .strip_prefix("permission denied for ")
        .and_then(|rest| rest.split_once(' '));
    match object {
        Some((kind, name)) => {
            // The server names the object without its schema; derbes' own tables
            // are known by name.
            let own = crate::pg::migrate::OWN_TABLES.contains(&name);
            let object = if own && kind == "table" {
                format!("derbes.{name}")
            } else {
                name.to_owned()
            };
            let grant = match (kind, object.as_str()) {
                ("schema", _) => format!("GRANT USAGE ON SCHEMA {object} TO {role};"),
                ("sequence", _) => format!("GRANT USAGE ON SEQUENCE {object} TO {role};"),
                // Append-only: never UPDATE or DELETE on the audit log.
                ("table", "derbes.audit_log") => {
                    format!("GRANT SELECT, INSERT ON TABLE {object} TO {role};")
                }
                // LOCK TABLE ... IN EXCLUSIVE MODE needs UPDATE; the table holds no rows.
                ("table", "derbes.audit_lock") => {
                    format!("GRANT UPDATE ON TABLE {object} TO {role};")
                }
                ("table", _) if own => {
                    format!("GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE {object} TO {role};")
                }
                ("table", _) => format!("GRANT SELECT, UPDATE ON TABLE {object} TO {role};"),
                _ => format!("GRANT ... ON {kind} {object} TO {role};"),
            };
            (
                format!("role {role} lacks a privilege on {kind} {object} that this command needs"),
                format!(
                    "have its owner grant it, e.g. `{grant}`{}, or connect as a role that has it; \
                     `derbes map check` lists missing read grants",
                    if kind == "table" && !own {
                        " (SELECT to read, UPDATE to block, INSERT to restore)"
                    } else {
                        ""
                    }
                ),
            )
        }
        None => (
            format!("role {role} lacks a privilege this command needs"),
            "have the object's owner GRANT it, or connect as a role that has it".to_owned(),
        ),
    }
}

/// The kind and name of the object a [`describe`]d "permission denied" names
/// (`("table", "borrowers")`, `("table", "derbes.blocks")`), for the command layer
/// to say which derbes role holds the grant.
pub fn denied_object(described: &str) -> Option<(String, String)> {
    if !described.contains("SQLSTATE 42501") {
        return None;
    }
    let rest = described.split_once(" lacks a privilege on ")?.1;
    let what = rest.split_once(" that this command needs")?.0;
    let (kind, object) = what.split_once(' ')?;
    Some((kind.to_owned(), object.to_owned()))
}

/// A server error as one readable line: what failed, the table, column and
/// constraint it names, and what to do. Never the server's `DETAIL` (it may quote the
/// failing row: "Failing row contains (...)") and, for data and integrity errors,
/// never the server's message either (it may quote a value); no SQL.
pub fn describe(error: &tokio_postgres::Error) -> String {
    let text = match error.as_db_error() {
        Some(db) => describe_db(db),
        None => error.to_string(),
    };
    if connection_lost(error) {
        format!("{text}; {LOST_CONNECTION_ADVICE}")
    } else {
        text
    }
}

/// [`describe`] for the server's error itself.
pub fn describe_db(db: &tokio_postgres::error::DbError) -> String {
    let code = db.code().code();
    let table = match (db.schema(), db.table()) {
        (Some(schema), Some(table)) => Some(format!("{schema}.{table}")),
        (None, Some(table)) => Some(table.to_owned()),
        _ => None,
    };
    let mut text = match code {
        "23514" => "a value breaks a check constraint".to_owned(),
        "23505" => "a value duplicates one that must be unique".to_owned(),
        "23503" => "a row breaks a foreign key".to_owned(),
        "23502" => "a required value is missing (NOT NULL)".to_owned(),
        "23P01" => "a row breaks an exclusion constraint".to_owned(),
        c if c.starts_with("23") => "a row breaks an integrity constraint".to_owned(),
        c if c.starts_with("22") => {
            "a value does not fit its column's type or range (data exception)".to_owned()
        }
        "25006" => "the database is read-only (a standby, or default_transaction_read_only is on), so nothing was changed".to_owned(),
        "42501" => permission_denied(db).0,
        "55P03" => format!(
            "a table or row this run needs stayed locked by another session for longer than \
             lock_timeout ({} s), so the run stopped and committed nothing",
            LOCK_TIMEOUT_SECS
        ),
        _ => db.message().to_owned(),
    };
    text.push_str(&format!(" (SQLSTATE {code}"));
    if let Some(table) = &table {
        text.push_str(&format!(", table {table}"));
    }
    if let Some(column) = db.column() {
        text.push_str(&format!(", column {column}"));
    }
    if let Some(constraint) = db.constraint() {
        text.push_str(&format!(", constraint {constraint}"));
    }
    if let Some(datatype) = db.datatype() {
        text.push_str(&format!(", type {datatype}"));
    }
    text.push(')');
    let fix = match code {
        c if c.starts_with("23") => Some(match &table {
            Some(t) => format!(
                "compare the value derbes writes (the data map, or the input) with the definition of {} on {t} (`\\d {t}` in psql) and correct it",
                db.constraint().unwrap_or("the constraint")
            ),
            None => "correct the value derbes writes (the data map, or the input) to satisfy the constraint".to_owned(),
        }),
        c if c.starts_with("22") => Some(
            "correct the value (the data map, or the input) to the column's type".to_owned(),
        ),
        "25006" => Some(
            "run it against the primary (--db); reads may go to a replica with --read-db".to_owned(),
        ),
        "42501" => Some(permission_denied(db).1),
        "55P03" => Some(
            "run again in a moment; if it keeps happening, find the session holding the lock \
             (pg_locks joined to pg_stat_activity) and ask its owner to finish"
                .to_owned(),
        ),
        _ => None,
    };
    if let Some(fix) = fix {
        text.push_str(&format!(": {fix}"));
    }
    text
}

/// Whether `error` means the connection is gone (closed, terminated by an
/// administrator, the server shutting down or crashing), not a refusal of the
/// statement: the transaction was rolled back and a rerun may simply work.
pub fn connection_lost(error: &tokio_postgres::Error) -> bool {
    if error.is_closed() {
        return true;
    }
    match error.as_db_error() {
        // 57P01..57P05: admin shutdown, crash shutdown, cannot connect now, database
        // dropped, idle session timeout; class 08: connection exceptions.
        Some(db) => {
            let code = db.code().code();
            code.starts_with("57P") || code.starts_with("08")
        }
        None => error.to_string().contains("connection closed"),
    }
}

/// The lines `main` prints for an error: the error and its causes, with server
/// errors rendered by [`describe`] (a server error's own `Display` carries its
/// `DETAIL`, which may quote row values).
pub fn render_chain(error: &anyhow::Error) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let lost = error.chain().any(|cause| {
        cause
            .downcast_ref::<tokio_postgres::Error>()
            .is_some_and(connection_lost)
    });
    for cause in error.chain() {
        let line = if let Some(pg) = cause.downcast_ref::<tokio_postgres::Error>() {
            describe(pg)
        } else if let Some(db) = cause.downcast_ref::<tokio_postgres::error::DbError>() {
            describe_db(db)
        } else {
            cause.to_string()
        };
        if !lines.iter().any(|l| l.contains(&line)) {
            lines.push(line);
        }
    }
    if lost && !lines.iter().any(|l| l.contains(LOST_CONNECTION_ADVICE)) {
        lines.push(LOST_CONNECTION_ADVICE.to_owned());
    }
    lines
}

/// What to do after a lost connection, added to the error once.
pub const LOST_CONNECTION_ADVICE: &str =
    "the connection to PostgreSQL was lost (the session was terminated, the server \
     restarted or the network failed): a transaction that had not committed was rolled \
     back by the server; check that the server is up and run the command again";

/// Commit a change, or roll it back when this is a dry run. A dry run is the real
/// run: same statements, same counts, then `ROLLBACK`.
pub async fn finish(tx: Transaction<'_>, dry_run: bool) -> Result<(), tokio_postgres::Error> {
    if dry_run {
        tx.rollback().await
    } else {
        tx.commit().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A server error's DETAIL ("Failing row contains (...)") and, for integrity and
    /// data errors, its message never reach the text derbes prints.
    #[tokio::test]
    async fn a_described_error_names_the_constraint_never_the_row() {
        let url = std::env::var("DERBES_TEST_DATABASE_URL")
            .unwrap_or_else(|_| "host=127.0.0.1 user=postgres dbname=postgres".to_owned());
        let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
            .await
            .expect("the test PostgreSQL (DERBES_TEST_DATABASE_URL) is reachable");
        tokio::spawn(connection);
        client
            .batch_execute(
                "CREATE TEMP TABLE people (name text, iin text CHECK (length(iin) = 12))",
            )
            .await
            .unwrap();
        let error = client
            .execute(
                "INSERT INTO people VALUES ('Ибраев Ернар', '98100232430')",
                &[],
            )
            .await
            .unwrap_err();
        let text = describe(&error);
        assert!(!text.contains("Ибраев"), "{text}");
        assert!(!text.contains("98100232430"), "{text}");
        assert!(text.contains("people_iin_check"), "{text}");
        assert!(text.contains("people"), "{text}");
        let chain = render_chain(&anyhow::Error::new(error)).join("\n");
        assert!(!chain.contains("Ибраев"), "{chain}");
        let error = client
            .query("SELECT '98100232430x'::bigint", &[])
            .await
            .unwrap_err();
        assert!(
            !describe(&error).contains("98100232430"),
            "{}",
            describe(&error)
        );
    }
}

/// Statements prepared once on a connection and reused by every batch of a run:
/// each is parsed once, and under a generic plan (see
/// [`crate::pg::change::run_batches_with`]) planned once too.
#[derive(Default)]
pub struct StatementCache {
    statements: std::collections::HashMap<String, tokio_postgres::Statement>,
}

impl StatementCache {
    /// The prepared form of `sql`, prepared now if this cache has not seen it.
    pub async fn prepare(
        &mut self,
        tx: &Transaction<'_>,
        sql: &str,
    ) -> Result<tokio_postgres::Statement, tokio_postgres::Error> {
        if let Some(statement) = self.statements.get(sql) {
            return Ok(statement.clone());
        }
        let statement = tx.prepare(sql).await?;
        self.statements.insert(sql.to_owned(), statement.clone());
        Ok(statement)
    }
}
