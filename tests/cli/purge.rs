//! `derbes purge` (issue 14): the dry run counts and changes nothing; the real run
//! deletes exactly the rows an oracle query written apart from derbes' SQL says are
//! due, never a row under a legal hold (open loan, blocked subject); a run killed
//! (SIGKILL, or its session terminated) resumes and finishes; a second purge exits
//! 7; expired partitions are dropped (and a drop stopped half-way is finished);
//! archive-then-delete leaves verified archives holding exactly the deleted rows.
//! Issue 22: every cut-off is computed apart, with PostgreSQL's interval arithmetic
//! in the map's time zone, and the report's checked against it; a run stopped at
//! --max-duration stops between batches and the next finishes; pg_partman's
//! maintenance after a purge is checked, and the purge after it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::{Command as Process, Stdio};
use std::time::{Duration, Instant};

use chrono::{DateTime, SecondsFormat, Utc};
use tokio_postgres::Client;

use crate::archive::{age_keys, wait_for_no_derbes_session};
use crate::support::{count, database_checksums, reference_map, reference_on_own_cluster, TestDb};

/// The oracle: ids of `locations` rows due under the `location` rule at `cutoff`,
/// written from the policy, not from derbes' SQL builder.
const LOCATIONS_DUE: &str = "
    SELECT l.id FROM locations l
    WHERE l.recorded_at < $1
      AND NOT EXISTS (SELECT 1 FROM loans o WHERE o.borrower_id = l.borrower_id
                      AND o.status IN ('open', 'overdue'))
      AND NOT EXISTS (SELECT 1 FROM borrowers b WHERE b.id = l.borrower_id AND b.status = 'blocked')
      AND NOT EXISTS (SELECT 1 FROM derbes.blocks k WHERE k.subject_key = l.borrower_id::text
                      AND k.unblocked_at IS NULL)
      AND NOT EXISTS (SELECT 1 FROM derbes.requests r
                      WHERE r.subject_ref = 'borrowers:' || l.borrower_id AND r.status = 'open')
    ORDER BY 1";

/// Locations of subjects under a hold, older than `cutoff`.
const LOCATIONS_HELD: &str = "
    SELECT l.id FROM locations l
    WHERE l.recorded_at < $1
      AND (EXISTS (SELECT 1 FROM loans o WHERE o.borrower_id = l.borrower_id
                   AND o.status IN ('open', 'overdue'))
           OR EXISTS (SELECT 1 FROM derbes.blocks k WHERE k.subject_key = l.borrower_id::text
                      AND k.unblocked_at IS NULL)
           OR EXISTS (SELECT 1 FROM derbes.requests r
                      WHERE r.subject_ref = 'borrowers:' || l.borrower_id AND r.status = 'open'))
    ORDER BY 1";

async fn ids(client: &Client, sql: &str, cutoff: DateTime<Utc>) -> BTreeSet<i64> {
    client
        .query(sql, &[&cutoff])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

async fn all_location_ids(client: &Client) -> BTreeSet<i64> {
    client
        .query("SELECT id FROM locations", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

/// Old locations of four subjects; one has an open loan (a hold).
const SEED_ROWS: &str = "INSERT INTO borrowers (id, iin, last_name, first_name, birth_date, sex, phone) VALUES
               (900001, '880330300016', 'A', 'A', '1988-03-30', 'M', '+77010000001'),
               (900002, '900101300126', 'B', 'B', '1990-01-01', 'M', '+77010000002'),
               (900003, '850505400236', 'C', 'C', '1985-05-05', 'F', '+77010000003'),
               (900004, '061211600012', 'D', 'D', '2006-12-11', 'F', '+77010000004');
             INSERT INTO loans (id, borrower_id, contract_no, principal, rate_percent, issued_at, due_on, status) VALUES
               (900010, 900002, 'PURGE-10', 1000, 30, now() - interval '2 years', current_date, 'open');
             INSERT INTO locations (borrower_id, latitude, longitude, recorded_at)
               SELECT 900001 + g % 4, 43.2, 76.9, now() - (g || ' days')::interval
               FROM generate_series(1, 400) g;";

/// More old locations, with a subject that gets blocked, one with an open loan and
/// one with an open request.
async fn seed(db: &TestDb) -> Client {
    let client = db.client().await;
    client
        .batch_execute(SEED_ROWS)
        .await
        .expect("test rows insert");
    db.cmd()
        .args([
            "block",
            "id:900003",
            "--reason",
            "fraud",
            "--ticket",
            "INC-P",
        ])
        .arg("--yes")
        .assert()
        .success();
    // An erasure request still open holds the subject's rows until it is answered.
    let received = Utc::now().date_naive().to_string();
    db.cmd()
        .args([
            "request",
            "open",
            "--kind",
            "destroy",
            "--subject",
            "id:900004",
        ])
        .args(["--received", &received, "--ticket", "REQ-P", "--yes"])
        .assert()
        .success();
    client
}

fn json(output: &[u8]) -> serde_json::Value {
    serde_json::from_slice(output)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(output)))
}

fn cutoff_of(report: &serde_json::Value, rule: &str) -> DateTime<Utc> {
    let rule = report["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["rule"] == rule)
        .unwrap_or_else(|| panic!("rule {rule} in {report}"));
    rule["cutoff"].as_str().unwrap().parse().unwrap()
}

fn dry_run(db: &TestDb, as_of: &str, rule: &str) -> serde_json::Value {
    purge_rule(db, as_of, rule, &["--dry-run"])
}

/// The data map's time zone, in which its periods are counted.
const MAP_TIME_ZONE: &str = "Asia/Almaty";

/// The `keep` of each rule these tests purge, as a PostgreSQL interval: as written
/// in examples/datamap.toml (and, for `app-logs`, in [`partitioned_map`]).
fn keep_of(rule: &str) -> &'static str {
    match rule {
        "location" => "90 days",
        "traffic" => "180 days",
        "server-logs" | "app-logs" => "1 year",
        _ => panic!("no keep written down for rule {rule}"),
    }
}

/// A moment to pass as `--as-of`, to the microsecond (as PostgreSQL keeps time),
/// `days` days before now.
fn as_of_days_ago(days: i64) -> String {
    (Utc::now() - chrono::Duration::days(days)).to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// Issue 22, defect 7: the cut-off of `rule` as of `as_of`, computed apart from
/// derbes with PostgreSQL's own calendar arithmetic: the period subtracted from the
/// local time in the map's zone, read back as a moment. Checks first that the map
/// still says what [`keep_of`] and [`MAP_TIME_ZONE`] assume.
async fn cutoff_apart(client: &Client, as_of: &str, rule: &str) -> DateTime<Utc> {
    let map = std::fs::read_to_string(reference_map()).unwrap();
    assert!(
        map.contains(&format!("\ntimezone = \"{MAP_TIME_ZONE}\"\n")),
        "the reference map's time zone is {MAP_TIME_ZONE}"
    );
    let written = match rule {
        "location" => Some("[retention.location]\nkeep = \"90d\""),
        "traffic" => Some("[retention.traffic]\nkeep = \"180d\""),
        "server-logs" => Some("[retention.server-logs]\nkeep = \"1y\""),
        _ => None,
    };
    if let Some(written) = written {
        assert!(map.contains(written), "the reference map says {written}");
    }
    client
        .query_one(
            "SELECT ($1::text::timestamptz AT TIME ZONE $2 - $3::text::interval) AT TIME ZONE $2",
            &[&as_of, &MAP_TIME_ZONE, &keep_of(rule)],
        )
        .await
        .unwrap()
        .get(0)
}

/// Issue 22, defect 7: the cut-off of `rule` as of `as_of` computed apart
/// ([`cutoff_apart`]), after checking that the dry run reports the same one.
async fn checked_cutoff(db: &TestDb, client: &Client, as_of: &str, rule: &str) -> DateTime<Utc> {
    let cutoff = cutoff_apart(client, as_of, rule).await;
    assert_eq!(
        cutoff_of(&dry_run(db, as_of, rule), rule),
        cutoff,
        "the dry run's cut-off of {rule} as of {as_of}"
    );
    cutoff
}

/// `purge --rule RULE --as-of AS_OF` with `extra`, which must succeed: its JSON report.
fn purge_rule(db: &TestDb, as_of: &str, rule: &str, extra: &[&str]) -> serde_json::Value {
    let out = db
        .cmd()
        .args(["purge", "--ticket", "RET-1", "--format", "json"])
        .args(["--as-of", as_of, "--rule", rule])
        .args(extra)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    json(&out.stdout)
}

#[tokio::test]
async fn dry_run_counts_what_is_due_and_held_and_changes_nothing() {
    let db = TestDb::migrated().await;
    let client = seed(&db).await;
    let as_of = as_of_days_ago(0);
    let before = database_checksums(&client).await;
    let report = dry_run(&db, &as_of, "location");
    assert_eq!(database_checksums(&client).await, before);
    // Issue 22, defect 7: the cut-off is computed apart, and the report's is it.
    let cutoff = cutoff_apart(&client, &as_of, "location").await;
    assert_eq!(cutoff_of(&report, "location"), cutoff);
    let due = ids(&client, LOCATIONS_DUE, cutoff).await;
    let table = &report["rules"][0]["tables"][0];
    assert_eq!(table["table"], "public.locations");
    assert_eq!(table["due"].as_i64().unwrap(), due.len() as i64);
    let held: i64 = table["held_back"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["rows"].as_i64().unwrap())
        .sum();
    // Each held subject here has one reason; the seeded ones give both kinds.
    let reasons: Vec<&str> = table["held_back"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["reason"].as_str().unwrap())
        .collect();
    assert!(
        reasons.contains(&"open-loan") && reasons.contains(&"blocked"),
        "{table}"
    );
    assert!(held >= ids(&client, LOCATIONS_HELD, cutoff).await.len() as i64);
    assert!(table["oldest"].is_string());
    // Every rule of the reference map is reported, each with its legal basis (the
    // archive-then-delete rules need where their archives would go, as for real).
    let keys = crate::archive::age_keys();
    let all = db
        .cmd()
        .args([
            "purge",
            "--ticket",
            "RET-1",
            "--dry-run",
            "--format",
            "json",
            "-r",
            &keys.age_recipient,
            "--archive-dir",
        ])
        .arg(&keys.dir)
        .output()
        .unwrap();
    assert!(
        all.status.success(),
        "{}",
        String::from_utf8_lossy(&all.stderr)
    );
    let all = json(&all.stdout);
    assert!(all["rules"].as_array().unwrap().len() >= 8);
    assert!(all["rules"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| !r["legal_basis"].as_str().unwrap().is_empty()));
    assert_eq!(database_checksums(&client).await, before);
}

#[tokio::test]
async fn purge_deletes_exactly_the_due_rows_and_keeps_the_held_ones() {
    let db = TestDb::migrated().await;
    let client = seed(&db).await;
    let as_of = as_of_days_ago(0);
    let cutoff = checked_cutoff(&db, &client, &as_of, "location").await;
    let due = ids(&client, LOCATIONS_DUE, cutoff).await;
    let held = ids(&client, LOCATIONS_HELD, cutoff).await;
    assert!(!due.is_empty() && !held.is_empty());
    let before = all_location_ids(&client).await;
    let out = db
        .cmd()
        .args([
            "purge", "--ticket", "RET-1", "--yes", "--format", "json", "--rule", "location",
        ])
        .args(["--as-of", &as_of, "--batch-size", "7"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = json(&out.stdout);
    let after = all_location_ids(&client).await;
    let gone: BTreeSet<i64> = before.difference(&after).copied().collect();
    assert_eq!(gone, due, "deleted exactly the oracle's rows");
    assert!(held.is_subset(&after), "no held row was touched");
    let rule = &report["rules"][0];
    assert_eq!(rule["status"], "done");
    assert_eq!(rule["deleted"].as_i64().unwrap(), due.len() as i64);
    assert!(rule["tables"][0]["batches"].as_i64().unwrap() >= due.len() as i64 / 7);
    // One audit row for the rule's run, with the count; the chain verifies.
    let rows = client
        .query(
            "SELECT counts, detail FROM derbes.audit_log WHERE action = 'purge'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    let counts: serde_json::Value = rows[0].get(0);
    assert_eq!(
        counts["public.locations"].as_i64().unwrap(),
        due.len() as i64
    );
    db.cmd().args(["audit", "verify"]).assert().success();
    // A second run finds nothing more to do.
    let again = db
        .cmd()
        .args([
            "purge", "--ticket", "RET-1", "--yes", "--format", "json", "--rule", "location",
        ])
        .args(["--as-of", &as_of])
        .output()
        .unwrap();
    assert_eq!(json(&again.stdout)["rules"][0]["deleted"], 0);
    assert_eq!(all_location_ids(&client).await, after);
}

/// `purge --jobs N` deletes a rule's due rows in N streams at once, each its own key
/// range on its own connection with the rule's holds computed there: exactly the
/// oracle's rows go, no held row is touched. Killed mid-way, the next run (asking for
/// one stream) resumes every stream where it stopped.
#[tokio::test]
async fn purge_in_parallel_streams_deletes_exactly_the_due_rows_and_resumes_as_it_was_cut() {
    let db = TestDb::migrated().await;
    let client = seed(&db).await;
    let as_of = as_of_days_ago(0);
    let cutoff = checked_cutoff(&db, &client, &as_of, "location").await;
    let due = ids(&client, LOCATIONS_DUE, cutoff).await;
    let held = ids(&client, LOCATIONS_HELD, cutoff).await;
    assert!(due.len() > 30 && !held.is_empty());
    let before = all_location_ids(&client).await;
    let killed = db
        .cmd()
        .args(["purge", "--ticket", "RET-1", "--yes", "--rule", "location"])
        .args(["--as-of", &as_of, "--batch-size", "5", "--jobs", "3"])
        .env("DERBES_FAULT_POINT", "purge.deleted")
        .output()
        .unwrap();
    assert_eq!(killed.status.code(), Some(137));
    let streams = count(
        &client,
        "SELECT count(*) FROM derbes.jobs WHERE starts_with(scope, 'location:public.locations#') \
         AND finished_at IS NULL",
    )
    .await;
    assert_eq!(streams, 3, "three streams, each with its checkpoint");
    purge_rule(&db, &as_of, "location", &["--yes", "--batch-size", "5"]);
    let after = all_location_ids(&client).await;
    let gone: BTreeSet<i64> = before.difference(&after).copied().collect();
    assert_eq!(gone, due, "deleted exactly the oracle's rows");
    assert!(held.is_subset(&after), "no held row was touched");
    let open = count(
        &client,
        "SELECT count(*) FROM derbes.jobs WHERE finished_at IS NULL",
    )
    .await;
    assert_eq!(open, 0, "every stream finished");
    db.cmd().args(["audit", "verify"]).assert().success();
}

/// The run's pid file appears when it reaches a paused fault point.
pub(crate) async fn wait_for(flag: &Path) {
    let started = Instant::now();
    while !flag.exists() {
        assert!(started.elapsed() < Duration::from_secs(60), "never paused");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_second_purge_exits_7_while_one_runs() {
    let db = TestDb::migrated().await;
    let client = seed(&db).await;
    let dir = tempfile::tempdir().unwrap();
    let flag = dir.path().join("paused");
    let mut first = Process::new(assert_cmd::cargo::cargo_bin("derbes"))
        .args([
            "purge", "--ticket", "RET-1", "--yes", "--rule", "location", "--format", "json",
        ])
        .env("DATABASE_URL", db.conninfo())
        .env("DERBES_MAP", reference_map())
        .env("DERBES_FAULT_POINT", "batch.applied")
        .env("DERBES_FAULT_PAUSE", &flag)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for(&flag).await;
    let before = database_checksums(&client).await;
    db.cmd()
        .args(["purge", "--ticket", "RET-1", "--yes", "--rule", "photos"])
        .assert()
        .code(7)
        .stderr(predicates::str::contains("another derbes purge run"));
    assert_eq!(database_checksums(&client).await, before);
    std::fs::remove_file(&flag).unwrap();
    let status = first.wait().unwrap();
    assert!(status.success());
    let _ = first.kill();
}

#[tokio::test]
async fn a_killed_purge_resumes_and_finishes_with_exactly_the_due_rows() {
    let db = TestDb::migrated().await;
    let client = seed(&db).await;
    let as_of = as_of_days_ago(0);
    let cutoff = checked_cutoff(&db, &client, &as_of, "location").await;
    let due = ids(&client, LOCATIONS_DUE, cutoff).await;
    let held = ids(&client, LOCATIONS_HELD, cutoff).await;
    let before = all_location_ids(&client).await;
    // SIGKILL after some batches committed.
    let mut child = Process::new(assert_cmd::cargo::cargo_bin("derbes"))
        .args([
            "purge",
            "--ticket",
            "RET-1",
            "--yes",
            "--rule",
            "location",
            "--batch-size",
            "3",
        ])
        .args(["--pause", "100ms", "--as-of", &as_of])
        .env("DATABASE_URL", db.conninfo())
        .env("DERBES_MAP", reference_map())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    loop {
        let batches: Option<i64> = client
            .query_opt(
                "SELECT batches FROM derbes.jobs WHERE operation = 'purge' AND finished_at IS NULL",
                &[],
            )
            .await
            .unwrap()
            .map(|r| r.get(0));
        if batches.unwrap_or(0) >= 3 {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "no batches");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    child.kill().unwrap();
    child.wait().unwrap();
    wait_for_no_derbes_session(&db).await;
    let midway = all_location_ids(&client).await;
    assert!(midway.len() < before.len() && midway.len() > before.len() - due.len());
    // Then the session of a run is terminated while its batch is open.
    let dir = tempfile::tempdir().unwrap();
    let flag = dir.path().join("paused");
    let mut child = Process::new(assert_cmd::cargo::cargo_bin("derbes"))
        .args([
            "purge",
            "--ticket",
            "RET-1",
            "--yes",
            "--rule",
            "location",
            "--batch-size",
            "3",
        ])
        .args(["--as-of", &as_of])
        .env("DATABASE_URL", db.conninfo())
        .env("DERBES_MAP", reference_map())
        .env("DERBES_FAULT_POINT", "purge.deleted")
        .env("DERBES_FAULT_PAUSE", &flag)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for(&flag).await;
    crate::support::terminate_sessions(&client, "derbes").await;
    std::fs::remove_file(&flag).unwrap();
    let status = child.wait().unwrap();
    assert!(!status.success(), "a run whose session died fails");
    assert_eq!(
        all_location_ids(&client).await,
        midway,
        "the open batch rolled back"
    );
    // The rerun resumes from the checkpoint and finishes.
    let out = db
        .cmd()
        .args([
            "purge", "--ticket", "RET-1", "--yes", "--format", "json", "--rule", "location",
        ])
        .args(["--as-of", &as_of, "--batch-size", "3"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(json(&out.stdout)["rules"][0]["tables"][0]["resumed"], true);
    let after = all_location_ids(&client).await;
    let gone: BTreeSet<i64> = before.difference(&after).copied().collect();
    assert_eq!(gone, due);
    assert!(held.is_subset(&after));
    assert_eq!(
        count(
            &client,
            "SELECT count(*) FROM derbes.jobs WHERE finished_at IS NULL"
        )
        .await,
        0
    );
    // Issue 23, defect 3: every row destroyed is on the audit record, the batches
    // the killed runs committed included (the rerun's row carries them).
    let audited = count(
        &client,
        "SELECT coalesce(sum((counts->>'public.locations')::bigint), 0)::bigint \
         FROM derbes.audit_log WHERE action = 'purge'",
    )
    .await;
    assert_eq!(
        audited as usize,
        gone.len(),
        "every deleted row audited once"
    );
    db.cmd().args(["audit", "verify"]).assert().success();
}

/// `purge --rule location` in batches of 5, started in the background with its
/// first batch paused at the `batch.applied` fault point until the test removes
/// `flag` (the run writes its pid there when it pauses).
fn paused_location_purge(
    db: &TestDb,
    as_of: &str,
    extra: &[&str],
    flag: &std::path::Path,
) -> std::process::Child {
    Process::new(assert_cmd::cargo::cargo_bin("derbes"))
        .args([
            "purge", "--ticket", "RET-1", "--yes", "--format", "json", "--rule", "location",
        ])
        .args(["--as-of", as_of, "--batch-size", "5"])
        .args(extra)
        .env("DATABASE_URL", db.conninfo())
        .env("DERBES_MAP", reference_map())
        .env("DERBES_OPERATOR", "test-operator")
        .env("DERBES_FAULT_POINT", "batch.applied")
        .env("DERBES_FAULT_PAUSE", flag)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Issue 22, defect 7: `purge --max-duration` stops cleanly between batches. The
/// run pauses inside its first batch (a fault point) until the test has let its
/// --max-duration pass, so it stops at the next batch boundary whatever the
/// machine's speed: the report says `stopped` (exit 0, a stop is not a failure),
/// the rows deleted are the first batch's and all due (the oracle), its checkpoint
/// stays open; the next run resumes and deletes exactly the rest of the due rows.
#[tokio::test]
async fn a_purge_at_its_max_duration_stops_between_batches_and_the_next_run_finishes() {
    let db = TestDb::migrated().await;
    let client = seed(&db).await;
    let as_of = as_of_days_ago(0);
    let cutoff = checked_cutoff(&db, &client, &as_of, "location").await;
    let due = ids(&client, LOCATIONS_DUE, cutoff).await;
    let held = ids(&client, LOCATIONS_HELD, cutoff).await;
    assert!(due.len() > 20 && !held.is_empty());
    let before = all_location_ids(&client).await;
    let dir = tempfile::tempdir().unwrap();
    let flag = dir.path().join("paused");
    let max_duration = Duration::from_secs(3);
    let mut child = paused_location_purge(&db, &as_of, &["--max-duration", "3s"], &flag);
    let started = Instant::now();
    while !flag.exists() {
        if let Some(status) = child.try_wait().unwrap() {
            panic!(
                "the run ended ({status}) before its first batch: it took longer than \
                 --max-duration to start; rerun on a less loaded machine"
            );
        }
        assert!(started.elapsed() < Duration::from_secs(60), "never paused");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The run started before the flag appeared: once this has passed, so has its
    // --max-duration.
    tokio::time::sleep(max_duration + Duration::from_millis(200)).await;
    std::fs::remove_file(&flag).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "a run stopped at --max-duration exits 0: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!flag.exists(), "the run stopped before a second batch");
    let report = json(&out.stdout);
    let rule = &report["rules"][0];
    assert_eq!(rule["status"], "stopped", "{rule}");
    let midway = all_location_ids(&client).await;
    let gone: BTreeSet<i64> = before.difference(&midway).copied().collect();
    assert!(
        !gone.is_empty() && gone.len() <= 5,
        "one batch of at most 5 rows: {gone:?}"
    );
    assert!(gone.is_subset(&due), "only due rows were deleted");
    assert!(held.is_subset(&midway), "no held row was touched");
    assert_eq!(rule["deleted"].as_i64().unwrap(), gone.len() as i64);
    assert_eq!(rule["tables"][0]["batches"], 1, "{rule}");
    let (batches, rows): (i64, i64) = {
        let row = client
            .query_one(
                "SELECT batches, rows FROM derbes.jobs WHERE operation = 'purge' \
                 AND finished_at IS NULL",
                &[],
            )
            .await
            .unwrap();
        (row.get(0), row.get(1))
    };
    assert_eq!(
        (batches, rows),
        (1, gone.len() as i64),
        "the checkpoint of the one committed batch stays open"
    );

    // The next run resumes after it and deletes exactly the rest.
    let report = purge_rule(&db, &as_of, "location", &["--yes", "--batch-size", "5"]);
    let rule = &report["rules"][0];
    assert_eq!(rule["status"], "done", "{rule}");
    assert_eq!(rule["tables"][0]["resumed"], true, "{rule}");
    assert_eq!(
        rule["deleted"].as_i64().unwrap(),
        (due.len() - gone.len()) as i64
    );
    let after = all_location_ids(&client).await;
    let gone: BTreeSet<i64> = before.difference(&after).copied().collect();
    assert_eq!(gone, due, "deleted exactly the oracle's rows");
    assert!(held.is_subset(&after), "no held row was touched");
    assert_eq!(
        count(
            &client,
            "SELECT count(*) FROM derbes.jobs WHERE finished_at IS NULL"
        )
        .await,
        0
    );
    db.cmd().args(["audit", "verify"]).assert().success();
}

async fn server_log_partitions(client: &Client) -> Vec<String> {
    client
        .query(
            "SELECT c.relname::text FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid \
             WHERE i.inhparent = 'server_logs'::regclass ORDER BY 1",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

#[tokio::test]
async fn expired_partitions_are_dropped_and_a_stopped_drop_is_finished() {
    let db = TestDb::migrated().await;
    let client = db.client().await;
    let as_of = as_of_days_ago(0);
    let cutoff = checked_cutoff(&db, &client, &as_of, "server-logs").await;
    let old: i64 = client
        .query_one(
            "SELECT count(*) FROM server_logs WHERE logged_at < $1",
            &[&cutoff],
        )
        .await
        .unwrap()
        .get(0);
    let young: i64 = client
        .query_one(
            "SELECT count(*) FROM server_logs WHERE logged_at >= $1",
            &[&cutoff],
        )
        .await
        .unwrap()
        .get(0);
    assert!(old > 0);
    let partitions = server_log_partitions(&client).await;
    // Killed right after detaching the first expired partition.
    db.cmd()
        .args([
            "purge",
            "--ticket",
            "RET-1",
            "--yes",
            "--rule",
            "server-logs",
            "--as-of",
            &as_of,
        ])
        .env("DERBES_FAULT_POINT", "purge.partition.detached")
        .assert()
        .code(137);
    wait_for_no_derbes_session(&db).await;
    let detached = partitions.len() - server_log_partitions(&client).await.len();
    assert_eq!(detached, 1, "one partition detached before the kill");
    // Issue 23, defect 3: killed while dropping, nothing is dropped off the record:
    // the drop, its jobs and its audit row are one transaction.
    db.cmd()
        .args([
            "purge",
            "--ticket",
            "RET-1",
            "--yes",
            "--rule",
            "server-logs",
        ])
        .args(["--as-of", &as_of])
        .env("DERBES_FAULT_POINT", "purge.partition.dropping")
        .assert()
        .code(137);
    wait_for_no_derbes_session(&db).await;
    let audited_drops = "SELECT count(*) FROM derbes.audit_log \
         WHERE action = 'purge' AND detail ? 'partitions_dropped' \
         AND jsonb_array_length(detail->'partitions_dropped') > 0";
    assert_eq!(count(&client, audited_drops).await, 0);
    let stray_tables = "SELECT count(*) FROM pg_class WHERE relname LIKE 'server_logs_%' \
         AND relkind = 'r' AND NOT relispartition";
    assert!(
        count(&client, stray_tables).await >= 1,
        "nothing dropped unaudited"
    );
    let out = db
        .cmd()
        .args([
            "purge",
            "--ticket",
            "RET-1",
            "--yes",
            "--format",
            "json",
            "--rule",
            "server-logs",
        ])
        .args(["--as-of", &as_of])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = json(&out.stdout);
    let table = &report["rules"][0]["tables"][0];
    let dropped = table["partitions_dropped"].as_array().unwrap();
    assert!(!dropped.is_empty(), "{report}");
    let left: i64 = client
        .query_one(
            "SELECT count(*) FROM server_logs WHERE logged_at < $1",
            &[&cutoff],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(left, 0, "every expired row is gone");
    let kept: i64 = client
        .query_one(
            "SELECT count(*) FROM server_logs WHERE logged_at >= $1",
            &[&cutoff],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(kept, young, "no younger row was touched");
    // The detached partition of the stopped run is gone too, not left standing.
    let stray: i64 = client
        .query_one(
            "SELECT count(*) FROM pg_class WHERE relname LIKE 'server_logs_%' AND relkind = 'r' \
             AND NOT relispartition",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(stray, 0);
    assert_eq!(
        count(
            &client,
            "SELECT count(*) FROM derbes.jobs WHERE finished_at IS NULL"
        )
        .await,
        0
    );
    // Every dropped partition is named by the audit row written with its drop.
    let audited: Vec<String> = client
        .query(
            "SELECT jsonb_array_elements_text(detail->'partitions_dropped') FROM derbes.audit_log \
             WHERE action = 'purge' AND detail ? 'partitions_dropped' AND NOT detail ? 'status'",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    for partition in dropped {
        assert!(
            audited.contains(&partition.as_str().unwrap().to_owned()),
            "{partition} dropped with its audit row: {audited:?}"
        );
    }
}

/// A partition past the cut-off, with nothing to hold a row back and no archive,
/// is dropped without reading it: its rows are counted from the server's
/// statistics, which after a VACUUM equal the rows an oracle counts.
#[tokio::test]
async fn expired_partitions_are_counted_from_statistics_and_the_count_is_right() {
    let db = TestDb::migrated().await;
    let client = seed(&db).await;
    client
        .batch_execute("VACUUM ANALYZE server_logs")
        .await
        .unwrap();
    let as_of = as_of_days_ago(0);
    let cutoff = checked_cutoff(&db, &client, &as_of, "server-logs").await;
    let old: i64 = client
        .query_one(
            "SELECT count(*) FROM server_logs WHERE logged_at < $1",
            &[&cutoff],
        )
        .await
        .unwrap()
        .get(0);
    assert!(old > 0);
    let out = db
        .cmd()
        .args(["purge", "--ticket", "RET-1", "--yes", "--format", "json"])
        .args(["--rule", "server-logs", "--as-of", &as_of])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = json(&out.stdout);
    let table = &report["rules"][0]["tables"][0];
    assert!(
        !table["partitions_dropped"].as_array().unwrap().is_empty(),
        "{report}"
    );
    assert_eq!(table["rows_estimated"], true, "{report}");
    assert_eq!(table["deleted"], old, "{report}");
    let left: i64 = client
        .query_one(
            "SELECT count(*) FROM server_logs WHERE logged_at < $1",
            &[&cutoff],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(left, 0);
}

/// The reference map with the location rule archiving before it deletes.
fn archiving_map(dir: &Path) -> std::path::PathBuf {
    let text = std::fs::read_to_string(reference_map()).unwrap();
    let text = text.replace(
        "[retention.location]\nkeep = \"90d\"\naction = \"delete\"",
        "[retention.location]\nkeep = \"90d\"\naction = \"archive-then-delete\"\narchive_keep = \"1y\"",
    );
    assert!(text.contains("archive_keep = \"1y\""));
    let path = dir.join("map.toml");
    std::fs::write(&path, text).unwrap();
    path
}

#[tokio::test]
async fn archive_then_delete_leaves_verified_archives_of_exactly_the_deleted_rows() {
    let db = TestDb::migrated().await;
    let client = seed(&db).await;
    let keys = age_keys();
    let out_dir = tempfile::tempdir().unwrap();
    let map = archiving_map(keys.dir.as_path());
    let as_of = as_of_days_ago(0);
    let before = all_location_ids(&client).await;
    // Killed between writing a batch's archive and deleting its rows: nothing is
    // deleted, and the file it left is removed by the next run.
    db.cmd()
        .env("DERBES_MAP", &map)
        .env("DERBES_FAULT_POINT", "purge.archived")
        .args([
            "purge", "--ticket", "RET-1", "--yes", "--rule", "location", "--as-of", &as_of,
        ])
        .args(["--batch-size", "40", "--archive-dir"])
        .arg(out_dir.path())
        .args(["-r", &keys.age_recipient])
        .assert()
        .code(137);
    wait_for_no_derbes_session(&db).await;
    assert_eq!(all_location_ids(&client).await, before, "nothing deleted");
    assert_eq!(
        std::fs::read_dir(out_dir.path()).unwrap().count(),
        1,
        "the killed run left its uncatalogued archive"
    );
    let report = db
        .cmd()
        .env("DERBES_MAP", &map)
        .args([
            "purge", "--ticket", "RET-1", "--yes", "--format", "json", "--rule", "location",
        ])
        .args(["--as-of", &as_of, "--batch-size", "40", "--archive-dir"])
        .arg(out_dir.path())
        .args(["-r", &keys.age_recipient])
        .output()
        .unwrap();
    assert!(
        report.status.success(),
        "{}",
        String::from_utf8_lossy(&report.stderr)
    );
    let report = json(&report.stdout);
    let cutoff = cutoff_apart(&client, &as_of, "location").await;
    assert_eq!(cutoff_of(&report, "location"), cutoff);
    let after = all_location_ids(&client).await;
    let gone: BTreeSet<i64> = before.difference(&after).copied().collect();
    // The oracle, run after: the rows still there are exactly the ones not due.
    assert!(ids(&client, LOCATIONS_DUE, cutoff).await.is_empty());
    let rule = &report["rules"][0];
    assert_eq!(rule["archived"].as_i64().unwrap(), gone.len() as i64);
    let files: Vec<_> = std::fs::read_dir(out_dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(
        files.len(),
        rule["archives"].as_array().unwrap().len(),
        "one file per catalogued archive"
    );
    let mut archived = BTreeSet::new();
    for file in &files {
        db.cmd()
            .env("DERBES_MAP", &map)
            .args(["archive", "verify", "-i"])
            .arg(&keys.age_identity)
            .arg(file)
            .assert()
            .success();
        let unpacked = tempfile::tempdir().unwrap();
        let status = Process::new("sh")
            .arg("-c")
            .arg("age -d -i \"$1\" \"$2\" | tar -x -f - -C \"$3\"")
            .arg("sh")
            .arg(&keys.age_identity)
            .arg(file)
            .arg(unpacked.path())
            .status()
            .unwrap();
        assert!(status.success());
        for entry in std::fs::read_dir(unpacked.path()).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "csv") {
                let mut reader = csv::Reader::from_path(&path).unwrap();
                let id = reader
                    .headers()
                    .unwrap()
                    .iter()
                    .position(|h| h == "id")
                    .unwrap();
                for record in reader.records() {
                    archived.insert(record.unwrap()[id].parse::<i64>().unwrap());
                }
            }
        }
    }
    assert_eq!(archived, gone, "the archives hold exactly the deleted rows");
    db.cmd().args(["audit", "verify"]).assert().success();
}

/// Two more log tables: one made by pg_partman (with its default partition, so
/// detached plainly), one by hand without a default partition (detached
/// CONCURRENTLY); both mapped under a one-year rule without holds.
const PARTITIONED: &str = "
    CREATE SCHEMA partman;
    CREATE EXTENSION pg_partman SCHEMA partman;
    CREATE TABLE public.app_events (
        id bigint GENERATED BY DEFAULT AS IDENTITY, at timestamptz NOT NULL,
        borrower_id bigint, event text, PRIMARY KEY (id, at)) PARTITION BY RANGE (at);
    CREATE INDEX ON public.app_events (borrower_id);
    SELECT partman.create_parent('public.app_events', 'at', 'native', 'monthly',
        p_premake => 2, p_start_partition => (now() - interval '20 months')::text);
    CREATE TABLE public.clicks (
        id bigint GENERATED BY DEFAULT AS IDENTITY, at timestamptz NOT NULL,
        borrower_id bigint, PRIMARY KEY (id, at)) PARTITION BY RANGE (at);
    CREATE INDEX ON public.clicks (borrower_id);
    DO $$ DECLARE m date := date_trunc('month', now() - interval '20 months');
    BEGIN
      WHILE m <= now() + interval '1 month' LOOP
        EXECUTE format('CREATE TABLE public.clicks_%s PARTITION OF public.clicks FOR VALUES FROM (%L) TO (%L)',
                       to_char(m, 'YYYY_MM'), m, m + interval '1 month');
        m := m + interval '1 month';
      END LOOP;
    END $$;
    INSERT INTO app_events (at, borrower_id, event)
      SELECT now() - (g || ' days')::interval, NULL, 'e' FROM generate_series(1, 590) g;
    INSERT INTO clicks (at, borrower_id)
      SELECT now() - (g || ' days')::interval, NULL FROM generate_series(1, 590) g;";

fn partitioned_map(dir: &Path) -> std::path::PathBuf {
    let mut text = std::fs::read_to_string(reference_map()).unwrap();
    let block = text.find("\n[block]").unwrap();
    text.insert_str(
        block,
        "\n[retention.app-logs]\nkeep = \"1y\"\naction = \"delete\"\nlegal_basis = \"test\"\nexceptions = []\n\
         \n[tables.app_events]\nlink = { column = \"borrower_id\" }\ntime_column = \"at\"\nretention = \"app-logs\"\n\
         \n[tables.clicks]\nlink = { column = \"borrower_id\" }\ntime_column = \"at\"\nretention = \"app-logs\"\n",
    );
    let path = dir.join("partitioned.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// The partitions of `parent` (in schema public), by name, without its default one.
async fn partitions_of(client: &Client, parent: &str) -> BTreeSet<String> {
    client
        .query(
            "SELECT c.relname::text FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid \
             WHERE i.inhparent = ('public.' || $1)::regclass \
               AND pg_get_expr(c.relpartbound, c.oid) <> 'DEFAULT'",
            &[&parent],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

/// The partitions of `parent` whose every row is older than `cutoff`: their range's
/// upper bound (read from the catalogue) is at or before it.
async fn expired_partitions(
    client: &Client,
    parent: &str,
    cutoff: DateTime<Utc>,
) -> BTreeSet<String> {
    client
        .query(
            "SELECT c.relname::text FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid \
             WHERE i.inhparent = ('public.' || $1)::regclass \
               AND pg_get_expr(c.relpartbound, c.oid) <> 'DEFAULT' \
               AND (regexp_match(pg_get_expr(c.relpartbound, c.oid), 'TO \\(''([^'']+)''\\)'))[1]::timestamptz <= $2",
            &[&parent, &cutoff],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

/// The partitions a purge report says it dropped of `public.TABLE`, by name.
fn dropped_of(report: &serde_json::Value, table: &str) -> BTreeSet<String> {
    report["rules"][0]["tables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["table"] == format!("public.{table}"))
        .unwrap_or_else(|| panic!("public.{table} in {report}"))["partitions_dropped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let name = p.as_str().unwrap();
            name.strip_prefix("public.").unwrap_or(name).to_owned()
        })
        .collect()
}

/// Rows of `table` (app_events or clicks) older than `cutoff`, and the others.
async fn old_and_young(client: &Client, table: &str, cutoff: DateTime<Utc>) -> (i64, i64) {
    let row = client
        .query_one(
            &format!(
                "SELECT count(*) FILTER (WHERE at < $1), count(*) FILTER (WHERE at >= $1) FROM {table}"
            ),
            &[&cutoff],
        )
        .await
        .unwrap();
    (row.get(0), row.get(1))
}

/// A `purge --rule app-logs --as-of AS_OF` under `map`, which must succeed: its report.
fn purge_app_logs(db: &TestDb, map: &Path, as_of: &str) -> serde_json::Value {
    let out = db
        .cmd()
        .env("DERBES_MAP", map)
        .args([
            "purge", "--ticket", "RET-1", "--yes", "--format", "json", "--rule", "app-logs",
        ])
        .args(["--as-of", as_of])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    json(&out.stdout)
}

/// Issue 22, defect 7: the partitions dropped are exactly those wholly past the
/// cut-off (computed apart), younger rows all stay; then what pg_partman's
/// `run_maintenance` does afterwards is checked: partman's list of children is the
/// catalogue's, asked for more months ahead it makes them (a future row lands in
/// one, not in the default partition) and brings back no expired month; and a month
/// partman makes on request past the cut-off is dropped by the next purge, alone.
#[tokio::test]
async fn pg_partman_and_hand_made_partitions_are_dropped_when_expired() {
    let db = TestDb::migrated().await;
    let client = db.client().await;
    client
        .batch_execute(PARTITIONED)
        .await
        .expect("partitioned tables");
    let dir = tempfile::tempdir().unwrap();
    let map = partitioned_map(dir.path());
    assert!(std::fs::read_to_string(&map)
        .unwrap()
        .contains("[retention.app-logs]\nkeep = \"1y\""));
    let as_of = as_of_days_ago(0);
    let cutoff = cutoff_apart(&client, &as_of, "app-logs").await;
    let mut expected = BTreeMap::new();
    for table in ["app_events", "clicks"] {
        let expired = expired_partitions(&client, table, cutoff).await;
        assert!(expired.len() >= 6, "{table}: {expired:?}");
        let remaining: BTreeSet<String> = partitions_of(&client, table)
            .await
            .difference(&expired)
            .cloned()
            .collect();
        let (_, young) = old_and_young(&client, table, cutoff).await;
        expected.insert(table, (expired, remaining, young));
    }
    let report = purge_app_logs(&db, &map, &as_of);
    assert_eq!(cutoff_of(&report, "app-logs"), cutoff);
    for (table, (expired, remaining, young)) in &expected {
        assert_eq!(
            &dropped_of(&report, table),
            expired,
            "{table}: the partitions wholly past the cut-off are dropped"
        );
        assert_eq!(&partitions_of(&client, table).await, remaining, "{table}");
        let (old, young_after) = old_and_young(&client, table, cutoff).await;
        assert_eq!(old, 0, "{table}: every expired row is gone");
        assert_eq!(young_after, *young, "{table}: the younger rows stay");
        assert!(*young > 300, "{table}: the younger rows stay");
    }

    // Partman still knows its table: its list of children is the catalogue's.
    let children = partitions_of(&client, "app_events").await;
    let listed: BTreeSet<String> = client
        .query(
            "SELECT partition_tablename::text FROM partman.show_partitions('public.app_events')",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(
        listed, children,
        "partman lists the partitions that are left"
    );
    // Asked to keep four months ahead instead of two, run_maintenance makes the
    // months after the last one, drops nothing, and brings back no expired month.
    client
        .batch_execute(
            "UPDATE partman.part_config SET premake = 4 WHERE parent_table = 'public.app_events';
             SELECT partman.run_maintenance('public.app_events');",
        )
        .await
        .unwrap();
    let maintained = partitions_of(&client, "app_events").await;
    assert!(
        children.is_subset(&maintained),
        "maintenance dropped nothing"
    );
    let made: BTreeSet<String> = maintained.difference(&children).cloned().collect();
    assert!(!made.is_empty(), "run_maintenance made the next months");
    let landed: String = client
        .query_one(
            "INSERT INTO app_events (at, event) VALUES (now() + interval '4 months', 'ahead') \
             RETURNING tableoid::regclass::text",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(
        made.contains(&landed),
        "a row four months ahead lands in a partition maintenance made, not {landed}"
    );
    assert!(
        expired_partitions(&client, "app_events", cutoff)
            .await
            .is_empty(),
        "no expired month came back"
    );

    // A month past the cut-off, made by partman on request (as a backfill would;
    // partman takes the month's start), with rows: the next purge drops it, and
    // only what is expired.
    client
        .batch_execute(
            "SELECT partman.create_partition_time('public.app_events', \
             ARRAY[date_trunc('month', now() - interval '15 months')]);",
        )
        .await
        .unwrap();
    let backfill: Vec<String> = partitions_of(&client, "app_events")
        .await
        .difference(&maintained)
        .cloned()
        .collect();
    assert_eq!(backfill.len(), 1, "partman made one month: {backfill:?}");
    let backfilled = client
        .execute(
            "INSERT INTO app_events (at, event) \
             SELECT date_trunc('month', now() - interval '15 months') + interval '1 day' + g * interval '1 hour', 'backfill' \
             FROM generate_series(1, 24) g",
            &[],
        )
        .await
        .unwrap();
    let in_backfill = count(
        &client,
        &format!(
            "SELECT count(*) FROM app_events WHERE tableoid = 'public.{}'::regclass",
            backfill[0]
        ),
    )
    .await;
    assert_eq!(
        in_backfill as u64, backfilled,
        "the rows are in partman's new month"
    );
    let as_of = as_of_days_ago(0);
    let cutoff = cutoff_apart(&client, &as_of, "app-logs").await;
    let expired = expired_partitions(&client, "app_events", cutoff).await;
    assert!(expired.contains(&backfill[0]), "{expired:?}");
    let before = partitions_of(&client, "app_events").await;
    let (_, young) = old_and_young(&client, "app_events", cutoff).await;
    let report = purge_app_logs(&db, &map, &as_of);
    assert_eq!(cutoff_of(&report, "app-logs"), cutoff);
    assert_eq!(dropped_of(&report, "app_events"), expired);
    let after: BTreeSet<String> = before.difference(&expired).cloned().collect();
    assert_eq!(partitions_of(&client, "app_events").await, after);
    assert!(made.is_subset(&after), "the months maintenance made stay");
    assert_eq!(
        old_and_young(&client, "app_events", cutoff).await,
        (0, young),
        "the expired rows are gone, the younger all stay"
    );
    db.cmd().args(["audit", "verify"]).assert().success();
}

#[tokio::test]
async fn expired_partitions_are_archived_and_verified_before_they_are_dropped() {
    archived_partitions(&[]).await;
}

/// With `--jobs`, each expired partition's archive is written by several COPY
/// streams (key ranges, forced small here) in one snapshot, and still holds
/// exactly the rows that are dropped.
#[tokio::test]
async fn expired_partitions_archived_by_parallel_streams_hold_exactly_their_rows() {
    archived_partitions(&["--jobs", "3"]).await;
}

async fn archived_partitions(extra: &[&str]) {
    let db = TestDb::migrated().await;
    let client = db.client().await;
    client
        .batch_execute(PARTITIONED)
        .await
        .expect("partitioned tables");
    // Statistics, so a partition is cut into key ranges (by its estimated rows).
    client.batch_execute("ANALYZE clicks").await.unwrap();
    let as_of = as_of_days_ago(0);
    let keys = age_keys();
    let out_dir = tempfile::tempdir().unwrap();
    let map = partitioned_map(keys.dir.as_path());
    let text = std::fs::read_to_string(&map).unwrap().replace(
        "[retention.app-logs]\nkeep = \"1y\"\naction = \"delete\"",
        "[retention.app-logs]\nkeep = \"1y\"\naction = \"archive-then-delete\"\narchive_keep = \"5y\"",
    );
    std::fs::write(&map, text).unwrap();
    let before: i64 = client
        .query_one("SELECT count(*) FROM clicks", &[])
        .await
        .unwrap()
        .get(0);
    let out = db
        .cmd()
        .env("DERBES_MAP", &map)
        .args([
            "purge", "--ticket", "RET-1", "--yes", "--format", "json", "--rule", "app-logs",
        ])
        .arg("--archive-dir")
        .arg(out_dir.path())
        .args(["-r", &keys.age_recipient])
        .args(extra)
        .args(["--as-of", &as_of])
        .env("DERBES_RANGE_MIN_ROWS", "1")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = json(&out.stdout);
    // Issue 22, defect 7: the cut-off computed apart is the report's.
    let cutoff = cutoff_apart(&client, &as_of, "app-logs").await;
    assert_eq!(cutoff_of(&report, "app-logs"), cutoff);
    let clicks = report["rules"][0]["tables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["table"] == "public.clicks")
        .unwrap()
        .clone();
    let dropped = clicks["partitions_dropped"].as_array().unwrap().len();
    assert!(dropped >= 6, "{clicks}");
    let after: i64 = client
        .query_one("SELECT count(*) FROM clicks", &[])
        .await
        .unwrap()
        .get(0);
    let old: i64 = client
        .query_one("SELECT count(*) FROM clicks WHERE at < $1", &[&cutoff])
        .await
        .unwrap()
        .get(0);
    assert_eq!(old, 0);
    // Every removed row is in a catalogued archive: of its partition, or of the
    // batch that took it from the partly expired month.
    assert_eq!(clicks["archived"], clicks["deleted"]);
    assert_eq!(clicks["deleted"].as_i64().unwrap(), before - after);
    let archived: i64 = client
        .query_one(
            "SELECT COALESCE(sum((value)::bigint), 0)::bigint FROM derbes.archives, jsonb_each_text(counts) \
             WHERE selection->>'table' LIKE 'public.clicks%'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(archived, before - after);
    let files: Vec<_> = std::fs::read_dir(out_dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert!(files.len() >= dropped);
    db.cmd()
        .env("DERBES_MAP", &map)
        .args(["archive", "verify", "-i"])
        .arg(&keys.age_identity)
        .arg(&files[0])
        .assert()
        .success();
    if !extra.is_empty() {
        // A partition's archive written by several streams holds one member per
        // key range: the fullest partition was cut.
        let mut most = (0u64, 0u64);
        for file in files
            .iter()
            .filter(|f| f.to_string_lossy().contains("-clicks_"))
        {
            let out = db
                .cmd()
                .env("DERBES_MAP", &map)
                .args(["--format", "json", "archive", "verify", "-i"])
                .arg(&keys.age_identity)
                .arg(file)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let verified = json(&out.stdout);
            let rows = verified["rows"].as_u64().unwrap();
            if rows > most.0 {
                most = (rows, verified["members"].as_u64().unwrap());
            }
        }
        assert!(
            most.0 >= 6,
            "a partition holds rows enough to cut: {most:?}"
        );
        assert!(most.1 >= 2, "its archive has a member per range: {most:?}");
    }
    db.cmd().args(["audit", "verify"]).assert().success();
}

#[tokio::test]
async fn a_partition_drop_whose_session_is_terminated_is_finished_by_the_next_run() {
    let db = TestDb::migrated().await;
    let client = db.client().await;
    let as_of = as_of_days_ago(0);
    let cutoff = checked_cutoff(&db, &client, &as_of, "server-logs").await;
    let young: i64 = client
        .query_one(
            "SELECT count(*) FROM server_logs WHERE logged_at >= $1",
            &[&cutoff],
        )
        .await
        .unwrap()
        .get(0);
    let dir = tempfile::tempdir().unwrap();
    let flag = dir.path().join("paused");
    let child = Process::new(assert_cmd::cargo::cargo_bin("derbes"))
        .args([
            "purge",
            "--ticket",
            "RET-1",
            "--yes",
            "--rule",
            "server-logs",
            "--as-of",
            &as_of,
        ])
        .env("DATABASE_URL", db.conninfo())
        .env("DERBES_MAP", reference_map())
        .env("DERBES_FAULT_POINT", "purge.partition.detached")
        .env("DERBES_FAULT_PAUSE", &flag)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for(&flag).await;
    crate::support::terminate_sessions(&client, "derbes").await;
    std::fs::remove_file(&flag).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(!out.status.success(), "a run whose session died fails");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("server-logs"),
        "the failure names the rule: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    wait_for_no_derbes_session(&db).await;
    db.cmd()
        .args([
            "purge",
            "--ticket",
            "RET-1",
            "--yes",
            "--rule",
            "server-logs",
            "--as-of",
            &as_of,
        ])
        .assert()
        .success();
    let (old, kept): (i64, i64) = {
        let row = client
            .query_one(
                "SELECT count(*) FILTER (WHERE logged_at < $1), count(*) FILTER (WHERE logged_at >= $1) \
                 FROM server_logs",
                &[&cutoff],
            )
            .await
            .unwrap();
        (row.get(0), row.get(1))
    };
    assert_eq!((old, kept), (0, young));
    let stray: i64 = client
        .query_one(
            "SELECT count(*) FROM pg_class WHERE relname LIKE 'server_logs_%' AND relkind = 'r' \
             AND NOT relispartition",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(stray, 0);
}

/// [`seed`], and 200 usage_events rows of its four subjects, one every three days
/// back from now (the `traffic` rule's table).
async fn seed_with_traffic(db: &TestDb) -> Client {
    let client = seed(db).await;
    client
        .batch_execute(
            "INSERT INTO usage_events (borrower_id, occurred_at, event, screen)
               SELECT 900001 + g % 4, now() - (g * 3 || ' days 5 hours 7 minutes')::interval,
                      'tap', 'home'
               FROM generate_series(1, 200) g;",
        )
        .await
        .unwrap();
    client
}

/// Issue 14: a rule whose action is `anonymise` (the reference `traffic` rule on
/// usage_events) depersonalises exactly the rows due, in place, with each column's
/// masking strategy; rows of subjects under a legal hold, and younger rows, are left
/// as they were.
#[tokio::test]
async fn an_anonymise_rule_masks_exactly_the_due_rows_and_leaves_held_ones() {
    let db = TestDb::migrated().await;
    let client = seed_with_traffic(&db).await;
    let as_of = as_of_days_ago(0);
    let cutoff = checked_cutoff(&db, &client, &as_of, "traffic").await;
    let due = ids(&client, TRAFFIC_DUE, cutoff).await;
    assert!(!due.is_empty());
    let before = usage_times(&client).await;
    // `--jobs` (archive streams) leaves an anonymise rule in one stream: its holds
    // are tables of purge's own session.
    let out = db
        .cmd()
        .args(["purge", "--ticket", "RET-1", "--yes", "--format", "json"])
        .args(["--rule", "traffic", "--as-of", &as_of, "--jobs", "3"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = json(&out.stdout);
    let after = usage_times(&client).await;
    let changed: BTreeSet<i64> = before
        .iter()
        .filter(|(id, at)| after.get(id) != Some(at))
        .map(|(id, _)| *id)
        .collect();
    assert_eq!(changed, due, "masked exactly the oracle's rows");
    assert_eq!(before.len(), after.len(), "anonymise deletes nothing");
    let rule = &report["rules"][0];
    assert_eq!(rule["status"], "done", "{rule}");
    assert_eq!(rule["anonymised"].as_i64().unwrap(), due.len() as i64);
    db.cmd().args(["audit", "verify"]).assert().success();
}

async fn usage_times(client: &Client) -> BTreeMap<i64, DateTime<Utc>> {
    client
        .query("SELECT id, occurred_at FROM usage_events", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect()
}

/// The rows of usage_events the `traffic` rule may mask at cut-off `$1`, written from
/// the policy: old enough, no open loan, not blocked, no open request.
const TRAFFIC_DUE: &str = "SELECT u.id FROM usage_events u
     WHERE u.occurred_at < $1
       AND NOT EXISTS (SELECT 1 FROM loans o WHERE o.borrower_id = u.borrower_id
                       AND o.status IN ('open', 'overdue'))
       AND NOT EXISTS (SELECT 1 FROM borrowers b WHERE b.id = u.borrower_id
                       AND b.status = 'blocked')
       AND NOT EXISTS (SELECT 1 FROM derbes.blocks k
                       WHERE k.subject_key = u.borrower_id::text AND k.unblocked_at IS NULL)
       AND NOT EXISTS (SELECT 1 FROM derbes.requests r
                       WHERE r.subject_ref = 'borrowers:' || u.borrower_id
                       AND r.status = 'open')";

/// Each usage_events row's version (`xmin`): a row rewritten gets a new one.
async fn row_versions(client: &Client) -> BTreeMap<i64, String> {
    client
        .query("SELECT id, xmin::text FROM usage_events", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get::<_, i64>(0), r.get::<_, String>(1)))
        .collect()
}

/// The rows whose version changed from `before` to `after`.
fn rewritten(before: &BTreeMap<i64, String>, after: &BTreeMap<i64, String>) -> BTreeSet<i64> {
    after
        .iter()
        .filter(|(id, xmin)| before.get(id) != Some(xmin))
        .map(|(id, _)| *id)
        .collect()
}

/// Issue 13: an anonymise rule masks a row once. A second run masks only the rows
/// due since the first run's cut-off and the rows held back then that are free now;
/// a row the first run masked is not rewritten (its row version stays), so an
/// `hmac` pseudonym is never hashed again and a fake never drawn again. A third run
/// at the same time rewrites nothing.
#[tokio::test]
async fn a_second_anonymise_run_masks_only_what_became_due_or_free_since_the_first() {
    let db = TestDb::migrated().await;
    let client = seed_with_traffic(&db).await;
    let purge = |as_of: &str| purge_rule(&db, as_of, "traffic", &["--yes"]);

    let first_as_of = as_of_days_ago(60);
    let first_cutoff = checked_cutoff(&db, &client, &first_as_of, "traffic").await;
    let due_first = ids(&client, TRAFFIC_DUE, first_cutoff).await;
    let v0 = row_versions(&client).await;
    purge(&first_as_of);
    let v1 = row_versions(&client).await;
    assert_eq!(
        rewritten(&v0, &v1),
        due_first,
        "the first run masks its due rows"
    );

    // The open request of 900004 is answered: its rows are free from now on.
    client
        .batch_execute(
            "UPDATE derbes.requests SET status = 'closed', closed_at = now(), outcome = 'done'
             WHERE subject_ref = 'borrowers:900004'",
        )
        .await
        .unwrap();
    let second_as_of = as_of_days_ago(0);
    let second_cutoff = checked_cutoff(&db, &client, &second_as_of, "traffic").await;
    let due_second = ids(&client, TRAFFIC_DUE, second_cutoff).await;
    let report = purge(&second_as_of);
    let v2 = row_versions(&client).await;
    let expected: BTreeSet<i64> = due_second.difference(&due_first).copied().collect();
    let freed = ids(
        &client,
        "SELECT id FROM usage_events WHERE borrower_id = 900004 AND occurred_at < $1",
        first_cutoff,
    )
    .await;
    assert!(
        !freed.is_empty() && freed.is_subset(&expected),
        "the freed subject's old rows are due now"
    );
    assert!(
        expected.len() > freed.len(),
        "rows came of age between the runs"
    );
    assert_eq!(
        rewritten(&v1, &v2),
        expected,
        "the second run masks only the rows due or free since the first"
    );
    assert_eq!(
        report["rules"][0]["tables"][0]["due"].as_i64().unwrap(),
        expected.len() as i64,
        "the report counts what the run masks"
    );

    purge(&second_as_of);
    let v3 = row_versions(&client).await;
    assert!(
        rewritten(&v2, &v3).is_empty(),
        "a third run rewrites nothing"
    );
    db.cmd().args(["audit", "verify"]).assert().success();
}

/// Issue 13: a killed anonymise run, resumed later, works through the rows of the
/// cut-off it started with: a row that came of age meanwhile is left to the next
/// run (which masks it), rather than skipped below the checkpoint and then taken
/// as masked.
#[tokio::test]
async fn a_resumed_anonymise_run_keeps_the_cutoff_it_started_with() {
    let db = TestDb::migrated().await;
    let client = seed_with_traffic(&db).await;
    let purge = |as_of: &str, fault: Option<&str>| {
        let mut cmd = db.cmd();
        cmd.args(["purge", "--ticket", "RET-1", "--yes", "--format", "json"])
            .args(["--rule", "traffic", "--batch-size", "5", "--as-of", as_of]);
        if let Some(point) = fault {
            cmd.env("DERBES_FAULT_POINT", point);
        }
        cmd.output().unwrap()
    };
    let first_as_of = as_of_days_ago(60);
    let first_cutoff = checked_cutoff(&db, &client, &first_as_of, "traffic").await;
    let second_as_of = as_of_days_ago(0);
    let second_cutoff = checked_cutoff(&db, &client, &second_as_of, "traffic").await;
    let due_first = ids(&client, TRAFFIC_DUE, first_cutoff).await;
    let due_second = ids(&client, TRAFFIC_DUE, second_cutoff).await;
    assert!(due_first.len() > 10 && due_second.len() > due_first.len());

    let v0 = row_versions(&client).await;
    let killed = purge(&first_as_of, Some("anonymise.batch.2"));
    assert_eq!(killed.status.code(), Some(137));
    let resumed = purge(&second_as_of, None);
    assert!(
        resumed.status.success(),
        "{}",
        String::from_utf8_lossy(&resumed.stderr)
    );
    let v1 = row_versions(&client).await;
    assert_eq!(
        rewritten(&v0, &v1),
        due_first,
        "the killed run and its resumption mask the rows of the first cut-off"
    );
    let next = purge(&second_as_of, None);
    assert!(next.status.success());
    let v2 = row_versions(&client).await;
    let expected: BTreeSet<i64> = due_second.difference(&due_first).copied().collect();
    assert_eq!(
        rewritten(&v1, &v2),
        expected,
        "the next run masks the rows that came of age meanwhile"
    );
}

/// Issue 26, item 3: the dry run rehearses the real run: what the real run would
/// refuse (an archive-then-delete rule without an archive directory and who can
/// open it; likewise an anonymise rule's masking plan without its key), the dry
/// run refuses too, with the same exit code and advice, and nothing changes.
#[tokio::test]
async fn a_purge_dry_run_refuses_what_the_real_run_would_refuse() {
    let db = TestDb::migrated().await;
    let client = db.client().await;
    let before = database_checksums(&client).await;
    for rule in ["loan-records", "identity-kyc"] {
        for mode in ["--dry-run", "--yes"] {
            let output = db
                .cmd()
                .args(["purge", "--ticket", "RET-26", "--rule", rule, mode])
                .env_remove("DERBES_MASK_KEY")
                .output()
                .unwrap();
            assert_eq!(output.status.code(), Some(2), "{rule} {mode}");
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert!(stderr.contains("--archive-dir"), "{rule} {mode}: {stderr}");
        }
    }
    assert_eq!(database_checksums(&client).await, before);
}

/// Issue 26, item 7: off a terminal, `--format json` prints one line per run, so a
/// cron job's log file holds one record per night.
#[tokio::test]
async fn json_off_a_terminal_is_one_line_per_run() {
    let db = TestDb::migrated().await;
    let output = db
        .cmd()
        .args([
            "purge",
            "--dry-run",
            "--ticket",
            "RET-26",
            "--rule",
            "location",
        ])
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert!(output.status.success());
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    assert!(serde_json::from_str::<serde_json::Value>(stdout.trim()).is_ok());
}

/// SIGTERM was not handled: the process died as under `kill -9`. Now the first
/// SIGTERM stops a purge at its next batch boundary: the batch in progress commits,
/// the checkpoint stays, the run exits 1 saying it was stopped and how to resume, and
/// the next run deletes exactly the rest of the due rows. The run pauses inside its
/// first batch (a fault point) while the test sends the signal, so it lands mid-batch
/// whatever the machine's speed.
#[tokio::test]
async fn sigterm_stops_a_purge_at_a_batch_boundary_and_the_next_run_finishes() {
    let db = TestDb::migrated().await;
    let client = seed(&db).await;
    let as_of = as_of_days_ago(0);
    let cutoff = checked_cutoff(&db, &client, &as_of, "location").await;
    let due = ids(&client, LOCATIONS_DUE, cutoff).await;
    let held = ids(&client, LOCATIONS_HELD, cutoff).await;
    assert!(due.len() > 20 && !held.is_empty());
    let before = all_location_ids(&client).await;
    let dir = tempfile::tempdir().unwrap();
    let flag = dir.path().join("paused");
    let child = paused_location_purge(&db, &as_of, &[], &flag);
    let started = Instant::now();
    while !flag.exists() {
        assert!(started.elapsed() < Duration::from_secs(60), "never paused");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let status = Process::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    // The signal is taken while the batch is paused; the run then goes on.
    tokio::time::sleep(Duration::from_millis(200)).await;
    std::fs::remove_file(&flag).unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("stopped by SIGTERM"), "{stderr}");
    assert!(stderr.contains("run the same command again"), "{stderr}");
    assert!(!flag.exists(), "the run stopped before a second batch");
    let midway = all_location_ids(&client).await;
    let gone: BTreeSet<i64> = before.difference(&midway).copied().collect();
    assert!(
        !gone.is_empty() && gone.len() <= 5,
        "the one batch in progress committed, no other: {gone:?}"
    );
    assert!(gone.is_subset(&due) && held.is_subset(&midway));

    let report = purge_rule(&db, &as_of, "location", &["--yes", "--batch-size", "5"]);
    let rule = &report["rules"][0];
    assert_eq!(rule["status"], "done", "{rule}");
    assert_eq!(rule["tables"][0]["resumed"], true, "{rule}");
    let after = all_location_ids(&client).await;
    let gone: BTreeSet<i64> = before.difference(&after).copied().collect();
    assert_eq!(gone, due, "deleted exactly the oracle's rows");
    assert!(held.is_subset(&after), "no held row was touched");
    db.cmd().args(["audit", "verify"]).assert().success();
}

/// An `archive dump` running beside a partition purge made the purge exit with the
/// server's bare "db error: ERROR: canceling statement due to lock timeout". The
/// rule's error now reads like every other error derbes prints: the lock was held past
/// lock_timeout, nothing of that step committed, and how to find the holder. (Another
/// session's lock on the partitioned table stands in for the dump.)
#[tokio::test]
async fn a_partition_purge_stopped_by_a_lock_says_so_and_what_to_do() {
    let db = TestDb::migrated().await;
    let as_of = as_of_days_ago(0);
    let mut holder = db.client().await;
    let before = server_log_partitions(&holder).await;
    let tx = holder.transaction().await.unwrap();
    tx.batch_execute("LOCK TABLE server_logs IN SHARE UPDATE EXCLUSIVE MODE")
        .await
        .unwrap();
    let out = db
        .cmd()
        .args(["purge", "--ticket", "RET-1", "--yes", "--format", "json"])
        .args([
            "--rule",
            "server-logs",
            "--as-of",
            &as_of,
            "--lock-timeout",
            "1s",
        ])
        .output()
        .unwrap();
    tx.rollback().await.unwrap();
    assert!(!out.status.success());
    let report = json(&out.stdout);
    let error = report["rules"][0]["error"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        error.contains("stayed locked by another session"),
        "{report}"
    );
    assert!(error.contains("pg_locks"), "{report}");
    assert!(!error.contains("db error"), "{report}");
    assert_eq!(
        server_log_partitions(&holder).await,
        before,
        "no partition was detached"
    );
}

/// A batch that waits for a row longer than --lock-timeout (another session holds
/// it a little longer) is rolled back and run again from the same checkpoint: the
/// purge finishes, deletes exactly the due rows, and says at -v that it retried.
#[tokio::test]
async fn a_batch_stopped_by_a_passing_lock_is_retried_and_the_purge_finishes() {
    let db = TestDb::migrated().await;
    let client = seed(&db).await;
    let as_of = as_of_days_ago(0);
    let cutoff = checked_cutoff(&db, &client, &as_of, "location").await;
    let due = ids(&client, LOCATIONS_DUE, cutoff).await;
    let before = all_location_ids(&client).await;
    let first_due = *due.first().expect("due rows");
    let mut holder = db.client().await;
    let tx = holder.transaction().await.unwrap();
    tx.execute(
        "SELECT id FROM locations WHERE id = $1 FOR UPDATE",
        &[&first_due],
    )
    .await
    .unwrap();
    let purge = Process::new(assert_cmd::cargo::cargo_bin("derbes"))
        .args([
            "-v", "purge", "--ticket", "RET-1", "--yes", "--format", "json",
        ])
        .args(["--rule", "location", "--as-of", &as_of, "--batch-size", "7"])
        .args(["--lock-timeout", "1s"])
        .env("DATABASE_URL", db.conninfo())
        .env("DERBES_MAP", reference_map())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Once the purge waits for the row, hold it past the 1 s lock timeout, then let go
    // while the retry waits.
    let started = Instant::now();
    loop {
        let waiting: i64 = client
            .query_one(
                "SELECT count(*) FROM pg_stat_activity \
                 WHERE application_name = 'derbes' AND wait_event_type = 'Lock'",
                &[],
            )
            .await
            .unwrap()
            .get(0);
        if waiting > 0 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the purge never waited for the row"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    tx.rollback().await.unwrap();
    let out = purge.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("SQLSTATE 55P03") && stderr.contains("retry 1 of 3"),
        "the retry is logged: {stderr}"
    );
    let after = all_location_ids(&client).await;
    let gone: BTreeSet<i64> = before.difference(&after).copied().collect();
    assert_eq!(gone, due, "deleted exactly the oracle's rows");
    let report = json(&out.stdout);
    assert_eq!(report["rules"][0]["status"], "done", "{report}");
    assert_eq!(
        report["rules"][0]["deleted"].as_i64().unwrap(),
        due.len() as i64
    );
    db.cmd().args(["audit", "verify"]).assert().success();
}

/// A server restart in the middle of a purge (a failover, a maintenance restart):
/// the run exits 1 saying the connection was lost, the batches it committed and
/// their checkpoint stay, and the rerun resumes and deletes exactly the rest of the
/// due rows; the audit chain verifies. On a throwaway cluster: the shared test
/// server is never restarted.
#[tokio::test]
async fn a_purge_cut_by_a_server_restart_exits_1_and_the_rerun_finishes() {
    let (cluster, conninfo, client) = reference_on_own_cluster("purge_restart").await;
    client.batch_execute(SEED_ROWS).await.unwrap();
    let as_of = as_of_days_ago(0);
    let cutoff = cutoff_apart(&client, &as_of, "location").await;
    let due = ids(&client, LOCATIONS_DUE, cutoff).await;
    let before = all_location_ids(&client).await;
    assert!(due.len() > 14, "several batches are due");
    let purge = || {
        let mut purge = Process::new(assert_cmd::cargo::cargo_bin("derbes"));
        purge
            .args(["purge", "--ticket", "RET-1", "--yes", "--format", "json"])
            .args(["--rule", "location", "--as-of", &as_of, "--batch-size", "7"])
            .env("DATABASE_URL", &conninfo)
            .env("DERBES_MAP", reference_map())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        purge
    };
    // The first batch commits; the server restarts while the second is open.
    let dir = tempfile::tempdir().unwrap();
    let flag = dir.path().join("paused");
    let first = purge()
        .env("DERBES_FAULT_POINT", "batch.applied")
        .env("DERBES_FAULT_PAUSE", &flag)
        .spawn()
        .unwrap();
    wait_for(&flag).await;
    std::fs::remove_file(&flag).unwrap();
    wait_for(&flag).await;
    drop(client);
    cluster.restart();
    std::fs::remove_file(&flag).unwrap();
    let out = first.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let said = format!("{stderr}{}", String::from_utf8_lossy(&out.stdout));
    assert!(said.contains("connection to PostgreSQL was lost"), "{said}");
    let client = cluster.client("purge_restart").await;
    let midway = all_location_ids(&client).await;
    let gone_midway = before.len() - midway.len();
    assert!(
        gone_midway > 0 && gone_midway < due.len(),
        "the first batch stayed, the open one rolled back ({gone_midway} of {})",
        due.len()
    );
    // The rerun resumes from the checkpoint and finishes.
    let out = purge().output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(json(&out.stdout)["rules"][0]["tables"][0]["resumed"], true);
    let after = all_location_ids(&client).await;
    let gone: BTreeSet<i64> = before.difference(&after).copied().collect();
    assert_eq!(gone, due, "deleted exactly the oracle's rows");
    crate::support::derbes_cmd()
        .env("DATABASE_URL", &conninfo)
        .env("DERBES_MAP", reference_map())
        .args(["audit", "verify"])
        .assert()
        .success();
}
