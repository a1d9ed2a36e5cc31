//! `derbes anonymise`: one subject with keyed pseudonyms the same in every table,
//! a retention rule's cohort in batches that resume after a kill or a terminated
//! session, a second run of the same cohort refused (exit 7), and k over the
//! quasi-identifiers.

use std::path::Path;
use std::process::Command as Process;
use std::time::{Duration, Instant};

use hmac::{Hmac, Mac};
use sha2::Sha256;
use tokio_postgres::Client;

use crate::archive::age_keys;
use crate::erase::{mask_key, MASK_KEY as KEY};
use crate::purge::wait_for;
use crate::support::{
    count, database_checksums, others_checksums, reference_map, reference_on_own_cluster, TestDb,
};

const IIN: &str = "061211600012";

/// Rows of usage_events older than the `traffic` rule's 180 days.
const COHORT: &str = "SELECT count(*) FROM usage_events WHERE occurred_at < now() - interval '180 days' \
     AND NOT COALESCE(borrower_id IN (SELECT borrower_id FROM loans WHERE status IN ('open', 'overdue') \
     UNION SELECT id FROM borrowers WHERE status = 'blocked' \
     UNION SELECT subject_key::bigint FROM derbes.blocks WHERE subject_table = 'borrowers' AND unblocked_at IS NULL \
     UNION SELECT substr(subject_ref, 11)::bigint FROM derbes.requests \
           WHERE status = 'open' AND subject_ref LIKE 'borrowers:%'), false)";
/// Cohort rows not yet generalised to the month.
const LEFT: &str = "SELECT count(*) FROM usage_events WHERE occurred_at < now() - interval '180 days' \
     AND occurred_at <> date_trunc('month', occurred_at) \
     AND NOT COALESCE(borrower_id IN (SELECT borrower_id FROM loans WHERE status IN ('open', 'overdue') \
     UNION SELECT id FROM borrowers WHERE status = 'blocked' \
     UNION SELECT subject_key::bigint FROM derbes.blocks WHERE subject_table = 'borrowers' AND unblocked_at IS NULL \
     UNION SELECT substr(subject_ref, 11)::bigint FROM derbes.requests \
           WHERE status = 'open' AND subject_ref LIKE 'borrowers:%'), false)";
/// Rows old enough but held back (open loan, block, open request): never masked
/// by a cohort run, hand-written apart from derbes' retention decision.
const HELD_BACK: &str = "SELECT count(*) FROM usage_events WHERE occurred_at < now() - interval '180 days' \
     AND occurred_at <> date_trunc('month', occurred_at) \
     AND COALESCE(borrower_id IN (SELECT borrower_id FROM loans WHERE status IN ('open', 'overdue') \
     UNION SELECT id FROM borrowers WHERE status = 'blocked' \
     UNION SELECT subject_key::bigint FROM derbes.blocks WHERE subject_table = 'borrowers' AND unblocked_at IS NULL \
     UNION SELECT substr(subject_ref, 11)::bigint FROM derbes.requests \
           WHERE status = 'open' AND subject_ref LIKE 'borrowers:%'), false)";

/// Each usage_events row's version (`xmin`), in key order: a row rewritten gets a
/// new one.
async fn row_versions(client: &Client) -> Vec<(i64, String)> {
    client
        .query("SELECT id, xmin::text FROM usage_events ORDER BY id", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect()
}

/// How many rows of `before` have another version in `after`.
fn rows_rewritten(before: &[(i64, String)], after: &[(i64, String)]) -> usize {
    before.iter().filter(|row| !after.contains(row)).count()
}

/// Enough old usage rows for several batches of a cohort run.
const OLD_USAGE_ROWS: &str = "INSERT INTO usage_events (borrower_id, occurred_at, event, screen) \
     SELECT b.id, now() - interval '400 days' - g * interval '37 minutes', 'open', 'home' \
     FROM (SELECT id FROM borrowers ORDER BY id LIMIT 20) b, generate_series(1, 20) g";

async fn cohort_db() -> (TestDb, Client) {
    let db = TestDb::migrated().await;
    let client = db.client().await;
    client.batch_execute(OLD_USAGE_ROWS).await.unwrap();
    (db, client)
}

/// The usage_events entry of a cohort run's JSON report.
fn usage_events_of(report: &serde_json::Value) -> &serde_json::Value {
    report["tables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["table"] == "usage_events")
        .unwrap()
}

fn cohort_args(batch_size: &str) -> Vec<String> {
    [
        "anonymise",
        "--rule",
        "traffic",
        "--ticket",
        "JOB-1",
        "--yes",
        "--batch-size",
        batch_size,
    ]
    .into_iter()
    .map(str::to_owned)
    .collect()
}

fn cohort_process(db: &TestDb, point: &str, pause: Option<&Path>) -> Process {
    cohort_process_on(&db.conninfo(), point, pause)
}

/// A cohort run of the `traffic` rule on the database at `conninfo`, stopping (or
/// pausing, with `pause`) at fault point `point`.
fn cohort_process_on(conninfo: &str, point: &str, pause: Option<&Path>) -> Process {
    let mut cmd = Process::new(assert_cmd::cargo::cargo_bin("derbes"));
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("DATABASE_URL", conninfo)
        .env("DERBES_MAP", reference_map())
        .env("DERBES_FAULT_POINT", point)
        .args(cohort_args("50"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped());
    if let Some(flag) = pause {
        cmd.env("DERBES_FAULT_PAUSE", flag);
    }
    cmd
}

#[tokio::test]
async fn a_cohort_run_killed_or_cut_off_resumes_and_finishes_with_counts_that_add_up() {
    let (db, client) = cohort_db().await;
    let cohort = count(&client, COHORT).await;
    assert!(cohort > 400, "{cohort}");
    // Killed during batch 3: batches 1 and 2 are committed, 3 is not.
    let status = cohort_process(&db, "anonymise.batch.3", None)
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(137));
    // Batches are ranges of 50 keys: the checkpoint says how many cohort rows the
    // committed ones held, and exactly those are masked.
    let checkpoint = "SELECT batches, rows FROM derbes.jobs WHERE finished_at IS NULL";
    let (committed, rows): (i64, i64) = client
        .query_one(checkpoint, &[])
        .await
        .map(|r| (r.get(0), r.get(1)))
        .unwrap();
    assert_eq!(committed, 2);
    assert!(rows > 0 && rows <= 100, "{rows}");
    assert_eq!(count(&client, LEFT).await, cohort - rows);
    // Its session terminated during the next run's second batch.
    let keys = age_keys();
    let flag = keys.dir.join("paused");
    let child = cohort_process(&db, "anonymise.batch.2", Some(&flag))
        .spawn()
        .unwrap();
    let started = Instant::now();
    while !flag.exists() {
        assert!(started.elapsed() < Duration::from_secs(60), "never paused");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    crate::support::terminate_sessions(&client, "derbes").await;
    std::fs::remove_file(&flag).unwrap();
    let output = child.wait_with_output().unwrap();
    assert_eq!(
        output.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let (committed, rows): (i64, i64) = client
        .query_one(checkpoint, &[])
        .await
        .map(|r| (r.get(0), r.get(1)))
        .unwrap();
    assert_eq!(
        committed, 3,
        "one more batch committed before the session ended"
    );
    assert_eq!(count(&client, LEFT).await, cohort - rows);
    // The rerun resumes after the checkpoint and finishes.
    let out = db
        .cmd()
        .args(cohort_args("50"))
        .args(["--format", "json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let report: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let usage = usage_events_of(&report);
    assert_eq!(usage["resumed"], true);
    assert_eq!(count(&client, LEFT).await, 0);
    let (batches, rows): (i64, i64) = {
        let row = client
            .query_one(
                "SELECT batches, rows FROM derbes.jobs WHERE scope = 'traffic/usage_events' AND finished_at IS NOT NULL",
                &[],
            )
            .await
            .unwrap();
        (row.get(0), row.get(1))
    };
    assert_eq!(rows, cohort, "every cohort row once");
    assert_eq!(
        count(
            &client,
            "SELECT count(*) FROM derbes.audit_log WHERE action = 'anonymise'"
        )
        .await,
        1,
        "one audit row for the table, written by the run that finished it"
    );
    let (audited, audited_batches): (i64, i64) = client
        .query_one(
            "SELECT (counts->>'usage_events.masked')::bigint, (detail->>'batches')::bigint \
             FROM derbes.audit_log WHERE action = 'anonymise'",
            &[],
        )
        .await
        .map(|r| (r.get(0), r.get(1)))
        .unwrap();
    assert_eq!(audited, cohort, "the audit row counts every run's rows");
    assert_eq!(audited_batches, batches);
    db.cmd().args(["audit", "verify"]).assert().success();
}

/// A server restart in the middle of a cohort anonymisation (a failover, a
/// maintenance restart): the run exits 1 saying the connection was lost, the
/// batches it committed stay masked with their checkpoint, and the rerun resumes
/// and masks exactly the rest of the cohort, each row once; the audit chain
/// verifies. On a throwaway cluster: the shared test server is never restarted.
#[tokio::test]
async fn a_cohort_run_cut_by_a_server_restart_exits_1_and_the_rerun_finishes() {
    let (cluster, conninfo, client) = reference_on_own_cluster("cohort_restart").await;
    client.batch_execute(OLD_USAGE_ROWS).await.unwrap();
    let cohort = count(&client, COHORT).await;
    assert!(cohort > 100, "several batches are due: {cohort}");
    let before = row_versions(&client).await;
    // Batch 1 commits; the server restarts while batch 2 is open.
    let dir = tempfile::tempdir().unwrap();
    let flag = dir.path().join("paused");
    let first = cohort_process_on(&conninfo, "anonymise.batch.2", Some(&flag))
        .spawn()
        .unwrap();
    wait_for(&flag).await;
    drop(client);
    cluster.restart();
    std::fs::remove_file(&flag).unwrap();
    let out = first.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("connection to PostgreSQL was lost"),
        "{stderr}"
    );
    let client = cluster.client("cohort_restart").await;
    let (committed, masked): (i64, i64) = client
        .query_one(
            "SELECT batches, rows FROM derbes.jobs WHERE finished_at IS NULL",
            &[],
        )
        .await
        .map(|r| (r.get(0), r.get(1)))
        .unwrap();
    assert_eq!(committed, 1, "batch 1 stayed, the open batch 2 rolled back");
    assert!(masked > 0 && masked < cohort, "{masked} of {cohort}");
    assert_eq!(count(&client, LEFT).await, cohort - masked);
    // The rerun resumes from the checkpoint and finishes.
    let out = crate::support::derbes_cmd()
        .env("DATABASE_URL", &conninfo)
        .env("DERBES_MAP", reference_map())
        .args(cohort_args("50"))
        .args(["--format", "json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let report: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let usage = usage_events_of(&report);
    assert_eq!(usage["resumed"], true, "{report}");
    assert_eq!(count(&client, LEFT).await, 0, "the whole cohort is masked");
    let finished: i64 = count(
        &client,
        "SELECT rows FROM derbes.jobs WHERE scope = 'traffic/usage_events' AND finished_at IS NOT NULL",
    )
    .await;
    assert_eq!(finished, cohort, "every cohort row masked once");
    assert_eq!(
        rows_rewritten(&before, &row_versions(&client).await),
        cohort as usize,
        "no row outside the cohort was rewritten, none twice"
    );
    crate::support::derbes_cmd()
        .env("DATABASE_URL", &conninfo)
        .env("DERBES_MAP", reference_map())
        .args(["audit", "verify"])
        .assert()
        .success();
}

/// Issue 13: a cohort is masked once. Run again, the rule finds nothing new: no
/// row is rewritten (an `hmac` pseudonym would be hashed again, a fake redrawn).
#[tokio::test]
async fn a_cohort_run_again_rewrites_no_row_it_masked() {
    let (db, client) = cohort_db().await;
    let masked = |out: &[u8]| -> i64 {
        let report: serde_json::Value = serde_json::from_slice(out).unwrap();
        report["tables"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["masked"].as_i64().unwrap())
            .sum()
    };
    let run = || {
        db.cmd()
            .args(cohort_args("auto"))
            .args(["--format", "json"])
            .assert()
            .success()
            .get_output()
            .stdout
            .clone()
    };
    let cohort = count(&client, COHORT).await;
    let held_back = count(&client, HELD_BACK).await;
    assert!(held_back > 0, "the sample has old rows of held subjects");
    assert_eq!(masked(&run()), cohort, "the first run masks the cohort");
    assert_eq!(count(&client, LEFT).await, 0);
    // Issue 22: rows of subjects with an open loan, a block or an open request are
    // left as they are, as `purge` leaves them, and wait in cohort_pending.
    assert_eq!(
        count(&client, HELD_BACK).await,
        held_back,
        "held rows untouched"
    );
    let pending = count(&client, "SELECT count(*) FROM derbes.cohort_pending").await;
    assert!(
        pending >= held_back,
        "{pending} pending, {held_back} held back"
    );
    let after_first = row_versions(&client).await;
    assert_eq!(masked(&run()), 0, "the second run finds nothing new");
    let rewritten = rows_rewritten(&after_first, &row_versions(&client).await);
    assert_eq!(rewritten, 0, "no row was rewritten");
}

/// Issue 13: a cohort run killed after its last batch but before it records its
/// mark leaves its job open; the next run resumes it, finds nothing left, records
/// the mark, and rewrites no row.
#[tokio::test]
async fn a_run_killed_before_its_mark_resumes_and_rewrites_nothing() {
    let (db, client) = cohort_db().await;
    let status = cohort_process(&db, "anonymise.marking", None)
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(137));
    assert_eq!(count(&client, LEFT).await, 0, "every batch was done");
    let after_kill = row_versions(&client).await;
    db.cmd().args(cohort_args("auto")).assert().success();
    let rewritten = rows_rewritten(&after_kill, &row_versions(&client).await);
    assert_eq!(rewritten, 0, "no row was rewritten");
    let marks = count(&client, "SELECT count(*) FROM derbes.cohort_marks").await;
    assert_eq!(marks, 1, "the resumed run recorded the mark");
}

/// Issue 13: a cohort masked by several streams at once (`--jobs`), each its own
/// key range on its own connection: every cohort row is masked, no other row is
/// touched, and a run killed mid-way resumes each stream where it stopped (even
/// when the rerun asks for one stream), with counts that add up.
#[tokio::test]
async fn a_cohort_in_parallel_streams_masks_every_row_once_and_resumes_as_it_was_cut() {
    let (db, client) = cohort_db().await;
    let cohort: std::collections::BTreeSet<i64> = client
        .query(&COHORT.replace("count(*)", "id"), &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    let before = row_versions(&client).await;
    let status = cohort_process(&db, "anonymise.batch.3", None)
        .args(["--jobs", "3"])
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(137));
    let parts = count(
        &client,
        "SELECT count(*) FROM derbes.jobs WHERE starts_with(scope, 'traffic/usage_events#') \
         AND finished_at IS NULL",
    )
    .await;
    assert_eq!(parts, 3, "three streams, each with its checkpoint");
    assert!(count(&client, LEFT).await > 0, "the kill left rows to mask");

    let out = db
        .cmd()
        .args(cohort_args("50"))
        .args(["--jobs", "1", "--format", "json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let report: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let table = &report["tables"][0];
    assert_eq!(table["streams"], 3, "resumed as it was cut: {table}");
    assert_eq!(table["resumed"], true);
    assert_eq!(table["masked"].as_i64().unwrap(), cohort.len() as i64);
    assert_eq!(count(&client, LEFT).await, 0);
    let after = row_versions(&client).await;
    let changed: std::collections::BTreeSet<i64> = after
        .iter()
        .filter(|row| !before.contains(row))
        .map(|(id, _)| *id)
        .collect();
    assert_eq!(changed, cohort, "exactly the cohort's rows were masked");
    let open = count(
        &client,
        "SELECT count(*) FROM derbes.jobs WHERE finished_at IS NULL",
    )
    .await;
    assert_eq!(open, 0, "every stream's job is closed");
    db.cmd().args(["audit", "verify"]).assert().success();
}

/// Issue 13: streams cut a composite text key into ranges too. A table keyed by
/// (region, seq), mapped under the `traffic` rule: three streams mask exactly the
/// rows older than the rule's keep (an oracle of its own), and no other row.
#[tokio::test]
async fn parallel_streams_cut_a_composite_text_key_and_mask_exactly_the_cohort() {
    let db = TestDb::migrated().await;
    let client = db.client().await;
    client
        .batch_execute(
            "CREATE TABLE visits (region text, seq int, borrower_id bigint REFERENCES borrowers (id),
                                  seen_at timestamptz NOT NULL, note text NOT NULL,
                                  PRIMARY KEY (region, seq));
             INSERT INTO visits
               SELECT r, g, (SELECT min(id) FROM borrowers), now() - (g * 5 || ' days')::interval,
                      'went to ' || r
               FROM unnest(ARRAY['Almaty', 'Astana', 'Shymkent', 'Aktobe']) r, generate_series(1, 90) g;",
        )
        .await
        .unwrap();
    let text = std::fs::read_to_string(reference_map()).unwrap()
        + r#"
[tables.visits]
link = { column = "borrower_id" }
time_column = "seen_at"
retention = "traffic"
[tables.visits.columns]
note = { category = "usage", purpose = "analytics", masking = "redact" }
seen_at = { category = "access_time", purpose = "analytics", masking = "keep" }
"#;
    let (_dir, map) = crate::support::temp_file("map.toml", &text);
    let ids = |sql: &'static str| {
        let client = &client;
        async move {
            client
                .query(sql, &[])
                .await
                .unwrap()
                .iter()
                .map(|r| (r.get::<_, String>(0), r.get::<_, i32>(1)))
                .collect::<std::collections::BTreeSet<_>>()
        }
    };
    let due =
        ids("SELECT region, seq FROM visits WHERE seen_at < now() - interval '180 days'").await;
    assert!(due.len() > 50);
    let before = database_checksums(&client).await;
    db.cmd()
        .env("DERBES_MAP", &map)
        .args(cohort_args("9"))
        .args(["--jobs", "3", "--dry-run"])
        .assert()
        .success();
    assert_eq!(
        database_checksums(&client).await,
        before,
        "a dry run in streams changes nothing"
    );
    db.cmd()
        .env("DERBES_MAP", &map)
        .args(cohort_args("9"))
        .args(["--jobs", "3"])
        .assert()
        .success();
    let masked = ids("SELECT region, seq FROM visits WHERE note = '[redacted]'").await;
    assert_eq!(masked, due, "exactly the rows older than the keep period");
    let streams = count(
        &client,
        "SELECT count(*) FROM derbes.jobs WHERE starts_with(scope, 'traffic/visits#')",
    )
    .await;
    assert_eq!(streams, 3, "three key ranges");
}

#[tokio::test]
async fn a_second_run_of_the_same_cohort_exits_7_and_changes_nothing() {
    let (db, client) = cohort_db().await;
    let holder = db.client().await;
    holder
        .execute(
            "SELECT pg_advisory_lock(hashtextextended('derbes:anonymise:traffic', 0))",
            &[],
        )
        .await
        .unwrap();
    let before = database_checksums(&client).await;
    db.cmd()
        .args(cohort_args("50"))
        .assert()
        .code(7)
        .stderr(predicates::str::contains("holds the lock"));
    assert_eq!(database_checksums(&client).await, before);
}

#[tokio::test]
async fn jobs_for_one_subject_is_refused_before_anything_changes() {
    let db = TestDb::migrated().await;
    let client = db.client().await;
    let before = database_checksums(&client).await;
    db.cmd()
        .args([
            "anonymise",
            "id:1",
            "--ticket",
            "REQ-9",
            "--yes",
            "--jobs",
            "2",
        ])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("--jobs applies to a cohort"));
    assert_eq!(database_checksums(&client).await, before);
}

/// Issue 13: a subject is anonymised once. A second `anonymise` of the same subject
/// (by `id:`, the IIN no longer finds it) is refused with exit 5 and changes nothing:
/// it would hash the hmac pseudonyms again. `--again` masks once more on purpose.
#[tokio::test]
async fn a_subject_anonymised_before_is_refused_unless_again() {
    let db = TestDb::migrated().await;
    let client = db.client().await;
    client
        .batch_execute(&format!(
            "INSERT INTO borrowers (id, iin, last_name, first_name, birth_date, sex, email, phone, created_at) VALUES \
                 (900001, '{IIN}', 'Sarsenova', 'Aigerim', '2006-12-11', 'F', 'aigerim@example.kz', '+77010000001', now() - interval '7 years');"
        ))
        .await
        .unwrap();
    let keys = age_keys();
    let anonymise = |extra: &[&str]| {
        let mut cmd = db.cmd();
        cmd.args([
            "anonymise",
            "id:900001",
            "--ticket",
            "REQ-9",
            "--yes",
            "--key-file",
        ])
        .arg(mask_key(&keys))
        .args(extra);
        cmd.assert()
    };
    anonymise(&[]).success();
    let iin = || async {
        client
            .query_one("SELECT iin FROM borrowers WHERE id = 900001", &[])
            .await
            .unwrap()
            .get::<_, String>(0)
    };
    let pseudonym = iin().await;
    let before = database_checksums(&client).await;
    anonymise(&[])
        .code(5)
        .stderr(predicates::str::contains("was anonymised on"))
        .stderr(predicates::str::contains("--again"));
    assert_eq!(database_checksums(&client).await, before, "nothing changed");
    anonymise(&["--again"]).success();
    assert_ne!(
        iin().await,
        pseudonym,
        "--again hashes the pseudonym once more"
    );
}

/// Issue 22, defects 4 and 7: besides the pseudonyms, every other subject's rows in
/// every table stay as they were, and the reported k is the one a hand-written
/// `GROUP BY` over the quasi-identifiers finds.
#[tokio::test]
async fn one_subject_gets_the_same_keyed_pseudonym_in_every_table_and_k_is_reported() {
    let db = TestDb::migrated().await;
    let client = db.client().await;
    client
        .batch_execute(&format!(
            "INSERT INTO borrowers (id, iin, last_name, first_name, birth_date, sex, email, phone, created_at) VALUES \
                 (900001, '{IIN}', 'Sarsenova', 'Aigerim', '2006-12-11', 'F', 'aigerim@example.kz', '+77010000001', now() - interval '7 years'); \
             INSERT INTO devices (borrower_id, device_uid, os, first_seen, last_seen) VALUES \
                 (900001, '{IIN}', 'Android', now() - interval '3 days', now());"
        ))
        .await
        .unwrap();
    // Issue 22, defect 4: every other subject's rows in every table, not only
    // their borrower rows.
    let others_before = others_checksums(&client, 900001).await;
    let keys = age_keys();
    let out = db
        .cmd()
        .args([
            "anonymise",
            IIN,
            "--ticket",
            "REQ-9",
            "--yes",
            "--report",
            "--format",
            "json",
        ])
        .arg("--key-file")
        .arg(mask_key(&keys))
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let report: serde_json::Value = serde_json::from_slice(&out).unwrap();
    // Issue 22, defect 7: the reported k is the oracle's, not only a number.
    assert_k_is_the_oracles(&client, &report).await;
    assert!(
        report.to_string().contains("pseudonymised")
            || report["tables"].to_string().contains("iin")
    );
    let mut mac = Hmac::<Sha256>::new_from_slice(KEY.as_bytes()).unwrap();
    mac.update(IIN.as_bytes());
    let expected = hex::encode(mac.finalize().into_bytes());
    let row = client
        .query_one(
            "SELECT b.iin, d.device_uid, b.last_name FROM borrowers b JOIN devices d ON d.borrower_id = b.id WHERE b.id = 900001",
            &[],
        )
        .await
        .unwrap();
    let (iin, device_uid, last_name): (String, String, String) =
        (row.get(0), row.get(1), row.get(2));
    assert_eq!(
        iin,
        expected[..12],
        "the IIN column holds the first 12 hex digits"
    );
    assert_eq!(
        device_uid, expected,
        "the same input gives the same pseudonym in every table"
    );
    assert_eq!(last_name, "[redacted]");
    assert_eq!(
        others_checksums(&client, 900001).await,
        others_before,
        "other subjects untouched"
    );
    // Without the key, hmac columns are refused before anything changes (exit 2).
    let before = database_checksums(&client).await;
    db.cmd()
        .args(["anonymise", "id:900001", "--ticket", "REQ-9", "--yes"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("masking key"));
    assert_eq!(database_checksums(&client).await, before);
}

#[tokio::test]
async fn fake_values_keep_their_format_and_deterministic_fakes_repeat_per_key() {
    let db = TestDb::migrated().await;
    let client = db.client().await;
    client
        .batch_execute(&format!(
            "INSERT INTO borrowers (id, iin, last_name, first_name, birth_date, sex, email, phone, created_at) VALUES \
                 (900001, '{IIN}', 'Sarsenova', 'Aigerim', '2006-12-11', 'F', 'a@example.kz', '+77010000001', now() - interval '7 years'), \
                 (900002, '880330300016', 'Nurlanov', 'Bolat', '1988-03-30', 'M', 'b@example.kz', '+77010000001', now() - interval '7 years');"
        ))
        .await
        .unwrap();
    let text = std::fs::read_to_string(reference_map()).unwrap();
    let text = text
        .replace(
            r#"iin = { category = "iin", purpose = "identification", masking = "hmac""#,
            r#"iin = { category = "iin", purpose = "identification", masking = "fake""#,
        )
        .replace(
            r#"phone = { category = "phone", purpose = "identification", masking = "partial""#,
            r#"phone = { category = "phone", purpose = "identification", masking = "fake:deterministic""#,
        )
        .replace(
            r#"first_name = { category = "name", purpose = "identification", masking = "redact""#,
            r#"first_name = { category = "name", purpose = "identification", masking = "fake""#,
        );
    let (_dir, map) = crate::support::temp_file("map.toml", &text);
    let keys = age_keys();
    for id in ["id:900001", "id:900002"] {
        db.cmd()
            .env("DERBES_MAP", &map)
            .args(["anonymise", id, "--ticket", "REQ-9", "--yes", "--key-file"])
            .arg(mask_key(&keys))
            .assert()
            .success();
    }
    let rows = client
        .query(
            "SELECT iin, phone, first_name FROM borrowers WHERE id IN (900001, 900002) ORDER BY id",
            &[],
        )
        .await
        .unwrap();
    let values: Vec<(String, String, String)> = rows
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    for (iin, phone, name) in &values {
        assert!(
            derbes::kz::identity::Iin::parse(iin).is_ok(),
            "a valid IIN: {iin}"
        );
        assert_ne!(iin, IIN);
        assert!(
            derbes::kz::identity::Phone::parse(phone).is_ok(),
            "a +7 phone: {phone}"
        );
        assert_ne!(phone, "+77010000001");
        assert!(!name.is_empty() && name != "Aigerim" && name != "Bolat");
    }
    // The same phone under the same key gives the same stand-in.
    assert_eq!(values[0].1, values[1].1);
}

/// The oracle of `anonymise --report`: the quasi-identifiers the reference map marks
/// (`quasi_identifier = true`: borrowers.birth_date, borrowers.sex,
/// addresses.region), and over every subject, grouped by the combination of their
/// values (a subject's region: the smallest among its addresses, NULL without one),
/// the smallest group (k), the number of groups, of subjects, and of subjects in
/// groups under 5. Hand-written, apart from derbes' SQL.
const K_ORACLE: &str = "
    SELECT min(n), count(*), coalesce(sum(n), 0)::bigint,
           coalesce(sum(n) FILTER (WHERE n < 5), 0)::bigint
    FROM (SELECT count(*) AS n
          FROM (SELECT b.birth_date, b.sex,
                       (SELECT min(a.region) FROM addresses a WHERE a.borrower_id = b.id) AS region
                FROM borrowers b) s
          GROUP BY birth_date, sex, region) g";

/// The quasi-identifiers [`K_ORACLE`] groups by, as the map names them.
const QUASI_IDENTIFIERS: [&str; 3] = ["addresses.region", "borrowers.birth_date", "borrowers.sex"];

/// Assert the report's k (and groups, subjects, subjects in groups under 5) are
/// [`K_ORACLE`]'s over the database as it is now; returns k.
async fn assert_k_is_the_oracles(client: &Client, report: &serde_json::Value) -> i64 {
    // The map still marks exactly the columns the oracle groups by.
    let map = std::fs::read_to_string(reference_map()).unwrap();
    let mut marked = Vec::new();
    let mut table = String::new();
    for line in map.lines() {
        if let Some(name) = line
            .strip_prefix("[tables.")
            .and_then(|l| l.strip_suffix(".columns]"))
        {
            table = name.to_owned();
        }
        if !line.starts_with('#') && line.contains("quasi_identifier = true") {
            let column = line.split_whitespace().next().unwrap();
            marked.push(format!("{table}.{column}"));
        }
    }
    marked.sort();
    assert_eq!(
        marked, QUASI_IDENTIFIERS,
        "the oracle groups by the map's quasi-identifiers"
    );
    let k = &report["k_anonymity"];
    let mut reported: Vec<String> = k["quasi_identifiers"]
        .as_array()
        .unwrap_or_else(|| panic!("no quasi-identifiers in {report}"))
        .iter()
        .map(|q| q.as_str().unwrap().to_owned())
        .collect();
    reported.sort();
    assert_eq!(reported, QUASI_IDENTIFIERS, "{k}");
    let row = client.query_one(K_ORACLE, &[]).await.unwrap();
    let (smallest, groups, subjects, under_5): (i64, i64, i64, i64) =
        (row.get(0), row.get(1), row.get(2), row.get(3));
    assert_eq!(k["k"].as_i64(), Some(smallest), "k: {k}");
    assert_eq!(k["groups"].as_i64(), Some(groups), "groups: {k}");
    assert_eq!(k["subjects"].as_i64(), Some(subjects), "subjects: {k}");
    assert_eq!(
        k["in_groups_under_5"].as_i64(),
        Some(under_5),
        "in groups under 5: {k}"
    );
    smallest
}

/// Issue 22, defect 7: `anonymise --report` was only checked for having a k. Here
/// the population is arranged so that k is not 1: every generated borrower falls in
/// one of eight groups (two birth years, two sexes, two regions), and the subject,
/// once its birth date is generalised to the year, shares its group with one other
/// subject of that year without an address; k is 2, and the report says so, as the
/// hand-written `GROUP BY` does.
#[tokio::test]
async fn the_reported_k_is_the_smallest_group_a_hand_written_group_by_finds() {
    let db = TestDb::migrated().await;
    let client = db.client().await;
    client
        .batch_execute(&format!(
            "UPDATE borrowers SET birth_date = make_date(1980 + (id % 2)::int, 1, 1),
                                  sex = CASE WHEN (id / 2) % 2 = 0 THEN 'M' ELSE 'F' END;
             INSERT INTO addresses (borrower_id, kind, region, city, street, house)
               SELECT b.id, 'residence', 'x', 'x', 'x', '1' FROM borrowers b
               WHERE NOT EXISTS (SELECT 1 FROM addresses a WHERE a.borrower_id = b.id);
             UPDATE addresses SET region = CASE WHEN (borrower_id / 4) % 2 = 0
                                                THEN 'город Алматы' ELSE 'город Астана' END;
             INSERT INTO borrowers (id, iin, last_name, first_name, birth_date, sex, email, phone, created_at) VALUES
                 (900001, '{IIN}', 'Sarsenova', 'Aigerim', '2006-12-11', 'F', 'aigerim@example.kz', '+77010000001', now() - interval '7 years'),
                 (900002, '880330300016', 'Nurlanova', 'Dana', '2006-01-01', 'F', 'dana@example.kz', '+77010000002', now() - interval '7 years');"
        ))
        .await
        .unwrap();
    let groups_before = client.query_one(K_ORACLE, &[]).await.unwrap();
    assert_eq!(
        groups_before.get::<_, i64>(0),
        1,
        "before: the subject stands alone"
    );
    let others_before = others_checksums(&client, 900001).await;
    let keys = age_keys();
    let out = db
        .cmd()
        .args([
            "anonymise",
            "id:900001",
            "--ticket",
            "REQ-9",
            "--yes",
            "--report",
        ])
        .args(["--format", "json", "--key-file"])
        .arg(mask_key(&keys))
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let report: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let k = assert_k_is_the_oracles(&client, &report).await;
    assert_eq!(
        k, 2,
        "the subject shares (2006-01-01, F, no address) with 900002"
    );
    assert_eq!(
        others_checksums(&client, 900001).await,
        others_before,
        "other subjects untouched"
    );
    // The report is read-only: run on its own, it measures the same.
    let again = db
        .cmd()
        .args([
            "anonymise",
            "id:900002",
            "--ticket",
            "REQ-9",
            "--dry-run",
            "--report",
        ])
        .args(["--format", "json", "--key-file"])
        .arg(mask_key(&keys))
        .output()
        .unwrap();
    assert!(
        again.status.success(),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    let again: serde_json::Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_k_is_the_oracles(&client, &again).await;
}
