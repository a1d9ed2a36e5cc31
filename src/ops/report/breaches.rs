//! Breaches against the one-working-day notice, from `derbes.breaches` (the
//! `notify_by` fixed when each was recorded); late and overdue as `breach list`
//! decides them ([`request::overdue`], [`request::on_time`]).

use chrono::NaiveDate;
use tokio_postgres::GenericClient;

use super::model::{BreachFigures, LateBreach};
use super::Period;
use crate::ops::request;

pub async fn gather(client: &impl GenericClient, period: &Period) -> anyhow::Result<BreachFigures> {
    let mut figures = BreachFigures::default();
    // Breaches are few (each one an incident): read them one by one.
    let rows = client
        .query(
            "SELECT id, ticket, (discovered_at AT TIME ZONE $1)::date, notify_by, \
                    (notified_at AT TIME ZONE $1)::date \
             FROM derbes.breaches ORDER BY notify_by, id",
            &[&period.zone],
        )
        .await?;
    for row in rows {
        let discovered_on: NaiveDate = row.get(2);
        let notify_by: NaiveDate = row.get(3);
        let notified_on: Option<NaiveDate> = row.get(4);
        let late = match notified_on {
            Some(notified_on) => !request::on_time(notified_on, notify_by),
            None => request::overdue(true, notify_by, period.today),
        };
        if period.contains(discovered_on) {
            figures.discovered += 1;
            match notified_on {
                Some(_) if late => figures.notified_late += 1,
                Some(_) => figures.notified_on_time += 1,
                None => {}
            }
        }
        if notified_on.is_none() {
            if late {
                figures.open_overdue += 1;
            } else {
                figures.open_within += 1;
            }
        }
        // Listed: late in the period, or still overdue whenever discovered.
        if late && (notified_on.is_none() || period.contains(discovered_on)) {
            figures.late.push(LateBreach {
                id: row.get(0),
                ticket: row.get(1),
                notify_by,
                notified_on,
            });
        }
    }
    Ok(figures)
}
