//! The archive register (`derbes.archives`): every archive made, with its path,
//! digest, recipients, counts and keep-until; listed, and guarded against an
//! overwrite by `--force`.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio_postgres::GenericClient;

use crate::error::DerbesError;

/// A registered archive.
#[derive(Debug, Clone, Serialize)]
pub struct RegisterEntry {
    pub id: i64,
    pub archive_id: String,
    pub path: String,
    pub sha256: String,
    pub bytes: i64,
    pub recipients: Vec<String>,
    pub counts: serde_json::Value,
    pub selection: serde_json::Value,
    pub keep_until: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub operator: String,
    pub ticket: Option<String>,
}

pub(super) const REGISTER_COLUMNS: &str =
    "id, archive_id, path, sha256, bytes, recipients, counts, selection, \
     keep_until, created_at, operator, ticket";

pub(super) fn register_entry(row: &tokio_postgres::Row) -> RegisterEntry {
    RegisterEntry {
        id: row.get(0),
        archive_id: row.get(1),
        path: row.get(2),
        sha256: row.get(3),
        bytes: row.get(4),
        recipients: row.get(5),
        counts: row.get(6),
        selection: row.get(7),
        keep_until: row.get(8),
        created_at: row.get(9),
        operator: row.get(10),
        ticket: row.get(11),
    }
}

/// Archives that still exist (not expired); with `only_past_keep`, only those past
/// their keep-until, which `expire` would destroy.
pub async fn list(
    client: &impl GenericClient,
    only_past_keep: bool,
) -> anyhow::Result<Vec<RegisterEntry>> {
    let sql = format!(
        "SELECT {REGISTER_COLUMNS} FROM derbes.archives \
         WHERE NOT $1 OR keep_until < now() ORDER BY created_at, id"
    );
    let rows = client.query(&sql, &[&only_past_keep]).await?;
    Ok(rows.iter().map(register_entry).collect())
}

/// Refuse to replace a registered archive: `--force` (of `archive dump` or `export`)
/// never destroys an archive the register still promises to keep. The path is
/// compared as given, made absolute, and resolved through links and `..`.
pub async fn refuse_registered(client: &impl GenericClient, path: &Path) -> anyhow::Result<()> {
    if std::fs::symlink_metadata(path).is_err() {
        return Ok(()); // nothing there to replace
    }
    let given = absolute(path);
    let resolved = std::fs::canonicalize(path).ok();
    let name = match given.file_name() {
        Some(name) => name.to_string_lossy().into_owned(),
        None => return Ok(()),
    };
    let mut spellings = vec![given.to_string_lossy().into_owned()];
    if let Some(resolved) = &resolved {
        spellings.push(resolved.to_string_lossy().into_owned());
    }
    // Candidates: the same spelling, or any registered path with the same file name
    // (resolved here, since the register keeps paths as they were given).
    let rows = client
        .query(
            "SELECT id, path FROM derbes.archives \
             WHERE path = ANY($1) OR right(path, length($2) + 1) = '/' || $2",
            &[&spellings, &name],
        )
        .await?;
    for row in rows {
        let id: i64 = row.get(0);
        let registered_path: String = row.get(1);
        let same = spellings.contains(&registered_path)
            || match (&resolved, std::fs::canonicalize(&registered_path)) {
                (Some(a), Ok(b)) => *a == b,
                _ => false,
            };
        if same {
            return Err(DerbesError::Refused(format!(
                "{} is catalogued archive {id}: --force never replaces a catalogued archive; \
                 choose another path (an archive leaves the catalogue only through `derbes archive expire`)",
                path.display()
            ))
            .into());
        }
    }
    Ok(())
}

pub(super) fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_owned())
}
