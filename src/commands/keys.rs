//! Where the audit key comes from: `--audit-key-file` (or `DERBES_AUDIT_KEY_FILE`),
//! else `DERBES_AUDIT_KEY`. One loader for `rectify` (which needs the key) and for
//! every command's audit records (sealed when the key is set, see
//! [`crate::pg::audit::seal_with`]).

use std::path::Path;

use crate::error::DerbesError;
use crate::pg::audit_key::AuditKey;

/// Where the key comes from, for the messages about it.
pub const AUDIT_KEY_HELP: &str = "set DERBES_AUDIT_KEY to the key, or DERBES_AUDIT_KEY_FILE / \
--audit-key-file to a file holding it (at least 32 random bytes as hex or base64; make one with \
`openssl rand -hex 32 > audit.key` and `chmod 600 audit.key`); \
keep it off the database server and out of the database, so whoever reads the audit log \
cannot test guesses against its hashes nor forge its seals";

/// The audit key from `file` (a flag, or `DERBES_AUDIT_KEY_FILE` through it), else
/// from `DERBES_AUDIT_KEY`, else from `DERBES_AUDIT_KEY_FILE`; `None` when none is
/// set. A key that cannot be read or is weak is a usage error naming where it came
/// from, never showing it.
pub fn audit_key(file: Option<&Path>) -> anyhow::Result<Option<AuditKey>> {
    let usage = |reason: String| -> anyhow::Error { DerbesError::Usage(reason).into() };
    let env_file = std::env::var_os("DERBES_AUDIT_KEY_FILE").filter(|v| !v.is_empty());
    // `var_os`: a value that is not UTF-8 (raw bytes) is a key to judge, not "no key".
    let env_key = std::env::var_os("DERBES_AUDIT_KEY").filter(|v| !v.is_empty());
    let path = match (file, env_key) {
        (Some(path), _) => path.to_path_buf(),
        (None, Some(key)) => {
            let key = zeroize::Zeroizing::new(key.into_encoded_bytes());
            return AuditKey::new(&key)
                .map(Some)
                .map_err(|e| usage(format!("DERBES_AUDIT_KEY: {e}")));
        }
        (None, None) => match env_file {
            Some(path) => path.into(),
            None => return Ok(None),
        },
    };
    let bytes = zeroize::Zeroizing::new(std::fs::read(&path).map_err(|e| {
        usage(format!(
            "cannot read the audit key file {}: {e}; {AUDIT_KEY_HELP}",
            path.display()
        ))
    })?);
    warn_if_readable_by_others(&path);
    AuditKey::new(&bytes)
        .map(Some)
        .map_err(|e| usage(format!("{}: {e}", path.display())))
}

/// A key file others may read is a key others may have: say so (the run goes on).
fn warn_if_readable_by_others(path: &std::path::Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = std::fs::metadata(path) {
            let mode = meta.permissions().mode();
            if mode & 0o077 != 0 {
                tracing::warn!(
                    "the audit key file {} can be read by other users (mode {:o}): `chmod 600` it",
                    path.display(),
                    mode & 0o777
                );
            }
        }
    }
}
