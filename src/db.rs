//! Small database helpers every command shares: readable error text, finishing a
//! change (commit, or roll back for a dry run), and the run lock.

use tokio_postgres::{Client, Transaction};

use crate::error::DerbesError;

/// The `lock_timeout` of every connection a command opens, in seconds: a statement
/// waits at most this long for a lock held by another session.
pub const LOCK_TIMEOUT_SECS: u32 = 10;

/// A server error as one readable line: what failed, the table, column and
/// constraint it names, and what to do. Never the server's `DETAIL` (it may quote the
/// failing row: "Failing row contains (...)") and, for data and integrity errors,
/// never the server's message either (it may quote a value); no SQL.
pub fn describe(error: &tokio_postgres::Error) -> String {
    match error.as_db_error() {
        Some(db) => describe_db(db),
        None => error.to_string(),
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

/// The lines `main` prints for an error: the error and its causes, with server
/// errors rendered by [`describe`] (a server error's own `Display` carries its
/// `DETAIL`, which may quote row values).
pub fn render_chain(error: &anyhow::Error) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
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
    lines
}

/// Commit a change, or roll it back when this is a dry run. A dry run is the real
/// run: same statements, same counts, then `ROLLBACK`.
pub async fn finish(tx: Transaction<'_>, dry_run: bool) -> Result<(), tokio_postgres::Error> {
    if dry_run {
        tx.rollback().await
    } else {
        tx.commit().await
    }
}

/// Guard of a session-level advisory lock; released when the session ends or on
/// [`RunLock::release`].
pub struct RunLock {
    key: i64,
}

impl RunLock {
    /// Take the lock named `name` (e.g. "purge") or fail with exit code 7.
    pub async fn acquire(client: &Client, name: &str) -> anyhow::Result<RunLock> {
        let key: i64 = client
            .query_one(
                "SELECT hashtextextended('derbes:' || $1::text, 0)",
                &[&name],
            )
            .await?
            .get(0);
        let got: bool = client
            .query_one("SELECT pg_try_advisory_lock($1)", &[&key])
            .await?
            .get(0);
        if !got {
            return Err(DerbesError::LockHeld(format!(
                "another derbes {name} run holds the lock on this database: wait for it to finish \
                 (see pg_stat_activity, application_name = 'derbes') and run again"
            ))
            .into());
        }
        Ok(RunLock { key })
    }

    pub async fn release(self, client: &Client) -> Result<(), tokio_postgres::Error> {
        client
            .execute("SELECT pg_advisory_unlock($1)", &[&self.key])
            .await
            .map(|_| ())
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
