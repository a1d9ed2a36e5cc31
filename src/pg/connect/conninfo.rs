//! Connection strings as libpq reads them: `key=value` keywords and `postgres://`
//! URLs (percent-decoded), and the host/port endpoints they name.

use super::*;

pub(super) fn non_empty(value: Option<String>) -> Option<String> {
    value.filter(|value| !value.is_empty())
}

/// Escapes a value for a single-quoted libpq keyword value.
pub(super) fn quote(value: &str) -> String {
    value.replace('\\', "\\\\").replace('\'', "\\'")
}

pub(super) fn parse_connect_timeout(seconds: &str) -> Result<Option<Duration>, ConnectError> {
    let seconds: i64 = seconds.trim().parse().map_err(|_| {
        invalid(format!(
            "invalid connect_timeout \"{seconds}\" (expected whole seconds)"
        ))
    })?;
    // libpq: zero or negative waits forever; below two seconds is raised to two.
    Ok(match seconds {
        i64::MIN..=0 => None,
        1 => Some(Duration::from_secs(2)),
        n => Some(Duration::from_secs(n.unsigned_abs())),
    })
}

/// The hosts to try, in order, from `host`, `hostaddr` and `port` lists.
pub(super) fn endpoints(
    params: &Params,
    platform: &Platform,
) -> Result<Vec<Endpoint>, ConnectError> {
    let split = |key: &str| -> Vec<String> {
        params
            .get(key)
            .map(|value| {
                value
                    .split(',')
                    .map(|part| part.trim().to_string())
                    .collect()
            })
            .unwrap_or_default()
    };
    let hosts = split("host");
    let hostaddrs = split("hostaddr");
    let ports = split("port");
    if !hosts.is_empty() && !hostaddrs.is_empty() && hosts.len() != hostaddrs.len() {
        return Err(invalid(format!(
            "{} host names but {} host addresses (hostaddr); give one address per host",
            hosts.len(),
            hostaddrs.len()
        )));
    }
    let count = hosts.len().max(hostaddrs.len()).max(1);
    if ports.len() > 1 && ports.len() != count {
        return Err(invalid(format!(
            "{} ports for {count} hosts; give one port, or one per host",
            ports.len()
        )));
    }
    let default_host = || match &platform.socket_dir {
        Some(dir) => dir.to_string_lossy().into_owned(),
        None => "localhost".to_string(),
    };
    (0..count)
        .map(|index| {
            let hostaddr = match hostaddrs.get(index).filter(|addr| !addr.is_empty()) {
                Some(addr) => Some(addr.parse::<IpAddr>().map_err(|_| {
                    invalid(format!(
                        "invalid hostaddr \"{addr}\" (expected an IP address)"
                    ))
                })?),
                None => None,
            };
            let host = match hosts.get(index).filter(|host| !host.is_empty()) {
                Some(host) => host.clone(),
                None => match hostaddr {
                    Some(addr) => addr.to_string(),
                    None => default_host(),
                },
            };
            let port = match ports.get(index).or(ports.first()).filter(|p| !p.is_empty()) {
                Some(port) => port
                    .parse::<u16>()
                    .ok()
                    .filter(|p| *p != 0)
                    .ok_or_else(|| {
                        invalid(format!("invalid port \"{port}\" (expected 1-65535)"))
                    })?,
                None => DEFAULT_PORT,
            };
            Ok(Endpoint {
                host,
                hostaddr,
                port,
            })
        })
        .collect()
}

/// Parses a URL (`postgres://...` or `postgresql://...`) or a `key=value` string.
pub(super) fn parse_conninfo(conninfo: &str) -> Result<Params, ConnectError> {
    let params = match conninfo
        .strip_prefix("postgresql://")
        .or_else(|| conninfo.strip_prefix("postgres://"))
    {
        Some(rest) => parse_url(rest)?,
        None => parse_keywords(conninfo)?,
    };
    for (key, value) in &params {
        check_keyword(key, value)?;
    }
    Ok(params)
}

/// libpq's `key = value` form: values may be single-quoted; `\` escapes the next
/// character.
pub(super) fn parse_keywords(conninfo: &str) -> Result<Params, ConnectError> {
    let mut params = Params::new();
    let mut chars = conninfo.char_indices().peekable();
    loop {
        while chars.next_if(|(_, c)| c.is_whitespace()).is_some() {}
        let Some(&(start, _)) = chars.peek() else {
            break;
        };
        let mut key = String::new();
        while let Some((_, c)) = chars.next_if(|(_, c)| *c != '=' && !c.is_whitespace()) {
            key.push(c);
        }
        while chars.next_if(|(_, c)| c.is_whitespace()).is_some() {}
        if chars.next_if(|(_, c)| *c == '=').is_none() {
            // The word is not echoed: it may be part of a password.
            return Err(invalid(format!(
                "expected \"key=value\" at character {}",
                start + 1
            )));
        }
        while chars.next_if(|(_, c)| c.is_whitespace()).is_some() {}
        let mut value = String::new();
        if chars.next_if(|(_, c)| *c == '\'').is_some() {
            loop {
                match chars.next() {
                    Some((_, '\'')) => break,
                    Some((_, '\\')) => value.extend(chars.next().map(|(_, c)| c)),
                    Some((_, c)) => value.push(c),
                    None => {
                        return Err(invalid(format!("unterminated quoted value for \"{key}\"")))
                    }
                }
            }
        } else {
            while let Some((_, c)) = chars.next_if(|(_, c)| !c.is_whitespace()) {
                if c == '\\' {
                    value.extend(chars.next().map(|(_, c)| c));
                } else {
                    value.push(c);
                }
            }
        }
        params.insert(key, value);
    }
    Ok(params)
}

/// libpq's URL form after the scheme:
/// `[user[:password]@][host[:port][,...]][/dbname][?key=value&...]`.
pub(super) fn parse_url(rest: &str) -> Result<Params, ConnectError> {
    let mut params = Params::new();
    let (rest, query) = rest.split_once('?').unwrap_or((rest, ""));
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    let (userinfo, hostlist) = match authority.split_once('@') {
        Some((userinfo, hostlist)) => (Some(userinfo), hostlist),
        None => (None, authority),
    };
    if let Some(userinfo) = userinfo {
        let (user, password) = match userinfo.split_once(':') {
            Some((user, password)) => (user, Some(password)),
            None => (userinfo, None),
        };
        if !user.is_empty() {
            params.insert("user".into(), percent_decode(user, "user name")?);
        }
        if let Some(password) = password {
            params.insert("password".into(), percent_decode(password, "password")?);
        }
    }
    let mut hosts = Vec::new();
    let mut ports = Vec::new();
    if !hostlist.is_empty() {
        for entry in hostlist.split(',') {
            let (host, port) = if let Some(bracketed) = entry.strip_prefix('[') {
                let (host, after) = bracketed
                    .split_once(']')
                    .ok_or_else(|| invalid("unterminated [ in an IPv6 host address of the URL"))?;
                if host.is_empty() {
                    return Err(invalid(
                        "an IPv6 host address in [] may not be empty in the URL: give the address, or leave the host out for the local socket",
                    ));
                }
                let port = match after {
                    "" => "",
                    after => after.strip_prefix(':').ok_or_else(|| {
                        invalid("unexpected characters after an IPv6 host address in the URL")
                    })?,
                };
                (host, port)
            } else {
                entry.split_once(':').unwrap_or((entry, ""))
            };
            hosts.push(percent_decode(host, "host")?);
            ports.push(percent_decode(port, "port")?);
        }
    }
    if hosts.iter().any(|host| !host.is_empty()) {
        params.insert("host".into(), hosts.join(","));
    }
    if ports.iter().any(|port| !port.is_empty()) {
        params.insert("port".into(), ports.join(","));
    }
    if !path.is_empty() {
        params.insert("dbname".into(), percent_decode(path, "database name")?);
    }
    for pair in query.split('&').filter(|pair| !pair.is_empty()) {
        let (key, value) = pair.split_once('=').ok_or_else(|| {
            invalid("a URL query parameter has no \"=\"; use ?key=value&key=value")
        })?;
        let key = percent_decode(key, "query parameter name")?;
        let value = percent_decode(value, "query parameter value")?;
        // JDBC's ssl=true, which libpq also accepts.
        if key == "ssl" && value == "true" {
            params.insert("sslmode".into(), "require".into());
        } else {
            params.insert(key, value);
        }
    }
    Ok(params)
}

pub(super) fn percent_decode(text: &str, what: &str) -> Result<String, ConnectError> {
    let bad = || invalid(format!("invalid %-encoding in the URL's {what}"));
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'%' {
            let hex = text.get(index + 1..index + 3).ok_or_else(bad)?;
            let byte = u8::from_str_radix(hex, 16).map_err(|_| bad())?;
            // libpq refuses a NUL: it would cut the value short in C.
            if byte == 0 {
                return Err(invalid(format!(
                    "%00 is not allowed in the URL's {what}: remove it"
                )));
            }
            decoded.push(byte);
            index += 3;
        } else {
            decoded.push(bytes[index]);
            index += 1;
        }
    }
    String::from_utf8(decoded).map_err(|_| bad())
}
