//! `archive restore --jobs N`: every archived row back exactly once with parents
//! committed before children, a connection terminated mid-run and the rerun that
//! resumes, a constraint violation in one member, a dry run that changes nothing, a
//! self-referencing table, a run into a side schema killed and resumed, and a second
//! run at once (exit 7). Oracles are plain queries written here (row counts and md5
//! of each table's rows, transaction ids of the rows), never derbes' SQL.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command as Process;

use crate::archive::{age_keys, seed, Keys};
use crate::support::{count, database_checksums, TestDb};

/// The tables a subject archive of borrower 900001 holds rows of.
const TABLES: [&str; 4] = ["borrowers", "loans", "payments", "server_logs"];

/// Per table: row count and md5 of its rows as text, in order.
async fn table_sums(client: &tokio_postgres::Client) -> BTreeMap<&'static str, (i64, String)> {
    let mut sums = BTreeMap::new();
    for table in TABLES {
        let row = client
            .query_one(
                &format!(
                    "SELECT count(*), md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), '')) \
                     FROM {table} t"
                ),
                &[],
            )
            .await
            .unwrap();
        sums.insert(table, (row.get(0), row.get(1)));
    }
    sums
}

/// An archive of borrower 900001 (one borrower, 201 loans, 3002 payments, 1000 log
/// rows) in parts of at most 4 KiB, so payments and server_logs span many members;
/// then the subject's rows are deleted. `always`: payments' id is GENERATED ALWAYS
/// with a generated column beside it (the staging path). Returns the keys, the
/// archive and each table's sums before the delete.
async fn archived_and_deleted(
    db: &TestDb,
    always: bool,
) -> (Keys, PathBuf, BTreeMap<&'static str, (i64, String)>) {
    seed(db).await;
    let client = db.client().await;
    client
        .batch_execute(
            "INSERT INTO loans (id, borrower_id, contract_no, principal, rate_percent, issued_at, due_on, status)
               SELECT 920000 + g, 900001, 'RJ-' || g, 1000 + g, 30, now() - interval '3 years',
                      current_date - 500, 'closed'
               FROM generate_series(1, 200) g;
             INSERT INTO payments (loan_id, paid_at, amount, channel)
               SELECT 920001 + g % 200, now() - (g || ' hours')::interval, 1 + g % 997, 'card'
               FROM generate_series(1, 3000) g;",
        )
        .await
        .unwrap();
    if always {
        client
            .batch_execute(
                "ALTER TABLE payments ALTER COLUMN id SET GENERATED ALWAYS;
                 ALTER TABLE payments ADD COLUMN amount_tiyn bigint
                   GENERATED ALWAYS AS ((amount * 100)::bigint) STORED;",
            )
            .await
            .unwrap();
    }
    let keys = age_keys();
    let out = dump_subject(db, &keys, "subject.age", "4096");
    let before = table_sums(&client).await;
    assert_eq!(
        count(
            &client,
            "SELECT count(*) FROM payments WHERE loan_id IN \
             (SELECT id FROM loans WHERE borrower_id = 900001)"
        )
        .await,
        3002
    );
    client
        .batch_execute(
            "DELETE FROM server_logs WHERE borrower_id = 900001;
             DELETE FROM payments WHERE loan_id IN (SELECT id FROM loans WHERE borrower_id = 900001);
             DELETE FROM loans WHERE borrower_id = 900001;
             DELETE FROM borrowers WHERE id = 900001;",
        )
        .await
        .unwrap();
    (keys, out, before)
}

/// Borrower 900001's rows dumped to `name` in the keys' directory, cut into parts of
/// about `part_bytes` so that every table spans several members.
fn dump_subject(db: &TestDb, keys: &Keys, name: &str, part_bytes: &str) -> PathBuf {
    let out = keys.dir.join(name);
    let output = Process::new(assert_cmd::cargo::cargo_bin("derbes"))
        .env("DATABASE_URL", db.conninfo())
        .env("DERBES_MAP", crate::support::reference_map())
        .env("DERBES_PART_BYTES", part_bytes)
        .env_remove("DERBES_FAULT_POINT")
        .args([
            "archive",
            "dump",
            "--yes",
            "--ticket",
            "T-1",
            "--keep",
            "1y",
            "--subject",
            "id:900001",
            "-r",
        ])
        .arg(&keys.age_recipient)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    out
}

/// Per table: row count and md5 of borrower 900001's rows (`side`: every row of the
/// side table in that schema instead), as text, in order.
async fn subject_sums(
    client: &tokio_postgres::Client,
    side: Option<&str>,
) -> BTreeMap<&'static str, (i64, String)> {
    let mut sums = BTreeMap::new();
    for table in TABLES {
        let from = match (side, table) {
            (Some(schema), _) => format!("{schema}.{table} t"),
            (None, "borrowers") => "borrowers t WHERE id = 900001".to_owned(),
            (None, "payments") => "payments t WHERE loan_id IN \
                                   (SELECT id FROM loans WHERE borrower_id = 900001)"
                .to_owned(),
            (None, _) => format!("{table} t WHERE borrower_id = 900001"),
        };
        let row = client
            .query_one(
                &format!(
                    "SELECT count(*), md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), '')) \
                     FROM {from}"
                ),
                &[],
            )
            .await
            .unwrap();
        sums.insert(table, (row.get(0), row.get(1)));
    }
    sums
}

fn restore_cmd(db: &TestDb, keys: &Keys, archive: &PathBuf, extra: &[&str]) -> Process {
    let mut cmd = Process::new(assert_cmd::cargo::cargo_bin("derbes"));
    cmd.env("DATABASE_URL", db.conninfo())
        .env("DERBES_MAP", crate::support::reference_map())
        .env_remove("DERBES_FAULT_POINT")
        .env_remove("DERBES_FAULT_PAUSE")
        .args(["archive", "restore", "--yes", "--ticket", "T-2", "-i"])
        .arg(&keys.age_identity)
        .arg(archive)
        .args(extra);
    cmd
}

/// Run `restore_cmd` and require it to succeed; its standard output.
fn restore_ok(db: &TestDb, keys: &Keys, archive: &PathBuf, extra: &[&str]) -> String {
    let output = restore_cmd(db, keys, archive, extra).output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The transaction ids that wrote a set of rows: (smallest, largest, distinct).
async fn writers(client: &tokio_postgres::Client, from_where: &str) -> (i64, i64, i64) {
    let row = client
        .query_one(
            &format!(
                "SELECT min(xmin::text::bigint), max(xmin::text::bigint), \
                 count(DISTINCT xmin::text) FROM {from_where}"
            ),
            &[],
        )
        .await
        .unwrap();
    (row.get(0), row.get(1), row.get(2))
}

#[tokio::test]
async fn restore_jobs_4_puts_back_exactly_the_archived_rows_parents_first() {
    let db = TestDb::migrated().await;
    let (keys, archive, before) = archived_and_deleted(&db, true).await;
    let client = db.client().await;
    client
        .batch_execute("SELECT setval(pg_get_serial_sequence('payments', 'id'), 1)")
        .await
        .unwrap();
    let members = Process::new("sh")
        .arg("-c")
        .arg("age -d -i \"$1\" \"$2\" | tar -t -f - | grep -c '\\.csv$'")
        .arg("sh")
        .arg(&keys.age_identity)
        .arg(&archive)
        .output()
        .unwrap();
    let members: usize = String::from_utf8_lossy(&members.stdout)
        .trim()
        .parse()
        .unwrap();
    assert!(members > 20, "many members: {members}");

    let stdout = restore_ok(&db, &keys, &archive, &["--jobs", "4"]);
    assert!(stdout.contains("loaded on 4 connections"), "{stdout}");
    assert_eq!(
        table_sums(&client).await,
        before,
        "exactly the archived rows"
    );

    // Parents before children: every child row was written by a transaction that
    // started after the last of its parents' committed.
    let borrower = writers(&client, "borrowers WHERE id = 900001").await;
    let loans = writers(&client, "loans WHERE borrower_id = 900001").await;
    let payments = writers(
        &client,
        "payments WHERE loan_id IN (SELECT id FROM loans WHERE borrower_id = 900001)",
    )
    .await;
    let logs = writers(&client, "server_logs WHERE borrower_id = 900001").await;
    assert!(borrower.1 < loans.0, "{borrower:?} {loans:?}");
    assert!(loans.1 < payments.0, "{loans:?} {payments:?}");
    assert!(borrower.1 < logs.0, "{borrower:?} {logs:?}");
    assert!(payments.2 > 1, "one transaction per member: {payments:?}");
    assert!(logs.2 > 1, "one transaction per member: {logs:?}");

    // One audit row for the run, its counts per table; no record left behind.
    let audit = client
        .query(
            "SELECT counts FROM derbes.audit_log WHERE action = 'archive.restore'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(audit.len(), 1);
    let counts: serde_json::Value = audit[0].get(0);
    assert_eq!(counts["public.payments"], serde_json::json!(3002));
    assert_eq!(counts["public.server_logs"], serde_json::json!(1000));
    assert_eq!(counts["public.loans"], serde_json::json!(201));
    assert_eq!(counts["public.borrowers"], serde_json::json!(1));
    assert_eq!(
        count(
            &client,
            "SELECT count(*) FROM derbes.jobs WHERE operation = 'archive.restore'"
        )
        .await,
        0
    );
    // The GENERATED ALWAYS identity's sequence moved past the restored ids.
    let top = count(&client, "SELECT max(id) FROM payments").await;
    let next = count(
        &client,
        "INSERT INTO payments (loan_id, paid_at, amount, channel) \
         VALUES (900010, now(), 1, 'card') RETURNING id",
    )
    .await;
    assert!(next > top, "{next} > {top}");

    // Into a side schema too: the same rows, nothing waits on foreign keys there.
    restore_ok(&db, &keys, &archive, &["--jobs", "3", "--into", "inspect"]);
    for table in TABLES {
        let side = count(&client, &format!("SELECT count(*) FROM inspect.{table}")).await;
        let archived = match table {
            "borrowers" => 1,
            "loans" => 201,
            "payments" => 3002,
            _ => 1000,
        };
        assert_eq!(side, archived, "inspect.{table}");
    }
}

#[tokio::test]
async fn restore_jobs_connection_terminated_mid_run_fails_naming_the_member_and_the_rerun_resumes()
{
    let db = TestDb::migrated().await;
    let (keys, archive, before) = archived_and_deleted(&db, false).await;
    let client = db.client().await;
    // Hold payments so that its members wait while the parents commit.
    let mut locker = db.client().await;
    let hold = locker.transaction().await.unwrap();
    hold.batch_execute("LOCK TABLE payments IN ACCESS EXCLUSIVE MODE")
        .await
        .unwrap();

    let child = restore_cmd(&db, &keys, &archive, &["--jobs", "2"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut waiting = None;
    for _ in 0..600 {
        waiting = client
            .query_opt(
                "SELECT application_name FROM pg_stat_activity WHERE datname = current_database() \
                 AND application_name LIKE 'derbes-job-%' AND wait_event_type = 'Lock' LIMIT 1",
                &[],
            )
            .await
            .unwrap()
            .map(|row| row.get::<_, String>(0));
        if waiting.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let waiting = waiting.expect("a job waits on payments");
    let loaded_first = count(
        &client,
        "SELECT count(*) FROM derbes.jobs WHERE operation = 'archive.restore'",
    )
    .await;
    assert!(loaded_first >= 2, "the parents' members committed first");
    assert_eq!(
        crate::support::terminate_sessions(&client, &waiting).await,
        1
    );
    hold.rollback().await.unwrap();
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "a lost connection: {stderr}");
    assert!(
        stderr.contains("restoring public.payments failed at member public.payments."),
        "names the member: {stderr}"
    );
    assert!(stderr.contains("stay loaded"), "{stderr}");
    assert!(stderr.contains("run the same command again"), "{stderr}");
    assert_eq!(
        count(
            &client,
            "SELECT count(*) FROM derbes.audit_log WHERE action = 'archive.restore'"
        )
        .await,
        0,
        "no audit row for a run that did not finish"
    );
    let recorded = count(
        &client,
        "SELECT count(*) FROM derbes.jobs WHERE operation = 'archive.restore'",
    )
    .await;
    assert!(recorded >= loaded_first);

    crate::archive::wait_for_no_derbes_session(&db).await;
    let stdout = restore_ok(&db, &keys, &archive, &["--jobs", "2"]);
    assert!(
        stdout.contains(&format!("resumed: {recorded} of ")),
        "says what it skipped: {stdout}"
    );
    assert!(stdout.contains("members were already loaded"), "{stdout}");
    assert_eq!(
        table_sums(&client).await,
        before,
        "every archived row exactly once"
    );
    let counts: serde_json::Value = client
        .query_one(
            "SELECT counts FROM derbes.audit_log WHERE action = 'archive.restore'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(counts["public.payments"], serde_json::json!(3002));
    assert_eq!(counts["public.server_logs"], serde_json::json!(1000));
}

#[tokio::test]
async fn restore_jobs_constraint_violation_stops_the_run_naming_table_and_constraint_not_values() {
    let db = TestDb::migrated().await;
    let (keys, archive, before) = archived_and_deleted(&db, false).await;
    let client = db.client().await;
    // The archived borrower is back already: its member breaks the primary key.
    client
        .batch_execute(
            "INSERT INTO borrowers (id, iin, last_name, first_name, birth_date, sex, phone, email)
               VALUES (900001, '880330300026', 'X', 'Y', '1988-03-30', 'M', '+77012345678', NULL);",
        )
        .await
        .unwrap();
    let output = restore_cmd(&db, &keys, &archive, &["--jobs", "2"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(5), "a refusal: {stderr}");
    assert!(
        stderr.contains("restoring public.borrowers into public.borrowers failed at member public.borrowers.csv"),
        "{stderr}"
    );
    assert!(stderr.contains("borrowers_pkey"), "{stderr}");
    for value in ["880330300026", "900001", "Ахметов", "+77012345678"] {
        assert!(!stderr.contains(value), "no row value ({value}): {stderr}");
    }
    // Nothing of the archive loaded: its first table failed, the others wait for it.
    assert_eq!(
        count(
            &client,
            "SELECT count(*) FROM loans WHERE borrower_id = 900001"
        )
        .await,
        0
    );
    assert_eq!(
        count(
            &client,
            "SELECT count(*) FROM derbes.audit_log WHERE action = 'archive.restore'"
        )
        .await,
        0
    );

    // A violation in a child after its parents committed: those stay, and the
    // message says so; once the cause is gone the same command finishes the job.
    client
        .batch_execute(
            "DELETE FROM borrowers WHERE id = 900001;
             ALTER TABLE payments ADD CONSTRAINT payments_small CHECK (amount < 990) NOT VALID;",
        )
        .await
        .unwrap();
    let output = restore_cmd(&db, &keys, &archive, &["--jobs", "2"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(5), "a refusal: {stderr}");
    assert!(
        stderr.contains(
            "restoring public.payments into public.payments failed at member public.payments."
        ),
        "{stderr}"
    );
    assert!(stderr.contains("payments_small"), "{stderr}");
    assert!(stderr.contains("stay loaded"), "{stderr}");
    assert!(
        !stderr.contains("ARCH-10") && !stderr.contains("RJ-"),
        "{stderr}"
    );
    assert_eq!(
        count(
            &client,
            "SELECT count(*) FROM loans WHERE borrower_id = 900001"
        )
        .await,
        201,
        "the parents committed before the child failed"
    );
    client
        .batch_execute("ALTER TABLE payments DROP CONSTRAINT payments_small")
        .await
        .unwrap();
    let stdout = restore_ok(&db, &keys, &archive, &["--jobs", "2"]);
    assert!(stdout.contains("resumed: "), "{stdout}");
    assert_eq!(table_sums(&client).await, before);
}

#[tokio::test]
async fn restore_jobs_dry_run_uses_one_transaction_and_changes_nothing() {
    let db = TestDb::migrated().await;
    let (keys, archive, _) = archived_and_deleted(&db, false).await;
    let client = db.client().await;
    let before = database_checksums(&client).await;
    let stdout = restore_ok(&db, &keys, &archive, &["--jobs", "2", "--dry-run"]);
    assert!(stdout.contains("dry run: 4204 rows would load"), "{stdout}");
    assert!(
        stdout.contains("--dry-run loads in one transaction"),
        "says why: {stdout}"
    );
    assert_eq!(database_checksums(&client).await, before, "nothing changed");

    for jobs in ["0", "65", "many"] {
        let output = restore_cmd(&db, &keys, &archive, &["--jobs", jobs])
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "--jobs {jobs}");
    }
    assert_eq!(database_checksums(&client).await, before);
}

/// A table with a foreign key to itself loads one member at a time, in file order:
/// each loan refers to the loan before it, so a member loaded before the one
/// holding its referenced rows had committed would break the key.
#[tokio::test]
async fn restore_jobs_loads_a_self_referencing_table_in_file_order() {
    let db = TestDb::migrated().await;
    seed(&db).await;
    let client = db.client().await;
    client
        .batch_execute(
            "ALTER TABLE loans ADD COLUMN refinanced_from bigint REFERENCES loans (id);
             INSERT INTO loans (id, borrower_id, contract_no, principal, rate_percent, issued_at,
                                due_on, status, refinanced_from)
               SELECT 930000 + g, 900001, 'SR-' || g, 1000 + g, 30, now() - interval '3 years',
                      current_date - 500, 'closed', CASE WHEN g > 1 THEN 930000 + g - 1 END
               FROM generate_series(1, 400) g;",
        )
        .await
        .unwrap();
    let keys = age_keys();
    let out = dump_subject(&db, &keys, "chain.age", "2048");
    let before = table_sums(&client).await;
    client
        .batch_execute(
            "DELETE FROM server_logs WHERE borrower_id = 900001;
             DELETE FROM payments WHERE loan_id IN (SELECT id FROM loans WHERE borrower_id = 900001);
             UPDATE loans SET refinanced_from = NULL WHERE borrower_id = 900001;
             DELETE FROM loans WHERE borrower_id = 900001;
             DELETE FROM borrowers WHERE id = 900001;",
        )
        .await
        .unwrap();
    restore_ok(&db, &keys, &out, &["--jobs", "4"]);
    assert_eq!(table_sums(&client).await, before);
    // Several members, each committed before the next began.
    let loans = writers(&client, "loans WHERE borrower_id = 900001").await;
    assert!(loans.2 > 5, "several members: {loans:?}");
    let ordered: bool = client
        .query_one(
            "SELECT bool_and(l.xmin::text::bigint >= p.xmin::text::bigint) \
             FROM loans l JOIN loans p ON p.id = l.refinanced_from WHERE l.borrower_id = 900001",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(ordered, "no loan was loaded before the loan it refers to");
}

/// A run into a side schema killed (as `kill -9`) after some members committed:
/// the same command creates no table again, skips the members recorded, and the
/// side tables end up with every archived row exactly once.
#[tokio::test]
async fn restore_jobs_into_a_side_schema_killed_mid_run_resumes_exactly_once() {
    let db = TestDb::migrated().await;
    let (keys, archive, _) = archived_and_deleted(&db, false).await;
    let client = db.client().await;
    // The archived rows, from the original tables restored in one transaction.
    restore_ok(&db, &keys, &archive, &[]);
    let archived = subject_sums(&client, None).await;

    let flag = keys.dir.join("pause");
    let mut child = restore_cmd(&db, &keys, &archive, &["--jobs", "2", "--into", "inspect"])
        .env("DERBES_FAULT_POINT", "archive.restore.member")
        .env("DERBES_FAULT_PAUSE", &flag)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Let five members through their commit, stop the run at the sixth.
    for passed in 0..6 {
        let mut paused = false;
        for _ in 0..600 {
            if std::fs::read_to_string(&flag).is_ok_and(|s| !s.trim().is_empty()) {
                paused = true;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert!(paused, "the run reached member {}", passed + 1);
        if passed < 5 {
            std::fs::remove_file(&flag).unwrap();
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
    std::fs::remove_file(&flag).unwrap();
    crate::archive::wait_for_no_derbes_session(&db).await;
    let recorded = count(
        &client,
        "SELECT count(*) FROM derbes.jobs WHERE operation = 'archive.restore' \
         AND scope LIKE '%/member/%'",
    )
    .await;
    assert!((1..=5).contains(&recorded), "{recorded} members committed");

    let stdout = restore_ok(&db, &keys, &archive, &["--jobs", "2", "--into", "inspect"]);
    assert!(
        stdout.contains(&format!("resumed: {recorded} of ")),
        "says what it skipped: {stdout}"
    );
    assert_eq!(
        subject_sums(&client, Some("inspect")).await,
        archived,
        "every archived row exactly once in the side tables"
    );
    assert_eq!(
        count(
            &client,
            "SELECT count(*) FROM derbes.jobs WHERE operation = 'archive.restore'"
        )
        .await,
        0
    );
}

/// Two `--jobs` restores of one archive into one target never run at once: the
/// second exits 7 and loads nothing.
#[tokio::test]
async fn restore_jobs_while_another_run_of_the_same_archive_holds_its_lock_is_exit_7() {
    let db = TestDb::migrated().await;
    let (keys, archive, _) = archived_and_deleted(&db, false).await;
    let client = db.client().await;
    let archive_id: String = client
        .query_one("SELECT archive_id FROM derbes.archives", &[])
        .await
        .unwrap()
        .get(0);
    // The lock a running `restore --jobs` into the original tables holds.
    client
        .execute(
            "SELECT pg_advisory_lock(hashtextextended('derbes:archive.restore:' || $1 || '/tables', 0))",
            &[&archive_id],
        )
        .await
        .unwrap();
    let before = database_checksums(&client).await;
    let output = restore_cmd(&db, &keys, &archive, &["--jobs", "2"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(7), "{stderr}");
    assert!(stderr.contains("archive.restore"), "{stderr}");
    assert_eq!(database_checksums(&client).await, before, "nothing loaded");
    // Into a side schema is another target: it runs.
    restore_ok(&db, &keys, &archive, &["--jobs", "2", "--into", "inspect"]);
}
