//! What an archive's `manifest.json` records beyond the shared model
//! ([`crate::files::manifest`]): the archive's id, the database and selection its
//! rows came from, and until when it is kept.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::select::SelectionRecord;
pub use crate::files::manifest::{MemberEntry, TableEntry, MANIFEST_NAME};

/// The `format` field every derbes archive carries.
pub const FORMAT: &str = "derbes-archive";
/// The archive format this derbes writes and reads. Version 1 archives have the
/// same fields, so they are read as they are.
pub const VERSION: u32 = 1;

/// An archive's manifest.
pub type Manifest = crate::files::manifest::Manifest<ArchiveFacts>;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ArchiveFacts {
    /// Random id, also the register's key for this archive.
    pub archive_id: String,
    pub keep_until: DateTime<Utc>,
    /// Database the rows came from.
    pub database: String,
    pub selection: SelectionRecord,
    /// True when the selection matched no row: the archive is valid and holds only headers.
    pub empty: bool,
}
