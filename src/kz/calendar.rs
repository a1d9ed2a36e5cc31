//! The working-day calendar legal deadlines are counted on.
//!
//! Law 94-V gives the controller's deadlines in working days; which days are
//! working in Kazakhstan depends on holidays, on a holiday falling on a weekend
//! (Labour Code Art. 84 moves the day off) and on the yearly transfer orders
//! (Art. 85(3)). None of that is derived here: a calendar file lists every day off
//! that falls on a weekday and every weekend day made working, so the file alone
//! says what a day is, and an operator replaces it when an order moves a day.
//! The reference file for 2025-2027 (`examples/kz-calendar-2025-2027.toml`) is
//! built in; a date outside the years a calendar covers is refused, never guessed.
//!
//! Counting follows the law's wording: N working days from the day after receipt,
//! so the due date is the N-th working day after the day of receipt, and it is
//! always a working day. The GDPR profile counts one calendar month instead (Art.
//! 12(3)), extendable by two, moved past a weekend (Regulation 1182/71 Art. 3(4);
//! the member state's public holidays are not known here).

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{Datelike, Months, NaiveDate, Weekday};
use serde::Deserialize;

/// The calendar shipped with derbes.
pub const BUILT_IN: &str = include_str!("../../examples/kz-calendar-2025-2027.toml");
/// Where the built-in calendar lives in the repository (for messages).
pub const BUILT_IN_NAME: &str = "examples/kz-calendar-2025-2027.toml (built in)";

/// Why a calendar could not be read or a deadline not counted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    #[error("cannot read the calendar {path}: {reason}; check the path given to --calendar")]
    Read { path: String, reason: String },
    #[error("the calendar {source_name} is not valid: {reason}; fix the file (see examples/kz-calendar-2025-2027.toml for the format)")]
    Invalid { source_name: String, reason: String },
    #[error("{date} is outside the years the calendar {source_name} covers ({first}-{last}), so its working days are unknown: give a calendar that covers it with --calendar FILE")]
    NotCovered {
        date: NaiveDate,
        source_name: String,
        first: i32,
        last: i32,
    },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CalendarFile {
    name: String,
    first_year: i32,
    last_year: i32,
    #[serde(default)]
    holiday: Vec<DayEntry>,
    #[serde(default)]
    day_off: Vec<DayEntry>,
    #[serde(default)]
    working_day: Vec<DayEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DayEntry {
    date: String,
    #[serde(alias = "reason")]
    name: String,
}

/// What kind of day a date is, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Day {
    Working,
    /// A weekend day made working by a transfer, with the reason.
    TransferredWorking(String),
    Weekend,
    /// A holiday or a weekday made a day off, with its name or reason.
    Off(String),
}

impl Day {
    pub fn is_working(&self) -> bool {
        matches!(self, Day::Working | Day::TransferredWorking(_))
    }
}

/// A working-day calendar: holidays, extra days off and weekend days made working,
/// for the years `first_year..=last_year`.
#[derive(Debug, Clone)]
pub struct Calendar {
    pub name: String,
    /// The file it came from, for messages.
    pub source_name: String,
    pub first_year: i32,
    pub last_year: i32,
    off: BTreeMap<NaiveDate, String>,
    working: BTreeMap<NaiveDate, String>,
}

impl Calendar {
    /// The built-in Kazakh calendar.
    pub fn built_in() -> Calendar {
        Calendar::parse(BUILT_IN, BUILT_IN_NAME).expect("the built-in calendar is valid")
    }

    /// `path`, or the built-in calendar when None.
    pub fn load(path: Option<&Path>) -> Result<Calendar, CalendarError> {
        match path {
            None => Ok(Calendar::built_in()),
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| CalendarError::Read {
                    path: path.display().to_string(),
                    reason: e.to_string(),
                })?;
                Calendar::parse(&text, &path.display().to_string())
            }
        }
    }

    pub fn parse(text: &str, source_name: &str) -> Result<Calendar, CalendarError> {
        let invalid = |reason: String| CalendarError::Invalid {
            source_name: source_name.to_owned(),
            reason,
        };
        let file: CalendarFile = toml::from_str(text).map_err(|e| invalid(e.to_string()))?;
        if file.first_year > file.last_year {
            return Err(invalid(format!(
                "first_year {} is after last_year {}",
                file.first_year, file.last_year
            )));
        }
        let date = |entry: &DayEntry, list: &str| {
            let day = NaiveDate::parse_from_str(&entry.date, "%Y-%m-%d").map_err(|_| {
                invalid(format!(
                    "{list} date `{}` is not a date YYYY-MM-DD",
                    entry.date
                ))
            })?;
            if day.year() < file.first_year || day.year() > file.last_year {
                return Err(invalid(format!(
                    "{list} {day} is outside first_year..last_year"
                )));
            }
            Ok(day)
        };
        let mut off = BTreeMap::new();
        for entry in &file.holiday {
            off.insert(date(entry, "holiday")?, entry.name.clone());
        }
        for entry in &file.day_off {
            let day = date(entry, "day_off")?;
            if is_weekend(day) {
                return Err(invalid(format!(
                    "day_off {day} is a weekend day already; list weekday days off only"
                )));
            }
            off.insert(day, entry.name.clone());
        }
        let mut working = BTreeMap::new();
        for entry in &file.working_day {
            let day = date(entry, "working_day")?;
            if !is_weekend(day) {
                return Err(invalid(format!(
                    "working_day {day} is a weekday, working already; list weekend days made working only"
                )));
            }
            if off.contains_key(&day) {
                return Err(invalid(format!(
                    "{day} is both a day off and a working day"
                )));
            }
            working.insert(day, entry.name.clone());
        }
        Ok(Calendar {
            name: file.name,
            source_name: source_name.to_owned(),
            first_year: file.first_year,
            last_year: file.last_year,
            off,
            working,
        })
    }

    fn covered(&self, date: NaiveDate) -> Result<(), CalendarError> {
        if date.year() < self.first_year || date.year() > self.last_year {
            return Err(CalendarError::NotCovered {
                date,
                source_name: self.source_name.clone(),
                first: self.first_year,
                last: self.last_year,
            });
        }
        Ok(())
    }

    /// What `date` is; refused outside the covered years.
    pub fn day(&self, date: NaiveDate) -> Result<Day, CalendarError> {
        self.covered(date)?;
        if let Some(reason) = self.working.get(&date) {
            return Ok(Day::TransferredWorking(reason.clone()));
        }
        if let Some(name) = self.off.get(&date) {
            return Ok(Day::Off(name.clone()));
        }
        Ok(if is_weekend(date) {
            Day::Weekend
        } else {
            Day::Working
        })
    }

    pub fn is_working(&self, date: NaiveDate) -> Result<bool, CalendarError> {
        Ok(self.day(date)?.is_working())
    }

    /// The due date of something received on `received` with `days` working days:
    /// counted from the day after receipt, so the `days`-th working day after it
    /// (a due date never falls on a day off). `days` = 0 is the first working day
    /// from `received` itself.
    pub fn add_working_days(
        &self,
        received: NaiveDate,
        days: u32,
    ) -> Result<NaiveDate, CalendarError> {
        let mut date = received;
        if days == 0 {
            return self.on_or_after(date);
        }
        let mut counted = 0;
        while counted < days {
            date = date
                .succ_opt()
                .expect("dates stay far from the end of time");
            if self.is_working(date)? {
                counted += 1;
            }
        }
        Ok(date)
    }

    /// `date` if it is a working day, else the next working day.
    pub fn on_or_after(&self, mut date: NaiveDate) -> Result<NaiveDate, CalendarError> {
        while !self.is_working(date)? {
            date = date
                .succ_opt()
                .expect("dates stay far from the end of time");
        }
        Ok(date)
    }
}

fn is_weekend(date: NaiveDate) -> bool {
    matches!(date.weekday(), Weekday::Sat | Weekday::Sun)
}

/// GDPR Art. 12(3): `months` calendar months from receipt (1, or 3 when extended),
/// on the same day of the month (the month's last day when it has none), moved
/// past a Saturday or Sunday.
pub fn gdpr_due(received: NaiveDate, months: u32) -> NaiveDate {
    let mut due = received
        .checked_add_months(Months::new(months))
        .expect("dates stay far from the end of time");
    while is_weekend(due) {
        due = due.succ_opt().expect("dates stay far from the end of time");
    }
    due
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn the_built_in_calendar_parses() {
        let calendar = Calendar::built_in();
        assert_eq!((calendar.first_year, calendar.last_year), (2025, 2027));
        assert_eq!(
            calendar.day(d("2026-03-23")).unwrap(),
            Day::Off("Nauryz meirami".into())
        );
        assert!(calendar.is_working(d("2026-03-26")).unwrap());
    }

    #[test]
    fn counting_starts_the_day_after_receipt_and_skips_a_weekend() {
        let calendar = Calendar::built_in();
        // Thursday 12 Nov 2026: one working day is Friday; three is Tuesday.
        assert_eq!(
            calendar.add_working_days(d("2026-11-12"), 1).unwrap(),
            d("2026-11-13")
        );
        assert_eq!(
            calendar.add_working_days(d("2026-11-12"), 3).unwrap(),
            d("2026-11-17")
        );
        // Received Friday: one working day is Monday, not Saturday.
        assert_eq!(
            calendar.add_working_days(d("2026-11-13"), 1).unwrap(),
            d("2026-11-16")
        );
        // Received on a Saturday: Monday is the first working day after it.
        assert_eq!(
            calendar.add_working_days(d("2026-11-14"), 1).unwrap(),
            d("2026-11-16")
        );
    }

    #[test]
    fn public_holidays_and_moved_days_off_are_skipped() {
        let calendar = Calendar::built_in();
        // Tue 15 Dec 2026 + 1: Independence Day (Wed 16) is off, so Thursday.
        assert_eq!(
            calendar.add_working_days(d("2026-12-15"), 1).unwrap(),
            d("2026-12-17")
        );
        // Fri 20 Mar 2026 + 1: Nauryz Sat 21 - Mon 23, moved days off Tue 24, Wed 25.
        assert_eq!(
            calendar.add_working_days(d("2026-03-20"), 1).unwrap(),
            d("2026-03-26")
        );
        // Fifteen working days (consent withdrawal) across Nauryz.
        assert_eq!(
            calendar.add_working_days(d("2026-03-13"), 15).unwrap(),
            d("2026-04-08")
        );
    }

    #[test]
    fn a_transfer_makes_a_weekday_off_and_a_sunday_working() {
        let calendar = Calendar::built_in();
        // Thu 2 Jan 2025 (holiday) received: Fri 3 Jan off by the transfer order,
        // Sat 4 off, Sun 5 Jan worked instead.
        assert_eq!(
            calendar.day(d("2025-01-05")).unwrap(),
            Day::TransferredWorking(
                "transfer order: Sunday worked, its day off moved to Friday 3 January".into()
            )
        );
        assert_eq!(
            calendar.add_working_days(d("2025-01-02"), 1).unwrap(),
            d("2025-01-05")
        );
        // Mon 6 is working, Tue 7 Christmas: two days from 2 Jan end on Mon 6,
        // three on Wed 8.
        assert_eq!(
            calendar.add_working_days(d("2025-01-02"), 3).unwrap(),
            d("2025-01-08")
        );
    }

    #[test]
    fn a_replaced_calendar_is_used_as_given() {
        let text = r#"
            name = "test"
            first_year = 2030
            last_year = 2030
            [[holiday]]
            date = "2030-01-02"
            name = "x"
            [[working_day]]
            date = "2030-01-05"
            reason = "moved"
        "#;
        let calendar = Calendar::parse(text, "test.toml").unwrap();
        // Tue 1 Jan 2030 + 1: Wed 2 is a holiday, Thu 3.
        assert_eq!(
            calendar.add_working_days(d("2030-01-01"), 1).unwrap(),
            d("2030-01-03")
        );
        // Fri 4 + 1: Saturday 5 is worked.
        assert_eq!(
            calendar.add_working_days(d("2030-01-04"), 1).unwrap(),
            d("2030-01-05")
        );
    }

    #[test]
    fn dates_outside_the_calendar_are_refused() {
        let calendar = Calendar::built_in();
        let err = calendar.add_working_days(d("2027-12-30"), 3).unwrap_err();
        assert!(matches!(err, CalendarError::NotCovered { .. }), "{err}");
        assert!(err.to_string().contains("--calendar"));
        assert!(calendar.add_working_days(d("2024-12-30"), 1).is_err());
    }

    #[test]
    fn malformed_calendars_are_refused_with_the_reason() {
        for (text, says) in [
            ("name='x'\nfirst_year=2030\nlast_year=2029", "after last_year"),
            (
                "name='x'\nfirst_year=2030\nlast_year=2030\n[[holiday]]\ndate='2030-13-01'\nname='x'",
                "not a date",
            ),
            (
                "name='x'\nfirst_year=2030\nlast_year=2030\n[[day_off]]\ndate='2030-01-05'\nreason='x'",
                "weekend day already",
            ),
            (
                "name='x'\nfirst_year=2030\nlast_year=2030\n[[working_day]]\ndate='2030-01-07'\nreason='x'",
                "weekday",
            ),
            (
                "name='x'\nfirst_year=2030\nlast_year=2030\n[[holiday]]\ndate='2031-01-01'\nname='x'",
                "outside",
            ),
        ] {
            let err = Calendar::parse(text, "bad.toml").unwrap_err().to_string();
            assert!(err.contains(says), "{text}: {err}");
        }
    }

    #[test]
    fn gdpr_counts_calendar_months_past_a_weekend() {
        // Thu 15 Jan 2026 + 1 month = Sun 15 Feb -> Mon 16 Feb.
        assert_eq!(gdpr_due(d("2026-01-15"), 1), d("2026-02-16"));
        // 31 Jan + 1 month: the last day of February (Sat 28 Feb 2026) -> Mon 2 Mar.
        assert_eq!(gdpr_due(d("2026-01-31"), 1), d("2026-03-02"));
        // Extended by two: three months.
        assert_eq!(gdpr_due(d("2026-01-15"), 3), d("2026-04-15"));
    }
}
