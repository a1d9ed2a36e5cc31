//! `derbes erase`: what goes, what is masked and what stays (checked against
//! oracle queries written apart from derbes' SQL), legal holds, shared rows, the
//! residual check, dry runs, faults at each step, and map check refusing a masking
//! strategy that does not fit its column.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command as Process;
use std::time::{Duration, Instant};

use predicates::prelude::*;
use tokio_postgres::Client;

use crate::archive::{age_keys, Keys};
use crate::support::{database_checksums, reference_map, repo_root, temp_file, TestDb};

const IIN_A: &str = "061211600012";
const IIN_B: &str = "880330300016";

/// Two subjects clear of the generated population: A, a customer of seven years
/// ago with an old closed loan; B, with an overdue (open) loan from seven years ago.
const SUBJECTS: &str = r#"
INSERT INTO borrowers (id, iin, last_name, first_name, birth_date, sex, email, phone, created_at) VALUES
    (900001, '061211600012', 'Sarsenova', 'Aigerim', '2006-12-11', 'F', 'aigerim@example.kz', '+77010000001', now() - interval '7 years'),
    (900002, '880330300016', 'Nurlanov', 'Bolat', '1988-03-30', 'M', 'bolat@example.kz', '+77010000002', now() - interval '7 years');
INSERT INTO addresses (borrower_id, kind, region, city, street, house, created_at) VALUES
    (900001, 'residence', 'Almaty', 'Almaty', 'Abay', '1', now() - interval '7 years'),
    (900002, 'residence', 'Astana', 'Astana', 'Kenesary', '2', now() - interval '7 years');
INSERT INTO devices (id, borrower_id, device_uid, os, first_seen, last_seen) VALUES
    (900001, 900001, 'dev-aaaa', 'Android', now() - interval '10 days', now()),
    (900002, 900002, 'dev-bbbb', 'Android', now() - interval '10 days', now());
INSERT INTO sessions (borrower_id, device_id, ip, started_at, last_seen_at) VALUES
    (900001, 900001, '203.0.113.10', now() - interval '1 hour', now()),
    (900002, 900002, '198.51.100.7', now() - interval '1 hour', now());
INSERT INTO usage_events (id, borrower_id, occurred_at, event, screen) VALUES
    (900001, 900001, '2025-03-17 10:11:12+00', 'open', 'home'),
    (900002, 900001, '2025-04-18 10:11:12+00', 'tap', 'loan');
INSERT INTO loans (id, borrower_id, contract_no, principal, rate_percent, issued_at, due_on, closed_at, status) VALUES
    (900001, 900001, 'T-900001', 100000, 0.5, now() - interval '7 years', (now() - interval '7 years' + interval '30 days')::date, now() - interval '7 years' + interval '30 days', 'closed'),
    (900002, 900002, 'T-900002', 50000, 0.5, now() - interval '7 years', (now() - interval '7 years' + interval '30 days')::date, NULL, 'overdue');
INSERT INTO payments (loan_id, paid_at, amount, channel) VALUES
    (900001, now() - interval '7 years' + interval '20 days', 110000, 'card');
INSERT INTO support_messages (borrower_id, channel, received_at, body) VALUES
    (900001, 'email', now() - interval '2 days', 'please delete my account');
"#;

async fn erase_db() -> (TestDb, Client, Keys) {
    let db = TestDb::migrated().await;
    let client = db.client().await;
    client.batch_execute(SUBJECTS).await.expect("subjects load");
    (db, client, age_keys())
}

/// The masking key of hmac columns, in a file beside the age key.
pub(crate) fn mask_key(keys: &Keys) -> std::path::PathBuf {
    let path = keys.dir.join("mask.key");
    if !path.exists() {
        std::fs::write(&path, "test-mask-key-0123456789abcdef\n").unwrap();
    }
    path
}

fn erase_args(keys: &Keys, identity: &str) -> Vec<String> {
    vec![
        "erase".into(),
        identity.into(),
        "--ticket".into(),
        "REQ-1".into(),
        "--archive-to".into(),
        keys.age_recipient.clone(),
        "--archive-out".into(),
        keys.dir.join("erase.age").display().to_string(),
        "--key-file".into(),
        mask_key(keys).display().to_string(),
        "--format".into(),
        "json".into(),
    ]
}

/// Oracle: the subject's rows per table, by hand (not derbes' link builder).
async fn oracle(client: &Client, borrower: i64) -> BTreeMap<&'static str, i64> {
    let queries: [(&str, &str); 8] = [
        ("borrowers", "SELECT count(*) FROM borrowers WHERE id = $1"),
        ("addresses", "SELECT count(*) FROM addresses WHERE borrower_id = $1"),
        ("devices", "SELECT count(*) FROM devices WHERE borrower_id = $1"),
        ("sessions", "SELECT count(*) FROM sessions WHERE borrower_id = $1"),
        ("usage_events", "SELECT count(*) FROM usage_events WHERE borrower_id = $1"),
        ("loans", "SELECT count(*) FROM loans WHERE borrower_id = $1"),
        (
            "payments",
            "SELECT count(*) FROM payments p JOIN loans l ON l.id = p.loan_id WHERE l.borrower_id = $1",
        ),
        ("support_messages", "SELECT count(*) FROM support_messages WHERE borrower_id = $1"),
    ];
    let mut counts = BTreeMap::new();
    for (table, sql) in queries {
        counts.insert(
            table,
            client.query_one(sql, &[&borrower]).await.unwrap().get(0),
        );
    }
    counts
}

/// Row counts of every table but the subject's rows, to prove others untouched.
async fn others(client: &Client) -> Vec<i64> {
    let mut counts = Vec::new();
    for sql in [
        "SELECT count(*) FROM borrowers WHERE id NOT IN (900001, 900002)",
        "SELECT count(*) FROM addresses WHERE borrower_id NOT IN (900001, 900002)",
        "SELECT count(*) FROM sessions WHERE borrower_id NOT IN (900001, 900002)",
        "SELECT count(*) FROM usage_events WHERE borrower_id NOT IN (900001, 900002)",
        "SELECT count(*) FROM loans WHERE borrower_id NOT IN (900001, 900002)",
    ] {
        counts.push(client.query_one(sql, &[]).await.unwrap().get(0));
    }
    counts
}

fn json_of(output: &[u8]) -> serde_json::Value {
    serde_json::from_slice(output).expect("one JSON document")
}

fn table<'a>(report: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    report["tables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["table"] == name)
        .unwrap_or_else(|| panic!("no {name} in {report}"))
}

#[tokio::test]
async fn an_erased_subject_is_gone_or_masked_exactly_as_the_oracle_predicts() {
    let (db, client, keys) = erase_db().await;
    let before = oracle(&client, 900001).await;
    let others_before = others(&client).await;
    // The erasure answers a recorded request and is linked to it.
    let opened = db
        .cmd()
        .args(["--format", "json", "request", "open", "--kind", "destroy"])
        .args(["--subject", IIN_A, "--received", "2026-11-20"])
        .args(["--ticket", "REQ-1", "--yes"])
        .output()
        .unwrap();
    assert!(opened.status.success());
    let request = serde_json::from_slice::<serde_json::Value>(&opened.stdout).unwrap()["request"]
        ["id"]
        .as_i64()
        .unwrap();
    let output = db
        .cmd()
        .args(erase_args(&keys, IIN_A))
        .args(["--request", &request.to_string()])
        .arg("--yes")
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let report = json_of(&output);
    let linked: Vec<String> = client
        .query(
            "SELECT action FROM derbes.audit_log WHERE request_id = $1 ORDER BY seq",
            &[&request],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert!(linked.iter().any(|a| a == "erase"), "{linked:?}");
    let after = oracle(&client, 900001).await;
    // Past every retention period and no open loan: all deleted, but the usage
    // events (retention rule `anonymise`), which stay with occurred_at generalised,
    // and the borrower row they point at, masked with its columns' strategies.
    for (name, n) in &before {
        let stays = ["usage_events", "borrowers"].contains(name);
        let expected = if stays { *n } else { 0 };
        assert_eq!(after[name], expected, "{name}");
        let outcome = table(&report, name);
        assert_eq!(outcome["rows"], *n, "{name}");
        if stays {
            assert_eq!(outcome["action"], "mask", "{name}");
            assert_eq!(outcome["masked"], *n, "{name}");
        } else {
            assert_eq!(outcome["deleted"], *n, "{name}");
        }
    }
    let row = client
        .query_one(
            "SELECT iin, last_name, first_name, email, phone, birth_date::text FROM borrowers WHERE id = 900001",
            &[],
        )
        .await
        .unwrap();
    let values: Vec<String> = (0..6)
        .map(|i| row.get::<_, Option<String>>(i).unwrap_or_default())
        .collect();
    assert_ne!(values[0], IIN_A);
    assert_eq!(values[1], "[redacted]");
    assert_eq!(values[2], "[redacted]");
    assert_eq!(values[3], "[redacted]");
    assert_eq!(values[4], "0001", "partial keeps the last 4");
    assert_eq!(values[5], "2006-01-01", "birth date to the year");
    let not_generalised: i64 = client
        .query_one(
            "SELECT count(*) FROM usage_events WHERE borrower_id = 900001 \
             AND occurred_at <> date_trunc('month', occurred_at)",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(not_generalised, 0, "occurred_at generalised to the month");
    assert_eq!(
        others(&client).await,
        others_before,
        "other subjects untouched"
    );
    // The archive holds what was there, and is catalogued; one audit row says erase.
    assert!(keys.dir.join("erase.age").exists());
    let audit: i64 = client
        .query_one(
            "SELECT count(*) FROM derbes.audit_log WHERE action = 'erase' AND subject_ref = 'borrowers:900001'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(audit, 1);
    assert!(!String::from_utf8_lossy(&output).contains(IIN_A));
    db.cmd().args(["audit", "verify"]).assert().success();
}

#[tokio::test]
async fn an_open_loan_is_kept_under_legal_hold_and_the_report_says_so() {
    let (db, client, keys) = erase_db().await;
    let output = db
        .cmd()
        .args(erase_args(&keys, IIN_B))
        .arg("--yes")
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let report = json_of(&output);
    let after = oracle(&client, 900002).await;
    assert_eq!(after["loans"], 1, "the open loan stays");
    assert_eq!(
        after["borrowers"], 1,
        "the borrower its loan points at stays"
    );
    assert_eq!(after["devices"], 0);
    assert_eq!(after["sessions"], 0);
    // Issue 22: an open loan means the relationship has not ended, so the AML/CFT
    // identification data stays too (identity-kyc ages from the last loan closed).
    assert_eq!(after["addresses"], 1, "identification data stays");
    let addresses = table(&report, "addresses");
    assert_eq!(addresses["action"], "keep");
    assert!(
        addresses["reasons"].to_string().contains("identity-kyc"),
        "{addresses}"
    );
    let loans = table(&report, "loans");
    assert_eq!(loans["action"], "keep");
    assert!(
        loans["reasons"].to_string().contains("open loan"),
        "{loans}"
    );
    let borrowers = table(&report, "borrowers");
    assert_eq!(borrowers["action"], "keep");
    assert!(
        borrowers["reasons"].to_string().contains("open loan"),
        "{borrowers}"
    );
}

#[tokio::test]
async fn a_home_shared_with_another_person_is_kept_and_the_report_says_why() {
    let db = TestDb::empty().await;
    let client = db.client().await;
    client
        .batch_execute(include_str!("../fixtures/links.sql"))
        .await
        .unwrap();
    db.cmd().arg("migrate").assert().success();
    let keys = age_keys();
    let map = repo_root().join("tests/fixtures/links.toml");
    let output = db
        .cmd()
        .env("DERBES_MAP", &map)
        .args(erase_args(&keys, "id:P-001"))
        .args(["--keep", "5y", "--yes"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let report = json_of(&output);
    let count = |sql: &'static str| {
        let client = &client;
        async move { client.query_one(sql, &[]).await.unwrap().get::<_, i64>(0) }
    };
    assert_eq!(
        count("SELECT count(*) FROM crm.person WHERE person_ref = 'P-001'").await,
        0
    );
    // P-002 lives in the same home: the home and its photos stay.
    assert_eq!(
        count("SELECT count(*) FROM crm.home WHERE home_id = 1").await,
        1
    );
    let photos = count("SELECT count(*) FROM crm.home_photo WHERE home_id = 1").await;
    assert!(photos > 0);
    assert_eq!(
        count("SELECT count(*) FROM crm.contract WHERE holder = 'P-001'").await,
        0
    );
    assert_eq!(
        count("SELECT count(*) FROM ops.device WHERE owner_ref = 'P-001'").await,
        0
    );
    let home = table(&report, "home");
    assert_eq!(home["shared"], 1);
    assert_eq!(home["deleted"], 0);
    assert!(
        home["reasons"]
            .to_string()
            .contains("shared with another subject"),
        "{home}"
    );
    assert_eq!(table(&report, "home_photo")["shared"], photos);
}

#[tokio::test]
async fn the_residual_check_aborts_when_an_unmapped_column_holds_the_iin() {
    let (db, client, keys) = erase_db().await;
    client
        .batch_execute(&format!(
            "ALTER TABLE usage_events ADD COLUMN context text; \
             UPDATE usage_events SET context = 'user {IIN_A} opened' WHERE id = 900002;"
        ))
        .await
        .unwrap();
    let before = database_checksums(&client).await;
    let assert = db
        .cmd()
        .args(erase_args(&keys, IIN_A))
        .arg("--yes")
        .assert()
        .code(6)
        .stderr(predicate::str::contains("usage_events.context"))
        .stderr(predicate::str::contains("nothing was erased"));
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    assert!(!stderr.contains(IIN_A), "{stderr}");
    assert_eq!(database_checksums(&client).await, before, "nothing changed");
    assert!(
        !keys.dir.join("erase.age").exists(),
        "the archive is removed"
    );
}

#[tokio::test]
async fn a_dry_run_reports_the_counts_and_changes_nothing() {
    let (db, client, keys) = erase_db().await;
    let before = database_checksums(&client).await;
    let output = db
        .cmd()
        .args(erase_args(&keys, IIN_A))
        .arg("--dry-run")
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let report = json_of(&output);
    assert_eq!(report["dry_run"], true);
    assert_eq!(table(&report, "sessions")["deleted"], 1);
    assert_eq!(table(&report, "usage_events")["masked"], 2);
    assert_eq!(database_checksums(&client).await, before);
    assert!(!keys.dir.join("erase.age").exists());
    // Without --yes off a terminal it refuses (exit 5), nothing changed.
    db.cmd().args(erase_args(&keys, IIN_A)).assert().code(5);
    assert_eq!(database_checksums(&client).await, before);
}

/// State without the pending-run row a killed run leaves on purpose.
async fn state(client: &Client) -> BTreeMap<String, String> {
    let mut sums = database_checksums(client).await;
    sums.remove("derbes.archive_runs");
    sums
}

fn erase_process(db: &TestDb, keys: &Keys, point: &str, pause: Option<&Path>) -> Process {
    let mut cmd = Process::new(assert_cmd::cargo::cargo_bin("derbes"));
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("DATABASE_URL", db.conninfo())
        .env("DERBES_MAP", reference_map())
        .env("DERBES_FAULT_POINT", point)
        .args(erase_args(keys, IIN_A))
        .arg("--yes")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped());
    if let Some(flag) = pause {
        cmd.env("DERBES_FAULT_PAUSE", flag);
    }
    cmd
}

#[tokio::test]
async fn a_killed_or_terminated_erase_leaves_nothing_half_done_and_the_rerun_finishes() {
    let (db, client, keys) = erase_db().await;
    let before = state(&client).await;
    let expected = oracle(&client, 900001).await;
    for point in [
        "erase.locked",
        "erase.archived",
        "erase.applied",
        "erase.committing",
    ] {
        let status = erase_process(&db, &keys, point, None).status().unwrap();
        assert_eq!(status.code(), Some(137), "{point}");
        assert_eq!(
            state(&client).await,
            before,
            "killed at {point}: nothing changed"
        );
        let _ = std::fs::remove_file(keys.dir.join("erase.age"));
    }
    // The backend terminated while the run waits after the deletes.
    let flag = keys.dir.join("paused");
    let child = erase_process(&db, &keys, "erase.applied", Some(&flag))
        .spawn()
        .unwrap();
    let started = Instant::now();
    while !flag.exists() {
        assert!(started.elapsed() < Duration::from_secs(60), "never paused");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    crate::support::terminate_sessions(&client, "derbes").await;
    std::fs::remove_file(&flag).unwrap();
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(state(&client).await, before, "terminated: nothing changed");
    let _ = std::fs::remove_file(keys.dir.join("erase.age"));
    // The rerun does the whole erasure once.
    db.cmd()
        .args(erase_args(&keys, IIN_A))
        .arg("--yes")
        .assert()
        .success();
    let after = oracle(&client, 900001).await;
    assert_eq!(after["sessions"], 0);
    assert_eq!(after["loans"], 0);
    assert_eq!(after["usage_events"], expected["usage_events"]);
    let iin: String = client
        .query_one("SELECT iin FROM borrowers WHERE id = 900001", &[])
        .await
        .unwrap()
        .get(0);
    assert_ne!(
        iin, IIN_A,
        "the borrower row the usage events point at is masked"
    );
    let audit: i64 = client
        .query_one(
            "SELECT count(*) FROM derbes.audit_log WHERE action = 'erase'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(audit, 1);
    db.cmd().args(["audit", "verify"]).assert().success();
}

#[tokio::test]
async fn map_check_refuses_a_masking_strategy_that_does_not_fit_its_column() {
    let (db, client, keys) = erase_db().await;
    let text = std::fs::read_to_string(reference_map()).unwrap();
    let cases = [
        // NULL into NOT NULL.
        (
            r#"iin = { category = "iin", purpose = "identification", masking = "hmac""#,
            r#"iin = { category = "iin", purpose = "identification", masking = "null""#,
            "borrowers.iin",
        ),
        // Text into a date column.
        (
            r#"masking = "generalise:year", quasi_identifier = true"#,
            r#"masking = "redact", quasi_identifier = true"#,
            "borrowers.birth_date",
        ),
        // Generalising a boolean.
        (
            r#"is_beneficial_owner = { category = "beneficial_owner", purpose = "accuracy", masking = "keep""#,
            r#"is_beneficial_owner = { category = "beneficial_owner", purpose = "accuracy", masking = "generalise""#,
            "borrowers.is_beneficial_owner",
        ),
    ];
    let before = database_checksums(&client).await;
    for (from, to, object) in cases {
        assert!(text.contains(from), "{from}");
        let (_dir, path) = temp_file("map.toml", &text.replace(from, to));
        db.cmd()
            .env("DERBES_MAP", &path)
            .args(["map", "check"])
            .assert()
            .code(6)
            .stdout(
                predicate::str::contains(object)
                    .and(predicate::str::contains("masking does not fit")),
            );
        db.cmd()
            .env("DERBES_MAP", &path)
            .args(erase_args(&keys, IIN_A))
            .arg("--yes")
            .assert()
            .code(6)
            .stderr(predicate::str::contains(object));
    }
    assert_eq!(database_checksums(&client).await, before);
    // The reference map itself passes.
    db.cmd().args(["map", "check"]).assert().success();
}
