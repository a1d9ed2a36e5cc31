//! A table without a primary key, which has no key to cut batches by: its due rows
//! deleted by row address (`ctid`) found and checked again in the same statement,
//! each batch with its own audit row, or archived then deleted in one transaction.

use std::collections::BTreeMap;
use std::time::Instant;

use chrono::Utc;
use tokio_postgres::Client;

use super::steps::{remove_strays, sanitise};
use super::{ArchiveTarget, RuleOutcome, TableOutcome, TableRun};
use crate::files::crypto::Recipients;
use crate::ops::archive::{self, ArchiveRequest, Selection};
use crate::pg::audit::AuditEntry;
use crate::pg::change;

/// Archive, then delete, a table's due rows when the table has no primary key: in
/// one transaction, the rows go to a verified archive that captures their
/// addresses, exactly those are deleted, and the audit row is written (a row
/// changed by another session meanwhile is archived but kept: its address moved).
async fn archive_keyless(
    client: &mut Client,
    run: &TableRun<'_>,
    target: &ArchiveTarget,
    done: &mut TableOutcome,
    outcome: &mut RuleOutcome,
) -> anyhow::Result<()> {
    let TableRun {
        map,
        catalog,
        request,
        rule,
        table,
        ..
    } = *run;
    remove_strays(client, &target.dir).await?;
    let mut recipients = Recipients::new();
    for (index, key) in target.recipients.iter().enumerate() {
        recipients.add(key, index + 1)?;
    }
    let file = format!(
        "purge-{}-{}-{}-keyless.age",
        rule.name,
        table.name.table,
        Utc::now().format("%Y%m%dT%H%M%S%.3f")
    );
    let change = change::begin(client, &request.limits, false).await?;
    let tx = change.into_transaction();
    let receipt = archive::write_verified(
        &tx,
        map,
        catalog,
        ArchiveRequest {
            selection: Selection::DueRows {
                table: table.mapped.clone(),
                rule: rule.name.clone(),
                as_of: request.as_of,
            },
            out: target.dir.join(sanitise(&file)),
            overwrite: false,
            recipients,
            keep: None,
            operator: request.operator.clone(),
            ticket: Some(request.ticket.clone()),
            part_bytes: crate::files::tar_writer::PART_BYTES,
            capture_keys: true,
            jobs: None,
        },
        &|_, _| {},
    )
    .await?;
    let deleted: u64 = receipt.delete_archived(&tx).await?.values().sum();
    crate::fault::point("purge.deleted");
    crate::pg::audit::append(
        &tx,
        &request.operator,
        &keyless_batch_entry(run, deleted as i64, 1, Some(&receipt.summary.archive_id)),
    )
    .await?;
    let archived = receipt.summary.rows as i64;
    let summary = receipt.commit(tx).await?;
    outcome.archives.push(summary.id);
    done.archived += archived;
    done.deleted += deleted as i64;
    done.batches += 1;
    done.audited_per_batch = true;
    Ok(())
}

/// The audit row of one committed batch of a table without a primary key (its
/// rows addressed by `ctid`), written in the batch's transaction.
fn keyless_batch_entry(
    run: &TableRun<'_>,
    deleted: i64,
    batch: i64,
    archive_id: Option<&str>,
) -> AuditEntry {
    let TableRun {
        request,
        rule,
        table,
        ..
    } = *run;
    AuditEntry {
        action: "purge".to_owned(),
        ticket: Some(request.ticket.clone()),
        subject_ref: None,
        counts: BTreeMap::from([(table.name.to_string(), deleted)]),
        fields: Vec::new(),
        detail: serde_json::json!({
            "rule": rule.name,
            "table": table.name.to_string(),
            "cutoff": rule.cutoff,
            "batch": batch,
            "archive_id": archive_id,
            "by": "row address (the table has no primary key)",
        }),
    }
}

/// Delete a table's due rows when the table has no primary key to cut batches by:
/// each batch one statement over at most `BATCH` rows found by address (`ctid`)
/// that checks the rule's condition itself (a row changed since it was found is
/// re-read and kept if no longer due), committed with its own audit row, so a
/// stopped run leaves every deleted row on the record and the next run deletes
/// what is still due. A rule that archives first goes to [`archive_keyless`].
pub(super) async fn delete_keyless(
    client: &mut Client,
    run: &TableRun<'_>,
    done: &mut TableOutcome,
    outcome: &mut RuleOutcome,
) -> anyhow::Result<()> {
    const BATCH: i64 = 10_000;
    if let Some(target) = run.archive {
        return archive_keyless(client, run, target, done, outcome).await;
    }
    let TableRun {
        request,
        rule,
        table,
        conditions,
        ..
    } = *run;
    let sql = format!(
        "DELETE FROM {table} t0 WHERE t0.ctid = ANY(ARRAY( \
             SELECT t0.ctid FROM {table} t0 WHERE {due} LIMIT {BATCH})) AND {due}",
        table = table.name.quoted(),
        due = conditions.due(),
    );
    let cutoff = rule.cutoff.to_rfc3339();
    loop {
        if request.deadline.is_some_and(|d| Instant::now() >= d) || crate::stop::requested() {
            outcome.status = "stopped".to_owned();
            return Ok(());
        }
        let started = Instant::now();
        let change = change::begin(client, &request.limits, false).await?;
        let deleted = change.tx().execute(&sql, &[&cutoff]).await?;
        if deleted == 0 {
            crate::pg::db::finish(change.into_transaction(), true).await?;
            return Ok(());
        }
        crate::fault::point("purge.deleted");
        done.batches += 1;
        done.audited_per_batch = true;
        change
            .commit(
                &request.operator,
                &keyless_batch_entry(run, deleted as i64, done.batches, None),
            )
            .await?;
        done.deleted += deleted as i64;
        done.longest_batch_ms = done
            .longest_batch_ms
            .max(started.elapsed().as_millis() as u64);
        tokio::time::sleep(request.pause).await;
    }
}
