//! A schema derbes was not designed for (`tests/fixtures/shop.*`): other names,
//! another schema, a path through two tables. Nothing may be hard-coded to the
//! reference schema.

use predicates::prelude::*;

use crate::support::{repo_root, TestDb};

pub async fn shop_db() -> TestDb {
    let db = TestDb::empty().await;
    let client = db.client().await;
    client
        .batch_execute(include_str!("../fixtures/shop.sql"))
        .await
        .expect("shop schema loads");
    db
}

pub fn shop_map() -> std::path::PathBuf {
    repo_root().join("tests/fixtures/shop.toml")
}

#[tokio::test]
async fn map_check_passes_and_warns_about_the_unindexed_link() {
    let db = shop_db().await;
    db.cmd()
        .arg("--map")
        .arg(shop_map())
        .args(["map", "check"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "CREATE INDEX CONCURRENTLY \"order_items_order_ref_idx\" ON \"shop\".\"order_items\" (\"order_ref\");",
        ))
        .stdout(predicate::str::contains(
            "shop.order_items -> shop.orders -> shop.clients",
        ));
}

#[tokio::test]
async fn migrate_and_audit_work_beside_a_foreign_schema() {
    let db = shop_db().await;
    db.cmd().arg("migrate").assert().success();
    db.cmd().args(["audit", "verify"]).assert().success();
}

#[tokio::test]
async fn map_init_drafts_a_map_that_checks() {
    let db = shop_db().await;
    let dir = tempfile::tempdir().unwrap();
    let draft = dir.path().join("draft.toml");
    db.cmd()
        .args(["map", "init", "--schema", "shop", "--out"])
        .arg(&draft)
        .assert()
        .success();
    let text = std::fs::read_to_string(&draft).unwrap();
    assert!(text.contains("table = \"clients\""), "{text}");
    assert!(
        text.contains("link = { column = \"order_ref\", via = \"orders\" }"),
        "{text}"
    );
    db.cmd()
        .arg("--map")
        .arg(&draft)
        .args(["map", "check"])
        .assert()
        .success();
    // An existing file is not overwritten without --force.
    db.cmd()
        .args(["map", "init", "--schema", "shop", "--out"])
        .arg(&draft)
        .assert()
        .code(5);
}
