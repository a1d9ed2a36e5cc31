//! `archive expire`: archives past their keep-until destroyed, file and register
//! row, one change and audit row per archive.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio_postgres::Client;

use crate::pg::audit::{self, AuditEntry};
use crate::pg::change::{self, Limits};

use super::register::list;

/// What `expire` did (or would do, in a dry run).
#[derive(Debug, Clone, Serialize)]
pub struct ExpireReport {
    /// Archives destroyed (or, in a dry run, that would be): register row deleted.
    pub expired: Vec<ExpiredArchive>,
    /// Archives past keep-until whose path holds something that is not the
    /// registered file: the file and the register row were both kept.
    pub kept: Vec<ExpiredArchive>,
    pub dry_run: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct ExpiredArchive {
    pub id: i64,
    pub path: String,
    pub keep_until: DateTime<Utc>,
    pub file: FileOutcome,
}

/// What happened to the file at a registered path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FileOutcome {
    /// The registered file was removed.
    Removed,
    /// Dry run: the registered file is there and would be removed.
    WouldRemove,
    /// No file at the path (e.g. a run stopped between removing the file and
    /// deleting the row): only the register row goes.
    AlreadyGone,
    /// The path holds something else (a different file, a directory, a link):
    /// kept, with its register row.
    NotTheArchive,
}

impl FileOutcome {
    pub fn describe(self) -> &'static str {
        match self {
            FileOutcome::Removed => "removed",
            FileOutcome::WouldRemove => "would be removed",
            FileOutcome::AlreadyGone => "already gone: catalogue row deleted",
            FileOutcome::NotTheArchive => "KEPT: not the catalogued file (SHA-256 differs)",
        }
    }
}

/// What sits at a registered path, compared by size and SHA-256 with the register.
enum AtPath {
    Missing,
    TheArchive,
    SomethingElse,
}

fn examine(path: &str, sha256: &str, bytes: i64) -> std::io::Result<AtPath> {
    use sha2::{Digest, Sha256};
    use std::io::Read;
    let meta = match std::fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(AtPath::Missing),
        Err(e) => return Err(e),
    };
    if !meta.file_type().is_file() || meta.len() as i64 != bytes {
        return Ok(AtPath::SomethingElse);
    }
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1024 * 1024];
    loop {
        let n = file.read(&mut buffer)?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
    }
    Ok(if hex::encode(hasher.finalize()) == sha256 {
        AtPath::TheArchive
    } else {
        AtPath::SomethingElse
    })
}

/// Destroy every archive past its keep-until: remove the file and its register row,
/// one audit row per archive (the record that it existed and when it was
/// destroyed), each in its own transaction.
///
/// A file is removed only when its size and SHA-256 are the register's; anything
/// else at the path is kept, with its register row, and reported in
/// [`ExpireReport::kept`]. Both steps are safe to repeat: a run stopped after
/// removing the file leaves a row whose file is gone, which the next run deletes
/// (reported as [`FileOutcome::AlreadyGone`]).
/// One run at a time per database: a second `archive expire` exits 7 at once.
pub async fn expire(
    client: &mut Client,
    operator: &str,
    ticket: Option<String>,
    dry_run: bool,
) -> anyhow::Result<ExpireReport> {
    let lock = crate::pg::change::RunLock::acquire(client, "archive expire", "database").await?;
    let result = expire_locked(client, operator, ticket, dry_run).await;
    lock.release(client).await?;
    result
}

async fn expire_locked(
    client: &mut Client,
    operator: &str,
    ticket: Option<String>,
    dry_run: bool,
) -> anyhow::Result<ExpireReport> {
    let due = list(&*client, true).await?;
    let mut expired = Vec::new();
    let mut kept = Vec::new();
    for archive in due {
        let (path, sha256, bytes) = (archive.path.clone(), archive.sha256.clone(), archive.bytes);
        let at_path = tokio::task::spawn_blocking(move || examine(&path, &sha256, bytes))
            .await?
            .map_err(|e| {
                anyhow::anyhow!(
                    "cannot read expired archive {} to check it against the catalogue: {e}; \
                     fix its permissions and run `derbes archive expire` again",
                    archive.path
                )
            })?;
        let present = match at_path {
            AtPath::SomethingElse => {
                kept.push(ExpiredArchive {
                    id: archive.id,
                    path: archive.path,
                    keep_until: archive.keep_until,
                    file: FileOutcome::NotTheArchive,
                });
                continue;
            }
            AtPath::TheArchive => true,
            AtPath::Missing => false,
        };
        let change = change::begin(client, &Limits::default(), dry_run).await?;
        let updated = change
            .tx()
            .execute("DELETE FROM derbes.archives WHERE id = $1", &[&archive.id])
            .await?;
        if updated == 0 {
            continue; // another run expired it meanwhile
        }
        let entry = AuditEntry {
            action: "archive.expire".to_owned(),
            ticket: ticket.clone(),
            subject_ref: archive
                .selection
                .get("subject_ref")
                .and_then(|v| v.as_str())
                .map(str::to_owned),
            counts: BTreeMap::new(),
            fields: Vec::new(),
            detail: serde_json::json!({
                "archive_id": archive.archive_id,
                "catalogue_id": archive.id,
                "sha256": archive.sha256,
                "keep_until": archive.keep_until,
                "file_was_present": present,
            }),
        };
        // The file goes before the row's deletion commits (with its audit row): a
        // stop in between leaves a row whose file is gone, which the next run deletes.
        // The audit lock is taken first, so the append at the commit cannot wait out
        // its lock_timeout once the file is gone.
        change
            .tx()
            .batch_execute(audit::LOCK_BEFORE_SNAPSHOT)
            .await?;
        if !dry_run && present {
            match std::fs::remove_file(&archive.path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    return Err(anyhow::anyhow!(
                        "cannot remove expired archive {}: {e}; fix its permissions and run `derbes archive expire` again",
                        archive.path
                    ))
                }
            }
            crate::fault::point("archive.expire.removed");
        }
        change.commit(operator, &entry).await?;
        expired.push(ExpiredArchive {
            id: archive.id,
            path: archive.path,
            keep_until: archive.keep_until,
            file: match (present, dry_run) {
                (true, true) => FileOutcome::WouldRemove,
                (true, false) => FileOutcome::Removed,
                (false, _) => FileOutcome::AlreadyGone,
            },
        });
    }
    Ok(ExpireReport {
        expired,
        kept,
        dry_run,
    })
}
