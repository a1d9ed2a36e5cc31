//! `archive dump --jobs N`: one snapshot across every job while others write, a
//! job's connection killed mid-dump, and key-range splits that cover every row
//! exactly once for integer, text and composite keys.

use std::collections::BTreeMap;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::Command as Process;

use crate::archive::{age_keys, seed, Keys};
use crate::support::TestDb;

/// `age -d | tar x` into a fresh directory; returns it.
fn unpack(archive: &Path, identity: &Path) -> tempfile::TempDir {
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

/// Every CSV member of `table` (`public.<table>...csv`) in the unpacked archive:
/// member name -> rows (each row as its fields).
fn members_of(dir: &Path, table: &str) -> BTreeMap<String, Vec<Vec<String>>> {
    let prefix = format!("public.{table}.");
    let mut found = BTreeMap::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with(&prefix) && name.ends_with(".csv")
            || name == format!("public.{table}.csv")
        {
            let rows = csv::Reader::from_path(entry.path())
                .unwrap()
                .records()
                .map(|r| r.unwrap().iter().map(str::to_owned).collect())
                .collect();
            found.insert(name, rows);
        }
    }
    found
}

fn dump_cmd(db: &TestDb, keys: &Keys, out: &Path, table: &str, jobs: &str) -> Process {
    let mut cmd = Process::new(assert_cmd::cargo::cargo_bin("derbes"));
    cmd.env("DATABASE_URL", db.conninfo())
        .env("DERBES_MAP", crate::support::reference_map())
        .env_remove("DERBES_FAULT_POINT")
        .env_remove("DERBES_FAULT_PAUSE")
        .args([
            "archive", "dump", "--yes", "--ticket", "T-1", "--keep", "1y", "--table", table,
            "--jobs", jobs, "-r",
        ])
        .arg(&keys.age_recipient)
        .arg("--out")
        .arg(out);
    cmd
}

/// Wait until the paused run wrote its pid into `flag`.
async fn wait_for_pause(flag: &Path) {
    for _ in 0..600 {
        if std::fs::read_to_string(flag).is_ok_and(|s| !s.trim().is_empty()) {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the dump never reached its fault point");
}

/// Collects a child's stderr lines on a thread, so the test can read them while
/// the child runs.
fn collect_stderr(
    child: &mut std::process::Child,
) -> (
    std::sync::mpsc::Receiver<String>,
    std::thread::JoinHandle<String>,
) {
    let stderr = child.stderr.take().unwrap();
    let (send, receive) = std::sync::mpsc::channel();
    let thread = std::thread::spawn(move || {
        let mut all = String::new();
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            let _ = send.send(line.clone());
            all.push_str(&line);
            all.push('\n');
        }
        all
    });
    (receive, thread)
}

#[tokio::test]
async fn jobs_4_archive_holds_exactly_the_rows_of_one_snapshot_while_others_write() {
    let db = TestDb::migrated().await;
    seed(&db).await;
    let keys = age_keys();
    let out = keys.dir.join("jobs.age");
    let flag = keys.dir.join("pause");
    let client = db.client().await;
    client.batch_execute("ANALYZE server_logs").await.unwrap();

    let mut child = dump_cmd(&db, &keys, &out, "server_logs", "4")
        .env("DERBES_LOG", "derbes=debug")
        .env("DERBES_RANGE_MIN_ROWS", "100")
        .env("DERBES_FAULT_POINT", "archive.dump.jobs")
        .env("DERBES_FAULT_PAUSE", &flag)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let (lines, stderr) = collect_stderr(&mut child);
    let snapshot = loop {
        let line = lines
            .recv_timeout(std::time::Duration::from_secs(30))
            .expect("the dump logs the snapshot it exports");
        if let Some(at) = line.find("snapshot=") {
            break line[at + "snapshot=".len()..]
                .chars()
                .take_while(|c| c.is_ascii_hexdigit() || *c == '-')
                .collect::<String>();
        }
    };
    wait_for_pause(&flag).await;

    // The rows of the exported snapshot, read in it.
    let mut reader = db.client().await;
    let tx = reader
        .build_transaction()
        .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await
        .unwrap();
    tx.batch_execute(&format!("SET TRANSACTION SNAPSHOT '{snapshot}'"))
        .await
        .unwrap();
    let row = tx
        .query_one(
            "SELECT count(*), array_agg(id::text ORDER BY id) FROM server_logs",
            &[],
        )
        .await
        .unwrap();
    let (count, expected): (i64, Vec<String>) = (row.get(0), row.get(1));
    tx.rollback().await.unwrap();

    // Another connection inserts and deletes while the jobs wait to COPY.
    client
        .batch_execute(
            "INSERT INTO server_logs (logged_at, borrower_id, ip, method, path, status, user_agent)
               SELECT now() - (g || ' minutes')::interval, 900001, '10.0.0.2', 'POST', '/new/' || g, 201, 'ua'
               FROM generate_series(1, 300) g;
             DELETE FROM server_logs WHERE id IN (SELECT id FROM server_logs ORDER BY id LIMIT 250);",
        )
        .await
        .unwrap();
    let now: i64 = client
        .query_one("SELECT count(*) FROM server_logs", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(now, count + 50, "the writes committed");
    std::fs::remove_file(&flag).unwrap();
    // More writes while the jobs copy.
    client
        .batch_execute("DELETE FROM server_logs WHERE path LIKE '/new/%' AND id % 2 = 0")
        .await
        .unwrap();

    let status = child.wait().unwrap();
    let stderr = stderr.join().unwrap();
    assert!(status.success(), "dump --jobs 4 failed: {stderr}");

    let dir = unpack(&out, &keys.age_identity);
    let members = members_of(dir.path(), "server_logs");
    assert!(
        members.len() > 1,
        "a partitioned table is cut by partition: {:?}",
        members.keys()
    );
    let mut archived: Vec<String> = members
        .values()
        .flatten()
        .map(|row| row[0].clone())
        .collect();
    archived.sort_by_key(|id| id.parse::<i64>().unwrap());
    assert_eq!(archived.len() as i64, count, "the snapshot's row count");
    assert_eq!(archived, expected, "exactly the snapshot's rows");

    let verify = crate::support::derbes_cmd()
        .env("DATABASE_URL", db.conninfo())
        .args(["archive", "verify", "-i"])
        .arg(&keys.age_identity)
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stderr)
    );
}

#[tokio::test]
async fn a_job_connection_terminated_mid_dump_fails_it_and_leaves_nothing() {
    let db = TestDb::migrated().await;
    seed(&db).await;
    let keys = age_keys();
    let out_dir = keys.dir.join("out");
    std::fs::create_dir(&out_dir).unwrap();
    let out = out_dir.join("killed.age");
    let flag = keys.dir.join("pause");

    client_analyze(&db).await;
    let mut child = dump_cmd(&db, &keys, &out, "server_logs", "4")
        .env("DERBES_RANGE_MIN_ROWS", "100")
        .env("DERBES_FAULT_POINT", "archive.dump.jobs")
        .env("DERBES_FAULT_PAUSE", &flag)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let (_lines, stderr) = collect_stderr(&mut child);
    wait_for_pause(&flag).await;
    let killer = db.client().await;
    let jobs: i64 = killer
        .query_one(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() \
             AND application_name LIKE 'derbes-job-%'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(jobs >= 2, "the dump runs several jobs ({jobs})");
    let killed: i64 = crate::support::terminate_sessions(&killer, "derbes-job-2").await;
    assert_eq!(killed, 1);
    std::fs::remove_file(&flag).unwrap();
    let status = child.wait().unwrap();
    let stderr = stderr.join().unwrap();
    assert_eq!(
        status.code(),
        Some(1),
        "a lost job fails the dump: {stderr}"
    );
    assert!(stderr.contains("server_logs"), "{stderr}");
    assert_eq!(
        std::fs::read_dir(&out_dir).unwrap().count(),
        0,
        "no file, not even a partial one"
    );
    let catalogued: i64 = killer
        .query_one("SELECT count(*) FROM derbes.archives", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(catalogued, 0, "no catalogue row");
    let audited: i64 = killer
        .query_one("SELECT count(*) FROM derbes.audit_log", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(audited, 0, "no audit row");
}

async fn client_analyze(db: &TestDb) {
    db.client()
        .await
        .batch_execute("ANALYZE server_logs")
        .await
        .unwrap();
}

/// Dump `cookies` with `--jobs 4` cut into small key ranges; returns the members.
async fn dump_cookies_in_ranges(
    db: &TestDb,
    keys: &Keys,
    name: &str,
) -> (PathBuf, tempfile::TempDir) {
    db.client()
        .await
        .batch_execute("ANALYZE cookies")
        .await
        .unwrap();
    let out = keys.dir.join(name);
    let output = dump_cmd(db, keys, &out, "cookies", "4")
        .env("DERBES_RANGE_MIN_ROWS", "100")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let dir = unpack(&out, &keys.age_identity);
    (out, dir)
}

#[tokio::test]
async fn key_ranges_cover_every_row_once_for_integer_text_and_composite_keys() {
    let db = TestDb::migrated().await;
    seed(&db).await;
    let keys = age_keys();
    let client = db.client().await;
    // Names that sort and quote awkwardly: quotes, backslashes, spaces, Cyrillic,
    // shared prefixes; kinds repeat, so a composite key's bounds tie on it.
    client
        .batch_execute(
            "DELETE FROM cookies;
             INSERT INTO cookies (borrower_id, kind, name, value_hash, set_at)
               SELECT 900001, (ARRAY['cookie', 'pixel', 'local_storage'])[1 + g % 3],
                      (ARRAY['a', 'O''Brien ', 'б\\', 'Z z', 'a''''b'])[1 + g % 5] || g,
                      md5(g::text), now()
               FROM generate_series(1, 3000) g;",
        )
        .await
        .unwrap();
    let all: Vec<String> = client
        .query_one("SELECT array_agg(id::text ORDER BY id) FROM cookies", &[])
        .await
        .unwrap()
        .get(0);

    let setups = [
        ("integer", ""),
        (
            "text",
            "ALTER TABLE cookies DROP CONSTRAINT cookies_pkey, ADD CONSTRAINT cookies_pkey PRIMARY KEY (name)",
        ),
        (
            "composite",
            "ALTER TABLE cookies DROP CONSTRAINT cookies_pkey, ADD CONSTRAINT cookies_pkey PRIMARY KEY (kind, name, id)",
        ),
    ];
    let mut last = None;
    for (label, alter) in setups {
        if !alter.is_empty() {
            client.batch_execute(alter).await.unwrap();
        }
        let (out, dir) = dump_cookies_in_ranges(&db, &keys, &format!("{label}.age")).await;
        last = Some(out);
        let members = members_of(dir.path(), "cookies");
        let ranges: Vec<&String> = members.keys().filter(|m| m.contains(".r0")).collect();
        assert!(
            ranges.len() >= 3,
            "{label} key: the table was cut into ranges: {:?}",
            members.keys()
        );
        assert_eq!(ranges.len(), members.len(), "{label}: only range members");
        let mut ids: Vec<String> = members
            .values()
            .flatten()
            .map(|row| row[0].clone())
            .collect();
        for rows in members.values() {
            assert!(!rows.is_empty() || members.len() > 1);
        }
        ids.sort_by_key(|id| id.parse::<i64>().unwrap());
        let before = ids.len();
        ids.dedup();
        assert_eq!(before, ids.len(), "{label} key: no row in two ranges");
        assert_eq!(ids, all, "{label} key: every row in some range");
    }

    // A ranged archive restores like any other: every row back, once.
    let before = crate::support::database_checksums(&client).await;
    client.batch_execute("DELETE FROM cookies").await.unwrap();
    let restored = crate::support::derbes_cmd()
        .env("DATABASE_URL", db.conninfo())
        .env("DERBES_MAP", crate::support::reference_map())
        .args(["archive", "restore", "--yes", "--ticket", "T-2", "-i"])
        .arg(&keys.age_identity)
        .arg(last.unwrap())
        .output()
        .unwrap();
    assert!(
        restored.status.success(),
        "{}",
        String::from_utf8_lossy(&restored.stderr)
    );
    let after = crate::support::database_checksums(&client).await;
    assert!(before.contains_key("public.cookies"));
    assert_eq!(
        before.get("public.cookies"),
        after.get("public.cookies"),
        "the cookies restored are the cookies archived"
    );
}

#[tokio::test]
async fn parents_members_come_before_their_childrens_in_the_file() {
    let db = TestDb::migrated().await;
    seed(&db).await;
    let keys = age_keys();
    let client = db.client().await;
    client
        .batch_execute(
            "INSERT INTO loans (id, borrower_id, contract_no, principal, rate_percent, issued_at, due_on, closed_at, status)
               SELECT 910000 + g, 900001, 'JOBS-' || g, 1000, 30, now() - interval '7 years',
                      current_date - 2000, now() - interval '7 years' + interval '30 days', 'closed'
               FROM generate_series(1, 300) g;
             INSERT INTO payments (loan_id, paid_at, amount, channel)
               SELECT 910001 + g % 300, now() - interval '7 years', 10, 'card'
               FROM generate_series(1, 900) g;
             ANALYZE loans; ANALYZE payments;",
        )
        .await
        .unwrap();
    let out = keys.dir.join("rule.age");
    let output = Process::new(assert_cmd::cargo::cargo_bin("derbes"))
        .env("DATABASE_URL", db.conninfo())
        .env("DERBES_MAP", crate::support::reference_map())
        .env("DERBES_RANGE_MIN_ROWS", "50")
        .args([
            "archive",
            "dump",
            "--yes",
            "--ticket",
            "T-1",
            "--rule",
            "loan-records",
            "--jobs",
            "4",
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
    let listing = Process::new("sh")
        .arg("-c")
        .arg("age -d -i \"$1\" \"$2\" | tar -t -f -")
        .arg("sh")
        .arg(&keys.age_identity)
        .arg(&out)
        .output()
        .unwrap();
    let names: Vec<String> = String::from_utf8(listing.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    let position = |prefix: &str| -> Vec<usize> {
        names
            .iter()
            .enumerate()
            .filter(|(_, n)| n.starts_with(prefix))
            .map(|(i, _)| i)
            .collect()
    };
    // A rule's rows are the retention decision's, whose holds are tables of the
    // dump's session: the dump runs in one stream, parents first.
    let loans = position("public.loans.");
    let payments = position("public.payments.");
    assert!(
        !loans.is_empty() && !payments.is_empty(),
        "both tables were dumped: {names:?}"
    );
    assert!(
        loans.iter().max() < payments.iter().min(),
        "every loans member precedes every payments member: {names:?}"
    );
    assert_eq!(names.last().map(String::as_str), Some("manifest.json"));
}

/// A parallel dump killed while writing leaves its temporary and its run row, like
/// a single-stream one; the next dump removes them.
#[tokio::test]
async fn a_parallel_dump_killed_while_writing_is_cleaned_up_by_the_next_dump() {
    let db = TestDb::migrated().await;
    seed(&db).await;
    let keys = age_keys();
    let client = db.client().await;
    client.batch_execute("ANALYZE cookies").await.unwrap();
    let killed = keys.dir.join("killed.age");
    let status = dump_cmd(&db, &keys, &killed, "cookies", "4")
        .env("DERBES_RANGE_MIN_ROWS", "1")
        .env("DERBES_FAULT_POINT", "archive.dump.writing")
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(137));
    let partials = || crate::archive::partials(&keys.dir);
    assert_eq!(partials().len(), 1, "the kill left its temporary");
    crate::archive::wait_for_no_derbes_session(&db).await;
    let next = keys.dir.join("next.age");
    let output = dump_cmd(&db, &keys, &next, "cookies", "4")
        .env("DERBES_RANGE_MIN_ROWS", "1")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("did not finish"),
        "the next dump said what it removed"
    );
    assert!(partials().is_empty(), "{:?}", partials());
    assert!(!killed.exists());
}

#[tokio::test]
async fn jobs_out_of_range_is_a_usage_error_and_changes_nothing() {
    let db = TestDb::migrated().await;
    let keys = age_keys();
    let client = db.client().await;
    let before = crate::support::database_checksums(&client).await;
    for jobs in ["0", "65", "many"] {
        let out = keys.dir.join("never.age");
        let output = dump_cmd(&db, &keys, &out, "cookies", jobs)
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "--jobs {jobs}");
        assert!(
            String::from_utf8_lossy(&output.stderr).contains("--jobs"),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(!out.exists());
    }
    assert_eq!(before, crate::support::database_checksums(&client).await);
}
