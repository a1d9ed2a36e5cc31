//! `derbes consent list | withdraw | grant`: a withdrawal held back by an open loan
//! (Law 94-V Art. 8(2)) and accepted once the loan is closed, purposes that must be
//! the data map's, and `map check` naming consent purposes the map does not declare.

use predicates::prelude::*;
use tokio_postgres::Client;

use crate::rectify::db_with_subject;
use crate::support::{database_checksums, others_checksums, reference_map, temp_file, TestDb};

fn consent(db: &TestDb, args: &[&str]) -> assert_cmd::Command {
    let mut cmd = db.cmd();
    cmd.arg("consent").args(args);
    cmd
}

/// (rows in force, newest document) of one purpose of the test subject.
async fn purpose(client: &Client, purpose: &str) -> (i64, Option<String>) {
    let row = client
        .query_one(
            "SELECT count(*) FILTER (WHERE withdrawn_at IS NULL), max(document_ref) \
             FROM consents WHERE borrower_id = 900001 AND purpose = $1",
            &[&purpose],
        )
        .await
        .unwrap();
    (row.get(0), row.get(1))
}

fn withdraw_args<'a>(purpose: &'a str, document: &'a str) -> Vec<&'a str> {
    vec![
        "withdraw",
        "061211600012",
        "--purpose",
        purpose,
        "--document",
        document,
        "--ticket",
        "REQ-20",
        "--yes",
    ]
}

/// Issue 22, defect 4 (also): the withdrawal, once accepted, changes no other
/// subject's row in any table (their consents to the same purpose included).
#[tokio::test]
async fn a_withdrawal_waits_for_the_open_loan_to_close() {
    let (db, client) = db_with_subject().await;
    let before = database_checksums(&client).await;
    let others_before = others_checksums(&client, 900001).await;
    let withdraw = withdraw_args("services", "APP-2026-1");
    consent(&db, &withdraw)
        .assert()
        .code(5)
        .stderr(predicate::str::contains("loan loans:900001 (open)"))
        .stderr(predicate::str::contains("Art. 8(2)"))
        .stderr(predicate::str::contains(
            "repay and close the loan, then withdraw",
        ))
        .stderr(predicate::str::contains("MK-TEST").not());
    assert_eq!(before, database_checksums(&client).await);
    consent(&db, &["list", "id:900001"])
        .assert()
        .success()
        .stdout(predicate::str::contains("services"))
        .stdout(predicate::str::contains("loans:900001"));

    client
        .batch_execute("UPDATE loans SET status = 'closed', closed_at = now() WHERE id = 900001")
        .await
        .unwrap();
    let mut dry = withdraw.clone();
    dry.pop();
    dry.push("--dry-run");
    let closed = database_checksums(&client).await;
    consent(&db, &dry)
        .assert()
        .success()
        .stdout(predicate::str::contains("would withdraw"));
    assert_eq!(closed, database_checksums(&client).await);

    consent(&db, &withdraw)
        .assert()
        .success()
        .stdout(predicate::str::contains("withdrawn"))
        .stdout(predicate::str::contains(
            "processing for this purpose stops: ",
        ))
        .stdout(predicate::str::contains("loans.principal"));
    assert_eq!(
        purpose(&client, "services").await,
        (0, Some("APP-2026-1".to_owned()))
    );
    assert_eq!(
        others_checksums(&client, 900001).await,
        others_before,
        "other subjects untouched"
    );
    let audit = client
        .query_one(
            "SELECT subject_ref, ticket, detail->>'purpose', detail->>'document' \
             FROM derbes.audit_log WHERE action = 'consent.withdraw'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(audit.get::<_, String>(0), "borrowers:900001");
    assert_eq!(audit.get::<_, String>(1), "REQ-20");
    assert_eq!(audit.get::<_, String>(2), "services");
    assert_eq!(audit.get::<_, String>(3), "APP-2026-1");
    // Nothing left in force: exit 3.
    consent(&db, &withdraw).assert().code(3);
    db.cmd().args(["audit", "verify"]).assert().success();
}

/// Issue 22, defect 4 (also): neither the withdrawal nor the grant changes another
/// subject's row in any table.
#[tokio::test]
async fn a_purpose_the_loan_does_not_need_is_withdrawn_and_granted_while_it_is_open() {
    let (db, client) = db_with_subject().await;
    let others_before = others_checksums(&client, 900001).await;
    let marketing_elsewhere = crate::support::count(
        &client,
        "SELECT count(*) FROM consents WHERE purpose = 'marketing' AND borrower_id <> 900001 \
         AND withdrawn_at IS NULL",
    )
    .await;
    assert!(
        marketing_elsewhere > 0,
        "others have marketing consents in force that a withdrawal could reach"
    );
    consent(&db, &withdraw_args("marketing", "APP-2026-2"))
        .assert()
        .success()
        .stdout(predicate::str::contains("withdrawn"));
    assert_eq!(
        purpose(&client, "marketing").await,
        (0, Some("APP-2026-2".to_owned()))
    );
    assert_eq!(
        others_checksums(&client, 900001).await,
        others_before,
        "withdraw: other subjects untouched"
    );

    // Granted again with the signed form: a new row in force, the policy version
    // taken from the subject's newest consent.
    let grant = [
        "grant",
        "id:900001",
        "--purpose",
        "marketing",
        "--document",
        "FORM-9",
        "--ticket",
        "REQ-21",
        "--yes",
    ];
    consent(&db, &grant)
        .assert()
        .success()
        .stdout(predicate::str::contains("granted"));
    assert_eq!(purpose(&client, "marketing").await.0, 1);
    let copied: i64 = client
        .query_one(
            "SELECT count(*) FROM consents WHERE borrower_id = 900001 AND purpose = 'marketing' \
             AND document_ref = 'FORM-9' AND withdrawn_at IS NULL \
             AND policy_version_id = (SELECT min(id) FROM policy_versions)",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(copied, 1);
    assert_eq!(
        others_checksums(&client, 900001).await,
        others_before,
        "grant: other subjects untouched"
    );
    let before = database_checksums(&client).await;
    consent(&db, &grant)
        .assert()
        .success()
        .stdout(predicate::str::contains("already in force"));
    assert_eq!(before, database_checksums(&client).await);

    // Without `needs` in the map, an open loan holds every purpose (Art. 8(2) as written).
    let reference = std::fs::read_to_string(reference_map()).unwrap();
    let literal = reference.replace(
        r#", needs = ["identification", "services", "accuracy", "accuracy_check", "security", "feedback", "notices"]"#,
        "",
    );
    assert_ne!(literal, reference);
    let (_dir, map) = temp_file("map.toml", &literal);
    db.cmd()
        .env("DERBES_MAP", &map)
        .arg("consent")
        .args(withdraw_args("marketing", "APP-2026-3"))
        .assert()
        .code(5)
        .stderr(predicate::str::contains("loans:900001"));
    assert_eq!(before, database_checksums(&client).await);
    db.cmd().args(["audit", "verify"]).assert().success();
}

#[tokio::test]
async fn a_purpose_not_in_the_map_is_a_usage_error() {
    let (db, client) = db_with_subject().await;
    client
        .batch_execute("UPDATE loans SET status = 'closed' WHERE id = 900001")
        .await
        .unwrap();
    let before = database_checksums(&client).await;
    for action in ["withdraw", "grant"] {
        consent(
            &db,
            &[
                action,
                "id:900001",
                "--purpose",
                "astrology",
                "--document",
                "APP-1",
                "--ticket",
                "REQ-22",
                "--yes",
            ],
        )
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "`astrology` is not a purpose of the data map",
        ))
        .stderr(predicate::str::contains("marketing"));
    }
    // A document reference that is personal data is refused too.
    consent(
        &db,
        &[
            "withdraw",
            "id:900001",
            "--purpose",
            "marketing",
            "--document",
            "+77010000001",
            "--ticket",
            "REQ-22",
            "--yes",
        ],
    )
    .assert()
    .code(2)
    .stderr(predicate::str::contains("--document"));
    assert_eq!(before, database_checksums(&client).await);
}

#[tokio::test]
async fn map_check_names_consent_purposes_the_map_does_not_declare() {
    let db = TestDb::migrated().await;
    db.cmd()
        .args(["map", "check"])
        .assert()
        .success()
        .stdout(predicate::str::contains("consent ledger holds purposes").not());
    let reference = std::fs::read_to_string(reference_map()).unwrap();
    let without: String = reference
        .lines()
        .filter(|l| !l.starts_with("marketing = {"))
        .collect::<Vec<_>>()
        .join("\n");
    let (_dir, map) = temp_file("map.toml", &without);
    db.cmd()
        .env("DERBES_MAP", &map)
        .args(["map", "check"])
        .assert()
        .code(6)
        .stdout(predicate::str::contains("does not declare: marketing"));
}

#[tokio::test]
async fn consent_list_reports_rows_and_open_loans_as_json() {
    let (db, _client) = db_with_subject().await;
    let output = db
        .cmd()
        .args(["--format", "json", "consent", "list", "aigerim@example.kz"])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let list: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(list["subject"], "borrowers:900001");
    let purposes: Vec<&str> = list["consents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["purpose"].as_str().unwrap())
        .collect();
    assert_eq!(purposes.len(), 2);
    assert!(purposes.contains(&"marketing") && purposes.contains(&"services"));
    assert!(list["consents"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["declared"] == true));
    assert_eq!(list["open_loans"][0], "loan loans:900001 (open)");

    // A map without a consent ledger: a usage error naming what to declare.
    let reference = std::fs::read_to_string(reference_map()).unwrap();
    let without: String = reference
        .lines()
        .filter(|l| !l.starts_with("consents = {"))
        .collect::<Vec<_>>()
        .join("\n");
    let (_dir, map) = temp_file("map.toml", &without);
    db.cmd()
        .env("DERBES_MAP", &map)
        .args(["consent", "list", "id:900001"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("[ledgers]"));
}
