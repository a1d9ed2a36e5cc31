//! `derbes export`: everything held about one subject, as an encrypted bundle.

use std::path::PathBuf;

use clap::Args;

use super::{LinkArgs, RecipientArgs, TicketArgs};

pub(super) const EX_EXPORT: &str = "\
Examples:
  derbes export 061211600012 --ticket REQ-2291 -r age1... --out req-2291.age
  derbes export +77012345678 --ticket REQ-2292 \\
      --recipients-file dpo-keys.txt --out b.age
  derbes export id:42 --ticket REQ-2293 --passphrase-file pass.txt --out subject.age
";

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The subject: IIN (12-digit individual identification number), BIN (12-digit
    /// business number), phone, email, or id:KEY (the subject table's primary key).
    #[arg(value_name = "IDENTITY")]
    pub identity: String,

    #[command(flatten)]
    pub ticket: TicketArgs,

    #[command(flatten)]
    pub link: LinkArgs,

    /// Where to write the bundle (an age file; a tar file with --plaintext).
    #[arg(long, value_name = "PATH")]
    pub out: PathBuf,

    /// Replace --out if it exists.
    #[arg(long)]
    pub force: bool,

    #[command(flatten)]
    pub to: RecipientArgs,

    /// Encrypt with a passphrase (prompted twice) for handing the bundle to the subject.
    #[arg(long, conflicts_with_all = ["recipients", "recipients_file", "passphrase_file"])]
    pub passphrase: bool,

    /// Encrypt with the passphrase on the first line of this file.
    #[arg(long, value_name = "PATH", conflicts_with_all = ["recipients", "recipients_file"])]
    pub passphrase_file: Option<PathBuf>,

    /// Write an unencrypted tar file (warns): personal data in clear on disk.
    #[arg(long, conflicts_with_all = ["recipients", "recipients_file", "passphrase", "passphrase_file"])]
    pub plaintext: bool,
}
