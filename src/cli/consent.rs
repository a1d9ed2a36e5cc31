//! `derbes consent`: list, withdraw or grant a subject's consents.

use clap::{Args, Subcommand};

use super::{ConfirmArgs, LinkArgs, TicketArgs};

pub(super) const EX_CONSENT: &str = "\
Examples:
  derbes consent list 061211600012
  derbes consent withdraw id:42 --purpose marketing \\
      --document APP-2026-0042 --ticket REQ-310
  derbes consent grant id:42 --purpose marketing \\
      --document FORM-2026-0077 --ticket REQ-311 --yes
";

#[derive(Debug, Subcommand)]
pub enum ConsentCommand {
    /// The subject's consents from the data map's consent ledger, oldest first,
    /// and any open loan that holds a withdrawal back.
    #[command(after_help = EX_CONSENT_LIST)]
    List(ConsentListArgs),
    /// Record the withdrawal of consent to one purpose (Art. 8).
    ///
    /// Refused with exit 5 while the subject has an open loan that needs the purpose
    /// (Art. 8(2): consent cannot be withdrawn while an obligation is unfulfilled;
    /// the data map's `[ledgers].loans.needs` names the purposes, every one when
    /// absent); the message names the loan and what the subject can do. Otherwise
    /// the consent rows in force get the withdrawal time and the document
    /// reference, which tells the application that processing for the purpose stops.
    #[command(after_help = EX_CONSENT_WITHDRAW)]
    Withdraw(ConsentChangeArgs),
    /// Record a consent to one purpose, with the document the subject signed.
    #[command(after_help = EX_CONSENT_GRANT)]
    Grant(ConsentChangeArgs),
}

const EX_CONSENT_LIST: &str = "\
Examples:
  derbes consent list 061211600012
  derbes --format json consent list id:42
";

const EX_CONSENT_WITHDRAW: &str = "\
Examples:
  derbes consent withdraw 061211600012 --purpose marketing \\
      --document APP-2026-0042 --ticket REQ-310
  derbes consent withdraw id:42 --purpose location_security --document APP-2026-0043 \\
      --ticket REQ-312 --dry-run
";

const EX_CONSENT_GRANT: &str = "\
Examples:
  derbes consent grant 061211600012 --purpose marketing \\
      --document FORM-2026-0077 --ticket REQ-311
  derbes consent grant id:42 --purpose notices \\
      --document FORM-2026-0078 --ticket REQ-313 --yes
";

#[derive(Debug, Args)]
pub struct ConsentListArgs {
    /// The subject: IIN, BIN, phone, email, or id:KEY.
    #[arg(value_name = "IDENTITY")]
    pub identity: String,
}

#[derive(Debug, Args)]
pub struct ConsentChangeArgs {
    /// The subject: IIN, BIN, phone, email, or id:KEY.
    #[arg(value_name = "IDENTITY")]
    pub identity: String,

    /// The purpose of processing, as named under [purposes] in the data map.
    #[arg(long, value_name = "PURPOSE")]
    pub purpose: String,

    /// Reference of the subject's written application or signed consent.
    #[arg(long, value_name = "REF")]
    pub document: String,

    #[command(flatten)]
    pub ticket: TicketArgs,

    #[command(flatten)]
    pub link: LinkArgs,

    #[command(flatten)]
    pub confirm: ConfirmArgs,
}
