//! `derbes migrate` and the "run derbes migrate" guidance.

use predicates::prelude::*;

use crate::support::{database_checksums, TestDb};

#[tokio::test]
async fn migrate_installs_then_is_idempotent() {
    let db = TestDb::reference().await;
    db.cmd()
        .args(["migrate"])
        .assert()
        .success()
        .stdout(predicate::str::contains("0001_audit"));
    db.cmd()
        .args(["--format", "json", "migrate"])
        .assert()
        .success()
        .stdout(predicate::str::contains("\"applied\":[]"));
    let client = db.client().await;
    let version: i32 = client
        .query_one("SELECT max(version) FROM derbes.schema_migrations", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(version, derbes::pg::migrate::latest_version());
}

/// `derbes --format json migrate [--dry-run]`'s report, without the `dry_run` flag.
fn migrate_report(db: &TestDb, dry_run: bool) -> serde_json::Value {
    let mut cmd = db.cmd();
    cmd.args(["--format", "json", "migrate"]);
    if dry_run {
        cmd.arg("--dry-run");
    }
    let output = cmd.assert().success().get_output().stdout.clone();
    let mut report: serde_json::Value = serde_json::from_slice(&output).unwrap();
    assert_eq!(report["dry_run"], serde_json::json!(dry_run));
    report.as_object_mut().unwrap().remove("dry_run");
    report
}

#[tokio::test]
async fn migrate_dry_run_changes_nothing() {
    let db = TestDb::reference().await;
    let client = db.client().await;
    let before = database_checksums(&client).await;
    let dry = migrate_report(&db, true);
    assert_eq!(
        database_checksums(&client).await,
        before,
        "a dry run must roll back"
    );
    // The dry run is the real run rolled back: the same report.
    let real = migrate_report(&db, false);
    assert_eq!(dry, real);
    assert_eq!(
        real["applied"].as_array().unwrap().len(),
        derbes::pg::migrate::MIGRATIONS.len()
    );
    assert_ne!(database_checksums(&client).await, before);

    // On a migrated database (audit log and all) a dry run reports nothing to do and
    // changes nothing either.
    let migrated = database_checksums(&client).await;
    assert!(migrated.contains_key("derbes.audit_log"));
    let dry = migrate_report(&db, true);
    assert_eq!(dry["applied"], serde_json::json!([]));
    assert_eq!(database_checksums(&client).await, migrated);
    assert_eq!(dry, migrate_report(&db, false));
}

#[tokio::test]
async fn refuses_a_schema_newer_than_the_binary() {
    let db = TestDb::migrated().await;
    let client = db.client().await;
    client
        .batch_execute(
            "INSERT INTO derbes.schema_migrations (version, name, checksum) VALUES (9999, 'future', 'x')",
        )
        .await
        .unwrap();
    db.cmd()
        .args(["migrate"])
        .assert()
        .code(5)
        .stderr(predicate::str::contains("upgrade derbes"));
    db.cmd()
        .args(["audit", "log"])
        .assert()
        .code(5)
        .stderr(predicate::str::contains("newer than this derbes"));
}

#[tokio::test]
async fn commands_on_an_unmigrated_database_say_to_run_migrate() {
    let db = TestDb::reference().await;
    db.cmd()
        .args(["audit", "verify"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("run `derbes migrate`"));
}

#[tokio::test]
async fn commands_on_an_older_schema_say_to_run_migrate() {
    let db = TestDb::migrated().await;
    let client = db.client().await;
    let latest = derbes::pg::migrate::latest_version();
    // The version before it (numbers may skip: each branch has its own).
    let migrations = derbes::pg::migrate::MIGRATIONS;
    let previous = migrations[migrations.len() - 2].version;
    // As if the newest migration had not been applied yet.
    client
        .execute(
            "DELETE FROM derbes.schema_migrations WHERE version = $1",
            &[&latest],
        )
        .await
        .unwrap();
    let before = database_checksums(&client).await;
    for args in [
        &["audit", "verify"][..],
        &["audit", "log"],
        &["blocks"],
        &["archive", "list"],
    ] {
        db.cmd()
            .args(args)
            .assert()
            .code(1)
            .stderr(predicate::str::contains(format!(
                "is at version {previous}, this derbes needs {latest}: run `derbes migrate`"
            )));
    }
    db.cmd()
        .args(["block", "061211600012", "--reason", "fraud"])
        .args(["--ticket", "INC-1", "--yes"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("run `derbes migrate`"));
    assert_eq!(database_checksums(&client).await, before);
}
