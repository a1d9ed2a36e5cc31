//! The errors a caller must tell apart, and the exit codes they map to.
//!
//! Everything else travels as `anyhow::Error` with context; `main` looks for a
//! [`DerbesError`] anywhere in the chain to pick the exit code. The exit-code
//! contract is documented in the README and in `derbes --help`.

use std::fmt;

/// The documented exit codes of `derbes`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Ok = 0,
    Error = 1,
    Usage = 2,
    NotFound = 3,
    Ambiguous = 4,
    Refused = 5,
    VerificationFailed = 6,
    LockHeld = 7,
}

impl Exit {
    pub fn code(self) -> i32 {
        self as i32
    }
}

/// Failures with their own exit code. Messages say what failed and what to do next,
/// and never carry a personal value in clear.
#[derive(Debug, thiserror::Error)]
pub enum DerbesError {
    /// Bad input caught before anything ran (invalid IIN, malformed data map, ...).
    #[error("{0}")]
    Usage(String),
    /// No subject matched an identity.
    #[error("{0}")]
    NotFound(String),
    /// An identity matched several subjects.
    #[error("{0}")]
    Ambiguous(String),
    /// The operation was refused: a locked field, a legal hold, a declined
    /// confirmation or a tripped guard. Nothing was changed.
    #[error("{0}")]
    Refused(String),
    /// A check found a problem: an edited audit chain, a bad archive, a data map
    /// that does not fit the database.
    #[error("{0}")]
    VerificationFailed(String),
    /// Another derbes run holds the lock this run needs.
    #[error("{0}")]
    LockHeld(String),
}

impl DerbesError {
    pub fn exit(&self) -> Exit {
        match self {
            DerbesError::Usage(_) => Exit::Usage,
            DerbesError::NotFound(_) => Exit::NotFound,
            DerbesError::Ambiguous(_) => Exit::Ambiguous,
            DerbesError::Refused(_) => Exit::Refused,
            DerbesError::VerificationFailed(_) => Exit::VerificationFailed,
            DerbesError::LockHeld(_) => Exit::LockHeld,
        }
    }
}

/// The exit code for any error: the first [`DerbesError`] in the chain decides,
/// anything else is a plain failure (1).
pub fn exit_for(error: &anyhow::Error) -> Exit {
    // A DerbesError attached with `.context(...)` is found here, not in `chain()`.
    if let Some(e) = error.downcast_ref::<DerbesError>() {
        return e.exit();
    }
    for cause in error.chain() {
        if let Some(e) = cause.downcast_ref::<DerbesError>() {
            return e.exit();
        }
        // Another run holding the lock is exit 7 wherever the change engine says so.
        if let Some(crate::pg::change::ChangeError::RunLockHeld { .. }) =
            cause.downcast_ref::<crate::pg::change::ChangeError>()
        {
            return Exit::LockHeld;
        }
        // A connection string that cannot be parsed is a usage error, not an outage.
        if let Some(crate::pg::connect::ConnectError::InvalidConnectionString { .. }) =
            cause.downcast_ref::<crate::pg::connect::ConnectError>()
        {
            return Exit::Usage;
        }
    }
    Exit::Error
}

/// The exit-code table shown in `--help` and the README.
pub const EXIT_CODES_HELP: &str = "\
Exit codes:
  0  success
  1  error (database unreachable, I/O failure, ...)
  2  usage: bad arguments, invalid identity, malformed data map
  3  subject not found
  4  identity ambiguous: several subjects match
  5  refused: locked field, legal hold, declined confirmation, guard tripped
  6  verification failed: audit chain, archive or data-map check, overdue requests
  7  another derbes run holds the lock";

impl fmt::Display for Exit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.code())
    }
}
