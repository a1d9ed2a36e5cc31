//! `derbes rectify`: corrections checked for their category and the data map's
//! locks, a before/after diff, one transaction with an audit row that names the
//! fields and holds keyed hashes of the values (never the values), and the subject
//! still found by a corrected identity.

use chrono::NaiveDate;
use derbes::kz::identity::{Iin, Sex};
use derbes::ops::rectify::AuditKey;
use predicates::prelude::*;
use tokio_postgres::Client;

use crate::support::{database_checksums, others_checksums, reference_map, temp_file, TestDb};

/// An audit key as `openssl rand -hex 32` writes it: 32 random bytes, fixed so tests
/// can compute the hashes.
pub const AUDIT_KEY: &str = "09943ad27949a04a880d16c3bf90c99c352b7e24b279b51fbf9ca3bc9d8906fd";

/// One subject (key 900001, IIN of a woman born 2006-12-11) with two addresses,
/// an identity document, an employment and an open loan. Keys 900001.. stay clear of the sample.
pub const SUBJECT: &str = r#"
INSERT INTO borrowers (id, iin, last_name, first_name, patronymic, birth_date, sex, email, phone) VALUES
    (900001, '061211600012', 'Aitova', 'Aigerim', 'Serikovna', '2006-12-11', 'F', 'aigerim@example.kz', '+77010000001');
INSERT INTO addresses (id, borrower_id, kind, region, city, street, house) VALUES
    (900001, 900001, 'residence', 'Almaty', 'Almaty', 'Abaya', '1'),
    (900002, 900001, 'registration', 'Almaty', 'Almaty', 'Satpayeva', '2');
INSERT INTO identity_documents (id, borrower_id, doc_type, doc_number, issued_by, issued_on, expires_on) VALUES
    (900001, 900001, 'id_card', 'N0000001', 'MVD RK', '2023-01-10', '2033-01-09');
INSERT INTO employments (id, borrower_id, employer_name, monthly_income) VALUES
    (900001, 900001, 'TOO Test', 250000.00);
INSERT INTO loans (id, borrower_id, contract_no, principal, rate_percent, issued_at, due_on, status) VALUES
    (900001, 900001, 'MK-TEST-900001', 100000, 0.3, now() - interval '10 days', current_date + 20, 'open');
INSERT INTO consents (borrower_id, policy_version_id, purpose, granted_at) VALUES
    (900001, (SELECT min(id) FROM policy_versions), 'marketing', now() - interval '10 days'),
    (900001, (SELECT min(id) FROM policy_versions), 'services', now() - interval '10 days');
"#;

pub async fn db_with_subject() -> (TestDb, Client) {
    let db = TestDb::migrated().await;
    let client = db.client().await;
    client
        .batch_execute(SUBJECT)
        .await
        .expect("test subject loads");
    (db, client)
}

fn rectify(db: &TestDb) -> assert_cmd::Command {
    let mut cmd = db.cmd();
    cmd.env("DERBES_AUDIT_KEY", AUDIT_KEY).arg("rectify");
    cmd
}

async fn text(client: &Client, sql: &str) -> Option<String> {
    client.query_one(sql, &[]).await.unwrap().get(0)
}

/// The reference map with the IIN made rectifiable (an operator's own choice).
fn map_with_rectifiable_iin() -> (tempfile::TempDir, std::path::PathBuf) {
    let reference = std::fs::read_to_string(reference_map()).unwrap();
    let changed: Vec<String> = reference
        .lines()
        .map(|line| {
            if line.starts_with("iin = {") {
                r#"iin = { category = "iin", purpose = "identification", masking = "hmac", rectify = true }"#.to_owned()
            } else {
                line.to_owned()
            }
        })
        .collect();
    temp_file("map.toml", &changed.join("\n"))
}

/// Issue 22, defect 4 (also): a real rectify leaves every other subject's rows, in
/// every table, as they were.
#[tokio::test]
async fn a_corrected_phone_is_stored_in_e164_and_finds_the_subject() {
    let (db, client) = db_with_subject().await;
    let others_before = others_checksums(&client, 900001).await;
    let output = rectify(&db)
        .args(["061211600012", "--set", "phone=8 (701) 555-44-33"])
        .args([
            "--set",
            "patronymic=",
            "--ticket",
            "REQ-1",
            "--evidence",
            "MAIL-7",
        ])
        .args(["--yes", "--format", "json"])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        !stdout.contains("7015554433"),
        "the report shows a value: {stdout}"
    );
    assert!(stdout.contains("+7701*****33"), "{stdout}");
    assert_eq!(
        text(&client, "SELECT phone FROM borrowers WHERE id = 900001")
            .await
            .as_deref(),
        Some("+77015554433")
    );
    assert_eq!(
        others_checksums(&client, 900001).await,
        others_before,
        "other subjects untouched"
    );

    // Found by the new phone, in any spelling; no longer by the old one.
    let shown = db
        .cmd()
        .args(["--format", "json", "subject", "show", "87015554433"])
        .output()
        .unwrap();
    assert!(
        shown.status.success(),
        "{}",
        String::from_utf8_lossy(&shown.stderr)
    );
    let summary: serde_json::Value = serde_json::from_slice(&shown.stdout).unwrap();
    assert_eq!(summary["key"], "900001");
    db.cmd()
        .args(["subject", "show", "+77010000001"])
        .assert()
        .code(3);

    // The audit row: field names and keyed hashes, never a value.
    let row = client
        .query_one(
            "SELECT fields, detail::text, subject_ref, ticket FROM derbes.audit_log \
             WHERE action = 'rectify' ORDER BY seq DESC LIMIT 1",
            &[],
        )
        .await
        .unwrap();
    let mut fields: Vec<String> = row.get(0);
    fields.sort();
    assert_eq!(
        fields,
        ["borrowers.patronymic", "borrowers.phone"].map(String::from)
    );
    let detail: String = row.get(1);
    for value in ["7015554433", "7010000001", "555-44-33"] {
        assert!(
            !detail.contains(value),
            "the audit row holds a value: {detail}"
        );
    }
    let key = AuditKey::new(AUDIT_KEY.as_bytes()).unwrap();
    let detail: serde_json::Value = serde_json::from_str(&detail).unwrap();
    let phone = &detail["values"]["borrowers.phone"];
    assert_eq!(phone["new"], key.hash("borrowers.phone", "+77015554433"));
    assert_eq!(phone["old"], key.hash("borrowers.phone", "+77010000001"));
    assert_eq!(
        detail["values"]["borrowers.patronymic"]["new"],
        serde_json::Value::Null
    );
    assert_eq!(detail["evidence"], "MAIL-7");
    assert_eq!(
        row.get::<_, Option<String>>(2).as_deref(),
        Some("borrowers:900001")
    );
    db.cmd().args(["audit", "verify"]).assert().success();
}

#[tokio::test]
async fn loan_records_and_unmarked_columns_are_refused_with_exit_5() {
    let (db, client) = db_with_subject().await;
    let before = database_checksums(&client).await;
    for (set, words) in [
        (
            "loans.status=closed",
            "records of issued loans may not be changed",
        ),
        ("loans.principal=1", "policy 8.2"),
        ("payments.amount=1", "records of issued loans"),
        ("iin=061211600012", "the IIN identifies the person"),
        ("bank_cards.holder_name=X", "not marked `rectify = true`"),
    ] {
        rectify(&db)
            .args(["id:900001", "--set", set, "--ticket", "REQ-2", "--yes"])
            .assert()
            .code(5)
            .stderr(predicate::str::contains(words));
    }
    assert_eq!(before, database_checksums(&client).await);
}

#[tokio::test]
async fn an_iin_is_checked_for_its_check_digit_and_against_birth_date_and_sex() {
    let (db, client) = db_with_subject().await;
    let before = database_checksums(&client).await;
    // The reference map: a BIN with a wrong check digit.
    rectify(&db)
        .args([
            "id:900001",
            "--set",
            "bin=990840000017",
            "--ticket",
            "REQ-3",
            "--yes",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("check digit"));
    let (_dir, map) = map_with_rectifiable_iin();
    let with_map = |set: &str| {
        let mut cmd = rectify(&db);
        cmd.env("DERBES_MAP", &map)
            .args(["id:900001", "--set", set, "--ticket", "REQ-3", "--yes"]);
        cmd
    };
    with_map("iin=061211600013")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("check digit"))
        .stderr(predicate::str::contains("061211600013").not());
    // A valid IIN of a man born in 1988: not this subject's birth date.
    with_map("iin=880330300016")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("birth date"));
    assert_eq!(before, database_checksums(&client).await);

    // A birth date (rectifiable in this map) must agree with the stored IIN.
    let (_dir2, map2) = temp_file(
        "map2.toml",
        &std::fs::read_to_string(&map).unwrap().replace(
            r#"quasi_identifier = true, locked_reason = "the birth date is encoded in the IIN" }"#,
            r#"quasi_identifier = true, rectify = true }"#,
        ),
    );
    rectify(&db)
        .env("DERBES_MAP", &map2)
        .args([
            "id:900001",
            "--set",
            "birth_date=12.11.2006",
            "--ticket",
            "REQ-3",
            "--yes",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("borrowers.birth_date"))
        .stderr(predicate::str::contains("do not agree"));
    assert_eq!(before, database_checksums(&client).await);

    // Same birth date and sex, another serial: accepted.
    let born = NaiveDate::from_ymd_opt(2006, 12, 11).unwrap();
    let iin = (2..100)
        .find_map(|serial| Iin::from_parts(born, Sex::Female, serial))
        .unwrap()
        .to_string();
    assert_ne!(iin, "061211600012");
    with_map(&format!("iin={iin}")).assert().success();
    assert_eq!(
        text(&client, "SELECT iin::text FROM borrowers WHERE id = 900001").await,
        Some(iin.clone())
    );
    db.cmd().args(["subject", "show", &iin]).assert().success();
}

#[tokio::test]
async fn bad_values_are_refused_with_exit_2_and_nothing_changes() {
    let (db, client) = db_with_subject().await;
    let before = database_checksums(&client).await;
    for (set, words) in [
        ("shoe_size=42", "not a personal column"),
        ("invoices.total=1", "not a table of the data map"),
        ("dependants=two", "whole number"),
        ("dependants=-1", "check constraint"),
        (
            "marital_status=complicated",
            "single, married, divorced, widowed",
        ),
        ("email=aigerim-at-example.kz", "no '@'"),
        ("phone=12345", "phone"),
        ("last_name=", "NOT NULL"),
        ("last_name=  ", "NOT NULL"),
        ("identity_documents.issued_on=2026-02-30", "not a date"),
        ("is_beneficial_owner=maybe", "true or false"),
        ("citizenship=KAZ", "too long"),
        ("employments.monthly_income=1.005", "decimal place"),
        ("phone", "COLUMN=VALUE"),
    ] {
        rectify(&db)
            .args(["id:900001", "--set", set, "--ticket", "REQ-4", "--yes"])
            .assert()
            .code(2)
            .stderr(predicate::str::contains(words));
    }
    // Free text the audit row keeps must be a reference, not personal data.
    for (option, text) in [
        ("--evidence", "scan of 061211600012"),
        ("--ticket", "a@b.kz"),
    ] {
        let mut cmd = rectify(&db);
        cmd.args(["id:900001", "--set", "first_name=Aijan", "--yes"]);
        if option == "--evidence" {
            cmd.args(["--ticket", "REQ-4"]);
        }
        cmd.args([option, text])
            .assert()
            .code(2)
            .stderr(predicate::str::contains(option))
            .stderr(predicate::str::contains(text).not());
    }
    // A refused value is never echoed.
    for set in [
        "email=aigerim.secret@@example.kz",
        "phone=+7 701 99 88",
        "bin=990840000017",
    ] {
        let value = set.split_once('=').unwrap().1;
        rectify(&db)
            .args(["id:900001", "--set", set, "--ticket", "REQ-4", "--yes"])
            .assert()
            .code(2)
            .stderr(predicate::str::contains(value).not());
    }
    // Two corrections of one column, and two linked tables at once.
    rectify(&db)
        .args([
            "id:900001",
            "--set",
            "email=a@b.kz",
            "--set",
            "borrowers.email=c@d.kz",
        ])
        .args(["--ticket", "REQ-4", "--yes"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("twice"));
    for other in ["employments.position=CEO", "first_name=Aijan"] {
        rectify(&db)
            .args([
                "id:900001",
                "--set",
                "addresses.city=Astana",
                "--set",
                other,
            ])
            .args(["--ticket", "REQ-4", "--yes"])
            .assert()
            .code(2)
            .stderr(predicate::str::contains("one table per run"));
    }
    assert_eq!(before, database_checksums(&client).await);
}

/// Issue 23, defect 2: a value holding a character that does not show (a zero-width
/// space inside a first name, a direction override, a byte order mark, a soft
/// hyphen, an escape) is refused with exit 2 before anything is read or changed;
/// the message names the field and the code point, never the value. The rule is
/// the free-text one (`free_text::hidden_char`).
#[tokio::test]
async fn rectify_refuses_a_value_with_an_invisible_character() {
    let (db, client) = db_with_subject().await;
    let before = database_checksums(&client).await;
    for (set, field, point) in [
        ("first_name=Ai\u{200B}jan", "borrowers.first_name", "U+200B"),
        ("first_name=\u{FEFF}Aijan", "borrowers.first_name", "U+FEFF"),
        ("last_name=Ait\u{AD}ova", "borrowers.last_name", "U+00AD"),
        ("last_name=Ai\u{200D}tova", "borrowers.last_name", "U+200D"),
        (
            "patronymic=Serik\u{200C}ovna",
            "borrowers.patronymic",
            "U+200C",
        ),
        (
            "addresses.street=Abaya\u{202E}1",
            "addresses.street",
            "U+202E",
        ),
        ("addresses.city=Alm\u{2066}aty", "addresses.city", "U+2066"),
        (
            "email=aigerim\u{2060}@example.kz",
            "borrowers.email",
            "U+2060",
        ),
        (
            "first_name=Ai\u{1b}[31mjan",
            "borrowers.first_name",
            "U+001B",
        ),
    ] {
        let value = set.split_once('=').unwrap().1;
        let mut cmd = rectify(&db);
        cmd.args(["id:900001", "--set", set, "--ticket", "REQ-10", "--yes"]);
        if set.starts_with("addresses.") {
            cmd.args(["--row", "900001"]);
        }
        let output = cmd.output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{set:?}: {stderr}");
        assert!(stderr.contains(field), "{set:?}: names the field: {stderr}");
        assert!(
            stderr.contains(point),
            "{set:?}: names the code point: {stderr}"
        );
        assert!(stderr.contains("nothing was changed"), "{stderr}");
        // Neither the value nor the visible text around the character.
        let visible: String = value.chars().filter(|c| c.is_alphanumeric()).collect();
        assert!(
            !stderr.contains(value),
            "{set:?}: the value is shown: {stderr}"
        );
        assert!(
            !stderr.contains(&visible),
            "{set:?}: the value is shown: {stderr}"
        );
        // A dry run is refused the same way.
        rectify(&db)
            .args(["id:900001", "--set", set, "--ticket", "REQ-10", "--dry-run"])
            .args(if set.starts_with("addresses.") {
                &["--row", "900001"][..]
            } else {
                &[]
            })
            .assert()
            .code(2);
    }
    // A column name or --row with one is refused too, without being echoed.
    rectify(&db)
        .args([
            "id:900001",
            "--set",
            "first\u{200B}_name=Aijan",
            "--ticket",
            "REQ-10",
            "--yes",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("U+200B"));
    rectify(&db)
        .args([
            "id:900001",
            "--set",
            "addresses.city=Astana",
            "--row",
            "9000\u{202E}01",
        ])
        .args(["--ticket", "REQ-10", "--yes"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--row"))
        .stderr(predicate::str::contains("U+202E"));
    assert_eq!(before, database_checksums(&client).await, "nothing changed");
    assert_eq!(
        text(
            &client,
            "SELECT first_name FROM borrowers WHERE id = 900001"
        )
        .await
        .as_deref(),
        Some("Aigerim")
    );
    // Plain text of any script still goes through.
    rectify(&db)
        .args([
            "id:900001",
            "--set",
            "first_name=Айжан",
            "--ticket",
            "REQ-10",
            "--yes",
        ])
        .assert()
        .success();
    assert_eq!(
        text(
            &client,
            "SELECT first_name FROM borrowers WHERE id = 900001"
        )
        .await
        .as_deref(),
        Some("Айжан")
    );
}

#[tokio::test]
async fn a_missing_audit_key_says_how_to_set_it() {
    let (db, client) = db_with_subject().await;
    let before = database_checksums(&client).await;
    db.cmd()
        .args(["rectify", "id:900001", "--set", "first_name=Aijan"])
        .args(["--ticket", "REQ-5", "--yes"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("DERBES_AUDIT_KEY"))
        .stderr(predicate::str::contains("--audit-key-file"));
    let (_dir, short) = temp_file("audit.key", "short\n");
    db.cmd()
        .args(["rectify", "id:900001", "--set", "first_name=Aijan"])
        .arg("--audit-key-file")
        .arg(&short)
        .args(["--ticket", "REQ-5", "--yes"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("openssl rand"));
    // Issue 23, defect 2: long enough but guessable is refused too, file or variable.
    let weak = "k".repeat(40);
    let (_dir, repeated) = temp_file("audit.key", &format!("{weak}\n"));
    db.cmd()
        .args(["rectify", "id:900001", "--set", "first_name=Aijan"])
        .arg("--audit-key-file")
        .arg(&repeated)
        .args(["--ticket", "REQ-5", "--yes"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("32 random bytes"))
        .stderr(predicate::str::contains(weak.as_str()).not());
    db.cmd()
        .env("DERBES_AUDIT_KEY", " ".repeat(40))
        .args(["rectify", "id:900001", "--set", "first_name=Aijan"])
        .args(["--ticket", "REQ-5", "--yes"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("only whitespace"));
    assert_eq!(before, database_checksums(&client).await);
    let (_dir, good) = temp_file("audit.key", &format!("{AUDIT_KEY}\n"));
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&good, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    db.cmd()
        .args(["rectify", "id:900001", "--set", "first_name=Aijan"])
        .arg("--audit-key-file")
        .arg(&good)
        .args(["--ticket", "REQ-5", "--yes"])
        .assert()
        .success()
        .stderr(predicate::str::contains("chmod 600"));
}

#[tokio::test]
async fn a_dry_run_shows_the_diff_and_changes_nothing() {
    let (db, client) = db_with_subject().await;
    let before = database_checksums(&client).await;
    rectify(&db)
        .args([
            "id:900001",
            "--set",
            "marital_status=Married",
            "--set",
            "email=New@Mail.kz",
        ])
        .args(["--ticket", "REQ-6", "--dry-run"])
        .assert()
        .success()
        .stdout(predicate::str::contains("would change"))
        .stdout(predicate::str::contains("n***@mail.kz"))
        .stdout(predicate::str::contains("New@Mail.kz").not())
        .stdout(predicate::str::contains("rolled back"));
    assert_eq!(before, database_checksums(&client).await);
    // Off a terminal without --yes: refused, nothing changed.
    rectify(&db)
        .args([
            "id:900001",
            "--set",
            "marital_status=married",
            "--ticket",
            "REQ-6",
        ])
        .assert()
        .code(5);
    assert_eq!(before, database_checksums(&client).await);
    // The real run stores the enumeration's own spelling and the lowercased email.
    rectify(&db)
        .args([
            "id:900001",
            "--set",
            "marital_status=Married",
            "--set",
            "email=New@Mail.kz",
        ])
        .args(["--ticket", "REQ-6", "--yes"])
        .assert()
        .success();
    assert_eq!(
        text(
            &client,
            "SELECT marital_status || ' ' || email FROM borrowers WHERE id = 900001"
        )
        .await
        .as_deref(),
        Some("married new@mail.kz")
    );
    // The same again changes nothing and writes no audit row.
    assert_eq!(audited(&client).await, 1);
    rectify(&db)
        .args([
            "id:900001",
            "--set",
            "marital_status=married",
            "--ticket",
            "REQ-6",
            "--yes",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains("unchanged"));
    assert_eq!(audited(&client).await, 1);
}

/// Issue 22, defect 4 (also): rectifying a row of a linked table (addresses,
/// identity_documents) changes no other subject's row in any table.
#[tokio::test]
async fn a_row_of_a_linked_table_is_picked_with_row() {
    let (db, client) = db_with_subject().await;
    let before = database_checksums(&client).await;
    let others_before = others_checksums(&client, 900001).await;
    rectify(&db)
        .args([
            "id:900001",
            "--set",
            "addresses.city=Astana",
            "--ticket",
            "REQ-7",
            "--yes",
        ])
        .assert()
        .code(4)
        .stderr(predicate::str::contains("900001, 900002"))
        .stderr(predicate::str::contains("--row"));
    rectify(&db)
        .args([
            "id:900001",
            "--set",
            "addresses.city=Astana",
            "--row",
            "12345",
        ])
        .args(["--ticket", "REQ-7", "--yes"])
        .assert()
        .code(3);
    rectify(&db)
        .args(["id:900001", "--set", "first_name=A", "--row", "900002"])
        .args(["--ticket", "REQ-7", "--yes"])
        .assert()
        .code(2);
    assert_eq!(before, database_checksums(&client).await);
    rectify(&db)
        .args([
            "id:900001",
            "--set",
            "addresses.city=Astana",
            "--row",
            "900002",
        ])
        .args(["--ticket", "REQ-7", "--yes"])
        .assert()
        .success();
    assert_eq!(
        text(
            &client,
            "SELECT string_agg(city, ',' ORDER BY id) FROM addresses WHERE borrower_id = 900001"
        )
        .await
        .as_deref(),
        Some("Almaty,Astana")
    );
    // One row only: no --row needed.
    rectify(&db)
        .args([
            "id:900001",
            "--set",
            "identity_documents.issued_on=15.01.2023",
        ])
        .args(["--ticket", "REQ-7", "--yes"])
        .assert()
        .success();
    assert_eq!(
        text(
            &client,
            "SELECT issued_on::text FROM identity_documents WHERE id = 900001"
        )
        .await
        .as_deref(),
        Some("2023-01-15")
    );
    assert_eq!(
        others_checksums(&client, 900001).await,
        others_before,
        "other subjects untouched"
    );
}

async fn audited(client: &Client) -> i64 {
    client
        .query_one(
            "SELECT count(*) FROM derbes.audit_log WHERE action = 'rectify'",
            &[],
        )
        .await
        .unwrap()
        .get(0)
}

#[tokio::test]
async fn rectify_works_on_a_schema_it_was_not_designed_for() {
    let db = crate::foreign_schema::shop_db().await;
    let map = crate::foreign_schema::shop_map();
    db.cmd().arg("migrate").assert().success();
    let client = db.client().await;
    let shop = |args: &[&str]| {
        let mut cmd = db.cmd();
        cmd.env("DERBES_AUDIT_KEY", AUDIT_KEY)
            .arg("--map")
            .arg(&map)
            .args(args);
        cmd
    };
    shop(&[
        "rectify",
        "aigerim@example.kz",
        "--set",
        "orders.ship_to=Shymkent",
        "--ticket",
        "REQ-8",
        "--yes",
    ])
    .assert()
    .success();
    shop(&[
        "rectify",
        "aigerim@example.kz",
        "--set",
        "mobile=8 701 000 11 22",
        "--set",
        "tax_code=061211600012",
        "--ticket",
        "REQ-8",
        "--yes",
    ])
    .assert()
    .code(5)
    .stderr(predicate::str::contains("not marked `rectify = true`"));
    shop(&[
        "rectify",
        "aigerim@example.kz",
        "--set",
        "mobile=8 701 000 11 22",
        "--ticket",
        "REQ-8",
        "--yes",
    ])
    .assert()
    .success();
    let row = client
        .query_one(
            "SELECT o.ship_to, c.mobile FROM shop.orders o JOIN shop.clients c ON c.client_no = o.client_ref \
             WHERE o.order_id = 10",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "Shymkent");
    assert_eq!(row.get::<_, String>(1), "+77010001122");
    shop(&["subject", "show", "87010001122"]).assert().success();
}

#[tokio::test]
async fn a_row_other_subjects_share_is_refused() {
    let db = TestDb::empty().await;
    let client = db.client().await;
    client
        .batch_execute(include_str!("../fixtures/links.sql"))
        .await
        .expect("links schema loads");
    db.cmd().arg("migrate").assert().success();
    let links =
        std::fs::read_to_string(crate::support::repo_root().join("tests/fixtures/links.toml"))
            .unwrap()
            .replace(
                r#"street = { category = "address", purpose = "service" }"#,
                r#"street = { category = "address", purpose = "service", rectify = true }"#,
            );
    let (_dir, map) = temp_file("links.toml", &links);
    let before = database_checksums(&client).await;
    db.cmd()
        .env("DERBES_AUDIT_KEY", AUDIT_KEY)
        .env("DERBES_MAP", &map)
        .args(["rectify", "id:P-001", "--set", "home.street=Abaya 1"])
        .args(["--ticket", "REQ-9", "--yes"])
        .assert()
        .code(5)
        .stderr(predicate::str::contains("shared with other subjects"));
    assert_eq!(before, database_checksums(&client).await);
    // Person 23 has no home: nothing to rectify there.
    db.cmd()
        .env("DERBES_AUDIT_KEY", AUDIT_KEY)
        .env("DERBES_MAP", &map)
        .args(["rectify", "id:P-023", "--set", "home.street=Abaya 1"])
        .args(["--ticket", "REQ-9", "--yes"])
        .assert()
        .code(3)
        .stderr(predicate::str::contains("no row in home"));
}

/// Issue 22, defect 4 (also): the other subject who has the phone keeps every row
/// as it was, and so does everybody else.
#[tokio::test]
async fn a_phone_another_subject_has_is_taken_with_a_note() {
    let (db, client) = db_with_subject().await;
    client
        .batch_execute(
            "INSERT INTO borrowers (id, iin, last_name, first_name, birth_date, sex, phone) \
             VALUES (900005, '770707300349', 'E', 'E', '1977-07-07', 'M', '+77010000005')",
        )
        .await
        .unwrap();
    let others_before = others_checksums(&client, 900001).await;
    rectify(&db)
        .args([
            "id:900001",
            "--set",
            "phone=+7 701 000 00 05",
            "--ticket",
            "REQ-10",
        ])
        .args(["--yes"])
        .assert()
        .success()
        .stdout(predicate::str::contains("also identifies id:900005"));
    assert_eq!(
        others_checksums(&client, 900001).await,
        others_before,
        "900005 and every other subject untouched"
    );
    db.cmd()
        .args(["subject", "show", "+77010000005"])
        .assert()
        .code(4);
}
