//! The audit trail: append in the caller's transaction, list, verify, tamper.

use std::collections::BTreeMap;

use predicates::prelude::*;

use crate::support::TestDb;
use derbes::pg::audit::{self, AuditEntry};

async fn write_entries(db: &TestDb, n: usize) {
    let mut client = db.client().await;
    for i in 0..n {
        let tx = client.transaction().await.unwrap();
        let entry = AuditEntry {
            action: "test.change".into(),
            ticket: Some(format!("T-{i}")),
            subject_ref: Some(format!("borrowers:{}", i + 1)),
            counts: BTreeMap::from([("rows".to_owned(), i as i64)]),
            fields: vec!["borrowers.phone".into()],
            detail: serde_json::json!({"reason": "test", "nested": {"b": 1, "a": [1, 2]}}),
        };
        audit::append(&tx, "tester", &entry).await.unwrap();
        tx.commit().await.unwrap();
    }
}

#[tokio::test]
async fn an_intact_chain_verifies_and_lists() {
    let db = TestDb::migrated().await;
    write_entries(&db, 5).await;
    db.cmd()
        .args(["audit", "verify"])
        .assert()
        .success()
        .stdout(predicate::str::contains("intact"));
    db.cmd()
        .args(["audit", "log", "--ticket", "T-3"])
        .assert()
        .success()
        .stdout(predicate::str::contains("borrowers:4"))
        .stdout(predicate::str::contains("T-3"));
    let output = db
        .cmd()
        .args(["--format", "json", "audit", "log"])
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["records"].as_array().unwrap().len(), 5);
}

#[tokio::test]
async fn a_rolled_back_change_leaves_no_audit_row() {
    let db = TestDb::migrated().await;
    let mut client = db.client().await;
    let tx = client.transaction().await.unwrap();
    audit::append(
        &tx,
        "tester",
        &AuditEntry {
            action: "test.change".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    tx.rollback().await.unwrap();
    write_entries(&db, 1).await;
    let report = audit::verify(&client, &[], None).await.unwrap();
    assert_eq!(report.records, 1);
    assert!(report.first_bad.is_none());
}

#[tokio::test]
async fn the_audit_log_refuses_updates_and_deletes() {
    let db = TestDb::migrated().await;
    write_entries(&db, 1).await;
    let client = db.client().await;
    let err = client
        .batch_execute("UPDATE derbes.audit_log SET operator = 'x'")
        .await
        .unwrap_err();
    assert!(derbes::pg::db::describe(&err).contains("append-only"));
    assert!(client
        .batch_execute("DELETE FROM derbes.audit_log")
        .await
        .is_err());
}

/// Tamper as a superuser would (bypassing the append-only trigger).
async fn tamper(db: &TestDb, sql: &str) {
    let client = db.client().await;
    client
        .batch_execute(&format!(
            "SET session_replication_role = replica; {sql}; SET session_replication_role = origin"
        ))
        .await
        .unwrap();
}

#[tokio::test]
async fn an_edited_row_fails_verification_naming_it() {
    let db = TestDb::migrated().await;
    write_entries(&db, 5).await;
    tamper(
        &db,
        "UPDATE derbes.audit_log SET operator = 'someone-else' WHERE seq = 3",
    )
    .await;
    db.cmd()
        .args(["audit", "verify"])
        .assert()
        .code(6)
        .stderr(predicate::str::contains("record 3"))
        .stderr(predicate::str::contains("edited"));
}

#[tokio::test]
async fn a_deleted_row_fails_verification() {
    let db = TestDb::migrated().await;
    write_entries(&db, 5).await;
    tamper(&db, "DELETE FROM derbes.audit_log WHERE seq = 2").await;
    db.cmd()
        .args(["audit", "verify"])
        .assert()
        .code(6)
        .stderr(predicate::str::contains("records 2..2 are missing"));
}

#[tokio::test]
async fn reordered_rows_fail_verification() {
    let db = TestDb::migrated().await;
    write_entries(&db, 4).await;
    // Swap the content of records 2 and 3 (keeping their sequence numbers).
    tamper(
        &db,
        "UPDATE derbes.audit_log a SET ticket = b.ticket, subject_ref = b.subject_ref, counts = b.counts, \
         prev_hash = b.prev_hash, row_hash = b.row_hash \
         FROM derbes.audit_log b WHERE (a.seq, b.seq) IN ((2, 3), (3, 2))",
    )
    .await;
    db.cmd()
        .args(["--format", "json", "audit", "verify"])
        .assert()
        .code(6)
        .stdout(predicate::str::contains("\"seq\":2"));
}

#[tokio::test]
async fn audit_log_since_lists_only_later_records() {
    let db = TestDb::migrated().await;
    write_entries(&db, 2).await;
    let client = db.client().await;
    let between: String = client
        .query_one(
            "SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    write_entries(&db, 3).await;
    let records = |since: &str| {
        let output = db
            .cmd()
            .args(["--format", "json", "audit", "log", "--since", since])
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        json["records"].as_array().unwrap().len()
    };
    assert_eq!(records(&between), 3);
    assert_eq!(records("1h"), 5);
    assert_eq!(records("2999-01-01"), 0);
    db.cmd()
        .args(["audit", "log", "--since", "yesterday-ish"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("is not a time"));
}

/// Issue 10, defect 8: each audit row records the database's session_user beside
/// the declared operator. A row written before migration 4 (hashed without it, as
/// then) still verifies after the upgrade, chained to the new rows.
#[tokio::test]
async fn rows_record_the_session_user_and_rows_from_before_still_verify() {
    use sha2::{Digest, Sha256};

    let db = TestDb::reference().await;
    let client = db.client().await;
    // The derbes schema at version 3, as an older derbes left it.
    client
        .batch_execute(
            "CREATE SCHEMA derbes; CREATE TABLE derbes.schema_migrations (
                 version integer PRIMARY KEY, name text NOT NULL, checksum text NOT NULL,
                 applied_at timestamptz NOT NULL DEFAULT now())",
        )
        .await
        .unwrap();
    for migration in &derbes::pg::migrate::MIGRATIONS[..3] {
        client.batch_execute(migration.sql).await.unwrap();
        client
            .execute(
                "INSERT INTO derbes.schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
                &[&migration.version, &migration.name, &migration.checksum()],
            )
            .await
            .unwrap();
    }
    // One row in the version-3 form, hashed as version 3 hashed it.
    let canonical = r#"{"seq":1,"at":"2026-01-01T00:00:00.000000Z","operator":"old","action":"export","ticket":"T-1","subject_ref":null,"counts":{},"fields":[],"detail":{}}"#;
    let mut hasher = Sha256::new();
    hasher.update([0u8; 32]);
    hasher.update(canonical.as_bytes());
    let row_hash = hasher.finalize().to_vec();
    client
        .execute(
            "INSERT INTO derbes.audit_log (seq, at, operator, action, ticket, prev_hash, row_hash) \
             VALUES (1, '2026-01-01T00:00:00Z', 'old', 'export', 'T-1', $1, $2)",
            &[&vec![0u8; 32], &row_hash],
        )
        .await
        .unwrap();

    db.cmd().arg("migrate").assert().success();
    db.cmd()
        .args([
            "--operator",
            "declared-name",
            "block",
            "id:1",
            "--reason",
            "other",
        ])
        .args(["--ticket", "INC-5", "--yes"])
        .assert()
        .success();
    db.cmd()
        .args(["audit", "verify"])
        .assert()
        .success()
        .stdout(predicate::str::contains("intact"));
    let rows = client
        .query(
            "SELECT operator, db_session_user, session_user::text FROM derbes.audit_log ORDER BY seq",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].get::<_, Option<String>>(1), None);
    assert_eq!(rows[1].get::<_, String>(0), "declared-name");
    assert_eq!(
        rows[1].get::<_, Option<String>>(1),
        Some(rows[1].get::<_, String>(2))
    );
    db.cmd()
        .args(["--format", "json", "audit", "log"])
        .assert()
        .success()
        .stdout(predicate::str::contains("\"db_session_user\""));
}

/// Issue 10, defect 8: a spreadsheet opening `--format csv` output runs cells that
/// start with `=`, `+`, `-` or `@`; and a ticket with escape codes (stored before
/// tickets were validated) made `audit log` print a fake coloured row.
#[tokio::test]
async fn csv_output_neutralises_formulas_and_tables_escape_control_characters() {
    let db = TestDb::migrated().await;
    let mut client = db.client().await;
    for ticket in ["=HYPERLINK(\"http://x\")", "-5", "T\n\x1b[31mFAKE OK"] {
        let tx = client.transaction().await.unwrap();
        audit::append(
            &tx,
            "tester",
            &AuditEntry {
                action: "test.change".into(),
                ticket: Some(ticket.into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
    }
    let csv = db
        .cmd()
        .args(["--format", "csv", "audit", "log"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let tickets: Vec<String> = csv::Reader::from_reader(csv.as_slice())
        .records()
        .map(|r| r.unwrap()[4].to_owned())
        .collect();
    assert_eq!(tickets[0], "'=HYPERLINK(\"http://x\")");
    assert_eq!(tickets[1], "-5", "a number stays a number");
    let table = db
        .cmd()
        .args(["audit", "log"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let table = String::from_utf8(table).unwrap();
    assert!(!table.contains('\x1b'), "{table}");
    assert!(table.contains("\\u{1b}"), "{table}");
    assert!(!table.contains("\nFAKE"), "{table}");
}

/// The anchor `audit head` prints on its last line (`SEQ:HASH`).
fn anchor_of(db: &TestDb) -> String {
    let output = db.cmd().args(["audit", "head"]).assert().success();
    let stdout = String::from_utf8(output.get_output().stdout.clone()).unwrap();
    stdout.lines().last().unwrap().to_owned()
}

#[tokio::test]
async fn audit_head_prints_an_anchor_that_verify_accepts() {
    let db = TestDb::migrated().await;
    write_entries(&db, 3).await;
    let client = db.client().await;
    let hash: Vec<u8> = client
        .query_one("SELECT row_hash FROM derbes.audit_log WHERE seq = 3", &[])
        .await
        .unwrap()
        .get(0);
    let anchor = anchor_of(&db);
    assert_eq!(anchor, format!("3:{}", hex::encode(&hash)));
    let json = db
        .cmd()
        .args(["--format", "json", "audit", "head"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let json: serde_json::Value = serde_json::from_slice(&json).unwrap();
    assert_eq!(json["seq"], 3);
    assert_eq!(json["anchor"], anchor.as_str());
    assert_eq!(json["database"], db.name.as_str());
    db.cmd()
        .args(["audit", "verify", "--head", &anchor])
        .assert()
        .success()
        .stdout(predicate::str::contains("intact, anchored"))
        .stdout(predicate::str::contains("cannot be detected").not());
    // Later records do not disturb an older anchor.
    write_entries(&db, 2).await;
    db.cmd()
        .args(["audit", "verify", "--head", &anchor.to_uppercase()])
        .assert()
        .success();
    // Without a head, verify says what it cannot see.
    db.cmd()
        .args(["audit", "verify"])
        .assert()
        .success()
        .stdout(predicate::str::contains("intact (unanchored)"))
        .stdout(predicate::str::contains(
            "deleting the newest records or truncating the log cannot be detected",
        ));
}

#[tokio::test]
async fn audit_head_of_an_empty_log_says_so() {
    let db = TestDb::migrated().await;
    db.cmd()
        .args(["audit", "head"])
        .assert()
        .success()
        .stdout(predicate::str::contains("empty"));
}

/// Issue 10, defect 4: a superuser deleting the newest rows behind the trigger
/// leaves a chain that verifies; the anchored head catches it.
#[tokio::test]
async fn deleting_the_newest_records_is_caught_with_an_anchored_head() {
    let db = TestDb::migrated().await;
    write_entries(&db, 5).await;
    let anchor = anchor_of(&db);
    tamper(&db, "DELETE FROM derbes.audit_log WHERE seq >= 4").await;
    // What the chain alone cannot show.
    db.cmd().args(["audit", "verify"]).assert().success();
    db.cmd()
        .args(["audit", "verify", "--head", &anchor])
        .assert()
        .code(6)
        .stdout(predicate::str::contains("CUT SHORT before record 5"))
        .stderr(predicate::str::contains("ends at record 3"))
        .stderr(predicate::str::contains("newest records were deleted"));
    // An older anchor still held does not hide the newer one that is gone.
    let older = {
        let client = db.client().await;
        let hash: Vec<u8> = client
            .query_one("SELECT row_hash FROM derbes.audit_log WHERE seq = 2", &[])
            .await
            .unwrap()
            .get(0);
        format!("2:{}", hex::encode(hash))
    };
    db.cmd()
        .args(["audit", "verify", "--head", &older, "--head", &anchor])
        .assert()
        .code(6);
}

/// Issue 10, defect 4: TRUNCATE with the triggers disabled left "0 records,
/// intact"; with a known head an empty log is a failure.
#[tokio::test]
async fn truncating_the_log_is_caught_with_an_anchored_head() {
    let db = TestDb::migrated().await;
    write_entries(&db, 3).await;
    let anchor = anchor_of(&db);
    let client = db.client().await;
    client
        .batch_execute(
            "ALTER TABLE derbes.audit_log DISABLE TRIGGER USER; \
             TRUNCATE derbes.audit_log; \
             ALTER TABLE derbes.audit_log ENABLE TRIGGER USER",
        )
        .await
        .unwrap();
    db.cmd().args(["audit", "verify"]).assert().success();
    db.cmd()
        .args(["audit", "verify", "--head", &anchor])
        .assert()
        .code(6)
        .stderr(predicate::str::contains("the audit log is empty"))
        .stderr(predicate::str::contains("truncated"));
    // Refilled past the anchor, the chain verifies but differs at the anchor.
    write_entries(&db, 4).await;
    db.cmd().args(["audit", "verify"]).assert().success();
    db.cmd()
        .args(["--format", "json", "audit", "verify", "--head", &anchor])
        .assert()
        .code(6)
        .stdout(predicate::str::contains("\"differs\""));
}

/// Issue 10, defect 4: an empty log with a known head fails (exit 6), whatever the
/// head; a head that is not SEQ:HASH is a usage error.
#[tokio::test]
async fn an_empty_log_with_a_known_head_fails() {
    let db = TestDb::migrated().await;
    let head = format!("1:{}", "ab".repeat(32));
    db.cmd()
        .args(["audit", "verify", "--head", &head])
        .assert()
        .code(6)
        .stderr(predicate::str::contains("empty"));
    for bad in ["abc", "0:00", &format!("x:{}", "ab".repeat(32)), "3:abcd"] {
        db.cmd()
            .args(["audit", "verify", "--head", bad])
            .assert()
            .code(2)
            .stderr(predicate::str::contains("SEQ:HASH"));
    }
}

/// How the concurrent appenders open their transactions.
#[derive(Clone, Copy, Debug)]
enum Appender {
    ReadCommitted,
    RepeatableRead,
    Serializable,
}

fn entry(n: usize) -> AuditEntry {
    AuditEntry {
        action: "test.concurrent".into(),
        ticket: Some(format!("C-{n}")),
        ..Default::default()
    }
}

/// Issue 9, item 7: eight appenders on their own connections, a mix of READ
/// COMMITTED (lock taken in `append`) and REPEATABLE READ / SERIALIZABLE changes
/// (`begin_snapshot`: lock before the snapshot), each reading in its transaction and
/// holding it open across the append, never fork the chain: every append succeeds,
/// `seq` has no gap and each `prev_hash` is the row before's `row_hash`.
#[tokio::test]
async fn eight_concurrent_appenders_never_fork_the_chain() {
    use derbes::pg::change::{self, Limits, Snapshot};
    const ROUNDS: usize = 6;
    let db = std::sync::Arc::new(TestDb::migrated().await);
    let mut tasks = Vec::new();
    for task in 0..8usize {
        let db = db.clone();
        let kind = match task % 3 {
            0 => Appender::ReadCommitted,
            1 => Appender::RepeatableRead,
            _ => Appender::Serializable,
        };
        tasks.push(tokio::spawn(async move {
            let mut client = db.client().await;
            for round in 0..ROUNDS {
                let n = task * ROUNDS + round;
                let pause = std::time::Duration::from_millis((n % 4) as u64 * 3);
                match kind {
                    Appender::ReadCommitted => {
                        let tx = client.transaction().await.unwrap();
                        tx.query_one("SELECT count(*) FROM derbes.audit_log", &[])
                            .await
                            .unwrap();
                        tokio::time::sleep(pause).await;
                        audit::append(&tx, "tester", &entry(n))
                            .await
                            .unwrap_or_else(|e| panic!("{kind:?} append: {e}"));
                        tokio::time::sleep(pause).await;
                        tx.commit().await.unwrap();
                    }
                    Appender::RepeatableRead | Appender::Serializable => {
                        let isolation = match kind {
                            Appender::RepeatableRead => Snapshot::RepeatableRead,
                            _ => Snapshot::Serializable,
                        };
                        let change = change::begin_snapshot(
                            &mut client,
                            &Limits::default(),
                            isolation,
                            false,
                        )
                        .await
                        .unwrap();
                        change
                            .tx()
                            .query_one("SELECT count(*) FROM derbes.audit_log", &[])
                            .await
                            .unwrap();
                        tokio::time::sleep(pause).await;
                        change
                            .commit("tester", &entry(n))
                            .await
                            .unwrap_or_else(|e| panic!("{kind:?} append: {e}"));
                    }
                }
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let client = db.client().await;
    let report = audit::verify(&client, &[], None).await.unwrap();
    assert!(report.first_bad.is_none(), "{:?}", report.first_bad);
    assert_eq!(report.records, 8 * ROUNDS as i64);
    let row = client
        .query_one(
            "SELECT min(seq), max(seq), count(DISTINCT seq), \
                    count(*) FILTER (WHERE prev_hash IS DISTINCT FROM \
                        coalesce(before, '\\x0000000000000000000000000000000000000000000000000000000000000000'::bytea)), \
                    count(DISTINCT ticket) \
             FROM (SELECT seq, prev_hash, ticket, lag(row_hash) OVER (ORDER BY seq) AS before \
                   FROM derbes.audit_log) chain",
            &[],
        )
        .await
        .unwrap();
    let n = 8 * ROUNDS as i64;
    assert_eq!(row.get::<_, i64>(0), 1, "seq starts at 1");
    assert_eq!(row.get::<_, i64>(1), n, "seq has no gap");
    assert_eq!(row.get::<_, i64>(2), n);
    assert_eq!(
        row.get::<_, i64>(3),
        0,
        "each prev_hash is the row before's row_hash"
    );
    assert_eq!(row.get::<_, i64>(4), n, "every append is there once");
}

/// A REPEATABLE READ change started by `begin_snapshot` while another change holds
/// the audit lock waits for it, and its snapshot then holds the row that change
/// committed: it appends after it.
#[tokio::test]
async fn a_snapshot_change_appends_after_the_change_it_waited_for() {
    use derbes::pg::change::{self, Limits, Snapshot};
    let db = TestDb::migrated().await;
    let mut first = db.client().await;
    let tx = first.transaction().await.unwrap();
    audit::append(&tx, "tester", &entry(1)).await.unwrap();
    let db_name = db.name.clone();
    let waiting = tokio::spawn(async move {
        let mut client = crate::support::connect_to(&db_name).await;
        let change = change::begin_snapshot(
            &mut client,
            &Limits::default(),
            Snapshot::RepeatableRead,
            false,
        )
        .await
        .unwrap();
        change.commit("tester", &entry(2)).await.map(|r| r.seq)
    });
    // Commit the first only once the second waits for the lock.
    let observer = db.client().await;
    loop {
        let waiting: bool = observer
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE NOT granted \
                 AND relation = 'derbes.audit_lock'::regclass)",
                &[],
            )
            .await
            .unwrap()
            .get(0);
        if waiting {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    tx.commit().await.unwrap();
    assert_eq!(waiting.await.unwrap().unwrap(), 2);
    assert!(audit::verify(&observer, &[], None)
        .await
        .unwrap()
        .first_bad
        .is_none());
}

/// `append` refuses a REPEATABLE READ or SERIALIZABLE transaction that did not take
/// the audit lock before its snapshot; and one that took it too late (after its
/// snapshot, with a row committed in between) is refused by the primary key instead
/// of forking the chain.
#[tokio::test]
async fn append_refuses_a_snapshot_that_may_be_stale() {
    use derbes::pg::audit::AppendError;
    let db = TestDb::migrated().await;
    let mut client = db.client().await;
    for level in [
        tokio_postgres::IsolationLevel::RepeatableRead,
        tokio_postgres::IsolationLevel::Serializable,
    ] {
        let tx = client
            .build_transaction()
            .isolation_level(level)
            .start()
            .await
            .unwrap();
        let err = audit::append(&tx, "tester", &entry(1)).await.unwrap_err();
        assert!(
            matches!(err, AppendError::SnapshotWithoutLock { .. }),
            "{err}"
        );
        assert!(err.to_string().contains("begin_snapshot"), "{err}");
        tx.rollback().await.unwrap();
    }

    write_entries(&db, 1).await;
    let tx = client
        .build_transaction()
        .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
        .start()
        .await
        .unwrap();
    tx.query_one("SELECT 1", &[]).await.unwrap(); // the snapshot
    write_entries(&db, 1).await; // committed after it
    tx.batch_execute(derbes::pg::audit::LOCK_BEFORE_SNAPSHOT)
        .await
        .unwrap();
    let err = audit::append(&tx, "tester", &entry(2)).await.unwrap_err();
    assert!(matches!(err, AppendError::StaleSnapshot), "{err}");
    tx.rollback().await.unwrap();
    let report = audit::verify(&client, &[], None).await.unwrap();
    assert_eq!(report.records, 2);
    assert!(report.first_bad.is_none());
}

/// The chain hash was unkeyed SHA-256: a superuser who rewrote records and
/// recomputed the chain passed `audit verify` (only an anchored head caught it).
/// With the audit key set, every record is sealed (an HMAC of its chain hash under a
/// key the database never sees), and `audit verify` with the key catches the rewrite
/// without an anchor, whether the forger dropped the seals or kept the old ones.
#[tokio::test]
async fn a_superuser_rewrite_of_the_chain_is_caught_with_the_audit_key() {
    let db = TestDb::migrated().await;
    let key = crate::rectify::AUDIT_KEY;
    for args in [
        &[
            "block",
            "id:1",
            "--reason",
            "compromised",
            "--ticket",
            "INC-1",
            "--yes",
        ][..],
        &[
            "unblock",
            "id:1",
            "--application",
            "APP-1",
            "--ticket",
            "INC-2",
            "--yes",
        ][..],
    ] {
        db.cmd()
            .env("DERBES_AUDIT_KEY", key)
            .args(args)
            .assert()
            .success();
    }
    db.cmd()
        .env("DERBES_AUDIT_KEY", key)
        .args(["audit", "verify"])
        .assert()
        .success()
        .stdout(predicate::str::contains("2 sealed record(s) opened"));
    db.cmd()
        .args(["audit", "verify"])
        .assert()
        .success()
        .stdout(predicate::str::contains("without the audit key"));

    // The forger: a superuser, past the append-only trigger, rewrites the log
    // through derbes' own append (a valid chain), with the first ticket changed.
    let mut client = db.client().await;
    let originals = client
        .query(
            "SELECT action, ticket, subject_ref, seal FROM derbes.audit_log ORDER BY seq",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(originals.len(), 2);
    client
        .batch_execute(
            "SET session_replication_role = replica; DELETE FROM derbes.audit_log; \
             SET session_replication_role = origin",
        )
        .await
        .unwrap();
    for (i, row) in originals.iter().enumerate() {
        let tx = client.transaction().await.unwrap();
        let ticket: String = row.get(1);
        let entry = AuditEntry {
            action: row.get(0),
            ticket: Some(if i == 0 { "INC-9".to_owned() } else { ticket }),
            subject_ref: row.get(2),
            ..AuditEntry::default()
        };
        audit::append(&tx, "forger", &entry).await.unwrap();
        tx.commit().await.unwrap();
    }
    // Without the key the rewritten chain still verifies: that is what the key is for.
    db.cmd().args(["audit", "verify"]).assert().success();
    db.cmd()
        .env("DERBES_AUDIT_KEY", key)
        .args(["audit", "verify"])
        .assert()
        .code(6)
        .stdout(predicate::str::contains("record 1: it has no seal"));

    // Keeping the old seals does not help: they seal the old chain hashes.
    client
        .batch_execute("SET session_replication_role = replica")
        .await
        .unwrap();
    for (i, row) in originals.iter().enumerate() {
        let seal: Option<Vec<u8>> = row.get(3);
        client
            .execute(
                "UPDATE derbes.audit_log SET seal = $1 WHERE seq = $2",
                &[&seal, &(i as i64 + 1)],
            )
            .await
            .unwrap();
    }
    db.cmd()
        .env("DERBES_AUDIT_KEY", key)
        .args(["audit", "verify"])
        .assert()
        .code(6)
        .stdout(predicate::str::contains(
            "record 1: its seal does not match the audit key",
        ));
}
