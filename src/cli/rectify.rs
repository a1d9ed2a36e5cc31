//! `derbes rectify`: correct a subject's personal data.

use std::path::PathBuf;

use clap::Args;

use super::{ConfirmArgs, LinkArgs, TicketArgs};

pub(super) const EX_RECTIFY: &str = "\
Examples:
  derbes rectify 061211600012 --set phone=87011234567 \\
      --ticket REQ-301 --evidence MAIL-2026-0042
  derbes rectify id:42 --set addresses.city=Almaty --set addresses.street=Abaya \\
      --row 17 --ticket REQ-302 --dry-run
  derbes rectify id:42 --set marital_status=married \\
      --audit-key-file /etc/derbes/audit.key --ticket REQ-303 --yes
";

#[derive(Debug, Args)]
pub struct RectifyArgs {
    /// The subject: IIN (12-digit individual identification number), BIN, phone,
    /// email, or id:KEY (the subject table's primary key).
    #[arg(value_name = "IDENTITY")]
    pub identity: String,

    /// A correction: COLUMN=VALUE for a column of the subject table, or
    /// TABLE.COLUMN=VALUE for a mapped table (a 1:n table needs --row when the
    /// subject has several rows there). An empty VALUE empties a nullable column.
    /// Repeat for several columns.
    #[arg(long = "set", value_name = "COLUMN=VALUE", required = true)]
    pub set: Vec<String>,

    /// The primary key of the row to change in a linked table (an address, a
    /// contact person), when the subject has several (the error lists them).
    #[arg(long, value_name = "KEY")]
    pub row: Option<String>,

    /// Reference of the document proving the correct value (a scan, a letter),
    /// recorded in the audit row: a reference, never the value.
    #[arg(long, value_name = "REF")]
    pub evidence: Option<String>,

    /// File holding the key of the audit row's keyed hashes (at least 32 random
    /// bytes as hex, base64 or raw; make one with `openssl rand -hex 32`). Or set DERBES_AUDIT_KEY to the key
    /// itself. Keep it off the database server.
    #[arg(
        long,
        env = "DERBES_AUDIT_KEY_FILE",
        value_name = "PATH",
        hide_env_values = true
    )]
    pub audit_key_file: Option<PathBuf>,

    #[command(flatten)]
    pub ticket: TicketArgs,

    #[command(flatten)]
    pub link: LinkArgs,

    #[command(flatten)]
    pub confirm: ConfirmArgs,
}
