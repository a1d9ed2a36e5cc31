//! `manifest.json`, the last member of every archive: what was selected, by whom,
//! until when it is kept, each table's columns and row count, and the size and
//! SHA-256 of every CSV member, and the audit chain's head at its creation.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::select::{ColumnDef, SelectionRecord};

/// Name of the manifest member inside the tar.
pub const MANIFEST_NAME: &str = "manifest.json";
/// The `format` field every derbes archive carries.
pub const FORMAT: &str = "derbes-archive";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    pub version: u32,
    /// Random id, also the catalogue's key for this archive.
    pub archive_id: String,
    pub created_at: DateTime<Utc>,
    pub keep_until: DateTime<Utc>,
    pub operator: String,
    pub ticket: Option<String>,
    /// Database the rows came from.
    pub database: String,
    pub selection: SelectionRecord,
    /// SHA-256 of the data map the selection was resolved with.
    pub map_digest: String,
    /// True when the selection matched no row: the archive is valid and holds only headers.
    pub empty: bool,
    pub tables: Vec<TableEntry>,
    /// The audit chain's head when the archive was made (its own audit row comes
    /// after): kept with the archive, it anchors the chain (`audit verify --head`).
    /// None when the log was empty, and in archives made before it was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audit_head: Option<crate::pg::audit::Head>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TableEntry {
    /// `schema.table`.
    pub table: String,
    pub columns: Vec<ColumnDef>,
    pub rows: u64,
    /// The CSV members holding this table, in order; each has the header line.
    pub members: Vec<MemberEntry>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MemberEntry {
    pub name: String,
    pub rows: u64,
    pub bytes: u64,
    pub sha256: String,
}

impl Manifest {
    pub fn total_rows(&self) -> u64 {
        self.tables.iter().map(|t| t.rows).sum()
    }

    pub fn members(&self) -> impl Iterator<Item = (&TableEntry, &MemberEntry)> {
        self.tables
            .iter()
            .flat_map(|t| t.members.iter().map(move |m| (t, m)))
    }
}
