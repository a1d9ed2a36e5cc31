//! `derbes calendar show YEAR`: the days off deadlines are counted around, each with
//! the law, order or announcement it comes from.

use serde::Serialize;

use crate::cli::{CalendarCommand, CalendarShowArgs};
use crate::commands::Context;
use crate::error::DerbesError;
use crate::kz::calendar::{Calendar, Listed};
use crate::output::{emit, Tabular};

pub fn run(ctx: &Context, command: CalendarCommand) -> anyhow::Result<()> {
    match command {
        CalendarCommand::Show(args) => show(ctx, args),
    }
}

#[derive(Serialize)]
struct YearReport {
    calendar: String,
    year: i32,
    /// Counted by the law's rules alone: the year's facts are not known yet.
    provisional: bool,
    days: Vec<Listed>,
}

fn show(ctx: &Context, args: CalendarShowArgs) -> anyhow::Result<()> {
    let calendar = Calendar::load(args.calendar.calendar.as_deref())
        .map_err(|e| DerbesError::Usage(e.to_string()))?;
    let report = YearReport {
        calendar: calendar.name.clone(),
        year: args.year,
        provisional: calendar.provisional_year(args.year),
        days: calendar.year(args.year),
    };
    emit(ctx.format(), &report)
}

impl Tabular for YearReport {
    fn headers(&self) -> Vec<&'static str> {
        vec!["date", "weekday", "kind", "day", "source"]
    }
    fn rows(&self) -> Vec<Vec<String>> {
        self.days
            .iter()
            .map(|d| {
                vec![
                    d.date.to_string(),
                    d.date.format("%a").to_string(),
                    d.kind.to_owned(),
                    d.name.clone(),
                    d.source.clone(),
                ]
            })
            .collect()
    }
    fn notes(&self) -> Vec<String> {
        let mut notes = vec![format!(
            "calendar \"{}\": Saturdays and Sundays are days off besides these, except a day listed as working",
            self.calendar
        )];
        if self.provisional {
            notes.push(format!(
                "{} is provisional: computed by the law's rules, its transfer orders and the date \
                 of Kurban Ait not known yet; deadlines counted across it are provisional",
                self.year
            ));
        }
        notes
    }
}
