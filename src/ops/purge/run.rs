//! One rule of a purge run: its holds computed in the session, then each table in
//! delete order (whole expired partitions first, then batches), or the cohort
//! engine for a rule that anonymises; and the one audit row of the rule's run.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use tokio_postgres::Client;

use super::{batches, partitions, PurgeRequest, RuleOutcome, TableOutcome, TableRun};
use crate::map::{quote_ident, DataMap, RetentionAction};
use crate::ops::anonymise::CohortMark;
use crate::ops::retention::{
    any_held, count_table, prepare, Conditions, CountScope, Population, RulePlan,
};
use crate::pg::audit::AuditEntry;
use crate::pg::catalog::Catalog;
use crate::pg::change;

/// Run one rule: its holds computed in this session, then each table in delete
/// order (whole expired partitions first, then batches), or the cohort engine for
/// a rule that anonymises.
pub(super) async fn run_rule(
    client: &mut Client,
    map: &DataMap,
    catalog: &Catalog,
    request: &PurgeRequest,
    rule: &RulePlan,
    outcome: &mut RuleOutcome,
    progress: &(dyn Fn(&str, &str, i64, i64) + Sync),
) -> anyhow::Result<()> {
    outcome
        .notes
        .extend(prepare(client, map, catalog, rule, Population::Everyone).await?);
    if rule.rule.action == RetentionAction::Anonymise {
        return anonymise_rule(client, map, catalog, request, rule, outcome, progress).await;
    }
    let any_held = any_held(client, rule).await?;
    for table in &rule.tables {
        let conditions = Conditions::of(rule, table);
        // A real run counts what it does; counting what is due first would scan
        // every expired row once more (a whole partition's before its drop).
        let counted = count_table(
            client,
            rule,
            table,
            &conditions,
            any_held,
            request.dry_run || rule.rule.action == RetentionAction::Anonymise,
            CountScope::PastOnly,
        )
        .await?;
        let mut done = TableOutcome::planned(table, counted.due, counted.oldest_due, counted.held);
        if request.dry_run || rule.rule.action == RetentionAction::Anonymise {
            outcome.tables.push(done);
            continue;
        }
        let run = TableRun {
            map,
            catalog,
            request,
            rule,
            table,
            conditions: &conditions,
            archive: (rule.rule.action == RetentionAction::ArchiveThenDelete)
                .then_some(request.archive.as_ref())
                .flatten(),
            progress,
        };
        // Whole expired partitions first: a drop instead of a delete of their rows.
        // With nothing that can hold a row back, a partition past the cut-off
        // goes unread.
        let unconditional = !any_held && conditions.referenced.is_none() && conditions.own_age_only;
        let result = partitions::purge_expired(client, &run, unconditional, &mut done).await;
        match result {
            Ok(ids) => outcome.archives.extend(ids),
            Err(e) => {
                outcome.tables.push(done);
                return Err(e);
            }
        }
        let result = batches::purge_batches(client, &run, &mut done, outcome).await;
        if done.due == 0 {
            done.due = done.deleted;
        }
        outcome.tables.push(done);
        result?;
        if outcome.status == "stopped" {
            break;
        }
    }
    Ok(())
}

/// A rule whose action is `anonymise`: the rows due (old enough, no legal hold:
/// the same conditions a delete uses, except that rows other tables point at may be
/// masked) are depersonalised in place with each column's masking strategy, in
/// checkpointed primary-key batches (`anonymise`'s cohort engine, under its own run
/// lock per rule). The dry run counts.
async fn anonymise_rule(
    client: &mut Client,
    map: &DataMap,
    catalog: &Catalog,
    request: &PurgeRequest,
    rule: &RulePlan,
    outcome: &mut RuleOutcome,
    progress: &(dyn Fn(&str, &str, i64, i64) + Sync),
) -> anyhow::Result<()> {
    let mut conditions = BTreeMap::new();
    for table in &rule.tables {
        let found = Conditions::of(rule, table);
        let held_back = count_table(
            client,
            rule,
            table,
            &found,
            true,
            false,
            CountScope::PastOnly,
        )
        .await?
        .held;
        // Due: what this run will mask, so not what an earlier run masked.
        let cohort = found.cohort(rule);
        let key_columns = catalog
            .tables
            .get(&table.name)
            .map(|t| t.primary_key.clone())
            .unwrap_or_default();
        let scope = format!("{}/{}", rule.name, table.mapped);
        let mark = CohortMark::read(client, &scope).await?;
        let (selection, params) = cohort.selection(&key_columns, &scope, &mark);
        let oldest = match &table.time_column {
            Some(c) => format!("min(t0.{})::timestamptz", quote_ident(c)),
            None => "NULL::timestamptz".to_owned(),
        };
        let refs: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = params
            .iter()
            .map(|p| p as &(dyn tokio_postgres::types::ToSql + Sync))
            .collect();
        let row = client
            .query_one(
                &format!(
                    "SELECT count(*), {oldest} FROM {} t0 WHERE {selection}",
                    table.name.quoted()
                ),
                &refs,
            )
            .await?;
        let (due, oldest): (i64, Option<DateTime<Utc>>) = (row.get(0), row.get(1));
        outcome
            .tables
            .push(TableOutcome::planned(table, due, oldest, held_back));
        conditions.insert(table.mapped.clone(), cohort);
    }
    if request.dry_run {
        return Ok(());
    }
    let label = rule.name.clone();
    let done = std::sync::atomic::AtomicI64::new(0);
    let total: i64 = outcome.tables.iter().map(|t| t.due).sum();
    let report = crate::ops::anonymise::cohort(
        client,
        map,
        catalog,
        crate::ops::anonymise::CohortRun {
            rule: rule.name.clone(),
            ticket: request.ticket.clone(),
            operator: request.operator.clone(),
            dry_run: false,
            batch_size: request.batch_size,
            limits: request.limits.clone(),
            mask_key: request.mask_key.as_ref(),
            progress: &|rows| {
                let now =
                    done.fetch_add(rows as i64, std::sync::atomic::Ordering::Relaxed) + rows as i64;
                progress(&label, "rows", now, total);
            },
            conditions: Some(conditions),
            // One stream: the rule's holds are tables of this session.
            jobs: 1,
            connect: None,
        },
    )
    .await?;
    for result in &report.tables {
        let name = map.table_name(&result.table).to_string();
        if let Some(table) = outcome.tables.iter_mut().find(|t| t.table == name) {
            table.anonymised = result.masked as i64;
            table.deleted = result.deleted as i64;
            table.batches = result.batches;
            table.resumed = result.resumed;
        }
    }
    Ok(())
}

/// The one audit row of a rule's run.
pub(super) async fn audit_rule(
    client: &mut Client,
    request: &PurgeRequest,
    outcome: &RuleOutcome,
) -> anyhow::Result<()> {
    let mut counts = BTreeMap::new();
    for table in outcome.tables.iter().filter(|t| !t.audited_per_batch) {
        let deleted = table.deleted + table.deleted_before - table.partition_rows;
        if deleted > 0 {
            counts.insert(table.table.clone(), deleted);
        }
    }
    let entry = AuditEntry {
        action: "purge".to_owned(),
        ticket: Some(request.ticket.clone()),
        subject_ref: None,
        counts,
        fields: Vec::new(),
        detail: serde_json::json!({
            "rule": outcome.rule,
            "action": outcome.action,
            "keep": outcome.keep,
            "cutoff": outcome.cutoff,
            "status": outcome.status,
            "deleted": outcome.deleted,
            "archived": outcome.archived,
            "anonymised": outcome.anonymised,
            "held_back": outcome.held_back,
            "archives": outcome.archives,
            "partitions_dropped": outcome.tables.iter().flat_map(|t| t.partitions_dropped.clone()).collect::<Vec<_>>(),
            "tables": outcome.tables.iter().map(|t| serde_json::json!({
                "table": t.table, "deleted": t.deleted, "archived": t.archived,
                "held_back": t.held_back, "batches": t.batches, "resumed": t.resumed,
                "deleted_before": t.deleted_before, "audited_per_batch": t.audited_per_batch,
            })).collect::<Vec<_>>(),
            "duration_ms": outcome.duration_ms,
        }),
    };
    let change = change::begin(client, &request.limits, false).await?;
    change.commit(&request.operator, &entry).await?;
    Ok(())
}
