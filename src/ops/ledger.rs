//! Writing rows into the application's own ledger tables (policy notices,
//! disclosures) for subjects, through the data map.
//!
//! A row derbes inserts must carry the subject's link value, so the ledger table's
//! link has to reach the subject table in one step (`notices.borrower_id ->
//! borrowers.id`): the inserted columns are that step's columns, their values the
//! subject row's columns they compare with. A longer path has no single row to copy
//! the value from, and is refused with what to change in the map.

use crate::map::link::LinkPath;
use crate::map::{quote_ident, DataMap};
use crate::pg::catalog::Catalog;

/// How a ledger table's rows name their subject, ready for `INSERT ... SELECT`.
#[derive(Debug, Clone)]
pub struct DirectLink {
    /// The ledger table, quoted.
    pub table: String,
    /// The ledger's link columns, quoted, comma-separated.
    pub columns: String,
    /// The subject row's columns they take, as `s."col"`, comma-separated.
    pub values: String,
    /// `t0."col" = s."col"` for each link column: a ledger row `t0` is the subject
    /// row `s`'s.
    pub matches: String,
    /// The subject table (alias `s` in `FROM`) and its compiled path.
    pub subject: LinkPath,
}

impl DirectLink {
    pub fn compile(map: &DataMap, catalog: &Catalog, table: &str) -> Result<DirectLink, String> {
        let path = LinkPath::compile(map, catalog, table)?;
        let subject = LinkPath::compile(map, catalog, &map.subject.table)?;
        let [step] = path.steps.as_slice() else {
            return Err(format!(
                "[tables.{table}] reaches the subject in {} steps: derbes writes ledger rows only into a table linked straight to the subject table `{}`; link it there",
                path.steps.len(),
                map.subject.table
            ));
        };
        if step.to != subject.table {
            return Err(format!(
                "[tables.{table}] links via `{}`: derbes writes ledger rows only into a table linked straight to the subject table `{}`",
                step.to, map.subject.table
            ));
        }
        let columns: Vec<String> = step.from_columns.iter().map(|c| quote_ident(c)).collect();
        let values: Vec<String> = step
            .to_columns
            .iter()
            .map(|c| format!("s.{}", quote_ident(c)))
            .collect();
        let matches: Vec<String> = columns
            .iter()
            .zip(&values)
            .map(|(c, v)| format!("t0.{c} = {v}"))
            .collect();
        Ok(DirectLink {
            table: path.table.quoted(),
            columns: columns.join(", "),
            values: values.join(", "),
            matches: matches.join(" AND "),
            subject,
        })
    }
}

/// The catalogue type of `table.column`, for casting bound text to it.
pub fn column_type(
    map: &DataMap,
    catalog: &Catalog,
    table: &str,
    column: &str,
) -> Result<String, String> {
    let name = map.table_name(table);
    catalog
        .tables
        .get(&name)
        .ok_or_else(|| format!("table {name} does not exist"))?
        .column_type(column)
        .map(str::to_owned)
        .ok_or_else(|| format!("column {name}.{column} does not exist"))
}
