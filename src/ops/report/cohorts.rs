//! Anonymised cohorts: each rule with a cohort run in the period (its latest
//! closing audit row, action `anonymise` with a `rule` and no subject), with the k
//! of the data as it stands in the snapshot (`anonymise::k_anonymity`, the same
//! measure `anonymise --report` prints): the audit rows do not record k.

use tokio_postgres::GenericClient;

use super::model::CohortFigures;
use super::Period;
use crate::map::DataMap;
use crate::ops::anonymise;
use crate::pg::catalog::Catalog;

pub async fn gather(
    client: &impl GenericClient,
    map: &DataMap,
    catalog: &Catalog,
    period: &Period,
) -> anyhow::Result<Vec<CohortFigures>> {
    let runs = client
        .query(
            "SELECT detail->>'rule', max(at) FROM derbes.audit_log \
             WHERE action = 'anonymise' AND subject_ref IS NULL AND detail ? 'rule' \
               AND at >= $1 AND at < $2 GROUP BY 1 ORDER BY 1",
            &[&period.start, &period.end],
        )
        .await?;
    if runs.is_empty() {
        return Ok(Vec::new());
    }
    let marks_any = map
        .tables
        .values()
        .any(|t| t.columns.values().any(|c| c.quasi_identifier));
    let k = if marks_any {
        Some(anonymise::k_anonymity(client, map, catalog).await?)
    } else {
        None
    };
    Ok(runs
        .into_iter()
        .map(|row| CohortFigures {
            rule: row.get(0),
            at: row.get(1),
            k: k.as_ref().and_then(|k| k.k),
            subjects: k.as_ref().map_or(0, |k| k.subjects),
            groups: k.as_ref().map_or(0, |k| k.groups),
            quasi_identifiers: k
                .as_ref()
                .map(|k| k.quasi_identifiers.clone())
                .unwrap_or_default(),
        })
        .collect())
}
