//! derbes' own schema (`derbes`): ordered SQL migrations embedded in the binary.
//!
//! `apply` installs or upgrades it in one transaction under an advisory lock;
//! `ensure_current` is what every other command calls first, so a missing or stale
//! schema is reported with the command that fixes it.

use sha2::{Digest, Sha256};
use tokio_postgres::Client;

use crate::error::DerbesError;
use crate::pg::change::RunLock;

/// One migration: `sql/derbes/NNNN_name.sql`.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    pub version: i32,
    pub name: &'static str,
    pub sql: &'static str,
}

/// Every migration, in order. New ones are appended, never edited once released.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "audit",
        sql: include_str!("../../sql/derbes/0001_audit.sql"),
    },
    Migration {
        version: 2,
        name: "blocks",
        sql: include_str!("../../sql/derbes/0002_blocks.sql"),
    },
    Migration {
        version: 3,
        name: "archives",
        sql: include_str!("../../sql/derbes/0003_archives.sql"),
    },
    Migration {
        version: 4,
        name: "audit_session_user",
        sql: include_str!("../../sql/derbes/0004_audit_session_user.sql"),
    },
    Migration {
        version: 5,
        name: "archive_runs",
        sql: include_str!("../../sql/derbes/0005_archive_runs.sql"),
    },
    Migration {
        version: 6,
        name: "jobs",
        sql: include_str!("../../sql/derbes/0006_jobs.sql"),
    },
    Migration {
        version: 7,
        name: "audit_lock",
        sql: include_str!("../../sql/derbes/0007_audit_lock.sql"),
    },
    Migration {
        version: 8,
        name: "requests",
        sql: include_str!("../../sql/derbes/0008_requests.sql"),
    },
    Migration {
        version: 9,
        name: "policy_publications",
        sql: include_str!("../../sql/derbes/0009_policy_publications.sql"),
    },
    Migration {
        version: 10,
        name: "cohort_marks",
        sql: include_str!("../../sql/derbes/0010_cohort_marks.sql"),
    },
    Migration {
        version: 11,
        name: "audit_subject",
        sql: include_str!("../../sql/derbes/0011_audit_subject.sql"),
    },
    Migration {
        version: 12,
        name: "erasures",
        sql: include_str!("../../sql/derbes/0012_erasures.sql"),
    },
    Migration {
        version: 13,
        name: "audit_seal",
        sql: include_str!("../../sql/derbes/0013_audit_seal.sql"),
    },
];

/// The tables of schema `derbes` the migrations create.
pub const OWN_TABLES: &[&str] = &[
    "schema_migrations",
    "audit_log",
    "blocks",
    "archives",
    "archive_runs",
    "jobs",
    "audit_lock",
    "requests",
    "breaches",
    "policy_publications",
    "cohort_marks",
    "cohort_pending",
    "erasures",
];

/// The schema version this binary expects.
pub fn latest_version() -> i32 {
    MIGRATIONS.last().map_or(0, |m| m.version)
}

impl Migration {
    pub fn checksum(&self) -> String {
        hex::encode(Sha256::digest(self.sql.as_bytes()))
    }
}

/// Key of the advisory lock migrations hold (any 64-bit constant unique to derbes).
const MIGRATION_LOCK: i64 = 0x6465_7262_6573_0001;

/// What `apply` did or would do.
#[derive(Debug, Clone, serde::Serialize)]
pub struct MigrateReport {
    pub from_version: i32,
    pub to_version: i32,
    pub applied: Vec<String>,
    pub dry_run: bool,
}

/// Install or upgrade the `derbes` schema. Idempotent; one transaction; refuses a
/// schema newer than this binary and a migration whose applied text differs.
/// One migration run at a time per database: a second one exits 7 at once.
pub async fn apply(client: &mut Client, dry_run: bool) -> anyhow::Result<MigrateReport> {
    let lock = RunLock::acquire(client, "migrate", "database").await?;
    let result = apply_locked(client, dry_run).await;
    lock.release(client).await?;
    result
}

async fn apply_locked(client: &mut Client, dry_run: bool) -> anyhow::Result<MigrateReport> {
    let tx = client.transaction().await?;
    // Also the transaction lock of earlier versions, so an older derbes migrating
    // the same database at once waits for this one.
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await?;
    tx.batch_execute(
        "CREATE SCHEMA IF NOT EXISTS derbes;
         CREATE TABLE IF NOT EXISTS derbes.schema_migrations (
             version    integer     PRIMARY KEY,
             name       text        NOT NULL,
             checksum   text        NOT NULL,
             applied_at timestamptz NOT NULL DEFAULT now()
         );",
    )
    .await?;
    let applied: Vec<(i32, String, String)> = tx
        .query(
            "SELECT version, name, checksum FROM derbes.schema_migrations ORDER BY version",
            &[],
        )
        .await?
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    let from_version = applied.last().map_or(0, |a| a.0);
    if from_version > latest_version() {
        return Err(DerbesError::Refused(format!(
            "the derbes schema is at version {from_version}, newer than this derbes knows ({}): upgrade derbes",
            latest_version()
        ))
        .into());
    }
    check_checksums(&applied, "before migrating")?;
    let mut report = MigrateReport {
        from_version,
        to_version: from_version,
        applied: Vec::new(),
        dry_run,
    };
    for migration in MIGRATIONS.iter().filter(|m| m.version > from_version) {
        tx.batch_execute(migration.sql).await.map_err(|e| {
            anyhow::anyhow!(
                "migration {} ({}) failed: {}",
                migration.version,
                migration.name,
                crate::pg::db::describe(&e)
            )
        })?;
        tx.execute(
            "INSERT INTO derbes.schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
            &[&migration.version, &migration.name, &migration.checksum()],
        )
        .await?;
        report
            .applied
            .push(format!("{:04}_{}", migration.version, migration.name));
        report.to_version = migration.version;
    }
    if dry_run {
        tx.rollback().await?;
    } else {
        tx.commit().await?;
    }
    Ok(report)
}

/// Refuse (exit 6) when an applied migration's recorded checksum differs from this
/// binary's copy of it: the schema was edited by hand or by another build.
fn check_checksums(applied: &[(i32, String, String)], when: &str) -> anyhow::Result<()> {
    for (version, name, checksum) in applied {
        if let Some(m) = MIGRATIONS.iter().find(|m| m.version == *version) {
            if &m.checksum() != checksum {
                return Err(DerbesError::VerificationFailed(format!(
                    "migration {version} ({name}) in the database differs from this derbes' copy: \
                     the schema was changed by hand or by another build; restore it {when}"
                ))
                .into());
            }
        }
    }
    Ok(())
}

/// What `migrate` refuses, refused before a change too: an applied migration whose
/// checksum differs from this binary's (exit 6). Call after [`ensure_current`].
pub async fn ensure_unmodified(client: &Client) -> anyhow::Result<()> {
    let applied: Vec<(i32, String, String)> = client
        .query(
            "SELECT version, name, checksum FROM derbes.schema_migrations ORDER BY version",
            &[],
        )
        .await?
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    check_checksums(
        &applied,
        "(or ask whoever changed it) before changing data with derbes",
    )
}

/// Fail with what to do when the `derbes` schema is missing, older or newer than
/// this binary.
pub async fn ensure_current(client: &Client) -> anyhow::Result<()> {
    let row = client
        .query_one(
            "SELECT to_regclass('derbes.schema_migrations') IS NOT NULL, current_database()",
            &[],
        )
        .await?;
    let installed: bool = row.get(0);
    let database: String = row.get(1);
    if !installed {
        anyhow::bail!(
            "the derbes schema is not installed in database \"{database}\": run `derbes migrate` first"
        );
    }
    let version: i32 = client
        .query_one(
            "SELECT coalesce(max(version), 0) FROM derbes.schema_migrations",
            &[],
        )
        .await?
        .get(0);
    match version.cmp(&latest_version()) {
        std::cmp::Ordering::Less => anyhow::bail!(
            "the derbes schema in \"{database}\" is at version {version}, this derbes needs {}: run `derbes migrate`",
            latest_version()
        ),
        std::cmp::Ordering::Greater => Err(DerbesError::Refused(format!(
            "the derbes schema in \"{database}\" is at version {version}, newer than this derbes ({}): upgrade derbes",
            latest_version()
        ))
        .into()),
        std::cmp::Ordering::Equal => Ok(()),
    }
}
