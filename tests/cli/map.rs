//! `derbes map check` on the reference schema and on broken maps.

use predicates::prelude::*;

use crate::support::{reference_map, temp_file, TestDb};

#[tokio::test]
async fn the_reference_map_checks_clean() {
    let db = TestDb::reference().await;
    db.cmd()
        .args(["map", "check"])
        .assert()
        .success()
        .stdout(predicate::str::contains("0 error(s), 0 warning(s)"))
        .stdout(predicate::str::contains("public.payments"))
        .stdout(predicate::str::contains("-> public.borrowers"));
}

#[tokio::test]
async fn a_missing_table_or_column_fails_with_exit_6() {
    let db = TestDb::reference().await;
    let original = std::fs::read_to_string(reference_map()).unwrap();
    let broken = original
        .replace("[tables.photos]", "[tables.fotos]")
        .replace("[tables.photos.columns]", "[tables.fotos.columns]")
        .replace("doc_number = {", "doc_numbr = {");
    let (_dir, path) = temp_file("broken.toml", &broken);
    db.cmd()
        .arg("--map")
        .arg(&path)
        .args(["--format", "json", "map", "check"])
        .assert()
        .code(6)
        .stdout(predicate::str::contains(
            "table public.fotos does not exist",
        ))
        .stdout(predicate::str::contains("`doc_numbr` does not exist"));
}

#[tokio::test]
async fn an_unindexed_link_column_warns_with_the_index_to_create() {
    let db = TestDb::reference().await;
    db.client()
        .await
        .batch_execute("DROP INDEX payments_loan_idx")
        .await
        .unwrap();
    db.cmd()
        .args(["map", "check"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "CREATE INDEX CONCURRENTLY \"payments_loan_id_idx\" ON \"public\".\"payments\" (\"loan_id\");",
        ));
}

#[tokio::test]
async fn an_unmapped_personal_column_is_reported() {
    let db = TestDb::reference().await;
    db.client()
        .await
        .batch_execute("ALTER TABLE loans ADD COLUMN guarantor_phone text")
        .await
        .unwrap();
    db.cmd()
        .args(["map", "check"])
        .assert()
        .success()
        .stdout(predicate::str::contains("loans.guarantor_phone"));
}

#[test]
fn a_toml_syntax_error_names_file_and_line() {
    let original = std::fs::read_to_string(reference_map()).unwrap();
    let broken = original.replacen("key = \"id\"", "key = \"id", 1);
    let (_dir, path) = temp_file("syntax.toml", &broken);
    let line = broken
        .lines()
        .position(|l| l.starts_with("key = \"id"))
        .unwrap()
        + 1;
    crate::support::derbes_cmd()
        .arg("--map")
        .arg(&path)
        .args(["--db", "postgres://nobody@127.0.0.1:1/x", "map", "check"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("syntax.toml"))
        .stderr(predicate::str::contains(format!("line {line}")));
}

#[test]
fn a_category_that_does_not_exist_is_refused() {
    let original = std::fs::read_to_string(reference_map()).unwrap();
    let broken = original.replacen("category = \"iin\"", "category = \"shoe_size\"", 1);
    let (_dir, path) = temp_file("bad.toml", &broken);
    crate::support::derbes_cmd()
        .arg("--map")
        .arg(&path)
        .args(["--db", "postgres://nobody@127.0.0.1:1/x", "map", "check"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("shoe_size"));
}

#[tokio::test]
async fn disclosures_naming_categories_the_map_does_not_know_fail_the_check() {
    let db = TestDb::reference().await;
    db.client()
        .await
        .batch_execute(
            "INSERT INTO disclosures (borrower_id, recipient, purpose, legal_basis, categories, disclosed_at) \
             SELECT id, 'Bureau', 'p', 'b', '{surname,iin}', now() FROM borrowers LIMIT 1",
        )
        .await
        .unwrap();
    db.cmd()
        .args(["map", "check"])
        .assert()
        .code(6)
        .stdout(predicate::str::contains(
            "disclosures list categories the data map does not know: surname",
        ));
}

#[tokio::test]
async fn the_delete_order_is_whole_and_puts_every_child_before_its_parent() {
    let db = TestDb::reference().await;
    let output = db
        .cmd()
        .args(["--format", "json", "map", "check"])
        .output()
        .unwrap();
    assert!(output.status.success());
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let order: Vec<String> = report["delete_order"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap().to_owned())
        .collect();
    // The whole order: children in waves (alphabetical within a wave), parents last.
    let expected = [
        "addresses",
        "bank_accounts",
        "bank_cards",
        "consents",
        "contact_persons",
        "cookies",
        "disclosures",
        "employments",
        "identity_documents",
        "locations",
        "payments",
        "photos",
        "policy_notices",
        "server_logs",
        "sessions",
        "support_messages",
        "usage_events",
        "devices",
        "loans",
        "borrowers",
    ]
    .map(|t| format!("public.{t}"));
    assert_eq!(order, expected);
    // And what makes it right, from the catalogue itself: for every foreign key
    // between two listed tables, the referencing table comes first.
    let client = db.client().await;
    let keys = client
        .query(
            "SELECT conrelid::regclass::text, confrelid::regclass::text FROM pg_constraint \
             WHERE contype = 'f' AND conrelid <> confrelid",
            &[],
        )
        .await
        .unwrap();
    let position = |table: &str| {
        let name = if table.contains('.') {
            table.to_owned()
        } else {
            format!("public.{table}")
        };
        order.iter().position(|t| *t == name)
    };
    let mut checked = 0;
    for key in keys {
        let (child, parent): (String, String) = (key.get(0), key.get(1));
        if let (Some(c), Some(p)) = (position(&child), position(&parent)) {
            assert!(c < p, "{child} must be deleted before {parent}");
            checked += 1;
        }
    }
    assert!(
        checked >= 10,
        "only {checked} foreign keys among mapped tables"
    );
}

/// Regression (issue 10, defect 11): a 5 MB data map took over a minute to parse.
/// A map over 1 MiB is refused before parsing, with a clear usage error.
#[test]
fn a_data_map_over_one_mib_is_refused_before_parsing() {
    let big = format!("version = 1\n# {}\n", "x".repeat(2 * 1024 * 1024));
    let (_dir, path) = temp_file("huge.toml", &big);
    crate::support::derbes_cmd()
        .env("DERBES_MAP", &path)
        .env("DATABASE_URL", "postgres://nobody@127.0.0.1:1/none")
        .args(["map", "check"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("larger than 1024 KiB"));
}

/// A `[block]` value the column's CHECK constraint refuses made every block fail at
/// its first UPDATE; `map check` passed it. Now it fails the check (exit 6) naming the
/// constraint and the map entry, and nothing is left behind in the database.
#[tokio::test]
async fn a_block_value_the_check_constraint_refuses_fails_the_check() {
    let db = TestDb::reference().await;
    let client = db.client().await;
    // The reference schema: CHECK (status IN ('active', 'blocked', 'closed')).
    // The reference map's values pass.
    db.cmd()
        .args(["map", "check"])
        .assert()
        .success()
        .stdout(predicate::str::contains("0 error(s)"));

    let original = std::fs::read_to_string(reference_map()).unwrap();
    let refused = original.replace(
        "value = \"blocked\", unblock_value = \"active\"",
        "value = \"locked\", unblock_value = \"active\"",
    );
    assert_ne!(
        refused, original,
        "the reference map's [block] line changed"
    );
    let (_dir, path) = temp_file("refused.toml", &refused);
    db.cmd()
        .arg("--map")
        .arg(&path)
        .args(["--format", "json", "map", "check"])
        .assert()
        .code(6)
        .stdout(predicate::str::contains("[block] set value"))
        .stdout(predicate::str::contains("borrowers_status_check"));

    // A constraint over two columns may refuse the value alone and accept the row a
    // block writes: it is not held against the map.
    client
        .batch_execute(
            "ALTER TABLE borrowers ADD CONSTRAINT borrowers_status_dated CHECK (status <> 'blocked' OR created_at IS NOT NULL)",
        )
        .await
        .unwrap();
    db.cmd().args(["map", "check"]).assert().success();
    let left: i64 = client
        .query_one(
            "SELECT count(*) FROM pg_class WHERE relname = 'derbes_value_probe'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(left, 0, "the probe table is rolled back");
}
