//! `derbes export`: the bundle decrypts with the stock `age` tool and holds every row
//! of the subject and no row of anyone else; bad input leaves no file behind.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use predicates::prelude::*;
use sha2::{Digest, Sha256};

use crate::foreign_schema::{shop_db, shop_map};
use crate::subject::{iin_born, insert_borrower};
use crate::support::TestDb;

/// An age key pair made by `age-keygen`: (key file, public key).
fn age_key(dir: &Path) -> (PathBuf, String) {
    let key = dir.join("key.txt");
    let out = Command::new("age-keygen")
        .arg("-o")
        .arg(&key)
        .output()
        .expect("age-keygen is installed");
    assert!(out.status.success());
    let text = std::fs::read_to_string(&key).unwrap();
    let public = text
        .lines()
        .find_map(|l| l.strip_prefix("# public key: "))
        .expect("age-keygen writes the public key")
        .to_owned();
    (key, public)
}

/// Decrypt with `age -d -i key` and return the tar's members by path.
fn open_bundle(bundle: &Path, key: &Path) -> BTreeMap<String, Vec<u8>> {
    let out = Command::new("age")
        .args(["-d", "-i"])
        .arg(key)
        .arg(bundle)
        .output()
        .expect("age is installed");
    assert!(
        out.status.success(),
        "age -d failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    untar(&out.stdout)
}

fn untar(bytes: &[u8]) -> BTreeMap<String, Vec<u8>> {
    let mut archive = tar::Archive::new(bytes);
    let mut members = BTreeMap::new();
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let path = entry.path().unwrap().to_string_lossy().into_owned();
        let mut data = Vec::new();
        entry.read_to_end(&mut data).unwrap();
        members.insert(path, data);
    }
    members
}

/// The values of `column` in a CSV member.
fn csv_column(members: &BTreeMap<String, Vec<u8>>, file: &str, column: &str) -> BTreeSet<String> {
    let data = members
        .get(file)
        .unwrap_or_else(|| panic!("{file} in bundle"));
    let mut reader = csv::Reader::from_reader(&data[..]);
    let position = reader
        .headers()
        .unwrap()
        .iter()
        .position(|h| h == column)
        .unwrap_or_else(|| panic!("{file} has column {column}"));
    reader
        .records()
        .map(|r| r.unwrap()[position].to_owned())
        .collect()
}

async fn ids(client: &tokio_postgres::Client, sql: &str, key: i64) -> BTreeSet<String> {
    client
        .query(sql, &[&key])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get::<_, String>(0))
        .collect()
}

/// Every table's rows of `borrower`, by primary key, straight from the database.
async fn expected_rows(
    client: &tokio_postgres::Client,
    borrower: i64,
) -> BTreeMap<&'static str, BTreeSet<String>> {
    let mut expected = BTreeMap::new();
    expected.insert(
        "borrowers",
        ids(
            client,
            "SELECT id::text FROM borrowers WHERE id = $1",
            borrower,
        )
        .await,
    );
    for table in [
        "addresses",
        "identity_documents",
        "contact_persons",
        "employments",
        "bank_cards",
        "bank_accounts",
        "photos",
        "loans",
        "devices",
        "sessions",
        "server_logs",
        "cookies",
        "usage_events",
        "locations",
        "consents",
        "policy_notices",
        "disclosures",
        "support_messages",
    ] {
        let sql = format!("SELECT id::text FROM {table} WHERE borrower_id = $1");
        expected.insert(table, ids(client, &sql, borrower).await);
    }
    expected.insert(
        "payments",
        ids(
            client,
            "SELECT p.id::text FROM payments p JOIN loans l ON l.id = p.loan_id WHERE l.borrower_id = $1",
            borrower,
        )
        .await,
    );
    expected
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

#[tokio::test]
async fn the_bundle_holds_every_row_of_the_subject_and_none_of_another() {
    let db = TestDb::migrated().await;
    let client = db.client().await;
    let mine = iin_born("900101", '3', 300);
    let theirs = iin_born("880330", '3', 400);
    let me = insert_borrower(&client, &mine, "me@example.kz", "+77010000001", 250).await;
    let other = insert_borrower(&client, &theirs, "other@example.kz", "+77010000002", 30).await;
    let dir = tempfile::tempdir().unwrap();
    let (key, public) = age_key(dir.path());
    let bundle = dir.path().join("export.age");
    db.cmd()
        .args([
            "export",
            &mine,
            "--ticket",
            "REQ-1",
            "--recipient",
            &public,
            "--out",
        ])
        .arg(&bundle)
        .assert()
        .success()
        .stdout(predicate::str::contains("server_logs"));
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&bundle).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o600);

    let members = open_bundle(&bundle, &key);
    let expected = expected_rows(&client, me).await;
    for (table, rows) in &expected {
        let file = format!("tables/{table}.csv");
        assert_eq!(&csv_column(&members, &file, "id"), rows, "rows of {table}");
    }
    assert_eq!(expected["server_logs"].len(), 250);
    assert_eq!(expected["payments"].len(), 1);
    let not_mine = expected_rows(&client, other).await;
    for (name, data) in &members {
        for value in [theirs.as_str(), "other@example.kz", "+77010000002"] {
            assert!(
                !contains(data, value),
                "{name} holds another subject's value"
            );
        }
    }
    for (table, rows) in &not_mine {
        let file = format!("tables/{table}.csv");
        assert!(
            csv_column(&members, &file, "id").is_disjoint(rows),
            "{table}"
        );
    }

    // The manifest names every file with its hash; data.json groups by category.
    let manifest: serde_json::Value = serde_json::from_slice(&members["manifest.json"]).unwrap();
    assert_eq!(manifest["ticket"], "REQ-1");
    assert_eq!(manifest["operator"], "test-operator");
    assert_eq!(manifest["subject_ref"], format!("borrowers:{me}"));
    for file in manifest["files"].as_array().unwrap() {
        let path = file["path"].as_str().unwrap();
        assert_eq!(
            file["sha256"].as_str().unwrap(),
            hex::encode(Sha256::digest(&members[path])),
            "{path}"
        );
    }
    let logs = manifest["tables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["table"] == "server_logs")
        .unwrap();
    assert_eq!(logs["rows"], 250);
    let data: serde_json::Value = serde_json::from_slice(&members["data.json"]).unwrap();
    let categories = data["categories"].as_array().unwrap();
    let ip = categories
        .iter()
        .find(|c| c["category"] == "ip_address")
        .expect("ip_address category");
    assert_eq!(ip["record_count"], 251, "250 log rows and one session");
    assert!(ip["held_in"][0]["legal_basis"]
        .as_str()
        .unwrap()
        .contains("Law 94-V"));
    assert!(ip["held_in"][0]["retention"]["keep"].is_string());
    let name = categories.iter().find(|c| c["category"] == "name").unwrap();
    assert_eq!(name["disclosed_to"][0]["recipient"], "First Credit Bureau");
    assert_eq!(data["consents"][0]["purpose"], "services");
    let html = String::from_utf8(members["summary.html"].clone()).unwrap();
    for heading in [
        "Деректер санаттары",
        "Категории данных",
        "Categories of data",
    ] {
        assert!(html.contains(heading), "{heading}");
    }

    // The export is audited, without personal values.
    let audit = db
        .cmd()
        .args(["--format", "json", "audit", "log", "--action", "export"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&audit.stdout);
    assert!(text.contains(&format!("borrowers:{me}")), "{text}");
    assert!(text.contains("REQ-1"));
    assert!(!text.contains(&mine));
    db.cmd().args(["audit", "verify"]).assert().success();
}

#[tokio::test]
async fn the_shop_schema_exports_through_its_two_step_path() {
    let db = shop_db().await;
    db.cmd().arg("migrate").assert().success();
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("shop.tar");
    db.cmd()
        .arg("--map")
        .arg(shop_map())
        .args([
            "export",
            "061211600012",
            "--ticket",
            "S-1",
            "--plaintext",
            "--out",
        ])
        .arg(&bundle)
        .assert()
        .success()
        .stderr(predicate::str::contains("warning: --plaintext"));
    let members = untar(&std::fs::read(&bundle).unwrap());
    assert_eq!(
        csv_column(&members, "tables/clients.csv", "client_no"),
        BTreeSet::from(["1".to_owned()])
    );
    assert_eq!(
        csv_column(&members, "tables/orders.csv", "order_id"),
        BTreeSet::from(["10".to_owned()])
    );
    assert_eq!(
        csv_column(&members, "tables/order_items.csv", "item_id"),
        BTreeSet::from(["100".to_owned()])
    );
    for data in members.values() {
        assert!(!contains(data, "Bolat"));
        assert!(!contains(data, "b@example.kz"));
    }

    // And encrypted to an SSH key, decrypted by age with the SSH private key.
    let ssh_key = dir.path().join("id_ed25519");
    let status = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&ssh_key)
        .status()
        .unwrap();
    assert!(status.success());
    let bundle = dir.path().join("shop.age");
    db.cmd()
        .arg("--map")
        .arg(shop_map())
        .args([
            "export",
            "aigerim@example.kz",
            "--ticket",
            "S-2",
            "--recipients-file",
        ])
        .arg(ssh_key.with_extension("pub"))
        .arg("--out")
        .arg(&bundle)
        .assert()
        .success();
    let members = open_bundle(&bundle, &ssh_key);
    assert!(members.contains_key("tables/order_items.csv"));
}

/// Files left in `dir` (a failed export must leave none, not even a temporary one).
fn leftovers(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != "key.txt")
        .collect()
}

#[tokio::test]
async fn bad_input_is_refused_and_leaves_no_file() {
    let db = TestDb::migrated().await;
    let client = db.client().await;
    let iin = iin_born("900101", '3', 500);
    insert_borrower(&client, &iin, "x@example.kz", "+77016660000", 1).await;
    insert_borrower(
        &client,
        &iin_born("900101", '3', 600),
        "y@example.kz",
        "+77016660000",
        1,
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let (_key, public) = age_key(dir.path());
    let out = dir.path().join("b.age");
    let export = |args: &[&str]| {
        let mut cmd = db.cmd();
        cmd.arg("export").args(args).arg("--out").arg(&out);
        cmd
    };
    // No recipient and no --plaintext.
    export(&[&iin, "--ticket", "T"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--recipient"));
    // A malformed recipient.
    export(&[&iin, "--ticket", "T", "--recipient", "age1notakey"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("recipient 1"));
    // Invalid IIN, unknown subject, ambiguous phone.
    export(&["061211600013", "--ticket", "T", "--recipient", &public])
        .assert()
        .code(2);
    export(&[
        &iin_born("700101", '3', 1),
        "--ticket",
        "T",
        "--recipient",
        &public,
    ])
    .assert()
    .code(3);
    export(&["87016660000", "--ticket", "T", "--recipient", &public])
        .assert()
        .code(4);
    assert!(
        leftovers(dir.path()).is_empty(),
        "{:?}",
        leftovers(dir.path())
    );
    // An unwritable --out.
    db.cmd()
        .args([
            "export",
            &iin,
            "--ticket",
            "T",
            "--recipient",
            &public,
            "--out",
        ])
        .arg(dir.path().join("no/such/dir/b.age"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("writable directory"));
    // An existing file is kept without --force.
    std::fs::write(&out, "keep me").unwrap();
    export(&[&iin, "--ticket", "T", "--recipient", &public])
        .assert()
        .code(5);
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "keep me");
    export(&[&iin, "--ticket", "T", "--recipient", &public, "--force"])
        .assert()
        .success();
}

#[tokio::test]
async fn a_full_disk_removes_the_partial_file() {
    let db = TestDb::migrated().await;
    let client = db.client().await;
    let iin = iin_born("900101", '3', 700);
    insert_borrower(&client, &iin, "full@example.kz", "+77017770000", 2000).await;
    let dir = tempfile::tempdir().unwrap();
    let (_key, public) = age_key(dir.path());
    let out = dir.path().join("b.age");
    // A file-size limit makes writes fail like a full disk (EFBIG instead of ENOSPC).
    let binary = assert_cmd::cargo::cargo_bin("derbes");
    let mut cmd = db.cmd();
    cmd.env("DERBES_BIN", &binary)
        .env("OUT", &out)
        .env("RECIPIENT", &public)
        .env("IIN", &iin);
    let script = "trap '' XFSZ; ulimit -f 16; exec \"$DERBES_BIN\" export \"$IIN\" --ticket T \
                  --recipient \"$RECIPIENT\" --out \"$OUT\"";
    let output = std::process::Command::new("sh")
        .args(["-c", script])
        .envs(
            cmd.get_envs()
                .filter_map(|(k, v)| v.map(|v| (k.to_owned(), v.to_owned()))),
        )
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        leftovers(dir.path()).is_empty(),
        "{:?}",
        leftovers(dir.path())
    );
}

#[tokio::test]
async fn a_lost_connection_leaves_no_partial_file() {
    let db = TestDb::migrated().await;
    let client = db.client().await;
    let iin = iin_born("900101", '3', 800);
    insert_borrower(&client, &iin, "lost@example.kz", "+77018880000", 300_000).await;
    let dir = tempfile::tempdir().unwrap();
    let (_key, public) = age_key(dir.path());
    let out = dir.path().join("b.age");
    let cmd = db.cmd();
    let child = std::process::Command::new(assert_cmd::cargo::cargo_bin("derbes"))
        .envs(
            cmd.get_envs()
                .filter_map(|(k, v)| v.map(|v| (k.to_owned(), v.to_owned()))),
        )
        .args([
            "export",
            &iin,
            "--ticket",
            "T",
            "--recipient",
            &public,
            "--out",
        ])
        .arg(&out)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let admin = crate::support::connect_to("postgres").await;
    let mut terminated = 0;
    for _ in 0..500 {
        terminated = admin
            .query_one(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
                 WHERE datname = $1 AND application_name = 'derbes' AND query LIKE '%server_logs%' \
                 AND state = 'active'",
                &[&db.name],
            )
            .await
            .unwrap()
            .get::<_, i64>(0);
        if terminated > 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(
        terminated > 0,
        "the export's log query was never seen running"
    );
    let output = child.wait_with_output().unwrap();
    assert_eq!(
        output.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(!out.exists());
    assert!(
        leftovers(dir.path()).is_empty(),
        "{:?}",
        leftovers(dir.path())
    );
}

#[tokio::test]
async fn a_passphrase_bundle_opens_with_the_passphrase() {
    let db = shop_db().await;
    db.cmd().arg("migrate").assert().success();
    let dir = tempfile::tempdir().unwrap();
    let passphrase = dir.path().join("pass.txt");
    std::fs::write(&passphrase, "correct horse battery staple\n").unwrap();
    let bundle = dir.path().join("subject.age");
    db.cmd()
        .arg("--map")
        .arg(shop_map())
        .args([
            "export",
            "061211600012",
            "--ticket",
            "P-1",
            "--passphrase-file",
        ])
        .arg(&passphrase)
        .arg("--out")
        .arg(&bundle)
        .assert()
        .success();
    let identities = derbes::crypto::Identities::from_passphrase(
        "correct horse battery staple".to_owned().into(),
    );
    let mut tar_bytes = Vec::new();
    derbes::crypto::decrypt(std::fs::File::open(&bundle).unwrap(), &identities)
        .unwrap()
        .read_to_end(&mut tar_bytes)
        .unwrap();
    let members = untar(&tar_bytes);
    assert!(members.contains_key("summary.html"));
    assert_eq!(
        csv_column(&members, "tables/orders.csv", "order_id"),
        BTreeSet::from(["10".to_owned()])
    );
}

#[tokio::test]
async fn reads_go_to_the_read_db_when_one_is_given() {
    let db = shop_db().await;
    db.cmd().arg("migrate").assert().success();
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("replica.tar");
    let export = |read_db: &str| {
        let mut cmd = db.cmd();
        cmd.arg("--map")
            .arg(shop_map())
            .args(["--read-db", read_db, "export", "061211600012"])
            .args(["--ticket", "S-2", "--plaintext", "--force", "--out"])
            .arg(&bundle);
        cmd
    };
    // A replica that cannot be reached: the export names it and writes nothing.
    export("postgres://postgres@127.0.0.1:1/replica")
        .assert()
        .code(1)
        .stderr(predicate::str::contains("127.0.0.1:1"));
    assert!(!bundle.exists());
    // The same database as a replica: the bundle is written, the audit row lands on --db.
    export(&db.conninfo()).assert().success();
    assert!(bundle.exists());
}

/// Regression (issue 10, defect 11): export waited 29 s on a locked audit table.
/// Every statement runs under lock_timeout, and the timeout reads as such.
#[tokio::test]
async fn a_locked_audit_table_times_out_with_a_clear_error() {
    let db = TestDb::migrated().await;
    let client = db.client().await;
    let iin = iin_born("900101", '3', 700);
    insert_borrower(&client, &iin, "lock@example.kz", "+77016660700", 1).await;
    let mut holder = db.client().await;
    let tx = holder.transaction().await.unwrap();
    tx.batch_execute("LOCK TABLE derbes.audit_log IN ACCESS EXCLUSIVE MODE")
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("b.tar");
    let started = std::time::Instant::now();
    let assert = db
        .cmd()
        .args(["export", &iin, "--ticket", "T-LOCK", "--plaintext", "--out"])
        .arg(&out)
        .timeout(std::time::Duration::from_secs(60))
        .assert()
        .code(1);
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    assert!(stderr.contains("lock_timeout"), "{stderr}");
    assert!(stderr.contains("run again"), "{stderr}");
    assert!(started.elapsed() < std::time::Duration::from_secs(25));
    assert!(!out.exists());
    tx.rollback().await.unwrap();
}
