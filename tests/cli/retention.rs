//! The one retention decision (issue 22), seen from the commands that destroy data:
//! `erase` keeps exactly what the retention rules keep (aged, with `age_from`, from
//! the subject's last loan closing, as `purge` ages them), checked subject by
//! subject against an oracle of the reference rules written by hand, apart from
//! derbes' SQL builder; and a real purge never ages rows from a time to come.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{Duration, Utc};
use tokio_postgres::Client;

use crate::archive::{age_keys, Keys};
use crate::erase::mask_key;
use crate::support::{count, TestDb};

/// The reference map's tables by how their rule ages them (`examples/datamap.toml`),
/// each with its time column and the SQL that finds a subject's rows (`$1`), written
/// here by hand.
const AGED_FROM_LAST_LOAN: [(&str, &str, &str); 12] = [
    (
        "borrowers",
        "created_at",
        "FROM borrowers t WHERE t.id = $1",
    ),
    (
        "addresses",
        "created_at",
        "FROM addresses t WHERE t.borrower_id = $1",
    ),
    (
        "identity_documents",
        "created_at",
        "FROM identity_documents t WHERE t.borrower_id = $1",
    ),
    (
        "contact_persons",
        "created_at",
        "FROM contact_persons t WHERE t.borrower_id = $1",
    ),
    (
        "employments",
        "created_at",
        "FROM employments t WHERE t.borrower_id = $1",
    ),
    (
        "bank_cards",
        "created_at",
        "FROM bank_cards t WHERE t.borrower_id = $1",
    ),
    (
        "bank_accounts",
        "created_at",
        "FROM bank_accounts t WHERE t.borrower_id = $1",
    ),
    (
        "loans",
        "issued_at",
        "FROM loans t WHERE t.borrower_id = $1",
    ),
    (
        "payments",
        "paid_at",
        "FROM payments t JOIN loans l ON l.id = t.loan_id WHERE l.borrower_id = $1",
    ),
    (
        "disclosures",
        "disclosed_at",
        "FROM disclosures t WHERE t.borrower_id = $1",
    ),
    (
        "consents",
        "granted_at",
        "FROM consents t WHERE t.borrower_id = $1",
    ),
    (
        "policy_notices",
        "notified_at",
        "FROM policy_notices t WHERE t.borrower_id = $1",
    ),
];
/// Rules that are a longest period, never a duty to keep: erased whatever their age.
const NOT_KEPT: [(&str, &str); 8] = [
    ("photos", "FROM photos t WHERE t.borrower_id = $1"),
    ("devices", "FROM devices t WHERE t.borrower_id = $1"),
    ("sessions", "FROM sessions t WHERE t.borrower_id = $1"),
    ("server_logs", "FROM server_logs t WHERE t.borrower_id = $1"),
    ("cookies", "FROM cookies t WHERE t.borrower_id = $1"),
    (
        "usage_events",
        "FROM usage_events t WHERE t.borrower_id = $1",
    ),
    ("locations", "FROM locations t WHERE t.borrower_id = $1"),
    (
        "support_messages",
        "FROM support_messages t WHERE t.borrower_id = $1",
    ),
];

/// What the oracle expects of one table of one subject.
#[derive(Debug, Default, PartialEq, Eq)]
struct Expected {
    rows: i64,
    kept: i64,
}

/// The oracle: per table, the subject's rows and those the law keeps from an
/// erasure. A row under a rule that keeps by law (identity-kyc, loan-records,
/// consent-ledger: 5 years from the last loan closed, or by the row's own time for
/// a subject who never had a loan) stays while it is
/// not that old or while the subject has an open loan; the rows kept rows point at
/// (the borrower; a kept payment's loans) stay with them; everything else goes.
async fn oracle(client: &Client, subject: i64) -> BTreeMap<&'static str, Expected> {
    // The subject's event: every loan closed, the latest close (NULL otherwise).
    let row = client
        .query_one(
            "SELECT count(*) > 0, \
                    count(*) FILTER (WHERE status IN ('open', 'overdue')) > 0, \
                    CASE WHEN bool_and(closed_at IS NOT NULL) THEN max(closed_at) END \
                        < now() - interval '5 years' \
             FROM loans WHERE borrower_id = $1",
            &[&subject],
        )
        .await
        .unwrap();
    let (has_loans, open_loan, relationship_ended_5y_ago): (bool, bool, Option<bool>) =
        (row.get(0), row.get(1), row.get(2));
    let mut expected = BTreeMap::new();
    for (table, column, from) in AGED_FROM_LAST_LOAN {
        let due = match (has_loans, relationship_ended_5y_ago) {
            (true, ended) => ended.unwrap_or(false).to_string(),
            (false, _) => format!("COALESCE(t.{column} < now() - interval '5 years', false)"),
        };
        let sql = format!("SELECT count(*), count(*) FILTER (WHERE $2 OR NOT {due}) {from}");
        let row = client
            .query_one(&sql, &[&subject, &open_loan])
            .await
            .unwrap();
        expected.insert(
            table,
            Expected {
                rows: row.get(0),
                kept: row.get(1),
            },
        );
    }
    for (table, from) in NOT_KEPT {
        let rows: i64 = client
            .query_one(&format!("SELECT count(*) {from}"), &[&subject])
            .await
            .unwrap()
            .get(0);
        expected.insert(table, Expected { rows, kept: 0 });
    }
    // Kept rows keep what they point at: every kept row points at the borrower, a
    // kept payment at its loan.
    let any_kept = expected
        .iter()
        .any(|(t, e)| *t != "borrowers" && e.kept > 0);
    if any_kept {
        let borrower = expected.get_mut("borrowers").unwrap();
        borrower.kept = borrower.rows;
    }
    if expected["payments"].kept > 0 {
        let loans = expected.get_mut("loans").unwrap();
        loans.kept = loans.rows;
    }
    expected
}

/// A population of 320 borrowers whose loans closed at ages spread month by month
/// over ten years around the 5-year limit, with registrations and addresses just
/// as spread (for the subjects who never had a loan), a few blocked.
async fn spread_population() -> (TestDb, Client) {
    let db = TestDb::empty().await;
    let mut client = db.client().await;
    derbes::ops::sample::load_reference_schema(&client)
        .await
        .unwrap();
    let options = derbes::ops::sample::SampleOptions {
        borrowers: 320,
        seed: 2022,
        as_of: chrono::NaiveDate::from_ymd_opt(2026, 11, 1).unwrap(),
        log_rows_per_borrower: 2,
    };
    derbes::ops::sample::generate(&client, &options, &mut |_, _| {})
        .await
        .unwrap();
    derbes::pg::migrate::apply(&mut client, false)
        .await
        .unwrap();
    client
        .batch_execute(
            "SET timezone = 'Asia/Almaty';
             UPDATE loans SET closed_at = now() - ((borrower_id * 7 + id) % 121) * interval '1 month' - interval '3 days'
               WHERE closed_at IS NOT NULL;
             UPDATE loans SET issued_at = closed_at - interval '90 days'
               WHERE closed_at IS NOT NULL AND issued_at > closed_at - interval '90 days';
             UPDATE borrowers SET created_at = now() - ((id * 13) % 131) * interval '1 month' - interval '5 days';
             UPDATE addresses SET created_at = now() - ((id * 17) % 125) * interval '1 month' - interval '2 days';
             UPDATE consents SET granted_at = now() - ((id * 11) % 127) * interval '1 month' - interval '1 day';
             UPDATE borrowers SET status = 'blocked' WHERE id % 16 = 3;",
        )
        .await
        .unwrap();
    (db, client)
}

fn erase_dry_run(db: &TestDb, map: &Path, keys: &Keys, subject: &str) -> serde_json::Value {
    let out = keys.dir.join(format!("erase-{subject}.age"));
    let output = db
        .cmd()
        .env("DERBES_MAP", map)
        .args([
            "erase",
            &format!("id:{subject}"),
            "--dry-run",
            "--ticket",
            "REQ-22",
        ])
        .args(["--archive-to", &keys.age_recipient, "--archive-out"])
        .arg(&out)
        .arg("--key-file")
        .arg(mask_key(keys))
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "erase id:{subject}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

/// `erase --dry-run` of every subject, two at a time: (subject, JSON report).
fn erase_every_subject(
    db: &TestDb,
    map: &Path,
    keys: &Keys,
    subjects: &[String],
) -> Vec<(String, serde_json::Value)> {
    std::thread::scope(|scope| {
        let halves: Vec<_> = subjects
            .chunks(subjects.len().div_ceil(2))
            .map(|chunk| {
                scope.spawn(move || {
                    chunk
                        .iter()
                        .map(|s| (s.clone(), erase_dry_run(db, map, keys, s)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        halves.into_iter().flat_map(|h| h.join().unwrap()).collect()
    })
}

/// A scratch database holding `fixture` (a schema of another shape and its rows)
/// and derbes' own schema.
async fn fixture_db(fixture: &str) -> (TestDb, Client) {
    let db = TestDb::empty().await;
    let mut client = db.client().await;
    client.batch_execute(fixture).await.unwrap();
    derbes::pg::migrate::apply(&mut client, false)
        .await
        .unwrap();
    (db, client)
}

/// `tests/fixtures/lender.toml` with its `contacts` rule (call notes, a table
/// without a primary key) given `action`, in a temporary file.
fn lender_map_with_contacts(action: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let text =
        std::fs::read_to_string(crate::support::repo_root().join("tests/fixtures/lender.toml"))
            .unwrap();
    let rule = "keep = \"1y\"\naction = \"delete\"\n";
    assert!(text.contains(rule));
    let archive_keep = if action == "archive-then-delete" {
        "archive_keep = \"1y\"\n"
    } else {
        ""
    };
    let edited = text.replace(
        rule,
        &format!("keep = \"1y\"\naction = \"{action}\"\n{archive_keep}"),
    );
    crate::support::temp_file("lender.toml", &edited)
}

/// The differences between what erase reported for one subject and the oracle
/// (per table: the subject's rows, those kept, those deleted or masked).
fn differences(
    subject: &str,
    report: &serde_json::Value,
    expected: &BTreeMap<&'static str, Expected>,
) -> Vec<String> {
    let mut found = Vec::new();
    for (table, want) in expected {
        let outcome = report["tables"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["table"] == *table);
        let (rows, kept, gone) = match outcome {
            Some(t) => (
                t["rows"].as_i64().unwrap(),
                t["kept"].as_i64().unwrap() + t["shared"].as_i64().unwrap(),
                t["deleted"].as_i64().unwrap() + t["masked"].as_i64().unwrap(),
            ),
            None => (0, 0, 0),
        };
        if rows != want.rows || kept != want.kept || gone != want.rows - want.kept {
            found.push(format!(
                "subject {subject} {table}: derbes rows {rows} kept {kept} erased {gone}, oracle {want:?}"
            ));
        }
    }
    found
}

/// Issue 22, defect 1: over every subject of a population with loans closed at
/// many ages, the rows `erase --dry-run` deletes or masks are exactly those the
/// oracle lets go, and the rows it keeps exactly those the law keeps.
#[tokio::test]
async fn erase_destroys_exactly_what_the_retention_rules_let_go_for_every_subject() {
    let (db, client) = spread_population().await;
    let keys = age_keys();
    let subjects: Vec<i64> = client
        .query("SELECT id FROM borrowers ORDER BY id", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert!(subjects.len() >= 300);
    // The population covers every case the decision tells apart.
    for (case, sql) in [
        ("never had a loan", "SELECT count(*) FROM borrowers b WHERE NOT EXISTS (SELECT 1 FROM loans l WHERE l.borrower_id = b.id)"),
        ("an open loan", "SELECT count(DISTINCT borrower_id) FROM loans WHERE status IN ('open', 'overdue')"),
        ("closed under 5 years ago", "SELECT count(*) FROM (SELECT borrower_id FROM loans GROUP BY 1 HAVING bool_and(closed_at IS NOT NULL) AND max(closed_at) >= now() - interval '5 years') s"),
        ("closed over 5 years ago", "SELECT count(*) FROM (SELECT borrower_id FROM loans GROUP BY 1 HAVING bool_and(closed_at IS NOT NULL) AND max(closed_at) < now() - interval '5 years') s"),
    ] {
        let n = count(&client, sql).await;
        assert!(n >= 10, "only {n} subjects who have {case}");
    }
    let subjects: Vec<String> = subjects.iter().map(i64::to_string).collect();
    let reports = erase_every_subject(&db, &crate::support::reference_map(), &keys, &subjects);
    let mut mismatches = Vec::new();
    let (mut kept, mut erased) = (0, 0);
    for (subject, report) in &reports {
        let expected = oracle(&client, subject.parse().unwrap()).await;
        kept += expected.values().map(|e| e.kept).sum::<i64>();
        erased += expected.values().map(|e| e.rows - e.kept).sum::<i64>();
        mismatches.extend(differences(subject, report, &expected));
    }
    assert!(
        mismatches.is_empty(),
        "{} mismatches:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
    assert!(kept > 0 && erased > 0, "kept {kept}, erased {erased}");
    // Dry runs all: nothing changed, no archive left behind.
    assert_eq!(
        count(&client, "SELECT count(*) FROM derbes.archives").await,
        0
    );
}

/// A schema's retention rules, written by hand for its oracle: the loan ledger (the
/// subject's agreements: whether they have any, any open, and every one closed more
/// than 5 years ago), the tables a 5-year rule keeps (each with its time column and
/// the SQL of the subject's rows, `$1` the subject's key as text), the tables no rule
/// keeps, and which kept table keeps which parent whole.
struct Shape {
    ledger: &'static str,
    kept: &'static [(&'static str, &'static str, &'static str)],
    not_kept: &'static [(&'static str, &'static str)],
    subject_table: &'static str,
    child_keeps_parent: (&'static str, &'static str),
}

/// `tests/fixtures/lender.*`: kyc (client, kyc_doc) and credits (credit, its
/// repayments through it) from the client's last credit ended; contact notes go.
const LENDER: Shape = Shape {
    ledger: "SELECT count(*) > 0, count(*) FILTER (WHERE state IN ('live', 'late')) > 0, \
             CASE WHEN bool_and(ended IS NOT NULL) THEN max(ended) END < now() - interval '5 years' \
             FROM core.credit WHERE client_code = $1",
    kept: &[
        ("client", "opened", "FROM core.client t WHERE t.client_code = $1"),
        ("kyc_doc", "created", "FROM core.kyc_doc t WHERE t.client_code = $1"),
        ("credit", "opened", "FROM core.credit t WHERE t.client_code = $1"),
        (
            "pay.repayment",
            "paid_on",
            "FROM pay.repayment t JOIN core.credit k ON k.credit_no = t.credit_no WHERE k.client_code = $1",
        ),
    ],
    not_kept: &[("contact_log", "FROM core.contact_log t WHERE t.client_code = $1")],
    subject_table: "client",
    child_keeps_parent: ("pay.repayment", "credit"),
};

/// `tests/fixtures/branches.*`: the customer rule (person, kyc_check, agreements
/// and their schedules by the composite key) from the last agreement closed (a
/// date); marketing notes go.
const BRANCHES: Shape = Shape {
    ledger: "SELECT count(*) > 0, count(*) FILTER (WHERE phase IN ('running', 'arrears')) > 0, \
             CASE WHEN bool_and(closed_on IS NOT NULL) THEN max(closed_on) END < now() - interval '5 years' \
             FROM fin.agreement WHERE person_no::text = $1",
    kept: &[
        ("person", "joined_on", "FROM party.person t WHERE t.person_no::text = $1"),
        ("kyc_check", "done_on", "FROM party.kyc_check t WHERE t.person_no::text = $1"),
        ("fin.agreement", "signed_on", "FROM fin.agreement t WHERE t.person_no::text = $1"),
        (
            "fin.schedule",
            "due_on",
            "FROM fin.schedule t JOIN fin.agreement a USING (branch, number) WHERE a.person_no::text = $1",
        ),
    ],
    not_kept: &[(
        "marketing_note",
        "FROM party.marketing_note t WHERE t.about::text = $1",
    )],
    subject_table: "person",
    child_keeps_parent: ("fin.schedule", "fin.agreement"),
};

/// The oracle of a [`Shape`]: a row under its 5-year rule stays until 5 years after
/// the subject's last agreement closed (by its own time for a subject who never had
/// one), and while an agreement is open; kept rows keep the subject (and a kept
/// child its parents); everything else goes.
async fn shape_oracle(
    client: &Client,
    shape: &Shape,
    subject: &str,
) -> BTreeMap<&'static str, Expected> {
    let row = client.query_one(shape.ledger, &[&subject]).await.unwrap();
    let (has_agreements, open, ended_5y_ago): (bool, bool, Option<bool>) =
        (row.get(0), row.get(1), row.get(2));
    let mut expected = BTreeMap::new();
    for (table, column, from) in shape.kept {
        let due = match has_agreements {
            true => ended_5y_ago.unwrap_or(false).to_string(),
            false => format!("COALESCE(t.{column} < now() - interval '5 years', false)"),
        };
        let row = client
            .query_one(
                &format!("SELECT count(*), count(*) FILTER (WHERE $2 OR NOT {due}) {from}"),
                &[&subject, &open],
            )
            .await
            .unwrap();
        expected.insert(
            *table,
            Expected {
                rows: row.get(0),
                kept: row.get(1),
            },
        );
    }
    for (table, from) in shape.not_kept {
        let rows: i64 = client
            .query_one(&format!("SELECT count(*) {from}"), &[&subject])
            .await
            .unwrap()
            .get(0);
        expected.insert(*table, Expected { rows, kept: 0 });
    }
    if expected
        .iter()
        .any(|(t, e)| *t != shape.subject_table && e.kept > 0)
    {
        let s = expected.get_mut(shape.subject_table).unwrap();
        s.kept = s.rows;
    }
    let (child, parent) = shape.child_keeps_parent;
    if expected[child].kept > 0 {
        let p = expected.get_mut(parent).unwrap();
        p.kept = p.rows;
    }
    expected
}

/// Load `fixture`, erase every subject of it as a dry run under `map`, and compare
/// each with the shape's oracle. Returns the test database and the subjects' keys.
async fn differential_on(
    fixture: &str,
    map: &Path,
    shape: &Shape,
    subjects_sql: &str,
) -> (TestDb, Client, Vec<(String, serde_json::Value)>) {
    let (db, client) = fixture_db(fixture).await;
    client
        .batch_execute("SET timezone = 'Asia/Almaty'")
        .await
        .unwrap();
    let subjects: Vec<String> = client
        .query(subjects_sql, &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert!(subjects.len() >= 300);
    let keys = age_keys();
    let reports = erase_every_subject(&db, map, &keys, &subjects);
    let mut mismatches = Vec::new();
    let (mut kept, mut erased) = (0, 0);
    for (subject, report) in &reports {
        let expected = shape_oracle(&client, shape, subject).await;
        kept += expected.values().map(|e| e.kept).sum::<i64>();
        erased += expected.values().map(|e| e.rows - e.kept).sum::<i64>();
        mismatches.extend(differences(subject, report, &expected));
    }
    assert!(
        mismatches.is_empty(),
        "{} mismatches:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
    assert!(kept > 0 && erased > 0, "kept {kept}, erased {erased}");
    (db, client, reports)
}

/// Issue 22, defect 1: a third shape (`tests/fixtures/branches.*`): agreements keyed
/// by a composite primary key that schedules reference by a composite foreign key,
/// the relationship's end a `date`, two schemas, a link no foreign key backs.
#[tokio::test]
async fn erase_on_a_composite_keyed_schema_matches_the_oracle_for_every_subject() {
    let map = crate::support::repo_root().join("tests/fixtures/branches.toml");
    differential_on(
        include_str!("../fixtures/branches.sql"),
        &map,
        &BRANCHES,
        "SELECT person_no::text FROM party.person ORDER BY person_no",
    )
    .await;
}

/// Issue 22, defects 1-3: the same differential test on a schema of another shape
/// (`tests/fixtures/lender.*`): text keys, two schemas, repayments partitioned with
/// their foreign key on each partition only, a contact log without a primary key
/// (its rows archived and deleted by address), frozen (blocked) clients.
#[tokio::test]
async fn erase_on_a_partitioned_keyless_text_keyed_schema_matches_the_oracle_for_every_subject() {
    let map = crate::support::repo_root().join("tests/fixtures/lender.toml");
    let (db, client, reports) = differential_on(
        include_str!("../fixtures/lender.sql"),
        &map,
        &LENDER,
        "SELECT client_code FROM core.client ORDER BY 1",
    )
    .await;
    db.cmd()
        .env("DERBES_MAP", &map)
        .args(["map", "check"])
        .assert()
        .success()
        .stdout(predicates::str::contains(
            "pay.repayment(credit_no) -> core.credit(credit_no) on every partition",
        ));
    // `map init` drafts the link whose foreign key sits on the partitions.
    let draft = db
        .cmd()
        .env_remove("DERBES_MAP")
        .args(["map", "init"])
        .output()
        .unwrap();
    let draft = String::from_utf8_lossy(&draft.stdout);
    assert!(
        draft.contains("[tables.\"pay.repayment\"]")
            && draft.contains("link = { column = \"credit_no\", via = \"credit\" }"),
        "{draft}"
    );
    let subjects: Vec<String> = reports.iter().map(|(s, _)| s.clone()).collect();
    let keys = age_keys();
    // A real erasure of a client whose rows all go, keyless log included: exactly
    // their rows are gone, every other client's untouched.
    let gone = subjects
        .iter()
        .find(|s| {
            let expected = &reports.iter().find(|(r, _)| r == *s).unwrap().1;
            expected["tables"]
                .as_array()
                .unwrap()
                .iter()
                .all(|t| t["kept"] == 0 && t["shared"] == 0)
                && expected["tables"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|t| t["table"] == "contact_log")
        })
        .expect("a client with nothing kept")
        .clone();
    let others = "SELECT md5(string_agg(x, ',' ORDER BY x)) FROM ( \
        SELECT 'c' || c::text AS x FROM core.client c WHERE client_code <> $1 \
        UNION ALL SELECT 'k' || k::text FROM core.credit k WHERE client_code <> $1 \
        UNION ALL SELECT 'd' || d::text FROM core.kyc_doc d WHERE client_code <> $1 \
        UNION ALL SELECT 'r' || r::text FROM pay.repayment r JOIN core.credit k USING (credit_no) WHERE k.client_code <> $1 \
        UNION ALL SELECT 'l' || l::text FROM core.contact_log l WHERE client_code <> $1) s";
    let before: String = client.query_one(others, &[&gone]).await.unwrap().get(0);
    db.cmd()
        .env("DERBES_MAP", &map)
        .args([
            "erase",
            &format!("id:{gone}"),
            "--yes",
            "--ticket",
            "REQ-22",
        ])
        .args(["--archive-to", &keys.age_recipient, "--archive-out"])
        .arg(keys.dir.join("lender-erase.age"))
        .arg("--key-file")
        .arg(mask_key(&keys))
        .assert()
        .success();
    let after: String = client.query_one(others, &[&gone]).await.unwrap().get(0);
    assert_eq!(before, after, "every other client's rows untouched");
    let left = count(
        &client,
        &format!("SELECT count(*) FROM core.contact_log WHERE client_code = '{gone}'"),
    )
    .await;
    assert_eq!(left, 0, "the keyless log's rows of the client are gone");
}

/// Issue 22, defect 1: a borrower registered six years ago whose last loan closed
/// a year ago keeps their identity document and addresses (AML/CFT Art. 5: five
/// years after the relationship ends), where erase used to age them by their own
/// creation time and delete them.
#[tokio::test]
async fn erase_keeps_identification_until_five_years_after_the_last_loan_closed() {
    let db = TestDb::migrated().await;
    let client = db.client().await;
    client
        .batch_execute(
            "INSERT INTO borrowers (id, iin, last_name, first_name, birth_date, sex, email, phone, created_at) VALUES
                 (900031, '880330300016', 'Nurlanov', 'Bolat', '1988-03-30', 'M', 'bolat@example.kz', '+77010000031', now() - interval '6 years');
             INSERT INTO addresses (borrower_id, kind, region, city, street, house, created_at) VALUES
                 (900031, 'residence', 'Astana', 'Astana', 'Kenesary', '2', now() - interval '6 years');
             INSERT INTO identity_documents (borrower_id, doc_type, doc_number, issued_by, issued_on, expires_on, created_at) VALUES
                 (900031, 'id_card', '000000031', 'MVD', '2015-01-01', '2035-01-01', now() - interval '6 years');
             INSERT INTO loans (id, borrower_id, contract_no, principal, rate_percent, issued_at, due_on, closed_at, status) VALUES
                 (900031, 900031, 'T-900031', 50000, 0.5, now() - interval '6 years', (now() - interval '1 year')::date, now() - interval '1 year', 'closed');",
        )
        .await
        .unwrap();
    let keys = age_keys();
    db.cmd()
        .args(["erase", "id:900031", "--yes", "--ticket", "REQ-22"])
        .args(["--archive-to", &keys.age_recipient, "--archive-out"])
        .arg(keys.dir.join("erase.age"))
        .arg("--key-file")
        .arg(mask_key(&keys))
        .assert()
        .success();
    for table in ["addresses", "identity_documents", "loans"] {
        let left = count(
            &client,
            &format!("SELECT count(*) FROM {table} WHERE borrower_id = 900031"),
        )
        .await;
        assert_eq!(left, 1, "{table}: kept until 5 years after the loan closed");
    }
}

/// Issue 22, defect 5: a real purge never ages rows from a time after now (a
/// cut-off tomorrow would delete rows a day early); a dry run may preview it.
#[tokio::test]
async fn a_real_purge_refuses_an_as_of_in_the_future_and_deletes_nothing() {
    let db = TestDb::migrated().await;
    let client = db.client().await;
    let before = crate::support::database_checksums(&client).await;
    for ahead in [
        Duration::hours(3),
        Duration::days(1),
        Duration::days(3 * 365),
    ] {
        let as_of = (Utc::now() + ahead).to_rfc3339();
        let output = db
            .cmd()
            .args(["purge", "--yes", "--ticket", "RET-22", "--rule", "location"])
            .args(["--as-of", &as_of])
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "--as-of {as_of}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("in the future"), "{stderr}");
        db.cmd()
            .args([
                "purge",
                "--dry-run",
                "--ticket",
                "RET-22",
                "--rule",
                "location",
            ])
            .args(["--as-of", &as_of])
            .assert()
            .success();
    }
    assert_eq!(crate::support::database_checksums(&client).await, before);
}

/// Issue 22, defect 3: `purge` deletes the due rows of a table without a primary
/// key (found by address, each batch checking the rule itself, each committed with
/// its audit row) and exactly those: old enough, of no client with a live or late
/// credit or frozen, by an oracle written apart.
#[tokio::test]
async fn purge_deletes_exactly_the_due_rows_of_a_table_without_a_primary_key() {
    let (db, client) = fixture_db(include_str!("../fixtures/lender.sql")).await;
    let map = crate::support::repo_root().join("tests/fixtures/lender.toml");
    let rows = "SELECT md5(string_agg(l::text, ',' ORDER BY l::text)) FROM core.contact_log l";
    let expected: String = client
        .query_one(
            "SELECT md5(string_agg(l::text, ',' ORDER BY l::text)) FROM core.contact_log l \
             WHERE NOT (l.at < now() - interval '1 year' \
                        AND l.client_code NOT IN (SELECT client_code FROM core.credit WHERE state IN ('live', 'late') \
                                                  UNION SELECT client_code FROM core.client WHERE state = 'frozen'))",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    let due = count(
        &client,
        "SELECT count(*) FROM core.contact_log l WHERE l.at < now() - interval '1 year' \
         AND l.client_code NOT IN (SELECT client_code FROM core.credit WHERE state IN ('live', 'late') \
                                   UNION SELECT client_code FROM core.client WHERE state = 'frozen')",
    )
    .await;
    assert!(due > 0);
    let output = db
        .cmd()
        .env("DERBES_MAP", &map)
        .args([
            "purge", "--yes", "--ticket", "RET-22", "--rule", "contacts", "--format", "json",
        ])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["rules"][0]["deleted"], due, "{report}");
    let after: String = client.query_one(rows, &[]).await.unwrap().get(0);
    assert_eq!(after, expected, "exactly the due rows deleted");
    let audited = count(
        &client,
        "SELECT coalesce(sum((counts->>'core.contact_log')::bigint), 0)::bigint FROM derbes.audit_log \
         WHERE action = 'purge' AND detail ? 'batch'",
    )
    .await;
    assert_eq!(
        audited, due,
        "every deleted row on the record with its batch"
    );
}

/// Issue 22, defect 6: a row the law keeps keeps only the categories its rule
/// names (`keeps`); its other personal columns are masked by their strategies and
/// the report says, column by column, what was kept and why.
#[tokio::test]
async fn a_kept_row_keeps_only_the_categories_the_law_names() {
    let db = TestDb::migrated().await;
    let client = db.client().await;
    client
        .batch_execute(
            "INSERT INTO borrowers (id, iin, last_name, first_name, birth_date, sex, email, phone, marital_status, dependants, created_at) VALUES
                 (900041, '880330300016', 'Nurlanov', 'Bolat', '1988-03-30', 'M', 'bolat@example.kz', '+77010000041', 'married', 2, now() - interval '6 years');
             INSERT INTO contact_persons (borrower_id, full_name, relation, phone, created_at) VALUES
                 (900041, 'Aliya Nurlanova', 'spouse', '+77010000042', now() - interval '6 years');
             INSERT INTO loans (id, borrower_id, contract_no, principal, rate_percent, issued_at, due_on, closed_at, status) VALUES
                 (900041, 900041, 'T-900041', 50000, 0.5, now() - interval '6 years', (now() - interval '1 year')::date, now() - interval '1 year', 'closed');",
        )
        .await
        .unwrap();
    let keys = age_keys();
    let output = db
        .cmd()
        .args([
            "erase",
            "id:900041",
            "--yes",
            "--ticket",
            "REQ-22",
            "--format",
            "json",
        ])
        .args(["--archive-to", &keys.age_recipient, "--archive-out"])
        .arg(keys.dir.join("erase.age"))
        .arg("--key-file")
        .arg(mask_key(&keys))
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let row = client
        .query_one(
            "SELECT iin, last_name, email, phone, marital_status, dependants FROM borrowers WHERE id = 900041",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(
        row.get::<_, String>(0),
        "880330300016",
        "the IIN identifies: kept"
    );
    assert_eq!(
        row.get::<_, String>(1),
        "Nurlanov",
        "the name identifies: kept"
    );
    assert_eq!(
        row.get::<_, Option<String>>(2).as_deref(),
        Some("[redacted]")
    );
    assert_eq!(
        row.get::<_, Option<String>>(3).as_deref(),
        Some("0041"),
        "partial"
    );
    assert_eq!(
        row.get::<_, Option<String>>(4),
        None,
        "marital status not kept"
    );
    assert_eq!(row.get::<_, Option<i16>>(5), None, "dependants not kept");
    let contact = client
        .query_one(
            "SELECT full_name, relation FROM contact_persons WHERE borrower_id = 900041",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(
        contact.get::<_, String>(0),
        "[redacted]",
        "a third person's name"
    );
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let borrowers = report["tables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["table"] == "borrowers")
        .unwrap();
    let kept = borrowers["kept_columns"].to_string();
    assert!(
        kept.contains("iin (iin): retention rule identity-kyc"),
        "{kept}"
    );
    let minimised = borrowers["minimised_columns"].to_string();
    for column in ["email", "phone", "marital_status", "dependants"] {
        assert!(minimised.contains(column), "{column} in {minimised}");
    }
    assert_eq!(borrowers["minimised"], 1);
}

/// Issue 22, defect 3: `anonymise --rule` masks the cohort of a table without a
/// primary key (one statement with its mark and audit row): exactly the rows the
/// retention decision finds due (old enough, of no client with a live or late
/// credit or frozen), by an oracle written apart; a second run masks nothing.
#[tokio::test]
async fn a_cohort_of_a_table_without_a_primary_key_is_masked_once_and_exactly() {
    let (db, client) = fixture_db(include_str!("../fixtures/lender.sql")).await;
    let (_dir, map) = lender_map_with_contacts("anonymise");
    let due = "l.at < now() - interval '1 year' \
               AND l.client_code NOT IN (SELECT client_code FROM core.credit WHERE state IN ('live', 'late') \
                                         UNION SELECT client_code FROM core.client WHERE state = 'frozen')";
    let expected_masked = count(
        &client,
        &format!("SELECT count(*) FROM core.contact_log l WHERE {due}"),
    )
    .await;
    let untouched = format!(
        "SELECT md5(string_agg(l::text, ',' ORDER BY l::text)) FROM core.contact_log l WHERE NOT ({due})"
    );
    let before: String = client.query_one(&untouched, &[]).await.unwrap().get(0);
    assert!(expected_masked > 0);
    let run = || {
        let output = db
            .cmd()
            .env("DERBES_MAP", &map)
            .args([
                "--format",
                "json",
                "anonymise",
                "--rule",
                "contacts",
                "--ticket",
                "JOB-22",
                "--yes",
            ])
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        report["tables"][0]["masked"].as_i64().unwrap()
    };
    assert_eq!(run(), expected_masked);
    let masked = count(
        &client,
        &format!("SELECT count(*) FROM core.contact_log l WHERE {due} AND note = '[redacted]'"),
    )
    .await;
    assert_eq!(masked, expected_masked, "every due row masked");
    let after: String = client.query_one(&untouched, &[]).await.unwrap().get(0);
    assert_eq!(after, before, "no other row touched");
    assert_eq!(run(), 0, "a second run masks nothing again");
}

/// Issue 22, defect 3: an archive-then-delete rule on a table without a primary
/// key archives exactly the rows it deletes (their addresses captured by the same
/// statement that streams them into the archive), in one transaction with the
/// audit row: the archive's rows are the deleted rows, by an oracle written apart.
#[tokio::test]
async fn purge_archives_then_deletes_exactly_the_due_rows_of_a_table_without_a_primary_key() {
    let (db, client) = fixture_db(include_str!("../fixtures/lender.sql")).await;
    let (_dir, map) = lender_map_with_contacts("archive-then-delete");
    let due = "l.at < now() - interval '1 year' \
               AND l.client_code NOT IN (SELECT client_code FROM core.credit WHERE state IN ('live', 'late') \
                                         UNION SELECT client_code FROM core.client WHERE state = 'frozen')";
    let rows = |condition: &str| {
        format!("SELECT l::text FROM core.contact_log l WHERE {condition} ORDER BY 1")
    };
    let text_rows = |sql: String| {
        let client = &client;
        async move {
            client
                .query(&sql, &[])
                .await
                .unwrap()
                .iter()
                .map(|r| r.get::<_, String>(0))
                .collect::<Vec<_>>()
        }
    };
    let due_rows = text_rows(rows(due)).await;
    let kept_rows = text_rows(rows(&format!("NOT ({due})"))).await;
    assert!(!due_rows.is_empty());
    let keys = age_keys();
    let output = db
        .cmd()
        .env("DERBES_MAP", &map)
        .args([
            "--format", "json", "purge", "--rule", "contacts", "--ticket", "RET-22", "--yes",
        ])
        .args(["-r", &keys.age_recipient, "--archive-dir"])
        .arg(&keys.dir)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["rules"][0]["deleted"], due_rows.len(), "{report}");
    assert_eq!(report["rules"][0]["archived"], due_rows.len(), "{report}");
    assert_eq!(
        text_rows(rows("true")).await,
        kept_rows,
        "exactly the due rows gone"
    );
    // The archive holds exactly the rows deleted.
    let archived = count(
        &client,
        "SELECT coalesce(sum((counts->>'core.contact_log')::bigint), 0)::bigint FROM derbes.archives WHERE selection->>'rule' = 'contacts'",
    )
    .await;
    assert_eq!(archived as usize, due_rows.len());
    let audited = count(
        &client,
        "SELECT coalesce(sum((counts->>'core.contact_log')::bigint), 0)::bigint FROM derbes.audit_log \
         WHERE action = 'purge' AND detail ? 'batch'",
    )
    .await;
    assert_eq!(
        audited as usize,
        due_rows.len(),
        "deleted rows on the record once"
    );
}

/// At PostgreSQL's default `work_mem` (4MB) a million subjects' holds or ages do not
/// fit in hash memory, and every row's `key IN (SELECT ...)` rescans the whole set:
/// a report over a million borrowers did not finish one table in 14 minutes. Every
/// command that tests rows against the holds prepares them here, which raises the
/// session's `work_mem`, and never lowers a larger one the operator set.
#[tokio::test]
async fn preparing_the_holds_raises_work_mem_so_lookups_are_hashed_and_never_lowers_it() {
    use derbes::ops::retention::{plan, prepare, Population, WORK_MEM};
    let db = TestDb::migrated().await;
    let map = derbes::map::DataMap::load(&crate::support::reference_map()).unwrap();
    for (before, after) in [("4MB", WORK_MEM), ("1GB", "1GB")] {
        let client = db.client().await;
        client
            .batch_execute(&format!("SET work_mem = '{before}'"))
            .await
            .unwrap();
        let catalog = derbes::pg::catalog::Catalog::read(&client).await.unwrap();
        let rules = plan(&map, &catalog, &[], Utc::now()).unwrap();
        prepare(&client, &map, &catalog, &rules[0], Population::Everyone)
            .await
            .unwrap();
        let now: String = client.query_one("SHOW work_mem", &[]).await.unwrap().get(0);
        assert_eq!(now, after, "work_mem after preparing, from {before}");
    }
}
