//! The live database catalogue, and the data map checked against it.
//!
//! Reads tables, columns, primary keys, foreign keys and indexes from `pg_catalog`
//! in a few set-based queries. From the foreign keys comes the delete order
//! (children before parents), the one order erasure and purging may use.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use tokio_postgres::GenericClient;

use crate::datamap::{quote_ident, Category, DataMap, TableName, TypeFamily};

/// One table (or partitioned table) of the catalogue.
#[derive(Debug, Clone, Serialize)]
pub struct CatalogTable {
    pub name: TableName,
    /// Column name -> `format_type` spelling, in column order.
    pub columns: Vec<(String, String)>,
    pub primary_key: Vec<String>,
    /// Each index's column list (expressions as None), in order.
    pub indexes: Vec<Vec<Option<String>>>,
    pub partitioned: bool,
}

impl CatalogTable {
    pub fn column_type(&self, column: &str) -> Option<&str> {
        self.columns
            .iter()
            .find(|(name, _)| name == column)
            .map(|(_, ty)| ty.as_str())
    }

    /// An index whose leading column is `column` (the primary key counts).
    pub fn has_leading_index(&self, column: &str) -> bool {
        self.primary_key.first().map(String::as_str) == Some(column)
            || self
                .indexes
                .iter()
                .any(|idx| idx.first().and_then(|c| c.as_deref()) == Some(column))
    }
}

/// A foreign key: `child(columns)` references `parent(ref_columns)`.
#[derive(Debug, Clone, Serialize)]
pub struct ForeignKey {
    pub child: TableName,
    pub columns: Vec<String>,
    pub parent: TableName,
    pub ref_columns: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Catalog {
    pub tables: BTreeMap<TableName, CatalogTable>,
    pub foreign_keys: Vec<ForeignKey>,
}

impl Catalog {
    /// Read every ordinary and partitioned table (not partitions, not system schemas,
    /// not derbes' own schema).
    pub async fn read(client: &impl GenericClient) -> Result<Catalog, tokio_postgres::Error> {
        const OWNED: &str = "n.nspname NOT IN ('pg_catalog', 'information_schema', 'derbes') \
             AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%'";
        let mut tables = BTreeMap::new();
        let sql = format!(
            "SELECT n.nspname, c.relname, c.relkind = 'p', \
                    array_agg(a.attname::text ORDER BY a.attnum), \
                    array_agg(format_type(a.atttypid, a.atttypmod) ORDER BY a.attnum) \
             FROM pg_class c \
             JOIN pg_namespace n ON n.oid = c.relnamespace \
             JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped \
             WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND {OWNED} \
             GROUP BY 1, 2, 3"
        );
        for row in client.query(&sql, &[]).await? {
            let name = TableName {
                schema: row.get(0),
                table: row.get(1),
            };
            let names: Vec<String> = row.get(3);
            let types: Vec<String> = row.get(4);
            tables.insert(
                name.clone(),
                CatalogTable {
                    name,
                    columns: names.into_iter().zip(types).collect(),
                    primary_key: Vec::new(),
                    indexes: Vec::new(),
                    partitioned: row.get(2),
                },
            );
        }

        let sql = format!(
            "SELECT n.nspname, c.relname, i.indisprimary, \
                    array(SELECT a.attname::text FROM unnest(i.indkey::int2[]) WITH ORDINALITY k(attnum, ord) \
                          LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum AND k.attnum > 0 \
                          ORDER BY k.ord) \
             FROM pg_index i \
             JOIN pg_class c ON c.oid = i.indrelid \
             JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE NOT c.relispartition AND {OWNED}"
        );
        for row in client.query(&sql, &[]).await? {
            let name = TableName {
                schema: row.get(0),
                table: row.get(1),
            };
            let columns: Vec<Option<String>> = row.get(3);
            if let Some(table) = tables.get_mut(&name) {
                if row.get::<_, bool>(2) {
                    table.primary_key = columns.iter().flatten().cloned().collect();
                }
                table.indexes.push(columns);
            }
        }

        let sql = format!(
            "SELECT n.nspname, c.relname, pn.nspname, p.relname, \
                    array(SELECT a.attname::text FROM unnest(k.conkey) WITH ORDINALITY u(attnum, ord) \
                          JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.attnum ORDER BY u.ord), \
                    array(SELECT a.attname::text FROM unnest(k.confkey) WITH ORDINALITY u(attnum, ord) \
                          JOIN pg_attribute a ON a.attrelid = k.confrelid AND a.attnum = u.attnum ORDER BY u.ord) \
             FROM pg_constraint k \
             JOIN pg_class c ON c.oid = k.conrelid \
             JOIN pg_namespace n ON n.oid = c.relnamespace \
             JOIN pg_class p ON p.oid = k.confrelid \
             JOIN pg_namespace pn ON pn.oid = p.relnamespace \
             WHERE k.contype = 'f' AND NOT c.relispartition AND k.conparentid = 0 AND {OWNED}"
        );
        let mut foreign_keys = Vec::new();
        for row in client.query(&sql, &[]).await? {
            foreign_keys.push(ForeignKey {
                child: TableName {
                    schema: row.get(0),
                    table: row.get(1),
                },
                parent: TableName {
                    schema: row.get(2),
                    table: row.get(3),
                },
                columns: row.get(4),
                ref_columns: row.get(5),
            });
        }
        Ok(Catalog {
            tables,
            foreign_keys,
        })
    }

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

/// How serious a finding of `map check` is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

/// One thing `map check` found.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub severity: Severity,
    /// `table` or `table.column` the finding is about.
    pub object: String,
    pub message: String,
    /// SQL or map text that fixes it, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

/// The outcome of checking a data map against the catalogue.
#[derive(Debug, Clone, Serialize)]
pub struct CheckReport {
    pub map_digest: String,
    pub tables_mapped: usize,
    pub columns_mapped: usize,
    pub findings: Vec<Finding>,
    /// Mapped tables, children first: the order deletes must follow.
    pub delete_order: Vec<String>,
}

impl CheckReport {
    pub fn errors(&self) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity == Severity::Error)
            .count()
    }
}

/// Whether a column name looks like it holds personal data (English, Russian and
/// Kazakh hints: see [`crate::draft::hints`]).
pub fn looks_personal(column: &str) -> bool {
    crate::draft::hints::looks_personal(column)
}

/// Check a data map against the catalogue: tables and columns exist, types fit the
/// categories, link columns are indexed, personal-looking columns are mapped.
pub fn check(map: &DataMap, catalog: &Catalog) -> CheckReport {
    let mut findings = Vec::new();
    let mut error = |object: String, message: String, fix: Option<String>| {
        findings.push(Finding {
            severity: Severity::Error,
            object,
            message,
            fix,
        })
    };

    let mut mapped = BTreeSet::new();
    for name in map.tables.keys() {
        let table = map.table_name(name);
        if catalog.tables.contains_key(&table) {
            mapped.insert(table);
        } else {
            error(
                name.clone(),
                format!("table {table} does not exist in the database"),
                Some(format!(
                    "correct or remove [tables.{name}] in the data map (is the schema right? set `schema` at the top)"
                )),
            );
        }
    }

    for (table, column, role) in map.named_columns() {
        let name = map.table_name(&table);
        let Some(found) = catalog.tables.get(&name) else {
            continue; // reported above, or a table named only by a ledger or block
        };
        if found.column_type(&column).is_none() {
            error(
                format!("{table}.{column}"),
                format!("{role} `{column}` does not exist in table {name}"),
                Some(format!(
                    "columns of {name}: {}",
                    found
                        .columns
                        .iter()
                        .map(|(c, _)| c.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
            );
        }
    }

    let mut columns_mapped = 0;
    let mut warnings = Vec::new();
    for (table, spec) in &map.tables {
        let name = map.table_name(table);
        let Some(found) = catalog.tables.get(&name) else {
            continue;
        };
        for (column, col) in &spec.columns {
            columns_mapped += 1;
            if let Some(ty) = found.column_type(column) {
                if !col.category.accepts(TypeFamily::of(ty)) {
                    error(
                        format!("{table}.{column}"),
                        format!(
                            "column of type {ty} cannot hold category `{}`",
                            col.category
                        ),
                        Some("fix the category in the data map, or the column type".to_owned()),
                    );
                }
            }
        }
        if let Some(link) = &spec.link {
            if found.column_type(&link.column).is_some() && !found.has_leading_index(&link.column) {
                let index = format!("{}_{}_idx", name.table, link.column);
                warnings.push(Finding {
                    severity: Severity::Warning,
                    object: format!("{table}.{}", link.column),
                    message: format!(
                        "link column has no index: exports and erasures will scan all of {name}"
                    ),
                    fix: Some(format!(
                        "CREATE INDEX CONCURRENTLY {} ON {} ({});",
                        quote_ident(&index),
                        name.quoted(),
                        quote_ident(&link.column)
                    )),
                });
            }
            if let Some(via) = &link.via {
                let via_name = map.table_name(via);
                let target = link.via_column.clone().or_else(|| {
                    catalog
                        .tables
                        .get(&via_name)
                        .and_then(|t| (t.primary_key.len() == 1).then(|| t.primary_key[0].clone()))
                });
                if target.is_none() && catalog.tables.contains_key(&via_name) {
                    error(
                        table.clone(),
                        format!(
                            "{via_name} has no single-column primary key for the link to point at"
                        ),
                        Some(format!("set `via_column` in [tables.{table}] link")),
                    );
                }
            }
        }
        for (column, ty) in &found.columns {
            let named = spec.columns.contains_key(column)
                || spec.link.as_ref().is_some_and(|l| &l.column == column)
                || spec.time_column.as_deref() == Some(column);
            if !named && looks_personal(column) {
                warnings.push(Finding {
                    severity: Severity::Warning,
                    object: format!("{table}.{column}"),
                    message: format!("column ({ty}) looks personal but is not mapped"),
                    fix: Some(format!(
                        "add it under [tables.{table}.columns] with its category and purpose"
                    )),
                });
            }
        }
    }

    for (name, table) in &catalog.tables {
        if mapped.contains(name) {
            continue;
        }
        let personal: Vec<&str> = table
            .columns
            .iter()
            .map(|(c, _)| c.as_str())
            .filter(|c| looks_personal(c))
            .collect();
        let links_to_subject = catalog
            .foreign_keys
            .iter()
            .any(|fk| &fk.child == name && mapped.contains(&fk.parent));
        if !personal.is_empty() || links_to_subject {
            warnings.push(Finding {
                severity: Severity::Warning,
                object: name.to_string(),
                message: format!(
                    "table is not mapped but {}",
                    if personal.is_empty() {
                        "references a mapped table".to_owned()
                    } else {
                        format!("has columns that look personal: {}", personal.join(", "))
                    }
                ),
                fix: Some(format!(
                    "map it under [tables.{}] or confirm it holds no personal data",
                    name.table
                )),
            });
        }
    }

    let delete_order = match catalog.delete_order(&mapped) {
        Ok(order) => order.iter().map(ToString::to_string).collect(),
        Err(cycle) => {
            error("(foreign keys)".to_owned(), cycle, None);
            Vec::new()
        }
    };
    findings.extend(warnings);
    CheckReport {
        map_digest: map.digest(),
        tables_mapped: map.tables.len(),
        columns_mapped,
        findings,
        delete_order,
    }
}

/// Guess a category from a column name and type, for `map init` drafts.
pub fn guess_category(column: &str, pg_type: &str) -> Option<Category> {
    crate::draft::hints::guess_category(column, pg_type)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn personal_hints() {
        assert!(looks_personal("phone"));
        assert!(looks_personal("contact_phone"));
        assert!(looks_personal("birth_date"));
        assert!(looks_personal("ip"));
        assert!(!looks_personal("amount"));
        assert!(!looks_personal("shipping_cost"));
        assert!(!looks_personal("status"));
    }

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
                },
                ForeignKey {
                    child: t("loans"),
                    columns: vec!["borrower_id".into()],
                    parent: t("borrowers"),
                    ref_columns: vec!["id".into()],
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
        };
        let catalog = Catalog {
            tables: BTreeMap::new(),
            foreign_keys: vec![fk("a", "b"), fk("b", "a")],
        };
        let among: BTreeSet<_> = [t("a"), t("b")].into();
        assert!(catalog.delete_order(&among).is_err());
    }
}
