//! The gate before every change: a data map that fails the catalogue checks of
//! `map check`, or a derbes schema edited by hand, stops `block` (and every other
//! command that changes data or writes personal data) with exit 6 and changes
//! nothing; `map check` reports a role that cannot read the mapped tables.

use predicates::prelude::*;
use tokio_postgres::Client;

use crate::support::{database_checksums, reference_map, temp_file, TestDb};

/// The reference map with `from` replaced by `to` (each must occur).
fn edited_map(from: &str, to: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let text = std::fs::read_to_string(reference_map()).expect("reference map");
    assert!(text.contains(from), "the reference map holds {from:?}");
    temp_file("datamap.toml", &text.replace(from, to))
}

/// The IIN of an active borrower of the reference population.
async fn active_iin(client: &Client) -> String {
    client
        .query_one(
            "SELECT iin FROM borrowers WHERE status = 'active' ORDER BY id LIMIT 1",
            &[],
        )
        .await
        .expect("an active borrower")
        .get(0)
}

/// `block` with `map` exits 6 naming `words`, sending the operator to `map check`,
/// and leaves every table (audit log included) as it was.
async fn block_is_refused(db: &TestDb, map: &std::path::Path, words: &[&str]) {
    let client = db.client().await;
    let iin = active_iin(&client).await;
    let before = database_checksums(&client).await;
    let mut assert = db
        .cmd()
        .env("DERBES_MAP", map)
        .args([
            "block",
            &iin,
            "--reason",
            "compromised",
            "--ticket",
            "INC-9",
            "--yes",
        ])
        .assert()
        .code(6)
        .stderr(predicate::str::contains("derbes map check"))
        .stderr(predicate::str::contains("nothing was changed"));
    for word in words {
        assert = assert.stderr(predicate::str::contains(*word));
    }
    assert.stderr(predicate::str::contains(iin.as_str()).not());
    assert_eq!(before, database_checksums(&client).await);
}

#[tokio::test]
async fn block_refuses_a_map_naming_a_missing_table() {
    let db = TestDb::migrated().await;
    let (_dir, map) = edited_map("[tables.addresses]", "[tables.addresses_gone]");
    let text = std::fs::read_to_string(&map).unwrap().replace(
        "[tables.addresses.columns]",
        "[tables.addresses_gone.columns]",
    );
    std::fs::write(&map, text).unwrap();
    block_is_refused(&db, &map, &["addresses_gone", "does not exist"]).await;
}

#[tokio::test]
async fn block_refuses_a_map_naming_a_missing_column() {
    let db = TestDb::migrated().await;
    let (_dir, map) = edited_map("\nflat = {", "\nflat_gone = {");
    block_is_refused(&db, &map, &["flat_gone"]).await;
}

#[tokio::test]
async fn block_refuses_a_map_whose_column_type_does_not_fit_its_category() {
    let db = TestDb::migrated().await;
    let (_dir, map) = edited_map(
        "issued_on = { category = \"identity_document\"",
        "issued_on = { category = \"email\"",
    );
    block_is_refused(&db, &map, &["issued_on"]).await;
}

#[tokio::test]
async fn block_refuses_after_a_migration_checksum_was_edited() {
    let db = TestDb::migrated().await;
    let client = db.client().await;
    client
        .batch_execute(
            "UPDATE derbes.schema_migrations SET checksum = md5('edited') WHERE version = 2",
        )
        .await
        .expect("edit a checksum");
    let iin = active_iin(&client).await;
    let before = database_checksums(&client).await;
    db.cmd()
        .args([
            "block",
            &iin,
            "--reason",
            "compromised",
            "--ticket",
            "INC-9",
            "--yes",
        ])
        .assert()
        .code(6)
        .stderr(predicate::str::contains("migration 2 (blocks)"))
        .stderr(predicate::str::contains("differs"));
    assert_eq!(before, database_checksums(&client).await);
}

#[tokio::test]
async fn the_gate_also_stops_export_unblock_and_archive_dump() {
    let db = TestDb::migrated().await;
    let client = db.client().await;
    let iin = active_iin(&client).await;
    let (_dir, map) = edited_map("\nflat = {", "\nflat_gone = {");
    let out = tempfile::tempdir().unwrap();
    let before = database_checksums(&client).await;
    let recipient = age::x25519::Identity::generate().to_public().to_string();
    let export_to = out.path().join("export.tar");
    let dump_to = out.path().join("dump.age");
    for args in [
        vec![
            "export",
            iin.as_str(),
            "--plaintext",
            "--ticket",
            "REQ-1",
            "--out",
            export_to.to_str().unwrap(),
        ],
        vec![
            "unblock",
            iin.as_str(),
            "--application",
            "APP-1",
            "--ticket",
            "REQ-1",
            "--yes",
        ],
        vec![
            "archive",
            "dump",
            "--yes",
            "--ticket",
            "DPO-1",
            "--subject",
            iin.as_str(),
            "-r",
            recipient.as_str(),
            "--keep",
            "5y",
            "--out",
            dump_to.to_str().unwrap(),
        ],
    ] {
        db.cmd()
            .env("DERBES_MAP", &map)
            .args(&args)
            .assert()
            .code(6)
            .stderr(predicate::str::contains("flat_gone"));
    }
    assert!(!export_to.exists() && !dump_to.exists());
    assert_eq!(before, database_checksums(&client).await);
}

/// A role that may not read a mapped table fails `map check` with the grant to
/// give, and the gate refuses a change with it.
#[tokio::test]
async fn map_check_fails_for_a_role_that_cannot_read_a_mapped_table() {
    let db = TestDb::migrated().await;
    let client = db.client().await;
    let role = format!("{}_reader", db.name);
    client
        .batch_execute(&format!(
            "DROP ROLE IF EXISTS \"{role}\"; CREATE ROLE \"{role}\" LOGIN; \
             GRANT USAGE ON SCHEMA public, derbes TO \"{role}\"; \
             GRANT SELECT ON ALL TABLES IN SCHEMA public, derbes TO \"{role}\"; \
             REVOKE SELECT ON bank_cards FROM \"{role}\";"
        ))
        .await
        .expect("create a role");
    let conninfo: Vec<String> = db
        .conninfo()
        .split_whitespace()
        .filter(|kv| !kv.starts_with("user="))
        .map(str::to_owned)
        .chain([format!("user={role}")])
        .collect();
    let conninfo = conninfo.join(" ");
    db.cmd()
        .env("DATABASE_URL", &conninfo)
        .args(["map", "check"])
        .assert()
        .code(6)
        .stdout(predicate::str::contains(format!(
            "role {role} lacks SELECT on public.bank_cards"
        )))
        .stdout(predicate::str::contains(format!(
            "GRANT SELECT ON \"public\".\"bank_cards\" TO \"{role}\""
        )));
    let _ = client
        .batch_execute(&format!("DROP OWNED BY \"{role}\"; DROP ROLE \"{role}\""))
        .await;
}

/// A role (one with read grants only) for a test database, and the conninfo that
/// logs in as it.
async fn read_only_role(db: &TestDb, client: &Client) -> (String, String) {
    let role = format!("{}_ro", db.name);
    client
        .batch_execute(&format!(
            "DROP ROLE IF EXISTS \"{role}\"; CREATE ROLE \"{role}\" LOGIN; \
             GRANT USAGE ON SCHEMA public, derbes TO \"{role}\"; \
             GRANT SELECT ON ALL TABLES IN SCHEMA public, derbes TO \"{role}\";"
        ))
        .await
        .expect("create a role");
    let conninfo: Vec<String> = db
        .conninfo()
        .split_whitespace()
        .filter(|kv| !kv.starts_with("user="))
        .map(str::to_owned)
        .chain([format!("user={role}")])
        .collect();
    (role, conninfo.join(" "))
}

/// "permission denied for table borrowers" names the role and the GRANT to give
/// (never UPDATE on the append-only audit log), is a refusal (exit 5), and changes
/// nothing.
#[tokio::test]
async fn a_missing_grant_names_the_role_and_the_grant() {
    let db = TestDb::migrated().await;
    let client = db.client().await;
    let iin = active_iin(&client).await;
    let (role, conninfo) = read_only_role(&db, &client).await;
    let before = database_checksums(&client).await;
    db.cmd()
        .env("DATABASE_URL", &conninfo)
        .args([
            "block",
            &iin,
            "--reason",
            "fraud",
            "--ticket",
            "INC-9",
            "--dry-run",
        ])
        .assert()
        .code(5)
        .stderr(predicate::str::contains(format!("role \"{role}\" lacks")))
        .stderr(predicate::str::contains(format!(
            "GRANT SELECT, UPDATE ON TABLE borrowers TO \"{role}\";"
        )))
        .stderr(predicate::str::contains("permission denied").not());
    let out = tempfile::tempdir().unwrap();
    let file = out.path().join("bundle.tar");
    db.cmd()
        .env("DATABASE_URL", &conninfo)
        .args(["export", &iin, "--plaintext", "--ticket", "REQ-9", "--out"])
        .arg(&file)
        .assert()
        .code(5)
        .stderr(predicate::str::contains(format!(
            "GRANT UPDATE ON TABLE derbes.audit_lock TO \"{role}\";"
        )))
        .stderr(predicate::str::contains("UPDATE ON TABLE derbes.audit_log").not());
    assert!(!file.exists());
    assert_eq!(before, database_checksums(&client).await);
    let _ = client
        .batch_execute(&format!("DROP OWNED BY \"{role}\"; DROP ROLE \"{role}\""))
        .await;
}

/// An export against a read-only server (a standby, or read-only by default) says
/// so and where to run it, instead of the server's raw text; no file is kept.
#[tokio::test]
async fn an_export_on_a_read_only_server_says_to_use_the_primary() {
    let db = TestDb::migrated().await;
    let client = db.client().await;
    let iin = active_iin(&client).await;
    client
        .batch_execute(&format!(
            "ALTER DATABASE \"{}\" SET default_transaction_read_only = on",
            db.name
        ))
        .await
        .unwrap();
    let out = tempfile::tempdir().unwrap();
    let file = out.path().join("bundle.tar");
    db.cmd()
        .args(["export", &iin, "--plaintext", "--ticket", "REQ-9", "--out"])
        .arg(&file)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("the database is read-only"))
        .stderr(predicate::str::contains("against the primary"))
        .stderr(predicate::str::contains("cannot execute").not());
    assert!(!file.exists());
}

/// Issue 26, item 1: an error that follows from where derbes connected names the
/// database, host and port it reached (never the password), so a map checked
/// against the wrong database (libpq's defaults) does not read like a wrong map;
/// `-v` logs where it connected.
#[tokio::test]
async fn an_error_names_the_database_it_happened_in_never_the_password() {
    let db = TestDb::empty().await;
    let conninfo = format!("{} password=not-a-real-secret", db.conninfo());
    let output = crate::support::derbes_cmd()
        .args(["--db", &conninfo, "--map"])
        .arg(crate::support::reference_map())
        .args(["-v", "subject", "show", "id:1"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    let place = format!("database \"{}\" on 127.0.0.1:5432", db.name);
    assert!(stderr.contains(&format!("  in {place}")), "{stderr}");
    assert!(
        stderr.contains(&format!("connected to {place}")),
        "{stderr}"
    );
    assert!(!stderr.contains("not-a-real-secret"), "{stderr}");
}
