//! Anonymisation (docs/policy.md 1, 2.5): the data map's masking strategies applied
//! without deleting the subject, to one subject or to a cohort.
//!
//! One subject: one change transaction (subject row locked, one `UPDATE` per
//! table over the subject's rows, rows another subject shares left alone, one
//! audit row). A cohort (`--rule NAME`): the rows of every table under the
//! retention rule that the retention decision finds due and free of holds
//! ([`retention::Conditions::cohort`], the one place the selection is made:
//! `purge` asks the same), each table worked
//! through in primary-key ranges by `change::run_batches_with` (one short
//! transaction per batch with `lock_timeout` and its checkpoint, so a killed run
//! resumes; each batch one statement per table that checks the cohort itself,
//! sized to about 100 ms unless `--batch-size` fixes it; one audit row per table
//! when its batches are done, with the counts the checkpoints kept), the whole run
//! under one run lock (a second run exits 7).
//!
//! A cohort is masked once. A finished run leaves its mark (`derbes.cohort_marks`,
//! per rule and table): its cut-off, and the rows then old enough but held back
//! (`derbes.cohort_pending`). The next run masks only the rows due since that
//! cut-off and the pending rows now free ([`Cohort::selection`]): a second pass
//! would hash `hmac` pseudonyms again (they would stop matching the same value's
//! pseudonym elsewhere) and draw new fakes, and would rewrite the whole masked
//! history at every run.
//!
//! [`k_anonymity`] measures the result: the smallest number of subjects sharing
//! one combination of the quasi-identifiers the map marks.

use std::collections::BTreeMap;

use chrono::Utc;
use serde::Serialize;
use tokio_postgres::{Client, Transaction};

use crate::error::DerbesError;
use crate::map::link::{KeyMatch, LinkPath};
use crate::map::{quote_ident, DataMap, TableName};
use crate::ops::masking::{self, MaskKey, Params, RowScope, TableMasks};
use crate::ops::retention::{self, Conditions, Population};
use crate::pg::audit::AuditEntry;
use crate::pg::catalog::Catalog;
use crate::pg::change::{
    self, Batch, BatchJob, BatchMode, BatchSize, BatchStep, ChangeError, Counts, Limits,
    PrimaryKey, RunLock, RunOptions, StreamOptions, StreamWork, StreamsReport,
};
use crate::pg::db::StatementCache;

/// What a run did to one table.
#[derive(Debug, Clone, Serialize)]
pub struct TableResult {
    pub table: String,
    pub masked: u64,
    pub deleted: u64,
    pub batches: i64,
    /// Columns masked.
    pub columns: Vec<String>,
    /// Columns masked with hmac: pseudonymised, not anonymised.
    pub pseudonymised: Vec<String>,
    /// The run continued a stopped one.
    pub resumed: bool,
    /// The longest batch transaction of a cohort run, from `BEGIN` to the end of
    /// `COMMIT`, in ms (0 for one subject).
    pub longest_batch_ms: u64,
    /// Streams that worked on the table at once (cohort runs; 0 for one subject).
    pub streams: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct AnonymiseReport {
    /// `table:key` of one subject, or `rule NAME`.
    pub scope: String,
    pub ticket: String,
    pub dry_run: bool,
    pub tables: Vec<TableResult>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub k_anonymity: Option<KReport>,
}

/// The smallest group over the quasi-identifiers.
#[derive(Debug, Clone, Serialize)]
pub struct KReport {
    pub quasi_identifiers: Vec<String>,
    /// Smallest number of subjects sharing one combination (None: no subjects).
    pub k: Option<i64>,
    pub groups: i64,
    pub subjects: i64,
    /// Subjects in groups smaller than 5.
    pub in_groups_under_5: i64,
}

fn map_err(e: masking::MaskingError) -> anyhow::Error {
    match e {
        masking::MaskingError::NoKey(m) | masking::MaskingError::BadKey(m) => {
            DerbesError::Usage(m).into()
        }
        masking::MaskingError::Misfit(m) => DerbesError::VerificationFailed(m).into(),
        other => anyhow::Error::new(other),
    }
}

/// The masks of every mapped table that has something to do.
pub async fn plan(
    client: &Client,
    map: &DataMap,
    catalog: &Catalog,
    tables: &[String],
    key: Option<&MaskKey>,
) -> anyhow::Result<BTreeMap<String, TableMasks>> {
    let not_null = masking::not_null_columns(client, map).await?;
    let is_not_null = |t: &TableName, c: &str| not_null.contains(&(t.clone(), c.to_owned()));
    let mut plans = BTreeMap::new();
    for table in tables {
        let plan = masking::plan_table(map, catalog, table, &is_not_null, key).map_err(map_err)?;
        if !plan.is_noop() {
            plans.insert(table.clone(), plan);
        }
    }
    Ok(plans)
}

fn result_of(table: &str, masks: &TableMasks) -> TableResult {
    TableResult {
        table: table.to_owned(),
        masked: 0,
        deleted: 0,
        batches: 0,
        columns: masks.masked_columns.clone(),
        pseudonymised: masks.pseudonymised.clone(),
        resumed: false,
        longest_batch_ms: 0,
        streams: 0,
    }
}

/// Anonymise one subject's rows in every mapped table, in one transaction.
#[allow(clippy::too_many_arguments)]
pub async fn subject(
    client: &mut Client,
    map: &DataMap,
    catalog: &Catalog,
    key: &str,
    mask_key: Option<&MaskKey>,
    ticket: &str,
    operator: &str,
    dry_run: bool,
    again: bool,
) -> anyhow::Result<AnonymiseReport> {
    let tables: Vec<String> = map.tables.keys().cloned().collect();
    let plans = plan(client, map, catalog, &tables, mask_key).await?;
    let subject_path = LinkPath::compile(map, catalog, &map.subject.table)
        .map_err(DerbesError::VerificationFailed)?;
    let subject_ref = format!("{}:{key}", map.subject.table);
    let change = change::begin(client, &Limits::default(), dry_run).await?;
    if change
        .lock_subjects(&subject_path, &[key.to_owned()])
        .await?
        .is_empty()
    {
        return Err(DerbesError::NotFound(format!(
            "subject {subject_ref} is gone (deleted since it was found): nothing was changed"
        ))
        .into());
    }
    // A subject is anonymised once: a second pass would hash its hmac pseudonyms
    // again (they would stop matching the same values' elsewhere) and draw new fakes.
    let earlier = change
        .tx()
        .query_opt(
            "SELECT at::date::text, coalesce(ticket, '-') FROM derbes.audit_log \
             WHERE subject_ref = $1 AND action = 'anonymise' ORDER BY seq DESC LIMIT 1",
            &[&subject_ref],
        )
        .await?;
    if let (Some(row), false) = (earlier, again) {
        return Err(DerbesError::Refused(format!(
            "subject {subject_ref} was anonymised on {} (ticket {}): a second pass would hash \
             its hmac pseudonyms again, so they would stop matching, and draw new fakes; \
             nothing was changed. Pass --again to mask it once more (after the data map \
             gained columns)",
            row.get::<_, String>(0),
            row.get::<_, String>(1)
        ))
        .into());
    }
    let mut results = Vec::new();
    let mut counts = BTreeMap::new();
    let mut fields = Vec::new();
    let rules =
        crate::ops::retention::for_subject(change.tx(), map, catalog, key, Utc::now()).await?;
    // Deletes (delete-row) children first, after the masks.
    let deleting: std::collections::BTreeSet<TableName> = plans
        .values()
        .filter(|m| m.delete)
        .map(|m| m.table.clone())
        .collect();
    let order = catalog
        .delete_order(&deleting)
        .map_err(DerbesError::VerificationFailed)?;
    let mut sequence: Vec<&String> = plans
        .iter()
        .filter(|(_, m)| !m.delete)
        .map(|(t, _)| t)
        .collect();
    for name in &order {
        if let Some((t, _)) = plans.iter().find(|(_, m)| &m.table == name) {
            sequence.push(t);
        }
    }
    for table in sequence {
        let masks = &plans[table];
        let path =
            LinkPath::compile(map, catalog, table).map_err(DerbesError::VerificationFailed)?;
        let filter = |p: &mut Params| {
            let mut scope = subject_scope(&path, &masks.key_columns, key, p);
            // Rows the law keeps as they are (erase keeps them too) are not changed.
            let retention = crate::ops::retention::rule_of(&rules, table);
            let hold = crate::ops::erase::Hold::of(map, retention, table, p);
            scope.condition = format!("{} AND NOT {}", scope.condition, hold.condition());
            scope
        };
        let applied = masks
            .apply(change.tx(), &filter, &mut StatementCache::default())
            .await
            .map_err(map_err)?;
        let mut result = result_of(table, masks);
        result.masked = applied.masked;
        result.deleted = applied.deleted;
        if applied.masked > 0 {
            counts.insert(format!("{table}.masked"), applied.masked as i64);
            fields.extend(masks.masked_columns.iter().map(|c| format!("{table}.{c}")));
        }
        if applied.deleted > 0 {
            counts.insert(format!("{table}.deleted"), applied.deleted as i64);
        }
        results.push(result);
    }
    crate::fault::point("anonymise.applied");
    change
        .commit(
            operator,
            &AuditEntry {
                action: "anonymise".to_owned(),
                ticket: Some(ticket.to_owned()),
                subject_ref: Some(subject_ref.clone()),
                counts,
                fields,
                detail: serde_json::json!({ "kind": "subject" }),
            },
        )
        .await?;
    Ok(AnonymiseReport {
        scope: subject_ref,
        ticket: ticket.to_owned(),
        dry_run,
        tables: results,
        k_anonymity: None,
    })
}

/// The subject's rows of a table, less rows another subject shares.
fn subject_scope(path: &LinkPath, key_columns: &[String], key: &str, p: &mut Params) -> RowScope {
    let n: usize = p.text(key)[1..].parse().expect("a placeholder");
    let mut condition = path.rows_of("t0", KeyMatch::One(n));
    if let Some(shared) = path.shared_rows(key_columns, KeyMatch::One(n)) {
        let row: Vec<String> = key_columns
            .iter()
            .map(|c| format!("t0.{}::text", quote_ident(c)))
            .collect();
        condition.push_str(&format!(" AND ({}) NOT IN ({shared})", row.join(", ")));
    }
    RowScope {
        using: String::new(),
        condition,
    }
}

/// The cohort of a retention rule in one table, as the conditions on `t0` its runs
/// need. Their values are the text parameters `params` (`$1..`), the first of
/// them the cut-off.
#[derive(Debug, Clone)]
pub struct Cohort {
    /// Due now: old enough and not held back.
    pub due: String,
    /// Old enough now, held back or not.
    pub age: String,
    /// Old enough at an earlier cut-off, the text parameter `$(params.len() + 1)`.
    pub age_at: String,
    pub params: Vec<String>,
}

/// What the finished runs of one cohort job have masked: rows older than `cutoff`
/// (text, as the server prints it; `-infinity` before the first run) except the
/// pending rows of `generation`.
#[derive(Debug, Clone)]
pub struct CohortMark {
    pub cutoff: String,
    pub generation: i64,
}

impl CohortMark {
    /// The mark of job scope `scope` (`<rule>/<table>`).
    pub async fn read(
        client: &impl tokio_postgres::GenericClient,
        scope: &str,
    ) -> Result<CohortMark, tokio_postgres::Error> {
        let row = client
            .query_opt(
                "SELECT cutoff::text, generation FROM derbes.cohort_marks WHERE scope = $1",
                &[&scope],
            )
            .await?;
        Ok(match row {
            Some(row) => CohortMark {
                cutoff: row.get(0),
                generation: row.get(1),
            },
            None => CohortMark {
                cutoff: "-infinity".to_owned(),
                generation: 0,
            },
        })
    }
}

impl Cohort {
    /// The rows a run works on: due now, and not masked by an earlier finished run
    /// (younger than its cut-off, or pending then). Parameters: `params`, then the
    /// mark's cut-off, `scope` and generation.
    pub fn selection(
        &self,
        key_columns: &[String],
        scope: &str,
        mark: &CohortMark,
    ) -> (String, Vec<String>) {
        let mut params = self.params.clone();
        params.extend([
            mark.cutoff.clone(),
            scope.to_owned(),
            mark.generation.to_string(),
        ]);
        let condition = format!("({}) AND {}", self.due, self.since(key_columns));
        (condition, params)
    }

    /// Not masked by the runs before `mark`: younger than its cut-off, or pending.
    fn since(&self, key_columns: &[String]) -> String {
        let n = self.params.len();
        format!(
            "(NOT COALESCE({age_at}, false) OR {keys} IN \
             (SELECT p.key FROM derbes.cohort_pending p WHERE p.scope = ${s}::text AND p.generation = ${g}::text::bigint))",
            age_at = self.age_at,
            keys = key_array(key_columns),
            s = n + 2,
            g = n + 3,
        )
    }
}

/// The primary key of `t0` as `text[]`, the form of `derbes.cohort_pending.key`.
fn key_array(key_columns: &[String]) -> String {
    // A table without a primary key names a row by its content: stable while the
    // row waits unmasked in `cohort_pending`, which is all the mark needs.
    if key_columns.is_empty() {
        return "ARRAY[md5(t0::text)]".to_owned();
    }
    let keys: Vec<String> = key_columns
        .iter()
        .map(|c| format!("t0.{}::text", quote_ident(c)))
        .collect();
    format!("ARRAY[{}]", keys.join(", "))
}

/// Tables under a retention rule.
pub fn rule_tables(map: &DataMap, rule: &str) -> Result<Vec<String>, String> {
    if !map.retention.contains_key(rule) {
        return Err(format!(
            "no retention rule `{rule}` in the data map: rules are {}",
            map.retention.keys().cloned().collect::<Vec<_>>().join(", ")
        ));
    }
    Ok(map
        .tables
        .iter()
        .filter(|(_, spec)| spec.retention.as_deref() == Some(rule))
        .map(|(name, _)| name.clone())
        .collect())
}

/// One batch of a cohort: mask the cohort's rows between the batch's first and
/// last key, in statements that check the cohort's condition themselves (a row
/// changed since the bounds were read is re-read, and left alone if it has left the
/// cohort), so the rows need no lock beforehand.
struct MaskBatch<'a> {
    table: String,
    masks: &'a TableMasks,
    key_types: Vec<String>,
    /// The cohort: a condition on `t0` numbered from `$1`, and its text values.
    condition: String,
    params: Vec<String>,
    progress: &'a (dyn Fn(u64) + Sync),
    masked: u64,
    deleted: u64,
    /// Batches applied by this process (fault points count them).
    batches: u64,
    statements: StatementCache,
}

impl BatchStep for MaskBatch<'_> {
    fn mode(&self) -> BatchMode {
        BatchMode::Range
    }

    async fn apply(
        &mut self,
        tx: &Transaction<'_>,
        batch: &Batch<'_>,
    ) -> Result<Counts, ChangeError> {
        let columns = &self.masks.key_columns;
        let types = &self.key_types;
        let filter = |p: &mut Params| {
            let tuple: Vec<String> = columns
                .iter()
                .map(|c| format!("t0.{}", quote_ident(c)))
                .collect();
            let mut bound = |keys: &[String]| -> Vec<String> {
                keys.iter()
                    .zip(types)
                    .map(|(key, ty)| format!("{}::text::{ty}", p.text(key.clone())))
                    .collect()
            };
            let (first, last) = (bound(batch.first), bound(batch.last));
            let before = p.len();
            for value in &self.params {
                p.text(value.clone());
            }
            RowScope {
                using: String::new(),
                condition: format!(
                    "({tuple}) >= ({}) AND ({tuple}) <= ({}) AND ({})",
                    first.join(", "),
                    last.join(", "),
                    change::shift_placeholders(&self.condition, before),
                    tuple = tuple.join(", "),
                ),
            }
        };
        let applied = self
            .masks
            .apply(tx, &filter, &mut self.statements)
            .await
            .map_err(|e| match e {
                // Named as the change engine names it, so the batch loop runs the
                // batch again (nothing of it was counted yet).
                masking::MaskingError::Database {
                    transient: Some(transient),
                    ..
                } => transient,
                other => ChangeError::Database(other.to_string()),
            })?;
        self.batches += 1;
        crate::fault::point(&format!("anonymise.batch.{}", self.batches));
        self.masked += applied.masked;
        self.deleted += applied.deleted;
        (self.progress)(applied.masked.max(applied.deleted));
        let mut counts = Counts::new();
        if applied.masked > 0 {
            counts.insert(format!("{}.masked", self.table), applied.masked as i64);
        }
        if applied.deleted > 0 {
            counts.insert(format!("{}.deleted", self.table), applied.deleted as i64);
        }
        Ok(counts)
    }
}

/// Options of a cohort run.
pub struct CohortRun<'a> {
    pub rule: String,
    pub ticket: String,
    pub operator: String,
    pub dry_run: bool,
    pub batch_size: BatchSize,
    pub limits: Limits,
    pub mask_key: Option<&'a MaskKey>,
    /// Called with the rows of each batch done.
    pub progress: &'a (dyn Fn(u64) + Sync),
    /// The cohort per table (map key), instead of the retention decision's as of
    /// now; `purge` passes its own (as of its `--as-of`, holds in its session).
    pub conditions: Option<BTreeMap<String, Cohort>>,
    /// Streams that mask one table's cohort at once, each its own key range on its
    /// own connection; 1 = one stream. A resumed run continues as it was cut.
    pub jobs: usize,
    /// Opens one more connection, for every stream after the first.
    pub connect: Option<crate::ops::archive::parallel::Connect>,
}

/// Anonymise the cohort of a retention rule, table by table, in batches.
pub async fn cohort(
    client: &mut Client,
    map: &DataMap,
    catalog: &Catalog,
    run: CohortRun<'_>,
) -> anyhow::Result<AnonymiseReport> {
    let tables = rule_tables(map, &run.rule).map_err(DerbesError::Usage)?;
    let plans = plan(client, map, catalog, &tables, run.mask_key).await?;
    let lock = RunLock::acquire(client, "anonymise", &run.rule).await?;
    let result = cohort_locked(client, map, catalog, &run, &plans).await;
    lock.release(client).await?;
    result
}

async fn cohort_locked(
    client: &mut Client,
    map: &DataMap,
    catalog: &Catalog,
    run: &CohortRun<'_>,
    plans: &BTreeMap<String, TableMasks>,
) -> anyhow::Result<AnonymiseReport> {
    // The cohort is what the retention decision finds due and free of holds; its
    // holds are tables of each stream's session.
    let rules = match &run.conditions {
        Some(_) => Vec::new(),
        None => retention::plan(map, catalog, std::slice::from_ref(&run.rule), Utc::now())?,
    };
    for rule in &rules {
        retention::prepare(&*client, map, catalog, rule, Population::Everyone).await?;
    }
    let result = cohort_tables(client, map, catalog, run, plans, &rules).await;
    retention::release(&*client, &rules).await;
    result
}

async fn cohort_tables(
    client: &mut Client,
    map: &DataMap,
    catalog: &Catalog,
    run: &CohortRun<'_>,
    plans: &BTreeMap<String, TableMasks>,
    rules: &[retention::RulePlan],
) -> anyhow::Result<AnonymiseReport> {
    let mut results = Vec::new();
    for (table, masks) in plans {
        let cohort = match run.conditions.as_ref().and_then(|c| c.get(table)) {
            Some(cohort) => cohort.clone(),
            None => {
                let (rule, plan) = retention::rule_of(rules, table).ok_or_else(|| {
                    DerbesError::Usage(format!(
                        "[tables.{table}] is not under retention rule `{}`",
                        run.rule
                    ))
                })?;
                Conditions::of(rule, plan).cohort(rule)
            }
        };
        let name = map.table_name(table);
        if !catalog.tables.contains_key(&name) {
            return Err(DerbesError::VerificationFailed(format!(
                "table {name} is not in the database"
            ))
            .into());
        }
        let scope = format!("{}/{table}", run.rule);
        let mark = CohortMark::read(&*client, &scope).await?;
        if masks.key_columns.is_empty() {
            results.push(
                mask_keyless(client, run, &name, table, masks, &cohort, &scope, &mark).await?,
            );
            continue;
        }
        let (selection, params) = cohort.selection(&masks.key_columns, &scope, &mark);
        let job = BatchJob {
            operation: "anonymise".to_owned(),
            scope: scope.clone(),
            table: name.clone(),
            condition: selection,
            params,
            batch_size: run.batch_size,
            ticket: run.ticket.clone(),
            operator: run.operator.clone(),
            dry_run: run.dry_run,
            span_below: None,
        };
        let mut work = MaskWork {
            map,
            catalog,
            run,
            rules,
            table,
            masks,
            cohort,
            mark,
        };
        let streams = change::run_streams(
            client,
            catalog,
            &run.limits,
            &job,
            &mut work,
            &StreamOptions {
                streams: if run.connect.is_some() { run.jobs } else { 1 },
                // The checkpoint row of each batch keeps the running counts; the
                // run gets one audit row per table below, in the transaction that
                // closes every stream's job.
                batches: RunOptions {
                    audit_each_batch: false,
                    leave_open: true,
                    ..RunOptions::default()
                },
                rows: None,
            },
        )
        .await?
        .outcome?;
        let counts = streams.counts();
        let batches = streams.batches();
        // A run cut short leaves its checkpoints and no mark: the next one resumes
        // it over the same rows.
        if !run.dry_run && !streams.stopped() {
            work.close(client, &name, &scope, &streams).await?;
        }
        let mut result = result_of(table, masks);
        result.longest_batch_ms = streams.longest_batch_ms();
        result.batches = batches;
        result.resumed = streams.resumed();
        result.streams = streams.runs.len();
        result.masked = counts.get(&format!("{table}.masked")).copied().unwrap_or(0) as u64;
        result.deleted = counts
            .get(&format!("{table}.deleted"))
            .copied()
            .unwrap_or(0) as u64;
        results.push(result);
    }
    Ok(AnonymiseReport {
        scope: format!("rule {}", run.rule),
        ticket: run.ticket.clone(),
        dry_run: run.dry_run,
        tables: results,
        k_anonymity: None,
    })
}

/// The cohort of a table without a primary key, which has no key to cut batches
/// by: masked in one statement, in one transaction with the mark and the audit row
/// (a stopped run changed nothing, so no row is ever masked twice).
#[allow(clippy::too_many_arguments)]
async fn mask_keyless(
    client: &mut Client,
    run: &CohortRun<'_>,
    name: &TableName,
    table: &str,
    masks: &TableMasks,
    cohort: &Cohort,
    scope: &str,
    mark: &CohortMark,
) -> anyhow::Result<TableResult> {
    let (selection, params) = cohort.selection(&masks.key_columns, scope, mark);
    let change = change::begin(client, &run.limits, run.dry_run).await?;
    let filter = |p: &mut Params| {
        let before = p.len();
        for value in &params {
            p.text(value.clone());
        }
        RowScope {
            using: String::new(),
            condition: change::shift_placeholders(&selection, before),
        }
    };
    let applied = masks
        .apply(change.tx(), &filter, &mut StatementCache::default())
        .await
        .map_err(map_err)?;
    mark_finished(change.tx(), name, masks, cohort, scope, mark).await?;
    let mut counts = Counts::new();
    if applied.masked > 0 {
        counts.insert(format!("{table}.masked"), applied.masked as i64);
    }
    if applied.deleted > 0 {
        counts.insert(format!("{table}.deleted"), applied.deleted as i64);
    }
    change
        .commit(
            &run.operator,
            &AuditEntry {
                action: "anonymise".to_owned(),
                ticket: Some(run.ticket.clone()),
                subject_ref: None,
                counts,
                fields: masks.masked_columns.clone(),
                detail: serde_json::json!({
                    "scope": scope,
                    "table": name.to_string(),
                    "rule": run.rule,
                    "batches": 1,
                    "by": "one statement (the table has no primary key)",
                    "pseudonymised": masks.pseudonymised,
                }),
            },
        )
        .await?;
    let mut result = result_of(table, masks);
    result.masked = applied.masked;
    result.deleted = applied.deleted;
    result.batches = 1;
    result.streams = 1;
    Ok(result)
}

/// What the stream runner needs of one table's cohort: a [`MaskBatch`] per stream,
/// each further stream's connection with the rule's holds computed in it, and the
/// cut-off and mark an unfinished run started with (taken into `cohort` and
/// `mark`, which the finished run's mark then follows).
struct MaskWork<'a> {
    map: &'a DataMap,
    catalog: &'a Catalog,
    run: &'a CohortRun<'a>,
    rules: &'a [retention::RulePlan],
    /// The table's name in the data map.
    table: &'a str,
    masks: &'a TableMasks,
    cohort: Cohort,
    mark: CohortMark,
}

impl MaskWork<'_> {
    /// Take in the selection's own parameters as a run started them (cohort, then
    /// mark: its cut-off, scope and generation); false when they do not fit.
    fn restore(&mut self, started: &[String]) -> bool {
        let n = self.cohort.params.len();
        let scope = format!("{}/{}", self.run.rule, self.table);
        let generation = started.get(n + 2).and_then(|g| g.parse().ok());
        match generation {
            Some(generation)
                if started.len() == n + 3
                    && started.get(n + 1).map(String::as_str) == Some(scope.as_str()) =>
            {
                self.cohort.params = started[..n].to_vec();
                self.mark = CohortMark {
                    cutoff: started[n].clone(),
                    generation,
                };
                true
            }
            _ => false,
        }
    }
    /// Close the finished run of the table's cohort (`name`, job `scope`): its
    /// mark, every stream's job and its audit row, in one transaction, so a kill
    /// before it resumes the run instead of losing the mark.
    async fn close(
        &self,
        client: &mut Client,
        name: &TableName,
        scope: &str,
        streams: &StreamsReport,
    ) -> anyhow::Result<()> {
        let (run, masks) = (self.run, self.masks);
        crate::fault::point("anonymise.marking");
        let change = change::begin(client, &run.limits, false).await?;
        mark_finished(change.tx(), name, masks, &self.cohort, scope, &self.mark).await?;
        streams.finish(change.tx()).await?;
        let batches = streams.batches();
        let entry = AuditEntry {
            action: "anonymise".to_owned(),
            ticket: Some(run.ticket.clone()),
            subject_ref: None,
            counts: streams.counts(),
            fields: masks.masked_columns.clone(),
            detail: serde_json::json!({
                "scope": scope,
                "table": name.to_string(),
                "rule": run.rule,
                "batches": batches,
                "rows": streams.rows(),
                "streams": streams.runs.len(),
                "resumed": streams.resumed(),
                "pseudonymised": masks.pseudonymised,
            }),
        };
        if batches > 0 {
            change.commit(&run.operator, &entry).await?;
        } else {
            crate::pg::db::finish(change.into_transaction(), false).await?;
        }
        Ok(())
    }
}

impl<'a> StreamWork for MaskWork<'a> {
    type Step = MaskBatch<'a>;
    type Error = anyhow::Error;

    fn step(&self, job: &BatchJob, key: &PrimaryKey) -> MaskBatch<'a> {
        MaskBatch {
            table: self.table.to_owned(),
            masks: self.masks,
            key_types: key.types.clone(),
            condition: job.condition.clone(),
            params: job.params.clone(),
            progress: self.run.progress,
            masked: 0,
            deleted: 0,
            batches: 0,
            statements: StatementCache::default(),
        }
    }

    async fn connect(&self, streams: usize) -> anyhow::Result<Client> {
        let connect = self.run.connect.as_ref().ok_or_else(|| {
            DerbesError::Usage(format!(
                "{}/{} was cut into {streams} streams by `anonymise --rule --jobs` and stopped: \
                 finish it with `derbes anonymise --rule {}`, then run this again",
                self.run.rule, self.table, self.run.rule
            ))
        })?;
        let more = connect().await?;
        for rule in self.rules {
            retention::prepare(&more, self.map, self.catalog, rule, Population::Everyone).await?;
        }
        Ok(more)
    }

    fn resume_whole(&mut self, started: &[String]) -> Option<Vec<String>> {
        self.restore(started).then(|| started.to_vec())
    }

    fn resume_stream(&mut self, stream: &change::Stream) -> anyhow::Result<()> {
        if self.restore(&stream.params) {
            return Ok(());
        }
        Err(DerbesError::Usage(format!(
            "the unfinished run {} was started by another data map: finish it with that one",
            stream.scope
        ))
        .into())
    }
}

/// Record, in the transaction `tx`, what the finished run of job `scope` masked:
/// its cut-off, and as pending the rows old enough but held back among those the
/// run worked on (younger than the earlier mark, or pending under it). A run with
/// an earlier cut-off than the mark's (`purge --as-of` in the past) keeps the
/// mark's, and the rows pending under it.
async fn mark_finished(
    tx: &Transaction<'_>,
    table: &TableName,
    masks: &TableMasks,
    cohort: &Cohort,
    scope: &str,
    mark: &CohortMark,
) -> Result<(), ChangeError> {
    let generation = mark.generation + 1;
    let (_, mut params) = cohort.selection(&masks.key_columns, scope, mark);
    params.push(generation.to_string());
    let refs: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = params
        .iter()
        .map(|p| p as &(dyn tokio_postgres::types::ToSql + Sync))
        .collect();
    let n = cohort.params.len();
    tx.execute(
        &format!(
            "INSERT INTO derbes.cohort_pending (scope, generation, key) \
             SELECT ${s}::text, ${g}::text::bigint, {keys} FROM {table} t0 \
             WHERE ({age} OR COALESCE({age_at}, false)) AND NOT COALESCE(({due}), false) AND {since}",
            s = n + 2,
            g = n + 4,
            keys = key_array(&masks.key_columns),
            table = table.quoted(),
            age = cohort.age,
            age_at = cohort.age_at,
            due = cohort.due,
            since = cohort.since(&masks.key_columns),
        ),
        &refs,
    )
    .await?;
    tx.execute(
        "DELETE FROM derbes.cohort_pending WHERE scope = $1 AND generation <> $2",
        &[&scope, &generation],
    )
    .await?;
    tx.execute(
        "INSERT INTO derbes.cohort_marks (scope, cutoff, generation) \
         VALUES ($1, $2::text::timestamptz, $3) \
         ON CONFLICT (scope) DO UPDATE \
         SET cutoff = greatest(derbes.cohort_marks.cutoff, excluded.cutoff), \
             generation = excluded.generation, marked_at = now()",
        &[&scope, &cohort.params[0], &generation],
    )
    .await?;
    Ok(())
}

/// k over the map's quasi-identifiers, as stored now, over every subject: the
/// subject table's own columns, and for a linked table the smallest value among
/// the subject's rows.
pub async fn k_anonymity(
    client: &impl tokio_postgres::GenericClient,
    map: &DataMap,
    catalog: &Catalog,
) -> anyhow::Result<KReport> {
    let subject_key = quote_ident(&map.subject.key);
    let mut exprs = Vec::new();
    let mut names = Vec::new();
    for (table, spec) in &map.tables {
        for (column, _) in spec.columns.iter().filter(|(_, c)| c.quasi_identifier) {
            names.push(format!("{table}.{column}"));
            if table == &map.subject.table {
                exprs.push(format!("s.{}::text", quote_ident(column)));
            } else {
                let path = LinkPath::compile(map, catalog, table)
                    .map_err(DerbesError::VerificationFailed)?;
                let joined = path.joined();
                exprs.push(format!(
                    "(SELECT min(t0.{}::text) FROM {}{} WHERE {} = s.{subject_key})",
                    quote_ident(column),
                    joined.first,
                    joined.joins,
                    joined.key
                ));
            }
        }
    }
    if exprs.is_empty() {
        return Err(DerbesError::Usage(
            "the data map marks no quasi-identifiers: add `quasi_identifier = true` to columns such as the birth date, sex and region, then run --report again"
                .to_owned(),
        )
        .into());
    }
    let groups: Vec<String> = (1..=exprs.len()).map(|i| format!("q{i}")).collect();
    let select: Vec<String> = exprs
        .iter()
        .enumerate()
        .map(|(i, e)| format!("{e} AS q{}", i + 1))
        .collect();
    let sql = format!(
        "SELECT min(n), count(*), coalesce(sum(n), 0)::bigint, coalesce(sum(n) FILTER (WHERE n < 5), 0)::bigint \
         FROM (SELECT count(*) AS n FROM (SELECT {} FROM {} s) q GROUP BY {}) g",
        select.join(", "),
        map.subject_table().quoted(),
        groups.join(", ")
    );
    let row = client.query_one(&sql, &[]).await?;
    Ok(KReport {
        quasi_identifiers: names,
        k: row.get(0),
        groups: row.get(1),
        subjects: row.get(2),
        in_groups_under_5: row.get(3),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference() -> DataMap {
        DataMap::load(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/datamap.toml"),
        )
        .unwrap()
    }

    #[test]
    fn a_rules_tables_are_the_tables_that_name_it() {
        let map = reference();
        assert_eq!(
            rule_tables(&map, "traffic").unwrap(),
            vec!["usage_events".to_owned()]
        );
        assert!(rule_tables(&map, "no-such-rule").is_err());
    }
}
