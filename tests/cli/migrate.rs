//! `derbes migrate` and the "run derbes migrate" guidance.

use predicates::prelude::*;

use crate::support::TestDb;

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
        .stdout(predicate::str::contains("\"applied\": []"));
    let client = db.client().await;
    let version: i32 = client
        .query_one("SELECT max(version) FROM derbes.schema_migrations", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(version, derbes::migrate::latest_version());
}

#[tokio::test]
async fn migrate_dry_run_changes_nothing() {
    let db = TestDb::empty().await;
    db.cmd().args(["migrate", "--dry-run"]).assert().success();
    let client = db.client().await;
    let exists: bool = client
        .query_one("SELECT to_regnamespace('derbes') IS NOT NULL", &[])
        .await
        .unwrap()
        .get(0);
    assert!(!exists, "a dry run must roll back");
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
