//! Points in time given on the command line: `--since 24h`, `7d`, `2026-11-01`.

use chrono::{DateTime, NaiveDate, Utc};

use crate::error::DerbesError;
use crate::map::parse_duration;

/// A moment given as an age (`24h`, `7d`, `6mo`) or a date / RFC 3339 timestamp.
pub fn parse_since(text: &str) -> anyhow::Result<DateTime<Utc>> {
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Ok(at.with_timezone(&Utc));
    }
    if let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Ok(date
            .and_hms_opt(0, 0, 0)
            .expect("midnight exists")
            .and_utc());
    }
    let age = parse_duration(text).map_err(|reason| {
        DerbesError::Usage(format!(
            "`{text}` is not a time: give an age like 24h, 7d, 6mo or a date like 2026-11-01 ({reason})"
        ))
    })?;
    Ok(Utc::now() - age)
}
