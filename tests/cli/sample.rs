//! `derbes sample init`: refuses a database that already holds tables, and what
//! `--force` may replace (it once dropped every table of schema public with no
//! prompt and no check).

use predicates::prelude::*;

use crate::support::{database_checksums, TestDb};

async fn borrowers(db: &TestDb) -> i64 {
    db.client()
        .await
        .query_one("SELECT count(*) FROM borrowers", &[])
        .await
        .unwrap()
        .get(0)
}

fn init(db: &TestDb, extra: &[&str]) -> assert_cmd::assert::Assert {
    db.cmd()
        .args([
            "sample",
            "init",
            "--borrowers",
            "5",
            "--logs-per-borrower",
            "1",
        ])
        .args(extra)
        .assert()
}

/// An untouched sample is replaced only with --yes off a terminal; a sample with a
/// row the generator did not make is refused even then.
#[tokio::test]
async fn sample_init_force_replaces_only_an_untouched_sample() {
    let db = TestDb::reference().await;
    let before = borrowers(&db).await;
    assert!(before > 5);
    init(&db, &[])
        .code(5)
        .stderr(predicate::str::contains("--force"));
    init(&db, &["--force"])
        .code(5)
        .stderr(predicate::str::contains("--yes"));
    assert_eq!(
        borrowers(&db).await,
        before,
        "nothing dropped without --yes"
    );
    init(&db, &["--force", "--yes"]).success();
    assert_eq!(borrowers(&db).await, 5);

    db.client()
        .await
        .batch_execute(
            "INSERT INTO borrowers (id, iin, last_name, first_name, birth_date, sex, phone) \
             VALUES (900001, '880330300026', 'Real', 'Person', '1988-03-30', 'M', '+77019990001')",
        )
        .await
        .unwrap();
    init(&db, &["--force", "--yes"])
        .code(5)
        .stderr(predicate::str::contains("did not generate"));
    assert_eq!(borrowers(&db).await, 6, "the foreign row is still there");
}

/// A database whose audit log holds records has seen real work: never replaced.
#[tokio::test]
async fn sample_init_force_refuses_a_database_with_audit_records() {
    let db = TestDb::migrated().await;
    let mut client = db.client().await;
    let tx = client.transaction().await.unwrap();
    derbes::pg::audit::append(
        &tx,
        "tester",
        &derbes::pg::audit::AuditEntry {
            action: "export".to_owned(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let before = borrowers(&db).await;
    init(&db, &["--force", "--yes"])
        .code(5)
        .stderr(predicate::str::contains("derbes.audit_log holds 1 record"));
    assert_eq!(borrowers(&db).await, before);
}

/// Tables that `sample init` did not make (no marker on schema public) stay.
#[tokio::test]
async fn sample_init_force_refuses_a_schema_it_did_not_make() {
    let db = TestDb::empty().await;
    db.client()
        .await
        .batch_execute("CREATE TABLE customers (id int); INSERT INTO customers VALUES (1)")
        .await
        .unwrap();
    init(&db, &["--force", "--yes"])
        .code(5)
        .stderr(predicate::str::contains("not made by `derbes sample init`"));
    let rows: i64 = db
        .client()
        .await
        .query_one("SELECT count(*) FROM customers", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(rows, 1);
}
#[tokio::test]
async fn sample_init_refuses_a_database_with_tables_and_changes_nothing() {
    let db = TestDb::reference().await;
    let client = db.client().await;
    let before = database_checksums(&client).await;
    db.cmd()
        .args(["sample", "init", "--borrowers", "10", "--seed", "7"])
        .assert()
        .code(5)
        .stderr(predicate::str::contains("already holds"))
        .stderr(predicate::str::contains("schema public"))
        .stderr(predicate::str::contains("--force"));
    assert_eq!(database_checksums(&client).await, before);

    // An empty database is filled.
    let empty = TestDb::empty().await;
    empty
        .cmd()
        .args(["sample", "init", "--borrowers", "10", "--seed", "7"])
        .assert()
        .success();
    let borrowers: i64 = empty
        .client()
        .await
        .query_one("SELECT count(*) FROM borrowers", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(borrowers, 10);
}
