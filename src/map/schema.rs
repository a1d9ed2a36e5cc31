//! The database's shape as derbes needs it: tables, columns, keys, indexes,
//! partitions and foreign keys, and the delete order the foreign keys give.
//!
//! A plain model: [`crate::pg::catalog`] reads it from `pg_catalog`, and the data
//! map's link proofs, `map check` and `map init` work on it without a connection.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::map::TableName;

/// One table (or partitioned table) of the catalogue.
#[derive(Debug, Clone, Serialize)]
pub struct CatalogTable {
    pub name: TableName,
    /// Column name -> `format_type` spelling, in column order.
    pub columns: Vec<(String, String)>,
    pub primary_key: Vec<String>,
    /// Each index's column list (expressions as None), in order.
    pub indexes: Vec<Vec<Option<String>>>,
    /// Column sets that are unique: the primary key and every unique index without
    /// expressions or a predicate.
    pub unique_keys: Vec<Vec<String>>,
    /// `pg_get_indexdef` of every index, to recognise expression indexes; filled
    /// only by [`Catalog::read_index_definitions`] (it waits on locked tables).
    pub index_definitions: Vec<String>,
    pub partitioned: bool,
    /// The leaf partitions of a partitioned table, with their own indexes.
    pub partitions: Vec<Partition>,
}

/// A leaf partition of a partitioned table.
#[derive(Debug, Clone, Serialize)]
pub struct Partition {
    pub name: TableName,
    /// (index name, its columns) of every valid, non-partial index.
    pub indexes: Vec<(String, Vec<Option<String>>)>,
}

impl CatalogTable {
    pub fn column_type(&self, column: &str) -> Option<&str> {
        self.columns
            .iter()
            .find(|(name, _)| name == column)
            .map(|(_, ty)| ty.as_str())
    }

    /// An index whose leading column is `column` (the primary key counts). On a
    /// partitioned table, an index on every partition counts as the parent's.
    pub fn has_leading_index(&self, column: &str) -> bool {
        let leading =
            |idx: &Vec<Option<String>>| idx.first().and_then(|c| c.as_deref()) == Some(column);
        self.primary_key.first().map(String::as_str) == Some(column)
            || self.indexes.iter().any(leading)
            || (self.partitioned
                && !self.partitions.is_empty()
                && self
                    .partitions
                    .iter()
                    .all(|p| p.indexes.iter().any(|(_, idx)| leading(idx))))
    }

    /// Whether `columns` (in any order) are unique in this table.
    pub fn is_unique(&self, columns: &[String]) -> bool {
        let wanted: BTreeSet<&String> = columns.iter().collect();
        self.unique_keys.iter().any(|key| {
            // A unique key that is a subset of the columns makes them unique too.
            !key.is_empty() && key.iter().all(|c| wanted.contains(c))
        })
    }
}

/// A foreign key: `child(columns)` references `parent(ref_columns)`.
#[derive(Debug, Clone, Serialize)]
pub struct ForeignKey {
    pub child: TableName,
    pub columns: Vec<String>,
    pub parent: TableName,
    pub ref_columns: Vec<String>,
    /// Declared on every partition of `child` rather than on `child` itself.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub on_partitions: bool,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Catalog {
    pub tables: BTreeMap<TableName, CatalogTable>,
    pub foreign_keys: Vec<ForeignKey>,
}

impl Catalog {
    /// Tables in an order safe for deleting: every table before the tables it
    /// references. Self-references are ignored; a cycle is reported as an error
    /// naming its tables.
    pub fn delete_order(&self, among: &BTreeSet<TableName>) -> Result<Vec<TableName>, String> {
        // Kahn's algorithm on "child must go before parent".
        let mut blockers: BTreeMap<&TableName, BTreeSet<&TableName>> =
            among.iter().map(|t| (t, BTreeSet::new())).collect();
        for fk in &self.foreign_keys {
            if fk.child != fk.parent && among.contains(&fk.child) && among.contains(&fk.parent) {
                // The parent may only be deleted once the child is gone.
                blockers.entry(&fk.parent).or_default().insert(&fk.child);
            }
        }
        let mut order = Vec::new();
        while !blockers.is_empty() {
            let ready: Vec<&TableName> = blockers
                .iter()
                .filter(|(_, waiting)| waiting.is_empty())
                .map(|(t, _)| *t)
                .collect();
            if ready.is_empty() {
                let cycle: Vec<String> = blockers.keys().map(|t| t.to_string()).collect();
                return Err(format!(
                    "foreign keys form a cycle among {}: deletes need a deferred constraint",
                    cycle.join(", ")
                ));
            }
            for table in ready {
                blockers.remove(table);
                for waiting in blockers.values_mut() {
                    waiting.remove(table);
                }
                order.push(table.clone());
            }
        }
        Ok(order)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(name: &str) -> TableName {
        TableName {
            schema: "public".into(),
            table: name.into(),
        }
    }

    #[test]
    fn delete_order_puts_children_first() {
        let catalog = Catalog {
            tables: BTreeMap::new(),
            foreign_keys: vec![
                ForeignKey {
                    child: t("payments"),
                    columns: vec!["loan_id".into()],
                    parent: t("loans"),
                    ref_columns: vec!["id".into()],
                    on_partitions: false,
                },
                ForeignKey {
                    child: t("loans"),
                    columns: vec!["borrower_id".into()],
                    parent: t("borrowers"),
                    ref_columns: vec!["id".into()],
                    on_partitions: false,
                },
            ],
        };
        let among: BTreeSet<_> = [t("borrowers"), t("loans"), t("payments")].into();
        let order = catalog.delete_order(&among).unwrap();
        assert_eq!(order, vec![t("payments"), t("loans"), t("borrowers")]);
    }

    #[test]
    fn delete_order_reports_cycles() {
        let fk = |c: &str, p: &str| ForeignKey {
            child: t(c),
            columns: vec!["x".into()],
            parent: t(p),
            ref_columns: vec!["id".into()],
            on_partitions: false,
        };
        let catalog = Catalog {
            tables: BTreeMap::new(),
            foreign_keys: vec![fk("a", "b"), fk("b", "a")],
        };
        let among: BTreeSet<_> = [t("a"), t("b")].into();
        assert!(catalog.delete_order(&among).is_err());
    }
}
