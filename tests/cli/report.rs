//! `derbes report`: every figure of `--format json` against a count written here by
//! hand in SQL (apart from derbes' SQL builder) on the reference population, after
//! requests, breaches, blocks, purges, a cohort anonymisation and archives made
//! through derbes so that every section has something to count; no subject's
//! identity or name in the JSON or the page; and the usage errors.
//!
//! The report's time is its own (`generated_at`): the oracles read "now" and
//! "today" from it, so no assertion depends on the day the test runs.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::Value;
use tokio_postgres::Client;

use crate::archive::age_keys;
use crate::support::{reference_map, temp_file, TestDb};

const ZONE: &str = "Asia/Almaty";
const SINCE: &str = "2026-01-01";
const UNTIL: &str = "2030-12-31";
/// A calendar with weekends only, so deadlines can be counted in any year.
const WIDE_CALENDAR: &str = "name = \"weekends only\"\nfirst_year = 2020\nlast_year = 2099\n";

fn json_of(output: &std::process::Output) -> Value {
    assert!(
        output.status.success(),
        "derbes failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("JSON on stdout")
}

fn run_json(db: &TestDb, args: &[&str]) -> Value {
    json_of(
        &db.cmd()
            .args(["--format", "json"])
            .args(args)
            .output()
            .unwrap(),
    )
}

/// Subject keys of the population, in key order.
async fn keys(client: &Client, n: i64) -> Vec<i64> {
    client
        .query("SELECT id FROM borrowers ORDER BY id LIMIT $1", &[&n])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

/// Requests, breaches, blocks, purges, a cohort and archives, all made through
/// derbes; returns what the purge and cohort runs reported.
async fn populate(db: &TestDb, client: &Client) -> (Vec<Value>, Value) {
    let (_calendar_dir, calendar) = temp_file("calendar.toml", WIDE_CALENDAR);
    let calendar = calendar.to_str().unwrap().to_owned();
    let today: NaiveDate = client
        .query_one(&format!("SELECT (now() AT TIME ZONE '{ZONE}')::date"), &[])
        .await
        .unwrap()
        .get(0);
    let today = today.to_string();
    let subjects = keys(client, 8).await;
    let id = |i: usize| format!("id:{}", subjects[i]);
    // Requests: one received before the period (open), two long overdue, one today.
    let mut opened = Vec::new();
    for (i, kind, received) in [
        (0, "access", "2025-12-15"),
        (1, "block", "2026-02-02"),
        (2, "destroy", "2026-03-02"),
        (3, "access", today.as_str()),
        (4, "rectify", "2026-04-06"),
    ] {
        let request = run_json(
            db,
            &[
                "request",
                "open",
                "--kind",
                kind,
                "--subject",
                &id(i),
                "--received",
                received,
                "--ticket",
                &format!("REQ-{i}"),
                "--yes",
                "--calendar",
                &calendar,
            ],
        );
        opened.push(request["request"]["id"].as_i64().unwrap());
    }
    // Closed: the one of today (on time) and one long past its due day (late).
    for request in [opened[3], opened[4]] {
        run_json(
            db,
            &[
                "request",
                "close",
                &request.to_string(),
                "--outcome",
                "done",
                "--reply",
                "OUT-1",
                "--ticket",
                "REQ-C",
                "--yes",
            ],
        );
    }
    // Breaches: one outside the period still open, one open and overdue, one
    // notified late.
    let mut breaches = Vec::new();
    for (discovered, ticket) in [
        ("2025-11-03T10:00", "INC-1"),
        ("2026-03-20T10:00", "INC-2"),
        ("2026-02-02T09:00", "INC-3"),
    ] {
        let breach = run_json(
            db,
            &[
                "breach",
                "open",
                "--discovered",
                discovered,
                "--summary",
                &format!("{ticket} test"),
                "--ticket",
                ticket,
                "--yes",
                "--calendar",
                &calendar,
            ],
        );
        breaches.push(breach["breach"]["id"].as_i64().unwrap());
    }
    run_json(
        db,
        &[
            "breach",
            "close",
            &breaches[2].to_string(),
            "--notified-at",
            "2026-02-10T12:00",
            "--reference",
            "KZ-1",
            "--ticket",
            "INC-3",
            "--yes",
        ],
    );
    // Blocks: two placed, one lifted.
    for (i, reason) in [(5, "fraud"), (6, "compromised")] {
        db.cmd()
            .args([
                "block",
                &id(i),
                "--reason",
                reason,
                "--ticket",
                "SEC-1",
                "--yes",
            ])
            .assert()
            .success();
    }
    db.cmd()
        .args([
            "unblock",
            &id(6),
            "--application",
            "APP-1",
            "--ticket",
            "SEC-2",
            "--yes",
        ])
        .assert()
        .success();
    // Purges of two delete rules, and a cohort.
    let mut purges = Vec::new();
    for rule in ["photos", "location"] {
        purges.push(run_json(
            db,
            &["purge", "--rule", rule, "--ticket", "RET-1", "--yes"],
        ));
    }
    let cohort = run_json(
        db,
        &[
            "anonymise",
            "--rule",
            "traffic",
            "--ticket",
            "JOB-1",
            "--yes",
        ],
    );
    // Archives: one kept 30 days (expiring soon), one kept 5 years.
    let keys = age_keys();
    for (keep, table) in [("30d", "loans"), ("5y", "payments")] {
        let out = keys.dir.join(format!("{table}.age"));
        db.cmd()
            .args([
                "archive", "dump", "--yes", "--keep", keep, "--ticket", "DPO-1",
            ])
            .args(["--table", table, "--out"])
            .arg(&out)
            .arg("-r")
            .arg(&keys.age_recipient)
            .assert()
            .success();
        // The one expiring soon is verified: the report says when.
        if keep == "30d" {
            db.cmd()
                .args(["archive", "verify", "-i"])
                .arg(&keys.age_identity)
                .arg(&out)
                .assert()
                .success();
        }
    }
    // Coverage: a personal-looking column the map does not name, in a mapped table
    // and in a table the map leaves out.
    client
        .batch_execute(
            "ALTER TABLE loans ADD COLUMN guarantor_phone text; \
             CREATE TABLE marketing_leads (id bigint PRIMARY KEY, email text)",
        )
        .await
        .unwrap();
    (purges, cohort)
}

fn report(db: &TestDb) -> Value {
    run_json(db, &["report", "--since", SINCE, "--until", UNTIL])
}

fn time(value: &Value) -> DateTime<Utc> {
    value.as_str().unwrap().parse().unwrap()
}

/// The reference map's tables: (table, rule, time column, the subject of a row `t`).
const TABLES: [(&str, &str, &str, &str); 20] = [
    ("borrowers", "identity-kyc", "created_at", "t.id"),
    ("addresses", "identity-kyc", "created_at", "t.borrower_id"),
    (
        "identity_documents",
        "identity-kyc",
        "created_at",
        "t.borrower_id",
    ),
    (
        "contact_persons",
        "identity-kyc",
        "created_at",
        "t.borrower_id",
    ),
    ("employments", "identity-kyc", "created_at", "t.borrower_id"),
    ("bank_cards", "loan-records", "created_at", "t.borrower_id"),
    (
        "bank_accounts",
        "loan-records",
        "created_at",
        "t.borrower_id",
    ),
    ("loans", "loan-records", "issued_at", "t.borrower_id"),
    (
        "payments",
        "loan-records",
        "paid_at",
        "(SELECT l.borrower_id FROM loans l WHERE l.id = t.loan_id)",
    ),
    (
        "disclosures",
        "loan-records",
        "disclosed_at",
        "t.borrower_id",
    ),
    ("photos", "photos", "taken_at", "t.borrower_id"),
    ("devices", "device-and-logs", "last_seen", "t.borrower_id"),
    ("sessions", "device-and-logs", "started_at", "t.borrower_id"),
    ("server_logs", "server-logs", "logged_at", "t.borrower_id"),
    ("cookies", "cookies", "set_at", "t.borrower_id"),
    ("usage_events", "traffic", "occurred_at", "t.borrower_id"),
    ("locations", "location", "recorded_at", "t.borrower_id"),
    ("consents", "consent-ledger", "granted_at", "t.borrower_id"),
    (
        "policy_notices",
        "consent-ledger",
        "notified_at",
        "t.borrower_id",
    ),
    (
        "support_messages",
        "support",
        "received_at",
        "t.borrower_id",
    ),
];

/// The reference rules: (rule, period as an interval, aged from the last loan
/// closed, holds).
fn rule_of(rule: &str) -> (&'static str, bool, &'static [&'static str]) {
    const ALL: &[&str] = &["open-loan", "blocked", "open-request"];
    match rule {
        "loan-records" | "identity-kyc" | "consent-ledger" => ("5 years", true, ALL),
        "server-logs" => ("1 year", false, &[]),
        "cookies" => ("13 months", false, ALL),
        "photos" => ("30 days", false, &["blocked", "open-request"]),
        "device-and-logs" => ("1 year", false, ALL),
        "traffic" => ("180 days", false, ALL),
        "location" => ("90 days", false, ALL),
        "support" => ("3 years", false, ALL),
        other => panic!("no rule {other} in the reference map"),
    }
}

/// Rows of other tables that point at a row `t` of the table (the reference
/// schema's foreign keys).
fn referenced(table: &str) -> &'static str {
    match table {
        "borrowers" => {
            "EXISTS (SELECT 1 FROM addresses c WHERE c.borrower_id = t.id) \
             OR EXISTS (SELECT 1 FROM identity_documents c WHERE c.borrower_id = t.id) \
             OR EXISTS (SELECT 1 FROM contact_persons c WHERE c.borrower_id = t.id) \
             OR EXISTS (SELECT 1 FROM employments c WHERE c.borrower_id = t.id) \
             OR EXISTS (SELECT 1 FROM bank_cards c WHERE c.borrower_id = t.id) \
             OR EXISTS (SELECT 1 FROM bank_accounts c WHERE c.borrower_id = t.id) \
             OR EXISTS (SELECT 1 FROM photos c WHERE c.borrower_id = t.id) \
             OR EXISTS (SELECT 1 FROM loans c WHERE c.borrower_id = t.id) \
             OR EXISTS (SELECT 1 FROM devices c WHERE c.borrower_id = t.id) \
             OR EXISTS (SELECT 1 FROM sessions c WHERE c.borrower_id = t.id) \
             OR EXISTS (SELECT 1 FROM server_logs c WHERE c.borrower_id = t.id) \
             OR EXISTS (SELECT 1 FROM cookies c WHERE c.borrower_id = t.id) \
             OR EXISTS (SELECT 1 FROM usage_events c WHERE c.borrower_id = t.id) \
             OR EXISTS (SELECT 1 FROM locations c WHERE c.borrower_id = t.id) \
             OR EXISTS (SELECT 1 FROM consents c WHERE c.borrower_id = t.id) \
             OR EXISTS (SELECT 1 FROM policy_notices c WHERE c.borrower_id = t.id) \
             OR EXISTS (SELECT 1 FROM disclosures c WHERE c.borrower_id = t.id) \
             OR EXISTS (SELECT 1 FROM support_messages c WHERE c.borrower_id = t.id)"
        }
        "loans" => "EXISTS (SELECT 1 FROM payments c WHERE c.loan_id = t.id)",
        "devices" => "EXISTS (SELECT 1 FROM sessions c WHERE c.device_id = t.id)",
        _ => "false",
    }
}

/// One table's figures by hand: rows, within, due, held per reason, oldest due.
async fn table_oracle(
    client: &Client,
    table: &str,
    rule: &str,
    time_column: &str,
    subject: &str,
    now: DateTime<Utc>,
) -> (Value, DateTime<Utc>) {
    let (period, from_last_loan, holds) = rule_of(rule);
    let cutoff: DateTime<Utc> = client
        .query_one(
            &format!(
                "SELECT (($1::timestamptz AT TIME ZONE '{ZONE}') - interval '{period}') \
                 AT TIME ZONE '{ZONE}'"
            ),
            &[&now],
        )
        .await
        .unwrap()
        .get(0);
    let own = format!("t.{time_column} < $1");
    let past = if from_last_loan {
        format!(
            "CASE WHEN EXISTS (SELECT 1 FROM loans l WHERE l.borrower_id = {subject}) \
                  THEN COALESCE((SELECT bool_and(l.closed_at IS NOT NULL) AND max(l.closed_at) < $1 \
                                 FROM loans l WHERE l.borrower_id = {subject}), false) \
                  ELSE COALESCE({own}, false) END"
        )
    } else {
        format!("COALESCE({own}, false)")
    };
    let hold_sql = |hold: &str| -> String {
        if !holds.contains(&hold) {
            return "false".to_owned();
        }
        match hold {
            "open-loan" => format!(
                "EXISTS (SELECT 1 FROM loans l WHERE l.borrower_id = {subject} \
                 AND l.status IN ('open', 'overdue'))"
            ),
            "blocked" => format!(
                "(EXISTS (SELECT 1 FROM borrowers b WHERE b.id = {subject} AND b.status = 'blocked') \
                 OR EXISTS (SELECT 1 FROM derbes.blocks k WHERE k.subject_key = ({subject})::text \
                            AND k.unblocked_at IS NULL))"
            ),
            _ => format!(
                "EXISTS (SELECT 1 FROM derbes.requests r WHERE r.status = 'open' \
                 AND r.subject_ref = 'borrowers:' || {subject})"
            ),
        }
    };
    let sql = format!(
        "SELECT count(*), \
                count(*) FILTER (WHERE NOT past), \
                count(*) FILTER (WHERE past AND NOT (loan OR blocked OR request) AND NOT refd), \
                min(ts) FILTER (WHERE past AND NOT (loan OR blocked OR request) AND NOT refd), \
                count(*) FILTER (WHERE past AND loan), \
                count(*) FILTER (WHERE past AND blocked), \
                count(*) FILTER (WHERE past AND request), \
                count(*) FILTER (WHERE past AND NOT (loan OR blocked OR request) AND refd) \
         FROM (SELECT {past} AS past, {loan} AS loan, {blocked} AS blocked, {request} AS request, \
                      ({referenced}) AS refd, t.{time_column}::timestamptz AS ts \
               FROM {table} t) x",
        loan = hold_sql("open-loan"),
        blocked = hold_sql("blocked"),
        request = hold_sql("open-request"),
        referenced = referenced(table),
    );
    let row = client.query_one(&sql, &[&cutoff]).await.unwrap();
    let mut held = Vec::new();
    for (i, reason) in ["open-loan", "blocked", "open-request", "referenced"]
        .iter()
        .enumerate()
    {
        let rows: i64 = row.get(4 + i);
        if rows > 0 {
            held.push(serde_json::json!({"reason": reason, "rows": rows}));
        }
    }
    let oldest: Option<DateTime<Utc>> = row.get(3);
    (
        serde_json::json!({
            "rows": row.get::<_, i64>(0),
            "within": row.get::<_, i64>(1),
            "due": row.get::<_, i64>(2),
            "held": held,
            "oldest_due": oldest,
        }),
        cutoff,
    )
}

async fn check_retention(client: &Client, report: &Value, now: DateTime<Utc>) {
    let rules = report["retention"].as_array().unwrap();
    let mut seen = BTreeSet::new();
    let mut categories: BTreeMap<String, [i64; 4]> = BTreeMap::new();
    for (table, rule, time_column, subject) in TABLES {
        let figures = rules
            .iter()
            .find(|r| r["rule"] == rule)
            .unwrap_or_else(|| panic!("rule {rule} in the report"));
        let got = figures["tables"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["table"] == table)
            .unwrap_or_else(|| panic!("table {table} under rule {rule}"));
        let (expected, cutoff) = table_oracle(client, table, rule, time_column, subject, now).await;
        assert_eq!(time(&figures["cutoff"]), cutoff, "cut-off of rule {rule}");
        for field in ["rows", "within", "due", "held"] {
            assert_eq!(got[field], expected[field], "{field} of {table} ({rule})");
        }
        let oldest = got["oldest_due"]
            .as_str()
            .map(|t| t.parse::<DateTime<Utc>>().unwrap());
        let expected_oldest = expected["oldest_due"]
            .as_str()
            .map(|t| t.parse::<DateTime<Utc>>().unwrap());
        assert_eq!(oldest, expected_oldest, "oldest due row of {table}");
        seen.insert(table);
        let (rows, within, due) = (
            got["rows"].as_i64().unwrap(),
            got["within"].as_i64().unwrap(),
            got["due"].as_i64().unwrap(),
        );
        for category in got["categories"].as_array().unwrap() {
            let sums = categories
                .entry(category.as_str().unwrap().to_owned())
                .or_default();
            sums[0] += rows;
            sums[1] += within;
            sums[2] += due;
            sums[3] += rows - within - due;
        }
    }
    let reported: usize = rules
        .iter()
        .map(|r| r["tables"].as_array().unwrap().len())
        .sum();
    assert_eq!(reported, seen.len(), "every mapped table once");
    // The categories of each table are the map's, and the roll-up sums them.
    let map: toml::Value =
        toml::from_str(&std::fs::read_to_string(reference_map()).unwrap()).unwrap();
    for rule in rules {
        for table in rule["tables"].as_array().unwrap() {
            let name = table["table"].as_str().unwrap();
            let expected: BTreeSet<String> = map["tables"][name]["columns"]
                .as_table()
                .unwrap()
                .values()
                .map(|c| c["category"].as_str().unwrap().to_owned())
                .collect();
            let got: BTreeSet<String> = table["categories"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c.as_str().unwrap().to_owned())
                .collect();
            assert_eq!(got, expected, "categories of {name}");
        }
    }
    let got: BTreeMap<String, [i64; 4]> = report["categories"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["category"].as_str().unwrap().to_owned(),
                ["rows", "within", "due", "held"].map(|f| c[f].as_i64().unwrap()),
            )
        })
        .collect();
    assert_eq!(got, categories, "categories rolled up");
}

async fn check_requests(client: &Client, report: &Value, today: NaiveDate) {
    let since: NaiveDate = SINCE.parse().unwrap();
    let until: NaiveDate = UNTIL.parse().unwrap();
    let rows = client
        .query(
            &format!(
                "SELECT kind, \
                    count(*) FILTER (WHERE received_on BETWEEN $1 AND $2), \
                    count(*) FILTER (WHERE received_on BETWEEN $1 AND $2 AND status = 'closed' \
                        AND (closed_at AT TIME ZONE '{ZONE}')::date <= due_on), \
                    count(*) FILTER (WHERE received_on BETWEEN $1 AND $2 AND status = 'closed' \
                        AND (closed_at AT TIME ZONE '{ZONE}')::date > due_on), \
                    count(*) FILTER (WHERE status = 'open' AND due_on >= $3), \
                    count(*) FILTER (WHERE status = 'open' AND due_on < $3) \
                 FROM derbes.requests GROUP BY kind"
            ),
            &[&since, &until, &today],
        )
        .await
        .unwrap();
    let expected: BTreeMap<String, [i64; 5]> = rows
        .iter()
        .map(|r| (r.get(0), [1, 2, 3, 4, 5].map(|i| r.get::<_, i64>(i))))
        .collect();
    assert!(expected.len() >= 3, "requests of several kinds to count");
    for kind in report["requests"]["by_kind"].as_array().unwrap() {
        let name = kind["kind"].as_str().unwrap();
        let got = [
            "received",
            "closed_on_time",
            "closed_late",
            "open_within",
            "open_overdue",
        ]
        .map(|f| kind[f].as_i64().unwrap());
        assert_eq!(
            got,
            expected.get(name).copied().unwrap_or_default(),
            "requests of kind {name}"
        );
    }
    let overdue: Vec<(i64, i64)> = client
        .query(
            "SELECT id, $1::date - due_on FROM derbes.requests \
             WHERE status = 'open' AND due_on < $1 ORDER BY due_on, id",
            &[&today],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), i64::from(r.get::<_, i32>(1))))
        .collect();
    assert!(!overdue.is_empty(), "an overdue request to list");
    let got: Vec<(i64, i64)> = report["requests"]["overdue"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["id"].as_i64().unwrap(), r["days_late"].as_i64().unwrap()))
        .collect();
    assert_eq!(got, overdue, "overdue requests");
}

async fn check_breaches(client: &Client, report: &Value, today: NaiveDate) {
    let since: NaiveDate = SINCE.parse().unwrap();
    let until: NaiveDate = UNTIL.parse().unwrap();
    let row = client
        .query_one(
            &format!(
                "SELECT \
                    count(*) FILTER (WHERE d BETWEEN $1 AND $2), \
                    count(*) FILTER (WHERE d BETWEEN $1 AND $2 AND n <= notify_by), \
                    count(*) FILTER (WHERE d BETWEEN $1 AND $2 AND n > notify_by), \
                    count(*) FILTER (WHERE n IS NULL AND notify_by >= $3), \
                    count(*) FILTER (WHERE n IS NULL AND notify_by < $3) \
                 FROM (SELECT (discovered_at AT TIME ZONE '{ZONE}')::date AS d, \
                              (notified_at AT TIME ZONE '{ZONE}')::date AS n, notify_by \
                       FROM derbes.breaches) b"
            ),
            &[&since, &until, &today],
        )
        .await
        .unwrap();
    let expected = [0, 1, 2, 3, 4].map(|i| row.get::<_, i64>(i));
    let breaches = &report["breaches"];
    let got = [
        "discovered",
        "notified_on_time",
        "notified_late",
        "open_within",
        "open_overdue",
    ]
    .map(|f| breaches[f].as_i64().unwrap());
    assert_eq!(got, expected, "breaches");
    assert!(
        expected[2] > 0 && expected[4] > 0,
        "late and overdue breaches to count"
    );
    let late: Vec<i64> = client
        .query(
            &format!(
                "SELECT id FROM derbes.breaches \
                 WHERE (notified_at IS NULL AND notify_by < $3) \
                    OR ((notified_at AT TIME ZONE '{ZONE}')::date > notify_by \
                        AND (discovered_at AT TIME ZONE '{ZONE}')::date BETWEEN $1 AND $2) \
                 ORDER BY notify_by, id"
            ),
            &[&since, &until, &today],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    let got: Vec<i64> = breaches["late"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["id"].as_i64().unwrap())
        .collect();
    assert_eq!(got, late, "late breaches");
}

async fn check_jobs(client: &Client, report: &Value, purges: &[Value], cohort: &Value) {
    let nights = report["jobs"]["nights"].as_array().unwrap();
    // Each purge's own report says what it deleted; the cohort's, what it masked.
    for purge in purges {
        for rule in purge["rules"].as_array().unwrap() {
            let name = rule["rule"].as_str().unwrap();
            let night = nights
                .iter()
                .find(|n| n["operation"] == "purge" && n["rule"] == name)
                .unwrap_or_else(|| panic!("a purge night of {name}"));
            assert_eq!(night["runs"], 1, "runs of {name}");
            assert_eq!(night["rows"], rule["deleted"], "rows purged under {name}");
            assert_eq!(night["failures"], 0);
            assert!(night["seconds"].as_f64().is_some());
        }
    }
    let masked: i64 = cohort["tables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["masked"].as_i64().unwrap_or(0) + t["deleted"].as_i64().unwrap_or(0))
        .sum();
    assert!(masked > 0, "the cohort masked rows");
    let night = nights
        .iter()
        .find(|n| n["operation"] == "anonymise" && n["rule"] == "traffic")
        .expect("the cohort's night");
    assert_eq!(night["rows"], masked);
    assert_eq!(night["runs"], 1);
    // Every night from the audit log by hand, and nothing else.
    let expected: i64 = client
        .query_one(
            &format!(
                "SELECT count(DISTINCT (action, (at AT TIME ZONE '{ZONE}')::date, detail->>'rule')) \
                 FROM derbes.audit_log \
                 WHERE (action = 'purge' AND detail ? 'status') \
                    OR (action = 'anonymise' AND subject_ref IS NULL AND detail ? 'rule')"
            ),
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        nights.len() as i64,
        expected,
        "one night per day, operation and rule"
    );
    let unfinished: i64 = client
        .query_one(
            "SELECT count(*) FROM derbes.jobs WHERE finished_at IS NULL",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        report["jobs"]["unfinished"].as_array().unwrap().len() as i64,
        unfinished
    );
}

async fn check_blocks(client: &Client, report: &Value) {
    let rows = client
        .query(
            &format!(
                "SELECT m, reason, sum(b)::bigint, sum(u)::bigint FROM ( \
                   SELECT date_trunc('month', blocked_at AT TIME ZONE '{ZONE}')::date AS m, reason, 1 AS b, 0 AS u \
                   FROM derbes.blocks \
                   UNION ALL \
                   SELECT date_trunc('month', unblocked_at AT TIME ZONE '{ZONE}')::date, reason, 0, 1 \
                   FROM derbes.blocks WHERE unblocked_at IS NOT NULL) x \
                 GROUP BY 1, 2 ORDER BY 1, 2"
            ),
            &[],
        )
        .await
        .unwrap();
    let expected: Vec<Value> = rows
        .iter()
        .map(|r| {
            serde_json::json!({
                "month": r.get::<_, NaiveDate>(0).to_string(),
                "reason": r.get::<_, String>(1),
                "blocked": r.get::<_, i64>(2),
                "unblocked": r.get::<_, i64>(3),
            })
        })
        .collect();
    assert!(!expected.is_empty());
    assert_eq!(
        report["blocks"]["months"],
        Value::Array(expected),
        "blocks per month"
    );
    let active: Vec<Value> = client
        .query(
            "SELECT reason, count(*) FROM derbes.blocks WHERE unblocked_at IS NULL \
             GROUP BY 1 ORDER BY 1",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| serde_json::json!({"reason": r.get::<_, String>(0), "count": r.get::<_, i64>(1)}))
        .collect();
    assert_eq!(
        report["blocks"]["active"],
        Value::Array(active),
        "blocks in force"
    );
}

async fn check_archives(client: &Client, report: &Value, now: DateTime<Utc>) {
    let row = client
        .query_one(
            "SELECT count(*), coalesce(sum(bytes), 0)::bigint, \
                    count(*) FILTER (WHERE keep_until <= $1::timestamptz + interval '90 days') \
             FROM derbes.archives WHERE keep_until > $1",
            &[&now],
        )
        .await
        .unwrap();
    let archives = &report["archives"];
    assert_eq!(archives["held"], row.get::<_, i64>(0));
    assert_eq!(archives["bytes"], row.get::<_, i64>(1));
    let expiring = archives["expiring"].as_array().unwrap();
    assert_eq!(expiring.len() as i64, row.get::<_, i64>(2));
    assert_eq!(expiring.len(), 1, "the archive kept 30 days expires soon");
    assert_eq!(expiring[0]["selection"], "table public.loans");
    let verified: DateTime<Utc> = client
        .query_one(
            "SELECT at FROM derbes.audit_log a JOIN derbes.archives r \
               ON r.archive_id = a.detail->>'archive_id' \
             WHERE a.action = 'archive.verify' AND r.selection->>'table' = 'public.loans'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    let reported: DateTime<Utc> =
        serde_json::from_value(expiring[0]["verified_at"].clone()).unwrap();
    assert_eq!(reported, verified, "when archive verify found it intact");
    let months: Vec<Value> = client
        .query(
            &format!(
                "SELECT date_trunc('month', keep_until AT TIME ZONE '{ZONE}')::date, count(*), \
                        sum(bytes)::bigint \
                 FROM derbes.archives WHERE keep_until > $1 GROUP BY 1 ORDER BY 1"
            ),
            &[&now],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| {
            serde_json::json!({
                "month": r.get::<_, NaiveDate>(0).to_string(),
                "archives": r.get::<_, i64>(1),
                "bytes": r.get::<_, i64>(2),
            })
        })
        .collect();
    assert_eq!(archives["by_keep_until"], Value::Array(months));
}

async fn check_consents(client: &Client, report: &Value, now: DateTime<Utc>) {
    let start: DateTime<Utc> = client
        .query_one(
            &format!("SELECT ($1::date::timestamp AT TIME ZONE '{ZONE}')"),
            &[&SINCE.parse::<NaiveDate>().unwrap()],
        )
        .await
        .unwrap()
        .get(0);
    let end: DateTime<Utc> = client
        .query_one(
            &format!("SELECT (($1::date + 1)::timestamp AT TIME ZONE '{ZONE}')"),
            &[&UNTIL.parse::<NaiveDate>().unwrap()],
        )
        .await
        .unwrap()
        .get(0);
    let purposes: Vec<Value> = client
        .query(
            "SELECT purpose, \
                count(*) FILTER (WHERE granted_at <= $3 AND (withdrawn_at IS NULL OR withdrawn_at > $3)), \
                count(*) FILTER (WHERE granted_at >= $1 AND granted_at < $2), \
                count(*) FILTER (WHERE withdrawn_at >= $1 AND withdrawn_at < $2) \
             FROM consents GROUP BY 1 ORDER BY 1",
            &[&start, &end, &now],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| {
            serde_json::json!({
                "purpose": r.get::<_, String>(0),
                "in_force": r.get::<_, i64>(1),
                "granted": r.get::<_, i64>(2),
                "withdrawn": r.get::<_, i64>(3),
            })
        })
        .collect();
    assert!(!purposes.is_empty());
    assert_eq!(report["consents"]["purposes"], Value::Array(purposes));
    let versions: Vec<Value> = client
        .query(
            "SELECT v.version, \
                (SELECT count(*) FROM policy_notices n WHERE n.policy_version_id = v.id), \
                (SELECT count(*) FROM policy_notices n WHERE n.policy_version_id = v.id \
                   AND n.objected_at IS NOT NULL) \
             FROM policy_versions v ORDER BY 1",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| {
            serde_json::json!({
                "version": r.get::<_, String>(0),
                "notified": r.get::<_, i64>(1),
                "objected": r.get::<_, i64>(2),
            })
        })
        .collect();
    assert!(!versions.is_empty());
    assert_eq!(
        report["consents"]["policy_versions"],
        Value::Array(versions)
    );
}

async fn check_cohorts(client: &Client, report: &Value) {
    let cohorts = report["cohorts"].as_array().unwrap();
    assert_eq!(cohorts.len(), 1, "the traffic cohort: {cohorts:?}");
    let cohort = &cohorts[0];
    assert_eq!(cohort["rule"], "traffic");
    let at: DateTime<Utc> = client
        .query_one(
            "SELECT max(at) FROM derbes.audit_log WHERE action = 'anonymise' \
             AND detail->>'rule' = 'traffic'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(time(&cohort["at"]), at);
    // k over the map's quasi-identifiers: birth date and sex of the borrower, and
    // the region of their (first) address.
    let row = client
        .query_one(
            "SELECT min(n), count(*), sum(n)::bigint FROM ( \
               SELECT count(*) AS n FROM ( \
                 SELECT b.birth_date::text AS q1, b.sex::text AS q2, \
                        (SELECT min(a.region::text) FROM addresses a WHERE a.borrower_id = b.id) AS q3 \
                 FROM borrowers b) q \
               GROUP BY q1, q2, q3) g",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(cohort["k"], row.get::<_, i64>(0));
    assert_eq!(cohort["groups"], row.get::<_, i64>(1));
    assert_eq!(cohort["subjects"], row.get::<_, i64>(2));
}

fn check_coverage(report: &Value) {
    let map: toml::Value =
        toml::from_str(&std::fs::read_to_string(reference_map()).unwrap()).unwrap();
    let tables = map["tables"].as_table().unwrap();
    let columns: usize = tables
        .values()
        .map(|t| {
            t.get("columns")
                .and_then(|c| c.as_table())
                .map_or(0, |c| c.len())
        })
        .sum();
    let coverage = &report["coverage"];
    assert_eq!(coverage["mapped_tables"], tables.len() as i64);
    assert_eq!(coverage["mapped_columns"], columns as i64);
    let unmapped: BTreeSet<(String, String, Option<String>)> = coverage["unmapped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            (
                u["table"].as_str().unwrap().to_owned(),
                u["column"].as_str().unwrap().to_owned(),
                u["looks_like"].as_str().map(str::to_owned),
            )
        })
        .collect();
    let expected = BTreeSet::from([
        (
            "public.loans".to_owned(),
            "guarantor_phone".to_owned(),
            Some("phone".to_owned()),
        ),
        (
            "public.marketing_leads".to_owned(),
            "email".to_owned(),
            Some("email".to_owned()),
        ),
    ]);
    assert_eq!(
        unmapped, expected,
        "columns that look personal but are not mapped"
    );
}

#[tokio::test]
async fn report_every_figure_equals_a_count_written_by_hand() {
    let db = TestDb::migrated().await;
    let client = db.client().await;
    let (purges, cohort) = populate(&db, &client).await;
    let report = report(&db);
    assert_eq!(report["since"], SINCE);
    assert_eq!(report["until"], UNTIL);
    assert_eq!(report["lang"], "en");
    let now = time(&report["generated_at"]);
    let today: NaiveDate = client
        .query_one(
            &format!("SELECT ($1::timestamptz AT TIME ZONE '{ZONE}')::date"),
            &[&now],
        )
        .await
        .unwrap()
        .get(0);
    check_retention(&client, &report, now).await;
    check_requests(&client, &report, today).await;
    check_breaches(&client, &report, today).await;
    check_jobs(&client, &report, &purges, &cohort).await;
    check_blocks(&client, &report).await;
    check_archives(&client, &report, now).await;
    check_consents(&client, &report, now).await;
    check_cohorts(&client, &report).await;
    check_coverage(&report);
}

#[tokio::test]
async fn report_json_and_page_hold_no_subjects_identity_or_name() {
    let db = TestDb::migrated().await;
    let client = db.client().await;
    populate(&db, &client).await;
    let out = tempfile::tempdir().unwrap();
    let page = out.path().join("report.html");
    db.cmd()
        .args([
            "report", "--since", SINCE, "--until", UNTIL, "--lang", "ru", "--out",
        ])
        .arg(&page)
        .assert()
        .success();
    let json = db
        .cmd()
        .args([
            "--format", "json", "report", "--since", SINCE, "--until", UNTIL,
        ])
        .output()
        .unwrap();
    assert!(json.status.success());
    let texts = [
        (
            "the page",
            std::fs::read_to_string(&page).unwrap().to_lowercase(),
        ),
        (
            "the JSON",
            String::from_utf8(json.stdout).unwrap().to_lowercase(),
        ),
    ];
    let rows = client
        .query(
            "SELECT iin, phone, email, first_name, last_name, patronymic FROM borrowers",
            &[],
        )
        .await
        .unwrap();
    assert!(rows.len() >= 100);
    let mut hits = Vec::new();
    for row in &rows {
        for (i, kind) in [
            "IIN",
            "phone",
            "email",
            "first name",
            "last name",
            "patronymic",
        ]
        .iter()
        .enumerate()
        {
            let Some(value) = row.get::<_, Option<String>>(i) else {
                continue;
            };
            let mut needles = vec![value.to_lowercase()];
            if *kind == "phone" {
                let digits: String = value.chars().filter(char::is_ascii_digit).collect();
                if digits.len() >= 10 {
                    needles.push(digits[digits.len() - 10..].to_owned());
                }
            }
            // A name is a word of its own: "Ержан" inside the page's word
            // "Содержание" is not the subject's name.
            let names = kind.contains("name") || *kind == "patronymic";
            for needle in needles.into_iter().filter(|n| n.len() >= 3) {
                for (place, text) in &texts {
                    let found = if names {
                        contains_word(text, &needle)
                    } else {
                        text.contains(&needle)
                    };
                    if found {
                        hits.push(format!("{kind} {needle:?} in {place}"));
                    }
                }
            }
        }
    }
    assert!(hits.is_empty(), "personal data in the report: {hits:?}");
}

/// `needle` in `text` with no letter or digit right before or after it.
fn contains_word(text: &str, needle: &str) -> bool {
    text.match_indices(needle).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + needle.len()..].chars().next();
        !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
    })
}

#[tokio::test]
async fn report_refuses_a_period_ending_before_it_starts_and_an_unknown_language() {
    let db = TestDb::migrated().await;
    let out = tempfile::tempdir().unwrap();
    let page = out.path().join("report.html");
    db.cmd()
        .args([
            "report",
            "--since",
            "2026-03-01",
            "--until",
            "2026-02-01",
            "--out",
        ])
        .arg(&page)
        .assert()
        .code(2)
        .stderr(predicates::str::contains(
            "--until 2026-02-01 is before --since 2026-03-01",
        ));
    db.cmd()
        .args(["report", "--lang", "de", "--out"])
        .arg(&page)
        .assert()
        .code(2)
        .stderr(predicates::str::contains("kk"));
    db.cmd()
        .args(["report", "--since", "2026-02-30", "--out"])
        .arg(&page)
        .assert()
        .code(2)
        .stderr(predicates::str::contains("no such day"));
    // The page needs a file to go to.
    db.cmd()
        .args(["report"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("--out FILE"));
    assert!(!page.exists(), "nothing was written");
}
