//! Retention purging (`derbes purge`, issue 14): the rows each `[retention.*]` rule
//! says are past their period, deleted (or archived, then deleted) in primary-key
//! batches through the change engine (`change::run_batches_with`), whole expired
//! partitions detached and dropped, rows under a legal hold kept and counted.
//!
//! Which rows are due, and which hold keeps a row, is the one retention decision
//! (`ops::retention`: age by the row's time or the subject's event, holds of open
//! loans, blocks and open requests in session tables, rows still pointed at),
//! used by the dry run's counts and by the real run's batches alike, and by
//! `erase`, `anonymise` and `archive dump --rule`; tables of one rule go children
//! first.
//!
//! A batch is one short transaction (`lock_timeout`, `statement_timeout`): the due
//! rows between its first and last key deleted in one statement that checks the
//! rule's condition again, the checkpoint advanced in `derbes.jobs`; a killed run
//! resumes after the last committed batch. With `--jobs N` a table's due rows are
//! cut into key ranges deleted at once (`change::run_streams`), each stream on its
//! own connection with the rule's holds computed there.
//! An archive-then-delete batch writes its rows to an age archive with
//! `archive::write_verified` (read back and checked) and deletes exactly the keys
//! the archive captured, in the same transaction, before it commits. One audit row
//! per rule per run records the counts (each batch's counts are in its checkpoint
//! row, committed with it; an archive's own audit row is written with it).
//!
//! Here: the request, the report and the run over the rules. `run`: one rule (and
//! its audit row); `batches`: a table's due rows in batches, deleted in streams or
//! archived then deleted; `steps`: what one batch does; `keyless`: a table without a
//! primary key; `partitions`: whole expired partitions.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio_postgres::Client;

use crate::error::DerbesError;
use crate::map::{DataMap, RetentionAction};
pub use crate::ops::retention::HeldBack;
use crate::ops::retention::{plan, Conditions, RulePlan, TablePlan};
use crate::pg::catalog::Catalog;
use crate::pg::change::{BatchSize, ChangeError, Limits, RunLock};

mod batches;
mod keyless;
mod partitions;
mod run;
mod steps;

/// The run lock's operation and scope: one purge at a time per database.
pub const LOCK_OPERATION: &str = "purge";
pub const LOCK_SCOPE: &str = "database";

/// What to purge and how.
pub struct PurgeRequest {
    /// Rules to run; empty runs every rule that some table names.
    pub rules: Vec<String>,
    /// "Now" for the cut-offs (`--as-of`).
    pub as_of: DateTime<Utc>,
    pub dry_run: bool,
    pub batch_size: BatchSize,
    pub pause: Duration,
    /// Stop cleanly between batches after this instant.
    pub deadline: Option<Instant>,
    pub limits: Limits,
    pub ticket: String,
    pub operator: String,
    /// Where archive-then-delete rules write their archives, and for whom.
    pub archive: Option<ArchiveTarget>,
    /// The masking key of `hmac` columns, for rules whose action is `anonymise`.
    pub mask_key: Option<crate::ops::masking::MaskKey>,
    /// Streams that delete a rule's due rows at once, each its own key range on a
    /// connection `connect` opens (with the rule's holds computed in it); 1 = one.
    pub delete_streams: usize,
    pub connect: Option<crate::ops::archive::parallel::Connect>,
}

/// Archive files of archive-then-delete rules: one per batch (or expired
/// partition), in `dir`, encrypted to `recipients` (age or SSH public keys).
pub struct ArchiveTarget {
    pub dir: PathBuf,
    pub recipients: Vec<String>,
    /// Connections that archive an expired partition at once (`--jobs`); None for
    /// one stream.
    pub jobs: Option<crate::ops::archive::parallel::Jobs>,
}

/// One table of a rule, as planned or done.
#[derive(Debug, Clone, Serialize)]
pub struct TableOutcome {
    pub table: String,
    /// Rows due now (dry run), or due when the table's run started.
    pub due: i64,
    /// The oldest due row's time (by the table's time_column), when it has one.
    pub oldest: Option<DateTime<Utc>>,
    pub held_back: Vec<HeldBack>,
    pub deleted: i64,
    pub archived: i64,
    pub anonymised: i64,
    /// Whole partitions detached and dropped.
    pub partitions_dropped: Vec<String>,
    /// `deleted` counts the rows of dropped partitions from the server's
    /// statistics (`pg_class.reltuples`) rather than row by row: a drop reads none.
    pub rows_estimated: bool,
    pub batches: i64,
    pub longest_batch_ms: u64,
    /// The table's run continued a checkpoint of a stopped run.
    pub resumed: bool,
    /// Rows the batches of a stopped run of the same job deleted (committed, and
    /// on the record in this run's audit row).
    pub deleted_before: i64,
    /// Each batch was audited in its own transaction (a table without a primary
    /// key): the run's audit row does not count its rows again.
    pub audited_per_batch: bool,
    /// Rows of the dropped partitions, audited with their drop (in `deleted` too).
    pub partition_rows: i64,
}

impl TableOutcome {
    /// A table as planned: `due` rows (the oldest at `oldest`), `held_back` kept;
    /// nothing done yet.
    fn planned(
        table: &TablePlan,
        due: i64,
        oldest: Option<DateTime<Utc>>,
        held_back: Vec<HeldBack>,
    ) -> TableOutcome {
        TableOutcome {
            table: table.name.to_string(),
            due,
            oldest,
            held_back,
            deleted: 0,
            archived: 0,
            anonymised: 0,
            partitions_dropped: Vec::new(),
            rows_estimated: false,
            batches: 0,
            longest_batch_ms: 0,
            resumed: false,
            deleted_before: 0,
            audited_per_batch: false,
            partition_rows: 0,
        }
    }
}

/// One rule's outcome.
#[derive(Debug, Clone, Serialize)]
pub struct RuleOutcome {
    pub rule: String,
    pub action: RetentionAction,
    pub keep: String,
    pub legal_basis: String,
    pub cutoff: DateTime<Utc>,
    /// `done`, `dry-run`, `stopped` (max duration reached; the next run resumes),
    /// `planned` (anonymise is not built yet: nothing done) or `failed`.
    pub status: String,
    pub error: Option<String>,
    pub tables: Vec<TableOutcome>,
    /// Holds that could not be applied, and why (e.g. no derbes.requests table).
    pub notes: Vec<String>,
    /// Catalogue ids of the archives written.
    pub archives: Vec<i64>,
    pub duration_ms: u64,
    pub deleted: i64,
    pub archived: i64,
    pub anonymised: i64,
    pub held_back: i64,
}

/// The whole run.
#[derive(Debug, Clone, Serialize)]
pub struct PurgeReport {
    pub dry_run: bool,
    pub as_of: DateTime<Utc>,
    pub rules: Vec<RuleOutcome>,
}

impl PurgeReport {
    pub fn failed(&self) -> Vec<&str> {
        self.rules
            .iter()
            .filter(|r| r.status == "failed")
            .map(|r| r.rule.as_str())
            .collect()
    }
}

fn usage(message: String) -> anyhow::Error {
    DerbesError::Usage(message).into()
}

/// One table of a rule in a real run: what every way of purging it (partitions,
/// batches, streams, a table without a primary key) reads.
#[derive(Clone, Copy)]
struct TableRun<'a> {
    map: &'a DataMap,
    catalog: &'a Catalog,
    request: &'a PurgeRequest,
    rule: &'a RulePlan,
    table: &'a TablePlan,
    conditions: &'a Conditions,
    /// Where rows go before their delete, when the rule archives.
    archive: Option<&'a ArchiveTarget>,
    /// Progress: what (rule and table), the unit, done so far, of how many.
    progress: &'a (dyn Fn(&str, &str, i64, i64) + Sync),
}

impl TableRun<'_> {
    /// What the progress shows for the table.
    fn label(&self) -> String {
        format!("{} {}", self.rule.name, self.table.name)
    }
}

/// Run the purge: one rule after another under the run lock. A rule that fails is
/// reported (`status = failed`) and the others still run.
pub async fn purge(
    client: &mut Client,
    map: &DataMap,
    catalog: &Catalog,
    request: &PurgeRequest,
    progress: &(dyn Fn(&str, &str, i64, i64) + Sync),
) -> anyhow::Result<PurgeReport> {
    // A cut-off counted from a time to come would destroy rows before their
    // period ends; a dry run may preview one.
    if !request.dry_run && request.as_of > Utc::now() {
        return Err(usage(format!(
            "--as-of {} is in the future: a real purge ages rows from now or an earlier time              only, or it would delete rows before their retention period ends. Preview it with              --dry-run, or leave --as-of out",
            request.as_of.format("%Y-%m-%d %H:%M UTC")
        )));
    }
    let plans = plan(map, catalog, &request.rules, request.as_of)?;
    // A dry run refuses what the real run would refuse (the confirmation aside):
    // an archive-then-delete rule without an archive target, a masking plan
    // without its key or that does not fit.
    for rule in plans
        .iter()
        .filter(|p| p.rule.action == RetentionAction::Anonymise)
    {
        let tables: Vec<String> = rule.tables.iter().map(|t| t.mapped.clone()).collect();
        crate::ops::anonymise::plan(client, map, catalog, &tables, request.mask_key.as_ref())
            .await?;
    }
    if request.archive.is_none()
        && plans
            .iter()
            .any(|p| p.rule.action == RetentionAction::ArchiveThenDelete && !p.tables.is_empty())
    {
        let names: Vec<&str> = plans
            .iter()
            .filter(|p| p.rule.action == RetentionAction::ArchiveThenDelete)
            .map(|p| p.name.as_str())
            .collect();
        return Err(usage(format!(
            "rule(s) {} archive before deleting: give --archive-dir DIR and -r KEY (who can open the archives), or choose other rules with --rule",
            names.join(", ")
        )));
    }
    // A dry run only reads: it may count while the nightly run works.
    let lock = match request.dry_run {
        true => None,
        false => Some(RunLock::acquire(client, LOCK_OPERATION, LOCK_SCOPE).await?),
    };
    let mut report = PurgeReport {
        dry_run: request.dry_run,
        as_of: request.as_of,
        rules: Vec::new(),
    };
    for rule in &plans {
        let started = Instant::now();
        let mut outcome = RuleOutcome {
            rule: rule.name.clone(),
            action: rule.rule.action,
            keep: rule.rule.keep.clone(),
            legal_basis: rule.rule.legal_basis.clone(),
            cutoff: rule.cutoff,
            status: if request.dry_run { "dry-run" } else { "done" }.to_owned(),
            error: None,
            tables: Vec::new(),
            notes: Vec::new(),
            archives: Vec::new(),
            duration_ms: 0,
            deleted: 0,
            archived: 0,
            anonymised: 0,
            held_back: 0,
        };
        let result =
            run::run_rule(client, map, catalog, request, rule, &mut outcome, progress).await;
        if let Err(e) = result {
            if matches!(
                e.downcast_ref::<ChangeError>(),
                Some(ChangeError::RunLockHeld { .. })
            ) {
                if let Some(lock) = lock {
                    lock.release(client).await?;
                }
                return Err(e);
            }
            outcome.status = "failed".to_owned();
            // As `main` prints errors: a server error described with its fix (a lock
            // timeout says who to look for), never the server's bare text.
            outcome.error = Some(crate::pg::db::render_chain(&e).join(": "));
        }
        outcome.duration_ms = started.elapsed().as_millis() as u64;
        for table in &outcome.tables {
            outcome.deleted += table.deleted;
            outcome.archived += table.archived;
            outcome.anonymised += table.anonymised;
            outcome.held_back += table.held_back.iter().map(|h| h.rows).sum::<i64>();
        }
        if !request.dry_run && outcome.status != "planned" {
            if let Err(e) = run::audit_rule(client, request, &outcome).await {
                outcome.status = "failed".to_owned();
                outcome.error = Some(format!(
                    "writing the audit row failed: {}",
                    crate::pg::db::render_chain(&e).join(": ")
                ));
            }
        }
        report.rules.push(outcome);
    }
    crate::ops::retention::release(client, &plans).await;
    if let Some(lock) = lock {
        // A session lock goes with its session: a connection lost meanwhile has
        // released it, and the report must still name the rules that failed.
        let _ = lock.release(client).await;
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::map::{AgeWhen, RetentionHold};

    const MAP: &str = include_str!("../../../examples/datamap.toml");

    fn parse(text: &str) -> Result<DataMap, String> {
        DataMap::parse(text, Path::new("map.toml")).map_err(|e| e.to_string())
    }

    #[test]
    fn the_reference_rules_parse_with_their_holds_and_events() {
        let map = parse(MAP).unwrap();
        let kyc = &map.retention["identity-kyc"];
        let age_from = kyc.age_from.as_ref().unwrap();
        assert_eq!(
            (age_from.table.as_str(), age_from.column.as_str()),
            ("loans", "closed_at")
        );
        assert_eq!(age_from.when, AgeWhen::AllClosed);
        assert_eq!(kyc.holds(), RetentionHold::ALL.to_vec());
        assert!(map.retention["server-logs"].holds().is_empty());
        assert_eq!(
            map.retention["photos"].holds(),
            vec![RetentionHold::Blocked, RetentionHold::OpenRequest]
        );
        for rule in map.retention.values() {
            assert!(!rule.legal_basis.is_empty());
        }
    }

    #[test]
    fn bad_rules_are_refused_with_what_to_do() {
        let unmapped = MAP.replace(
            "age_from = { table = \"loans\", column = \"closed_at\", when = \"all closed\" }\n\n# Closed",
            "age_from = { table = \"nowhere\", column = \"closed_at\" }\n\n# Closed",
        );
        assert_ne!(unmapped, MAP);
        assert!(parse(&unmapped).unwrap_err().contains("not mapped"));
        let when = MAP.replacen("when = \"all closed\"", "when = \"sometimes\"", 1);
        assert!(parse(&when).is_err());
        let hold = MAP.replacen("exceptions = []", "exceptions = [\"vacation\"]", 1);
        assert!(parse(&hold).is_err());
        let undated = MAP.replacen(
            "time_column = \"recorded_at\"\nretention = \"location\"",
            "retention = \"location\"",
            1,
        );
        assert!(parse(&undated).unwrap_err().contains("no time_column"));
        let no_ledger = MAP
            .replacen("exceptions = []", "exceptions = [\"open-loan\"]", 1)
            .lines()
            .filter(|line| !line.starts_with("loans = {"))
            .collect::<Vec<_>>()
            .join("\n");
        assert!(parse(&no_ledger).unwrap_err().contains("[ledgers].loans"));
        // What a rule keeps is a list of the map's categories, on a rule that keeps.
        let unknown = MAP.replacen("keeps = [\"iin\"", "keeps = [\"horoscope\"", 1);
        assert_ne!(unknown, MAP);
        assert!(parse(&unknown).is_err());
        let on_delete = MAP.replacen(
            "keep = \"1y\"\naction = \"delete\"",
            "keep = \"1y\"\naction = \"delete\"\nkeeps = [\"iin\"]",
            1,
        );
        assert_ne!(on_delete, MAP);
        assert!(parse(&on_delete)
            .unwrap_err()
            .contains("only an archive-then-delete rule"));
    }
}
