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
    Utc::now().checked_sub_signed(age).ok_or_else(|| {
        DerbesError::Usage(format!(
            "`{text}` reaches further back than a date can: give a shorter age or a date like 2026-11-01"
        ))
        .into()
    })
}

#[cfg(test)]
mod tests {
    /// An age too long for a date is a usage error, never a panic.
    #[test]
    fn an_age_beyond_the_calendar_is_refused_not_a_panic() {
        let error = super::parse_since("99999999999d").unwrap_err();
        assert!(error.to_string().contains("further back"), "{error}");
        assert!(super::parse_since("7d").is_ok());
    }
}
