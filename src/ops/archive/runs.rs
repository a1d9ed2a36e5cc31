//! The bookkeeping of archive dumps in progress (`derbes.archive_runs`): a run is
//! recorded before it writes anything, so what a killed run left is found and
//! removed by the next dump or expire.

use std::collections::BTreeSet;
use std::path::Path;

use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio_postgres::{Client, GenericClient};

use super::register::absolute;

/// Record a dump to `out` before writing it, committed at once: a run killed at any
/// point leaves this row, which names the file and the run's session, so the next
/// dump or expire can tell the run is gone and remove what it left
/// ([`clean_dead_runs`]). The transaction that registers the archive deletes the
/// row; [`end_run`] deletes it after a run that failed or was a dry run.
pub async fn begin_run(
    client: &Client,
    out: &Path,
    operator: &str,
    ticket: Option<&str>,
) -> anyhow::Result<i64> {
    let path = absolute(out).to_string_lossy().into_owned();
    let row = client
        .query_one(
            "INSERT INTO derbes.archive_runs (path, backend_pid, backend_start, operator, ticket) \
             SELECT $1, pid, backend_start, $2, $3 FROM pg_stat_activity WHERE pid = pg_backend_pid() \
             RETURNING id",
            &[&path, &operator, &ticket],
        )
        .await?;
    Ok(row.get(0))
}

/// Forget a run recorded by [`begin_run`] (a no-op once its archive was registered).
pub async fn end_run(client: &Client, run: i64) -> anyhow::Result<()> {
    client
        .execute("DELETE FROM derbes.archive_runs WHERE id = $1", &[&run])
        .await?;
    Ok(())
}

/// An archive dump recorded by [`begin_run`] and not yet registered.
#[derive(Debug, Clone, Serialize)]
pub struct PendingRun {
    pub id: i64,
    pub path: String,
    pub started_at: DateTime<Utc>,
    pub operator: String,
    pub ticket: Option<String>,
    /// False when the run's session is gone: the run was killed.
    pub running: bool,
    /// Files the run left: its `.partial` temporary, or a finished archive the
    /// register never learnt of (empty while it runs).
    pub leftovers: Vec<String>,
}

const RUNS_SQL: &str = "SELECT r.id, r.path, r.started_at, r.operator, r.ticket, \
     EXISTS (SELECT 1 FROM pg_stat_activity a \
             WHERE a.pid = r.backend_pid AND a.backend_start = r.backend_start) \
     FROM derbes.archive_runs r ORDER BY r.started_at, r.id";

/// Archive dumps in progress, and those left by runs that are gone, with the files
/// they left.
pub async fn pending_runs(client: &impl GenericClient) -> anyhow::Result<Vec<PendingRun>> {
    let rows = client.query(RUNS_SQL, &[]).await?;
    let mut runs = Vec::new();
    for row in rows {
        let mut run = PendingRun {
            id: row.get(0),
            path: row.get(1),
            started_at: row.get(2),
            operator: row.get(3),
            ticket: row.get(4),
            running: row.get(5),
            leftovers: Vec::new(),
        };
        if !run.running {
            run.leftovers = leftovers_of(client, &run).await?;
        }
        runs.push(run);
    }
    Ok(runs)
}

/// Remove what dead runs left (see [`begin_run`]) and their rows; returns them.
pub async fn clean_dead_runs(client: &impl GenericClient) -> anyhow::Result<Vec<PendingRun>> {
    let runs = pending_runs(client).await?;
    let live: BTreeSet<String> = runs
        .iter()
        .filter(|r| r.running)
        .map(|r| r.path.clone())
        .collect();
    let mut cleaned = Vec::new();
    for run in runs.into_iter().filter(|r| !r.running) {
        // A live run writing to the same path may own a matching temporary file.
        if !live.contains(&run.path) {
            for file in &run.leftovers {
                match std::fs::remove_file(file) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => {
                        return Err(anyhow::anyhow!(
                        "cannot remove {file}, left by an archive dump that did not finish: {e}; \
                             fix its permissions (or remove it) and run again"
                    ))
                    }
                }
            }
        }
        client
            .execute("DELETE FROM derbes.archive_runs WHERE id = $1", &[&run.id])
            .await?;
        cleaned.push(run);
    }
    Ok(cleaned)
}

/// The files a dead run left: its temporaries (`.<name>.*.partial` beside the
/// target), and the target itself when it is an age file written after the run
/// started that the register does not know (the run died between the rename and
/// the commit).
async fn leftovers_of(
    client: &impl GenericClient,
    run: &PendingRun,
) -> anyhow::Result<Vec<String>> {
    let path = Path::new(&run.path);
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return Ok(Vec::new());
    };
    let since = std::time::SystemTime::from(run.started_at) - std::time::Duration::from_secs(2);
    let written_since = |meta: &std::fs::Metadata| {
        meta.file_type().is_file() && meta.modified().is_ok_and(|m| m >= since)
    };
    let prefix = format!(".{}.", name.to_string_lossy());
    let mut found = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let file_name = entry.file_name().to_string_lossy().into_owned();
            if file_name.starts_with(&prefix)
                && file_name.ends_with(".partial")
                && entry.metadata().is_ok_and(|m| written_since(&m))
            {
                found.push(entry.path().to_string_lossy().into_owned());
            }
        }
    }
    if std::fs::symlink_metadata(path).is_ok_and(|m| written_since(&m)) && is_age_file(path) {
        let registered: bool = client
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM derbes.archives WHERE path = $1)",
                &[&run.path],
            )
            .await?
            .get(0);
        if !registered {
            found.push(run.path.clone());
        }
    }
    found.sort();
    Ok(found)
}

fn is_age_file(path: &Path) -> bool {
    use std::io::Read;
    let mut head = [0u8; 21];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut head))
        .is_ok_and(|()| &head == b"age-encryption.org/v1")
}
