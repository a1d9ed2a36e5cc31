//! Consents per purpose and objections per policy version, from the map's consent
//! ledger and policy ledger (`[ledgers]`); a ledger the map does not name leaves
//! its list empty.

use tokio_postgres::GenericClient;

use super::model::{ConsentFigures, PolicyVersionFigures, PurposeFigures};
use super::Period;
use crate::map::{quote_ident, DataMap};
use crate::pg::catalog::Catalog;

pub async fn gather(
    client: &impl GenericClient,
    map: &DataMap,
    catalog: &Catalog,
    period: &Period,
) -> anyhow::Result<ConsentFigures> {
    let mut figures = ConsentFigures::default();
    if let Some(ledger) = &map.ledgers.consents {
        let (granted, withdrawn) = (
            format!("t.{}::timestamptz", quote_ident(&ledger.granted_at)),
            format!("t.{}::timestamptz", quote_ident(&ledger.withdrawn_at)),
        );
        let sql = format!(
            "SELECT t.{purpose}::text, \
                    count(*) FILTER (WHERE {granted} <= $3 AND ({withdrawn} IS NULL OR {withdrawn} > $3)), \
                    count(*) FILTER (WHERE {granted} >= $1 AND {granted} < $2), \
                    count(*) FILTER (WHERE {withdrawn} >= $1 AND {withdrawn} < $2) \
             FROM {table} t GROUP BY 1 ORDER BY 1",
            purpose = quote_ident(&ledger.purpose),
            table = map.table_name(&ledger.table).quoted(),
        );
        figures.purposes = client
            .query(&sql, &[&period.start, &period.end, &period.now])
            .await?
            .into_iter()
            .map(|row| PurposeFigures {
                purpose: row.get::<_, Option<String>>(0).unwrap_or_default(),
                in_force: row.get(1),
                granted: row.get(2),
                withdrawn: row.get(3),
            })
            .collect();
    }
    if let Some(ledger) = &map.ledgers.policy {
        let versions = map.table_name(&ledger.versions);
        let key = catalog
            .tables
            .get(&versions)
            .and_then(|t| match t.primary_key.as_slice() {
                [key] => Some(key.clone()),
                _ => None,
            })
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "the policy versions table {versions} needs a one-column primary key for notices to refer to: fix the table or [ledgers].policy, then run the report again"
                )
            })?;
        let sql = format!(
            "SELECT v.{version}::text, count(n.{notified}), count(n.{objected}) \
             FROM {versions} v LEFT JOIN {notices} n ON n.{notice_version} = v.{key} \
             GROUP BY 1 ORDER BY 1",
            version = quote_ident(&ledger.version),
            notified = quote_ident(&ledger.notified_at),
            objected = quote_ident(&ledger.objected_at),
            versions = versions.quoted(),
            notices = map.table_name(&ledger.notices).quoted(),
            notice_version = quote_ident(&ledger.notice_version),
            key = quote_ident(&key),
        );
        figures.policy_versions = client
            .query(&sql, &[])
            .await?
            .into_iter()
            .map(|row| PolicyVersionFigures {
                version: row.get(0),
                notified: row.get(1),
                objected: row.get(2),
            })
            .collect();
    }
    Ok(figures)
}
