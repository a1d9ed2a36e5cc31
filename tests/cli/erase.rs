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
use crate::support::{
    database_checksums, others_checksums, reference_map, repo_root, subject_rows, temp_file,
    TestDb, SUBJECT_TABLES,
};

const IIN_A: &str = "061211600012";
const IIN_B: &str = "880330300016";

/// Two subjects clear of the generated population: A, a customer of seven years
/// ago with an old closed loan; B, with an overdue (open) loan from seven years ago.
pub(crate) const SUBJECTS: &str = r#"
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

/// A masking key as `openssl rand -base64 32` writes it: 32 random bytes, fixed
/// so tests can compute the pseudonyms (the HMAC key is the text as written).
pub(crate) const MASK_KEY: &str = "jdQn2p5Js3NkdTwwGGjqnZkll/2drJ33KRRyUQln6oc=";

/// The masking key of hmac columns, in a file beside the age key.
pub(crate) fn mask_key(keys: &Keys) -> std::path::PathBuf {
    let path = keys.dir.join("mask.key");
    if !path.exists() {
        std::fs::write(&path, format!("{MASK_KEY}\n")).unwrap();
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
    // Issue 22, defect 4: every other subject's rows, not five row counts.
    let others_before = others_checksums(&client, 900001).await;
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
        others_checksums(&client, 900001).await,
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
    let others_before = others_checksums(&client, 900002).await;
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
    // Issue 22, defect 4: nobody else's row changed.
    assert_eq!(
        others_checksums(&client, 900002).await,
        others_before,
        "other subjects untouched"
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

/// Issue 23, defect 2: a masking key that can be guessed (an IIN has about 10^11
/// values, so a pseudonym under a guessable key is reversed by trying them all) is
/// refused before anything runs, with exit 2, saying how to make a key and never
/// showing it: in a key file (erase as a dry run and for real, anonymise) and in
/// DERBES_MASK_KEY.
#[tokio::test]
async fn a_weak_masking_key_is_refused_with_how_to_make_one() {
    let (db, client, keys) = erase_db().await;
    let before = database_checksums(&client).await;
    let spaces = " ".repeat(40);
    let repeated = "k".repeat(44);
    for (name, weak, why) in [
        ("spaces", spaces.as_str(), "only whitespace"),
        // 16 random bytes, as `openssl rand -base64 16` writes them.
        ("short", "kpWm2P52XEh+fczy/fJ95Q==", "holds 16 bytes"),
        ("repeated", repeated.as_str(), "repeats"),
        ("phrase", "test-mask-key-0123456789abcdef", "typed text"),
    ] {
        let path = keys.dir.join(format!("weak-{name}.key"));
        std::fs::write(&path, format!("{weak}\n")).unwrap();
        let mut erase = erase_args(&keys, IIN_A);
        let at = erase.iter().position(|a| a == "--key-file").unwrap();
        erase[at + 1] = path.display().to_string();
        let path = path.display().to_string();
        let anonymise = ["anonymise", "id:900001", "--ticket", "REQ-9", "--yes"];
        let runs: Vec<(Vec<&str>, Option<&str>)> = vec![
            (
                erase
                    .iter()
                    .map(String::as_str)
                    .chain(["--dry-run"])
                    .collect(),
                None,
            ),
            (
                erase.iter().map(String::as_str).chain(["--yes"]).collect(),
                None,
            ),
            (
                anonymise
                    .iter()
                    .copied()
                    .chain(["--key-file", &path])
                    .collect(),
                None,
            ),
            (anonymise.to_vec(), Some(weak)),
        ];
        for (args, env) in runs {
            let mut cmd = db.cmd();
            if let Some(key) = env {
                cmd.env("DERBES_MASK_KEY", key);
            }
            let output = cmd.args(&args).output().unwrap();
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert_eq!(output.status.code(), Some(2), "{name} {args:?}: {stderr}");
            for words in [why, "32 random bytes", "openssl rand -base64 32 > mask.key"] {
                assert!(stderr.contains(words), "{name} {args:?}: {stderr}");
            }
            assert!(
                stderr.contains(if env.is_some() {
                    "DERBES_MASK_KEY"
                } else {
                    &path
                }),
                "{name}: says where the key came from: {stderr}"
            );
            if !weak.trim().is_empty() {
                assert!(!stderr.contains(weak), "{name}: the key is shown: {stderr}");
            }
            assert_eq!(
                database_checksums(&client).await,
                before,
                "{name} {args:?}: nothing changed"
            );
        }
        assert!(!keys.dir.join("erase.age").exists(), "no archive written");
    }
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
    // Issue 25, item 4: terminated just before a DELETE, the run says the
    // connection was lost (exit 1), not that another table's rows point at them.
    let child = erase_process(&db, &keys, "erase.deleting", Some(&flag))
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
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("connection to the database was lost"),
        "{stderr}"
    );
    assert!(!stderr.contains("point at them"), "{stderr}");
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

/// Rows of subject A in every other mapped table, so that the archive is checked
/// for each of them: identity, bank, photo, log, cookie, location and ledger rows.
pub(crate) const MORE_OF_A: &str = r#"
INSERT INTO identity_documents (borrower_id, doc_type, doc_number, issued_by, issued_on, expires_on, created_at) VALUES
    (900001, 'id_card', 'N9000001', 'MVD RK', '2016-01-10', '2026-01-09', now() - interval '7 years');
INSERT INTO contact_persons (borrower_id, full_name, relation, phone, created_at) VALUES
    (900001, 'Arman Testov', 'brother', '+77010000009', now() - interval '7 years');
INSERT INTO employments (borrower_id, employer_name, position, monthly_income, created_at) VALUES
    (900001, 'TOO Erase', 'clerk', 250000.50, now() - interval '7 years');
INSERT INTO bank_cards (borrower_id, pan_masked, card_token, holder_name, expires, created_at) VALUES
    (900001, '440043******1234', 'tok-erase-1', 'CARD HOLDER', '12/20', now() - interval '7 years');
INSERT INTO bank_accounts (borrower_id, iban, bank_bic, created_at) VALUES
    (900001, 'KZ000000000000000001', 'CASPKZKA', now() - interval '7 years');
INSERT INTO photos (borrower_id, kind, storage_key, sha256, taken_at) VALUES
    (900001, 'selfie', 'photos/900001/selfie.jpg', repeat('a', 64), now() - interval '7 years');
INSERT INTO server_logs (logged_at, borrower_id, ip, method, path, status, user_agent) VALUES
    (now() - interval '3 days', 900001, '203.0.113.10', 'GET', '/account', 200, 'Mozilla/5.0 "quoted", comma'),
    (now() - interval '2 years', 900001, '203.0.113.10', 'POST', '/login', 302, NULL),
    (now() - interval '3 days', NULL, '203.0.113.11', 'GET', '/', 200, NULL);
INSERT INTO cookies (borrower_id, kind, name, value_hash, set_at) VALUES
    (900001, 'cookie', 'sid', 'h1', now() - interval '2 days');
INSERT INTO locations (borrower_id, recorded_at, latitude, longitude) VALUES
    (900001, now() - interval '5 days', 43.238949, 76.889709);
INSERT INTO consents (borrower_id, policy_version_id, purpose, granted_at, withdrawn_at, document_ref) VALUES
    (900001, (SELECT min(id) FROM policy_versions), 'marketing', now() - interval '7 years', now() - interval '6 years', 'APP-1'),
    (900001, (SELECT min(id) FROM policy_versions), 'services', now() - interval '7 years', NULL, NULL);
INSERT INTO policy_notices (borrower_id, policy_version_id, notified_at) VALUES
    (900001, (SELECT min(id) FROM policy_versions), now() - interval '6 years');
INSERT INTO disclosures (borrower_id, recipient, purpose, legal_basis, categories, disclosed_at) VALUES
    (900001, 'First Credit Bureau', 'credit_history_report', 'Law on Credit Bureaus', ARRAY['microcredit', 'name'], now() - interval '7 years');
"#;

/// The rows of an unpacked archive, read back by PostgreSQL itself: each CSV member
/// (`public.TABLE.csv`, or its parts `public.TABLE.0001.csv`, ...) is loaded with
/// `COPY ... FROM STDIN (FORMAT csv, HEADER)` into a temporary table shaped like
/// TABLE, whose rows are then read as [`subject_rows`] reads the live ones: table ->
/// (primary key as text -> row as text). A column the archive left out stays NULL,
/// so its rows differ.
async fn archived_rows(client: &Client, dir: &Path) -> BTreeMap<String, BTreeMap<String, String>> {
    use futures_util::SinkExt;
    let mut files: Vec<std::path::PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "csv"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "the archive holds CSV members");
    let mut staged = BTreeMap::new();
    for file in &files {
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        let stem = name
            .strip_prefix("public.")
            .and_then(|n| n.strip_suffix(".csv"))
            .unwrap_or_else(|| panic!("unexpected member {name}"));
        let table = match stem.rsplit_once('.') {
            Some((table, part)) if part.chars().all(|c| c.is_ascii_digit()) => table,
            _ => stem,
        };
        let (_, key, _) = SUBJECT_TABLES
            .iter()
            .find(|(t, _, _)| *t == table)
            .unwrap_or_else(|| {
                panic!("the archive holds {name}, of a table the oracle does not know")
            });
        let staging = format!("archived_{table}");
        client
            .batch_execute(&format!(
                "CREATE TEMP TABLE IF NOT EXISTS {staging} (LIKE public.{table})"
            ))
            .await
            .unwrap();
        let bytes = std::fs::read(file).unwrap();
        let header = csv::Reader::from_reader(bytes.as_slice())
            .headers()
            .unwrap()
            .clone();
        let columns: Vec<String> = header
            .iter()
            .map(|c| format!("\"{}\"", c.replace('"', "\"\"")))
            .collect();
        let sink = client
            .copy_in(&format!(
                "COPY {staging} ({}) FROM STDIN (FORMAT csv, HEADER)",
                columns.join(", ")
            ))
            .await
            .unwrap_or_else(|e| panic!("load {name}: {e}"));
        futures_util::pin_mut!(sink);
        sink.send(bytes::Bytes::from(bytes)).await.unwrap();
        sink.finish()
            .await
            .unwrap_or_else(|e| panic!("load {name}: {e}"));
        staged.insert(table.to_owned(), (staging, *key));
    }
    let mut rows = BTreeMap::new();
    for (table, (staging, key)) in staged {
        let found: BTreeMap<String, String> = client
            .query(
                &format!("SELECT ROW({key})::text, t::text FROM {staging} t ORDER BY {key}"),
                &[],
            )
            .await
            .unwrap()
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
        if !found.is_empty() {
            rows.insert(table, found);
        }
    }
    rows
}

/// Issue 22, defect 4: "decrypt the erase archive in a test and compare it with the
/// rows removed or changed". The archive, opened with the stock `age` and `tar`,
/// holds exactly the rows the subject had before the erasure, in every table (by
/// primary key, and each row's every value), so every row the erasure removed or
/// masked can be brought back from it; and nobody else's row changed.
#[tokio::test]
async fn the_erase_archive_holds_exactly_the_rows_the_subject_had_before() {
    let (db, client, keys) = erase_db().await;
    client
        .batch_execute(MORE_OF_A)
        .await
        .expect("more rows of A");
    let before = subject_rows(&client, 900001).await;
    let tables: Vec<&String> = before.keys().collect();
    assert_eq!(
        before.len(),
        SUBJECT_TABLES.len(),
        "the subject has rows in every mapped table: {tables:?}"
    );
    let others_before = others_checksums(&client, 900001).await;
    db.cmd()
        .args(erase_args(&keys, IIN_A))
        .arg("--yes")
        .assert()
        .success();
    let after = subject_rows(&client, 900001).await;
    let unpacked =
        crate::archive::unpack_with_stock_tools(&keys.dir.join("erase.age"), &keys.age_identity);
    let archived = archived_rows(&client, unpacked.path()).await;
    // Per table: the archive's primary keys are the subject's, and so are the rows.
    for (table, rows) in &before {
        let in_archive = archived.get(table).cloned().unwrap_or_default();
        assert_eq!(
            in_archive.keys().collect::<Vec<_>>(),
            rows.keys().collect::<Vec<_>>(),
            "{table}: the archive's keys are the subject's rows before the erasure"
        );
        assert_eq!(
            &in_archive, rows,
            "{table}: the archive holds the rows as they were"
        );
    }
    let extra: Vec<&String> = archived
        .keys()
        .filter(|t| !before.contains_key(*t))
        .collect();
    assert!(
        extra.is_empty(),
        "the archive holds tables where the subject had no row: {extra:?}"
    );
    // Every row removed or changed is among them (what goes and what is masked is
    // the other erase tests' business; here: some of each).
    let mut touched = std::collections::BTreeSet::new();
    for (table, rows) in &before {
        for (key, row) in rows {
            let now = after.get(table).and_then(|r| r.get(key));
            if now != Some(row) {
                touched.insert(table.as_str());
                assert_eq!(
                    archived.get(table).and_then(|r| r.get(key)),
                    Some(row),
                    "{table} {key}: removed or changed, and not in the archive as it was"
                );
            }
        }
    }
    assert!(
        touched.contains("borrowers") && touched.contains("sessions"),
        "the borrower row was masked and the sessions deleted: {touched:?}"
    );
    assert_eq!(
        others_checksums(&client, 900001).await,
        others_before,
        "other subjects untouched"
    );
}

/// Issue 23, defect 4: erasing a subject erased before says so (exit 3) and
/// changes nothing, where it used to refuse with exit 6 because the masked name
/// ("[redacted]") was taken for the person's name; `--again` erases what arrived
/// since without that false alarm.
#[tokio::test]
async fn a_second_erase_says_the_subject_was_erased_already_and_changes_nothing() {
    let (db, client, keys) = erase_db().await;
    db.cmd()
        .args(erase_args(&keys, IIN_A))
        .arg("--yes")
        .assert()
        .success();
    let ledger = crate::support::count(
        &client,
        "SELECT count(*) FROM derbes.erasures WHERE subject_table = 'borrowers' AND subject_key = '900001'",
    )
    .await;
    assert_eq!(ledger, 1, "the erasure is in the ledger");
    let before = database_checksums(&client).await;
    let mut again = erase_args(&keys, "id:900001");
    again[7] = keys.dir.join("erase-2.age").display().to_string();
    db.cmd()
        .args(&again)
        .arg("--yes")
        .assert()
        .code(3)
        .stderr(predicate::str::contains("erased already"));
    assert_eq!(database_checksums(&client).await, before, "nothing changed");
    // A returning customer's new rows: --again erases them, no false residual hit.
    client
        .batch_execute(
            "INSERT INTO devices (id, borrower_id, device_uid, os, first_seen, last_seen) VALUES \
             (900011, 900001, 'dev-new', 'iOS', now(), now())",
        )
        .await
        .unwrap();
    db.cmd()
        .args(&again)
        .args(["--again", "--yes"])
        .assert()
        .success();
    assert_eq!(
        crate::support::count(&client, "SELECT count(*) FROM devices WHERE id = 900011").await,
        0
    );
}

/// Issue 23, defect 5: an erased subject stays erased. An archive made before the
/// erasure, restored after it (the table emptied meanwhile), brings back every
/// other row and none of the subject's, and says how many it left out;
/// `--restore-erased` restores them for a legal need, on the audit record.
#[tokio::test]
async fn a_restore_leaves_out_the_rows_of_subjects_erased_after_the_archive_was_made() {
    let (db, client, keys) = erase_db().await;
    let dump = keys.dir.join("addresses.age");
    db.cmd()
        .args([
            "archive",
            "dump",
            "--yes",
            "--ticket",
            "T-23",
            "--table",
            "addresses",
        ])
        .args(["-r", &keys.age_recipient, "--keep", "1y", "--out"])
        .arg(&dump)
        .assert()
        .success();
    let others: Vec<i64> = client
        .query(
            "SELECT id FROM addresses WHERE borrower_id <> 900001 ORDER BY id",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    let subject_rows = crate::support::count(
        &client,
        "SELECT count(*) FROM addresses WHERE borrower_id = 900001",
    )
    .await;
    assert!(subject_rows > 0);
    db.cmd()
        .args(erase_args(&keys, IIN_A))
        .arg("--yes")
        .assert()
        .success();
    client.batch_execute("DELETE FROM addresses").await.unwrap();
    let restore = |extra: &[&str]| {
        let output = db
            .cmd()
            .args([
                "--format", "json", "archive", "restore", "--yes", "--ticket", "T-23",
            ])
            .args(extra)
            .arg("-i")
            .arg(&keys.age_identity)
            .arg(&dump)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice::<serde_json::Value>(&output.stdout).unwrap()
    };
    let report = restore(&[]);
    assert_eq!(report["left_out_erased"], subject_rows, "{report}");
    assert_eq!(report["erased_subjects"], 1);
    let restored: Vec<i64> = client
        .query("SELECT id FROM addresses ORDER BY id", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(
        restored, others,
        "every other row back, none of the subject's"
    );
    // For a legal need: restored, and the audit row says so.
    client.batch_execute("DELETE FROM addresses").await.unwrap();
    let report = restore(&["--restore-erased"]);
    assert_eq!(report["left_out_erased"], 0);
    assert_eq!(
        crate::support::count(
            &client,
            "SELECT count(*) FROM addresses WHERE borrower_id = 900001"
        )
        .await,
        subject_rows
    );
    let audited = crate::support::count(
        &client,
        "SELECT count(*) FROM derbes.audit_log WHERE action = 'archive.restore' \
         AND (detail->>'restored_erased')::boolean",
    )
    .await;
    assert_eq!(audited, 1);
}
