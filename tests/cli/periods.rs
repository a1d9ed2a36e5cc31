//! Time done right (issue 9, item 6): periods are calendar periods counted as
//! PostgreSQL's `interval` counts them, in the data map's time zone.

use chrono::{DateTime, Utc};
use derbes::when::Period;

use crate::support::{connect_to, TestDb};

/// `Period::before` / `after` agree with `timestamptz -/+ interval` under the
/// same `TimeZone`, at month ends, leap days and DST changes.
#[tokio::test]
async fn periods_count_like_postgresql_intervals() {
    let client = connect_to("postgres").await;
    let moments = [
        "2026-02-28T19:30:00Z",
        "2026-03-31T10:00:00Z",
        "2024-02-29T12:00:00Z",
        "2026-10-25T00:30:00Z",
        "2026-03-29T01:30:00Z",
        "2025-12-31T20:00:00Z",
        // A day before lands in Berlin's spring gap, and in its autumn repeat.
        "2026-03-30T00:30:00Z",
        "2026-10-26T01:30:00Z",
    ];
    let periods = [
        ("5y", "5 years"),
        ("6mo", "6 months"),
        ("1mo", "1 month"),
        ("90d", "90 days"),
        ("2w", "14 days"),
        ("1y", "1 year"),
        ("12h", "12 hours"),
    ];
    for zone in ["Asia/Almaty", "Europe/Berlin", "UTC"] {
        client
            .batch_execute(&format!("SET TimeZone = '{zone}'"))
            .await
            .unwrap();
        let tz: chrono_tz::Tz = zone.parse().unwrap();
        for moment in moments {
            let at: DateTime<Utc> = DateTime::parse_from_rfc3339(moment).unwrap().into();
            for (text, interval) in periods {
                let period = Period::parse(text).unwrap();
                let row = client
                    .query_one(
                        "SELECT $1::timestamptz - $2::text::interval, \
                                $1::timestamptz + $2::text::interval",
                        &[&at, &interval],
                    )
                    .await
                    .unwrap();
                let (minus, plus): (DateTime<Utc>, DateTime<Utc>) = (row.get(0), row.get(1));
                assert_eq!(period.before(at, tz), minus, "{moment} - {text} in {zone}");
                assert_eq!(period.after(at, tz), plus, "{moment} + {text} in {zone}");
            }
        }
    }
}

/// Regression (issue 9, item 6): `--keep` defaults to the table's retention rule's
/// `archive_keep`, and keep-until is five calendar years after the dump in the
/// map's time zone (it was 5 × 365 days).
#[tokio::test]
async fn archive_keep_defaults_to_the_rule_and_counts_calendar_years() {
    let db = TestDb::migrated().await;
    let dir = tempfile::tempdir().unwrap();
    let (_key, recipient) = crate::export::age_key(dir.path());
    // loans are under loan-records: archive_keep = "5y".
    db.cmd()
        .args([
            "archive", "dump", "--table", "loans", "--ticket", "RET-1", "--yes",
        ])
        .args(["-r", &recipient, "--out"])
        .arg(dir.path().join("loans.age"))
        .assert()
        .success();
    let row = db
        .client()
        .await
        .query_one(
            "SELECT keep_until, \
                    ((created_at AT TIME ZONE 'Asia/Almaty') + interval '5 years') \
                        AT TIME ZONE 'Asia/Almaty' \
             FROM derbes.archives",
            &[],
        )
        .await
        .unwrap();
    let (keep_until, calendar): (DateTime<Utc>, DateTime<Utc>) = (row.get(0), row.get(1));
    assert_eq!(keep_until, calendar);
}
