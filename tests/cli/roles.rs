//! `derbes roles`: the printed SQL matches the reference `sql/roles.sql`; applied
//! to a reference database, each group role runs its own commands and is refused
//! the others' with the missing grant and the role that has it, nothing changed;
//! no role may change or remove an audit row.
//!
//! Roles are cluster-wide: each test prefixes them with its own database's name
//! and drops them at the end.

use predicates::prelude::*;
use tokio_postgres::{Client, NoTls};

use crate::archive::age_keys;
use crate::erase::mask_key;
use crate::rectify::AUDIT_KEY;
use crate::support::{database_checksums, repo_root, TestDb};

/// The three group roles and a login in each, made for one test database.
struct Roles {
    prefix: String,
    db: String,
}

impl Roles {
    /// Print the roles' SQL for `db`, apply it as the owner, and make a login in
    /// each group role.
    async fn apply(db: &TestDb, client: &Client) -> Roles {
        // Unique per test database, and a plain role-name prefix.
        let prefix = format!("r{}", db.name.trim_start_matches("derbes_t"))
            .to_ascii_lowercase()
            .replace(|c: char| !c.is_ascii_alphanumeric() && c != '_', "_");
        let prefix: String = prefix.chars().take(40).collect();
        // From here on, whatever fails, the roles are dropped with `roles`.
        let roles = Roles {
            prefix: prefix.clone(),
            db: db.name.clone(),
        };
        let output = db
            .cmd()
            .args(["roles", "--print-sql", "--prefix", &prefix])
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let sql = String::from_utf8(output.stdout).unwrap();
        client
            .batch_execute(&sql)
            .await
            .expect("the roles' SQL runs");
        // Running it again changes nothing and fails nothing.
        client
            .batch_execute(&sql)
            .await
            .expect("the roles' SQL runs twice");
        for role in ["support", "oncall", "dpo"] {
            client
                .batch_execute(&format!(
                    "CREATE ROLE \"{prefix}_u_{role}\" LOGIN IN ROLE \"{prefix}_{role}\""
                ))
                .await
                .expect("create a login");
        }
        roles
    }

    fn login(&self, role: &str) -> String {
        format!("{}_u_{role}", self.prefix)
    }

    /// The URL of the test database as the login of `role`.
    fn url(&self, role: &str) -> String {
        let base = crate::support::conninfo_for(&self.db);
        let host = field(&base, "host").unwrap_or("127.0.0.1".to_owned());
        let port = field(&base, "port").unwrap_or("5432".to_owned());
        format!(
            "postgres://{}@{host}:{port}/{}?sslmode=disable",
            self.login(role),
            self.db
        )
    }

    /// `derbes` connected as the login of `role`.
    fn cmd(&self, db: &TestDb, role: &str) -> assert_cmd::Command {
        let mut cmd = db.cmd();
        cmd.env("DATABASE_URL", self.url(role));
        cmd
    }
}

/// The roles go at the end of the test, also when it fails: they are cluster-wide
/// and would outlive the test database. Dropped before the database (declared
/// after it), in it, so their grants go with them.
impl Drop for Roles {
    fn drop(&mut self) {
        let names: Vec<String> = ["support", "oncall", "dpo"]
            .iter()
            .flat_map(|r| [self.login(r), format!("{}_{r}", self.prefix)])
            .collect();
        let db = self.db.clone();
        // Drop runs outside any runtime: use a thread with its own.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async {
                let client = crate::support::connect_to(&db).await;
                for name in names {
                    let exists = client
                        .query_opt("SELECT 1 FROM pg_roles WHERE rolname = $1", &[&name])
                        .await
                        .expect("read pg_roles")
                        .is_some();
                    if exists {
                        client
                            .batch_execute(&format!(
                                "DROP OWNED BY \"{name}\"; DROP ROLE \"{name}\""
                            ))
                            .await
                            .unwrap_or_else(|e| panic!("drop role {name}: {e}"));
                    }
                }
            });
        })
        .join();
    }
}

/// A `key=value` of a libpq conninfo.
fn field(conninfo: &str, key: &str) -> Option<String> {
    conninfo
        .split_whitespace()
        .find_map(|kv| kv.strip_prefix(&format!("{key}=")).map(str::to_owned))
}

/// An active borrower's id and IIN, skipping `skip` of them.
/// `cmd`, run under a role without the grants it needs: refused (exit 5) saying each
/// of `says`, and every table of the database exactly as before.
async fn refused_and_unchanged(client: &Client, mut cmd: assert_cmd::Command, says: &[&str]) {
    let before = database_checksums(client).await;
    let mut refused = cmd.assert().code(5);
    for text in says {
        refused = refused.stderr(predicate::str::contains(*text));
    }
    assert_eq!(before, database_checksums(client).await, "nothing changed");
}

async fn active(client: &Client, skip: i64) -> (i64, String) {
    let row = client
        .query_one(
            "SELECT id, iin FROM borrowers WHERE status = 'active' ORDER BY id OFFSET $1 LIMIT 1",
            &[&skip],
        )
        .await
        .expect("an active borrower");
    (row.get(0), row.get(1))
}

#[tokio::test]
async fn roles_sql_matches_the_reference_file() {
    let db = TestDb::migrated().await;
    let output = db.cmd().args(["roles", "--print-sql"]).output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let printed = String::from_utf8(output.stdout).unwrap();
    let path = repo_root().join("sql/roles.sql");
    if std::env::var_os("DERBES_BLESS").is_some() {
        std::fs::write(&path, &printed).unwrap();
    }
    let kept = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        kept == printed,
        "sql/roles.sql is out of date: run `DERBES_BLESS=1 cargo test --test cli roles_sql` and commit it"
    );
    // A prefix that is not a plain role name is refused before anything is read.
    db.cmd()
        .args(["roles", "--print-sql", "--prefix", "x\"; DROP"])
        .assert()
        .code(2)
        .stdout(predicate::str::is_empty());
}

#[tokio::test]
async fn roles_on_call_blocks_and_unblocks_support_is_refused() {
    let db = TestDb::migrated().await;
    let client = db.client().await;
    let roles = Roles::apply(&db, &client).await;
    let (_, iin) = active(&client, 0).await;
    roles
        .cmd(&db, "oncall")
        .args([
            "block",
            &iin,
            "--reason",
            "compromised",
            "--ticket",
            "INC-1",
            "--yes",
        ])
        .assert()
        .success();
    roles
        .cmd(&db, "oncall")
        .args([
            "unblock",
            &iin,
            "--application",
            "APP-1",
            "--ticket",
            "INC-2",
            "--yes",
        ])
        .assert()
        .success();
    roles
        .cmd(&db, "oncall")
        .args(["blocks", "--active"])
        .assert()
        .success();
    let mut block = roles.cmd(&db, "support");
    block.args([
        "block",
        &iin,
        "--reason",
        "compromised",
        "--ticket",
        "INC-3",
        "--yes",
    ]);
    refused_and_unchanged(
        &client,
        block,
        &[
            "UPDATE (status, token_version) on public.borrowers",
            "granted to derbes_oncall",
            "derbes roles --print-sql",
        ],
    )
    .await;
    db.cmd().args(["audit", "verify"]).assert().success();
}

#[tokio::test]
async fn roles_support_reads_exports_and_rectifies_on_call_is_refused() {
    let db = TestDb::migrated().await;
    let client = db.client().await;
    let roles = Roles::apply(&db, &client).await;
    let (id, iin) = active(&client, 1).await;
    roles
        .cmd(&db, "support")
        .args(["subject", "show", &iin])
        .assert()
        .success();
    let out = tempfile::tempdir().unwrap();
    let file = out.path().join("bundle.tar");
    roles
        .cmd(&db, "support")
        .args(["export", &iin, "--plaintext", "--ticket", "REQ-1", "--out"])
        .arg(&file)
        .assert()
        .success();
    assert!(file.exists());
    let subject = format!("id:{id}");
    roles
        .cmd(&db, "support")
        .env("DERBES_AUDIT_KEY", AUDIT_KEY)
        .args(["rectify", &subject, "--set", "first_name=Aijan"])
        .args(["--ticket", "REQ-2", "--yes"])
        .assert()
        .success();
    let name: String = client
        .query_one("SELECT first_name FROM borrowers WHERE id = $1", &[&id])
        .await
        .unwrap()
        .get(0);
    assert_eq!(name, "Aijan");
    let mut rectify = roles.cmd(&db, "oncall");
    rectify
        .env("DERBES_AUDIT_KEY", AUDIT_KEY)
        .args(["rectify", &subject, "--set", "first_name=Dana"])
        .args(["--ticket", "REQ-3", "--yes"]);
    refused_and_unchanged(
        &client,
        rectify,
        &["on public.borrowers", "granted to derbes_support"],
    )
    .await;
    db.cmd().args(["audit", "verify"]).assert().success();
}

#[tokio::test]
async fn roles_dpo_purges_anonymises_and_erases_support_is_refused() {
    let db = TestDb::migrated().await;
    let client = db.client().await;
    let roles = Roles::apply(&db, &client).await;
    let keys = age_keys();
    let key_file = mask_key(&keys);
    roles
        .cmd(&db, "dpo")
        .args(["purge", "--ticket", "RET-1", "--dry-run", "-r"])
        .arg(&keys.age_recipient)
        .arg("--archive-dir")
        .arg(&keys.dir)
        .assert()
        .success();
    // A real archive-then-delete run, and its archive restored: INSERT on the table
    // and UPDATE on its sequence (moved past the restored keys).
    let archives = tempfile::tempdir().unwrap();
    roles
        .cmd(&db, "dpo")
        .args([
            "purge",
            "--ticket",
            "RET-3",
            "--rule",
            "loan-records",
            "--yes",
            "-r",
        ])
        .arg(&keys.age_recipient)
        .arg("--archive-dir")
        .arg(archives.path())
        .assert()
        .success();
    let archive = std::fs::read_dir(archives.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "age"))
        .expect("the purge archived rows");
    roles
        .cmd(&db, "dpo")
        .args(["archive", "restore"])
        .arg(&archive)
        .arg("-i")
        .arg(&keys.age_identity)
        .args(["--ticket", "RET-4", "--yes"])
        .assert()
        .success();
    // Dropping an expired partition needs the table's owner, which no role is given:
    // refused, saying so.
    roles
        .cmd(&db, "dpo")
        .args([
            "purge",
            "--ticket",
            "RET-2",
            "--rule",
            "server-logs",
            "--yes",
        ])
        .assert()
        .code(5)
        .stderr(predicate::str::contains("only the table's owner"))
        .stderr(predicate::str::contains("server_logs"));
    let (anonymised, _) = active(&client, 2).await;
    roles
        .cmd(&db, "dpo")
        .args([
            "anonymise",
            &format!("id:{anonymised}"),
            "--ticket",
            "REQ-4",
        ])
        .arg("--key-file")
        .arg(&key_file)
        .arg("--yes")
        .assert()
        .success();
    let (erased, erased_iin) = active(&client, 3).await;
    let mut erase = roles.cmd(&db, "support");
    erase
        .args(["erase", &erased_iin, "--ticket", "REQ-5", "--archive-to"])
        .arg(&keys.age_recipient)
        .arg("--archive-out")
        .arg(keys.dir.join("refused.age"))
        .arg("--key-file")
        .arg(&key_file)
        .arg("--yes");
    refused_and_unchanged(&client, erase, &["granted to derbes_dpo"]).await;
    roles
        .cmd(&db, "dpo")
        .args(["erase", &erased_iin, "--ticket", "REQ-5", "--archive-to"])
        .arg(&keys.age_recipient)
        .arg("--archive-out")
        .arg(keys.dir.join("erase.age"))
        .arg("--key-file")
        .arg(&key_file)
        .arg("--yes")
        .assert()
        .success();
    let left: i64 = client
        .query_one(
            "SELECT count(*) FROM derbes.erasures WHERE subject_key = $1",
            &[&erased.to_string()],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(left, 1, "the erasure is recorded");
    // The DPO's report reads every mapped table, the policy versions and derbes'
    // own tables (its holds in session tables), as the DPO role.
    let report = roles
        .cmd(&db, "dpo")
        .args([
            "--format",
            "json",
            "report",
            "--since",
            "2026-01-01",
            "--until",
            "2026-12-31",
        ])
        .output()
        .unwrap();
    assert!(
        report.status.success(),
        "the DPO runs the report: {}",
        String::from_utf8_lossy(&report.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&report.stdout).unwrap();
    assert!(!report["retention"].as_array().unwrap().is_empty());
    assert!(!report["jobs"]["nights"].as_array().unwrap().is_empty());
    db.cmd().args(["audit", "verify"]).assert().success();
}

#[tokio::test]
async fn roles_none_may_change_or_remove_an_audit_row() {
    let db = TestDb::migrated().await;
    let client = db.client().await;
    let roles = Roles::apply(&db, &client).await;
    // One row to aim at.
    let (_, iin) = active(&client, 4).await;
    roles
        .cmd(&db, "oncall")
        .args([
            "block", &iin, "--reason", "fraud", "--ticket", "INC-9", "--yes",
        ])
        .assert()
        .success();
    let before = database_checksums(&client).await;
    for role in ["support", "oncall", "dpo"] {
        let (login, connection) = tokio_postgres::connect(&roles.url(role), NoTls)
            .await
            .expect("the login connects");
        tokio::spawn(connection);
        for statement in [
            "UPDATE derbes.audit_log SET ticket = 'X'",
            "DELETE FROM derbes.audit_log",
            "TRUNCATE derbes.audit_log",
        ] {
            let error = login
                .batch_execute(statement)
                .await
                .expect_err(&format!("{role} may not run {statement}"));
            assert_eq!(
                error.code().map(|c| c.code()),
                Some("42501"),
                "{role}: {statement}: {error}"
            );
        }
        // Nor may a role own or create what it does not need.
        let owns: i64 = client
            .query_one(
                "SELECT count(*) FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner \
                 WHERE r.rolname = $1",
                &[&format!("{}_{role}", roles.prefix)],
            )
            .await
            .unwrap()
            .get(0);
        assert_eq!(owns, 0, "{role} owns no table");
    }
    assert_eq!(before, database_checksums(&client).await);
}

#[tokio::test]
async fn roles_each_runs_the_rest_of_its_commands() {
    let db = TestDb::migrated().await;
    let client = db.client().await;
    let roles = Roles::apply(&db, &client).await;
    let (id, _) = active(&client, 5).await;
    let subject = format!("id:{id}");
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("policy.txt");
    std::fs::write(&policy, "policy text\n").unwrap();
    let support: [Vec<&str>; 5] = [
        vec!["consent", "grant", &subject, "--purpose", "marketing"],
        vec!["consent", "withdraw", &subject, "--purpose", "marketing"],
        vec!["disclosure", "record", &subject, "--recipient", "PKB"],
        vec!["request", "open", "--kind", "access", "--subject", &subject],
        vec!["policy", "publish", "9.9", "--effective", "2027-01-15"],
    ];
    let extra: [&[&str]; 5] = [
        &["--document", "APP-1"],
        &["--document", "APP-2"],
        &[
            "--basis",
            "law",
            "--purpose",
            "services",
            "--categories",
            "name,iin",
        ],
        &["--received", "2026-12-01"],
        &[],
    ];
    for (args, extra) in support.iter().zip(extra) {
        let mut cmd = roles.cmd(&db, "support");
        cmd.args(args)
            .args(extra)
            .args(["--ticket", "REQ-1", "--yes"]);
        if args[0] == "policy" {
            cmd.arg("--text").arg(&policy);
        }
        cmd.assert().success();
    }
    roles
        .cmd(&db, "oncall")
        .args(["breach", "open", "--discovered", "2026-12-06T09:30"])
        .args([
            "--summary",
            "INC-77 leaked log",
            "--ticket",
            "INC-77",
            "--yes",
        ])
        .assert()
        .success();
    let keys = age_keys();
    roles
        .cmd(&db, "dpo")
        .args(["archive", "dump", "--subject", &subject, "--keep", "5y"])
        .args(["--ticket", "DPO-17", "-r", &keys.age_recipient, "--out"])
        .arg(dir.path().join("dump.age"))
        .arg("--yes")
        .assert()
        .success();
    for role in ["support", "oncall", "dpo"] {
        roles
            .cmd(&db, role)
            .args(["audit", "verify"])
            .assert()
            .success();
    }
}
