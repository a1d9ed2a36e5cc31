//! The run lock: a session advisory lock per operation and scope, so two runs of
//! one job never work at once (the second exits 7 at once instead of waiting).

use tokio_postgres::Client;

use super::ChangeError;

/// A session-level advisory lock on one operation and scope (`purge` / rule name),
/// held for a whole run; released when dropped with the session or on `release`.
pub struct RunLock {
    key: i64,
}

impl RunLock {
    /// Take the lock or fail with [`ChangeError::RunLockHeld`] (exit 7) at once.
    pub async fn acquire(
        client: &Client,
        operation: &str,
        scope: &str,
    ) -> Result<RunLock, ChangeError> {
        let key: i64 = client
            .query_one(
                "SELECT hashtextextended('derbes:' || $1::text || ':' || $2::text, 0)",
                &[&operation, &scope],
            )
            .await?
            .get(0);
        let got: bool = client
            .query_one("SELECT pg_try_advisory_lock($1)", &[&key])
            .await?
            .get(0);
        if got {
            Ok(RunLock { key })
        } else {
            Err(ChangeError::RunLockHeld {
                operation: operation.to_owned(),
                scope: scope.to_owned(),
            })
        }
    }

    pub async fn release(self, client: &Client) -> Result<(), ChangeError> {
        client
            .execute("SELECT pg_advisory_unlock($1)", &[&self.key])
            .await?;
        Ok(())
    }
}
