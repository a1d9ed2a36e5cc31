//! The DPO's report as one self-contained HTML page, in the report's language.
//!
//! Sections follow the order: data held per retention rule and category,
//! requests against their deadlines, breaches against the one-working-day notice,
//! nightly jobs, blocks, archives, consents and objections, cohorts' k, and the
//! data map's coverage. Every chart (`super::charts`, inline SVG) sits in a
//! `figure` with a legend and a table of the exact figures it draws, so nothing is
//! only a picture; bars are numbered and the table's `No.` column says which row
//! each is. A section with nothing to show says so in words instead of drawing an
//! empty chart. Each retention rule (action, period, legal basis) is written once,
//! in a numbered list, and the tables refer to it as `[N]`. Requests and breaches
//! are listed by reference and ticket, never by person.

pub mod example;
mod words;

#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{Duration, NaiveDate};
use maud::{html, Markup};

use super::charts::{colour_css, stacked_bars, Series};
use super::page;
use crate::map::Category;
use crate::ops::report::{JobNight, Report, RetentionRuleFigures};
use words::Words;

/// Holds in the order the legend and the tables give them; a hold the model adds
/// later follows these, by its code.
const HOLDS: [&str; 4] = ["open-loan", "blocked", "open-request", "referenced"];

/// The page for `report`, in its language (`report.lang`; English if unknown).
pub fn render(report: &Report) -> String {
    let words = Words::of(&report.lang);
    let rules = RuleNumbers::of(&report.retention);
    let parts: [(&str, &str, Markup); 9] = [
        (
            "retention",
            words.retention,
            retention(report, words, &rules),
        ),
        ("requests", words.requests, requests(report, words)),
        ("breaches", words.breaches, breaches(report, words)),
        ("jobs", words.jobs, jobs(report, words, &rules)),
        ("blocks", words.blocks, blocks(report, words)),
        ("archives", words.archives, archives(report, words)),
        ("consents", words.consents, consents(report, words)),
        ("cohorts", words.cohorts, cohorts(report, words, &rules)),
        ("coverage", words.coverage, coverage(report, words)),
    ];
    let title = format!("{} {} – {}", words.title, report.since, report.until);
    let body = html! {
        div.report {
            h1 { (words.title) }
            p.meta {
                (words.period) ": " (report.since) " – " (report.until) " · "
                (words.generated) ": " (report.generated_at.format("%Y-%m-%d %H:%M")) " UTC"
            }
            p { (words.intro) }
            nav aria-label=(words.contents) {
                @for (id, heading, _) in &parts { a href={ "#" (id) } { (heading) } }
            }
            @for (id, heading, content) in parts {
                div.part id=(id) {
                    h2 { (heading) }
                    (content)
                }
            }
        }
    };
    page(words.lang.code(), &title, body)
}

/// Each retention rule's number in the list that gives it once, by name.
struct RuleNumbers(HashMap<String, usize>);

impl RuleNumbers {
    fn of(rules: &[RetentionRuleFigures]) -> Self {
        Self(
            rules
                .iter()
                .enumerate()
                .map(|(i, rule)| (rule.rule.clone(), i + 1))
                .collect(),
        )
    }

    /// The rule's name and a reference to its entry; the name alone when the
    /// list does not hold it (a rule removed from the map since a job ran).
    fn cite(&self, rule: &str) -> Markup {
        html! {
            (rule)
            @if let Some(n) = self.0.get(rule) {
                " " a.ref href={ "#rule-" (n) } { "[" (n) "]" }
            }
        }
    }
}

/// A chart with its legend and the table of its figures, kept together on paper.
fn figure(chart: Option<Markup>, legend: &[String], table: Markup) -> Markup {
    html! {
        figure.chart {
            @if let Some(chart) = chart { (chart) }
            @if legend.len() > 1 {
                ul.legend {
                    @for (i, name) in legend.iter().enumerate() {
                        li { span.swatch style={ "background:" (colour_css(i)) } {} (name) }
                    }
                }
            }
            (table)
        }
    }
}

/// Bar labels: the bars' numbers, which the tables' `No.` column repeats.
fn numbered(count: usize) -> Vec<String> {
    (1..=count).map(|n| n.to_string()).collect()
}

fn empty(text: &str) -> Markup {
    html! { p.empty { (text) } }
}

fn retention(report: &Report, words: &Words, rules: &RuleNumbers) -> Markup {
    let holds = holds_present(report);
    let rows: Vec<_> = report
        .retention
        .iter()
        .flat_map(|rule| rule.tables.iter().map(move |table| (rule, table)))
        .collect();
    let held_of = |table: &crate::ops::report::RetentionTableFigures, hold: &str| {
        table
            .held
            .iter()
            .filter(|h| h.reason == hold)
            .map(|h| h.rows)
            .sum::<i64>()
    };
    let mut series = vec![
        Series {
            values: rows.iter().map(|(_, t)| t.within).collect(),
        },
        Series {
            values: rows.iter().map(|(_, t)| t.due).collect(),
        },
    ];
    for hold in &holds {
        series.push(Series {
            values: rows.iter().map(|(_, t)| held_of(t, hold)).collect(),
        });
    }
    let mut legend = vec![words.within.to_owned(), words.due.to_owned()];
    legend.extend(
        holds
            .iter()
            .map(|h| format!("{}: {}", words.held, words.hold(h))),
    );

    html! {
        @if report.retention.is_empty() {
            (empty(words.no_retention))
        } @else {
            h3 { (words.rules) }
            p.meta { (words.rules_intro) }
            ol.notes {
                @for (i, rule) in report.retention.iter().enumerate() {
                    li id={ "rule-" (i + 1) } {
                        span.label { "[" (i + 1) "]" }
                        strong { (rule.rule) } " — " (words.action(&rule.action)) "; "
                        (words.kept_for) ": " (rule.keep_words) " (" (rule.keep) "); "
                        (words.cutoff) ": " (rule.cutoff.format("%Y-%m-%d")) ". "
                        (words.legal_basis) ": " (rule.legal_basis)
                    }
                }
            }

            h3 { (words.by_rule) }
            @if rows.is_empty() {
                (empty(words.no_retention))
            } @else {
                (figure(
                    stacked_bars(words.chart_retention, &numbered(rows.len()), &series),
                    &legend,
                    html! {
                        table.rows {
                            thead { tr {
                                th { (words.number) } th { (words.table) } th { (words.rule) }
                                th { (words.rows) } th { (words.within) } th { (words.due) }
                                @for hold in &holds { th { (words.held) ": " (words.hold(hold)) } }
                                th { (words.oldest_due) }
                            } }
                            tbody {
                                @for (i, (rule, table)) in rows.iter().enumerate() {
                                    tr {
                                        td.num data-label=(words.number) { (i + 1) }
                                        td data-label=(words.table) { code { (table.table) } }
                                        td data-label=(words.rule) { (rules.cite(&rule.rule)) }
                                        td.num data-label=(words.rows) { (table.rows) }
                                        td.num data-label=(words.within) { (table.within) }
                                        td.num data-label=(words.due) { (table.due) }
                                        @for hold in &holds {
                                            td.num data-label={ (words.held) ": " (words.hold(hold)) } { (held_of(table, hold)) }
                                        }
                                        td data-label=(words.oldest_due) {
                                            @match table.oldest_due {
                                                Some(at) => (at.format("%Y-%m-%d")),
                                                None => "—",
                                            }
                                        }
                                    }
                                }
                            }
                        }
                        p.meta { (words.held_note) }
                    },
                ))
            }
        }

        h3 { (words.by_category) }
        @if report.categories.is_empty() {
            (empty(words.no_retention))
        } @else {
            (figure(
                stacked_bars(
                    words.chart_categories,
                    &numbered(report.categories.len()),
                    &[
                        Series { values: report.categories.iter().map(|c| c.within).collect() },
                        Series { values: report.categories.iter().map(|c| c.due).collect() },
                        Series { values: report.categories.iter().map(|c| c.held).collect() },
                    ],
                ),
                &[words.within.to_owned(), words.due.to_owned(), words.held.to_owned()],
                html! {
                    table.rows {
                        thead { tr {
                            th { (words.number) } th { (words.category) } th { (words.rows) }
                            th { (words.within) } th { (words.due) } th { (words.held) }
                        } }
                        tbody {
                            @for (i, category) in report.categories.iter().enumerate() {
                                tr {
                                    td.num data-label=(words.number) { (i + 1) }
                                    td data-label=(words.category) { (category_label(&category.category, &category.label, words)) }
                                    td.num data-label=(words.rows) { (category.rows) }
                                    td.num data-label=(words.within) { (category.within) }
                                    td.num data-label=(words.due) { (category.due) }
                                    td.num data-label=(words.held) { (category.held) }
                                }
                            }
                        }
                    }
                },
            ))
        }
    }
}

/// The holds the figures name: the known ones in their order, then any other.
fn holds_present(report: &Report) -> Vec<String> {
    let named: BTreeSet<&str> = report
        .retention
        .iter()
        .flat_map(|rule| &rule.tables)
        .flat_map(|table| &table.held)
        .map(|held| held.reason.as_str())
        .collect();
    let mut holds: Vec<String> = HOLDS.iter().map(|h| (*h).to_owned()).collect();
    holds.extend(
        named
            .into_iter()
            .filter(|h| !HOLDS.contains(h))
            .map(str::to_owned),
    );
    holds
}

/// A category's name in the page's language: the report's label, else the data
/// map's own, else the snake_case name.
fn category_label(name: &str, label: &str, words: &Words) -> String {
    if !label.is_empty() {
        return label.to_owned();
    }
    Category::ALL
        .iter()
        .find(|c| c.name() == name)
        .map(|c| c.label(words.lang).to_owned())
        .unwrap_or_else(|| name.to_owned())
}

fn requests(report: &Report, words: &Words) -> Markup {
    let figures = &report.requests;
    let kinds = &figures.by_kind;
    let nothing = figures.overdue.is_empty()
        && kinds.iter().all(|k| {
            k.received + k.closed_on_time + k.closed_late + k.open_within + k.open_overdue == 0
        });
    let columns = [
        words.closed_on_time,
        words.closed_late,
        words.open_within,
        words.open_overdue,
    ];
    html! {
        p.meta { (words.requests_intro) }
        @if nothing {
            (empty(words.no_requests))
        } @else {
            (figure(
                stacked_bars(
                    words.chart_requests,
                    &numbered(kinds.len()),
                    &[
                        Series { values: kinds.iter().map(|k| k.closed_on_time).collect() },
                        Series { values: kinds.iter().map(|k| k.closed_late).collect() },
                        Series { values: kinds.iter().map(|k| k.open_within).collect() },
                        Series { values: kinds.iter().map(|k| k.open_overdue).collect() },
                    ],
                ),
                &columns.map(str::to_owned),
                html! {
                    table.rows {
                        thead { tr {
                            th { (words.number) } th { (words.kind) } th { (words.received) }
                            @for column in columns { th { (column) } }
                        } }
                        tbody {
                            @for (i, kind) in kinds.iter().enumerate() {
                                tr {
                                    td.num data-label=(words.number) { (i + 1) }
                                    td data-label=(words.kind) { (kind.kind) }
                                    td.num data-label=(words.received) { (kind.received) }
                                    td.num data-label=(words.closed_on_time) { (kind.closed_on_time) }
                                    td.num.late[kind.closed_late > 0] data-label=(words.closed_late) { (kind.closed_late) }
                                    td.num data-label=(words.open_within) { (kind.open_within) }
                                    td.num.late[kind.open_overdue > 0] data-label=(words.open_overdue) { (kind.open_overdue) }
                                }
                            }
                        }
                    }
                },
            ))
            h3 { (words.overdue_requests) }
            @if figures.overdue.is_empty() {
                (empty(words.no_overdue))
            } @else {
                table.rows {
                    thead { tr {
                        th { (words.reference) } th { (words.ticket) } th { (words.kind) }
                        th { (words.received_on) } th { (words.due_on) } th { (words.days_late) }
                    } }
                    tbody {
                        @for request in &figures.overdue {
                            tr {
                                td data-label=(words.reference) { "#" (request.id) }
                                td data-label=(words.ticket) { (request.ticket) }
                                td data-label=(words.kind) { (request.kind) }
                                td data-label=(words.received_on) { (request.received_on) }
                                td data-label=(words.due_on) { (request.due_on) }
                                td.num.late data-label=(words.days_late) { (request.days_late) }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn breaches(report: &Report, words: &Words) -> Markup {
    let b = &report.breaches;
    let nothing = b.late.is_empty()
        && b.discovered + b.notified_on_time + b.notified_late + b.open_within + b.open_overdue
            == 0;
    html! {
        p.meta { (words.breaches_intro) }
        @if nothing {
            (empty(words.no_breaches))
        } @else {
            table.fields {
                tr { th scope="row" { (words.discovered) } td.num { (b.discovered) } }
                tr { th scope="row" { (words.notified_on_time) } td.num { (b.notified_on_time) } }
                tr { th scope="row" { (words.notified_late) } td.num.late[b.notified_late > 0] { (b.notified_late) } }
                tr { th scope="row" { (words.open_within) } td.num { (b.open_within) } }
                tr { th scope="row" { (words.open_overdue) } td.num.late[b.open_overdue > 0] { (b.open_overdue) } }
            }
            @if !b.late.is_empty() {
                h3 { (words.late_breaches) }
                table.rows {
                    thead { tr {
                        th { (words.reference) } th { (words.ticket) }
                        th { (words.notify_by) } th { (words.notified_on) }
                    } }
                    tbody {
                        @for breach in &b.late {
                            tr {
                                td data-label=(words.reference) { "#" (breach.id) }
                                td data-label=(words.ticket) { (breach.ticket) }
                                td data-label=(words.notify_by) { (breach.notify_by) }
                                td.late data-label=(words.notified_on) {
                                    @match breach.notified_on {
                                        Some(day) => (day),
                                        None => (words.not_notified),
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn jobs(report: &Report, words: &Words, rules: &RuleNumbers) -> Markup {
    html! {
        (nights(report, words, rules))
        (unfinished(report, words))
    }
}

/// Runs `derbes.jobs` holds unfinished: killed, failed or stopped, to be resumed.
fn unfinished(report: &Report, words: &Words) -> Markup {
    let jobs = &report.jobs.unfinished;
    html! {
        h3 { (words.unfinished) }
        @if jobs.is_empty() {
            (empty(words.no_unfinished))
        } @else {
            p.meta { (words.unfinished_intro) }
            table.rows {
                thead { tr {
                    th { (words.operation) } th { (words.scope) }
                    th { (words.started) } th { (words.rows) }
                } }
                tbody {
                    @for job in jobs {
                        tr {
                            td data-label=(words.operation) { (words.operation(&job.operation)) }
                            td data-label=(words.scope) { code { (job.scope) } }
                            td data-label=(words.started) { (job.started_at.format("%Y-%m-%d %H:%M")) }
                            td.num.late data-label=(words.rows) { (job.rows) }
                        }
                    }
                }
            }
        }
    }
}

fn nights(report: &Report, words: &Words, rules: &RuleNumbers) -> Markup {
    let nights = &report.jobs.nights;
    if nights.is_empty() {
        return empty(words.no_jobs);
    }
    // One layer per operation and rule; one bar per day from the first run to the
    // last, so a night without a run shows as a gap.
    let layers: Vec<(&str, &str)> = nights
        .iter()
        .map(|n| (n.operation.as_str(), n.rule.as_str()))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let days = day_range(nights);
    let mut rows: BTreeMap<(NaiveDate, &str, &str), i64> = BTreeMap::new();
    for night in nights {
        *rows
            .entry((night.day, night.operation.as_str(), night.rule.as_str()))
            .or_default() += night.rows;
    }
    let series: Vec<Series> = layers
        .iter()
        .map(|(operation, rule)| Series {
            values: days
                .iter()
                .map(|day| rows.get(&(*day, *operation, *rule)).copied().unwrap_or(0))
                .collect(),
        })
        .collect();
    let legend: Vec<String> = layers
        .iter()
        .map(|(operation, rule)| format!("{}: {}", words.operation(operation), rule))
        .collect();
    let labels: Vec<String> = days.iter().map(|d| d.format("%m-%d").to_string()).collect();
    let mut sorted: Vec<&JobNight> = nights.iter().collect();
    sorted.sort_by(|a, b| (a.day, &a.operation, &a.rule).cmp(&(b.day, &b.operation, &b.rule)));
    figure(
        stacked_bars(words.chart_jobs, &labels, &series),
        &legend,
        html! {
            table.rows {
                thead { tr {
                    th { (words.day) } th { (words.operation) } th { (words.rule) }
                    th { (words.runs) } th { (words.rows) } th { (words.duration) }
                    th { (words.failures) }
                } }
                tbody {
                    @for night in sorted {
                        tr {
                            td data-label=(words.day) { (night.day) }
                            td data-label=(words.operation) { (words.operation(&night.operation)) }
                            td data-label=(words.rule) { (rules.cite(&night.rule)) }
                            td.num data-label=(words.runs) { (night.runs) }
                            td.num data-label=(words.rows) { (night.rows) }
                            td.num data-label=(words.duration) {
                                @match night.seconds {
                                    Some(seconds) => (duration(seconds)),
                                    None => "—",
                                }
                            }
                            td.num.late[night.failures > 0] data-label=(words.failures) { (night.failures) }
                        }
                    }
                }
            }
        },
    )
}

/// Every day from the first night with a run to the last; at most a year, so a
/// stray date cannot make the chart unreadable (the table lists every night).
fn day_range(nights: &[JobNight]) -> Vec<NaiveDate> {
    let first = nights.iter().map(|n| n.day).min();
    let last = nights.iter().map(|n| n.day).max();
    let (Some(first), Some(last)) = (first, last) else {
        return Vec::new();
    };
    if (last - first).num_days() > 366 {
        return nights
            .iter()
            .map(|n| n.day)
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
    }
    first.iter_days().take_while(|day| *day <= last).collect()
}

/// Seconds as `1 h 02 min`, `3 min 05 s` or `4.2 s`.
fn duration(seconds: f64) -> String {
    let whole = seconds.round() as i64;
    match whole {
        w if w >= 3600 => format!("{} h {:02} min", w / 3600, (w % 3600) / 60),
        w if w >= 60 => format!("{} min {:02} s", w / 60, w % 60),
        _ => format!("{seconds:.1} s"),
    }
}

fn blocks(report: &Report, words: &Words) -> Markup {
    let figures = &report.blocks;
    let reasons: Vec<&str> = figures
        .months
        .iter()
        .map(|m| m.reason.as_str())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let months: Vec<NaiveDate> = figures
        .months
        .iter()
        .map(|m| m.month)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let series: Vec<Series> = reasons
        .iter()
        .map(|reason| Series {
            values: months
                .iter()
                .map(|month| {
                    figures
                        .months
                        .iter()
                        .filter(|m| m.month == *month && m.reason == *reason)
                        .map(|m| m.blocked)
                        .sum()
                })
                .collect(),
        })
        .collect();
    let labels: Vec<String> = months
        .iter()
        .map(|m| m.format("%Y-%m").to_string())
        .collect();
    let mut sorted: Vec<_> = figures.months.iter().collect();
    sorted.sort_by(|a, b| (a.month, &a.reason).cmp(&(b.month, &b.reason)));
    html! {
        @if figures.months.is_empty() {
            (empty(words.no_blocks))
        } @else {
            (figure(
                stacked_bars(words.chart_blocks, &labels, &series),
                &reasons.iter().map(|r| (*r).to_owned()).collect::<Vec<_>>(),
                html! {
                    table.rows {
                        thead { tr {
                            th { (words.month) } th { (words.reason) }
                            th { (words.placed) } th { (words.lifted) }
                        } }
                        tbody {
                            @for month in sorted {
                                tr {
                                    td data-label=(words.month) { (month.month.format("%Y-%m")) }
                                    td data-label=(words.reason) { (month.reason) }
                                    td.num data-label=(words.placed) { (month.blocked) }
                                    td.num data-label=(words.lifted) { (month.unblocked) }
                                }
                            }
                        }
                    }
                },
            ))
        }
        h3 { (words.in_force_now) }
        @if figures.active.is_empty() {
            (empty(words.no_active_blocks))
        } @else {
            table.rows {
                thead { tr { th { (words.reason) } th { (words.in_force) } } }
                tbody {
                    @for active in &figures.active {
                        tr {
                            td data-label=(words.reason) { (active.reason) }
                            td.num data-label=(words.in_force) { (active.count) }
                        }
                    }
                }
            }
        }
    }
}

fn archives(report: &Report, words: &Words) -> Markup {
    let figures = &report.archives;
    let months = &figures.by_keep_until;
    let expiry_limit = report.generated_at + Duration::days(90);
    html! {
        @if figures.held == 0 && months.is_empty() && figures.expiring.is_empty() {
            (empty(words.no_archives))
        } @else {
            table.fields {
                tr { th scope="row" { (words.archives_held) } td.num { (figures.held) } }
                tr { th scope="row" { (words.size) } td.num { (bytes(figures.bytes)) } }
            }
            @if !months.is_empty() {
                (figure(
                    stacked_bars(
                        words.chart_archives,
                        &months.iter().map(|m| m.month.format("%Y-%m").to_string()).collect::<Vec<_>>(),
                        &[Series { values: months.iter().map(|m| m.archives).collect() }],
                    ),
                    &[],
                    html! {
                        table.rows {
                            thead { tr {
                                th { (words.keep_until) } th { (words.archives) } th { (words.size) }
                            } }
                            tbody {
                                @for month in months {
                                    tr {
                                        td data-label=(words.keep_until) { (month.month.format("%Y-%m")) }
                                        td.num data-label=(words.archives) { (month.archives) }
                                        td.num data-label=(words.size) { (bytes(month.bytes)) }
                                    }
                                }
                            }
                        }
                    },
                ))
            }
            h3 { (words.expiring) " (" (words.keep_until) " ≤ " (expiry_limit.format("%Y-%m-%d")) ")" }
            @if figures.expiring.is_empty() {
                (empty(words.none_expiring))
            } @else {
                table.rows {
                    thead { tr {
                        th { (words.archive) } th { (words.selection) } th { (words.keep_until) }
                        th { (words.size) } th { (words.verified) }
                    } }
                    tbody {
                        @for archive in &figures.expiring {
                            tr {
                                td data-label=(words.archive) { code { (archive.archive_id) } }
                                td data-label=(words.selection) { (archive.selection) }
                                td data-label=(words.keep_until) { (archive.keep_until.format("%Y-%m-%d")) }
                                td.num data-label=(words.size) { (bytes(archive.bytes)) }
                                @match archive.verified_at {
                                    Some(at) => td data-label=(words.verified) { (at.format("%Y-%m-%d")) },
                                    None => td.late data-label=(words.verified) { (words.never_verified) },
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// A size in binary units, one decimal; bytes as they are below a KiB.
fn bytes(count: i64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = count as f64;
    let mut unit = 0;
    while value.abs() >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{count} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

fn consents(report: &Report, words: &Words) -> Markup {
    let figures = &report.consents;
    html! {
        @if figures.purposes.is_empty() {
            (empty(words.no_consents))
        } @else {
            table.rows {
                thead { tr {
                    th { (words.purpose) } th { (words.in_force) }
                    th { (words.granted) } th { (words.withdrawn) }
                } }
                tbody {
                    @for purpose in &figures.purposes {
                        tr {
                            td data-label=(words.purpose) { (purpose.purpose) }
                            td.num data-label=(words.in_force) { (purpose.in_force) }
                            td.num data-label=(words.granted) { (purpose.granted) }
                            td.num data-label=(words.withdrawn) { (purpose.withdrawn) }
                        }
                    }
                }
            }
        }
        h3 { (words.policy_versions) }
        @if figures.policy_versions.is_empty() {
            (empty(words.no_policy_versions))
        } @else {
            table.rows {
                thead { tr { th { (words.version) } th { (words.notified) } th { (words.objected) } } }
                tbody {
                    @for version in &figures.policy_versions {
                        tr {
                            td data-label=(words.version) { (version.version) }
                            td.num data-label=(words.notified) { (version.notified) }
                            td.num data-label=(words.objected) { (version.objected) }
                        }
                    }
                }
            }
        }
    }
}

fn cohorts(report: &Report, words: &Words, rules: &RuleNumbers) -> Markup {
    html! {
        p.meta { (words.cohorts_intro) }
        @if report.cohorts.is_empty() {
            (empty(words.no_cohorts))
        } @else {
            table.rows {
                thead { tr {
                    th { (words.rule) } th { (words.at) } th { "k" } th { (words.subjects) }
                    th { (words.groups) } th { (words.quasi_identifiers) }
                } }
                tbody {
                    @for cohort in &report.cohorts {
                        tr {
                            td data-label=(words.rule) { (rules.cite(&cohort.rule)) }
                            td data-label=(words.at) { (cohort.at.format("%Y-%m-%d %H:%M")) }
                            td.num data-label="k" {
                                @match cohort.k {
                                    Some(k) => (k),
                                    None => "—",
                                }
                            }
                            td.num data-label=(words.subjects) { (cohort.subjects) }
                            td.num data-label=(words.groups) { (cohort.groups) }
                            td data-label=(words.quasi_identifiers) {
                                @for (i, column) in cohort.quasi_identifiers.iter().enumerate() {
                                    @if i > 0 { ", " }
                                    code { (column) }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn coverage(report: &Report, words: &Words) -> Markup {
    let figures = &report.coverage;
    html! {
        table.fields {
            tr { th scope="row" { (words.mapped_tables) } td.num { (figures.mapped_tables) } }
            tr { th scope="row" { (words.mapped_columns) } td.num { (figures.mapped_columns) } }
        }
        h3 { (words.unmapped) }
        @if figures.unmapped.is_empty() {
            (empty(words.all_mapped))
        } @else {
            table.rows {
                thead { tr { th { (words.table) } th { (words.column) } th { (words.looks_like) } } }
                tbody {
                    @for column in &figures.unmapped {
                        tr {
                            td data-label=(words.table) { code { (column.table) } }
                            td data-label=(words.column) { code { (column.column) } }
                            td data-label=(words.looks_like) {
                                @match &column.looks_like {
                                    Some(name) => (category_label(name, "", words)),
                                    None => "—",
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
