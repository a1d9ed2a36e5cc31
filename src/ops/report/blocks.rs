//! Blocks over time by reason, from `derbes.blocks`: placed and lifted per month
//! of the period (in the data map's time zone), and those in force now.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use tokio_postgres::GenericClient;

use super::model::{BlockFigures, BlockMonth, ReasonCount};
use super::Period;

pub async fn gather(client: &impl GenericClient, period: &Period) -> anyhow::Result<BlockFigures> {
    let mut months: BTreeMap<(NaiveDate, String), BlockMonth> = BTreeMap::new();
    for (column, placed) in [("blocked_at", true), ("unblocked_at", false)] {
        // `column` is one of the two fixed names above.
        let rows = client
            .query(
                &format!(
                    "SELECT date_trunc('month', {column} AT TIME ZONE $3)::date, reason, count(*) \
                     FROM derbes.blocks WHERE {column} >= $1 AND {column} < $2 GROUP BY 1, 2"
                ),
                &[&period.start, &period.end, &period.zone],
            )
            .await?;
        for row in rows {
            let month: NaiveDate = row.get(0);
            let reason: String = row.get(1);
            let n: i64 = row.get(2);
            let entry = months
                .entry((month, reason.clone()))
                .or_insert_with(|| BlockMonth {
                    month,
                    reason,
                    blocked: 0,
                    unblocked: 0,
                });
            if placed {
                entry.blocked += n;
            } else {
                entry.unblocked += n;
            }
        }
    }
    let active = client
        .query(
            "SELECT reason, count(*) FROM derbes.blocks WHERE unblocked_at IS NULL \
             GROUP BY 1 ORDER BY 1",
            &[],
        )
        .await?
        .into_iter()
        .map(|row| ReasonCount {
            reason: row.get(0),
            count: row.get(1),
        })
        .collect();
    Ok(BlockFigures {
        months: months.into_values().collect(),
        active,
    })
}
