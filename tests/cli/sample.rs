//! `derbes sample init`: refuses a database that already holds tables.

use predicates::prelude::*;

use crate::support::{database_checksums, TestDb};

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
