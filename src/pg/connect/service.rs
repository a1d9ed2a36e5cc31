//! The connection service file (`PGSERVICEFILE`, `~/.pg_service.conf`,
//! `PGSYSCONFDIR/pg_service.conf`): a named section's parameters.

use super::*;

/// The parameters of service `name`: from `PGSERVICEFILE` (or `~/.pg_service.conf`)
/// if it defines the service, else from `PGSYSCONFDIR/pg_service.conf`.
pub(super) fn load_service(
    name: &str,
    env: EnvLookup<'_>,
    platform: &Platform,
) -> Result<Params, ConnectError> {
    let user_file = non_empty(env("PGSERVICEFILE"))
        .map(PathBuf::from)
        .or_else(|| {
            platform
                .home
                .as_ref()
                .map(|home| home.join(".pg_service.conf"))
        });
    let system_file = Path::new(
        &non_empty(env("PGSYSCONFDIR")).unwrap_or_else(|| DEFAULT_SYSCONF_DIR.to_string()),
    )
    .join("pg_service.conf");
    for file in user_file.iter().chain([&system_file]) {
        let text = match std::fs::read_to_string(file) {
            Ok(text) => text,
            Err(error) if error.kind() == io::ErrorKind::NotFound => continue,
            Err(error) => {
                return Err(ConnectError::Service {
                    reason: format!("cannot read service file {}: {error}", file.display()),
                })
            }
        };
        if let Some(params) = service_section(&text, name, file)? {
            return Ok(params);
        }
    }
    Err(ConnectError::Service {
        reason: format!("definition of service \"{name}\" not found"),
    })
}

/// The `[name]` section of a service file, if present.
pub(super) fn service_section(
    text: &str,
    name: &str,
    file: &Path,
) -> Result<Option<Params>, ConnectError> {
    let mut params = None::<Params>;
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(section) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            if params.is_some() {
                break;
            }
            if section.trim() == name {
                params = Some(Params::new());
            }
            continue;
        }
        let Some(params) = params.as_mut() else {
            continue;
        };
        let error = |what: &str| ConnectError::Service {
            reason: format!("{what} at line {} of {}", number + 1, file.display()),
        };
        let (key, value) = line
            .split_once('=')
            .ok_or_else(|| error("syntax error (expected key=value)"))?;
        let key = key.trim();
        if key == "service" {
            return Err(error("nested service= is not allowed"));
        }
        check_keyword(key, value.trim()).map_err(|e| error(&e.to_string()))?;
        params.insert(key.to_string(), value.trim().to_string());
    }
    Ok(params)
}
