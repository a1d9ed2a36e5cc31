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
use crate::support::cluster::Replication;
use crate::support::TestDb;

/// An age key pair made by `age-keygen`: (key file, public key).
pub(crate) fn age_key(dir: &Path) -> (PathBuf, String) {
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
pub(crate) fn open_bundle(bundle: &Path, key: &Path) -> BTreeMap<String, Vec<u8>> {
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

pub(crate) fn untar(bytes: &[u8]) -> BTreeMap<String, Vec<u8>> {
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

    // The manifest (the shared model, format version 2) names every member with
    // its hash; data.json groups by category.
    let manifest: serde_json::Value = serde_json::from_slice(&members["manifest.json"]).unwrap();
    assert_eq!(manifest["format"], "derbes-export");
    assert_eq!(manifest["version"], 2);
    assert_eq!(manifest["ticket"], "REQ-1");
    assert_eq!(manifest["operator"], "test-operator");
    assert_eq!(manifest["subject_ref"], format!("borrowers:{me}"));
    let mut listed = BTreeSet::from(["manifest.json".to_owned()]);
    let table_members = manifest["tables"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|t| t["members"].as_array().unwrap().iter());
    for file in manifest["files"]
        .as_array()
        .unwrap()
        .iter()
        .chain(table_members)
    {
        let name = file["name"].as_str().unwrap();
        assert_eq!(
            file["sha256"].as_str().unwrap(),
            hex::encode(Sha256::digest(&members[name])),
            "{name}"
        );
        listed.insert(name.to_owned());
    }
    assert_eq!(
        listed,
        members.keys().cloned().collect::<BTreeSet<_>>(),
        "the manifest lists every member"
    );
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
    // data.json says where the values are: which columns of which parts.
    let logs_found = ip["found_in"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["table"] == "server_logs")
        .unwrap();
    assert_eq!(logs_found["rows"], 250);
    assert_eq!(logs_found["files"][0], "tables/server_logs.csv");
    assert!(logs_found["columns"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c == "ip"));
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
    // The subject reads what stored codes mean, the IIN leads the personal details,
    // empty fields (BIN, patronymic) are left out, and the map's notes for its
    // maintainers stay out (`ops::html::subject_summary` tests the page in full).
    for meaning in [
        "<td>Әйел</td>",
        "<td>Женский</td>",
        "<td>Female</td>",
        "<td>Kazakhstan</td>",
    ] {
        assert!(html.contains(meaning), "{meaning}");
    }
    assert!(!html.contains("<td>F</td>") && !html.contains("<td>KZ</td>"));
    assert!(!html.contains("verified_at"));
    let fields = &html[html.find("<table class=\"fields\">").unwrap()..];
    let fields = &fields[..fields.find("</table>").unwrap()];
    assert!(
        fields.split("<tr>").nth(1).unwrap().contains(&mine),
        "{fields}"
    );
    assert!(
        !fields.contains("(BIN)") && !fields.contains("Patronymic"),
        "{fields}"
    );

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

/// Regression (exports once spooled every member through TMPDIR): the bundle is
/// written through the one tar writer, so nothing but --out touches the disk and a
/// missing TMPDIR does not matter.
#[tokio::test]
async fn an_export_needs_no_temporary_space() {
    let db = TestDb::migrated().await;
    let client = db.client().await;
    let iin = iin_born("900101", '3', 701);
    insert_borrower(&client, &iin, "tmp@example.kz", "+77017770001", 2001).await;
    let dir = tempfile::tempdir().unwrap();
    let (key, public) = age_key(dir.path());
    let out = dir.path().join("b.age");
    let missing = dir.path().join("no-such-tmp");
    db.cmd()
        .env("TMPDIR", &missing)
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
        .assert()
        .success();
    let members = open_bundle(&out, &key);
    assert_eq!(
        csv_column(&members, "tables/server_logs.csv", "id").len(),
        2001
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
    // --passphrase-file reads the first line only.
    std::fs::write(
        &passphrase,
        "correct horse battery staple\nsecond line, not part of it\n",
    )
    .unwrap();
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
    // The stock age CLI reads a passphrase only from a terminal: give it one with
    // script(1), typing the first line.
    let age_with_passphrase = |typed: &str, plain: &Path| {
        let mut child = Command::new("script")
            .args(["-q", "-e", "-c"])
            .arg(format!(
                "age -d -o '{}' '{}'",
                plain.display(),
                bundle.display()
            ))
            .arg("/dev/null")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("script(1) is installed (util-linux)");
        std::io::Write::write_all(
            child.stdin.as_mut().unwrap(),
            format!("{typed}\n").as_bytes(),
        )
        .unwrap();
        child.wait().unwrap().success()
    };
    let wrong = dir.path().join("wrong.tar");
    assert!(!age_with_passphrase("second line, not part of it", &wrong));
    let plain = dir.path().join("subject.tar");
    assert!(
        age_with_passphrase("correct horse battery staple", &plain),
        "age -d with the passphrase failed"
    );
    let tar_bytes = std::fs::read(&plain).unwrap();
    let members = untar(&tar_bytes);
    assert!(members.contains_key("summary.html"));
    assert_eq!(
        csv_column(&members, "tables/orders.csv", "order_id"),
        BTreeSet::from(["10".to_owned()])
    );
}

/// Rows of `derbes.audit_log` with action `export` in the database at `client`.
async fn export_audit_rows(client: &tokio_postgres::Client) -> i64 {
    client
        .query_one(
            "SELECT count(*) FROM derbes.audit_log WHERE action = 'export'",
            &[],
        )
        .await
        .unwrap()
        .get(0)
}

/// Resumes WAL replay on the standby even when the test fails half-way, so the
/// shared standby keeps following the primary for the other tests.
struct ResumeReplay(String);

impl Drop for ResumeReplay {
    fn drop(&mut self) {
        let conninfo = self.0.clone();
        let _ = std::thread::spawn(move || {
            let mut client = SyncClient::connect(&conninfo);
            let _ = client.execute("SELECT pg_wal_replay_resume()");
        })
        .join();
    }
}

/// Just enough of a blocking client for a Drop: a runtime and a tokio-postgres client.
struct SyncClient {
    runtime: tokio::runtime::Runtime,
    client: tokio_postgres::Client,
}

impl SyncClient {
    fn connect(conninfo: &str) -> SyncClient {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let client = runtime.block_on(async {
            let (client, connection) = tokio_postgres::connect(conninfo, tokio_postgres::NoTls)
                .await
                .unwrap();
            tokio::spawn(connection);
            client
        });
        SyncClient { runtime, client }
    }

    fn execute(&mut self, sql: &str) -> Result<(), tokio_postgres::Error> {
        self.runtime.block_on(self.client.batch_execute(sql))
    }
}

#[tokio::test]
async fn reads_go_to_the_read_db_when_one_is_given() {
    // A real primary and a streaming standby of it (pg_basebackup -R).
    let replication = Replication::shared();
    let dbname = format!("shop_replica_{}", std::process::id());
    let admin = replication.primary.client("postgres").await;
    admin
        .batch_execute(&format!("CREATE DATABASE \"{dbname}\""))
        .await
        .unwrap();
    let primary = replication.primary.client(&dbname).await;
    primary
        .batch_execute(include_str!("../fixtures/shop.sql"))
        .await
        .unwrap();
    let primary_conninfo = replication.primary.conninfo(&dbname);
    let standby_conninfo = replication.standby.conninfo(&dbname);
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("replica.tar");
    let export = |read_db: &str| {
        let mut cmd = crate::support::derbes_cmd();
        cmd.env("DATABASE_URL", &primary_conninfo)
            .arg("--map")
            .arg(shop_map())
            .args(["--read-db", read_db, "export", "061211600012"])
            .args(["--ticket", "S-2", "--plaintext", "--force", "--out"])
            .arg(&bundle);
        cmd
    };
    crate::support::derbes_cmd()
        .env("DATABASE_URL", &primary_conninfo)
        .arg("migrate")
        .assert()
        .success();

    // A replica that cannot be reached: the export names it and writes nothing.
    export("postgres://postgres@127.0.0.1:1/replica")
        .assert()
        .code(1)
        .stderr(predicate::str::contains("127.0.0.1:1"));
    assert!(!bundle.exists());

    // Freeze the standby, then change the subject's data on the primary: an export
    // that reads the standby shows the old order, one that read the primary would
    // show the new one.
    replication.wait_for_replay().await;
    let standby = replication.standby.client(&dbname).await;
    let _resume = ResumeReplay(standby_conninfo.clone());
    standby
        .batch_execute("SELECT pg_wal_replay_pause()")
        .await
        .unwrap();
    for _ in 0..200 {
        let state: String = standby
            .query_one("SELECT pg_get_wal_replay_pause_state()", &[])
            .await
            .unwrap()
            .get(0);
        if state == "paused" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    primary
        .batch_execute("INSERT INTO shop.orders VALUES (12, 1, now(), 'Shymkent')")
        .await
        .unwrap();
    export(&standby_conninfo).assert().success();
    let members = untar(&std::fs::read(&bundle).unwrap());
    assert_eq!(
        csv_column(&members, "tables/orders.csv", "order_id"),
        BTreeSet::from(["10".to_owned()]),
        "the export read the primary, not the paused standby"
    );
    // The audit row lands on the primary (the standby is read-only and paused).
    assert_eq!(export_audit_rows(&primary).await, 1);
    // The standby is accepted as --read-db by the other reading commands too.
    crate::support::derbes_cmd()
        .env("DATABASE_URL", &primary_conninfo)
        .arg("--map")
        .arg(shop_map())
        .args([
            "--read-db",
            &standby_conninfo,
            "subject",
            "show",
            "061211600012",
        ])
        .assert()
        .success();

    // The primary itself is also accepted as --read-db, and sees the new order.
    export(&primary_conninfo).assert().success();
    let members = untar(&std::fs::read(&bundle).unwrap());
    assert_eq!(
        csv_column(&members, "tables/orders.csv", "order_id"),
        BTreeSet::from(["10".to_owned(), "12".to_owned()])
    );
    assert_eq!(export_audit_rows(&primary).await, 2);
    drop(_resume);
    drop(standby);
    admin
        .batch_execute(&format!("DROP DATABASE \"{dbname}\" WITH (FORCE)"))
        .await
        .unwrap();
}

#[tokio::test]
async fn a_read_db_on_another_database_is_refused_before_reading() {
    // Two databases with the same schema and rows on the same server: reading the
    // other one would export whoever holds the same key there.
    let db = shop_db().await;
    let other = shop_db().await;
    db.cmd().arg("migrate").assert().success();
    other.cmd().arg("migrate").assert().success();
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("other.tar");
    db.cmd()
        .arg("--map")
        .arg(shop_map())
        .args(["--read-db", &other.conninfo(), "export", "061211600012"])
        .args(["--ticket", "S-3", "--plaintext", "--out"])
        .arg(&bundle)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "another database of the same cluster",
        ))
        .stderr(predicate::str::contains(format!(
            "database \"{}\"",
            db.name
        )))
        .stderr(predicate::str::contains(format!(
            "database \"{}\"",
            other.name
        )));
    assert!(!bundle.exists());
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    assert_eq!(export_audit_rows(&db.client().await).await, 0);
    assert_eq!(export_audit_rows(&other.client().await).await, 0);

    // Another cluster (the harness's standby pair) is refused the same way, and so
    // is `subject show`, which takes --read-db too.
    let replication = Replication::shared();
    db.cmd()
        .arg("--map")
        .arg(shop_map())
        .args(["--read-db", &replication.primary.conninfo("postgres")])
        .args(["subject", "show", "061211600012"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("another cluster"));
}

/// Starts `derbes export` of the shop subject in the background.
fn spawn_export(db: &TestDb, out: &Path) -> std::process::Child {
    Command::new(assert_cmd::cargo::cargo_bin("derbes"))
        .env("DATABASE_URL", db.conninfo())
        .env("DERBES_OPERATOR", "test-operator")
        .arg("--map")
        .arg(shop_map())
        .args(["export", "061211600012", "--ticket", "S-9", "--plaintext"])
        .arg("--out")
        .arg(out)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap()
}

/// Waits until a derbes session of this database waits for a lock.
async fn wait_for_derbes_lock_wait(client: &tokio_postgres::Client) {
    for _ in 0..300 {
        let waiting: i64 = client
            .query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() \
                 AND application_name = 'derbes' AND wait_event_type = 'Lock'",
                &[],
            )
            .await
            .unwrap()
            .get(0);
        if waiting > 0 {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("derbes never waited for the audit log");
}

#[tokio::test]
async fn the_bundle_appears_only_after_its_audit_row_is_written() {
    let db = shop_db().await;
    db.cmd().arg("migrate").assert().success();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("late.tar");
    let mut holder = db.client().await;
    let other = db.client().await;

    // The audit log is held: the bundle is written under a temporary name, and the
    // name asked for does not exist while the audit row waits.
    let hold = holder.transaction().await.unwrap();
    hold.batch_execute("LOCK TABLE derbes.audit_log IN ACCESS EXCLUSIVE MODE")
        .await
        .unwrap();
    let child = spawn_export(&db, &out);
    wait_for_derbes_lock_wait(&other).await;
    assert!(!out.exists(), "the bundle appeared before its audit row");
    assert_eq!(leftovers(dir.path()).len(), 1, "one temporary file");
    // The audit row never gets written: no bundle, no temporary file.
    crate::support::terminate_sessions(&other, "derbes").await;
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(leftovers(dir.path()), Vec::<String>::new());
    hold.rollback().await.unwrap();
    assert_eq!(export_audit_rows(&other).await, 0);

    // Held, then released: the bundle appears with its audit row.
    let hold = holder.transaction().await.unwrap();
    hold.batch_execute("LOCK TABLE derbes.audit_log IN ACCESS EXCLUSIVE MODE")
        .await
        .unwrap();
    let child = spawn_export(&db, &out);
    wait_for_derbes_lock_wait(&other).await;
    assert!(!out.exists());
    hold.commit().await.unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(out.exists());
    assert_eq!(export_audit_rows(&other).await, 1);
}

#[tokio::test]
async fn a_recipient_is_listed_only_under_the_categories_the_ledger_says_it_received() {
    let db = TestDb::migrated().await;
    let client = db.client().await;
    let iin = iin_born("900101", '3', 700);
    let me = insert_borrower(&client, &iin, "ledger@example.kz", "+77010000070", 3).await;
    client
        .execute("DELETE FROM disclosures WHERE borrower_id = $1", &[&me])
        .await
        .unwrap();
    for (recipient, categories) in [
        ("Bureau", "{name,iin}"),
        ("Scoring", "{ip_address}"),
        ("Unrecorded", "{}"),
    ] {
        client
            .execute(
                "INSERT INTO disclosures (borrower_id, recipient, purpose, legal_basis, categories, disclosed_at) \
                 VALUES ($1, $2, 'p', 'b', $3::text::text[], now())",
                &[&me, &recipient, &categories],
            )
            .await
            .unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("b.tar");
    db.cmd()
        .args(["export", &iin, "--ticket", "REQ-9", "--plaintext", "--out"])
        .arg(&bundle)
        .assert()
        .success();
    let members = untar(&std::fs::read(&bundle).unwrap());
    let data: serde_json::Value = serde_json::from_slice(&members["data.json"]).unwrap();
    let recipients = |category: &str| -> BTreeSet<String> {
        data["categories"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["category"] == category)
            .unwrap_or_else(|| panic!("{category} held"))["disclosed_to"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["recipient"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(recipients("name"), BTreeSet::from(["Bureau".to_owned()]));
    assert_eq!(recipients("iin"), BTreeSet::from(["Bureau".to_owned()]));
    assert_eq!(
        recipients("ip_address"),
        BTreeSet::from(["Scoring".to_owned()])
    );
    assert!(recipients("email").is_empty(), "email went to nobody");
    // Every transfer stays in the full list; the one without categories says so.
    assert_eq!(data["disclosures"].as_array().unwrap().len(), 3);
    let html = String::from_utf8(members["summary.html"].clone()).unwrap();
    assert!(html.contains("the categories transferred were not recorded"));
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

/// Issue 9 (item 5): bundles and archives share one tar writer. A table larger than a
/// part becomes numbered parts, each with the header line, listed in order in the
/// manifest and in data.json, together holding exactly the subject's rows once.
#[tokio::test]
async fn a_large_table_is_cut_into_parts_that_hold_every_row_once() {
    use derbes::files::secure_file::SecureFile;
    use derbes::files::tar_writer::TarWriter;
    use derbes::ops::export::{write_bundle, ExportOptions};

    let db = TestDb::migrated().await;
    let mut client = db.client().await;
    let iin = iin_born("900101", '3', 702);
    let me = insert_borrower(&client, &iin, "parts@example.kz", "+77017770002", 3000).await;
    let map = derbes::map::DataMap::load(&crate::support::reference_map()).unwrap();
    let catalog = derbes::pg::catalog::Catalog::read(&client).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("parts.tar");
    let mut writer = TarWriter::start(SecureFile::create(&out, false).unwrap(), None, 0).unwrap();
    let tx = client
        .build_transaction()
        .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await
        .unwrap();
    let now = chrono::Utc::now();
    let options = ExportOptions {
        ticket: "P-1".into(),
        operator: "test".into(),
        generated_at: now,
        today: now.date_naive(),
    };
    let report = write_bundle(
        &tx,
        &map,
        &catalog,
        &me.to_string(),
        &options,
        &mut writer,
        16 << 10,
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    writer.finish().await.unwrap();

    let members = untar(&std::fs::read(&out).unwrap());
    let logs = report
        .tables
        .iter()
        .find(|t| t.table == "server_logs")
        .unwrap();
    assert!(logs.files.len() > 3, "{:?}", logs.files);
    assert_eq!(logs.files[0], "tables/server_logs.0001.csv");
    let mut ids = Vec::new();
    let mut header = None;
    for file in &logs.files {
        let mut reader = csv::Reader::from_reader(&members[file][..]);
        let this_header = reader.headers().unwrap().clone();
        assert_eq!(header.get_or_insert(this_header.clone()), &this_header);
        let id = this_header.iter().position(|h| h == "id").unwrap();
        for record in reader.records() {
            ids.push(record.unwrap()[id].parse::<i64>().unwrap());
        }
    }
    let oracle: Vec<i64> = client
        .query(
            "SELECT id FROM server_logs WHERE borrower_id = $1 ORDER BY id",
            &[&me],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(ids, oracle, "every row once, in key order");
    let data: serde_json::Value = serde_json::from_slice(&members["data.json"]).unwrap();
    let ip = data["categories"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["category"] == "ip_address")
        .unwrap();
    let found = ip["found_in"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["table"] == "server_logs")
        .unwrap();
    assert_eq!(found["files"].as_array().unwrap().len(), logs.files.len());
    let manifest: serde_json::Value = serde_json::from_slice(&members["manifest.json"]).unwrap();
    let listed = manifest["tables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["table"] == "server_logs")
        .unwrap()["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap().to_owned())
        .collect::<Vec<_>>();
    assert_eq!(listed, logs.files);
}
