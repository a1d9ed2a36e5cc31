//! Archives end to end: dump, open with the stock `age` and `tar`, verify, restore,
//! list, expire; bad keys, damaged files, empty selections and a connection killed
//! mid-dump; the library API erasure and purging call.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command as Process;

use predicates::prelude::*;

use crate::support::{database_checksums, TestDb};

/// Subjects this module reasons about (ids far above the generated population).
const IIN_A: &str = "880330300026";
const IIN_B: &str = "061211600012";

pub(crate) async fn seed(db: &TestDb) {
    let client = db.client().await;
    client
        .batch_execute(&format!(
            "DO $$ BEGIN
               IF NOT EXISTS (SELECT 1 FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                              WHERE i.inhparent = 'server_logs'::regclass
                                AND pg_get_expr(c.relpartbound, c.oid) = 'DEFAULT') THEN
                 CREATE TABLE server_logs_archive_test PARTITION OF server_logs DEFAULT;
               END IF;
             END $$;
             INSERT INTO borrowers (id, iin, last_name, first_name, birth_date, sex, phone, email) VALUES
               (900001, '{IIN_A}', 'Ахметов', 'Ерлан', '1988-03-30', 'M', '+77012345678', 'erlan@example.kz'),
               (900002, '{IIN_B}', 'Smith, \"Jr\"', 'Ann
             Multi-line', '2006-12-11', 'F', '+77010000000', NULL);
             INSERT INTO loans (id, borrower_id, contract_no, principal, rate_percent, issued_at, due_on, status) VALUES
               (900010, 900001, 'ARCH-10', 100000, 30, now() - interval '6 years', current_date, 'closed'),
               (900011, 900002, 'ARCH-11', 50000, 30, now(), current_date, 'open');
             INSERT INTO payments (id, loan_id, paid_at, amount, channel) VALUES
               (900020, 900010, now() - interval '6 years', 5000, 'card'),
               (900021, 900010, now(), 100, 'kaspi'),
               (900022, 900011, now(), 1, 'card');
             INSERT INTO server_logs (logged_at, borrower_id, ip, method, path, status, user_agent)
               SELECT now() - (g || ' hours')::interval, 900001 + g % 2, '10.0.0.1', 'GET', '/p/' || g, 200, 'ua'
               FROM generate_series(1, 2000) g;"
        ))
        .await
        .expect("test rows insert");
}

pub(crate) struct Keys {
    _dir: tempfile::TempDir,
    pub(crate) dir: PathBuf,
    pub(crate) age_identity: PathBuf,
    pub(crate) age_recipient: String,
}

pub(crate) fn age_keys() -> Keys {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("key.txt");
    let status = Process::new("age-keygen")
        .arg("-o")
        .arg(&path)
        .stderr(std::process::Stdio::null())
        .status()
        .expect("age-keygen is installed");
    assert!(status.success());
    let out = Process::new("age-keygen")
        .arg("-y")
        .arg(&path)
        .output()
        .unwrap();
    Keys {
        dir: dir.path().to_owned(),
        _dir: dir,
        age_identity: path,
        age_recipient: String::from_utf8(out.stdout).unwrap().trim().to_owned(),
    }
}

fn dump(db: &TestDb, keys: &Keys, out: &Path, selection: &[&str]) -> assert_cmd::assert::Assert {
    db.cmd()
        .args([
            "archive", "dump", "--yes", "--keep", "5y", "--ticket", "DPO-1", "-r",
        ])
        .arg(&keys.age_recipient)
        .arg("--out")
        .arg(out)
        .args(selection)
        .assert()
}

/// `age -d | tar x` into a fresh directory, with the stock tools.
pub(crate) fn unpack_with_stock_tools(archive: &Path, identity: &Path) -> tempfile::TempDir {
    let into = tempfile::tempdir().unwrap();
    let status = Process::new("sh")
        .arg("-c")
        .arg("age -d -i \"$1\" \"$2\" | tar -x -f - -C \"$3\"")
        .arg("sh")
        .arg(identity)
        .arg(archive)
        .arg(into.path())
        .status()
        .unwrap();
    assert!(status.success(), "age -d | tar x failed");
    into
}

fn csv_rows(path: &Path) -> Vec<csv::StringRecord> {
    csv::Reader::from_path(path)
        .unwrap()
        .records()
        .map(|r| r.expect("a spreadsheet-readable CSV"))
        .collect()
}

async fn catalogue_count(db: &TestDb) -> i64 {
    db.client()
        .await
        .query_one("SELECT count(*) FROM derbes.archives", &[])
        .await
        .unwrap()
        .get(0)
}

#[tokio::test]
async fn a_subject_archive_opens_with_age_and_tar_and_verifies() {
    let db = TestDb::migrated().await;
    seed(&db).await;
    let keys = age_keys();
    let out = keys.dir.join("subject.age");
    dump(&db, &keys, &out, &["--subject", IIN_A])
        .success()
        .stdout(predicate::str::contains("written and verified"));

    let mode = std::fs::metadata(&out).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let unpacked = unpack_with_stock_tools(&out, &keys.age_identity);
    let borrowers = csv_rows(&unpacked.path().join("public.borrowers.csv"));
    assert_eq!(borrowers.len(), 1);
    assert!(borrowers[0].iter().any(|f| f == IIN_A));
    assert_eq!(csv_rows(&unpacked.path().join("public.loans.csv")).len(), 1);
    // Payments reach the subject only through loans.
    assert_eq!(
        csv_rows(&unpacked.path().join("public.payments.csv")).len(),
        2
    );
    assert_eq!(
        csv_rows(&unpacked.path().join("public.server_logs.csv")).len(),
        1000
    );
    let manifest: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(unpacked.path().join("manifest.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(manifest["selection"]["subject_ref"], "borrowers:900001");
    assert_eq!(manifest["ticket"], "DPO-1");
    assert!(
        !serde_json::to_string(&manifest).unwrap().contains(IIN_A),
        "the manifest names the subject by key, never by IIN"
    );
    // The other subject's rows are not in it.
    let all = std::fs::read_to_string(unpacked.path().join("public.server_logs.csv")).unwrap();
    assert!(!all.contains("900002"));

    db.cmd()
        .args(["archive", "verify", "--identity"])
        .arg(&keys.age_identity)
        .arg(&out)
        .assert()
        .success()
        .stdout(predicate::str::contains("intact"));

    let client = db.client().await;
    let row = client
        .query_one(
            "SELECT recipients, counts->>'public.payments', ticket FROM derbes.archives",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(
        row.get::<_, Vec<String>>(0),
        vec![keys.age_recipient.clone()]
    );
    assert_eq!(row.get::<_, Option<String>>(1).as_deref(), Some("2"));
    let audit: i64 = client
        .query_one(
            "SELECT count(*) FROM derbes.audit_log WHERE action = 'archive.dump' AND subject_ref = 'borrowers:900001'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(audit, 1);
}

#[tokio::test]
async fn an_ssh_ed25519_key_encrypts_and_opens() {
    let db = TestDb::migrated().await;
    seed(&db).await;
    let keys = age_keys();
    let key = keys.dir.join("id_ed25519");
    let status = Process::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&key)
        .status()
        .unwrap();
    assert!(status.success());
    let public = std::fs::read_to_string(key.with_extension("pub")).unwrap();
    let out = keys.dir.join("ssh.age");
    db.cmd()
        .args([
            "archive", "dump", "--yes", "--ticket", "T-1", "--keep", "1y", "--table", "loans",
            "--out",
        ])
        .arg(&out)
        .arg("--recipient")
        .arg(public.trim())
        .assert()
        .success();
    let unpacked = unpack_with_stock_tools(&out, &key);
    let loans: i64 = db
        .client()
        .await
        .query_one("SELECT count(*) FROM loans", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        csv_rows(&unpacked.path().join("public.loans.csv")).len() as i64,
        loans
    );
    db.cmd()
        .args(["archive", "verify", "-i"])
        .arg(&key)
        .arg(&out)
        .assert()
        .success();
}

#[tokio::test]
async fn wrong_keys_damage_and_truncation_fail_verification() {
    let db = TestDb::migrated().await;
    seed(&db).await;
    let keys = age_keys();
    let out = keys.dir.join("a.age");
    dump(&db, &keys, &out, &["--subject", IIN_A]).success();

    let other = age_keys();
    db.cmd()
        .args(["archive", "verify", "-i"])
        .arg(&other.age_identity)
        .arg(&out)
        .assert()
        .code(6)
        .stderr(predicate::str::contains(
            "cannot be opened with this identity",
        ));

    let bytes = std::fs::read(&out).unwrap();
    let damaged = keys.dir.join("damaged.age");
    for cut in [10, 200, bytes.len() / 2, bytes.len() - 1] {
        std::fs::write(&damaged, &bytes[..cut]).unwrap();
        db.cmd()
            .args(["archive", "verify", "-i"])
            .arg(&keys.age_identity)
            .arg(&damaged)
            .assert()
            .code(6)
            .stderr(predicate::str::contains("damaged.age"));
    }
    let mut flipped = bytes.clone();
    let middle = flipped.len() / 2;
    flipped[middle] ^= 0x01;
    std::fs::write(&damaged, &flipped).unwrap();
    db.cmd()
        .args(["archive", "verify", "-i"])
        .arg(&keys.age_identity)
        .arg(&damaged)
        .assert()
        .code(6)
        .stderr(predicate::str::contains("truncated or damaged"));

    // Bytes appended after a valid archive: age's last chunk no longer authenticates.
    let mut appended = bytes.clone();
    appended.extend_from_slice(b"junk");
    std::fs::write(&damaged, &appended).unwrap();
    db.cmd()
        .args(["archive", "verify", "-i"])
        .arg(&keys.age_identity)
        .arg(&damaged)
        .assert()
        .code(6)
        .stderr(predicate::str::contains(
            "damaged.age is truncated or damaged",
        ))
        .stderr(predicate::str::contains("decryption error"));

    // A member that does not match the manifest: decrypt with age, change one byte of
    // a CSV member (same size), re-encrypt to the same key with age.
    let plain = Process::new("age")
        .args(["-d", "-i"])
        .arg(&keys.age_identity)
        .arg(&out)
        .output()
        .unwrap();
    assert!(plain.status.success());
    let mut rebuilt = tar::Builder::new(Vec::new());
    let mut changed = None;
    for entry in tar::Archive::new(&plain.stdout[..]).entries().unwrap() {
        let mut entry = entry.unwrap();
        let name = entry.path().unwrap().to_string_lossy().into_owned();
        let mut data = Vec::new();
        std::io::Read::read_to_end(&mut entry, &mut data).unwrap();
        if changed.is_none() && name.ends_with(".csv") && data.len() > 10 {
            let last = data.len() - 2;
            data[last] = if data[last] == b'0' { b'1' } else { b'0' };
            changed = Some(name.clone());
        }
        let mut header = entry.header().clone();
        rebuilt.append_data(&mut header, &name, &data[..]).unwrap();
    }
    let changed = changed.expect("a CSV member to change");
    let tampered_tar = keys.dir.join("tampered.tar");
    std::fs::write(&tampered_tar, rebuilt.into_inner().unwrap()).unwrap();
    let tampered = keys.dir.join("tampered.age");
    let status = Process::new("age")
        .arg("-r")
        .arg(&keys.age_recipient)
        .arg("-o")
        .arg(&tampered)
        .arg(&tampered_tar)
        .status()
        .unwrap();
    assert!(status.success());
    db.cmd()
        .args(["archive", "verify", "-i"])
        .arg(&keys.age_identity)
        .arg(&tampered)
        .assert()
        .code(6)
        .stderr(predicate::str::contains(format!(
            "member {changed} does not match its SHA-256 in the manifest"
        )));

    // An archive made in another database: this catalogue does not know it. (A copy
    // of a catalogued archive is known: the catalogue is keyed by archive id.)
    let elsewhere = TestDb::migrated().await;
    seed(&elsewhere).await;
    let foreign = keys.dir.join("foreign.age");
    dump(&elsewhere, &keys, &foreign, &["--subject", IIN_A]).success();
    db.cmd()
        .args(["archive", "verify", "-i"])
        .arg(&keys.age_identity)
        .arg(&foreign)
        .assert()
        .code(6)
        .stderr(predicate::str::contains("foreign.age"))
        .stderr(predicate::str::contains(
            "is not in this database's archive catalogue",
        ));
}

/// Flip one base64 character at `at` of the first header line starting with
/// `prefix` (or of the line after it when `next`), keeping the header parseable.
fn flip_header(bytes: &mut [u8], prefix: &str, next: bool, at: usize) {
    let mac_line = bytes
        .windows(5)
        .position(|w| w == b"\n--- ")
        .expect("an age header")
        + 1;
    let header_end = mac_line + bytes[mac_line..].iter().position(|b| *b == b'\n').unwrap() + 1;
    let text = std::str::from_utf8(&bytes[..header_end])
        .unwrap()
        .to_owned();
    let mut offset = 0;
    let mut lines = text.split_inclusive('\n');
    while let Some(line) = lines.next() {
        if line.starts_with(prefix) {
            let (start, _) = if next {
                let start = offset + line.len();
                (start, lines.next().unwrap())
            } else {
                (offset, line)
            };
            let i = start + at;
            bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
            return;
        }
        offset += line.len();
    }
    panic!("no header line starts with {prefix:?}");
}

/// A flipped byte in an archive's header is damage, not a wrong key: a flipped
/// recipient stanza (no key opens it) is told apart by the catalogue's digest, a
/// flipped header MAC by age itself; neither says "wrong key".
#[tokio::test]
async fn a_flipped_byte_in_the_header_is_damage_not_a_wrong_key() {
    let db = TestDb::migrated().await;
    seed(&db).await;
    let keys = age_keys();
    let out = keys.dir.join("a.age");
    dump(&db, &keys, &out, &["--subject", IIN_A]).success();
    let good = std::fs::read(&out).unwrap();

    let mut stanzas = good.clone();
    for _ in 0..2 {
        // Every recipient's wrapped key (there are two: the operator's and the
        // dump's read-back key), so that no identity matches.
        flip_header(&mut stanzas, "-> X25519 ", true, 5);
        let at = stanzas
            .windows(10)
            .position(|w| w == b"-> X25519 ")
            .unwrap();
        stanzas[at] = b'#'; // hide it from the next search, restored below
    }
    for at in 0..stanzas.len() {
        if stanzas[at..].starts_with(b"#> X25519 ") {
            stanzas[at] = b'-';
        }
    }
    std::fs::write(&out, &stanzas).unwrap();
    for command in [
        &["archive", "verify", "-i"][..],
        &["archive", "restore", "--dry-run", "--ticket", "T-1", "-i"][..],
    ] {
        db.cmd()
            .args(command)
            .arg(&keys.age_identity)
            .arg(&out)
            .assert()
            .code(6)
            .stderr(predicate::str::contains(
                "damaged or altered, not a key problem",
            ))
            .stderr(predicate::str::contains("wrong key").not());
    }

    let mut mac = good.clone();
    flip_header(&mut mac, "--- ", false, 9);
    std::fs::write(&out, &mac).unwrap();
    db.cmd()
        .args(["archive", "verify", "-i"])
        .arg(&keys.age_identity)
        .arg(&out)
        .assert()
        .code(6)
        .stderr(predicate::str::contains("header is damaged"))
        .stderr(predicate::str::contains("wrong key").not());

    // The intact file with another key is still a wrong key.
    std::fs::write(&out, &good).unwrap();
    db.cmd()
        .args(["archive", "verify", "-i"])
        .arg(&age_keys().age_identity)
        .arg(&out)
        .assert()
        .code(6)
        .stderr(predicate::str::contains("wrong key"));
}

#[tokio::test]
async fn bad_recipients_and_unwritable_outputs_leave_nothing() {
    let db = TestDb::migrated().await;
    seed(&db).await;
    let keys = age_keys();
    let out = keys.dir.join("x.age");
    db.cmd()
        .args([
            "archive",
            "dump",
            "--yes",
            "--ticket",
            "T-1",
            "--keep",
            "1y",
            "--table",
            "loans",
            "-r",
            "age1notakey",
            "--out",
        ])
        .arg(&out)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("recipient 1 is not"));
    assert!(!out.exists());

    // A directory that does not exist, and a path through a regular file.
    let file = keys.dir.join("plain-file");
    std::fs::write(&file, "x").unwrap();
    for bad in [
        PathBuf::from("/nonexistent/derbes/x.age"),
        file.join("x.age"),
    ] {
        // The same exit code as `export` gives for the same mistake.
        dump(&db, &keys, &bad, &["--table", "loans"])
            .code(2)
            .stderr(predicate::str::contains("cannot write in"));
    }
    // An existing file is not overwritten without --force: exit 5, as in `export`.
    std::fs::write(&out, "keep me").unwrap();
    dump(&db, &keys, &out, &["--table", "loans"])
        .code(5)
        .stderr(predicate::str::contains("pass --force"));
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "keep me");
    assert_eq!(catalogue_count(&db).await, 0);
}

#[tokio::test]
async fn an_empty_selection_makes_a_valid_empty_archive() {
    let db = TestDb::migrated().await;
    seed(&db).await;
    let keys = age_keys();
    let out = keys.dir.join("empty.age");
    let output = db
        .cmd()
        .args([
            "--format", "json", "archive", "dump", "--yes", "--ticket", "T-1", "--keep", "1y", "-r",
        ])
        .arg(&keys.age_recipient)
        .arg("--out")
        .arg(&out)
        .args(["--table", "server_logs", "--where-older-than", "50y"])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["empty"], true);
    assert_eq!(report["rows"], 0);
    let unpacked = unpack_with_stock_tools(&out, &keys.age_identity);
    let header = std::fs::read_to_string(unpacked.path().join("public.server_logs.csv")).unwrap();
    assert!(header.starts_with("id,logged_at,borrower_id"), "{header}");
    db.cmd()
        .args(["archive", "verify", "-i"])
        .arg(&keys.age_identity)
        .arg(&out)
        .assert()
        .success()
        .stdout(predicate::str::contains("empty"));
}

#[tokio::test]
async fn a_rule_archives_only_its_expired_rows() {
    let db = TestDb::migrated().await;
    seed(&db).await;
    // The old loan closed six years ago: loan-records ages from the last loan closed.
    db.client()
        .await
        .batch_execute(
            "UPDATE loans SET closed_at = now() - interval '6 years' + interval '30 days' WHERE id = 900010",
        )
        .await
        .unwrap();
    let keys = age_keys();
    let out = keys.dir.join("rule.age");
    // loan-records keeps 5y and archives for 5y (archive_keep): no --keep needed.
    db.cmd()
        .args([
            "archive",
            "dump",
            "--yes",
            "--ticket",
            "T-1",
            "--rule",
            "loan-records",
            "-r",
        ])
        .arg(&keys.age_recipient)
        .arg("--out")
        .arg(&out)
        .assert()
        .success();
    let unpacked = unpack_with_stock_tools(&out, &keys.age_identity);
    // Issue 22: the rule's rows the retention decision finds due, by an oracle written
    // apart from it: the subject's loans all closed, the last more than 5 years ago
    // (AML/CFT Art. 5), and no open loan, block or open request.
    let client = db.client().await;
    client
        .batch_execute("SET timezone = 'Asia/Almaty'")
        .await
        .unwrap();
    const DUE_SUBJECTS: &str = "SELECT borrower_id FROM loans GROUP BY borrower_id \
         HAVING bool_and(closed_at IS NOT NULL) AND max(closed_at) < now() - interval '5 years' \
         EXCEPT (SELECT borrower_id FROM loans WHERE status IN ('open', 'overdue') \
         UNION SELECT id FROM borrowers WHERE status = 'blocked' \
         UNION SELECT subject_key::bigint FROM derbes.blocks WHERE subject_table = 'borrowers' AND unblocked_at IS NULL \
         UNION SELECT substr(subject_ref, 11)::bigint FROM derbes.requests \
               WHERE status = 'open' AND subject_ref LIKE 'borrowers:%')";
    let ids = |sql: String| {
        let client = &client;
        async move {
            let mut ids: Vec<String> = client
                .query(&sql, &[])
                .await
                .unwrap()
                .iter()
                .map(|r| r.get::<_, i64>(0).to_string())
                .collect();
            ids.sort();
            ids
        }
    };
    let archived = |file: &str| {
        let mut ids: Vec<String> = csv_rows(&unpacked.path().join(file))
            .into_iter()
            .map(|row| row[0].to_owned())
            .collect();
        ids.sort();
        ids
    };
    let loans = archived("public.loans.csv");
    assert_eq!(
        loans,
        ids(format!(
            "SELECT id FROM loans WHERE borrower_id IN ({DUE_SUBJECTS})"
        ))
        .await
    );
    assert!(loans.iter().any(|id| id == "900010"));
    assert_eq!(
        archived("public.payments.csv"),
        ids(format!(
            "SELECT p.id FROM payments p JOIN loans l ON l.id = p.loan_id \
             WHERE l.borrower_id IN ({DUE_SUBJECTS})"
        ))
        .await
    );

    // Unknown rules, unmapped tables and columns are refused before anything runs.
    for args in [
        vec!["--rule", "no-such-rule"],
        vec!["--table", "policy_versions"],
        vec![
            "--table",
            "loans",
            "--where-older-than",
            "1y",
            "--on",
            "contract_no",
        ],
        vec![
            "--table",
            "loans",
            "--where-older-than",
            "1y",
            "--on",
            "nope\"; DROP TABLE loans; --",
        ],
    ] {
        dump(&db, &keys, &keys.dir.join("refused.age"), &args).code(2);
    }
}

#[tokio::test]
async fn restore_loads_rows_back_and_refuses_duplicates() {
    let db = TestDb::migrated().await;
    seed(&db).await;
    let keys = age_keys();
    let out = keys.dir.join("restore.age");
    dump(&db, &keys, &out, &["--subject", "id:900001"]).success();
    let restore = |extra: &[&str]| {
        let mut cmd = db.cmd();
        cmd.args(["archive", "restore", "--yes", "--ticket", "T-1", "-i"])
            .arg(&keys.age_identity)
            .arg(&out)
            .args(extra);
        cmd.assert()
    };

    // The rows are still there: a restore would break the primary keys.
    restore(&[])
        .code(5)
        .stderr(predicate::str::contains("nothing was loaded"))
        .stderr(predicate::str::contains("borrowers_pkey"))
        .stderr(predicate::str::contains(IIN_A).not());

    // Into a side schema for inspection.
    restore(&["--into", "inspect"]).success();
    let client = db.client().await;
    let side: i64 = client
        .query_one("SELECT count(*) FROM inspect.server_logs", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(side, 1000);

    client
        .batch_execute(
            "DELETE FROM server_logs WHERE borrower_id = 900001;
             DELETE FROM payments WHERE loan_id = 900010;
             DELETE FROM loans WHERE borrower_id = 900001;
             DELETE FROM borrowers WHERE id = 900001;",
        )
        .await
        .unwrap();
    // A dry run loads and counts every row, then rolls back: the counts are the real
    // run's, and the database (audit log included) is unchanged.
    let restore_json = |extra: &[&str]| -> serde_json::Value {
        let output = db
            .cmd()
            .args([
                "--format", "json", "archive", "restore", "--yes", "--ticket", "T-1", "-i",
            ])
            .arg(&keys.age_identity)
            .arg(&out)
            .args(extra)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let mut report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        assert_eq!(report["dry_run"], serde_json::json!(extra == ["--dry-run"]));
        report.as_object_mut().unwrap().remove("dry_run");
        report
    };
    let before = database_checksums(&client).await;
    let dry = restore_json(&["--dry-run"]);
    assert_eq!(database_checksums(&client).await, before);
    let nonzero: BTreeMap<String, u64> = dry["counts"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(table, n)| (table.clone(), n.as_u64().unwrap()))
        .filter(|(_, n)| *n > 0)
        .collect();
    assert_eq!(
        nonzero,
        BTreeMap::from([
            ("public.borrowers".to_owned(), 1),
            ("public.loans".to_owned(), 1),
            ("public.payments".to_owned(), 2),
            ("public.server_logs".to_owned(), 1000),
        ])
    );
    assert_eq!(dry["rows"], serde_json::json!(1004));
    let count = |sql: &'static str| {
        let client = &client;
        async move { client.query_one(sql, &[]).await.unwrap().get::<_, i64>(0) }
    };
    assert_eq!(
        count("SELECT count(*) FROM borrowers WHERE id = 900001").await,
        0
    );
    assert_eq!(
        restore_json(&[]),
        dry,
        "the dry run is the real run, rolled back"
    );
    assert_eq!(
        count("SELECT count(*) FROM borrowers WHERE id = 900001").await,
        1
    );
    assert_eq!(
        count("SELECT count(*) FROM payments WHERE loan_id = 900010").await,
        2
    );
    assert_eq!(
        count("SELECT count(*) FROM server_logs WHERE borrower_id = 900001").await,
        1000
    );
    // A side schema name that is not a plain new schema is refused.
    restore(&["--into", "public"]).code(2);
}

#[tokio::test]
async fn expired_archives_are_listed_and_destroyed() {
    let db = TestDb::migrated().await;
    seed(&db).await;
    let keys = age_keys();
    let old = keys.dir.join("old.age");
    let fresh = keys.dir.join("fresh.age");
    dump(&db, &keys, &old, &["--table", "loans"]).success();
    dump(&db, &keys, &fresh, &["--table", "payments"]).success();
    let client = db.client().await;
    client
        .execute(
            "UPDATE derbes.archives SET keep_until = now() - interval '1 day' WHERE path LIKE '%old.age'",
            &[],
        )
        .await
        .unwrap();
    db.cmd()
        .args(["archive", "list", "--expired"])
        .assert()
        .success()
        .stdout(predicate::str::contains("old.age"))
        .stdout(predicate::str::contains("fresh.age").not());
    // A dry run changes neither the catalogue (nor anything else in the database)
    // nor a file.
    let files = |paths: [&Path; 2]| paths.map(|p| std::fs::read(p).unwrap());
    let before = (database_checksums(&client).await, files([&old, &fresh]));
    db.cmd()
        .args(["archive", "expire", "--dry-run", "--ticket", "T-1"])
        .assert()
        .success()
        .stdout(predicate::str::contains("old.age"))
        .stdout(predicate::str::contains("fresh.age").not());
    assert_eq!(
        (database_checksums(&client).await, files([&old, &fresh])),
        before
    );
    db.cmd()
        .args(["archive", "expire", "--ticket", "T-1"])
        .assert()
        .code(5);
    db.cmd()
        .args(["archive", "expire", "--yes", "--ticket", "RET-1"])
        .assert()
        .success()
        .stdout(predicate::str::contains("1 archive(s) destroyed"));
    assert!(!old.exists());
    assert!(fresh.exists());
    let catalogued: i64 = client
        .query_one("SELECT count(*) FROM derbes.archives", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(catalogued, 1, "only the fresh archive stays catalogued");
    let audit: i64 = client
        .query_one(
            "SELECT count(*) FROM derbes.audit_log WHERE action = 'archive.expire' AND ticket = 'RET-1'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(audit, 1);
    db.cmd()
        .args(["archive", "list"])
        .assert()
        .success()
        .stdout(predicate::str::contains("old.age").not());
}

/// A connection terminated while a restore loads rows is a failure (exit 1) that
/// says nothing was loaded, not a refusal (exit 5) with advice about side schemas.
#[tokio::test]
async fn a_connection_lost_during_restore_is_exit_1_and_nothing_was_loaded() {
    let db = TestDb::migrated().await;
    seed(&db).await;
    let keys = age_keys();
    let out = keys.dir.join("a.age");
    dump(&db, &keys, &out, &["--subject", IIN_A]).success();
    let client = db.client().await;
    let before = database_checksums(&client).await;

    // Hold the tables so the restore waits in its first COPY (or CREATE ... LIKE).
    let mut holder = db.client().await;
    let hold = holder.transaction().await.unwrap();
    hold.batch_execute("LOCK TABLE borrowers IN ACCESS EXCLUSIVE MODE")
        .await
        .unwrap();
    let child = std::process::Command::new(assert_cmd::cargo::cargo_bin("derbes"))
        .env("DATABASE_URL", db.conninfo())
        .env("DERBES_MAP", crate::support::reference_map())
        .env("DERBES_OPERATOR", "test-operator")
        .args([
            "archive", "restore", "--yes", "--ticket", "T-1", "--into", "restored", "-i",
        ])
        .arg(&keys.age_identity)
        .arg(&out)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut waited = 0;
    loop {
        let blocked: i64 = client
            .query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() \
                 AND application_name = 'derbes' AND wait_event_type = 'Lock'",
                &[],
            )
            .await
            .unwrap()
            .get(0);
        if blocked > 0 {
            break;
        }
        waited += 1;
        assert!(waited < 300, "the restore never waited on borrowers");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    crate::support::terminate_sessions(&client, "derbes").await;
    let output = child.wait_with_output().unwrap();
    hold.rollback().await.unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("connection to the database was lost"),
        "{stderr}"
    );
    assert!(stderr.contains("nothing was loaded"), "{stderr}");
    assert!(!stderr.contains("side schema"), "{stderr}");
    assert_eq!(before, database_checksums(&client).await);
}

#[tokio::test]
async fn a_connection_killed_mid_dump_leaves_no_file_and_no_catalogue_row() {
    let db = TestDb::migrated().await;
    seed(&db).await;
    let keys = age_keys();
    let out_dir = keys.dir.join("out");
    std::fs::create_dir(&out_dir).unwrap();
    let out = out_dir.join("killed.age");

    // Hold server_logs so the dump stops there, after earlier tables were written.
    let mut holder = db.client().await;
    let hold = holder.transaction().await.unwrap();
    hold.batch_execute("LOCK TABLE server_logs IN ACCESS EXCLUSIVE MODE")
        .await
        .unwrap();

    let child = std::process::Command::new(assert_cmd::cargo::cargo_bin("derbes"))
        .env("DATABASE_URL", db.conninfo())
        .env("DERBES_MAP", crate::support::reference_map())
        .args([
            "archive",
            "dump",
            "--yes",
            "--ticket",
            "T-1",
            "--keep",
            "1y",
            "--subject",
            IIN_A,
            "-r",
        ])
        .arg(&keys.age_recipient)
        .arg("--out")
        .arg(&out)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();

    let killer = db.client().await;
    let mut waited = 0;
    loop {
        let blocked: i64 = killer
            .query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() \
                 AND application_name = 'derbes' AND wait_event_type = 'Lock'",
                &[],
            )
            .await
            .unwrap()
            .get(0);
        if blocked > 0 {
            break;
        }
        waited += 1;
        assert!(waited < 300, "the dump never reached server_logs");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let partial = std::fs::read_dir(&out_dir).unwrap().count();
    assert_eq!(partial, 1, "a temporary file is being written mid-dump");
    crate::support::terminate_sessions(&killer, "derbes").await;
    let output = child.wait_with_output().unwrap();
    hold.rollback().await.unwrap();
    assert_eq!(
        output.status.code(),
        Some(1),
        "a lost connection is exit 1: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let audited: i64 = killer
        .query_one("SELECT count(*) FROM derbes.audit_log", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(audited, 0, "no audit row for a dump that did not finish");
    assert_eq!(
        std::fs::read_dir(&out_dir).unwrap().count(),
        0,
        "the partial file was removed"
    );
    assert_eq!(catalogue_count(&db).await, 0);
}

#[tokio::test]
async fn the_library_api_keeps_the_file_only_when_the_delete_commits() {
    use derbes::files::crypto::Recipients;
    use derbes::ops::archive::{self, ArchiveRequest, OlderThan, Selection};

    let db = TestDb::migrated().await;
    seed(&db).await;
    let keys = age_keys();
    let map = derbes::map::DataMap::load(&crate::support::reference_map()).unwrap();
    let mut client = db.client().await;
    let catalog = derbes::pg::catalog::Catalog::read(&client).await.unwrap();
    let request = |out: &Path| {
        let mut recipients = Recipients::new();
        recipients.add(&keys.age_recipient, 1).unwrap();
        ArchiveRequest {
            selection: Selection::Table {
                table: "server_logs".into(),
                older_than: Some(OlderThan {
                    cutoff: chrono::Utc::now() - chrono::Duration::hours(100),
                    column: None,
                }),
            },
            out: out.to_owned(),
            overwrite: false,
            recipients,
            keep: Some("1y".into()),
            operator: "purge-test".into(),
            ticket: None,
            // Small parts, so the archive has several members per table.
            part_bytes: 4096,
            capture_keys: false,
            jobs: None,
        }
    };

    // Rolled back: no file, no catalogue row, rows still there.
    let rolled = keys.dir.join("rolled.age");
    {
        let tx = client.transaction().await.unwrap();
        let receipt = archive::write_verified(&tx, &map, &catalog, request(&rolled), &|_, _| {})
            .await
            .unwrap();
        assert!(rolled.exists());
        tx.execute(
            "DELETE FROM server_logs WHERE logged_at < now() - interval '100 hours'",
            &[],
        )
        .await
        .unwrap();
        drop(receipt);
        tx.rollback().await.unwrap();
    }
    assert!(!rolled.exists());
    assert_eq!(catalogue_count(&db).await, 0);

    // Committed: the archive holds exactly the deleted rows.
    let kept = keys.dir.join("kept.age");
    let tx = client.transaction().await.unwrap();
    let receipt = archive::write_verified(&tx, &map, &catalog, request(&kept), &|_, _| {})
        .await
        .unwrap();
    let deleted = tx
        .execute(
            "DELETE FROM server_logs WHERE logged_at < now() - interval '100 hours'",
            &[],
        )
        .await
        .unwrap();
    let summary = receipt.commit(tx).await.unwrap();
    assert_eq!(summary.rows, deleted);
    assert!(kept.exists());
    assert_eq!(catalogue_count(&db).await, 1);

    // Every part is a CSV of its own with the header line; together they hold the rows.
    let unpacked = unpack_with_stock_tools(&kept, &keys.age_identity);
    let mut parts: Vec<PathBuf> = std::fs::read_dir(unpacked.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().contains("public.server_logs."))
        .collect();
    parts.sort();
    assert!(parts.len() > 3, "{parts:?}");
    assert!(parts[0].ends_with("public.server_logs.0001.csv"));
    let rows: usize = parts.iter().map(|p| csv_rows(p).len()).sum();
    assert_eq!(rows as u64, deleted);

    // And the parts load back.
    db.cmd()
        .args([
            "archive", "restore", "--yes", "--ticket", "T-1", "--into", "purged", "-i",
        ])
        .arg(&keys.age_identity)
        .arg(&kept)
        .assert()
        .success()
        .stdout(predicate::str::contains(format!("{deleted} rows loaded")));
}

pub(crate) async fn expire_now(db: &TestDb, path_like: &str) {
    db.client()
        .await
        .execute(
            "UPDATE derbes.archives SET keep_until = now() - interval '1 day' WHERE path LIKE $1",
            &[&format!("%{path_like}")],
        )
        .await
        .unwrap();
}

/// Regression (issue 10, defect 1): expire deleted whatever sat at a catalogued
/// path. Now a file whose SHA-256 is not the catalogue's is kept, with its row,
/// and reported (exit 6); once it is moved away, the row goes ("already gone").
#[tokio::test]
async fn expire_removes_only_the_file_the_catalogue_describes() {
    let db = TestDb::migrated().await;
    seed(&db).await;
    let keys = age_keys();
    let path = keys.dir.join("old.age");
    dump(&db, &keys, &path, &["--table", "loans"]).success();
    expire_now(&db, "old.age").await;
    // Something else now sits at the catalogued path.
    std::fs::write(&path, "an unrelated file").unwrap();
    db.cmd()
        .args(["archive", "expire", "--yes", "--ticket", "RET-2"])
        .assert()
        .code(6)
        .stdout(predicate::str::contains("not the catalogued file"))
        .stderr(predicate::str::contains("old.age"));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "an unrelated file");
    assert_eq!(catalogue_count(&db).await, 1, "the row stays");

    // The foreign file moved away: the row is deleted, and the run says the file was gone.
    std::fs::remove_file(&path).unwrap();
    db.cmd()
        .args(["archive", "expire", "--yes", "--ticket", "RET-2"])
        .assert()
        .success()
        .stdout(predicate::str::contains("already gone"));
    assert_eq!(catalogue_count(&db).await, 0);
}

/// A dry run of expire says what would happen, never "removed".
#[tokio::test]
async fn expire_dry_run_says_would_be_removed() {
    let db = TestDb::migrated().await;
    seed(&db).await;
    let keys = age_keys();
    let path = keys.dir.join("old.age");
    dump(&db, &keys, &path, &["--table", "loans"]).success();
    expire_now(&db, "old.age").await;
    db.cmd()
        .args(["archive", "expire", "--dry-run", "--ticket", "T-1"])
        .assert()
        .success()
        .stdout(predicate::str::contains("would be removed"))
        .stdout(predicate::str::contains("| removed").not());
    assert!(path.exists());
    assert_eq!(catalogue_count(&db).await, 1);
}

/// Regression (issue 10, defect 1): `--force` replaced a catalogued 5-year archive.
/// `archive dump --force` and `export --force` now refuse a catalogued path.
#[tokio::test]
async fn force_never_replaces_a_catalogued_archive() {
    let db = TestDb::migrated().await;
    seed(&db).await;
    let keys = age_keys();
    let path = keys.dir.join("same.age");
    dump(&db, &keys, &path, &["--subject", IIN_A]).success();
    let before = std::fs::read(&path).unwrap();
    db.cmd()
        .args([
            "archive", "dump", "--yes", "--ticket", "T-1", "--keep", "5y", "--force", "-r",
        ])
        .arg(&keys.age_recipient)
        .arg("--out")
        .arg(&path)
        .args(["--subject", IIN_B])
        .assert()
        .code(5)
        .stderr(predicate::str::contains("catalogued archive"));
    // The same file through another spelling of its path.
    let other = keys.dir.join(".").join("same.age");
    db.cmd()
        .args([
            "export",
            IIN_B,
            "--ticket",
            "REQ-1",
            "--force",
            "--recipient",
        ])
        .arg(&keys.age_recipient)
        .arg("--out")
        .arg(&other)
        .assert()
        .code(5)
        .stderr(predicate::str::contains("catalogued archive"));
    assert_eq!(std::fs::read(&path).unwrap(), before);
    assert_eq!(catalogue_count(&db).await, 1);
}

/// Regression (issue 10, defect 1): `--out /dev/null --force` turned /dev/null into
/// a 0600 file; `--out DIR` was answered "pass --force".
#[tokio::test]
async fn force_writes_only_regular_files() {
    let db = TestDb::migrated().await;
    seed(&db).await;
    let keys = age_keys();
    for args in [
        vec![
            "archive", "dump", "--yes", "--ticket", "T-1", "--table", "loans", "--keep", "1y", "-r",
        ],
        vec!["export", IIN_A, "--ticket", "REQ-2", "--recipient"],
    ] {
        db.cmd()
            .args(&args)
            .arg(&keys.age_recipient)
            .args(["--out", "/dev/null", "--force"])
            .assert()
            .code(2)
            .stderr(predicate::str::contains("not a regular file"));
        db.cmd()
            .args(&args)
            .arg(&keys.age_recipient)
            .arg("--out")
            .arg(&keys.dir)
            .assert()
            .code(2)
            .stderr(predicate::str::contains("is a directory"))
            .stderr(predicate::str::contains("--force").not());
    }
    let meta = std::fs::metadata("/dev/null").unwrap();
    assert!(!meta.file_type().is_file(), "/dev/null is still a device");
    assert_eq!(catalogue_count(&db).await, 0);
}

/// Regression (issue 10, defect 11): `--keep 0d` made an archive that expired at once.
#[tokio::test]
async fn keep_below_one_day_is_refused() {
    let db = TestDb::migrated().await;
    seed(&db).await;
    let keys = age_keys();
    let out = keys.dir.join("short.age");
    for keep in ["0d", "12h", "30m"] {
        db.cmd()
            .args([
                "archive", "dump", "--yes", "--ticket", "T-1", "--table", "loans", "--keep", keep,
                "-r",
            ])
            .arg(&keys.age_recipient)
            .arg("--out")
            .arg(&out)
            .assert()
            .code(2)
            .stderr(predicate::str::contains("at least 1d"));
    }
    assert!(!out.exists());
    assert_eq!(catalogue_count(&db).await, 0);
}

/// Regression (issue 10, defect 7): `--where-older-than` was ignored with
/// `--subject`. Now it keeps only the subject's rows older than the cut-off, each
/// table aged by its time_column; `--on` and `--rule` do not combine with it.
#[tokio::test]
async fn where_older_than_with_subject_keeps_only_older_rows() {
    let db = TestDb::migrated().await;
    seed(&db).await;
    let keys = age_keys();
    let out = keys.dir.join("old-of-a.age");
    let assert = db
        .cmd()
        .args([
            "--format", "json", "archive", "dump", "--yes", "--ticket", "T-1", "--keep", "5y", "-r",
        ])
        .arg(&keys.age_recipient)
        .arg("--out")
        .arg(&out)
        .args(["--subject", IIN_A, "--where-older-than", "1y"])
        .assert()
        .success();
    let report: serde_json::Value = serde_json::from_slice(&assert.get_output().stdout).unwrap();
    let counts = &report["counts"];
    // Loan 900010 and payment 900020 are six years old; the rest of A's rows are new.
    assert_eq!(counts["public.loans"], 1, "{report}");
    assert_eq!(counts["public.payments"], 1, "{report}");
    assert_eq!(counts["public.borrowers"], 0, "{report}");
    assert_eq!(counts["public.server_logs"], 0, "{report}");
    assert!(report["selection"]["older_than"].is_string(), "{report}");
    let files = unpack_with_stock_tools(&out, &keys.age_identity);
    let payments = csv_rows(&files.path().join("public.payments.csv"));
    assert_eq!(payments.len(), 1);
    assert_eq!(&payments[0][0], "900020");

    for extra in [
        vec![
            "--subject",
            IIN_A,
            "--where-older-than",
            "1y",
            "--on",
            "issued_at",
        ],
        vec!["--rule", "loan-records", "--where-older-than", "1y"],
    ] {
        db.cmd()
            .args([
                "archive", "dump", "--yes", "--ticket", "T-1", "--keep", "5y", "-r",
            ])
            .arg(&keys.age_recipient)
            .arg("--out")
            .arg(keys.dir.join("refused.age"))
            .args(&extra)
            .assert()
            .code(2);
    }
    assert!(!keys.dir.join("refused.age").exists());
}

/// Wait until this database has no derbes session left (a stopped run's backend
/// ends a moment after the process).
pub(crate) async fn wait_for_no_derbes_session(db: &TestDb) {
    let client = db.client().await;
    for _ in 0..100 {
        let n: i64 = client
            .query_one(
                "SELECT count(*) FROM pg_stat_activity \
                 WHERE datname = current_database() AND application_name = 'derbes'",
                &[],
            )
            .await
            .unwrap()
            .get(0);
        if n == 0 {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("a derbes session outlived its process");
}

async fn pending_runs(db: &TestDb) -> i64 {
    db.client()
        .await
        .query_one("SELECT count(*) FROM derbes.archive_runs", &[])
        .await
        .unwrap()
        .get(0)
}

pub(crate) fn partials(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".partial"))
        .collect()
}

/// Regression (issue 10, defect 6): a dump killed while writing left its encrypted
/// `.partial` file forever. The run is recorded before writing; `archive list`
/// shows it orphaned, and the next dump removes what it left.
#[tokio::test]
async fn a_dump_killed_while_writing_is_cleaned_up_by_the_next_dump() {
    let db = TestDb::migrated().await;
    seed(&db).await;
    let keys = age_keys();
    let killed = keys.dir.join("killed.age");
    db.cmd()
        .env("DERBES_FAULT_POINT", "archive.dump.writing")
        .args([
            "archive", "dump", "--yes", "--ticket", "T-1", "--table", "loans", "--keep", "1y", "-r",
        ])
        .arg(&keys.age_recipient)
        .arg("--out")
        .arg(&killed)
        .assert()
        .code(137);
    wait_for_no_derbes_session(&db).await;
    assert_eq!(partials(&keys.dir).len(), 1, "the kill left its temporary");
    assert_eq!(pending_runs(&db).await, 1);
    db.cmd()
        .args(["archive", "list"])
        .assert()
        .success()
        .stdout(predicate::str::contains("orphaned"))
        .stdout(predicate::str::contains(".killed.age."));

    dump(
        &db,
        &keys,
        &keys.dir.join("next.age"),
        &["--table", "loans"],
    )
    .success()
    .stderr(predicate::str::contains("did not finish"));
    assert!(partials(&keys.dir).is_empty(), "{:?}", partials(&keys.dir));
    assert!(!killed.exists());
    assert_eq!(pending_runs(&db).await, 0);
    assert_eq!(catalogue_count(&db).await, 1);
}

/// Regression (issue 10, defect 6): a dump killed right after the rename left a
/// complete archive the catalogue never learnt of. The next expire removes it.
#[tokio::test]
async fn a_dump_killed_after_the_rename_is_cleaned_up_by_the_next_expire() {
    let db = TestDb::migrated().await;
    seed(&db).await;
    let keys = age_keys();
    let killed = keys.dir.join("renamed.age");
    db.cmd()
        .env("DERBES_FAULT_POINT", "archive.dump.renamed")
        .args([
            "archive", "dump", "--yes", "--ticket", "T-1", "--table", "loans", "--keep", "1y", "-r",
        ])
        .arg(&keys.age_recipient)
        .arg("--out")
        .arg(&killed)
        .assert()
        .code(137);
    wait_for_no_derbes_session(&db).await;
    assert!(killed.exists(), "the archive was renamed into place");
    assert_eq!(catalogue_count(&db).await, 0, "but never catalogued");
    db.cmd()
        .args(["--format", "json", "archive", "list"])
        .assert()
        .success()
        .stdout(predicate::str::contains("\"running\":false"))
        .stdout(predicate::str::contains("renamed.age"));
    // A file that was there before the run is never taken for its leftover.
    let keep = keys.dir.join("unrelated.age");
    std::fs::write(&keep, "age-encryption.org/v1 but not ours").unwrap();

    db.cmd()
        .args(["archive", "expire", "--yes", "--ticket", "RET-3"])
        .assert()
        .success()
        .stderr(predicate::str::contains("renamed.age"));
    assert!(!killed.exists());
    assert!(keep.exists());
    assert_eq!(pending_runs(&db).await, 0);
    // A finished dump leaves no run behind.
    dump(
        &db,
        &keys,
        &keys.dir.join("fine.age"),
        &["--table", "loans"],
    )
    .success();
    assert_eq!(pending_runs(&db).await, 0);
}

fn recipients_of(keys: &Keys) -> derbes::files::crypto::Recipients {
    let mut recipients = derbes::files::crypto::Recipients::new();
    recipients.add(&keys.age_recipient, 1).unwrap();
    recipients
}

/// Issue 9 (item 8): an archive-then-delete deletes exactly the keys it archived.
/// A row matching the same selection, committed by another session between the
/// dump and the delete, survives (deleting by the predicate again would take it).
#[tokio::test]
async fn archive_then_delete_deletes_exactly_the_archived_keys() {
    use derbes::ops::archive::{self, ArchiveRequest, OlderThan, Selection};

    let db = TestDb::migrated().await;
    seed(&db).await;
    let keys = age_keys();
    let map = derbes::map::DataMap::load(&crate::support::reference_map()).unwrap();
    let mut client = db.client().await;
    let other = db.client().await;
    let catalog = derbes::pg::catalog::Catalog::read(&client).await.unwrap();
    let out = keys.dir.join("purge.age");
    let older = "logged_at < now() - interval '100 hours'";
    let count_matching = || {
        let other = &other;
        async move {
            other
                .query_one(
                    &format!("SELECT count(*) FROM server_logs WHERE {older}"),
                    &[],
                )
                .await
                .unwrap()
                .get::<_, i64>(0)
        }
    };
    let before = count_matching().await;

    let tx = client.transaction().await.unwrap();
    let receipt = archive::write_verified(
        &tx,
        &map,
        &catalog,
        ArchiveRequest {
            selection: Selection::Table {
                table: "server_logs".into(),
                older_than: Some(OlderThan {
                    cutoff: chrono::Utc::now() - chrono::Duration::hours(100),
                    column: None,
                }),
            },
            out: out.clone(),
            overwrite: false,
            recipients: recipients_of(&keys),
            keep: Some("1y".into()),
            operator: "purge-test".into(),
            ticket: Some("RET-9".into()),
            part_bytes: 4096,
            capture_keys: true,
            jobs: None,
        },
        &|_, _| {},
    )
    .await
    .unwrap();
    assert_eq!(receipt.summary.rows as i64, before);
    assert_eq!(receipt.keys.len(), 1);
    assert_eq!(receipt.keys[0].rows as i64, before);
    assert_eq!(receipt.keys[0].key_columns, ["id", "logged_at"]);
    let recorded: i64 = tx
        .query_one(
            &format!(
                "SELECT count(*) FROM {}",
                receipt.keys[0].quoted_temp_table()
            ),
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        recorded, before,
        "the temporary table holds every archived key"
    );

    // Another session commits a row the same selection matches.
    other
        .execute(
            "INSERT INTO server_logs (id, logged_at, borrower_id, ip, method, path, status) \
             VALUES (990001, now() - interval '200 hours', 900001, '10.0.0.9', 'GET', '/late', 200)",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(count_matching().await, before + 1);

    let deleted = receipt.delete_archived(&tx).await.unwrap();
    assert_eq!(
        deleted,
        BTreeMap::from([("public.server_logs".to_owned(), before as u64)])
    );
    let summary = receipt.commit(tx).await.unwrap();
    assert_eq!(summary.rows as i64, before);
    let late: i64 = other
        .query_one("SELECT count(*) FROM server_logs WHERE id = 990001", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(late, 1, "the row committed after the dump survives");
    assert_eq!(count_matching().await, 1);

    // Without captured keys there is nothing to delete by: refused, nothing deleted.
    let tx = client.transaction().await.unwrap();
    let receipt = archive::write_verified(
        &tx,
        &map,
        &catalog,
        ArchiveRequest {
            selection: Selection::Table {
                table: "loans".into(),
                older_than: None,
            },
            out: keys.dir.join("plain.age"),
            overwrite: false,
            recipients: recipients_of(&keys),
            keep: Some("1y".into()),
            operator: "purge-test".into(),
            ticket: Some("RET-9".into()),
            part_bytes: derbes::files::tar_writer::PART_BYTES,
            capture_keys: false,
            jobs: None,
        },
        &|_, _| {},
    )
    .await
    .unwrap();
    let refused = receipt.delete_archived(&tx).await.unwrap_err();
    assert!(refused.to_string().contains("capture_keys"), "{refused}");
    drop(receipt);
    tx.rollback().await.unwrap();
    assert!(!keys.dir.join("plain.age").exists());
}

/// Issue 9 (item 8): an archive stands alone. Restored into another database whose
/// catalogue does not know it: a warning, members still checked against the
/// manifest, rows loaded; into a database without the tables, `--into` creates side
/// tables from the manifest's column definitions, and the originals are refused.
#[tokio::test]
async fn an_uncatalogued_archive_restores_into_a_fresh_database() {
    let source = TestDb::migrated().await;
    seed(&source).await;
    let keys = age_keys();
    let out = keys.dir.join("alone.age");
    dump(&source, &keys, &out, &["--subject", "id:900001"]).success();

    // A fresh copy of the reference schema, without the subject.
    let fresh = TestDb::migrated().await;
    let client = fresh.client().await;
    let restore = |db: &TestDb, extra: &[&str]| {
        let mut cmd = db.cmd();
        cmd.args(["archive", "restore", "--yes", "--ticket", "DPO-9", "-i"])
            .arg(&keys.age_identity)
            .arg(&out)
            .args(extra);
        cmd.assert()
    };
    db_verify_fails_uncatalogued(&fresh, &keys, &out);
    restore(&fresh, &[])
        .success()
        .stderr(predicate::str::contains(
            "not in this database's archive catalogue",
        ))
        .stdout(predicate::str::contains("1004 rows loaded"));
    let count = |sql: &'static str| {
        let client = &client;
        async move { client.query_one(sql, &[]).await.unwrap().get::<_, i64>(0) }
    };
    assert_eq!(
        count("SELECT count(*) FROM borrowers WHERE id = 900001").await,
        1
    );
    assert_eq!(
        count("SELECT count(*) FROM payments WHERE loan_id = 900010").await,
        2
    );
    fresh.cmd().args(["audit", "verify"]).assert().success();

    // A damaged uncatalogued archive is still refused: the manifest is checked.
    let damaged = keys.dir.join("damaged.age");
    let mut bytes = std::fs::read(&out).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    std::fs::write(&damaged, bytes).unwrap();
    fresh
        .cmd()
        .args(["archive", "restore", "--yes", "--ticket", "T-1", "-i"])
        .arg(&keys.age_identity)
        .arg(&damaged)
        .assert()
        .code(6);

    // A database without the tables: the originals are refused, side tables work.
    let empty = TestDb::empty().await;
    let mut empty_client = empty.client().await;
    derbes::pg::migrate::apply(&mut empty_client, false)
        .await
        .unwrap();
    let before = database_checksums(&empty_client).await;
    restore(&empty, &[])
        .code(5)
        .stderr(predicate::str::contains("not in this database"))
        .stderr(predicate::str::contains("--into"));
    assert_eq!(database_checksums(&empty_client).await, before);
    restore(&empty, &["--into", "inspect"]).success();
    let typed: Vec<(String, String)> = empty_client
        .query(
            "SELECT column_name::text, data_type::text FROM information_schema.columns \
             WHERE table_schema = 'inspect' AND table_name = 'payments' ORDER BY ordinal_position",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert!(
        typed.contains(&("amount".to_owned(), "numeric".to_owned())),
        "{typed:?}"
    );
    let side: i64 = empty_client
        .query_one("SELECT count(*) FROM inspect.server_logs", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(side, 1000);
}

fn db_verify_fails_uncatalogued(db: &TestDb, keys: &Keys, out: &Path) {
    // `verify` still insists on the catalogue: it answers "is this our archive?".
    db.cmd()
        .args(["archive", "verify", "-i"])
        .arg(&keys.age_identity)
        .arg(out)
        .assert()
        .code(6)
        .stderr(predicate::str::contains(
            "not in this database's archive catalogue",
        ));
}

/// Issue 9 (item 8): generated columns (COPY cannot write them) and `GENERATED
/// ALWAYS` identity columns (they refuse given values) restore: the generated value
/// is computed again, the identity keeps its archived value, and its sequence moves
/// past it.
#[tokio::test]
async fn generated_and_identity_always_columns_restore() {
    let db = TestDb::migrated().await;
    seed(&db).await;
    let client = db.client().await;
    client
        .batch_execute(
            "ALTER TABLE payments ALTER COLUMN id SET GENERATED ALWAYS;
             ALTER TABLE payments ADD COLUMN amount_tiyn bigint
               GENERATED ALWAYS AS ((amount * 100)::bigint) STORED;",
        )
        .await
        .unwrap();
    let keys = age_keys();
    let out = keys.dir.join("generated.age");
    dump(&db, &keys, &out, &["--subject", "id:900001"]).success();
    let unpacked = unpack_with_stock_tools(&out, &keys.age_identity);
    let header = csv::Reader::from_path(unpacked.path().join("public.payments.csv"))
        .unwrap()
        .headers()
        .unwrap()
        .clone();
    assert!(header.iter().any(|h| h == "amount_tiyn"), "{header:?}");

    client
        .batch_execute(
            "DELETE FROM server_logs WHERE borrower_id = 900001;
             DELETE FROM payments WHERE loan_id = 900010;
             DELETE FROM loans WHERE borrower_id = 900001;
             DELETE FROM borrowers WHERE id = 900001;
             SELECT setval(pg_get_serial_sequence('payments', 'id'), 1);",
        )
        .await
        .unwrap();
    db.cmd()
        .args(["archive", "restore", "--yes", "--ticket", "T-1", "-i"])
        .arg(&keys.age_identity)
        .arg(&out)
        .assert()
        .success()
        .stdout(predicate::str::contains("1004 rows loaded"));
    let rows: Vec<(i64, i64)> = client
        .query(
            "SELECT id, amount_tiyn FROM payments WHERE loan_id = 900010 ORDER BY id",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(rows, [(900020, 500000), (900021, 10000)]);
    // A new payment takes an id past the restored ones.
    let next: i64 = client
        .query_one(
            "INSERT INTO payments (loan_id, paid_at, amount, channel) \
             VALUES (900010, now(), 1, 'card') RETURNING id",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(next > 900021, "{next}");
}

/// Issue 9, item 7: every archive's manifest records the audit head at its creation
/// (so an archive anchors the chain); `archive verify` shows it and fails (exit 6)
/// when this database's audit log no longer holds it.
#[tokio::test]
async fn an_archive_records_the_audit_head_and_verify_checks_it() {
    let db = TestDb::migrated().await;
    seed(&db).await;
    let keys = age_keys();
    let verify = |path: &Path| {
        db.cmd()
            .args(["archive", "verify", "--identity"])
            .arg(&keys.age_identity)
            .arg(path)
            .assert()
    };
    // On an empty log there is no head to record.
    let first = keys.dir.join("first.age");
    dump(&db, &keys, &first, &["--subject", IIN_B]).success();
    verify(&first).success().stdout(predicate::str::contains(
        "audit head at creation: none recorded",
    ));

    // The second archive anchors the last audit row before it: the first
    // verification's record (the first archive's dump is row 1).
    let client = db.client().await;
    let (head, hash): (i64, Vec<u8>) = client
        .query_one(
            "SELECT seq, row_hash FROM derbes.audit_log \
             WHERE seq = 2 AND action = 'archive.verify' AND detail->>'result' = 'intact'",
            &[],
        )
        .await
        .map(|r| (r.get(0), r.get(1)))
        .unwrap();
    let second = keys.dir.join("second.age");
    dump(&db, &keys, &second, &["--subject", IIN_A]).success();
    let anchor = format!("{head}:{}", hex::encode(&hash));
    let unpacked = unpack_with_stock_tools(&second, &keys.age_identity);
    let manifest: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(unpacked.path().join("manifest.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(manifest["audit_head"]["seq"], head);
    assert_eq!(manifest["audit_head"]["row_hash"], hex::encode(&hash));
    verify(&second)
        .success()
        .stdout(predicate::str::contains(format!(
            "audit head at creation: {anchor} (held"
        )));
    let json = db
        .cmd()
        .args(["--format", "json", "archive", "verify", "--identity"])
        .arg(&keys.age_identity)
        .arg(&second)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let json: serde_json::Value = serde_json::from_slice(&json).unwrap();
    assert_eq!(json["audit_head"]["status"], "held");

    // Every audit row deleted behind the trigger: the archive still anchors the chain.
    client
        .batch_execute(
            "SET session_replication_role = replica; DELETE FROM derbes.audit_log; \
             SET session_replication_role = origin",
        )
        .await
        .unwrap();
    db.cmd().args(["audit", "verify"]).assert().success();
    verify(&second)
        .code(6)
        .stdout(predicate::str::contains("NOT held"))
        .stderr(predicate::str::contains("is intact, but the audit head"))
        .stderr(predicate::str::contains(format!("--head {anchor}")));
    db.cmd()
        .args(["audit", "verify", "--head", &anchor])
        .assert()
        .code(6);
}
