//! Test harness: every test gets its own PostgreSQL database, cloned from a template
//! that holds the reference schema and a small synthetic population, and dropped
//! when the test ends (pass or fail). CLI tests run the built binary.
//!
//! The server is `DERBES_TEST_DATABASE_URL` (default: the local one on
//! 127.0.0.1:5432 as `postgres`). Templates are named after a digest of what they
//! hold, so a changed schema or generator builds a fresh one; the first test of a run
//! drops the templates no current test uses.

#![allow(dead_code)]

pub mod cluster;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use sha2::{Digest, Sha256};
use tokio_postgres::{Client, NoTls};

/// Borrowers in the template population.
pub const TEMPLATE_BORROWERS: u64 = 100;
/// Seed of the template population.
pub const TEMPLATE_SEED: u64 = 42;

pub fn server_conninfo() -> String {
    std::env::var("DERBES_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "host=127.0.0.1 port=5432 user=postgres dbname=postgres".to_owned())
}

/// The conninfo of database `name` on the test server.
pub fn conninfo_for(name: &str) -> String {
    let base = server_conninfo();
    let without_db: Vec<&str> = base
        .split_whitespace()
        .filter(|kv| !kv.starts_with("dbname="))
        .collect();
    format!("{} dbname={name}", without_db.join(" "))
}

pub async fn connect_to(name: &str) -> Client {
    let (client, connection) = tokio_postgres::connect(&conninfo_for(name), NoTls)
        .await
        .unwrap_or_else(|e| {
            panic!(
                "cannot reach the test PostgreSQL ({}): {e}",
                server_conninfo()
            )
        });
    tokio::spawn(connection);
    client
}

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn reference_map() -> PathBuf {
    repo_root().join("examples/datamap.toml")
}

/// What a template holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Template {
    /// Nothing: an empty database.
    Empty,
    /// The reference schema and the synthetic population.
    Reference,
}

/// A scratch database, dropped on Drop.
pub struct TestDb {
    pub name: String,
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

impl TestDb {
    /// An empty scratch database.
    pub async fn empty() -> TestDb {
        TestDb::create(Template::Empty).await
    }

    /// A scratch database holding the reference schema and population.
    pub async fn reference() -> TestDb {
        TestDb::create(Template::Reference).await
    }

    /// Like [`TestDb::reference`] with the derbes schema installed.
    pub async fn migrated() -> TestDb {
        let db = TestDb::reference().await;
        let mut client = db.client().await;
        derbes::pg::migrate::apply(&mut client, false)
            .await
            .expect("derbes migrate works on a fresh database");
        db
    }

    pub async fn create(template: Template) -> TestDb {
        let name = format!(
            "derbes_t_{}_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed),
            rand_suffix()
        );
        let admin = connect_to("postgres").await;
        let sql = match template {
            Template::Empty => format!("CREATE DATABASE \"{name}\" TEMPLATE template0"),
            Template::Reference => {
                let template_name = ensure_reference_template(&admin).await;
                format!("CREATE DATABASE \"{name}\" TEMPLATE \"{template_name}\"")
            }
        };
        // Two clones of one template at the same instant conflict; retry briefly.
        let mut attempts = 0;
        loop {
            match admin.batch_execute(&sql).await {
                Ok(()) => break,
                Err(e) if attempts < 50 && e.to_string().contains("being accessed") => {
                    attempts += 1;
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
                Err(e) => panic!("cannot create test database {name}: {e}"),
            }
        }
        TestDb { name }
    }

    pub fn conninfo(&self) -> String {
        conninfo_for(&self.name)
    }

    pub async fn client(&self) -> Client {
        connect_to(&self.name).await
    }

    /// The built `derbes` binary, pointed at this database and the reference map.
    pub fn cmd(&self) -> assert_cmd::Command {
        let mut cmd = derbes_cmd();
        cmd.env("DATABASE_URL", self.conninfo())
            .env("DERBES_MAP", reference_map());
        cmd
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let name = self.name.clone();
        // Drop runs outside any runtime: use a thread with its own.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async {
                let admin = connect_to("postgres").await;
                let _ = admin
                    .batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                    .await;
            });
        })
        .join();
    }
}

/// The built binary with a clean environment: no inherited database or map.
pub fn derbes_cmd() -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::cargo_bin("derbes").expect("the derbes binary is built");
    for var in [
        "DATABASE_URL",
        "DERBES_READ_DATABASE_URL",
        "DERBES_MAP",
        "PGHOST",
        "PGPORT",
        "PGUSER",
        "PGDATABASE",
        "PGPASSWORD",
        "PGSERVICE",
        "PGSSLMODE",
    ] {
        cmd.env_remove(var);
    }
    // A developer's own settings (calendar, keys, fault points, log filter) never
    // reach the binary under test: a test sets what it needs.
    for (var, _) in std::env::vars_os() {
        if var.to_string_lossy().starts_with("DERBES_") {
            cmd.env_remove(var);
        }
    }
    cmd.env("DERBES_OPERATOR", "test-operator");
    cmd
}

fn rand_suffix() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("{nanos:x}")
}

/// Build the reference template once per content digest, under an advisory lock
/// so parallel test processes wait for one builder.
pub async fn ensure_reference_template(admin: &Client) -> String {
    let digest = {
        let mut hasher = Sha256::new();
        hasher.update(include_str!("../../sql/reference/schema.sql"));
        hasher.update(TEMPLATE_BORROWERS.to_le_bytes());
        hasher.update(TEMPLATE_SEED.to_le_bytes());
        hasher.update(env!("CARGO_PKG_VERSION"));
        hasher.update(generator_fingerprint());
        hex::encode(hasher.finalize())
    };
    let name = format!("derbes_tpl_{}", &digest[..12]);
    admin
        .execute(
            "SELECT pg_advisory_lock(hashtext('derbes-test-template'))",
            &[],
        )
        .await
        .expect("template lock");
    let exists = admin
        .query_one(
            "SELECT count(*) FROM pg_database WHERE datname = $1",
            &[&name],
        )
        .await
        .expect("pg_database readable")
        .get::<_, i64>(0)
        > 0;
    if !exists {
        let building = format!("{name}_building");
        for sql in [
            format!("DROP DATABASE IF EXISTS \"{building}\" WITH (FORCE)"),
            format!("CREATE DATABASE \"{building}\" TEMPLATE template0"),
        ] {
            admin
                .batch_execute(&sql)
                .await
                .expect("create template database");
        }
        {
            let client = connect_to(&building).await;
            populate_reference(&client).await;
        }
        // Rename only once complete: a half-built template is never used.
        admin
            .execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1",
                &[&building],
            )
            .await
            .expect("close template connections");
        admin
            .batch_execute(&format!(
                "ALTER DATABASE \"{building}\" RENAME TO \"{name}\""
            ))
            .await
            .expect("finish template");
    }
    if !SWEPT.swap(true, Ordering::Relaxed) {
        drop_stale_templates(admin, &name).await;
    }
    admin
        .execute(
            "SELECT pg_advisory_unlock(hashtext('derbes-test-template'))",
            &[],
        )
        .await
        .expect("template unlock");
    name
}

static SWEPT: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Drop the templates of other schema or generator versions, so they do not pile up
/// on the test server. One still being cloned (by a run of another checkout) cannot
/// be dropped and is left for a later sweep.
pub async fn drop_stale_templates(admin: &Client, current: &str) {
    let stale: Vec<String> = admin
        .query(
            "SELECT datname FROM pg_database WHERE datname LIKE 'derbes\\_tpl\\_%' \
             AND datname NOT LIKE '%\\_building' AND datname <> $1",
            &[&current],
        )
        .await
        .expect("pg_database readable")
        .iter()
        .map(|row| row.get(0))
        .collect();
    for name in stale {
        let _ = admin
            .batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\""))
            .await;
    }
}

/// Identifies the generator's code, so a changed generator builds a new template.
fn generator_fingerprint() -> &'static [u8] {
    concat!(
        include_str!("../../src/ops/sample/mod.rs"),
        include_str!("../../src/ops/sample/load.rs"),
        include_str!("../../src/ops/sample/names.rs"),
        include_str!("../../src/ops/sample/person.rs"),
        include_str!("../../src/ops/sample/row.rs"),
        include_str!("../../src/ops/sample/shared.rs"),
        include_str!("../../src/ops/sample/world.rs"),
        include_str!("../../src/ops/sample/writers.rs")
    )
    .as_bytes()
}

/// A migrated reference database `name` on a throwaway cluster of its own, for
/// tests that restart the server (the shared test server is never restarted):
/// the cluster, the database's connection string and a client of it.
pub async fn reference_on_own_cluster(name: &str) -> (cluster::Cluster, String, Client) {
    let cluster = cluster::Cluster::start(cluster::ClusterOptions { tls: false });
    cluster
        .client("postgres")
        .await
        .batch_execute(&format!("CREATE DATABASE \"{name}\""))
        .await
        .unwrap();
    let conninfo = cluster.conninfo(name);
    let mut client = cluster.client(name).await;
    populate_reference(&client).await;
    derbes::pg::migrate::apply(&mut client, false)
        .await
        .unwrap();
    (cluster, conninfo, client)
}

pub async fn populate_reference(client: &Client) {
    derbes::ops::sample::load_reference_schema(client)
        .await
        .expect("reference schema loads");
    let options = derbes::ops::sample::SampleOptions {
        borrowers: TEMPLATE_BORROWERS,
        seed: TEMPLATE_SEED,
        as_of: chrono::NaiveDate::from_ymd_opt(2026, 11, 1).expect("date"),
        log_rows_per_borrower: 20,
    };
    derbes::ops::sample::generate(client, &options, &mut |_, _| {})
        .await
        .expect("sample population generates");
}

/// Write `text` to a file in a fresh temporary directory; returns the directory
/// guard and the path.
pub fn temp_file(name: &str, text: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join(name);
    std::fs::write(&path, text).expect("write temp file");
    (dir, path)
}

pub fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// A checksum of everything a test may need to prove untouched: one entry per
/// ordinary table (and partition) of every schema but the system ones, derbes'
/// own (`derbes.audit_log`, `derbes.blocks`, ...) included, keyed `schema.table`
/// and holding the md5 of its rows as text in order; plus `(relations)`, the md5 of
/// the list of every relation, sequence and index with its kind, so that a created
/// or dropped object shows too. Compare two calls with `assert_eq!`.
pub async fn database_checksums(client: &Client) -> std::collections::BTreeMap<String, String> {
    let mut sums = std::collections::BTreeMap::new();
    let relations: String = client
        .query_one(
            "SELECT md5(coalesce(string_agg(n.nspname || '.' || c.relname || ':' || c.relkind::text, \
             ',' ORDER BY n.nspname, c.relname), '')) \
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') \
               AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%'",
            &[],
        )
        .await
        .expect("list relations")
        .get(0);
    sums.insert("(relations)".to_owned(), relations);
    let tables = client
        .query(
            "SELECT format('%I.%I', n.nspname, c.relname), n.nspname || '.' || c.relname \
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema') \
               AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%'",
            &[],
        )
        .await
        .expect("list tables");
    for table in tables {
        let quoted: String = table.get(0);
        let name: String = table.get(1);
        let sum: String = client
            .query_one(
                &format!(
                    "SELECT count(*)::text || ':' || md5(coalesce(string_agg(t::text, E'\\n' \
                     ORDER BY t::text), '')) FROM ONLY {quoted} t"
                ),
                &[],
            )
            .await
            .unwrap_or_else(|e| panic!("checksum {name}: {e}"))
            .get(0);
        sums.insert(name, sum);
    }
    sums
}

/// Terminate the backends of the sessions with this `application_name` in the
/// client's database (`derbes`, or `derbes-job-N` of a parallel dump), as a server
/// restart or an administrator would; returns how many there were.
pub async fn terminate_sessions(client: &Client, application_name: &str) -> i64 {
    client
        .query_one(
            "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = current_database() AND application_name = $1) t",
            &[&application_name],
        )
        .await
        .unwrap()
        .get(0)
}

/// The one number a counting query returns (`SELECT count(*) ...`).
pub async fn count(client: &Client, sql: &str) -> i64 {
    client
        .query_one(sql, &[])
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .get(0)
}

/// The tables of the reference schema (`sql/reference/schema.sql`) that hold a
/// subject's rows, each with its primary key and the hand-written condition (over
/// alias `t`, subject keys `$1`, a `bigint[]`) of a row that belongs to a subject: borrowers by
/// id, payments through their loan, every other table by its `borrower_id`. Written
/// apart from derbes' link builder. A row whose `borrower_id` is NULL (an anonymous
/// server log line) belongs to nobody.
pub const SUBJECT_TABLES: &[(&str, &str, &str)] = &[
    ("borrowers", "t.id", "t.id = ANY($1)"),
    ("addresses", "t.id", "t.borrower_id = ANY($1)"),
    ("identity_documents", "t.id", "t.borrower_id = ANY($1)"),
    ("contact_persons", "t.id", "t.borrower_id = ANY($1)"),
    ("employments", "t.id", "t.borrower_id = ANY($1)"),
    ("bank_cards", "t.id", "t.borrower_id = ANY($1)"),
    ("bank_accounts", "t.id", "t.borrower_id = ANY($1)"),
    ("photos", "t.id", "t.borrower_id = ANY($1)"),
    ("loans", "t.id", "t.borrower_id = ANY($1)"),
    (
        "payments",
        "t.id",
        "EXISTS (SELECT 1 FROM loans l WHERE l.id = t.loan_id AND l.borrower_id = ANY($1))",
    ),
    ("devices", "t.id", "t.borrower_id = ANY($1)"),
    ("sessions", "t.id", "t.borrower_id = ANY($1)"),
    (
        "server_logs",
        "t.id, t.logged_at",
        "t.borrower_id = ANY($1)",
    ),
    ("cookies", "t.id", "t.borrower_id = ANY($1)"),
    ("usage_events", "t.id", "t.borrower_id = ANY($1)"),
    ("locations", "t.id", "t.borrower_id = ANY($1)"),
    ("consents", "t.id", "t.borrower_id = ANY($1)"),
    ("policy_notices", "t.id", "t.borrower_id = ANY($1)"),
    ("disclosures", "t.id", "t.borrower_id = ANY($1)"),
    ("support_messages", "t.id", "t.borrower_id = ANY($1)"),
];

/// Panics unless every `[tables.NAME]` of the reference map is one of
/// [`SUBJECT_TABLES`]: a table added to the map must be added there too, or the
/// checks built on it would miss it.
fn assert_subject_tables_cover_the_map() {
    let map = read(&reference_map());
    for line in map.lines() {
        let Some(name) = line
            .strip_prefix("[tables.")
            .and_then(|rest| rest.strip_suffix(']'))
        else {
            continue;
        };
        if name.contains('.') {
            continue;
        }
        assert!(
            SUBJECT_TABLES.iter().any(|(table, _, _)| *table == name),
            "the reference map's table {name} is missing from support::SUBJECT_TABLES"
        );
    }
}

/// Issue 22, defect 4: a checksum of every row that does NOT belong to subject
/// `subject_id`, per table of the reference schema, so that a command run on one
/// subject can be shown to leave everybody else exactly as they were (a masking
/// UPDATE that lost its key filter, or a delete reaching another subject's devices
/// or payments, changes one of them; a row count would not).
///
/// One entry per table of [`SUBJECT_TABLES`] (its other subjects' rows, and the rows
/// of nobody), `count:md5` of the rows as text in primary-key order, hand-written
/// SQL; plus every other table of schema `public` that is not a partition (such as
/// `policy_versions`, which names no subject), whole. Compare two calls with
/// `assert_eq!`.
pub async fn others_checksums(
    client: &Client,
    subject_id: i64,
) -> std::collections::BTreeMap<String, String> {
    others_checksums_except(client, &[subject_id]).await
}

/// [`others_checksums`] leaving out the rows of several subjects.
pub async fn others_checksums_except(
    client: &Client,
    subject_ids: &[i64],
) -> std::collections::BTreeMap<String, String> {
    assert_subject_tables_cover_the_map();
    let mut sums = std::collections::BTreeMap::new();
    for (table, key, mine) in SUBJECT_TABLES {
        let sql = format!(
            "SELECT count(*)::text || ':' || md5(coalesce(string_agg(t::text, E'\\n' \
             ORDER BY {key}), '')) FROM public.{table} t WHERE NOT coalesce(({mine}), false)"
        );
        let sum: String = client
            .query_one(&sql, &[&subject_ids])
            .await
            .unwrap_or_else(|e| panic!("checksum of others in {table}: {e}"))
            .get(0);
        sums.insert((*table).to_owned(), sum);
    }
    // Tables naming no subject (policy_versions, and any a test adds), whole.
    let rest = client
        .query(
            "SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition \
             ORDER BY 1",
            &[],
        )
        .await
        .expect("list public tables");
    for row in rest {
        let table: String = row.get(0);
        if SUBJECT_TABLES.iter().any(|(t, _, _)| *t == table) {
            continue;
        }
        let sum: String = client
            .query_one(
                &format!(
                    "SELECT count(*)::text || ':' || md5(coalesce(string_agg(t::text, E'\\n' \
                     ORDER BY t::text), '')) FROM public.\"{table}\" t"
                ),
                &[],
            )
            .await
            .unwrap_or_else(|e| panic!("checksum of {table}: {e}"))
            .get(0);
        sums.insert(table, sum);
    }
    assert!(
        sums.contains_key("policy_versions"),
        "policy_versions is checked whole: {sums:?}"
    );
    sums
}

/// The rows of subject `subject_id` in every table of [`SUBJECT_TABLES`], by hand:
/// table -> (primary key as text -> the row as text). Tables where the subject has
/// no row are left out.
pub async fn subject_rows(
    client: &Client,
    subject_id: i64,
) -> std::collections::BTreeMap<String, std::collections::BTreeMap<String, String>> {
    let mut rows = std::collections::BTreeMap::new();
    for (table, key, mine) in SUBJECT_TABLES {
        let found: std::collections::BTreeMap<String, String> = client
            .query(
                &format!(
                    "SELECT ROW({key})::text, t::text FROM public.{table} t WHERE {mine} ORDER BY {key}"
                ),
                &[&vec![subject_id]],
            )
            .await
            .unwrap_or_else(|e| panic!("rows of the subject in {table}: {e}"))
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
        if !found.is_empty() {
            rows.insert((*table).to_owned(), found);
        }
    }
    rows
}
