//! `archive verify`: an archive checked against its manifest (every member hashed,
//! every CSV row counted) and against the register's digest of the whole file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio_postgres::{Client, GenericClient};

use crate::error::DerbesError;
use crate::files::crypto::Identities;
use crate::pg::audit::{self, AuditEntry, AuditRecord};
use crate::pg::change::{self, ChangeError, Limits};

use super::register::{absolute, register_entry, RegisterEntry, REGISTER_COLUMNS};
use super::{read, Manifest, SelectionRecord};

/// What `verify` found.
#[derive(Debug, Clone, Serialize)]
pub struct VerifyReport {
    pub path: PathBuf,
    pub archive_id: String,
    pub sha256: String,
    pub bytes: u64,
    #[serde(rename = "catalogue_id")]
    pub register_id: i64,
    pub created_at: DateTime<Utc>,
    pub keep_until: DateTime<Utc>,
    pub selection: SelectionRecord,
    pub counts: BTreeMap<String, u64>,
    pub members: usize,
    pub rows: u64,
    pub empty: bool,
    /// The audit head the manifest recorded at creation, and whether this database's
    /// audit log still holds it (None: an archive made before heads were recorded,
    /// or on an empty log).
    pub audit_head: Option<audit::AnchorCheck>,
}

/// Decrypt and check an archive against its manifest (every member, every CSV row
/// count) and against the register digest. Exit 6 on any mismatch.
pub async fn verify(
    client: &impl GenericClient,
    path: &Path,
    identities: Arc<Identities>,
) -> anyhow::Result<(VerifyReport, Manifest)> {
    verify_reporting(client, path, identities, None).await
}

/// [`verify`], telling `bytes_read` as the file is read (a progress bar's total is
/// the file's size).
pub async fn verify_reporting(
    client: &impl GenericClient,
    path: &Path,
    identities: Arc<Identities>,
    bytes_read: Option<read::BytesRead>,
) -> anyhow::Result<(VerifyReport, Manifest)> {
    let (checked, entry) = check_and_find(client, path, identities, bytes_read).await?;
    let manifest = checked.manifest;
    let entry = entry.ok_or_else(|| {
        DerbesError::VerificationFailed(format!(
            "archive {} (id {}) is not in this database's archive catalogue: it was not made here, or its dump was rolled back",
            path.display(),
            manifest.kind.archive_id
        ))
    })?;
    let report = VerifyReport {
        path: path.to_owned(),
        archive_id: manifest.kind.archive_id.clone(),
        sha256: checked.sha256,
        bytes: checked.bytes,
        register_id: entry.id,
        created_at: manifest.created_at,
        keep_until: manifest.kind.keep_until,
        selection: manifest.kind.selection.clone(),
        counts: manifest
            .tables
            .iter()
            .map(|t| (t.table.clone(), t.rows))
            .collect(),
        members: manifest.members().count(),
        rows: manifest.total_rows(),
        empty: manifest.kind.empty,
        audit_head: match &manifest.audit_head {
            Some(head) => Some(audit::check_anchor(client, head).await?),
            None => None,
        },
    };
    Ok((report, manifest))
}

/// Record in the audit log that the archive of `report` was found intact (action
/// `archive.verify`), so the DPO's report can say when each archive was last
/// verified. Its own change: the check read the file, not the database.
pub async fn record_intact(
    client: &mut Client,
    operator: &str,
    report: &VerifyReport,
) -> Result<AuditRecord, ChangeError> {
    let entry = AuditEntry {
        action: "archive.verify".to_owned(),
        ticket: None,
        subject_ref: report.selection.subject_ref.clone(),
        counts: BTreeMap::new(),
        fields: Vec::new(),
        detail: serde_json::json!({
            "archive_id": report.archive_id,
            "catalogue_id": report.register_id,
            "sha256": report.sha256,
            "result": "intact",
        }),
    };
    change::begin(client, &Limits::default(), false)
        .await?
        .commit(operator, &entry)
        .await
}

/// Decrypt and check an archive against its manifest (every member, every CSV row
/// count), then find it in the register: None when the register does not know it,
/// exit 6 when it does and the file's digest is not the registered one.
pub(super) async fn check_and_find(
    client: &impl GenericClient,
    path: &Path,
    identities: Arc<Identities>,
    bytes_read: Option<read::BytesRead>,
) -> anyhow::Result<(read::Checked, Option<RegisterEntry>)> {
    let owned = path.to_owned();
    let checked = match tokio::task::spawn_blocking(move || {
        read::check_with_identities_reporting(&owned, &identities, true, bytes_read)
    })
    .await?
    {
        Ok(checked) => checked,
        Err(e) if e.chain().any(|c| c.is::<read::KeyMismatch>()) => {
            return Err(damaged_or_wrong_key(client, path).await?.unwrap_or(e));
        }
        Err(e) => return Err(e),
    };
    let row = client
        .query_opt(
            &format!("SELECT {REGISTER_COLUMNS} FROM derbes.archives WHERE archive_id = $1"),
            &[&checked.manifest.kind.archive_id],
        )
        .await?;
    let entry = row.as_ref().map(register_entry);
    if let Some(entry) = &entry {
        if entry.sha256 != checked.sha256 || entry.bytes as u64 != checked.bytes {
            return Err(DerbesError::VerificationFailed(format!(
                "archive {}: its SHA-256 differs from the catalogue's (catalogue id {}): the file was replaced or altered",
                path.display(),
                entry.id
            ))
            .into());
        }
    }
    Ok((checked, entry))
}

/// When no key opens `path`: compare its SHA-256 with what the register recorded
/// for that path. A differing digest means the file was damaged or altered (a
/// flipped byte in a recipient stanza looks like a wrong key to age); `None` when
/// the file is as registered, or not registered, and the key may be wrong.
async fn damaged_or_wrong_key(
    client: &impl GenericClient,
    path: &Path,
) -> anyhow::Result<Option<anyhow::Error>> {
    let mut spellings = vec![absolute(path).to_string_lossy().into_owned()];
    if let Ok(resolved) = std::fs::canonicalize(path) {
        spellings.push(resolved.to_string_lossy().into_owned());
    }
    let rows = client
        .query(
            "SELECT id, sha256 FROM derbes.archives WHERE path = ANY($1) ORDER BY id DESC",
            &[&spellings],
        )
        .await?;
    if rows.is_empty() {
        return Ok(None);
    }
    let owned = path.to_owned();
    let digest = tokio::task::spawn_blocking(move || -> std::io::Result<String> {
        use sha2::Digest;
        let mut hasher = sha2::Sha256::new();
        std::io::copy(&mut std::fs::File::open(owned)?, &mut hasher)?;
        Ok(hex::encode(hasher.finalize()))
    })
    .await?;
    let Ok(digest) = digest else {
        return Ok(None);
    };
    if rows.iter().any(|r| r.get::<_, String>(1) == digest) {
        return Ok(None);
    }
    let id: i64 = rows[0].get(0);
    Ok(Some(
        DerbesError::VerificationFailed(format!(
            "archive {} is damaged or altered, not a key problem: no key opens it and its SHA-256 \
             differs from the catalogue's (catalogue id {id}); restore it from a good copy",
            path.display()
        ))
        .into(),
    ))
}
