//! The one table from every typed error to the documented exit code.
//!
//! Operations return their own error types and know no exit code; the command-line
//! contract is decided here, on the command layer, so the same condition gives the
//! same code in every command. `main` calls [`exit_for`] on the error a command
//! returned.

use crate::error::{DerbesError, Exit};

/// The exit code for any error: the first cause in the chain with a code of its own
/// (see [`exit_of`]) decides; anything else is a plain failure (1).
pub fn exit_for(error: &anyhow::Error) -> Exit {
    // A DerbesError attached with `.context(...)` is found here, not in `chain()`.
    if let Some(e) = error.downcast_ref::<DerbesError>() {
        return e.exit();
    }
    error.chain().find_map(exit_of).unwrap_or(Exit::Error)
}

/// The one table from typed errors to exit codes. Operations return their own error
/// types and know nothing of exit codes; the command-line contract is decided here,
/// so the same condition gives the same code in every command. `None`: this cause
/// has no code of its own (a database or I/O failure), look further down the chain.
pub fn exit_of(cause: &(dyn std::error::Error + 'static)) -> Option<Exit> {
    use crate::files::secure_file::OutputError;
    use crate::kz::calendar::CalendarError;
    use crate::ops::block::BlockError;
    use crate::ops::consent::ConsentError;
    use crate::ops::disclosure::DisclosureError;
    use crate::ops::export::ExportError;
    use crate::ops::policy::PolicyError;
    use crate::ops::rectify::RectifyError;
    use crate::ops::request::RequestError;
    use crate::ops::resolve::ResolveError;
    use crate::pg::change::ChangeError;
    use crate::pg::connect::ConnectError;
    use Exit::*;

    if let Some(e) = cause.downcast_ref::<DerbesError>() {
        return Some(e.exit());
    }
    if let Some(e) = cause.downcast_ref::<ChangeError>() {
        return match e {
            // Another run holding the lock is exit 7 wherever the change engine says so.
            ChangeError::RunLockHeld { .. } => Some(LockHeld),
            ChangeError::Refused(_) => Some(Refused),
            _ => None,
        };
    }
    if let Some(crate::pg::audit::AppendError::RequestOfAnotherSubject { .. }) =
        cause.downcast_ref::<crate::pg::audit::AppendError>()
    {
        return Some(Refused);
    }
    if let Some(e) = cause.downcast_ref::<ConnectError>() {
        return match e {
            // A connection string that cannot be parsed is a usage error, not an outage.
            ConnectError::InvalidConnectionString { .. } => Some(Usage),
            _ => None,
        };
    }
    if let Some(e) = cause.downcast_ref::<ResolveError>() {
        return match e {
            ResolveError::NotFound { .. } => Some(NotFound),
            ResolveError::Ambiguous { .. } => Some(Ambiguous),
            ResolveError::NoIdentityColumn { .. } | ResolveError::BadKey { .. } => Some(Usage),
            ResolveError::Map(_) => Some(VerificationFailed),
            ResolveError::Db(_) => None,
        };
    }
    if let Some(e) = cause.downcast_ref::<OutputError>() {
        // An existing file is a guard (--force replaces it); a directory, a device or
        // an unwritable directory is a bad argument; a failed write is an error.
        return match e {
            OutputError::Exists { .. } => Some(Refused),
            OutputError::Directory { .. }
            | OutputError::IsDirectory { .. }
            | OutputError::NotRegular { .. } => Some(Usage),
            OutputError::Write { .. } => None,
        };
    }
    if cause.is::<CalendarError>() {
        // A calendar that cannot be read, is malformed, or does not cover the dates.
        return Some(Usage);
    }
    if let Some(e) = cause.downcast_ref::<ExportError>() {
        return match e {
            ExportError::Subject(e) => exit_of(e),
            ExportError::Map(_) => Some(VerificationFailed),
            ExportError::Db(_) | ExportError::Io(_) | ExportError::Write(_) => None,
        };
    }
    if let Some(e) = cause.downcast_ref::<BlockError>() {
        return match e {
            BlockError::MalformedInput { .. }
            | BlockError::NotText { .. }
            | BlockError::BadCidr(_)
            | BlockError::NoInput
            | BlockError::NoBlockSpec
            | BlockError::NoApplication => Some(Usage),
            BlockError::Unknown { .. } | BlockError::NothingSelected => Some(NotFound),
            BlockError::Ambiguous { .. } => Some(Ambiguous),
            BlockError::TooMany { .. } => Some(Refused),
            BlockError::MapMismatch(_) => Some(VerificationFailed),
            BlockError::Resolve(e) => exit_of(e),
            BlockError::Change(e) => exit_of(e),
            BlockError::Database(_) => None,
        };
    }
    if let Some(e) = cause.downcast_ref::<ConsentError>() {
        return match e {
            ConsentError::NoLedger | ConsentError::UnknownPurpose { .. } => Some(Usage),
            ConsentError::OpenObligation { .. }
            | ConsentError::IndirectLedger { .. }
            | ConsentError::Required { .. } => Some(Refused),
            ConsentError::NothingInForce { .. } => Some(NotFound),
            ConsentError::Map(_) => Some(VerificationFailed),
            ConsentError::Resolve(e) => exit_of(e),
            ConsentError::Change(e) => exit_of(e),
        };
    }
    if let Some(e) = cause.downcast_ref::<DisclosureError>() {
        return match e {
            DisclosureError::NoLedger
            | DisclosureError::UnknownPurpose { .. }
            | DisclosureError::UnknownCategory(_)
            | DisclosureError::NoCategoriesColumn
            | DisclosureError::FutureDate(_) => Some(Usage),
            DisclosureError::SubjectGone(_) => Some(NotFound),
            DisclosureError::MapMismatch(_) => Some(VerificationFailed),
            DisclosureError::Change(e) => exit_of(e),
            DisclosureError::Database(_) => None,
        };
    }
    if let Some(e) = cause.downcast_ref::<RectifyError>() {
        return match e {
            RectifyError::BadSet { .. }
            | RectifyError::Duplicate { .. }
            | RectifyError::UnknownTable { .. }
            | RectifyError::UnknownColumn { .. }
            | RectifyError::SeveralTables { .. }
            | RectifyError::RowWithoutTable
            | RectifyError::Invalid { .. }
            | RectifyError::NotNull { .. }
            | RectifyError::NotAllowed { .. }
            | RectifyError::Rejected { .. } => Some(Usage),
            RectifyError::Locked { .. }
            | RectifyError::NotRectifiable { .. }
            | RectifyError::SharedRow { .. }
            | RectifyError::Duplicated { .. } => Some(Refused),
            RectifyError::NoRow { .. }
            | RectifyError::RowNotOfSubject { .. }
            | RectifyError::SubjectGone => Some(NotFound),
            RectifyError::SeveralRows { .. } => Some(Ambiguous),
            RectifyError::Map(_) | RectifyError::NoRowKey { .. } => Some(VerificationFailed),
            RectifyError::Resolve(e) => exit_of(e),
            RectifyError::Change(e) => exit_of(e),
            RectifyError::NotFindable { .. } => Some(Error),
        };
    }
    if let Some(e) = cause.downcast_ref::<RequestError>() {
        return match e {
            RequestError::Calendar(_)
            | RequestError::ReceivedInFuture { .. }
            | RequestError::DiscoveredInFuture { .. }
            | RequestError::NotifiedBeforeDiscovery { .. } => Some(Usage),
            RequestError::NotFound { .. } => Some(NotFound),
            RequestError::Closed { .. }
            | RequestError::NotExtendable { .. }
            | RequestError::ExtendedAlready { .. } => Some(Refused),
            RequestError::Change(e) => exit_of(e),
            RequestError::Database(_) => None,
        };
    }
    if let Some(e) = cause.downcast_ref::<PolicyError>() {
        return match e {
            PolicyError::NoLedger
            | PolicyError::BadVersion
            | PolicyError::EffectiveInPast { .. }
            | PolicyError::NeedsText => Some(Usage),
            PolicyError::UnknownVersion(_) => Some(NotFound),
            PolicyError::AlreadyPublished { .. }
            | PolicyError::NotNotified { .. }
            | PolicyError::AlreadyObjected { .. } => Some(Refused),
            PolicyError::MapMismatch(_) => Some(VerificationFailed),
            PolicyError::Change(e) => exit_of(e),
            PolicyError::Database(_) => None,
        };
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::DerbesError;
    use crate::files::secure_file::OutputError;
    use crate::ops::block::BlockError;
    use crate::ops::consent::ConsentError;
    use crate::ops::resolve::ResolveError;
    use crate::pg::change::ChangeError;
    use anyhow::Context as _;

    fn not_found() -> ResolveError {
        ResolveError::NotFound {
            kind: "iin",
            masked: "0612******12".into(),
            searched: "borrowers.iin".into(),
        }
    }

    /// Issue 9 (item 3): one condition, one code, whichever operation reports it and
    /// however deep in the chain it sits.
    #[test]
    fn the_same_condition_has_the_same_code_in_every_command() {
        let direct = anyhow::Error::new(not_found());
        let through_block = anyhow::Error::new(BlockError::Resolve(not_found()));
        let through_consent = anyhow::Error::new(ConsentError::Resolve(not_found()))
            .context("withdrawing the consent failed");
        for error in [direct, through_block, through_consent] {
            assert_eq!(exit_for(&error), Exit::NotFound, "{error:#}");
        }
        let lock = || ChangeError::RunLockHeld {
            operation: "purge".into(),
            scope: "database".into(),
        };
        assert_eq!(exit_for(&anyhow::Error::new(lock())), Exit::LockHeld);
        assert_eq!(
            exit_for(&anyhow::Error::new(ConsentError::Change(lock()))),
            Exit::LockHeld
        );
        let exists = OutputError::Exists {
            path: "/tmp/x.age".into(),
        };
        assert_eq!(exit_for(&anyhow::Error::new(exists)), Exit::Refused);
        assert_eq!(
            exit_for(&anyhow::anyhow!("connection refused")),
            Exit::Error
        );
        // Requests and breaches run on the change engine: its refusals keep their codes.
        assert_eq!(
            exit_for(&anyhow::Error::new(
                crate::ops::request::RequestError::Change(lock())
            )),
            Exit::LockHeld
        );
        let refused: anyhow::Result<()> =
            Err(DerbesError::Refused("declined".into())).context("blocking");
        assert_eq!(exit_for(&refused.unwrap_err()), Exit::Refused);
    }
}
