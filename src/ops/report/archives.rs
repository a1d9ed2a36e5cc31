//! Archives by keep-until, from the register `derbes.archives`: those held (not
//! yet past keep-until), those expiring within 90 days of the report's time, and
//! per month of keep-until. An archive's verification time is the latest
//! `archive.verify` audit row for it (written when `archive verify` found it
//! intact); None when it was never verified.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use tokio_postgres::GenericClient;

use super::model::{ArchiveEntry, ArchiveFigures, ArchiveMonth};
use super::Period;
use crate::ops::archive::select::SelectionRecord;

/// How far ahead `expiring` looks.
pub const EXPIRING_DAYS: i64 = 90;

pub async fn gather(
    client: &impl GenericClient,
    period: &Period,
) -> anyhow::Result<ArchiveFigures> {
    let mut figures = ArchiveFigures::default();
    let horizon = period.now + chrono::Duration::days(EXPIRING_DAYS);
    let mut months: BTreeMap<NaiveDate, ArchiveMonth> = BTreeMap::new();
    // One row per archive: the register holds one per file, never per row.
    let rows = client
        .query(
            "SELECT a.archive_id, a.selection, a.keep_until, a.bytes, \
                    date_trunc('month', a.keep_until AT TIME ZONE $2)::date, v.verified_at \
             FROM derbes.archives a \
             LEFT JOIN (SELECT detail->>'archive_id' AS archive_id, max(at) AS verified_at \
                        FROM derbes.audit_log \
                        WHERE action = 'archive.verify' AND detail->>'result' = 'intact' \
                        GROUP BY 1) v ON v.archive_id = a.archive_id \
             WHERE a.keep_until > $1 ORDER BY a.keep_until, a.archive_id",
            &[&period.now, &period.zone],
        )
        .await?;
    for row in rows {
        let keep_until: DateTime<Utc> = row.get(2);
        let bytes: i64 = row.get(3);
        let month: NaiveDate = row.get(4);
        figures.held += 1;
        figures.bytes += bytes;
        let entry = months.entry(month).or_insert_with(|| ArchiveMonth {
            month,
            archives: 0,
            bytes: 0,
        });
        entry.archives += 1;
        entry.bytes += bytes;
        if keep_until <= horizon {
            let selection: serde_json::Value = row.get(1);
            figures.expiring.push(ArchiveEntry {
                archive_id: row.get(0),
                selection: describe(selection),
                keep_until,
                bytes,
                verified_at: row.get(5),
            });
        }
    }
    figures.by_keep_until = months.into_values().collect();
    Ok(figures)
}

/// What an archive selected, by rule or table name only: a subject's archive
/// says `subject`, never whose.
fn describe(selection: serde_json::Value) -> String {
    match serde_json::from_value::<SelectionRecord>(selection) {
        Ok(record) => match (record.kind.as_str(), record.rule, record.table) {
            ("rule", Some(rule), _) => format!("rule {rule}"),
            ("table", _, Some(table)) => format!("table {table}"),
            (kind, _, _) => kind.to_owned(),
        },
        Err(_) => "unknown".to_owned(),
    }
}
