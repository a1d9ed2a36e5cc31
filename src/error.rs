//! The exit codes of `derbes`, and [`DerbesError`], the failures raised with a code
//! of their own.
//!
//! The bottom layer: it imports nothing of derbes, so every layer may use it.
//! Operations return their own typed errors; the one table from those to exit codes
//! is [`crate::commands::exit_codes`], on the command layer. The exit-code contract
//! is documented in the README and in `derbes --help`.

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
