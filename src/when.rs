//! Time as the policy counts it: calendar periods (`90d`, `6mo`, `5y`), points in
//! time given on the command line (`--since 24h`, `2026-11-01`), and the one time
//! zone in which "today" is read (the data map's `timezone`, default
//! [`DEFAULT_TIME_ZONE`]).
//!
//! A [`Period`] is months + days + seconds, counted the way PostgreSQL's `interval`
//! counts them: `5y` is 60 calendar months (from 2021-02-28 to 2026-02-28, not 1,825
//! days), `6mo` six calendar months (a day past the end of a shorter month becomes
//! its last day: 08-31 minus `6mo` is 02-28 or 02-29), `2w` fourteen calendar days
//! (a DST change does not move the hour); `h`, `m`, `min` are exact. Applied to a
//! moment in a time zone: months first, then days, then seconds, like
//! `timestamptz - interval` with the session's `TimeZone` set to that zone.

use std::fmt;

use chrono::{
    DateTime, Days, LocalResult, Months, NaiveDate, NaiveDateTime, Offset, TimeZone, Utc,
};
use chrono_tz::Tz;

use crate::error::DerbesError;

/// "Today" is read in this zone unless the data map says otherwise.
pub const DEFAULT_TIME_ZONE: &str = "Asia/Almaty";

/// A time zone name from the IANA database (`Asia/Almaty`, `Asia/Aqtobe`, `UTC`).
pub fn parse_time_zone(name: &str) -> Result<Tz, String> {
    name.parse::<Tz>().map_err(|_| {
        format!("`{name}` is not a time zone name: use an IANA name such as Asia/Almaty or UTC")
    })
}

/// The default zone, [`DEFAULT_TIME_ZONE`].
pub fn default_time_zone() -> Tz {
    chrono_tz::Asia::Almaty
}

/// Today's date in `zone`.
pub fn today(zone: Tz) -> NaiveDate {
    Utc::now().with_timezone(&zone).date_naive()
}

/// A calendar period: months, days and exact seconds (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Period {
    pub months: u32,
    pub days: u32,
    pub seconds: u64,
}

impl Period {
    /// `30m`/`30min`, `12h`, `90d`, `2w`, `6mo`, `5y`.
    pub fn parse(text: &str) -> Result<Period, String> {
        let text = text.trim();
        let split = text
            .find(|c: char| !c.is_ascii_digit())
            .ok_or_else(|| "add a unit: m, h, d, w, mo or y (e.g. 90d)".to_owned())?;
        let (number, unit) = text.split_at(split);
        let n: u32 = number
            .parse()
            .map_err(|_| "start with a whole number (e.g. 90d)".to_owned())?;
        let too_long = || "too long: give at most 1000 years".to_owned();
        let period = match unit {
            "m" | "min" => Period {
                seconds: u64::from(n) * 60,
                ..Period::default()
            },
            "h" => Period {
                seconds: u64::from(n) * 3600,
                ..Period::default()
            },
            "d" => Period {
                days: n,
                ..Period::default()
            },
            "w" => Period {
                days: n.checked_mul(7).ok_or_else(too_long)?,
                ..Period::default()
            },
            "mo" => Period {
                months: n,
                ..Period::default()
            },
            "y" => Period {
                months: n.checked_mul(12).ok_or_else(too_long)?,
                ..Period::default()
            },
            _ => {
                return Err(format!(
                    "unknown unit `{unit}`: use m, h, d, w, mo or y (e.g. 90d)"
                ))
            }
        };
        if period.months > 12_000 || period.days > 366_000 || period.seconds > 31_622_400_000 {
            return Err(too_long());
        }
        Ok(period)
    }

    /// Shorter than one calendar day (no months or days, under 24 hours).
    pub fn is_under_a_day(&self) -> bool {
        self.months == 0 && self.days == 0 && self.seconds < 86_400
    }

    /// The moment this period before `at`, counted in `zone`.
    pub fn before(&self, at: DateTime<Utc>, zone: Tz) -> DateTime<Utc> {
        self.shift(at, zone, false)
    }

    /// The moment this period after `at`, counted in `zone`.
    pub fn after(&self, at: DateTime<Utc>, zone: Tz) -> DateTime<Utc> {
        self.shift(at, zone, true)
    }

    /// Like PostgreSQL's `timestamptz + interval`: the months on the local date (a
    /// day past the month's end clamped), back to a moment; then the days likewise;
    /// then the exact seconds.
    fn shift(&self, at: DateTime<Utc>, zone: Tz, forward: bool) -> DateTime<Utc> {
        let clamp = |value: Option<NaiveDateTime>| {
            value.unwrap_or(if forward {
                NaiveDateTime::MAX
            } else {
                NaiveDateTime::MIN
            })
        };
        let local = |moment: DateTime<Utc>| moment.with_timezone(&zone).naive_local();
        let mut moment = at;
        if self.months != 0 {
            let months = Months::new(self.months);
            let shifted = if forward {
                local(moment).checked_add_months(months)
            } else {
                local(moment).checked_sub_months(months)
            };
            moment = resolve_local(zone, clamp(shifted));
        }
        if self.days != 0 {
            let days = Days::new(u64::from(self.days));
            let shifted = if forward {
                local(moment).checked_add_days(days)
            } else {
                local(moment).checked_sub_days(days)
            };
            moment = resolve_local(zone, clamp(shifted));
        }
        let seconds = chrono::Duration::seconds(self.seconds as i64);
        if forward {
            moment + seconds
        } else {
            moment - seconds
        }
    }
}

/// A local time in `zone` as a moment, as PostgreSQL reads one: a time that does
/// not exist (clocks moved forward) takes the UTC offset in force just before the
/// change, an ambiguous one (clocks moved back) the offset in force just after it.
fn resolve_local(zone: Tz, local: NaiveDateTime) -> DateTime<Utc> {
    match zone.from_local_datetime(&local) {
        LocalResult::Single(at) => at.with_timezone(&Utc),
        LocalResult::Ambiguous(_, later) => later.with_timezone(&Utc),
        LocalResult::None => {
            // Gaps last hours at most: the offset of a day earlier is the one before.
            let before = zone
                .from_local_datetime(&(local - chrono::Duration::days(1)))
                .latest()
                .map(|at| at.offset().fix().local_minus_utc())
                .unwrap_or(0);
            Utc.from_utc_datetime(&(local - chrono::Duration::seconds(i64::from(before))))
        }
    }
}

impl std::str::FromStr for Period {
    type Err = String;
    fn from_str(text: &str) -> Result<Period, String> {
        Period::parse(text)
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if self.months % 12 == 0 && self.months > 0 {
            parts.push(format!("{}y", self.months / 12));
        } else if self.months > 0 {
            parts.push(format!("{}mo", self.months));
        }
        if self.days > 0 {
            parts.push(format!("{}d", self.days));
        }
        if self.seconds > 0 || parts.is_empty() {
            parts.push(format!("{}s", self.seconds));
        }
        f.write_str(&parts.join(" "))
    }
}

/// A moment given as a period back from now (`24h`, `7d`, `6mo`, counted in
/// `zone`), a date (midnight in `zone`) or an RFC 3339 timestamp.
pub fn parse_since(text: &str, zone: Tz) -> anyhow::Result<DateTime<Utc>> {
    parse_since_at(text, zone, Utc::now())
}

/// [`parse_since`] as of `now`.
pub fn parse_since_at(text: &str, zone: Tz, now: DateTime<Utc>) -> anyhow::Result<DateTime<Utc>> {
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Ok(at.with_timezone(&Utc));
    }
    if let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Ok(resolve_local(
            zone,
            date.and_hms_opt(0, 0, 0).expect("midnight exists"),
        ));
    }
    let period = Period::parse(text).map_err(|reason| {
        DerbesError::Usage(format!(
            "`{}` is not a time{}: give a date as YYYY-MM-DD (e.g. 2026-11-01, midnight in \
             {zone}), a timestamp such as 2026-11-01T09:30:00+05:00, or a period back from now \
             such as 24h, 7d or 6mo",
            shown(text),
            why_not_a_time(text, &reason)
        ))
    })?;
    Ok(period.before(now, zone))
}

/// What is wrong with a text that is no time, as ` (...)` or nothing: a date that
/// does not exist, a period with a sign or a bad unit. A word (`yesterday`) needs
/// no more than the formats.
fn why_not_a_time(text: &str, period_problem: &str) -> String {
    let bytes = text.as_bytes();
    let date_like =
        bytes.len() >= 5 && bytes[..4].iter().all(u8::is_ascii_digit) && bytes[4] == b'-';
    if date_like {
        " (no such date or time)".to_owned()
    } else if text.starts_with('-') {
        " (a period back from now has no sign)".to_owned()
    } else if text.starts_with(|c: char| c.is_ascii_digit()) {
        format!(" ({period_problem})")
    } else {
        String::new()
    }
}

/// A value as a message may show it: at most 40 characters, control characters
/// escaped, so that a pasted screenful or an escape sequence is not echoed.
fn shown(text: &str) -> String {
    let mut out: String = text
        .chars()
        .take(40)
        .map(|c| {
            if c.is_control() {
                c.escape_unicode().to_string()
            } else {
                c.to_string()
            }
        })
        .collect();
    if text.chars().count() > 40 {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn periods_parse_into_months_days_and_seconds() {
        assert_eq!(Period::parse("5y").unwrap().months, 60);
        assert_eq!(Period::parse("6mo").unwrap().months, 6);
        assert_eq!(Period::parse("2w").unwrap().days, 14);
        assert_eq!(Period::parse("90d").unwrap().days, 90);
        assert_eq!(Period::parse("12h").unwrap().seconds, 12 * 3600);
        assert_eq!(Period::parse("30min").unwrap().seconds, 1800);
        for bad in ["12", "x1d", "1fortnight", "-1d", "99999999y"] {
            assert!(Period::parse(bad).is_err(), "{bad}");
        }
        assert!(Period::parse("23h").unwrap().is_under_a_day());
        assert!(!Period::parse("1d").unwrap().is_under_a_day());
        assert_eq!(Period::parse("60mo").unwrap().to_string(), "5y");
    }

    /// Regression (issue 9, item 6): `5y` was 5 × 365 days, a day or two short of
    /// five calendar years; `6mo` was 180 days.
    #[test]
    fn years_and_months_are_calendar_years_and_months() {
        let almaty = default_time_zone();
        // 2026-03-01 00:30 in Almaty (UTC+5) is 2026-02-28 19:30 UTC.
        let at = utc("2026-02-28T19:30:00Z");
        // 2021-03-01 00:30 in Almaty, which was UTC+6 then.
        assert_eq!(
            Period::parse("5y").unwrap().before(at, almaty),
            utc("2021-02-28T18:30:00Z")
        );
        // Counted in UTC the same moment is still February: a different answer.
        assert_eq!(
            Period::parse("1mo").unwrap().before(at, chrono_tz::UTC),
            utc("2026-01-28T19:30:00Z")
        );
        assert_eq!(
            Period::parse("1mo").unwrap().before(at, almaty),
            utc("2026-01-31T19:30:00Z")
        );
        // Month ends clamp like PostgreSQL: 08-31 minus 6 months is 02-28/29.
        assert_eq!(
            Period::parse("6mo")
                .unwrap()
                .before(utc("2028-08-31T12:00:00Z"), chrono_tz::UTC),
            utc("2028-02-29T12:00:00Z")
        );
        assert_eq!(
            Period::parse("5y")
                .unwrap()
                .after(utc("2024-02-29T10:00:00Z"), chrono_tz::UTC),
            utc("2029-02-28T10:00:00Z")
        );
    }

    /// An age too long for a date is a usage error, never a panic.
    #[test]
    fn an_age_beyond_the_calendar_is_refused_not_a_panic() {
        let now = utc("2026-11-28T08:00:00Z");
        for text in ["99999999999d", "9999999999h", "99999y"] {
            assert!(
                parse_since_at(text, default_time_zone(), now).is_err(),
                "{text}"
            );
        }
        assert!(parse_since_at("7d", default_time_zone(), now).is_ok());
    }

    #[test]
    fn dates_are_midnight_in_the_zone() {
        let almaty = default_time_zone();
        let now = utc("2026-11-28T08:00:00Z");
        assert_eq!(
            parse_since_at("2026-11-01", almaty, now).unwrap(),
            utc("2026-10-31T19:00:00Z")
        );
        assert_eq!(
            parse_since_at("24h", almaty, now).unwrap(),
            utc("2026-11-27T08:00:00Z")
        );
        assert!(parse_since_at("yesterday", almaty, now).is_err());
        assert!(parse_time_zone("Asia/Almaty").is_ok());
        assert!(parse_time_zone("Almaty").is_err());
    }
}
