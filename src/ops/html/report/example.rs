//! A made-up report with every section filled, shaped like the reference
//! schema's (examples/datamap.toml): what the page's unit tests and the headless
//! browser test (`tests/render.rs`) render. No figure here was read from a
//! database.

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};

use crate::ops::report::*;

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("a valid date")
}

fn at(y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, 0, 0)
        .single()
        .expect("a valid time")
}

fn held(reason: &str, rows: i64) -> HeldBack {
    HeldBack {
        reason: reason.to_owned(),
        rows,
    }
}

fn table(
    name: &str,
    categories: &[&str],
    (within, due): (i64, i64),
    holds: Vec<HeldBack>,
) -> RetentionTableFigures {
    let held_rows: i64 = holds.iter().map(|h| h.rows).sum();
    RetentionTableFigures {
        table: name.to_owned(),
        categories: categories.iter().map(|c| (*c).to_owned()).collect(),
        rows: within + due + held_rows,
        within,
        due,
        held: holds,
        oldest_due: (due > 0).then(|| at(2021, 3, 4, 10)),
    }
}

fn rule(
    name: &str,
    action: &str,
    keep: &str,
    keep_words: &str,
    legal_basis: &str,
    tables: Vec<RetentionTableFigures>,
) -> RetentionRuleFigures {
    RetentionRuleFigures {
        rule: name.to_owned(),
        action: action.to_owned(),
        keep: keep.to_owned(),
        keep_words: keep_words.to_owned(),
        legal_basis: legal_basis.to_owned(),
        cutoff: at(2021, 12, 1, 0),
        tables,
    }
}

fn category(name: &str, label: &str, (within, due, held): (i64, i64, i64)) -> CategoryFigures {
    CategoryFigures {
        category: name.to_owned(),
        label: label.to_owned(),
        rows: within + due + held,
        within,
        due,
        held,
    }
}

/// The example report, with its labels in `lang` where the report carries them.
pub fn example(lang: &str) -> Report {
    let generated_at = at(2026, 12, 1, 6);
    let nights = (0..14)
        .flat_map(|day| {
            let day_date = date(2026, 11, 17) + Duration::days(day);
            let mut runs = vec![JobNight {
                day: day_date,
                operation: "purge".to_owned(),
                rule: "closed-loans".to_owned(),
                runs: 1,
                rows: 800 + (day * 137) % 500,
                seconds: Some(40.0 + day as f64 * 3.5),
                failures: i64::from(day == 9),
            }];
            if day % 3 == 0 {
                runs.push(JobNight {
                    day: day_date,
                    operation: "anonymise".to_owned(),
                    rule: "marketing-events".to_owned(),
                    runs: 1,
                    rows: 300 + day * 20,
                    seconds: None,
                    failures: 0,
                });
            }
            runs
        })
        .collect();
    Report {
        generated_at,
        since: date(2026, 6, 1),
        until: date(2026, 11, 30),
        lang: lang.to_owned(),
        retention: vec![
            rule(
                "closed-loans",
                "archive-then-delete",
                "5y",
                "5 years",
                "Law 94-V Art. 12; AML law Art. 5 (keep five years after the relationship ends)",
                vec![
                    table(
                        "loans",
                        &["microcredit"],
                        (4200, 310),
                        vec![held("open-loan", 95), held("blocked", 4)],
                    ),
                    table(
                        "repayments",
                        &["microcredit", "bank_account"],
                        (18_400, 1_250),
                        vec![held("referenced", 220), held("open-request", 3)],
                    ),
                ],
            ),
            rule(
                "marketing-events",
                "anonymise",
                "1y",
                "1 year",
                "Consent (Law 94-V Art. 7)",
                vec![table(
                    "events",
                    &["usage", "ip_address"],
                    (9_800, 2_600),
                    vec![held("blocked", 12)],
                )],
            ),
            rule(
                "support-messages",
                "delete",
                "3y",
                "3 years",
                "Law 94-V Art. 12",
                vec![table(
                    "support_messages",
                    &["support_message"],
                    (2_100, 0),
                    vec![],
                )],
            ),
        ],
        categories: vec![
            category("microcredit", "Microcredit details", (22_600, 1_560, 322)),
            category("bank_account", "Bank account details", (18_400, 1_250, 223)),
            category(
                "usage",
                "Data on the use of the resource",
                (9_800, 2_600, 12),
            ),
            category("ip_address", "IP address", (9_800, 2_600, 12)),
            category("support_message", "Messages to support", (2_100, 0, 0)),
        ],
        requests: RequestFigures {
            by_kind: vec![
                RequestKindFigures {
                    kind: "access".to_owned(),
                    received: 42,
                    closed_on_time: 36,
                    closed_late: 2,
                    open_within: 3,
                    open_overdue: 1,
                },
                RequestKindFigures {
                    kind: "rectification".to_owned(),
                    received: 11,
                    closed_on_time: 10,
                    closed_late: 0,
                    open_within: 1,
                    open_overdue: 0,
                },
                RequestKindFigures {
                    kind: "erasure".to_owned(),
                    received: 7,
                    closed_on_time: 4,
                    closed_late: 1,
                    open_within: 0,
                    open_overdue: 2,
                },
            ],
            overdue: vec![
                OverdueRequest {
                    id: 318,
                    ticket: "DPO-2026-318".to_owned(),
                    kind: "access".to_owned(),
                    received_on: date(2026, 11, 2),
                    due_on: date(2026, 11, 13),
                    days_late: 18,
                },
                OverdueRequest {
                    id: 322,
                    ticket: "DPO-2026-322".to_owned(),
                    kind: "erasure".to_owned(),
                    received_on: date(2026, 11, 5),
                    due_on: date(2026, 11, 18),
                    days_late: 13,
                },
            ],
        },
        breaches: BreachFigures {
            discovered: 2,
            notified_on_time: 1,
            notified_late: 1,
            open_within: 0,
            open_overdue: 0,
            late: vec![LateBreach {
                id: 7,
                ticket: "INC-2026-044".to_owned(),
                notify_by: date(2026, 9, 15),
                notified_on: Some(date(2026, 9, 17)),
            }],
        },
        jobs: JobFigures {
            nights,
            unfinished: vec![UnfinishedJob {
                operation: "purge".to_owned(),
                scope: "marketing-events:public.events".to_owned(),
                started_at: at(2026, 11, 30, 2),
                rows: 1200,
            }],
        },
        blocks: BlockFigures {
            months: (6..=11)
                .flat_map(|month| {
                    [
                        BlockMonth {
                            month: date(2026, month, 1),
                            reason: "fraud".to_owned(),
                            blocked: i64::from(month % 4 + 2),
                            unblocked: 1,
                        },
                        BlockMonth {
                            month: date(2026, month, 1),
                            reason: "subject-request".to_owned(),
                            blocked: i64::from(month % 3 + 1),
                            unblocked: i64::from(month % 2),
                        },
                    ]
                })
                .collect(),
            active: vec![
                ReasonCount {
                    reason: "fraud".to_owned(),
                    count: 14,
                },
                ReasonCount {
                    reason: "subject-request".to_owned(),
                    count: 6,
                },
            ],
        },
        archives: ArchiveFigures {
            held: 9,
            bytes: 3_221_225_472,
            expiring: vec![
                ArchiveEntry {
                    archive_id: "a-2021-12-closed-loans".to_owned(),
                    selection: "rule closed-loans".to_owned(),
                    keep_until: at(2026, 12, 20, 0),
                    bytes: 412_000_000,
                    verified_at: Some(at(2026, 11, 30, 2)),
                },
                ArchiveEntry {
                    archive_id: "a-2022-01-closed-loans".to_owned(),
                    selection: "rule closed-loans".to_owned(),
                    keep_until: at(2027, 1, 31, 0),
                    bytes: 388_000_000,
                    verified_at: None,
                },
            ],
            by_keep_until: vec![
                ArchiveMonth {
                    month: date(2026, 12, 1),
                    archives: 1,
                    bytes: 412_000_000,
                },
                ArchiveMonth {
                    month: date(2027, 1, 1),
                    archives: 1,
                    bytes: 388_000_000,
                },
                ArchiveMonth {
                    month: date(2027, 6, 1),
                    archives: 3,
                    bytes: 1_100_000_000,
                },
                ArchiveMonth {
                    month: date(2028, 1, 1),
                    archives: 4,
                    bytes: 1_321_225_472,
                },
            ],
        },
        consents: ConsentFigures {
            purposes: vec![
                PurposeFigures {
                    purpose: "marketing".to_owned(),
                    in_force: 61,
                    granted: 12,
                    withdrawn: 9,
                },
                PurposeFigures {
                    purpose: "credit-bureau".to_owned(),
                    in_force: 100,
                    granted: 20,
                    withdrawn: 0,
                },
            ],
            policy_versions: vec![PolicyVersionFigures {
                version: "2026-09".to_owned(),
                notified: 100,
                objected: 3,
            }],
        },
        cohorts: vec![CohortFigures {
            rule: "marketing-events".to_owned(),
            at: at(2026, 11, 29, 2),
            k: Some(5),
            subjects: 240,
            groups: 31,
            quasi_identifiers: vec!["birth_year".to_owned(), "region".to_owned()],
        }],
        coverage: CoverageFigures {
            mapped_tables: 12,
            mapped_columns: 58,
            unmapped: vec![UnmappedColumn {
                table: "call_notes".to_owned(),
                column: "caller_phone".to_owned(),
                looks_like: Some("phone".to_owned()),
            }],
        },
    }
}

/// The same report with nothing in it: every section says so in words.
pub fn empty(lang: &str) -> Report {
    Report {
        retention: Vec::new(),
        categories: Vec::new(),
        requests: RequestFigures::default(),
        breaches: BreachFigures::default(),
        jobs: JobFigures::default(),
        blocks: BlockFigures::default(),
        archives: ArchiveFigures::default(),
        consents: ConsentFigures::default(),
        cohorts: Vec::new(),
        coverage: CoverageFigures {
            mapped_tables: 12,
            mapped_columns: 58,
            unmapped: Vec::new(),
        },
        ..example(lang)
    }
}
