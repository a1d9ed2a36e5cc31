//! Subjects' requests against their statutory deadlines, from `derbes.requests`
//! (the `due_on` fixed when each was opened); on time, late and overdue as
//! `request list` decides them ([`request::overdue`], [`request::on_time`]).

use std::collections::BTreeMap;

use chrono::NaiveDate;
use tokio_postgres::GenericClient;

use super::model::{OverdueRequest, RequestFigures, RequestKindFigures};
use super::Period;
use crate::ops::request::{self, Kind};

pub async fn gather(
    client: &impl GenericClient,
    period: &Period,
) -> anyhow::Result<RequestFigures> {
    let mut kinds: BTreeMap<String, RequestKindFigures> = Kind::ALL
        .iter()
        .map(|k| {
            (
                k.as_str().to_owned(),
                RequestKindFigures {
                    kind: k.as_str().to_owned(),
                    ..Default::default()
                },
            )
        })
        .collect();
    // Grouped by the dates the decisions need: as many rows as distinct days.
    let rows = client
        .query(
            "SELECT kind, status = 'open', received_on, due_on, \
                    (closed_at AT TIME ZONE $3)::date, count(*) \
             FROM derbes.requests \
             WHERE status = 'open' OR received_on BETWEEN $1 AND $2 \
             GROUP BY 1, 2, 3, 4, 5",
            &[&period.since, &period.until, &period.zone],
        )
        .await?;
    for row in rows {
        let kind: String = row.get(0);
        let open: bool = row.get(1);
        let received_on: NaiveDate = row.get(2);
        let due_on: NaiveDate = row.get(3);
        let closed_on: Option<NaiveDate> = row.get(4);
        let n: i64 = row.get(5);
        let entry = kinds
            .entry(kind.clone())
            .or_insert_with(|| RequestKindFigures {
                kind,
                ..Default::default()
            });
        if period.contains(received_on) {
            entry.received += n;
            if let Some(closed_on) = closed_on {
                if request::on_time(closed_on, due_on) {
                    entry.closed_on_time += n;
                } else {
                    entry.closed_late += n;
                }
            }
        }
        if open {
            if request::overdue(true, due_on, period.today) {
                entry.open_overdue += n;
            } else {
                entry.open_within += n;
            }
        }
    }
    let mut overdue = Vec::new();
    for row in client
        .query(
            "SELECT id, ticket, kind, received_on, due_on FROM derbes.requests \
             WHERE status = 'open' ORDER BY due_on, id",
            &[],
        )
        .await?
    {
        let due_on: NaiveDate = row.get(4);
        if request::overdue(true, due_on, period.today) {
            overdue.push(OverdueRequest {
                id: row.get(0),
                ticket: row.get(1),
                kind: row.get(2),
                received_on: row.get(3),
                due_on,
                days_late: (period.today - due_on).num_days(),
            });
        }
    }
    Ok(RequestFigures {
        by_kind: kinds.into_values().collect(),
        overdue,
    })
}
