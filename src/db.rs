//! Small database helpers every command shares: readable error text, finishing a
//! change (commit, or roll back for a dry run), and the check that a
//! read database is the primary or a replica of it.

use tokio_postgres::{Client, Transaction};

use crate::connect::Target;
use crate::error::DerbesError;

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
