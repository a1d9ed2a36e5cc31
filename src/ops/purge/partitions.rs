//! Whole expired partitions: where a table is range-partitioned on the column a
//! rule ages it by (the reference `server_logs`, by month; pg_partman's tables
//! alike), a partition whose upper bound is at or before the cut-off holds only due
//! rows, and dropping it costs the same however many rows it holds.
//!
//! A partition goes whole only when none of its rows is held back (the rule's full
//! condition is counted over it first); else the batches take its free rows. Each
//! drop is recorded in `derbes.jobs` (operation `purge.partition`, scope the
//! partition) before anything happens, so a run killed between the steps finishes
//! them next time: detach (`CONCURRENTLY`, outside a transaction, where the parent
//! has no default partition; a pending detach is finalized), check again on the
//! detached table (a held row that arrived meanwhile puts the partition back),
//! archive when the rule says so (a verified archive, committed, before the drop),
//! and drop every detached partition of the table in one statement.
//!
//! With nothing that can hold a row back and no archive, no row of an expired
//! partition is read: its row count comes from the server's statistics
//! (`pg_class.reltuples`, exact after the VACUUM or ANALYZE an old partition has
//! had; the report says the count is from statistics), which is what makes a drop
//! cost the same however many rows the partition holds.

use tokio_postgres::Client;

use super::steps::sanitise;
use super::{Conditions, PurgeRequest, RulePlan, TableOutcome, TableRun};
use crate::files::crypto::Recipients;
use crate::map::TableName;
use crate::ops::archive::{self, ArchiveRequest, Selection};

const OPERATION: &str = "purge.partition";

/// Drop the table's whole expired partitions. Returns the catalogue ids of the
/// archives written.
pub(super) async fn purge_expired(
    client: &mut Client,
    run: &TableRun<'_>,
    unconditional: bool,
    done: &mut TableOutcome,
) -> anyhow::Result<Vec<i64>> {
    let TableRun {
        request,
        rule,
        table,
        conditions,
        ..
    } = *run;
    let Some(column) = table.time_column.as_deref() else {
        return Ok(Vec::new());
    };
    if rule.rule.age_from.is_some() {
        // Rows are due by their subject's event, not by the partition's dates.
        return Ok(Vec::new());
    }
    let parent = table.name.quoted();
    let key = client
        .query_opt(
            "SELECT p.partstrat::text, p.partnatts::int, \
                    (SELECT a.attname::text FROM pg_attribute a \
                      WHERE a.attrelid = p.partrelid AND a.attnum = p.partattrs[0]) \
             FROM pg_partitioned_table p WHERE p.partrelid = to_regclass($1)",
            &[&parent],
        )
        .await?;
    let Some(key) = key else {
        return Ok(Vec::new());
    };
    let (strategy, columns, name): (String, i32, Option<String>) =
        (key.get(0), key.get(1), key.get(2));
    if strategy != "r" || columns != 1 || name.as_deref() != Some(column) {
        return Ok(Vec::new());
    }
    client
        .execute(
            "SELECT set_config('lock_timeout', $1, false), set_config('statement_timeout', $2, false)",
            &[&request.limits.lock_timeout, &request.limits.statement_timeout],
        )
        .await?;
    let mut archives = Vec::new();
    let cutoff = rule.cutoff.to_rfc3339();

    // First what a stopped run left half-done.
    let left = client
        .query(
            "SELECT id, scope, counts FROM derbes.jobs \
             WHERE operation = $1 AND table_name = $2 AND finished_at IS NULL ORDER BY id",
            &[&OPERATION, &table.name.to_string()],
        )
        .await?;
    for row in left {
        let id: i64 = row.get(0);
        let scope: String = row.get(1);
        let counts: serde_json::Value = row.get(2);
        let Some(partition) = find_partition(client, &scope).await? else {
            // Dropped before the run stopped.
            finish_job(client, id, None).await?;
            continue;
        };
        let state = client
            .query_opt(
                "SELECT inhdetachpending FROM pg_inherits WHERE inhrelid = to_regclass($1)",
                &[&partition.quoted()],
            )
            .await?;
        match state {
            Some(row) if row.get::<_, bool>(0) => {
                client
                    .batch_execute(&format!(
                        "ALTER TABLE {parent} DETACH PARTITION {} FINALIZE",
                        partition.quoted()
                    ))
                    .await?;
            }
            Some(_) => {
                // Still attached: the run stopped before detaching; start over below.
                client
                    .execute("DELETE FROM derbes.jobs WHERE id = $1", &[&id])
                    .await?;
                continue;
            }
            None => {}
        }
        let bound = counts
            .get("bound")
            .and_then(|b| b.as_str())
            .unwrap_or_default()
            .to_owned();
        let archived = counts.get("archive").and_then(|a| a.as_i64());
        let ready = prepare_drop(
            client,
            run,
            done,
            Detached {
                job: id,
                partition,
                bound,
                archived,
            },
            &cutoff,
            unconditional,
        )
        .await?;
        if let Some(ready) = ready {
            archives.extend(ready.archive);
            drop_all(client, request, rule, std::slice::from_ref(&ready), done).await?;
        }
    }

    let expired = client
        .query(
            "SELECT n.nspname::text, c.relname::text, pg_get_expr(c.relpartbound, c.oid) \
             FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid \
             JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE i.inhparent = to_regclass($1) AND c.relkind = 'r' AND NOT i.inhdetachpending \
               AND (substring(pg_get_expr(c.relpartbound, c.oid) from 'TO \\(''([^'']+)''\\)'))::timestamptz \
                   <= $2::text::timestamptz \
             ORDER BY 2",
            &[&parent, &cutoff],
        )
        .await?;
    if expired.is_empty() {
        return Ok(archives);
    }
    let has_default: bool = client
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid \
              WHERE i.inhparent = to_regclass($1) AND pg_get_expr(c.relpartbound, c.oid) = 'DEFAULT')",
            &[&parent],
        )
        .await?
        .get(0);
    // Detach every expired partition first (each `DETACH ... CONCURRENTLY` is two
    // short transactions; their commits need not wait for the disk: a crash loses
    // a suffix of them, and each job row precedes its detach in the WAL, so a
    // detach that survives has its job row and the next run finishes it).
    client.batch_execute("SET synchronous_commit = off").await?;
    let detached: anyhow::Result<Vec<Detached>> = async {
        let mut detached = Vec::new();
        for row in expired {
            let partition = TableName {
                schema: row.get(0),
                table: row.get(1),
            };
            let bound: String = row.get(2);
            if !unconditional && kept(client, conditions, &partition, &cutoff).await? > 0 {
                continue; // held rows: the batches take the free ones
            }
            let id: i64 = client
                .query_one(
                    "INSERT INTO derbes.jobs (operation, scope, table_name, ticket, operator, counts) \
                     VALUES ($1, $2, $3, $4, $5, jsonb_build_object('bound', $6::text)) RETURNING id",
                    &[
                        &OPERATION,
                        &partition.to_string(),
                        &table.name.to_string(),
                        &request.ticket,
                        &request.operator,
                        &bound,
                    ],
                )
                .await?
                .get(0);
            let detach = if has_default {
                format!(
                    "ALTER TABLE {parent} DETACH PARTITION {}",
                    partition.quoted()
                )
            } else {
                format!(
                    "ALTER TABLE {parent} DETACH PARTITION {} CONCURRENTLY",
                    partition.quoted()
                )
            };
            client.batch_execute(&detach).await?;
            crate::fault::point("purge.partition.detached");
            detached.push(Detached {
                job: id,
                partition,
                bound,
                archived: None,
            });
        }
        Ok(detached)
    }
    .await;
    // Back to the server's own setting whatever happened: the rule's audit row,
    // later on this session, must wait for the disk.
    let reset = client.batch_execute("RESET synchronous_commit").await;
    let detached = detached?;
    reset?;
    // Then archive those the rule archives, and drop them all in one statement.
    let mut ready = Vec::new();
    for partition in detached {
        if let Some(one) =
            prepare_drop(client, run, done, partition, &cutoff, unconditional).await?
        {
            archives.extend(one.archive);
            ready.push(one);
        }
    }
    drop_all(client, request, rule, &ready, done).await?;
    Ok(archives)
}

/// A partition detached by a purge, not yet dropped.
struct Detached {
    job: i64,
    partition: TableName,
    /// Its bound, to attach it again (`FOR VALUES FROM (...) TO (...)`).
    bound: String,
    /// The catalogue id of its archive, when a stopped run already wrote it.
    archived: Option<i64>,
}

/// A detached partition ready to drop: archived if the rule says so.
struct ReadyToDrop {
    job: i64,
    partition: TableName,
    rows: i64,
    /// `rows` comes from the server's statistics, not from reading the rows.
    estimated: bool,
    /// The archive written for it by this run.
    archive: Option<i64>,
}

/// Rows of `partition` the rule's full condition keeps (held or referenced).
async fn kept(
    client: &Client,
    conditions: &Conditions,
    partition: &TableName,
    cutoff: &str,
) -> anyhow::Result<i64> {
    Ok(client
        .query_one(
            &format!(
                "SELECT count(*) FROM {} t0 WHERE NOT ({})",
                partition.quoted(),
                conditions.due()
            ),
            &[&cutoff],
        )
        .await?
        .get(0))
}

/// The partition `schema.table` named by a job's scope, when it still exists.
async fn find_partition(client: &Client, scope: &str) -> anyhow::Result<Option<TableName>> {
    let row = client
        .query_opt(
            "SELECT n.nspname::text, c.relname::text FROM pg_class c \
             JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname || '.' || c.relname = $1",
            &[&scope],
        )
        .await?;
    Ok(row.map(|r| TableName {
        schema: r.get(0),
        table: r.get(1),
    }))
}

async fn finish_job(
    client: &Client,
    id: i64,
    counts: Option<serde_json::Value>,
) -> anyhow::Result<()> {
    client
        .execute(
            "UPDATE derbes.jobs SET finished_at = now(), updated_at = now(), \
             counts = counts || COALESCE($2, '{}'::jsonb) WHERE id = $1",
            &[&id, &counts],
        )
        .await?;
    Ok(())
}

/// A detached partition: check again for held rows (one that arrived meanwhile
/// puts the partition back), archive it when the rule says so (the archive is
/// verified and committed before anything is dropped), and say how many rows it
/// holds: counted by the archive when there is one, else read from the server's
/// statistics (`pg_class.reltuples`, exact after the VACUUM or ANALYZE that old
/// partitions have had; counted row by row only when the partition never had one),
/// so a partition nobody needs to read goes unread.
async fn prepare_drop(
    client: &mut Client,
    run: &TableRun<'_>,
    done: &mut TableOutcome,
    detached: Detached,
    cutoff: &str,
    unconditional: bool,
) -> anyhow::Result<Option<ReadyToDrop>> {
    let TableRun {
        map,
        request,
        rule,
        table,
        conditions,
        archive,
        ..
    } = *run;
    let Detached {
        job,
        partition,
        bound,
        archived,
    } = detached;
    if !unconditional && kept(client, conditions, &partition, cutoff).await? > 0 {
        // A held row arrived between the check and the detach: put it back.
        client
            .batch_execute(&format!(
                "ALTER TABLE {} ATTACH PARTITION {} {bound}",
                table.name.quoted(),
                partition.quoted()
            ))
            .await?;
        finish_job(client, job, Some(serde_json::json!({"reattached": true}))).await?;
        return Ok(None);
    }
    let mut ready = ReadyToDrop {
        job,
        partition,
        rows: 0,
        estimated: false,
        archive: None,
    };
    if let (Some(target), None) = (archive, archived) {
        let mut recipients = Recipients::new();
        for (index, key) in target.recipients.iter().enumerate() {
            recipients.add(key, index + 1)?;
        }
        let tx = client.transaction().await?;
        let receipt = archive::write_verified(
            &tx,
            map,
            &crate::pg::catalog::Catalog::read(&tx).await?,
            ArchiveRequest {
                selection: Selection::Rows {
                    table: table.mapped.clone(),
                    relation: Some(ready.partition.clone()),
                    keys_table: None,
                    rule: Some(rule.name.clone()),
                },
                out: target.dir.join(format!(
                    "purge-{}-{}-{}.age",
                    sanitise(&rule.name),
                    sanitise(&ready.partition.table),
                    chrono::Utc::now().format("%Y%m%dT%H%M%S%.3f")
                )),
                overwrite: false,
                recipients,
                keep: None,
                operator: request.operator.clone(),
                ticket: Some(request.ticket.clone()),
                part_bytes: crate::files::tar_writer::PART_BYTES,
                capture_keys: false,
                // A detached partition takes no more writes: N streams read it in
                // one snapshot, like `archive dump --jobs`.
                jobs: target.jobs.clone(),
            },
            &|_, _| {},
        )
        .await?;
        tx.execute(
            "UPDATE derbes.jobs SET counts = counts || jsonb_build_object('archive', $2::bigint), \
             updated_at = now() WHERE id = $1",
            &[&job, &receipt.summary.id],
        )
        .await?;
        let summary = receipt.commit(tx).await?;
        ready.rows = summary.rows as i64;
        ready.archive = Some(summary.id);
        done.archived += ready.rows;
        crate::fault::point("purge.partition.archived");
    } else {
        let statistics: f32 = client
            .query_one(
                "SELECT reltuples FROM pg_class WHERE oid = to_regclass($1)",
                &[&ready.partition.quoted()],
            )
            .await?
            .get(0);
        if statistics >= 0.0 {
            ready.rows = statistics.round() as i64;
            ready.estimated = true;
        } else {
            ready.rows = client
                .query_one(
                    &format!("SELECT count(*) FROM {}", ready.partition.quoted()),
                    &[],
                )
                .await?
                .get(0);
        }
    }
    Ok(Some(ready))
}

/// Drop the partitions in one statement, close their jobs and write the audit row
/// of the rows they held, in one transaction: a run stopped at any point leaves no
/// dropped partition off the record.
async fn drop_all(
    client: &mut Client,
    request: &PurgeRequest,
    rule: &RulePlan,
    ready: &[ReadyToDrop],
    done: &mut TableOutcome,
) -> anyhow::Result<()> {
    if ready.is_empty() {
        return Ok(());
    }
    let names: Vec<String> = ready.iter().map(|r| r.partition.quoted()).collect();
    let rows: i64 = ready.iter().map(|r| r.rows).sum();
    let change = crate::pg::change::begin(client, &request.limits, false).await?;
    change
        .tx()
        .batch_execute(&format!("DROP TABLE {}", names.join(", ")))
        .await?;
    let ids: Vec<i64> = ready.iter().map(|r| r.job).collect();
    let counts: Vec<serde_json::Value> = ready
        .iter()
        .map(|r| serde_json::json!({"rows": r.rows, "estimated": r.estimated}))
        .collect();
    change
        .tx()
        .execute(
            "UPDATE derbes.jobs j SET finished_at = now(), updated_at = now(), \
             counts = j.counts || c.counts \
             FROM unnest($1::bigint[], $2::jsonb[]) AS c(id, counts) WHERE j.id = c.id",
            &[&ids, &counts],
        )
        .await?;
    crate::fault::point("purge.partition.dropping");
    change
        .commit(
            &request.operator,
            &crate::pg::audit::AuditEntry {
                action: "purge".to_owned(),
                ticket: Some(request.ticket.clone()),
                subject_ref: None,
                counts: std::collections::BTreeMap::from([(done.table.clone(), rows)]),
                fields: Vec::new(),
                detail: serde_json::json!({
                    "rule": rule.name,
                    "cutoff": rule.cutoff,
                    "partitions_dropped": ready.iter().map(|r| r.partition.to_string()).collect::<Vec<_>>(),
                    "rows_estimated": ready.iter().any(|r| r.estimated),
                }),
            },
        )
        .await?;
    for one in ready {
        done.deleted += one.rows;
        done.partition_rows += one.rows;
        done.rows_estimated |= one.estimated;
        done.partitions_dropped.push(one.partition.to_string());
    }
    Ok(())
}
