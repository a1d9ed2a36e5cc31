//! Small database helpers every command shares: readable error text, finishing a
//! change (commit, or roll back for a dry run), and the run lock.

use tokio_postgres::{Client, Transaction};

use crate::error::DerbesError;

/// A server error as one readable line: message, detail and hint, no SQL.
pub fn describe(error: &tokio_postgres::Error) -> String {
    match error.as_db_error() {
        Some(db) => {
            let mut text = format!("{} (SQLSTATE {})", db.message(), db.code().code());
            if let Some(detail) = db.detail() {
                text.push_str(&format!("; {detail}"));
            }
            if let Some(hint) = db.hint() {
                text.push_str(&format!("; hint: {hint}"));
            }
            text
        }
        None => error.to_string(),
    }
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
