//! The password file (`PGPASSFILE` or `~/.pgpass`), looked up per host, port,
//! database and user like libpq, and refused when others may read it.

use super::*;

/// The password for `endpoint` from a `.pgpass`-format file, as libpq finds it.
/// A file readable by group or others is ignored with a warning, like libpq.
pub(super) fn password_from_file(
    path: &Path,
    endpoint: &Endpoint,
    dbname: &str,
    user: &str,
) -> Option<SecretString> {
    let metadata = std::fs::metadata(path).ok()?;
    if !metadata.is_file() {
        tracing::warn!(
            "password file {} is not a plain file; ignored",
            path.display()
        );
        return None;
    }
    if metadata.permissions().mode() & 0o077 != 0 {
        tracing::warn!(
            "password file {} has group or world access; ignored (chmod 0600 it)",
            path.display()
        );
        return None;
    }
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) => {
            tracing::warn!("cannot read password file {}: {error}", path.display());
            return None;
        }
    };
    // libpq matches the default socket directory as "localhost".
    let host = if endpoint.host == DEFAULT_SOCKET_DIR {
        "localhost"
    } else {
        endpoint.host.as_str()
    };
    let port = endpoint.port.to_string();
    text.lines()
        .map(|line| line.trim_end_matches('\r'))
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .find_map(|line| {
            let fields = split_pgpass_line(line)?;
            let matches = |field: &str, wanted: &str| field == "*" || field == wanted;
            (matches(&fields[0], host)
                && matches(&fields[1], &port)
                && matches(&fields[2], dbname)
                && matches(&fields[3], user))
            .then(|| SecretString::from(fields[4].clone()))
        })
}

/// `host:port:db:user:password`, with `\:` and `\\` escapes; `None` if malformed.
pub(super) fn split_pgpass_line(line: &str) -> Option<[String; 5]> {
    let mut fields: Vec<String> = vec![String::new()];
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => fields.last_mut()?.extend(chars.next()),
            ':' if fields.len() < 5 => fields.push(String::new()),
            c => fields.last_mut()?.push(c),
        }
    }
    fields.try_into().ok()
}
