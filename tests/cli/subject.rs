//! `derbes subject show`: resolving one identity to one subject, and the summary.

use predicates::prelude::*;

use crate::foreign_schema::{shop_db, shop_map};
use crate::support::TestDb;

/// A valid IIN from its first eleven digits (None when no check digit exists).
pub fn iin_with_check(first11: &str) -> Option<String> {
    let d: Vec<u32> = first11.chars().map(|c| c.to_digit(10).unwrap()).collect();
    let sum = |w: &dyn Fn(usize) -> u32| (0..11).map(|i| d[i] * w(i)).sum::<u32>() % 11;
    let mut c = sum(&|i| i as u32 + 1);
    if c == 10 {
        c = sum(&|i| ((i + 2) % 11) as u32 + 1);
    }
    (c != 10).then(|| format!("{first11}{c}"))
}

/// A valid IIN of someone born on `yymmdd` in the 2000s (female) or 1900s (male).
pub fn iin_born(yymmdd: &str, century_digit: char, serial: u32) -> String {
    // Serials from 9000 up keep clear of the generated population.
    (9000 + serial..9000 + serial + 50)
        .find_map(|s| iin_with_check(&format!("{yymmdd}{century_digit}{s:04}")))
        .expect("some serial has a check digit")
}

/// Make sure `server_logs` has a partition for the rows tests insert (2031).
pub async fn ensure_log_partition(client: &tokio_postgres::Client) {
    client
        .batch_execute(
            "CREATE TABLE IF NOT EXISTS server_logs_test_2031 PARTITION OF server_logs \
             FOR VALUES FROM ('2031-01-01') TO ('2032-01-01')",
        )
        .await
        .expect("test partition of server_logs");
}

/// Insert a borrower with a row in most tables; returns the borrower id.
pub async fn insert_borrower(
    client: &tokio_postgres::Client,
    iin: &str,
    email: &str,
    phone: &str,
    logs: i64,
) -> i64 {
    ensure_log_partition(client).await;
    let id: i64 = client
        .query_one(
            "INSERT INTO borrowers (iin, last_name, first_name, birth_date, sex, email, phone) \
             VALUES ($1::text, 'Testova-' || $1::text, 'Aigerim', '2006-12-11', 'F', $2, $3) RETURNING id",
            &[&iin, &email, &phone],
        )
        .await
        .expect("insert borrower")
        .get(0);
    let tag = format!("tag-{iin}");
    client
        .execute(
            "WITH l AS (INSERT INTO loans (borrower_id, contract_no, principal, rate_percent, issued_at, due_on, status) \
                        VALUES ($1, 'C-' || $2::text, 100000, 5, now() - interval '30 days', current_date + 30, 'open') RETURNING id) \
             INSERT INTO payments (loan_id, paid_at, amount, channel) SELECT id, now(), 5000, 'kaspi' FROM l",
            &[&id, &tag],
        )
        .await
        .expect("loan and payment");
    client
        .batch_execute(&format!(
            "INSERT INTO addresses (borrower_id, kind, region, city, street, house) \
                 VALUES ({id}, 'residence', 'Almaty', 'Almaty', 'Street {tag}', '1');
             INSERT INTO contact_persons (borrower_id, full_name, relation, phone) \
                 VALUES ({id}, 'Contact {tag}', 'sister', '+77770000000');
             INSERT INTO sessions (borrower_id, ip, started_at, last_seen_at) \
                 VALUES ({id}, '10.1.2.3', now(), now());
             INSERT INTO policy_versions (version, published_at, text_sha256) \
                 VALUES ('v-{tag}', now(), repeat('a', 64));
             INSERT INTO consents (borrower_id, policy_version_id, purpose, granted_at) \
                 SELECT {id}, id, 'services', now() - interval '1 day' FROM policy_versions WHERE version = 'v-{tag}';
             INSERT INTO disclosures (borrower_id, recipient, purpose, legal_basis, categories, disclosed_at) \
                 VALUES ({id}, 'First Credit Bureau', 'credit history', 'Law on credit bureaus', ARRAY['name', 'iin', 'microcredit'], now());
             INSERT INTO server_logs (logged_at, borrower_id, ip, method, path, status) \
                 SELECT timestamptz '2031-01-01' + g * interval '1 second', {id}, '10.1.2.3', 'GET', '/p/{tag}/' || g, 200 \
                 FROM generate_series(1, {logs}) g;"
        ))
        .await
        .expect("rows in linked tables");
    id
}

#[tokio::test]
async fn show_finds_by_iin_phone_email_and_key() {
    let db = TestDb::migrated().await;
    let client = db.client().await;
    let iin = iin_born("900101", '3', 1);
    let id = insert_borrower(&client, &iin, "Aigerim.T@Example.kz", "+77011112233", 3).await;
    for identity in [
        iin.clone(),
        "aigerim.t@EXAMPLE.KZ".to_owned(),
        "8 701 111 22 33".to_owned(),
        format!("id:{id}"),
    ] {
        db.cmd()
            .args(["subject", "show", &identity])
            .assert()
            .success()
            .stdout(predicate::str::contains(format!("borrowers:{id}")))
            .stdout(predicate::str::contains("active"))
            .stdout(predicate::str::contains("held: server_log"))
            .stdout(predicate::str::contains("open loans"))
            .stdout(predicate::str::contains("First Credit Bureau"))
            .stdout(predicate::str::contains("none recorded"));
    }
    let json = db
        .cmd()
        .args(["--format", "json", "subject", "show", &iin])
        .output()
        .unwrap();
    let value: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(value["open_loans"], 1);
    assert_eq!(value["minor"], false);
    assert_eq!(value["consents"][0]["purpose"], "services");
}

#[tokio::test]
async fn a_minor_and_a_blocked_subject_are_flagged() {
    let db = TestDb::migrated().await;
    let client = db.client().await;
    let iin = iin_born("100515", '6', 1);
    let id = insert_borrower(&client, &iin, "kid@example.kz", "+77011119999", 1).await;
    client
        .execute(
            "UPDATE borrowers SET status = 'blocked' WHERE id = $1",
            &[&id],
        )
        .await
        .unwrap();
    let out = db
        .cmd()
        .args(["--format", "json", "subject", "show", &iin])
        .output()
        .unwrap();
    assert!(out.status.success());
    let value: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(value["minor"], true);
    assert_eq!(value["status"]["state"], "blocked");
    assert_eq!(value["birth_date"], "2010-05-15");
}

#[tokio::test]
async fn a_block_made_by_derbes_shows_its_reason_and_ticket() {
    let db = TestDb::migrated().await;
    let client = db.client().await;
    let iin = iin_born("900101", '3', 7);
    insert_borrower(&client, &iin, "blocked@example.kz", "+77011118888", 1).await;
    db.cmd()
        .args([
            "block",
            &iin,
            "--reason",
            "compromised",
            "--ticket",
            "INC-42",
            "--yes",
        ])
        .assert()
        .success();
    let out = db
        .cmd()
        .args(["--format", "json", "subject", "show", &iin])
        .output()
        .unwrap();
    assert!(out.status.success());
    let value: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(value["status"]["state"], "blocked");
    let reason = value["status"]["reason"].as_str().unwrap();
    assert!(reason.starts_with("compromised, ticket INC-42"), "{reason}");
}

#[tokio::test]
async fn an_invalid_iin_exits_2_before_any_query() {
    // The database does not exist: exit 2 proves nothing was queried.
    crate::support::derbes_cmd()
        .env(
            "DATABASE_URL",
            "host=127.0.0.1 port=1 user=nobody dbname=none",
        )
        .env("DERBES_MAP", crate::support::reference_map())
        .args(["subject", "show", "061211600013"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("check digit"))
        .stderr(predicate::str::contains("061211600013").not());
}

#[tokio::test]
async fn an_unknown_subject_exits_3_saying_what_was_searched() {
    let db = TestDb::migrated().await;
    let iin = iin_born("851120", '4', 7);
    db.cmd()
        .args(["subject", "show", &iin])
        .assert()
        .code(3)
        .stderr(predicate::str::contains("iin"))
        .stderr(predicate::str::contains("public.borrowers.iin"))
        .stderr(predicate::str::contains(iin.as_str()).not());
    // A key of the wrong type is bad input, not an unknown subject: exit 2 in every
    // command (the same input gives the same exit code everywhere).
    for args in [
        vec!["subject", "show", "id:not-a-number"],
        vec![
            "block",
            "id:not-a-number",
            "--reason",
            "fraud",
            "--ticket",
            "T-1",
            "--dry-run",
        ],
        vec![
            "export",
            "id:not-a-number",
            "--ticket",
            "T-1",
            "--plaintext",
            "--out",
            "/tmp/never-written.tar",
        ],
    ] {
        db.cmd()
            .args(&args)
            .assert()
            .code(2)
            .stderr(predicate::str::contains("is not a key of public.borrowers"));
    }
    db.cmd()
        .args(["subject", "show", "id:999999999"])
        .assert()
        .code(3);
}

#[tokio::test]
async fn a_shared_phone_exits_4_listing_masked_candidates() {
    let db = TestDb::migrated().await;
    let client = db.client().await;
    let first = iin_born("900101", '3', 100);
    let second = iin_born("910202", '4', 200);
    let a = insert_borrower(&client, &first, "a@example.kz", "+77015550000", 1).await;
    let b = insert_borrower(&client, &second, "b@example.kz", "+77015550000", 1).await;
    db.cmd()
        .args(["subject", "show", "+7 701 555 00 00"])
        .assert()
        .code(4)
        .stderr(predicate::str::contains(format!("id:{a}")))
        .stderr(predicate::str::contains(format!("id:{b}")))
        .stderr(predicate::str::contains(first.as_str()).not())
        .stderr(predicate::str::contains(second.as_str()).not())
        .stderr(predicate::str::contains("+77015550000").not());
}

#[tokio::test]
async fn show_works_on_the_shop_schema() {
    let db = shop_db().await;
    db.cmd()
        .arg("--map")
        .arg(shop_map())
        .args(["subject", "show", "AIGERIM@example.KZ"])
        .assert()
        .success()
        .stdout(predicate::str::contains("clients:1"))
        .stdout(predicate::str::contains("Aigerim Sarsenova"));
    db.cmd()
        .arg("--map")
        .arg(shop_map())
        .args(["subject", "show", "B@Example.kz"])
        .assert()
        .success()
        .stdout(predicate::str::contains("clients:2"));
}

/// `subject show` with a map naming a column the database lacks showed what it could
/// and exited 0 without a word; now it warns, names the first misfit and points to
/// `map check` (the read still runs: nothing changes).
#[tokio::test]
async fn a_map_naming_a_missing_column_makes_show_warn() {
    let db = TestDb::reference().await;
    let original = std::fs::read_to_string(crate::support::reference_map()).unwrap();
    let broken = original.replace("doc_number = {", "doc_numbr = {");
    assert_ne!(broken, original);
    let (_dir, path) = crate::support::temp_file("broken.toml", &broken);
    db.cmd()
        .arg("--map")
        .arg(&path)
        .args(["subject", "show", "id:1"])
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "the data map does not fit this database",
        ))
        .stderr(predicate::str::contains("doc_numbr"))
        .stderr(predicate::str::contains("derbes map check"));
}
