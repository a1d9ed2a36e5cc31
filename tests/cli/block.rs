//! `derbes block`, `unblock` and `blocks`: every selector, the guard rails, the
//! application-side view changing in the same transaction, bad input, a read-only
//! database, concurrent block and unblock, and a schema derbes was not designed for.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use predicates::prelude::*;
use tokio_postgres::Client;

use crate::foreign_schema::{shop_db, shop_map};
use crate::support::{
    count, database_checksums, others_checksums, reference_map, temp_file, TestDb,
};

/// Subjects the tests reason about (valid IINs), with sessions and log rows. Keys
/// 900001.. stay clear of the generated population.
const SUBJECTS: &str = r#"
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_partitioned_table p
                   WHERE p.partrelid = 'server_logs'::regclass AND p.partdefid <> 0) THEN
        CREATE TABLE server_logs_block_test PARTITION OF server_logs DEFAULT;
    END IF;
END $$;
INSERT INTO borrowers (id, iin, last_name, first_name, birth_date, sex, email, phone) VALUES
    (900001, '061211600012', 'A', 'A', '2006-12-11', 'F', 'Aigerim@Example.kz', '+77010000001'),
    (900002, '880330300016', 'B', 'B', '1988-03-30', 'M', 'b@example.kz', '+77010000002'),
    (900003, '900101300126', 'C', 'C', '1990-01-01', 'M', 'c@example.kz', '+77010000003'),
    (900004, '850505400236', 'D', 'D', '1985-05-05', 'F', 'd@example.kz', '+77010000004'),
    (900005, '770707300349', 'E', 'E', '1977-07-07', 'M', 'e@example.kz', '+77010000001');
INSERT INTO devices (id, borrower_id, device_uid, os, first_seen, last_seen) VALUES
    (900001, 900001, 'dev-aaaa', 'Android', now() - interval '10 days', now()),
    (900002, 900002, 'dev-bbbb', 'Android', now() - interval '10 days', now());
INSERT INTO sessions (borrower_id, device_id, ip, started_at, last_seen_at, revoked_at) VALUES
    (900001, 900001, '203.0.113.10', now() - interval '1 hour', now(), NULL),
    (900001, 900001, '203.0.113.10', now() - interval '2 days', now() - interval '1 day', now() - interval '1 day'),
    (900002, 900002, '198.51.100.7', now() - interval '1 hour', now(), NULL),
    (900003, NULL, '10.1.2.3', now() - interval '30 days', now() - interval '30 days', NULL);
INSERT INTO server_logs (logged_at, borrower_id, ip, method, path, status) VALUES
    (now() - interval '1 hour', 900003, '203.0.113.99', 'GET', '/', 200),
    (now() - interval '40 days', 900004, '203.0.113.50', 'GET', '/', 200),
    (now() - interval '1 hour', NULL, '203.0.113.51', 'GET', '/', 200);
"#;

/// Block the first test subject (as on-call would after a breach report).
fn block_first_subject(db: &TestDb) {
    db.cmd()
        .args(["block", "061211600012", "--reason", "compromised"])
        .args(["--ticket", "INC-1", "--yes"])
        .assert()
        .success();
}

async fn db_with_subjects() -> (TestDb, Client) {
    let db = TestDb::migrated().await;
    let client = db.client().await;
    client
        .batch_execute(SUBJECTS)
        .await
        .expect("test subjects load");
    (db, client)
}

/// Status, token version, live sessions of one borrower.
async fn app_view(client: &Client, id: i64) -> (String, i32, i64) {
    let row = client
        .query_one(
            "SELECT b.status, b.token_version, \
                    (SELECT count(*) FROM sessions s WHERE s.borrower_id = b.id AND s.revoked_at IS NULL) \
             FROM borrowers b WHERE b.id = $1",
            &[&id],
        )
        .await
        .unwrap();
    (row.get(0), row.get(1), row.get(2))
}

async fn active_blocks(client: &Client, key: &str) -> i64 {
    client
        .query_one(
            "SELECT count(*) FROM derbes.blocks WHERE subject_key = $1 AND unblocked_at IS NULL",
            &[&key],
        )
        .await
        .unwrap()
        .get(0)
}

/// A fingerprint of what the application sees of every subject but the test's own.
async fn population(client: &Client) -> String {
    client
        .query_one(
            "SELECT count(*)::text || ':' || coalesce(md5(string_agg(b.id || b.status || b.token_version \
                    || (SELECT count(*) FROM sessions s WHERE s.borrower_id = b.id AND s.revoked_at IS NULL), \
                    ',' ORDER BY b.id)), '') \
             FROM borrowers b WHERE b.id < 900000",
            &[],
        )
        .await
        .unwrap()
        .get(0)
}

fn json(output: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

fn subjects_of(report: &serde_json::Value, field: &str) -> Vec<String> {
    let mut subjects: Vec<String> = report[field]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["subject"].as_str().unwrap().to_owned())
        .collect();
    subjects.sort();
    subjects
}

#[tokio::test]
async fn blocking_by_identity_changes_what_the_application_sees_in_one_transaction() {
    let (db, client) = db_with_subjects().await;
    let before = population(&client).await;
    let output = db
        .cmd()
        .args(["--format", "json", "block", "061211600012", "B@example.kz"])
        .args(["--reason", "compromised", "--ticket", "INC-1", "--yes"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let report = json(&output);
    assert_eq!(
        subjects_of(&report, "blocked"),
        ["borrowers:900001", "borrowers:900002"]
    );
    assert_eq!(app_view(&client, 900001).await, ("blocked".into(), 2, 0));
    assert_eq!(app_view(&client, 900002).await, ("blocked".into(), 2, 0));
    // Nobody else is touched, generated population included.
    assert_eq!(app_view(&client, 900003).await, ("active".into(), 1, 1));
    assert_eq!(population(&client).await, before);
    // One history row per subject, one audit row per run with count and ticket.
    assert_eq!(
        count(&client, "SELECT count(*) FROM derbes.blocks WHERE reason = 'compromised' AND ticket = 'INC-1' AND unblocked_at IS NULL").await,
        2
    );
    let audit = client
        .query_one(
            "SELECT count(*), max(counts->>'subjects'), max(ticket) FROM derbes.audit_log WHERE action = 'block'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(audit.get::<_, i64>(0), 1);
    assert_eq!(audit.get::<_, Option<String>>(1).as_deref(), Some("2"));
    assert_eq!(audit.get::<_, Option<String>>(2).as_deref(), Some("INC-1"));
    // Personal values stay out of the audit trail and the history.
    let trail: String = client
        .query_one(
            "SELECT string_agg(a::text, ' ') FROM derbes.audit_log a",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(!trail.contains("061211600012") && !trail.to_lowercase().contains("b@example.kz"));

    // Idempotent: blocking again reports them, changes nothing, still exits 0.
    let output = db
        .cmd()
        .args(["--format", "json", "block", "061211600012"])
        .args(["--reason", "compromised", "--ticket", "INC-1", "--yes"])
        .output()
        .unwrap();
    assert!(output.status.success());
    let report = json(&output);
    assert_eq!(
        subjects_of(&report, "already_blocked"),
        ["borrowers:900001"]
    );
    assert!(report["blocked"].as_array().unwrap().is_empty());
    assert_eq!(app_view(&client, 900001).await, ("blocked".into(), 2, 0));
    assert_eq!(active_blocks(&client, "900001").await, 1);
}

#[tokio::test]
async fn a_dry_run_lists_who_would_be_blocked_and_changes_nothing() {
    let (db, client) = db_with_subjects().await;
    db.cmd()
        .args([
            "block",
            "061211600012",
            "--reason",
            "fraud",
            "--ticket",
            "INC-2",
        ])
        .arg("--dry-run")
        .assert()
        .success()
        .stdout(predicate::str::contains("borrowers:900001"))
        .stdout(predicate::str::contains("would block"))
        .stdout(predicate::str::contains("sessions.revoked_at=1"));
    assert_eq!(app_view(&client, 900001).await, ("active".into(), 1, 1));
    assert_eq!(
        count(&client, "SELECT count(*) FROM derbes.blocks").await,
        0
    );
    assert_eq!(
        count(&client, "SELECT count(*) FROM derbes.audit_log").await,
        0
    );
}

#[tokio::test]
async fn ip_and_device_selectors_find_subjects_from_every_mapped_column() {
    let (db, client) = db_with_subjects().await;
    let dry = |args: &[&str]| {
        let output = db
            .cmd()
            .args(["--format", "json", "block"])
            .args(args)
            .args(["--reason", "fraud", "--ticket", "INC-3", "--dry-run"])
            .output()
            .unwrap();
        assert!(output.status.success(), "{output:?}");
        subjects_of(&json(&output), "blocked")
    };
    // Sessions (900001) and server logs (900003, 900004); the anonymous log row is skipped.
    assert_eq!(
        dry(&["--ip", "203.0.113.0/24"]),
        ["borrowers:900001", "borrowers:900003", "borrowers:900004"]
    );
    // --since drops the 40-day-old log row.
    assert_eq!(
        dry(&["--ip", "203.0.113.0/24", "--since", "7d"]),
        ["borrowers:900001", "borrowers:900003"]
    );
    // A single address, host bits ignored.
    assert_eq!(dry(&["--ip", "198.51.100.7"]), ["borrowers:900002"]);
    // Device by install id (devices.device_uid) and by device row (sessions.device_id).
    assert_eq!(dry(&["--device", "dev-bbbb"]), ["borrowers:900002"]);
    assert_eq!(dry(&["--device", "900001"]), ["borrowers:900001"]);

    db.cmd()
        .args([
            "block",
            "--ip",
            "10.0.0.0/8",
            "--reason",
            "fraud",
            "--ticket",
            "INC-3",
            "--yes",
        ])
        .assert()
        .success();
    assert_eq!(app_view(&client, 900003).await, ("blocked".into(), 2, 0));
    let selector: String = client
        .query_one("SELECT selector FROM derbes.blocks", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(selector, "ip");
}

#[tokio::test]
async fn guard_rails_refuse_too_many_unknown_and_empty_selections() {
    let (db, client) = db_with_subjects().await;
    // More than --max: exit 5 with the count, nothing blocked.
    db.cmd()
        .args([
            "block",
            "--ip",
            "0.0.0.0/0",
            "--reason",
            "fraud",
            "--ticket",
            "X",
        ])
        .args(["--yes", "--max", "2"])
        .assert()
        .code(5)
        .stderr(predicate::str::contains("more than --max 2"));
    // Unknown identities are listed (masked, with their position), nothing is blocked.
    db.cmd()
        .args(["block", "061211600012", "unknown@example.kz"])
        .args(["--reason", "fraud", "--ticket", "X", "--yes"])
        .assert()
        .code(3)
        .stderr(predicate::str::contains("argument 2"))
        .stderr(predicate::str::contains("unknown@example.kz").not());
    assert_eq!(
        count(&client, "SELECT count(*) FROM derbes.blocks").await,
        0
    );
    assert_eq!(app_view(&client, 900001).await.0, "active");
    // --skip-unknown blocks the rest and reports the skipped.
    db.cmd()
        .args([
            "block",
            "061211600012",
            "unknown@example.kz",
            "--skip-unknown",
        ])
        .args(["--reason", "fraud", "--ticket", "X", "--yes"])
        .assert()
        .success()
        .stdout(predicate::str::contains("skipped 1 unknown"));
    assert_eq!(app_view(&client, 900001).await.0, "blocked");
    // A phone two subjects share is ambiguous: exit 4 naming the identity masked with
    // its position and the candidates by key, never the phone, and nothing changes
    // (blocks, audit log, application state).
    let before = database_checksums(&client).await;
    db.cmd()
        .args([
            "block",
            "+77010000001",
            "880330300016",
            "--reason",
            "fraud",
            "--ticket",
            "X",
            "--yes",
        ])
        .assert()
        .code(4)
        .stderr(predicate::str::contains(
            "+7701*****01 (argument 1) matches id:900001, id:900005",
        ))
        .stderr(predicate::str::contains("77010000001").not());
    assert_eq!(database_checksums(&client).await, before);
    assert_eq!(app_view(&client, 900002).await.0, "active");
    // A selector matching nobody: exit 3.
    db.cmd()
        .args([
            "block",
            "--ip",
            "192.0.2.0/24",
            "--reason",
            "fraud",
            "--ticket",
            "X",
            "--yes",
        ])
        .assert()
        .code(3)
        .stderr(predicate::str::contains("matches no subject"));
    // Off a terminal without --yes: refused.
    db.cmd()
        .args([
            "block",
            "880330300016",
            "--reason",
            "fraud",
            "--ticket",
            "X",
        ])
        .assert()
        .code(5)
        .stderr(predicate::str::contains("--yes"));
    assert_eq!(app_view(&client, 900002).await.0, "active");
}

#[tokio::test]
async fn identities_come_from_a_file_or_stdin_with_comments_and_duplicates() {
    let (db, client) = db_with_subjects().await;
    let (_dir, list) = temp_file(
        "list.txt",
        "# incident 42\n061211600012\n\n900101300126   # seen twice\n061211600012\n",
    );
    db.cmd()
        .args(["--format", "json", "block", "--from-file"])
        .arg(&list)
        .args(["--reason", "compromised", "--ticket", "INC-42", "--yes"])
        .assert()
        .success()
        .stdout(predicate::str::contains("\"duplicates\":1"));
    assert_eq!(
        count(&client, "SELECT count(*) FROM derbes.blocks").await,
        2
    );
    db.cmd()
        .args([
            "block",
            "--from-file",
            "-",
            "--reason",
            "other",
            "--ticket",
            "INC-43",
            "--yes",
        ])
        .write_stdin("b@example.kz\n")
        .assert()
        .success()
        .stdout(predicate::str::contains("borrowers:900002"));
    // Malformed lines are reported by number, never by content; nothing is blocked.
    let (_dir, bad) = temp_file(
        "bad.txt",
        "850505400236\n# ok\n850505400237\nnot-an-identity\n",
    );
    db.cmd()
        .args(["block", "--from-file"])
        .arg(&bad)
        .args(["--reason", "fraud", "--ticket", "X", "--yes"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("line 3"))
        .stderr(predicate::str::contains("line 4"))
        .stderr(predicate::str::contains("850505400237").not());
    assert_eq!(app_view(&client, 900004).await.0, "active");
}

#[tokio::test]
async fn bad_arguments_exit_2() {
    let (db, _client) = db_with_subjects().await;
    db.cmd()
        .args([
            "block",
            "061211600012",
            "--reason",
            "boredom",
            "--ticket",
            "X",
        ])
        .assert()
        .code(2);
    db.cmd()
        .args([
            "block",
            "--ip",
            "203.0.113.0/33",
            "--reason",
            "fraud",
            "--ticket",
            "X",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("CIDR"));
    db.cmd()
        .args(["block", "--reason", "fraud", "--ticket", "X"])
        .assert()
        .code(2);
    db.cmd()
        .args(["block", "061211600012", "--reason", "fraud"])
        .assert()
        .code(2);
}

#[tokio::test]
async fn a_read_only_database_gives_a_clear_error_and_changes_nothing() {
    let (db, client) = db_with_subjects().await;
    client
        .batch_execute(&format!(
            "ALTER DATABASE \"{}\" SET default_transaction_read_only = on",
            db.name
        ))
        .await
        .unwrap();
    db.cmd()
        .args([
            "block",
            "061211600012",
            "--reason",
            "fraud",
            "--ticket",
            "X",
            "--yes",
        ])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("read-only"))
        .stderr(predicate::str::contains("nothing was changed"));
    assert_eq!(app_view(&client, 900001).await, ("active".into(), 1, 1));
    assert_eq!(
        count(&client, "SELECT count(*) FROM derbes.blocks").await,
        0
    );
}

/// Issue 22, defect 4 (also): the unblock changes no other subject's row in any
/// table, not even that of 900002, named on the command line but not blocked.
#[tokio::test]
async fn unblock_needs_the_application_and_keeps_sessions_revoked() {
    let (db, client) = db_with_subjects().await;
    block_first_subject(&db);
    let others_before = others_checksums(&client, 900001).await;
    db.cmd()
        .args(["unblock", "061211600012", "--ticket", "REQ-9", "--yes"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--application"));
    db.cmd()
        .args([
            "unblock",
            "061211600012",
            "--ticket",
            "REQ-9",
            "--application",
            " ",
            "--yes",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("written application"));
    assert_eq!(app_view(&client, 900001).await.0, "blocked");

    db.cmd()
        .args([
            "unblock",
            "061211600012",
            "880330300016",
            "--ticket",
            "REQ-9",
        ])
        .args(["--application", "MAIL-2026-0042", "--yes"])
        .assert()
        .success()
        .stdout(predicate::str::contains("compromised"))
        .stdout(predicate::str::contains("INC-1"))
        .stdout(predicate::str::contains("not blocked"));
    // Status back, sessions stay revoked, token version stays bumped.
    assert_eq!(app_view(&client, 900001).await, ("active".into(), 2, 0));
    assert_eq!(
        others_checksums(&client, 900001).await,
        others_before,
        "other subjects untouched"
    );
    assert_eq!(active_blocks(&client, "900001").await, 0);
    let row = client
        .query_one(
            "SELECT application_ref, unblock_ticket FROM derbes.blocks WHERE subject_key = '900001'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "MAIL-2026-0042");
    assert_eq!(row.get::<_, String>(1), "REQ-9");

    db.cmd()
        .args([
            "block",
            "880330300016",
            "--reason",
            "violation",
            "--ticket",
            "INC-7",
            "--yes",
        ])
        .assert()
        .success();
    let active = db
        .cmd()
        .args(["--format", "json", "blocks", "--active"])
        .output()
        .unwrap();
    let active = json(&active);
    let active = active["blocks"].as_array().unwrap();
    assert_eq!(active.len(), 1);
    assert_eq!(active[0]["subject_key"], "900002");
    assert_eq!(active[0]["reason"], "violation");
    db.cmd()
        .args(["blocks", "--since", "1h"])
        .assert()
        .success()
        .stdout(predicate::str::contains("MAIL-2026-0042"))
        .stdout(predicate::str::contains("INC-7"));
    db.cmd().args(["audit", "verify"]).assert().success();
}

fn spawn(db: &TestDb, args: &[&str]) -> std::process::Child {
    Command::new(assert_cmd::cargo::cargo_bin("derbes"))
        .args(args)
        .env("DATABASE_URL", db.conninfo())
        .env("DERBES_MAP", reference_map())
        .env("DERBES_OPERATOR", "test-operator")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("derbes starts")
}

/// Wait until `n` derbes sessions are waiting on a lock (so the runs really overlap).
async fn wait_for_lock_waiters(client: &Client, database: &str, n: i64) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let waiting: i64 = client
            .query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 \
                 AND application_name = 'derbes' AND wait_event_type = 'Lock'",
                &[&database],
            )
            .await
            .unwrap()
            .get(0);
        if waiting >= n {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the runs never queued on the lock"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn concurrent_block_and_unblock_leave_a_consistent_state() {
    let (db, mut client) = db_with_subjects().await;
    let observer = db.client().await;
    block_first_subject(&db);
    for round in 0..3 {
        // Hold the subject row so both runs start, resolve, and queue on it together.
        let tx = client.transaction().await.unwrap();
        tx.execute("SELECT 1 FROM borrowers WHERE id = 900001 FOR UPDATE", &[])
            .await
            .unwrap();
        let ticket = format!("INC-R{round}");
        let unblock = spawn(
            &db,
            &[
                "unblock",
                "061211600012",
                "--application",
                "APP-1",
                "--ticket",
                "REQ-1",
                "--yes",
            ],
        );
        let block = spawn(
            &db,
            &[
                "block",
                "061211600012",
                "--reason",
                "fraud",
                "--ticket",
                &ticket,
                "--yes",
            ],
        );
        wait_for_lock_waiters(&observer, &db.name, 2).await;
        tx.commit().await.unwrap();
        for child in [unblock, block] {
            let output = child.wait_with_output().unwrap();
            assert!(
                output.status.success(),
                "round {round}: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        // Status and history agree, and never two active blocks.
        let (status, _, live_sessions) = app_view(&client, 900001).await;
        let active = active_blocks(&client, "900001").await;
        assert!(active <= 1, "round {round}: {active} active blocks");
        assert_eq!(
            status == "blocked",
            active == 1,
            "round {round}: status {status} with {active} active blocks"
        );
        assert_eq!(live_sessions, 0);
    }
    db.cmd().args(["audit", "verify"]).assert().success();
}

#[tokio::test]
async fn blocking_works_on_a_schema_derbes_was_not_designed_for() {
    let db = shop_db().await;
    let client = db.client().await;
    client
        .batch_execute(
            "ALTER TABLE shop.clients ADD COLUMN state text NOT NULL DEFAULT 'open';
             ALTER TABLE shop.order_items ADD COLUMN held_at timestamptz;",
        )
        .await
        .unwrap();
    let mut map = std::fs::read_to_string(shop_map()).unwrap();
    map.push_str(
        "\n[block]\nset = [{ table = \"clients\", column = \"state\", value = \"locked\", unblock_value = \"open\" }]\n\
         revoke = [{ table = \"order_items\", column = \"held_at\" }]\n",
    );
    let (_dir, map_path) = temp_file("shop.toml", &map);
    db.cmd().arg("migrate").assert().success();
    // Case-insensitive email, and a key.
    db.cmd()
        .arg("--map")
        .arg(&map_path)
        .args([
            "block",
            "aigerim@example.kz",
            "id:2",
            "--reason",
            "fraud",
            "--ticket",
            "S-1",
            "--yes",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains("clients:1"))
        .stdout(predicate::str::contains("clients:2"))
        .stdout(predicate::str::contains("order_items.held_at=2"));
    assert_eq!(
        count(
            &client,
            "SELECT count(*) FROM shop.clients WHERE state = 'locked'"
        )
        .await,
        2
    );
    assert_eq!(
        count(
            &client,
            "SELECT count(*) FROM shop.order_items WHERE held_at IS NOT NULL"
        )
        .await,
        2
    );
    db.cmd()
        .arg("--map")
        .arg(&map_path)
        .args([
            "unblock",
            "id:1",
            "--application",
            "A-1",
            "--ticket",
            "S-2",
            "--yes",
        ])
        .assert()
        .success();
    assert_eq!(
        count(
            &client,
            "SELECT count(*) FROM shop.clients WHERE state = 'open'"
        )
        .await,
        1
    );
    // A key that cannot be a key of this table is bad input, not a crash.
    db.cmd()
        .arg("--map")
        .arg(&map_path)
        .args([
            "block", "id:abc", "--reason", "fraud", "--ticket", "S-3", "--yes",
        ])
        .assert()
        .code(2);
}

/// Issue 22, defect 4 (also): besides reverting only what is still blocked, the
/// unblock changes no row of 900002 (closed meanwhile) or of anybody else.
#[tokio::test]
async fn unblock_reverts_only_fields_still_blocked_and_its_dry_run_changes_nothing() {
    let (db, client) = db_with_subjects().await;
    db.cmd()
        .args(["block", "061211600012", "880330300016"])
        .args(["--reason", "compromised", "--ticket", "INC-1", "--yes"])
        .assert()
        .success();
    // After the block, the application closed one account: its status no longer
    // holds the blocked value, so unblocking must leave it alone.
    client
        .batch_execute("UPDATE borrowers SET status = 'closed' WHERE id = 900002")
        .await
        .unwrap();

    let before = database_checksums(&client).await;
    // Issue 22, defect 4 (also): 900002's status no longer holds the blocked value,
    // so its rows stay exactly as they are, like everybody else's.
    let others_before = others_checksums(&client, 900001).await;
    let unblock = |extra: &[&str]| {
        let mut cmd = db.cmd();
        cmd.args([
            "--format",
            "json",
            "unblock",
            "061211600012",
            "880330300016",
        ])
        .args(["--application", "MAIL-1", "--ticket", "REQ-1", "--yes"])
        .args(extra);
        let output = cmd.output().unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let mut report = json(&output);
        report.as_object_mut().unwrap().remove("dry_run");
        report
    };
    let dry = unblock(&["--dry-run"]);
    assert_eq!(
        database_checksums(&client).await,
        before,
        "unblock --dry-run changed the database"
    );
    let real = unblock(&[]);
    assert_eq!(dry, real, "the dry run is the real run, rolled back");
    assert_ne!(database_checksums(&client).await, before);

    assert_eq!(app_view(&client, 900001).await.0, "active");
    assert_eq!(
        app_view(&client, 900002).await.0,
        "closed",
        "a field no longer holding the blocked value was overwritten"
    );
    assert_eq!(active_blocks(&client, "900001").await, 0);
    assert_eq!(active_blocks(&client, "900002").await, 0);
    assert_eq!(
        others_checksums(&client, 900001).await,
        others_before,
        "900002 and every other subject untouched"
    );
}

#[tokio::test]
async fn blocks_limit_and_a_dash_argument_read_as_asked() {
    let (db, _client) = db_with_subjects().await;
    // A `-` argument reads identities from stdin, like --from-file -.
    db.cmd()
        .args(["--format", "json", "block", "-"])
        .args(["--reason", "fraud", "--ticket", "INC-5", "--yes"])
        .write_stdin("061211600012\n# a comment\n880330300016\n900101300126\n")
        .assert()
        .success()
        .stdout(predicate::str::contains("borrowers:900001"))
        .stdout(predicate::str::contains("borrowers:900002"))
        .stdout(predicate::str::contains("borrowers:900003"));
    let blocks = |extra: &[&str]| {
        let output = db
            .cmd()
            .args(["--format", "json", "blocks"])
            .args(extra)
            .output()
            .unwrap();
        assert!(output.status.success());
        json(&output)["blocks"].as_array().unwrap().len()
    };
    assert_eq!(blocks(&[]), 3);
    assert_eq!(blocks(&["--limit", "2"]), 2);
    assert_eq!(blocks(&["--limit", "1"]), 1);
}

/// Regression (issue 10, defect 3): a `[block]` value that breaks a CHECK constraint
/// made `block --dry-run` print the server's "Failing row contains (...)" with the
/// subject's IIN and name. The error names the table and constraint instead.
#[tokio::test]
async fn a_check_constraint_failure_names_the_constraint_never_the_row() {
    let (db, client) = db_with_subjects().await;
    client
        .batch_execute(
            "UPDATE borrowers SET last_name = 'Ибраев', first_name = 'Ернар' WHERE id = 900001",
        )
        .await
        .unwrap();
    let map = std::fs::read_to_string(reference_map())
        .unwrap()
        .replace("value = \"blocked\"", "value = \"frozen\"");
    assert!(map.contains("\"frozen\""), "the map variant took");
    let (_dir, map_path) = temp_file("frozen.toml", &map);
    let assert = db
        .cmd()
        .env("DERBES_MAP", &map_path)
        .args(["block", "061211600012", "--reason", "compromised"])
        .args(["--ticket", "INC-9", "--dry-run"])
        .assert()
        .failure();
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    for personal in ["061211600012", "Ибраев", "Ернар", "Failing row", "Aigerim"] {
        assert!(!stderr.contains(personal), "{personal} leaked: {stderr}");
    }
    assert!(stderr.contains("borrowers_status_check"), "{stderr}");
    assert!(stderr.contains("borrowers"), "{stderr}");
    assert_eq!(app_view(&client, 900001).await.0, "active");
}

/// A UTF-8 byte-order mark (as spreadsheet programs save) is skipped; a binary or
/// UTF-16 file is refused (exit 2) with a message that never echoes its content.
#[tokio::test]
async fn a_byte_order_mark_is_skipped_and_binary_files_are_refused_unechoed() {
    let (db, client) = db_with_subjects().await;
    let dir = tempfile::tempdir().unwrap();
    let bom = dir.path().join("bom.txt");
    std::fs::write(&bom, b"\xEF\xBB\xBF061211600012\n").unwrap();
    db.cmd()
        .args(["block", "--from-file"])
        .arg(&bom)
        .args(["--reason", "compromised", "--ticket", "INC-7", "--yes"])
        .assert()
        .success();
    assert_eq!(app_view(&client, 900001).await.0, "blocked");

    let before = database_checksums(&client).await;
    let cases: [(&str, &[u8], &str); 3] = [
        (
            "nul.bin",
            b"880330300016\x00\x01secret-bytes\n",
            "NUL bytes",
        ),
        (
            "latin1.txt",
            b"880330300016\n\xE9\xFFsecret-bytes\n",
            "not UTF-8",
        ),
        ("utf16.txt", b"\xFF\xFE8\x008\x000\x00", "UTF-16"),
    ];
    for (name, bytes, words) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        db.cmd()
            .args(["block", "--from-file"])
            .arg(&path)
            .args(["--reason", "fraud", "--ticket", "INC-8", "--yes"])
            .assert()
            .code(2)
            .stderr(predicate::str::contains("not a text file"))
            .stderr(predicate::str::contains(words))
            .stderr(predicate::str::contains("secret-bytes").not())
            .stderr(predicate::str::contains("880330300016").not());
        db.cmd()
            .args(["block", "--from-file", "-"])
            .args(["--reason", "fraud", "--ticket", "INC-8", "--yes"])
            .write_stdin(bytes)
            .assert()
            .code(2)
            .stderr(predicate::str::contains("stdin is not a text file"));
    }
    assert_eq!(before, database_checksums(&client).await);
}

/// Issue 26, item 4 (and issue 24): `derbes block list` asked for --reason and
/// --ticket, taking `list` for an identity. It is the list command now, the same
/// arguments and output as `derbes blocks` (kept as the old spelling); blocking is
/// as before, and an identity followed by `list` is still an identity.
#[tokio::test]
async fn block_list_lists_the_blocks_as_blocks_does() {
    let (db, _client) = db_with_subjects().await;
    block_first_subject(&db);
    db.cmd()
        .args(["block", "880330300016", "--reason", "violation"])
        .args(["--ticket", "INC-7", "--yes"])
        .assert()
        .success();
    let stdout = |args: &[&str]| {
        let output = db.cmd().args(args).output().unwrap();
        assert!(
            output.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap()
    };
    for options in [
        &[][..],
        &["--active"],
        &["--since", "1h", "--limit", "1"],
        &["--format", "json"],
    ] {
        let listed = stdout(&[&["block", "list"], options].concat());
        assert_eq!(
            listed,
            stdout(&[&["blocks"], options].concat()),
            "{options:?}"
        );
        if options.is_empty() {
            assert!(
                listed.contains("INC-1") && listed.contains("INC-7"),
                "{listed}"
            );
        }
    }
    // The list takes no blocking arguments; `list` after an identity is an identity.
    db.cmd()
        .args(["block", "list", "--reason", "fraud"])
        .assert()
        .code(2);
    db.cmd()
        .args(["block", "900101300126", "list", "--reason", "fraud"])
        .args(["--ticket", "INC-8", "--yes"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("argument 2"));
}

/// `block list` showed `borrowers:900002` where on-call had looked the person up by
/// phone; with the data map at hand it now shows the subject's masked IIN beside the
/// key (in JSON as `masked_iin`), never the IIN or the phone in clear.
#[tokio::test]
async fn block_list_shows_the_masked_identity_of_each_blocked_subject() {
    let (db, _client) = db_with_subjects().await;
    db.cmd()
        .args(["block", "+7 701 000 00 02", "--reason", "compromised"])
        .args(["--ticket", "INC-7", "--yes"])
        .assert()
        .success();
    let out = db.cmd().args(["block", "list"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("borrowers:900002 (88******0016)"), "{text}");
    assert!(
        !text.contains("880330300016") && !text.contains("77010000002"),
        "{text}"
    );
    let out = db
        .cmd()
        .args(["--format", "json", "block", "list"])
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["blocks"][0]["masked_iin"], "88******0016", "{json}");
}
