//! The working-day calendar legal deadlines are counted on.
//!
//! Law 94-V gives the controller's deadlines in working days; which days are
//! working in Kazakhstan depends on holidays, on a holiday falling on a weekend
//! (Labour Code Art. 84 moves the day off to the next working day) and on the
//! yearly transfer orders (Art. 85(3)). The built-in calendar
//! (`examples/kz-calendar-rules.toml`) is the law's rules (the fixed holidays of
//! the Law on holidays as amended, each with the years it applies to; Art. 84's
//! move) plus the facts that change every year (transfer orders, the first day of
//! Kurban Ait), known through `confirmed_through`. Any year is counted: past the
//! known years by the rules alone (Kurban Ait estimated), and such a due date is
//! **provisional** ([`Calendar::provisional`]); nothing is refused.
//!
//! `--calendar FILE` gives either a replacement of those rules and facts (same
//! format), or an explicit list of every day off and working weekend day for the
//! years it covers (`first_year`, `last_year`, `[[holiday]] date`, `[[day_off]]`,
//! `[[working_day]]`), which then says the whole truth for those years; other years
//! are counted by the built-in rules, provisionally where their facts are unknown.
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

/// The rules and yearly facts shipped with derbes.
pub const BUILT_IN: &str = include_str!("../../examples/kz-calendar-rules.toml");
/// Where the built-in calendar lives in the repository (for messages).
pub const BUILT_IN_NAME: &str = "examples/kz-calendar-rules.toml (built in)";

/// Why a calendar could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    #[error("cannot read the calendar {path}: {reason}; check the path given to --calendar")]
    Read { path: String, reason: String },
    #[error("the calendar {source_name} is not valid: {reason}; fix the file (see examples/kz-calendar-rules.toml for the format)")]
    Invalid { source_name: String, reason: String },
}

/// A calendar file: the law's rules and yearly facts, or an explicit list.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CalendarFile {
    name: String,
    // The rules form.
    #[serde(default)]
    confirmed_from: Option<i32>,
    #[serde(default)]
    confirmed_through: Option<i32>,
    #[serde(default)]
    kurban_ait: Vec<KurbanAit>,
    #[serde(default)]
    transfer: Vec<Transfer>,
    // The explicit form.
    #[serde(default)]
    first_year: Option<i32>,
    #[serde(default)]
    last_year: Option<i32>,
    #[serde(default)]
    day_off: Vec<DayEntry>,
    #[serde(default)]
    working_day: Vec<DayEntry>,
    // Both: a fixed holiday (rules: month and day) or a dated one (explicit).
    #[serde(default)]
    holiday: Vec<HolidayEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct HolidayEntry {
    #[serde(default)]
    date: Option<String>,
    #[serde(default)]
    month: Option<u32>,
    #[serde(default)]
    day: Option<u32>,
    name: String,
    /// A religious day off: not moved when it falls on a weekend.
    #[serde(default)]
    religious: bool,
    /// First and last year the law has it.
    #[serde(default)]
    from: Option<i32>,
    #[serde(default)]
    until: Option<i32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct KurbanAit {
    date: String,
    #[serde(default)]
    estimated: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Transfer {
    day_off: String,
    working_day: String,
    order: String,
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

/// One day off (or working weekend day) of a year, with where it comes from: what
/// `derbes calendar show YEAR` lists.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Listed {
    pub date: NaiveDate,
    /// `holiday`, `religious`, `moved` (Art. 84), `transfer`, `working` (a weekend
    /// day made working) or `listed` (an explicit calendar file).
    pub kind: &'static str,
    pub name: String,
    /// The law, order or file it comes from.
    pub source: String,
    /// Computed by the rules for a year whose facts are not known (Kurban Ait
    /// estimated, transfer orders unknown).
    pub provisional: bool,
}

const LAW: &str = "Law 267-II on holidays, as amended";
const ART_84: &str = "Labour Code Art. 84";

/// The law's rules and the yearly facts.
#[derive(Debug, Clone)]
struct Rules {
    fixed: Vec<Fixed>,
    kurban_ait: BTreeMap<NaiveDate, bool>,
    transfers: Vec<(NaiveDate, NaiveDate, String)>,
    confirmed_from: i32,
    confirmed_through: i32,
}

#[derive(Debug, Clone)]
struct Fixed {
    month: u32,
    day: u32,
    name: String,
    religious: bool,
    from: Option<i32>,
    until: Option<i32>,
}

impl Rules {
    /// Every dated day of `year`: days off (holidays, moved days, transfers) and
    /// weekend days made working, in date order.
    fn year(&self, year: i32) -> Vec<Listed> {
        let provisional = !(self.confirmed_from..=self.confirmed_through).contains(&year);
        let mut holidays: BTreeMap<NaiveDate, (String, bool)> = BTreeMap::new();
        for f in &self.fixed {
            if f.from.is_some_and(|y| year < y) || f.until.is_some_and(|y| year > y) {
                continue;
            }
            if let Some(date) = NaiveDate::from_ymd_opt(year, f.month, f.day) {
                holidays.insert(date, (f.name.clone(), f.religious));
            }
        }
        let known: Vec<(NaiveDate, bool)> = self
            .kurban_ait
            .iter()
            .filter(|(d, _)| d.year() == year)
            .map(|(d, e)| (*d, *e))
            .collect();
        let kurban = if known.is_empty() {
            kurban_ait_estimates(year)
                .into_iter()
                .map(|d| (d, true))
                .collect()
        } else {
            known
        };
        for (date, estimated) in &kurban {
            let name = if *estimated {
                "Kurban Ait, first day (estimated)"
            } else {
                "Kurban Ait, first day"
            };
            holidays.insert(*date, (name.to_owned(), true));
        }
        let mut listed: BTreeMap<NaiveDate, Listed> = BTreeMap::new();
        for (date, (name, religious)) in &holidays {
            let estimated = kurban.iter().any(|(d, e)| d == date && *e);
            listed.insert(
                *date,
                Listed {
                    date: *date,
                    kind: if *religious { "religious" } else { "holiday" },
                    name: name.clone(),
                    source: if kurban.iter().any(|(d, _)| d == date) {
                        let how = if estimated { "estimated" } else { "announced" };
                        format!("QMDB, Kurban Ait ({how})")
                    } else {
                        LAW.to_owned()
                    },
                    provisional,
                },
            );
        }
        // Art. 84: a holiday on a Saturday or Sunday moves its day off to the next
        // working day after it, past the holidays and moved days already there.
        for (date, (name, religious)) in &holidays {
            if *religious || !is_weekend(*date) {
                continue;
            }
            let mut day = *date;
            loop {
                day = day.succ_opt().expect("dates stay far from the end of time");
                if !is_weekend(day) && !listed.contains_key(&day) {
                    break;
                }
            }
            if day.year() == year {
                listed.insert(
                    day,
                    Listed {
                        date: day,
                        kind: "moved",
                        name: format!("{name} fell on a {}", weekday_name(*date)),
                        source: ART_84.to_owned(),
                        provisional,
                    },
                );
            }
        }
        for (off, working, order) in &self.transfers {
            if off.year() == year {
                listed.insert(
                    *off,
                    Listed {
                        date: *off,
                        kind: "transfer",
                        name: format!("day off moved from {}", working.format("%A %-d %B")),
                        source: order.clone(),
                        provisional: false,
                    },
                );
            }
            if working.year() == year {
                listed.insert(
                    *working,
                    Listed {
                        date: *working,
                        kind: "working",
                        name: format!("worked, its day off moved to {}", off.format("%A %-d %B")),
                        source: order.clone(),
                        provisional: false,
                    },
                );
            }
        }
        listed.into_values().collect()
    }
}

/// The first day of Kurban Ait (10 Dhu al-Hijjah) in Gregorian year `year`, by
/// the tabular Islamic calendar: an estimate, a day from the announced date at
/// most; a Gregorian year may hold two.
fn kurban_ait_estimates(year: i32) -> Vec<NaiveDate> {
    let guess = ((year - 622) as f64 * 33.0 / 32.0) as i64;
    (guess - 2..=guess + 2)
        .filter_map(|hijri| {
            let month_days = (29.5f64 * 11.0).ceil() as i64;
            let jdn =
                10 + month_days + 354 * (hijri - 1) + (3 + 11 * hijri).div_euclid(30) + 1_948_439;
            NaiveDate::from_num_days_from_ce_opt((jdn - 1_721_425) as i32)
        })
        .filter(|date| date.year() == year)
        .collect()
}

fn weekday_name(date: NaiveDate) -> &'static str {
    match date.weekday() {
        Weekday::Sat => "Saturday",
        Weekday::Sun => "Sunday",
        _ => "weekday",
    }
}

/// An explicit calendar file: every day off and working weekend day of its years.
#[derive(Debug, Clone)]
struct Explicit {
    first_year: i32,
    last_year: i32,
    off: BTreeMap<NaiveDate, String>,
    working: BTreeMap<NaiveDate, String>,
}

/// A working-day calendar: the law's rules and yearly facts, and optionally an
/// explicit list that says the whole truth for the years it covers.
#[derive(Debug, Clone)]
pub struct Calendar {
    pub name: String,
    /// The file it came from, for messages.
    pub source_name: String,
    explicit: Option<Explicit>,
    rules: Rules,
    /// Dated days per year, from the rules (computed once per year asked).
    years: std::sync::Arc<std::sync::Mutex<BTreeMap<i32, Vec<Listed>>>>,
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
        let parse_date = |text: &str, list: &str| {
            NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .map_err(|_| invalid(format!("{list} date `{text}` is not a date YYYY-MM-DD")))
        };
        let explicit_form = file.first_year.is_some() || file.last_year.is_some();
        if !explicit_form {
            let (Some(confirmed_from), Some(confirmed_through)) =
                (file.confirmed_from, file.confirmed_through)
            else {
                return Err(invalid(
                    "give either the rules (confirmed_from, confirmed_through, [[holiday]] month                      and day, [[kurban_ait]], [[transfer]]) or an explicit list (first_year,                      last_year, [[holiday]] date, [[day_off]], [[working_day]])"
                        .to_owned(),
                ));
            };
            let rules = rules_of(
                &file,
                confirmed_from,
                confirmed_through,
                &invalid,
                &parse_date,
            )?;
            return Ok(Calendar {
                name: file.name,
                source_name: source_name.to_owned(),
                explicit: None,
                rules,
                years: Default::default(),
            });
        }
        let (Some(first_year), Some(last_year)) = (file.first_year, file.last_year) else {
            return Err(invalid(
                "an explicit calendar needs first_year and last_year".to_owned(),
            ));
        };
        if first_year > last_year {
            return Err(invalid(format!(
                "first_year {first_year} is after last_year {last_year}"
            )));
        }
        let date = |text: &str, list: &str| {
            let day = parse_date(text, list)?;
            if day.year() < first_year || day.year() > last_year {
                return Err(invalid(format!(
                    "{list} {day} is outside first_year..last_year"
                )));
            }
            Ok(day)
        };
        let mut off = BTreeMap::new();
        for entry in &file.holiday {
            let Some(text) = &entry.date else {
                return Err(invalid(format!(
                    "holiday `{}` has no date: an explicit calendar lists dates",
                    entry.name
                )));
            };
            off.insert(date(text, "holiday")?, entry.name.clone());
        }
        for entry in &file.day_off {
            let day = date(&entry.date, "day_off")?;
            if is_weekend(day) {
                return Err(invalid(format!(
                    "day_off {day} is a weekend day already; list weekday days off only"
                )));
            }
            off.insert(day, entry.name.clone());
        }
        let mut working = BTreeMap::new();
        for entry in &file.working_day {
            let day = date(&entry.date, "working_day")?;
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
            explicit: Some(Explicit {
                first_year,
                last_year,
                off,
                working,
            }),
            rules: Calendar::built_in().rules,
            years: Default::default(),
        })
    }

    /// The explicit list, when it covers `year`.
    fn explicit_for(&self, year: i32) -> Option<&Explicit> {
        self.explicit
            .as_ref()
            .filter(|e| (e.first_year..=e.last_year).contains(&year))
    }

    /// The dated days of `year` (days off, moved days, transfers, working weekend
    /// days) with their sources, in date order.
    pub fn year(&self, year: i32) -> Vec<Listed> {
        if let Some(explicit) = self.explicit_for(year) {
            let mut listed: Vec<Listed> = explicit
                .off
                .iter()
                .filter(|(d, _)| d.year() == year)
                .map(|(d, name)| Listed {
                    date: *d,
                    kind: "listed",
                    name: name.clone(),
                    source: self.source_name.clone(),
                    provisional: false,
                })
                .chain(
                    explicit
                        .working
                        .iter()
                        .filter(|(d, _)| d.year() == year)
                        .map(|(d, name)| Listed {
                            date: *d,
                            kind: "working",
                            name: name.clone(),
                            source: self.source_name.clone(),
                            provisional: false,
                        }),
                )
                .collect();
            listed.sort_by_key(|l| l.date);
            return listed;
        }
        let mut years = self
            .years
            .lock()
            .expect("the calendar's cache is not poisoned");
        years
            .entry(year)
            .or_insert_with(|| self.rules.year(year))
            .clone()
    }

    /// The due date of a date in `year` is provisional: the year is counted by the
    /// rules alone, its transfer orders or Kurban Ait not known.
    pub fn provisional_year(&self, year: i32) -> bool {
        self.explicit_for(year).is_none()
            && !(self.rules.confirmed_from..=self.rules.confirmed_through).contains(&year)
    }

    /// Counting from `from` to `to` crossed a provisional year.
    pub fn provisional(&self, from: NaiveDate, to: NaiveDate) -> bool {
        (from.year().min(to.year())..=from.year().max(to.year()))
            .any(|year| self.provisional_year(year))
    }

    /// The years whose facts are known (transfer orders, Kurban Ait).
    pub fn confirmed_years(&self) -> (i32, i32) {
        (self.rules.confirmed_from, self.rules.confirmed_through)
    }

    /// What `date` is.
    pub fn day(&self, date: NaiveDate) -> Result<Day, CalendarError> {
        if let Some(explicit) = self.explicit_for(date.year()) {
            if let Some(reason) = explicit.working.get(&date) {
                return Ok(Day::TransferredWorking(reason.clone()));
            }
            if let Some(name) = explicit.off.get(&date) {
                return Ok(Day::Off(name.clone()));
            }
        } else if let Some(listed) = self.year(date.year()).into_iter().find(|l| l.date == date) {
            return Ok(match listed.kind {
                "working" => Day::TransferredWorking(listed.name),
                _ => Day::Off(listed.name),
            });
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

/// The rules form of a calendar file.
fn rules_of(
    file: &CalendarFile,
    confirmed_from: i32,
    confirmed_through: i32,
    invalid: &dyn Fn(String) -> CalendarError,
    parse_date: &dyn Fn(&str, &str) -> Result<NaiveDate, CalendarError>,
) -> Result<Rules, CalendarError> {
    if confirmed_from > confirmed_through {
        return Err(invalid(format!(
            "confirmed_from {confirmed_from} is after confirmed_through {confirmed_through}"
        )));
    }
    if !file.day_off.is_empty() || !file.working_day.is_empty() {
        return Err(invalid(
            "[[day_off]] and [[working_day]] belong to an explicit calendar (first_year,              last_year); in the rules form a moved day is a [[transfer]]"
                .to_owned(),
        ));
    }
    let mut fixed = Vec::new();
    for entry in &file.holiday {
        let (Some(month), Some(day), None) = (entry.month, entry.day, &entry.date) else {
            return Err(invalid(format!(
                "holiday `{}`: the rules form gives a month and a day, not a date",
                entry.name
            )));
        };
        if NaiveDate::from_ymd_opt(2024, month, day).is_none() {
            return Err(invalid(format!(
                "holiday `{}`: month {month} has no day {day}",
                entry.name
            )));
        }
        fixed.push(Fixed {
            month,
            day,
            name: entry.name.clone(),
            religious: entry.religious,
            from: entry.from,
            until: entry.until,
        });
    }
    let mut kurban_ait = BTreeMap::new();
    for entry in &file.kurban_ait {
        kurban_ait.insert(parse_date(&entry.date, "kurban_ait")?, entry.estimated);
    }
    let mut transfers = Vec::new();
    for entry in &file.transfer {
        let off = parse_date(&entry.day_off, "transfer day_off")?;
        let working = parse_date(&entry.working_day, "transfer working_day")?;
        if is_weekend(off) || !is_weekend(working) {
            return Err(invalid(format!(
                "transfer {off} / {working}: the day off is a weekday and the working day a weekend day"
            )));
        }
        transfers.push((off, working, entry.order.clone()));
    }
    Ok(Rules {
        fixed,
        kurban_ait,
        transfers,
        confirmed_from,
        confirmed_through,
    })
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

    /// The days off of the `holidays` package (PyPI) 0.109 for 2024-2030, and the
    /// weekend days its transfers made working ("substituted from MM/DD/YYYY").
    fn outside_calendar() -> (BTreeMap<NaiveDate, String>, Vec<NaiveDate>) {
        let text = include_str!("../../tests/data/kz-holidays-2024-2030.tsv");
        let mut off = BTreeMap::new();
        let mut worked = Vec::new();
        for line in text.lines().filter(|l| !l.starts_with('#')).skip(1) {
            let fields: Vec<&str> = line.split('\t').collect();
            off.insert(d(fields[0]), fields[2].to_owned());
            if let Some(from) = fields[2].split("substituted from ").nth(1) {
                let from = from.trim_end_matches(')');
                worked.push(NaiveDate::parse_from_str(from, "%m/%d/%Y").unwrap());
            }
        }
        (off, worked)
    }

    #[test]
    fn every_day_of_2024_to_2030_agrees_with_the_outside_calendar() {
        let calendar = Calendar::built_in();
        let (off, worked) = outside_calendar();
        assert!(off.len() > 100 && worked.len() == 2);
        let mut day = d("2024-01-01");
        let mut disagreements = Vec::new();
        while day <= d("2030-12-31") {
            let outside = worked.contains(&day) || (!is_weekend(day) && !off.contains_key(&day));
            let ours = calendar.day(day).unwrap();
            if ours.is_working() != outside {
                disagreements.push(format!("{day}: ours {ours:?}, outside {:?}", off.get(&day)));
            }
            day = day.succ_opt().unwrap();
        }
        assert!(disagreements.is_empty(), "{}", disagreements.join("\n"));
    }

    #[test]
    fn constitution_day_follows_the_amended_law() {
        let calendar = Calendar::built_in();
        // None in 2026: a block request received Friday 28 August is due Monday 31.
        assert_eq!(calendar.day(d("2026-08-31")).unwrap(), Day::Working);
        assert_eq!(
            calendar.add_working_days(d("2026-08-28"), 1).unwrap(),
            d("2026-08-31")
        );
        // 30 August until 2025 (a Saturday then: Monday 1 September off).
        assert!(!calendar.is_working(d("2025-09-01")).unwrap());
        // 15 March from 2027.
        assert_eq!(
            calendar.day(d("2027-03-15")).unwrap(),
            Day::Off("Constitution Day".into())
        );
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
    fn a_transfer_makes_a_weekday_off_and_a_sunday_working() {
        let calendar = Calendar::built_in();
        assert!(matches!(
            calendar.day(d("2025-01-05")).unwrap(),
            Day::TransferredWorking(_)
        ));
        assert_eq!(
            calendar.add_working_days(d("2025-01-02"), 1).unwrap(),
            d("2025-01-05")
        );
    }

    #[test]
    fn any_year_is_counted_and_years_past_the_facts_are_provisional() {
        let calendar = Calendar::built_in();
        assert_eq!(calendar.confirmed_years(), (2024, 2026));
        // Past the data: the rules (Independence Day Thursday 16 Dec 2027, so
        // Wednesday 15 + 1 is Friday 17), never refused, provisional.
        assert_eq!(
            calendar.add_working_days(d("2027-12-15"), 1).unwrap(),
            d("2027-12-17")
        );
        assert!(calendar.provisional(d("2027-12-15"), d("2027-12-17")));
        assert!(!calendar.provisional(d("2026-11-12"), d("2026-11-13")));
        assert!(calendar.provisional(d("2026-12-30"), d("2027-01-05")));
        // Far years too, Kurban Ait estimated by the tabular Islamic calendar.
        let year = calendar.year(2045);
        assert!(year.iter().any(|l| l.name.contains("Kurban Ait")));
        assert!(year.iter().all(|l| l.provisional));
        assert!(calendar.add_working_days(d("2099-12-30"), 5).is_ok());
    }

    #[test]
    fn the_year_lists_its_days_off_with_their_sources() {
        let calendar = Calendar::built_in();
        let year = calendar.year(2026);
        let find = |date: &str| year.iter().find(|l| l.date == d(date)).unwrap();
        assert_eq!(find("2026-03-24").kind, "moved");
        assert_eq!(find("2026-03-24").source, ART_84);
        assert_eq!(find("2026-01-07").kind, "religious");
        assert!(find("2026-05-27").source.contains("Kurban Ait"));
        assert!(year.iter().all(|l| !l.provisional));
        assert!(!year.iter().any(|l| l.date == d("2026-08-30")));
        let transfers = calendar.year(2025);
        assert!(transfers
            .iter()
            .any(|l| l.kind == "transfer" && l.date == d("2025-01-03")));
    }

    #[test]
    fn an_explicit_calendar_is_used_as_given_for_its_years() {
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
        // Tue 1 Jan 2030 + 1: Wed 2 is a holiday, Thu 3 (the file, not the law).
        assert_eq!(
            calendar.add_working_days(d("2030-01-01"), 1).unwrap(),
            d("2030-01-03")
        );
        // Fri 4 + 1: Saturday 5 is worked.
        assert_eq!(
            calendar.add_working_days(d("2030-01-04"), 1).unwrap(),
            d("2030-01-05")
        );
        assert!(!calendar.provisional_year(2030));
        // Another year: the built-in rules.
        assert!(!calendar.is_working(d("2026-12-16")).unwrap());
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
            ("name='x'", "give either the rules"),
            (
                "name='x'\nconfirmed_from=2024\nconfirmed_through=2026\n[[holiday]]\nmonth=2\nday=30\nname='x'",
                "no day 30",
            ),
            (
                "name='x'\nconfirmed_from=2024\nconfirmed_through=2026\n[[transfer]]\nday_off='2026-01-10'\nworking_day='2026-01-12'\norder='x'",
                "the day off is a weekday",
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
