//! What one batch of a purge does: delete the due rows between its first and last
//! key ([`DeleteStep`]), or write its rows to a verified archive and delete exactly
//! the keys it captured ([`ArchiveStep`]); and the archive directory's leftovers of
//! a stopped run.

use chrono::Utc;
use tokio_postgres::{Client, Transaction};

use super::{ArchiveTarget, TableRun};
use crate::files::crypto::Recipients;
use crate::map::{quote_ident, DataMap, TableName};
use crate::ops::archive::{self, ArchiveReceipt, ArchiveRequest, Selection};
use crate::pg::catalog::Catalog;
use crate::pg::change::{Batch, BatchJob, BatchMode, BatchStep, ChangeError, Counts, PrimaryKey};
use crate::pg::db::StatementCache;

/// The batch keys as one text array per key column.
fn key_arrays(keys: &[Vec<String>], columns: usize) -> Vec<Vec<String>> {
    (0..columns)
        .map(|i| keys.iter().map(|k| k[i].clone()).collect())
        .collect()
}

/// A delete batch: the due rows between the batch's first and last key, in one
/// statement that walks the key index over that range and checks the rule's
/// condition itself (a row changed since the bounds were read is re-read, and kept
/// if it is no longer due), so the rows need no lock beforehand.
pub(super) struct DeleteStep {
    table: TableName,
    key_columns: Vec<String>,
    key_types: Vec<String>,
    /// The job's condition on `t0` and its text parameters (`$1..`).
    condition: String,
    params: Vec<String>,
    /// Rows deleted by the batches that committed.
    pub(super) deleted: i64,
    /// Rows deleted by the batch in progress, counted once it commits (a stream
    /// stopped by another's failure rolls its batch back).
    pending: i64,
    statements: StatementCache,
}

impl DeleteStep {
    /// The step that deletes `job`'s rows, batch by batch.
    pub(super) fn of(job: &BatchJob, key: &PrimaryKey) -> DeleteStep {
        DeleteStep {
            table: job.table.clone(),
            key_columns: key.columns.clone(),
            key_types: key.types.clone(),
            condition: job.condition.clone(),
            params: job.params.clone(),
            deleted: 0,
            pending: 0,
            statements: StatementCache::default(),
        }
    }
}

impl BatchStep for DeleteStep {
    fn mode(&self) -> BatchMode {
        BatchMode::Range
    }

    async fn apply(
        &mut self,
        tx: &Transaction<'_>,
        batch: &Batch<'_>,
    ) -> Result<Counts, ChangeError> {
        let (first, last) = (batch.first, batch.last);
        let n = self.key_columns.len();
        let own: Vec<String> = self
            .key_columns
            .iter()
            .map(|c| format!("t0.{}", quote_ident(c)))
            .collect();
        let bound = |from: usize| -> Vec<String> {
            self.key_types
                .iter()
                .enumerate()
                .map(|(i, ty)| format!("${}::text::{ty}", from + i))
                .collect()
        };
        // The condition's parameters come first; the bounds follow.
        let m = self.params.len();
        let sql = format!(
            "DELETE FROM {} t0 WHERE ({}) >= ({}) AND ({}) <= ({}) AND ({})",
            self.table.quoted(),
            own.join(", "),
            bound(m + 1).join(", "),
            own.join(", "),
            bound(m + 1 + n).join(", "),
            self.condition
        );
        let mut params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = self
            .params
            .iter()
            .map(|p| p as &(dyn tokio_postgres::types::ToSql + Sync))
            .collect();
        params.extend(
            first
                .iter()
                .chain(last)
                .map(|k| k as &(dyn tokio_postgres::types::ToSql + Sync)),
        );
        let statement = self.statements.prepare(tx, &sql).await?;
        let deleted = tx.execute(&statement, &params).await? as i64;
        crate::fault::point("purge.deleted");
        self.pending = deleted;
        Ok(Counts::from([(self.table.to_string(), deleted)]))
    }

    fn after_commit(&mut self, committed: bool) {
        if committed {
            self.deleted += self.pending;
        }
        self.pending = 0;
    }
}

/// Session temporary table holding the keys of an archive-then-delete batch.
pub(super) const BATCH_KEYS: &str = "derbes_purge_batch";

/// An archive-then-delete batch: the rows go to a verified archive, then exactly
/// the archived keys are deleted; the archive file is kept once the batch commits.
pub(super) struct ArchiveStep<'a> {
    map: &'a DataMap,
    catalog: &'a Catalog,
    rule: String,
    mapped: String,
    table: TableName,
    key_columns: Vec<String>,
    key_types: Vec<String>,
    target: &'a ArchiveTarget,
    operator: String,
    ticket: String,
    pending: Option<ArchiveReceipt>,
    /// Catalogue ids of the archives of committed batches.
    pub(super) written: Vec<i64>,
    pub(super) archived: i64,
    pub(super) deleted: i64,
    batch: u64,
}

impl<'a> ArchiveStep<'a> {
    /// The step that archives `run`'s batches into `target`, then deletes them.
    pub(super) fn new(
        run: &TableRun<'a>,
        key: PrimaryKey,
        target: &'a ArchiveTarget,
    ) -> ArchiveStep<'a> {
        ArchiveStep {
            map: run.map,
            catalog: run.catalog,
            rule: run.rule.name.clone(),
            mapped: run.table.mapped.clone(),
            table: run.table.name.clone(),
            key_columns: key.columns,
            key_types: key.types,
            target,
            operator: run.request.operator.clone(),
            ticket: run.request.ticket.clone(),
            pending: None,
            written: Vec::new(),
            archived: 0,
            deleted: 0,
            batch: 0,
        }
    }
}

impl BatchStep for ArchiveStep<'_> {
    async fn apply(
        &mut self,
        tx: &Transaction<'_>,
        batch: &Batch<'_>,
    ) -> Result<Counts, ChangeError> {
        let keys = batch.keys;
        let arrays = key_arrays(keys, self.key_columns.len());
        let params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = arrays
            .iter()
            .map(|a| a as &(dyn tokio_postgres::types::ToSql + Sync))
            .collect();
        let columns: Vec<String> = self.key_columns.iter().map(|c| quote_ident(c)).collect();
        let unnest: Vec<String> = self
            .key_types
            .iter()
            .enumerate()
            .map(|(i, ty)| format!("${}::text[]::{ty}[]", i + 1))
            .collect();
        tx.execute(
            &format!(
                "INSERT INTO pg_temp.{BATCH_KEYS} ({}) SELECT * FROM unnest({})",
                columns.join(", "),
                unnest.join(", ")
            ),
            &params,
        )
        .await?;
        let mut recipients = Recipients::new();
        for (index, key) in self.target.recipients.iter().enumerate() {
            recipients
                .add(key, index + 1)
                .map_err(|e| ChangeError::Database(e.to_string()))?;
        }
        self.batch += 1;
        let file = format!(
            "purge-{}-{}-{}-{}.age",
            self.rule,
            self.table.table,
            Utc::now().format("%Y%m%dT%H%M%S%.3f"),
            self.batch
        );
        let request = ArchiveRequest {
            selection: Selection::Rows {
                table: self.mapped.clone(),
                relation: None,
                keys_table: Some(BATCH_KEYS.to_owned()),
                rule: Some(self.rule.clone()),
            },
            out: self.target.dir.join(sanitise(&file)),
            overwrite: false,
            recipients,
            keep: None,
            operator: self.operator.clone(),
            ticket: Some(self.ticket.clone()),
            part_bytes: crate::files::tar_writer::PART_BYTES,
            capture_keys: true,
            jobs: None,
        };
        let receipt = archive::write_verified(tx, self.map, self.catalog, request, &|_, _| {})
            .await
            .map_err(|e| ChangeError::Audit(format!("archiving the batch failed: {e:#}")))?;
        crate::fault::point("purge.archived");
        let deleted = receipt
            .delete_archived(tx)
            .await
            .map_err(|e| ChangeError::Database(format!("{e:#}")))?;
        let n: u64 = deleted.values().sum();
        self.archived += receipt.summary.rows as i64;
        self.deleted += n as i64;
        self.pending = Some(receipt);
        crate::fault::point("purge.deleted");
        Ok(Counts::from([(self.table.to_string(), n as i64)]))
    }

    fn after_commit(&mut self, committed: bool) {
        if let Some(receipt) = self.pending.take() {
            // Kept either way: committed, it is the catalogued archive of deleted
            // rows; if the commit's fate is unknown, a stray file is the safe side.
            let _ = committed;
            let summary = receipt.keep();
            self.written.push(summary.id);
        }
    }
}

/// Remove what a stopped archive-then-delete run left in the archive directory: a
/// `purge-*.age` file the catalogue does not know (its batch never committed, so
/// its rows were not deleted and are still in the table) and `.purge-*.partial`
/// files being written. A catalogued archive is committed with its batch's delete
/// and is never touched.
pub(super) async fn remove_strays(client: &Client, dir: &std::path::Path) -> anyhow::Result<()> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(());
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let partial = name.starts_with(".purge-") && name.ends_with(".partial");
        let archive = name.starts_with("purge-") && name.ends_with(".age");
        if !(partial || archive) || !entry.file_type().is_ok_and(|t| t.is_file()) {
            continue;
        }
        let path = std::path::absolute(entry.path()).unwrap_or_else(|_| entry.path());
        if archive {
            let known: bool = client
                .query_one(
                    "SELECT EXISTS (SELECT 1 FROM derbes.archives WHERE path = $1)",
                    &[&path.to_string_lossy().into_owned()],
                )
                .await?
                .get(0);
            if known {
                continue;
            }
        }
        std::fs::remove_file(&path).map_err(|e| {
            anyhow::anyhow!(
                "cannot remove {}, left by a stopped purge (its rows were not deleted): {e}; remove it by hand",
                path.display()
            )
        })?;
    }
    Ok(())
}

/// A file name from a rule and table name: letters, digits, `-`, `_`, `.` only.
pub(super) fn sanitise(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_keys_split_by_column_and_file_names_are_plain() {
        assert_eq!(
            key_arrays(
                &[vec!["1".into(), "a".into()], vec!["2".into(), "b".into()]],
                2
            ),
            vec![
                vec!["1".to_owned(), "2".into()],
                vec!["a".to_owned(), "b".into()]
            ]
        );
        assert_eq!(sanitise("purge-a/b c.age"), "purge-a_b_c.age");
    }
}
