//! The manifest every file derbes writes carries as its last tar member: one model
//! for subject-access bundles (`derbes-export`) and archives (`derbes-archive`).
//!
//! Both are tars of CSV members cut into row-aligned parts by
//! [`super::tar_writer`]; the manifest names each table's parts in order with their
//! size, row count and SHA-256, any other member (an export's `data.json`), who made
//! the file and why, the data map it was made with, and a format name and version a
//! reader checks before it trusts anything else. What only one kind of file has
//! (an archive's selection and keep-until, an export's subject) travels in `kind`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Name of the manifest member inside the tar; always the last member.
pub const MANIFEST_NAME: &str = "manifest.json";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest<K> {
    /// `derbes-archive` or `derbes-export`.
    pub format: String,
    /// Version of `format`; a reader refuses one it does not know.
    pub version: u32,
    pub created_at: DateTime<Utc>,
    pub operator: String,
    pub ticket: Option<String>,
    /// SHA-256 of the data map the file was made with.
    pub map_digest: String,
    pub tables: Vec<TableEntry>,
    /// Members that are not table data (an export's `data.json` and `summary.html`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<MemberEntry>,
    /// The audit chain's head when the file was made (its own audit row comes
    /// after): kept with the file, it anchors the chain (`audit verify --head`).
    /// None when the log was empty, and in files made before it was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audit_head: Option<crate::pg::audit::Head>,
    /// What only this kind of file records.
    #[serde(flatten)]
    pub kind: K,
}

/// One table's rows: its columns and the CSV members holding them, in order.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TableEntry {
    /// The table as the file names it (`schema.table` in archives, the map's name
    /// in exports).
    pub table: String,
    pub columns: Vec<ColumnDef>,
    pub rows: u64,
    /// The CSV members holding this table, in order; each has the header line.
    pub members: Vec<MemberEntry>,
}

/// One tar member: name, size, SHA-256 of its bytes and, for CSV parts, its rows.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MemberEntry {
    pub name: String,
    #[serde(default)]
    pub rows: u64,
    pub bytes: u64,
    pub sha256: String,
}

/// A column of a table, as the manifest records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColumnDef {
    pub name: String,
    /// `format_type` spelling in the source database.
    #[serde(rename = "type")]
    pub pg_type: String,
}

impl<K> Manifest<K> {
    pub fn total_rows(&self) -> u64 {
        self.tables.iter().map(|t| t.rows).sum()
    }

    /// Every table's CSV member, in the order they were written.
    pub fn members(&self) -> impl Iterator<Item = (&TableEntry, &MemberEntry)> {
        self.tables
            .iter()
            .flat_map(|t| t.members.iter().map(move |m| (t, m)))
    }
}
