//! `derbes policy publish | objection | status` (docs/policy.md 10.2-10.5): a version
//! queues a notice for every active subject and no one else, objections are
//! recorded on the subject's notice, status counts them; dry runs and bad input
//! change nothing.

use chrono::{Duration, NaiveDate};
use predicates::prelude::*;
use sha2::{Digest, Sha256};

use crate::support::{count, database_checksums, temp_file, TestDb};

fn today() -> NaiveDate {
    derbes::when::today(derbes::when::default_time_zone())
}

/// Some subjects blocked and closed, so "active" is a real filter.
async fn mix_statuses(client: &tokio_postgres::Client) {
    client
        .batch_execute(
            "UPDATE borrowers SET status = 'blocked' WHERE id IN (SELECT id FROM borrowers ORDER BY id LIMIT 3);
             UPDATE borrowers SET status = 'closed' WHERE id IN (SELECT id FROM borrowers ORDER BY id OFFSET 3 LIMIT 2);",
        )
        .await
        .unwrap();
}

fn publish(
    db: &TestDb,
    version: &str,
    effective: NaiveDate,
    text: &std::path::Path,
) -> assert_cmd::Command {
    let mut cmd = db.cmd();
    cmd.args(["policy", "publish", version, "--effective"])
        .arg(effective.to_string())
        .arg("--text")
        .arg(text)
        .args(["--ticket", "POL-1"]);
    cmd
}

#[tokio::test]
async fn publish_queues_a_notice_for_every_active_subject_and_no_one_else() {
    let db = TestDb::migrated().await;
    let client = db.client().await;
    mix_statuses(&client).await;
    let active = count(
        &client,
        "SELECT count(*) FROM borrowers WHERE status = 'active'",
    )
    .await;
    let inactive = count(
        &client,
        "SELECT count(*) FROM borrowers WHERE status <> 'active'",
    )
    .await;
    assert!(active > 0 && inactive >= 5);
    let (_dir, text) = temp_file("policy.txt", "Құпиялылық саясаты, 9.9 нұсқасы");
    publish(&db, "9.9", today() + Duration::days(30), &text)
        .args(["--yes", "--format", "json"])
        .assert()
        .success()
        .stdout(predicate::str::contains(format!("\"notices\":{active}")));

    // The oracle: hand-written SQL over the reference schema.
    let notices = "FROM policy_notices n JOIN policy_versions v ON v.id = n.policy_version_id WHERE v.version = '9.9'";
    assert_eq!(
        count(&client, &format!("SELECT count(*) {notices}")).await,
        active
    );
    assert_eq!(
        count(
            &client,
            &format!("SELECT count(DISTINCT n.borrower_id) {notices}")
        )
        .await,
        active
    );
    assert_eq!(
        count(
            &client,
            &format!("SELECT count(*) {notices} AND n.borrower_id IN (SELECT id FROM borrowers WHERE status <> 'active')")
        )
        .await,
        0,
        "no notice for blocked or closed subjects"
    );
    assert_eq!(
        count(
            &client,
            &format!("SELECT count(*) {notices} AND n.objected_at IS NULL")
        )
        .await,
        active
    );
    let sha: String = client
        .query_one(
            "SELECT text_sha256::text FROM policy_versions WHERE version = '9.9'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        sha,
        hex::encode(Sha256::digest("Құпиялылық саясаты, 9.9 нұсқасы"))
    );
    let row = client
        .query_one(
            "SELECT effective_on, notices, ticket FROM derbes.policy_publications WHERE version = '9.9'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, NaiveDate>(0), today() + Duration::days(30));
    assert_eq!(row.get::<_, i64>(1), active);
    let audited = client
        .query_one(
            "SELECT count(*), max(counts->>'notices'), max(detail->>'version') FROM derbes.audit_log WHERE action = 'policy.publish'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(audited.get::<_, i64>(0), 1);
    assert_eq!(
        audited.get::<_, Option<String>>(1),
        Some(active.to_string())
    );
    assert_eq!(audited.get::<_, Option<String>>(2).as_deref(), Some("9.9"));
    db.cmd().args(["audit", "verify"]).assert().success();

    // Publishing the same version again is refused.
    let before = database_checksums(&client).await;
    publish(&db, "9.9", today() + Duration::days(30), &text)
        .arg("--yes")
        .assert()
        .code(5)
        .stderr(predicate::str::contains("already published"));
    assert_eq!(database_checksums(&client).await, before);
}

#[tokio::test]
async fn a_dry_run_changes_nothing() {
    let db = TestDb::migrated().await;
    let client = db.client().await;
    let before = database_checksums(&client).await;
    let (_dir, text) = temp_file("policy.txt", "text");
    publish(&db, "9.9", today() + Duration::days(10), &text)
        .arg("--dry-run")
        .assert()
        .success()
        .stdout(predicate::str::contains("would publish"));
    assert_eq!(database_checksums(&client).await, before);
}

#[tokio::test]
async fn objections_are_recorded_and_counted() {
    let db = TestDb::migrated().await;
    let client = db.client().await;
    mix_statuses(&client).await;
    let (_dir, text) = temp_file("policy.txt", "text");
    // In effect today: silence already counts as consent.
    publish(&db, "9.9", today(), &text)
        .arg("--yes")
        .assert()
        .success();
    let active = count(
        &client,
        "SELECT count(*) FROM borrowers WHERE status = 'active'",
    )
    .await;
    let objector: i64 = client
        .query_one("SELECT min(id) FROM borrowers WHERE status = 'active'", &[])
        .await
        .unwrap()
        .get(0);
    let id = format!("id:{objector}");
    let object = |id: &str, version: &str| {
        let mut cmd = db.cmd();
        cmd.args(["policy", "objection", id, "--version", version])
            .args(["--document", "MAIL-2027-0042", "--ticket", "REQ-90"]);
        cmd
    };

    // A dry run records nothing.
    let before = database_checksums(&client).await;
    object(&id, "9.9").arg("--dry-run").assert().success();
    assert_eq!(database_checksums(&client).await, before);

    object(&id, "9.9")
        .arg("--yes")
        .assert()
        .success()
        .stdout(predicate::str::contains("objection recorded"));
    let row = client
        .query_one(
            "SELECT n.objected_at IS NOT NULL, n.objection_ref FROM policy_notices n \
             JOIN policy_versions v ON v.id = n.policy_version_id \
             WHERE v.version = '9.9' AND n.borrower_id = $1",
            &[&objector],
        )
        .await
        .unwrap();
    assert!(row.get::<_, bool>(0));
    assert_eq!(
        row.get::<_, Option<String>>(1).as_deref(),
        Some("MAIL-2027-0042")
    );
    let audited = client
        .query_one(
            "SELECT subject_ref, detail->>'document' FROM derbes.audit_log WHERE action = 'policy.objection'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(audited.get::<_, String>(0), format!("borrowers:{objector}"));
    assert_eq!(audited.get::<_, String>(1), "MAIL-2027-0042");

    // Twice, an unnotified subject, an unknown version: refused, nothing changed.
    let before = database_checksums(&client).await;
    object(&id, "9.9")
        .arg("--yes")
        .assert()
        .code(5)
        .stderr(predicate::str::contains("already objected"));
    let blocked: i64 = client
        .query_one(
            "SELECT min(id) FROM borrowers WHERE status = 'blocked'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    object(&format!("id:{blocked}"), "9.9")
        .arg("--yes")
        .assert()
        .code(5)
        .stderr(predicate::str::contains("no notice"));
    object(&id, "7.7")
        .arg("--yes")
        .assert()
        .code(3)
        .stderr(predicate::str::contains("no policy version 7.7"));
    assert_eq!(database_checksums(&client).await, before);

    let out = db
        .cmd()
        .args(["--format", "json", "policy", "status", "9.9"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(status["notified"], active);
    assert_eq!(status["objected"], 1);
    assert_eq!(status["silent"], active - 1);
    assert_eq!(status["active_not_notified"], 0);
    assert_eq!(status["silence_counts_as_consent"], true);
    assert_eq!(status["effective_source"], "derbes");
    db.cmd()
        .args(["policy", "status", "9.9"])
        .assert()
        .success()
        .stdout(predicate::str::contains("10.5 applies"));

    // The subject's export lists the notice and the objection, in each language.
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("b.tar");
    db.cmd()
        .args(["export", &id, "--ticket", "REQ-91", "--plaintext", "--out"])
        .arg(&bundle)
        .assert()
        .success();
    let members = crate::export::untar(&std::fs::read(&bundle).unwrap());
    let data: serde_json::Value = serde_json::from_slice(&members["data.json"]).unwrap();
    let notice = data["policy_notices"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["version"] == "9.9")
        .expect("the notice of 9.9 is exported");
    assert!(notice["objected_at"].is_string());
    let html = String::from_utf8(members["summary.html"].clone()).unwrap();
    for text in [
        "9.9 нұсқасы: хабарлама жіберілді",
        "қарсылық білдірілді",
        "Версия 9.9: уведомление направлено",
        "возражение получено",
        "Version 9.9: notified",
    ] {
        assert!(html.contains(text), "summary.html lacks {text}");
    }
}

#[tokio::test]
async fn status_of_a_version_published_outside_derbes_matches_the_ledger() {
    let db = TestDb::migrated().await;
    let client = db.client().await;
    let version: String = client
        .query_one(
            "SELECT version FROM policy_versions ORDER BY published_at DESC LIMIT 1",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    let oracle = client
        .query_one(
            "SELECT count(*), count(n.objected_at) FROM policy_notices n \
             JOIN policy_versions v ON v.id = n.policy_version_id WHERE v.version = $1",
            &[&version],
        )
        .await
        .unwrap();
    let out = db
        .cmd()
        .args(["--format", "json", "policy", "status", &version])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(status["notified"], oracle.get::<_, i64>(0));
    assert_eq!(status["objected"], oracle.get::<_, i64>(1));
    assert_eq!(status["effective_source"], "publication_date");
}

#[tokio::test]
async fn a_future_effective_date_means_silence_does_not_count_yet() {
    let db = TestDb::migrated().await;
    let (_dir, text) = temp_file("policy.txt", "text");
    publish(&db, "9.9", today() + Duration::days(30), &text)
        .arg("--yes")
        .assert()
        .success();
    db.cmd()
        .args(["policy", "status", "9.9"])
        .assert()
        .success()
        .stdout(predicate::str::contains("10.5 does not apply yet"));
}

#[tokio::test]
async fn bad_input_is_refused_and_changes_nothing() {
    let db = TestDb::migrated().await;
    let client = db.client().await;
    let before = database_checksums(&client).await;
    let (_dir, text) = temp_file("policy.txt", "text");
    let future = (today() + Duration::days(5)).to_string();
    let cases: Vec<(Vec<String>, i32, &str)> = vec![
        // A date that does not parse.
        (
            vec![
                "9.9".into(),
                "--effective".into(),
                "2027-13-01".into(),
                "--text".into(),
                text.display().to_string(),
            ],
            2,
            "--effective",
        ),
        (
            vec![
                "9.9".into(),
                "--effective".into(),
                "next week".into(),
                "--text".into(),
                text.display().to_string(),
            ],
            2,
            "--effective",
        ),
        // In the past: no notice period.
        (
            vec![
                "9.9".into(),
                "--effective".into(),
                "2020-01-01".into(),
                "--text".into(),
                text.display().to_string(),
            ],
            2,
            "before today",
        ),
        // The versions table records the text's hash: --text is needed.
        (
            vec!["9.9".into(), "--effective".into(), future.clone()],
            2,
            "--text",
        ),
        (
            vec![
                "9.9".into(),
                "--effective".into(),
                future.clone(),
                "--text".into(),
                "/nonexistent/policy.txt".into(),
            ],
            2,
            "cannot read",
        ),
        // Not a version label.
        (
            vec![
                "nine point nine".into(),
                "--effective".into(),
                future.clone(),
                "--text".into(),
                text.display().to_string(),
            ],
            2,
            "version label",
        ),
        // Already published by the sample.
        (
            vec![
                "2.1".into(),
                "--effective".into(),
                future.clone(),
                "--text".into(),
                text.display().to_string(),
            ],
            5,
            "already published",
        ),
    ];
    for (args, code, message) in cases {
        db.cmd()
            .args(["policy", "publish"])
            .args(&args)
            .args(["--ticket", "POL-2", "--yes"])
            .assert()
            .code(code)
            .stderr(predicate::str::contains(message));
    }
    db.cmd()
        .args(["policy", "status", "7.7"])
        .assert()
        .code(3)
        .stderr(predicate::str::contains("no policy version 7.7"));
    // A ticket that holds personal data is refused before anything runs.
    db.cmd()
        .args(["policy", "publish", "9.9", "--effective", &future, "--text"])
        .arg(&text)
        .args(["--ticket", "call +7 701 234 56 78", "--yes"])
        .assert()
        .code(2);
    // Off a terminal without --yes: refused.
    db.cmd()
        .args(["policy", "publish", "9.9", "--effective", &future, "--text"])
        .arg(&text)
        .args(["--ticket", "POL-3"])
        .assert()
        .code(5);
    assert_eq!(database_checksums(&client).await, before);
}

/// Another schema, other names and types, no status column: every subject counts
/// as active; a disclosure ledger without categories refuses `--categories`.
#[tokio::test]
async fn the_ledgers_work_on_another_schema() {
    let db = crate::foreign_schema::shop_db().await;
    let client = db.client().await;
    client
        .batch_execute(
            "CREATE TABLE shop.rules_versions (vid integer GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, \
                 label varchar(20) NOT NULL UNIQUE, released timestamp NOT NULL, in_force date);
             CREATE TABLE shop.rules_notices (nid serial PRIMARY KEY, \
                 client_ref integer NOT NULL REFERENCES shop.clients (client_no), \
                 vid integer NOT NULL REFERENCES shop.rules_versions (vid), sent date NOT NULL, objected timestamptz);
             CREATE INDEX ON shop.rules_notices (client_ref);
             CREATE TABLE shop.transfers (tid serial PRIMARY KEY, \
                 client_ref integer NOT NULL REFERENCES shop.clients (client_no), \
                 to_whom text NOT NULL, why text NOT NULL, happened date NOT NULL);
             CREATE INDEX ON shop.transfers (client_ref);",
        )
        .await
        .unwrap();
    let map = std::fs::read_to_string(crate::foreign_schema::shop_map()).unwrap()
        + r#"
[tables.rules_notices]
link = { column = "client_ref" }
[tables.rules_notices.columns]
sent = { category = "consent", purpose = "orders" }
objected = { category = "consent", purpose = "orders" }

[tables.transfers]
link = { column = "client_ref" }
[tables.transfers.columns]
to_whom = { category = "disclosure", purpose = "orders" }

[ledgers]
policy = { versions = "rules_versions", version = "label", published_at = "released", effective = "in_force", notices = "rules_notices", notice_version = "vid", notified_at = "sent", objected_at = "objected" }
disclosures = { table = "transfers", recipient = "to_whom", purpose = "why", disclosed_at = "happened" }
"#;
    let (_dir, map_path) = temp_file("shop.toml", &map);
    let shop = |args: &[&str]| {
        let mut cmd = db.cmd();
        cmd.arg("--map").arg(&map_path).args(args);
        cmd
    };
    shop(&["migrate"]).assert().success();
    shop(&["map", "check"]).assert().success();
    let effective = (today() + Duration::days(14)).to_string();
    shop(&[
        "policy",
        "publish",
        "r-7",
        "--effective",
        &effective,
        "--ticket",
        "POL-7",
        "--yes",
    ])
    .assert()
    .success();
    let clients = count(&client, "SELECT count(*) FROM shop.clients").await;
    assert_eq!(
        count(&client, "SELECT count(*) FROM shop.rules_notices n JOIN shop.rules_versions v USING (vid) WHERE v.label = 'r-7'").await,
        clients
    );
    assert_eq!(
        client
            .query_one(
                "SELECT in_force FROM shop.rules_versions WHERE label = 'r-7'",
                &[]
            )
            .await
            .unwrap()
            .get::<_, NaiveDate>(0),
        today() + Duration::days(14)
    );
    shop(&[
        "policy",
        "objection",
        "id:2",
        "--version",
        "r-7",
        "--document",
        "MAIL-7",
        "--ticket",
        "REQ-7",
        "--yes",
    ])
    .assert()
    .success();
    let out = shop(&["--format", "json", "policy", "status", "r-7"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(status["notified"], clients);
    assert_eq!(status["objected"], 1);
    assert_eq!(status["silence_counts_as_consent"], false);

    shop(&[
        "disclosure",
        "record",
        "id:1",
        "--recipient",
        "Courier",
        "--basis",
        "consent",
        "--purpose",
        "orders",
        "--ticket",
        "REQ-8",
        "--yes",
    ])
    .assert()
    .success();
    assert_eq!(
        count(&client, "SELECT count(*) FROM shop.transfers WHERE client_ref = 1 AND to_whom = 'Courier' AND why = 'orders' AND happened = current_date").await,
        1
    );
    let before = database_checksums(&client).await;
    shop(&[
        "disclosure",
        "record",
        "id:1",
        "--recipient",
        "Courier",
        "--basis",
        "consent",
        "--purpose",
        "orders",
        "--categories",
        "name",
        "--ticket",
        "REQ-9",
        "--yes",
    ])
    .assert()
    .code(2)
    .stderr(predicate::str::contains("no `categories` column"));
    assert_eq!(database_checksums(&client).await, before);
}

/// `map check` says at once when `policy publish` could not insert notices: the
/// notices table reaches the subject in two steps.
#[tokio::test]
async fn map_check_refuses_a_notices_table_not_linked_straight_to_the_subject() {
    let db = crate::foreign_schema::shop_db().await;
    let client = db.client().await;
    client
        .batch_execute(
            "CREATE TABLE shop.rules_versions (vid integer PRIMARY KEY, label text NOT NULL UNIQUE, released timestamptz NOT NULL)",
        )
        .await
        .unwrap();
    let map = std::fs::read_to_string(crate::foreign_schema::shop_map()).unwrap()
        + r#"
[ledgers]
policy = { versions = "rules_versions", version = "label", published_at = "released", notices = "order_items", notice_version = "qty", notified_at = "sku", objected_at = "sku" }
"#;
    let (_dir, map_path) = temp_file("shop.toml", &map);
    let out = db
        .cmd()
        .arg("--map")
        .arg(&map_path)
        .args(["map", "check"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(6));
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(
        text.contains("does not link straight to the subject table"),
        "{text}"
    );
}
