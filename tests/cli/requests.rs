//! `derbes request` and `derbes breach` (issue 12, items 5 and 6): due dates in
//! Kazakh working days end to end, the overdue exit code for cron, `--request` and
//! `--breach` linking the audit rows of changes, `subject show` listing requests,
//! and bad input refused with nothing changed.

use predicates::prelude::*;
use serde_json::Value;
use tokio_postgres::Client;

use crate::support::{database_checksums, temp_file, TestDb};

/// A subject the tests reason about (a valid IIN); key 900001 stays clear of the
/// generated population.
const SUBJECT: &str = "
INSERT INTO borrowers (id, iin, last_name, first_name, birth_date, sex, email, phone) VALUES
    (900001, '061211600012', 'A', 'A', '2006-12-11', 'F', 'aigerim@example.kz', '+77010000001'),
    (900002, '880330300016', 'B', 'B', '1988-03-30', 'M', 'b@example.kz', '+77010000002');
";

/// A calendar with weekends only, covering the years around today, so tests that
/// need a deadline still ahead do not depend on the year they run in.
const WIDE_CALENDAR: &str = "name = \"weekends only\"\nfirst_year = 2020\nlast_year = 2099\n";

async fn db_with_subject() -> (TestDb, Client) {
    let db = TestDb::migrated().await;
    let client = db.client().await;
    client.batch_execute(SUBJECT).await.expect("subject loads");
    (db, client)
}

fn json(output: &std::process::Output) -> Value {
    assert!(
        output.status.success(),
        "derbes failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("JSON on stdout")
}

/// `request open` as JSON; returns the request.
fn open(db: &TestDb, kind: &str, subject: &str, received: &str, extra: &[&str]) -> Value {
    let output = db
        .cmd()
        .args(["--format", "json", "request", "open", "--kind", kind])
        .args(["--subject", subject, "--received", received])
        .args(["--ticket", "REQ-1", "--yes"])
        .args(extra)
        .output()
        .unwrap();
    json(&output)["request"].clone()
}

#[tokio::test]
async fn due_dates_count_working_days_across_weekends_holidays_and_transfers() {
    let (db, client) = db_with_subject().await;
    // Friday 20 March 2026, block (1 working day): Nauryz Sat 21 - Mon 23 and the
    // days off moved to Tue 24 and Wed 25, so Thursday 26.
    let block = open(
        &db,
        "block",
        "061211600012",
        "2026-03-20",
        &["--channel", "email"],
    );
    assert_eq!(block["due_on"], "2026-03-26");
    assert_eq!(block["days"], 1);
    assert_eq!(block["subject_ref"], "borrowers:900001");
    assert_eq!(block["channel"], "email");
    // Consent withdrawal, 15 working days from Fri 13 March 2026, across Nauryz.
    let withdraw = open(&db, "withdraw-consent", "id:900001", "2026-03-13", &[]);
    assert_eq!(withdraw["due_on"], "2026-04-08");
    // Access, 3 working days from Thu 2 January 2025: Fri 3 off by the transfer
    // order, Sun 5 worked instead, Tue 7 Christmas: Sun 5, Mon 6, Wed 8.
    let access = open(&db, "access", "aigerim@example.kz", "2025-01-02", &[]);
    assert_eq!(access["due_on"], "2025-01-08");
    // The access deadline is the controller's setting.
    let access5 = open(
        &db,
        "access",
        "id:900001",
        "2026-11-02",
        &["--access-days", "5"],
    );
    assert_eq!(access5["due_on"], "2026-11-09");
    // Transfer notice 10, objection to an automated decision 3.
    assert_eq!(
        open(&db, "transfer-notice", "id:900001", "2026-11-02", &[])["due_on"],
        "2026-11-16"
    );
    assert_eq!(
        open(&db, "object-automated", "id:900001", "2026-11-13", &[])["due_on"],
        "2026-11-18"
    );
    // GDPR: one calendar month, moved past a weekend; extended once by two.
    let gdpr = open(
        &db,
        "access",
        "id:900001",
        "2026-01-31",
        &["--jurisdiction", "gdpr"],
    );
    assert_eq!(gdpr["due_on"], "2026-03-02");
    let id = gdpr["id"].as_i64().unwrap().to_string();
    let extended = json(
        &db.cmd()
            .args(["--format", "json", "request", "extend", &id])
            .args(["--ticket", "REQ-1", "--yes"])
            .output()
            .unwrap(),
    );
    assert_eq!(extended["request"]["due_on"], "2026-04-30");
    db.cmd()
        .args(["request", "extend", &id, "--ticket", "REQ-1", "--yes"])
        .assert()
        .code(5)
        .stderr(predicate::str::contains("one extension"));
    // A Law 94-V deadline cannot be extended.
    let block_id = block["id"].as_i64().unwrap().to_string();
    db.cmd()
        .args(["request", "extend", &block_id, "--ticket", "REQ-1", "--yes"])
        .assert()
        .code(5);
    // Each open wrote its audit row, linked to its request; the chain verifies.
    let linked: i64 = client
        .query_one(
            "SELECT count(*) FROM derbes.audit_log a JOIN derbes.requests r ON r.id = a.request_id \
             WHERE a.action = 'request.open'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(linked, 7);
    db.cmd().args(["audit", "verify"]).assert().success();
}

#[tokio::test]
async fn a_replaced_calendar_is_used_and_other_years_are_counted_by_the_law() {
    let (db, _client) = db_with_subject().await;
    let (_dir, path) = temp_file(
        "cal.toml",
        "name = \"test\"\nfirst_year = 2026\nlast_year = 2026\n\
         [[holiday]]\ndate = \"2026-11-03\"\nname = \"test holiday\"\n",
    );
    let path = path.to_str().unwrap();
    let request = open(
        &db,
        "block",
        "id:900001",
        "2026-11-02",
        &["--calendar", path],
    );
    assert_eq!(request["due_on"], "2026-11-04");
    assert_eq!(request["calendar"], "test");
    // 2025 is not in that file: counted by the built-in rules (Monday 2 June 2025
    // + 1 working day), not refused.
    let request = open(
        &db,
        "block",
        "id:900001",
        "2025-06-02",
        &["--calendar", path],
    );
    assert_eq!(request["due_on"], "2025-06-03");
}

/// Issue 23, defect 1: the calendar no longer ends on 2027-12-31. Past the years
/// whose transfer orders and Kurban Ait date are known, a due date is counted by
/// the law's rules, recorded, and marked provisional (a warning, a JSON field).
#[tokio::test]
async fn a_due_date_past_the_known_years_is_provisional_and_never_refused() {
    let (db, client) = db_with_subject().await;
    // The built-in rules with their facts known through 2025 only, so the test
    // does not depend on the year it runs in.
    let rules = std::fs::read_to_string(
        crate::support::repo_root().join("examples/kz-calendar-rules.toml"),
    )
    .unwrap()
    .replace("confirmed_through = 2026", "confirmed_through = 2025");
    let (_dir, path) = temp_file("rules.toml", &rules);
    let path = path.to_str().unwrap();
    let output = db
        .cmd()
        .args(["--format", "json", "request", "open", "--kind", "block"])
        .args(["--subject", "id:900001", "--received", "2025-12-31"])
        .args(["--ticket", "REQ-23", "--dry-run", "--calendar", path])
        .output()
        .unwrap();
    let report = json(&output);
    // Wednesday 31 December 2025 + 1 working day: 1 and 2 January are New Year, so
    // Monday 5 January 2026, counted by the rules and provisional.
    assert_eq!(report["request"]["due_on"], "2026-01-05");
    assert_eq!(report["due_provisional"], true);
    let output = db
        .cmd()
        .args([
            "request",
            "open",
            "--kind",
            "block",
            "--subject",
            "id:900001",
        ])
        .args([
            "--received",
            "2025-12-31",
            "--ticket",
            "REQ-23",
            "--dry-run",
        ])
        .args(["--calendar", path])
        .output()
        .unwrap();
    assert!(output.status.success());
    assert!(String::from_utf8_lossy(&output.stdout).contains("is provisional"));
    // Within the known years: not provisional.
    let output = db
        .cmd()
        .args(["--format", "json", "request", "open", "--kind", "block"])
        .args(["--subject", "id:900001", "--received", "2025-11-03"])
        .args(["--ticket", "REQ-23", "--dry-run", "--calendar", path])
        .output()
        .unwrap();
    assert_eq!(json(&output)["due_provisional"], false);
    // A breach whose deadline falls in the unknown year gets it too, provisionally.
    let before = database_checksums(&client).await;
    let output = db
        .cmd()
        .args(["--format", "json", "breach", "open"])
        .args([
            "--discovered",
            "2025-12-31T10:00",
            "--summary",
            "INC-23 test",
        ])
        .args(["--ticket", "INC-23", "--dry-run", "--calendar", path])
        .output()
        .unwrap();
    let report = json(&output);
    assert_eq!(report["breach"]["notify_by"], "2026-01-05");
    assert_eq!(report["due_provisional"], true);
    assert_eq!(database_checksums(&client).await, before);
}

/// Issue 23, defect 1: `derbes calendar show YEAR` lists the days off with their
/// source; the amended law has no Constitution Day in 2026 and 15 March from 2027.
#[test]
fn calendar_show_lists_the_days_off_with_their_sources() {
    let output = crate::support::derbes_cmd()
        .args(["--format", "json", "calendar", "show", "2026"])
        .output()
        .unwrap();
    let report = json(&output);
    assert_eq!(report["provisional"], false);
    let days = report["days"].as_array().unwrap();
    assert!(!days
        .iter()
        .any(|d| d["date"] == "2026-08-31" || d["date"] == "2026-08-30"));
    let nauryz = days.iter().find(|d| d["date"] == "2026-03-24").unwrap();
    assert_eq!(nauryz["source"], "Labour Code Art. 84");
    let output = crate::support::derbes_cmd()
        .args(["calendar", "show", "2027"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        text.contains("2027-03-15\tMon\tholiday\tConstitution Day"),
        "{text}"
    );
    assert!(text.contains("2027 is provisional"), "{text}");
}

#[tokio::test]
async fn overdue_requests_and_breaches_exit_6_for_cron() {
    let (db, _client) = db_with_subject().await;
    let (_dir, calendar) = temp_file("wide.toml", WIDE_CALENDAR);
    let calendar = calendar.to_str().unwrap();
    let today = chrono::Utc::now()
        .with_timezone(&chrono_tz::Asia::Almaty)
        .date_naive()
        .to_string();
    // Received today: due in the future, nothing overdue, exit 0.
    open(
        &db,
        "transfer-notice",
        "id:900001",
        &today,
        &["--calendar", calendar],
    );
    db.cmd()
        .args(["request", "list", "--overdue"])
        .assert()
        .success();
    let listed = json(
        &db.cmd()
            .args(["--format", "json", "request", "list", "--due-within", "30"])
            .output()
            .unwrap(),
    );
    assert_eq!(listed["requests"].as_array().unwrap().len(), 1);
    // A block request received in March 2026 is long overdue: listed, exit 6.
    let late = open(&db, "block", "id:900002", "2026-03-20", &[]);
    let output = db
        .cmd()
        .args(["--format", "json", "request", "list", "--overdue"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(6));
    let listed: Value = serde_json::from_slice(&output.stdout).unwrap();
    let requests = listed["requests"].as_array().unwrap();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0]["id"], late["id"]);
    assert_eq!(requests[0]["overdue"], true);
    assert!(String::from_utf8_lossy(&output.stderr).contains("past their deadline"));
    // Without --overdue the list is a report: exit 0.
    db.cmd().args(["request", "list"]).assert().success();
    // Closing it clears the alarm.
    let id = late["id"].as_i64().unwrap().to_string();
    db.cmd()
        .args([
            "request",
            "close",
            &id,
            "--outcome",
            "done",
            "--reply",
            "OUT-1",
        ])
        .args(["--ticket", "REQ-1", "--yes"])
        .assert()
        .success();
    db.cmd()
        .args(["request", "list", "--overdue"])
        .assert()
        .success();
    // A breach whose notification deadline passed is overdue too.
    let breach = json(
        &db.cmd()
            .args(["--format", "json", "breach", "open"])
            .args([
                "--discovered",
                "2026-03-20T10:00",
                "--summary",
                "INC-9 lost laptop",
            ])
            .args(["--ticket", "INC-9", "--yes"])
            .output()
            .unwrap(),
    );
    assert_eq!(breach["breach"]["notify_by"], "2026-03-26");
    let output = db
        .cmd()
        .args(["--format", "json", "request", "list", "--overdue"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(6));
    let listed: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(listed["breaches"][0]["id"], breach["breach"]["id"]);
    db.cmd()
        .args(["breach", "list", "--overdue"])
        .assert()
        .code(6);
    let id = breach["breach"]["id"].as_i64().unwrap().to_string();
    db.cmd()
        .args(["breach", "close", &id, "--notified-at", "2026-03-27T09:00"])
        .args(["--reference", "AUTH-1", "--ticket", "INC-9", "--yes"])
        .assert()
        .success();
    db.cmd()
        .args(["request", "list", "--overdue"])
        .assert()
        .success();
}

#[tokio::test]
async fn changes_made_with_request_are_linked_and_listed_when_it_closes() {
    let (db, client) = db_with_subject().await;
    let request = open(&db, "block", "061211600012", "2026-11-02", &[]);
    let id = request["id"].as_i64().unwrap();
    let id_text = id.to_string();
    db.cmd()
        .args(["block", "061211600012", "--reason", "other"])
        .args(["--ticket", "REQ-1", "--request", &id_text, "--yes"])
        .assert()
        .success();
    let (request_id, subject_ref): (Option<i64>, Option<String>) = {
        let row = client
            .query_one(
                "SELECT request_id, subject_ref FROM derbes.audit_log WHERE action = 'block'",
                &[],
            )
            .await
            .unwrap();
        (row.get(0), row.get(1))
    };
    assert_eq!(request_id, Some(id));
    assert_eq!(subject_ref.as_deref(), Some("borrowers:900001"));
    // `request show` and `subject show` see it.
    let shown = json(
        &db.cmd()
            .args(["--format", "json", "request", "show", &id_text])
            .output()
            .unwrap(),
    );
    let actions: Vec<&str> = shown["audit"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["request.open", "block"]);
    db.cmd()
        .args(["subject", "show", "id:900001"])
        .assert()
        .success()
        .stdout(predicate::str::contains(format!(
            "#{id} block received 2026-11-02"
        )));
    let subject = json(
        &db.cmd()
            .args(["--format", "json", "subject", "show", "id:900002"])
            .output()
            .unwrap(),
    );
    assert_eq!(subject["requests"], serde_json::json!([]));
    // Closing lists everything done for it, the closing row last.
    let closed = json(
        &db.cmd()
            .args(["--format", "json", "request", "close", &id_text])
            .args([
                "--outcome",
                "done",
                "--reply",
                "OUT-7",
                "--ticket",
                "REQ-1",
                "--yes",
            ])
            .output()
            .unwrap(),
    );
    assert_eq!(closed["request"]["status"], "closed");
    assert_eq!(closed["request"]["outcome"], "done");
    let actions: Vec<&str> = closed["audit"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["request.open", "block", "request.close"]);
    // A closed request takes no more changes (exit 5), nothing changed.
    let before = database_checksums(&client).await;
    db.cmd()
        .args(["unblock", "061211600012", "--application", "MAIL-1"])
        .args(["--ticket", "REQ-2", "--request", &id_text, "--yes"])
        .assert()
        .code(5)
        .stderr(predicate::str::contains("closed"));
    assert_eq!(database_checksums(&client).await, before);
    // The chain, now with linked rows, verifies.
    db.cmd().args(["audit", "verify"]).assert().success();
    // A linked row edited to another request breaks the chain.
    let other = open(&db, "access", "id:900002", "2026-11-02", &[]);
    client
        .batch_execute(&format!(
            "ALTER TABLE derbes.audit_log DISABLE TRIGGER audit_log_append_only;
             UPDATE derbes.audit_log SET request_id = {} WHERE action = 'block';
             ALTER TABLE derbes.audit_log ENABLE TRIGGER audit_log_append_only;",
            other["id"]
        ))
        .await
        .unwrap();
    db.cmd()
        .args(["audit", "verify"])
        .assert()
        .code(6)
        .stderr(predicate::str::contains("edited"));
}

#[tokio::test]
async fn blocks_made_for_a_breach_are_linked_to_it() {
    let (db, client) = db_with_subject().await;
    let (_dir, subjects) = temp_file("leaked.txt", "061211600012\n# a comment\nb@example.kz\n");
    let subjects = subjects.to_str().unwrap();
    let opened = json(
        &db.cmd()
            .args(["--format", "json", "breach", "open"])
            .args([
                "--discovered",
                "2026-11-27T09:30",
                "--summary",
                "INC-4711 session leak",
            ])
            .args(["--subjects", subjects, "--ticket", "INC-4711", "--yes"])
            .output()
            .unwrap(),
    );
    let breach = &opened["breach"];
    // Discovered Friday 27 Nov 2026: the authorised body is told by Monday.
    assert_eq!(breach["notify_by"], "2026-11-30");
    assert_eq!(
        breach["subjects"],
        serde_json::json!(["borrowers:900001", "borrowers:900002"])
    );
    let id = breach["id"].as_i64().unwrap().to_string();
    db.cmd()
        .args(["block", "--from-file", subjects, "--reason", "compromised"])
        .args(["--breach", &id, "--ticket", "INC-4711", "--yes"])
        .assert()
        .success();
    let shown = json(
        &db.cmd()
            .args(["--format", "json", "breach", "show", &id])
            .output()
            .unwrap(),
    );
    assert_eq!(shown["breach"]["blocks"], 1);
    assert_eq!(shown["breach"]["subjects_blocked"], 2);
    let linked: i64 = client
        .query_one(
            "SELECT count(*) FROM derbes.audit_log WHERE breach_id = $1::text::bigint",
            &[&id],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(linked, 2);
    // Told before it was discovered: refused, nothing changed.
    let before = database_checksums(&client).await;
    db.cmd()
        .args(["breach", "close", &id, "--notified-at", "2026-11-26T09:00"])
        .args(["--reference", "AUTH-1", "--ticket", "INC-4711", "--yes"])
        .assert()
        .code(2);
    assert_eq!(database_checksums(&client).await, before);
    db.cmd()
        .args(["breach", "close", &id, "--notified-at", "2026-11-27T15:00"])
        .args(["--reference", "AUTH-1", "--ticket", "INC-4711", "--yes"])
        .assert()
        .success();
    db.cmd().args(["audit", "verify"]).assert().success();
}

#[tokio::test]
async fn bad_input_is_refused_and_changes_nothing() {
    let (db, client) = db_with_subject().await;
    let request = open(&db, "rectify", "id:900001", "2026-11-02", &[]);
    let before = database_checksums(&client).await;
    let refused = |args: &[&str], code: i32, says: &str| {
        db.cmd()
            .args(args)
            .assert()
            .code(code)
            .stderr(predicate::str::contains(says));
    };
    for (kind, received, says) in [
        ("erase", "2026-11-02", "invalid value 'erase'"),
        ("block", "2026-13-02", "YYYY-MM-DD"),
        ("block", "yesterday", "YYYY-MM-DD"),
        ("block", "2099-01-05", "after today"),
    ] {
        refused(
            &[
                "request",
                "open",
                "--kind",
                kind,
                "--subject",
                "id:900001",
                "--received",
                received,
                "--ticket",
                "REQ-1",
                "--yes",
            ],
            2,
            says,
        );
    }
    // An unknown subject: exit 3.
    refused(
        &[
            "request",
            "open",
            "--kind",
            "block",
            "--subject",
            "id:424242",
            "--received",
            "2026-11-02",
            "--ticket",
            "REQ-1",
            "--yes",
        ],
        3,
        "no subject",
    );
    // A ticket holding an IIN, a breach summary holding a phone: exit 2.
    refused(
        &[
            "request",
            "open",
            "--kind",
            "block",
            "--subject",
            "id:900001",
            "--received",
            "2026-11-02",
            "--ticket",
            "061211600012",
            "--yes",
        ],
        2,
        "--ticket",
    );
    refused(
        &[
            "breach",
            "open",
            "--discovered",
            "2026-11-27T09:30",
            "--summary",
            "call +7 701 000 00 01",
            "--ticket",
            "INC-1",
            "--yes",
        ],
        2,
        "--summary",
    );
    refused(
        &[
            "breach",
            "open",
            "--discovered",
            "last tuesday",
            "--summary",
            "INC-1",
            "--ticket",
            "INC-1",
            "--yes",
        ],
        2,
        "--discovered is not a time",
    );
    // Unknown request or breach ids: exit 3 for every command that takes them.
    refused(
        &[
            "block",
            "061211600012",
            "--reason",
            "other",
            "--ticket",
            "REQ-1",
            "--request",
            "999999",
            "--yes",
        ],
        3,
        "no request 999999",
    );
    refused(
        &[
            "block",
            "061211600012",
            "--reason",
            "other",
            "--ticket",
            "REQ-1",
            "--breach",
            "999999",
            "--yes",
        ],
        3,
        "no breach 999999",
    );
    refused(
        &[
            "archive",
            "expire",
            "--ticket",
            "RET-1",
            "--request",
            "999999",
            "--yes",
        ],
        3,
        "no request",
    );
    refused(&["request", "show", "999999"], 3, "no request");
    refused(
        &[
            "request",
            "close",
            "999999",
            "--outcome",
            "done",
            "--ticket",
            "REQ-1",
            "--yes",
        ],
        3,
        "no request",
    );
    refused(
        &[
            "request",
            "close",
            "1",
            "--outcome",
            "maybe",
            "--ticket",
            "REQ-1",
            "--yes",
        ],
        2,
        "invalid value",
    );
    // Off a terminal without --yes: refused (5), as every change.
    let id = request["id"].as_i64().unwrap().to_string();
    refused(
        &[
            "request",
            "close",
            &id,
            "--outcome",
            "done",
            "--ticket",
            "REQ-1",
        ],
        5,
        "--yes",
    );
    assert_eq!(database_checksums(&client).await, before);
    // A dry run reports and rolls back.
    db.cmd()
        .args([
            "request",
            "close",
            &id,
            "--outcome",
            "done",
            "--ticket",
            "REQ-1",
            "--dry-run",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains("dry run"));
    assert_eq!(database_checksums(&client).await, before);
}

#[tokio::test]
async fn the_export_lists_the_subjects_requests_and_links_its_audit_row() {
    let (db, client) = db_with_subject().await;
    let request = open(&db, "access", "id:900001", "2026-11-02", &[]);
    let id = request["id"].as_i64().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("subject.tar");
    db.cmd()
        .args(["export", "id:900001", "--ticket", "REQ-1", "--plaintext"])
        .args(["--request", &id.to_string(), "--out"])
        .arg(&out)
        .assert()
        .success();
    let members = crate::export::untar(&std::fs::read(&out).unwrap());
    let data: Value = serde_json::from_slice(&members["data.json"]).unwrap();
    let requests = data["requests"].as_array().unwrap();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0]["kind"], "access");
    assert_eq!(requests[0]["due_on"], "2026-11-05");
    // The summary shows them too, in each language.
    let html = String::from_utf8(members["summary.html"].clone()).unwrap();
    for heading in ["Сіздің өтініштеріңіз", "Ваши обращения", "Your requests"]
    {
        assert!(html.contains(heading), "{heading}");
    }
    assert!(html.contains("2026-11-05"));
    let linked: Option<i64> = client
        .query_one(
            "SELECT request_id FROM derbes.audit_log WHERE action = 'export'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(linked, Some(id));
}

/// Rows written at schema version 7 (hashed without the request and breach ids)
/// still verify after migration 8, chained to linked rows written after it.
#[tokio::test]
async fn audit_rows_from_before_migration_8_still_verify() {
    use sha2::{Digest, Sha256};

    let db = TestDb::reference().await;
    let client = db.client().await;
    client
        .batch_execute(
            "CREATE SCHEMA derbes; CREATE TABLE derbes.schema_migrations (
                 version integer PRIMARY KEY, name text NOT NULL, checksum text NOT NULL,
                 applied_at timestamptz NOT NULL DEFAULT now())",
        )
        .await
        .unwrap();
    for migration in &derbes::pg::migrate::MIGRATIONS[..7] {
        client.batch_execute(migration.sql).await.unwrap();
        client
            .execute(
                "INSERT INTO derbes.schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
                &[&migration.version, &migration.name, &migration.checksum()],
            )
            .await
            .unwrap();
    }
    // One row in the version-7 form, hashed as version 7 hashed it.
    let canonical = r#"{"seq":1,"at":"2026-01-01T00:00:00.000000Z","operator":"old","action":"export","ticket":"T-1","subject_ref":null,"counts":{},"fields":[],"detail":{},"db_session_user":"postgres"}"#;
    let mut hasher = Sha256::new();
    hasher.update([0u8; 32]);
    hasher.update(canonical.as_bytes());
    let row_hash = hasher.finalize().to_vec();
    client
        .execute(
            "INSERT INTO derbes.audit_log (seq, at, operator, action, ticket, prev_hash, row_hash, \
             db_session_user) VALUES (1, '2026-01-01T00:00:00Z', 'old', 'export', 'T-1', $1, $2, 'postgres')",
            &[&vec![0u8; 32], &row_hash],
        )
        .await
        .unwrap();
    db.cmd()
        .args(["audit", "verify"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("derbes migrate"));
    db.cmd().arg("migrate").assert().success();
    client.batch_execute(SUBJECT).await.unwrap();
    let request = open(&db, "block", "id:900001", "2026-11-02", &[]);
    db.cmd()
        .args([
            "block",
            "id:900001",
            "--reason",
            "other",
            "--ticket",
            "REQ-1",
        ])
        .args(["--request", &request["id"].to_string(), "--yes"])
        .assert()
        .success();
    db.cmd()
        .args(["audit", "verify"])
        .assert()
        .success()
        .stdout(predicate::str::contains("intact"));
    let linked: Vec<Option<i64>> = client
        .query("SELECT request_id FROM derbes.audit_log ORDER BY seq", &[])
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    let id = request["id"].as_i64();
    assert_eq!(linked, [None, id, id]);
}

/// `archive dump` and `archive restore` link their audit rows too (a destroy
/// request: the subject's rows archived first, then looked at again).
#[tokio::test]
async fn archive_dump_and_restore_link_their_audit_rows() {
    let (db, client) = db_with_subject().await;
    let request = open(&db, "destroy", "id:900001", "2026-11-02", &[]);
    let id = request["id"].to_string();
    let keys = crate::archive::age_keys();
    let out = keys.dir.join("subject.age");
    db.cmd()
        .args(["archive", "dump", "--subject", "id:900001", "--keep", "5y"])
        .args(["--ticket", "REQ-1", "--request", &id, "--yes", "-r"])
        .arg(&keys.age_recipient)
        .arg("--out")
        .arg(&out)
        .assert()
        .success();
    db.cmd()
        .args(["archive", "restore"])
        .arg(&out)
        .arg("-i")
        .arg(&keys.age_identity)
        .args([
            "--into",
            "inspect",
            "--ticket",
            "REQ-1",
            "--request",
            &id,
            "--yes",
        ])
        .assert()
        .success();
    let actions: Vec<String> = client
        .query(
            "SELECT action FROM derbes.audit_log WHERE request_id = $1::text::bigint ORDER BY seq",
            &[&id],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    assert_eq!(actions, ["request.open", "archive.dump", "archive.restore"]);
    db.cmd().args(["audit", "verify"]).assert().success();
}

/// The commands that came with requests (rectify, consent, disclosure) take
/// `--request` like every other change and link their audit rows to it.
#[tokio::test]
async fn rectify_consent_and_disclosure_link_their_audit_rows() {
    let (db, client) = db_with_subject().await;
    let request = open(&db, "rectify", "id:900001", "2026-11-02", &[]);
    let id = request["id"].as_i64().unwrap().to_string();
    client
        .batch_execute(
            "INSERT INTO policy_versions (version, published_at, text_sha256) \
                 VALUES ('test-9.9', now() - interval '1 year', repeat('0', 64)); \
             INSERT INTO consents (borrower_id, policy_version_id, purpose, granted_at) \
                 SELECT 900001, id, 'services', now() - interval '1 year' FROM policy_versions WHERE version = 'test-9.9'",
        )
        .await
        .unwrap();
    db.cmd()
        .env("DERBES_AUDIT_KEY", crate::rectify::AUDIT_KEY)
        .args(["rectify", "id:900001", "--set", "first_name=Aruzhan"])
        .args(["--ticket", "REQ-1", "--request", &id, "--yes"])
        .assert()
        .success();
    db.cmd()
        .args(["consent", "grant", "id:900001", "--purpose", "marketing"])
        .args([
            "--document",
            "FORM-1",
            "--ticket",
            "REQ-1",
            "--request",
            &id,
            "--yes",
        ])
        .assert()
        .success();
    db.cmd()
        .args(["disclosure", "record", "id:900001", "--recipient", "Bureau"])
        .args(["--basis", "law", "--purpose", "services"])
        .args(["--ticket", "REQ-1", "--request", &id, "--yes"])
        .assert()
        .success();
    let actions: Vec<String> = client
        .query(
            "SELECT action FROM derbes.audit_log WHERE request_id = $1::text::bigint ORDER BY seq",
            &[&id],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(
        actions,
        [
            "request.open",
            "rectify",
            "consent.grant",
            "disclosure.record"
        ],
        "{actions:?}"
    );
    // An unknown request is refused before anything changes.
    let before = crate::support::database_checksums(&client).await;
    db.cmd()
        .env("DERBES_AUDIT_KEY", crate::rectify::AUDIT_KEY)
        .args(["rectify", "id:900001", "--set", "first_name=Other"])
        .args(["--ticket", "REQ-1", "--request", "999999", "--yes"])
        .assert()
        .code(3);
    assert_eq!(crate::support::database_checksums(&client).await, before);
}

/// A change filed under a request about someone else is refused (exit 5) when its
/// audit row is written, and the whole change rolls back.
#[tokio::test]
async fn a_change_for_another_subjects_request_is_refused_and_changes_nothing() {
    let (db, client) = db_with_subject().await;
    let request = open(&db, "rectify", "id:900001", "2026-11-02", &[]);
    let id = request["id"].as_i64().unwrap().to_string();
    let before = crate::support::database_checksums(&client).await;
    db.cmd()
        .env("DERBES_AUDIT_KEY", crate::rectify::AUDIT_KEY)
        .args(["rectify", "id:900002", "--set", "first_name=Other"])
        .args(["--ticket", "REQ-1", "--request", &id, "--yes"])
        .assert()
        .code(5)
        .stderr(predicates::str::contains("another subject"));
    db.cmd()
        .args(["block", "id:900002", "--reason", "other"])
        .args(["--ticket", "REQ-1", "--request", &id, "--yes"])
        .assert()
        .code(5);
    assert_eq!(crate::support::database_checksums(&client).await, before);
    // The request's own subject is fine.
    db.cmd()
        .env("DERBES_AUDIT_KEY", crate::rectify::AUDIT_KEY)
        .args(["rectify", "id:900001", "--set", "first_name=Aruzhan"])
        .args(["--ticket", "REQ-1", "--request", &id, "--yes"])
        .assert()
        .success();
}

/// Issue 26, item 4: every other command takes the subject as an argument;
/// `request open` took only `--subject`. The identity is an argument now, with the
/// same request as the old spelling (kept for scripts).
#[tokio::test]
async fn request_open_takes_the_subject_as_an_argument() {
    let (db, _client) = db_with_subject().await;
    let output = db
        .cmd()
        .args(["--format", "json", "request", "open", "061211600012"])
        .args(["--kind", "access", "--received", "2025-01-02"])
        .args(["--ticket", "REQ-1", "--yes"])
        .output()
        .unwrap();
    let positional = json(&output)["request"].clone();
    assert_eq!(positional["subject_ref"], "borrowers:900001");
    assert_eq!(positional["due_on"], "2025-01-08");
    let old = open(&db, "access", "061211600012", "2025-01-02", &[]);
    assert_eq!(old["subject_ref"], positional["subject_ref"]);
    assert_eq!(old["due_on"], positional["due_on"]);
}

/// Issue 26, item 4: the subject is given once, as the argument or with the old
/// `--subject`; both, or neither, is a usage error saying so.
#[test]
fn request_open_needs_the_subject_exactly_once() {
    let open = |subject: &[&str]| {
        let output = crate::support::derbes_cmd()
            .args(["request", "open", "--kind", "access"])
            .args(["--received", "2025-01-02", "--ticket", "REQ-1", "--yes"])
            .args(subject)
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{subject:?}");
        String::from_utf8(output.stderr).unwrap()
    };
    let twice = open(&["id:1", "--subject", "id:2"]);
    assert!(
        twice.contains("given twice") && twice.contains("give it once"),
        "{twice}"
    );
    assert!(
        !twice.contains("id:1") && !twice.contains("id:2"),
        "{twice}"
    );
    let neither = open(&[]);
    assert!(neither.contains("<IDENTITY>"), "{neither}");
}
