//! The live database catalogue, and the data map checked against it.
//!
//! Reads tables, columns, primary keys, foreign keys and indexes from `pg_catalog`
//! in a few set-based queries. From the foreign keys comes the delete order
//! (children before parents), the one order erasure and purging may use.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use tokio_postgres::GenericClient;

use crate::map::link::{Direction, LinkPath};
use crate::map::{quote_ident, Category, DataMap, TableName, TypeFamily};

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

/// The table named by columns `i` (schema) and `i + 1` (name) of a catalogue row.
fn name_at(row: &tokio_postgres::Row, i: usize) -> TableName {
    TableName {
        schema: row.get(i),
        table: row.get(i + 1),
    }
}

/// A foreign key's (child, columns, parent, referenced columns).
type FkShape = (TableName, Vec<String>, TableName, Vec<String>);

const OWNED: &str = "n.nspname NOT IN ('pg_catalog', 'information_schema', 'derbes') \
     AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%'";

impl Catalog {
    /// Read every ordinary and partitioned table (not system schemas, not derbes'
    /// own schema). Partitions are not tables of their own here: their indexes are
    /// listed under the partitioned table, and a foreign key declared on every
    /// partition counts as the partitioned table's.
    pub async fn read(client: &impl GenericClient) -> Result<Catalog, tokio_postgres::Error> {
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
            let name = name_at(&row, 0);
            let names: Vec<String> = row.get(3);
            let types: Vec<String> = row.get(4);
            tables.insert(
                name.clone(),
                CatalogTable {
                    name,
                    columns: names.into_iter().zip(types).collect(),
                    primary_key: Vec::new(),
                    indexes: Vec::new(),
                    unique_keys: Vec::new(),
                    index_definitions: Vec::new(),
                    partitioned: row.get(2),
                    partitions: Vec::new(),
                },
            );
        }

        // Leaf partitions, filed under their root (indexes are added below).
        let sql = format!(
            "SELECT rn.nspname, r.relname, n.nspname, c.relname \
             FROM pg_class c \
             JOIN pg_namespace n ON n.oid = c.relnamespace \
             JOIN pg_class r ON r.oid = pg_partition_root(c.oid) \
             JOIN pg_namespace rn ON rn.oid = r.relnamespace \
             WHERE c.relispartition AND c.relkind = 'r' AND {OWNED} \
             ORDER BY 3, 4"
        );
        for row in client.query(&sql, &[]).await? {
            if let Some(table) = tables.get_mut(&name_at(&row, 0)) {
                table.partitions.push(Partition {
                    name: name_at(&row, 2),
                    indexes: Vec::new(),
                });
            }
        }

        // Indexes of tables and of leaf partitions (the latter under their root).
        let sql = format!(
            "SELECT n.nspname, c.relname, i.indisprimary, \
                    array(SELECT a.attname::text FROM unnest(i.indkey::int2[]) WITH ORDINALITY k(attnum, ord) \
                          LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum AND k.attnum > 0 \
                          ORDER BY k.ord), \
                    i.indisunique AND i.indpred IS NULL AND i.indexprs IS NULL, \
                    ic.relname, c.relispartition, rn.nspname, r.relname, \
                    i.indisvalid AND i.indpred IS NULL \
             FROM pg_index i \
             JOIN pg_class c ON c.oid = i.indrelid \
             JOIN pg_class ic ON ic.oid = i.indexrelid \
             JOIN pg_namespace n ON n.oid = c.relnamespace \
             JOIN pg_class r ON r.oid = CASE WHEN c.relispartition THEN pg_partition_root(c.oid) ELSE c.oid END \
             JOIN pg_namespace rn ON rn.oid = r.relnamespace \
             WHERE {OWNED}"
        );
        for row in client.query(&sql, &[]).await? {
            let columns: Vec<Option<String>> = row.get(3);
            let Some(table) = tables.get_mut(&name_at(&row, 7)) else {
                continue;
            };
            if row.get::<_, bool>(6) {
                let partition = name_at(&row, 0);
                let usable = row.get::<_, bool>(9);
                if let Some(entry) = table.partitions.iter_mut().find(|p| p.name == partition) {
                    if usable {
                        entry.indexes.push((row.get(5), columns));
                    }
                }
                continue;
            }
            let plain: Vec<String> = columns.iter().flatten().cloned().collect();
            if row.get::<_, bool>(2) {
                table.primary_key = plain.clone();
            }
            if row.get::<_, bool>(4) && plain.len() == columns.len() {
                table.unique_keys.push(plain);
            }
            table.indexes.push(columns);
        }

        // Foreign keys declared on a table, and those declared on partitions only
        // (filed under the root, counted once every leaf partition has one).
        let sql = format!(
            "SELECT rn.nspname, r.relname, pn.nspname, p.relname, \
                    array(SELECT a.attname::text FROM unnest(k.conkey) WITH ORDINALITY u(attnum, ord) \
                          JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.attnum ORDER BY u.ord), \
                    array(SELECT a.attname::text FROM unnest(k.confkey) WITH ORDINALITY u(attnum, ord) \
                          JOIN pg_attribute a ON a.attrelid = k.confrelid AND a.attnum = u.attnum ORDER BY u.ord), \
                    c.relispartition, n.nspname || '.' || c.relname \
             FROM pg_constraint k \
             JOIN pg_class c ON c.oid = k.conrelid \
             JOIN pg_namespace n ON n.oid = c.relnamespace \
             JOIN pg_class r ON r.oid = CASE WHEN c.relispartition THEN pg_partition_root(c.oid) ELSE c.oid END \
             JOIN pg_namespace rn ON rn.oid = r.relnamespace \
             JOIN pg_class p ON p.oid = CASE WHEN (SELECT relispartition FROM pg_class WHERE oid = k.confrelid) \
                                        THEN pg_partition_root(k.confrelid) ELSE k.confrelid END \
             JOIN pg_namespace pn ON pn.oid = p.relnamespace \
             WHERE k.contype = 'f' AND k.conparentid = 0 AND {OWNED}"
        );
        let mut foreign_keys = Vec::new();
        // (child root, columns, parent, ref columns) -> partitions declaring it.
        let mut on_partitions: BTreeMap<FkShape, BTreeSet<String>> = BTreeMap::new();
        for row in client.query(&sql, &[]).await? {
            let child = name_at(&row, 0);
            let parent = name_at(&row, 2);
            let columns: Vec<String> = row.get(4);
            let ref_columns: Vec<String> = row.get(5);
            if row.get::<_, bool>(6) {
                on_partitions
                    .entry((child, columns, parent, ref_columns))
                    .or_default()
                    .insert(row.get(7));
            } else {
                foreign_keys.push(ForeignKey {
                    child,
                    columns,
                    parent,
                    ref_columns,
                    on_partitions: false,
                });
            }
        }
        for ((child, columns, parent, ref_columns), declared_on) in on_partitions {
            let Some(table) = tables.get(&child) else {
                continue;
            };
            let every = !table.partitions.is_empty()
                && table
                    .partitions
                    .iter()
                    .all(|p| declared_on.contains(&p.name.to_string()));
            if every {
                foreign_keys.push(ForeignKey {
                    child,
                    columns,
                    parent,
                    ref_columns,
                    on_partitions: true,
                });
            }
        }
        Ok(Catalog {
            tables,
            foreign_keys,
        })
    }

    /// Fill `index_definitions` of every table (for `map check`'s expression-index
    /// advice). `pg_get_indexdef` waits on a table another session holds locked, so
    /// commands that only read rows never call it.
    pub async fn read_index_definitions(
        &mut self,
        client: &impl GenericClient,
    ) -> Result<(), tokio_postgres::Error> {
        let sql = format!(
            "SELECT n.nspname, c.relname, pg_get_indexdef(i.indexrelid) \
             FROM pg_index i \
             JOIN pg_class c ON c.oid = i.indrelid \
             JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE NOT c.relispartition AND {OWNED}"
        );
        for row in client.query(&sql, &[]).await? {
            let name = name_at(&row, 0);
            if let Some(table) = self.tables.get_mut(&name) {
                table.index_definitions.push(row.get(2));
            }
        }
        Ok(())
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
    /// Every mapped table's link path and what backs each step.
    pub links: Vec<CheckedLink>,
}

/// How strict `map check` is.
#[derive(Debug, Clone, Copy, Default)]
pub struct CheckOptions {
    /// A link step no foreign key backs is an error, not a warning.
    pub strict: bool,
}

/// One mapped table's compiled link path, as `map check` proved it.
#[derive(Debug, Clone, Serialize)]
pub struct CheckedLink {
    pub table: String,
    /// `shop.address <- shop.customer(address_id)`.
    pub path: String,
    /// What backs the table's own step: `foreign key a(x) -> b(y)`, or `none`.
    pub backed_by: String,
    /// Rows may be shared by several subjects (a reverse step on the path).
    pub shared: bool,
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
/// Kazakh hints: see [`crate::map::draft::hints`]).
pub fn looks_personal(column: &str) -> bool {
    crate::map::draft::hints::looks_personal(column)
}

/// Check a data map against the catalogue: tables and columns exist, types fit the
/// categories, link columns are indexed, personal-looking columns are mapped.
pub fn check(map: &DataMap, catalog: &Catalog, options: CheckOptions) -> CheckReport {
    let mut findings = Vec::new();
    let mut links = Vec::new();
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

    if let Some(policy) = &map.ledgers.policy {
        let versions = map.table_name(&policy.versions);
        if !catalog.tables.contains_key(&versions) {
            error(
                "[ledgers] policy".to_owned(),
                format!("the policy versions table {versions} does not exist in the database"),
                Some("correct `versions` of [ledgers] policy in the data map".to_owned()),
            );
        }
        // derbes inserts notices, copying the subject's link value: one step only.
        if let Ok(path) = LinkPath::compile(map, catalog, &policy.notices) {
            let direct = matches!(path.steps.as_slice(), [step] if step.to == path.subject_table);
            if !direct {
                error(
                    "[ledgers] policy".to_owned(),
                    format!(
                        "the notices table `{}` does not link straight to the subject table ({}): `policy publish` cannot insert its rows",
                        policy.notices,
                        path.describe()
                    ),
                    Some(format!(
                        "give [tables.{}] a link column that names the subject key",
                        policy.notices
                    )),
                );
            }
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
        if spec.link.is_some() {
            let (link_findings, checked) = check_link(map, catalog, table, options);
            for finding in link_findings {
                match finding.severity {
                    Severity::Error => error(finding.object, finding.message, finding.fix),
                    Severity::Warning => warnings.push(finding),
                }
            }
            links.extend(checked);
        }
        for (column, ty) in &found.columns {
            let named = spec.columns.contains_key(column)
                || spec
                    .link
                    .as_ref()
                    .is_some_and(|l| l.column.contains(column))
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

    // Retention ages rows by dates: a rule's age_from column and the time_column of
    // each table under a rule must hold a date or timestamp.
    for (name, rule) in &map.retention {
        let mut dated: Vec<(String, String, String)> = Vec::new();
        if let Some(age_from) = &rule.age_from {
            dated.push((
                age_from.table.clone(),
                age_from.column.clone(),
                format!("[retention.{name}] age_from"),
            ));
        }
        for (table, spec) in &map.tables {
            if let (Some(time), true) = (
                &spec.time_column,
                spec.retention.as_deref() == Some(name.as_str()),
            ) {
                dated.push((
                    table.clone(),
                    time.clone(),
                    format!("[tables.{table}] time_column (retention rule `{name}`)"),
                ));
            }
        }
        for (table, column, role) in dated {
            let Some(ty) = catalog
                .tables
                .get(&map.table_name(&table))
                .and_then(|t| t.column_type(&column))
            else {
                continue; // a missing column is reported above
            };
            if !matches!(TypeFamily::of(ty), TypeFamily::Date | TypeFamily::Timestamp) {
                error(
                    format!("{table}.{column}"),
                    format!("{role} is {ty}, not a date or timestamp: rows cannot be aged by it"),
                    Some("name a date or timestamp column in the data map".to_owned()),
                );
            }
        }
    }

    for identity in map.subject.identities.iter().filter(|i| i.normalise) {
        let table = identity.table.as_deref().unwrap_or(&map.subject.table);
        let Some(found) = catalog.tables.get(&map.table_name(table)) else {
            continue;
        };
        let object = format!("{table}.{}", identity.column);
        if identity.kind != crate::map::IdentityKind::Phone {
            error(
                object,
                "`normalise = true` applies to phone identities only".to_owned(),
                Some("remove `normalise` from this identity".to_owned()),
            );
            continue;
        }
        let expression = crate::ops::resolve::normalised_phone_sql(&quote_ident(&identity.column));
        let indexed = found
            .index_definitions
            .iter()
            .any(|def| def.contains("regexp_replace") && def.contains(identity.column.as_str()));
        if !indexed {
            warnings.push(Finding {
                severity: Severity::Warning,
                object,
                message: "phones compared after normalising have no expression index: every lookup scans the table".to_owned(),
                fix: Some(format!(
                    "CREATE INDEX CONCURRENTLY {} ON {} ({expression});",
                    quote_ident(&format!("{}_{}_e164_idx", found.name.table, identity.column)),
                    found.name.quoted()
                )),
            });
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

    if let Some(block) = &map.block {
        let tables: BTreeSet<&String> = block
            .set
            .iter()
            .map(|s| &s.table)
            .chain(block.revoke.iter().map(|r| &r.table))
            .chain(block.bump.iter().map(|b| &b.table))
            .collect();
        for table in tables {
            if let Ok(path) = LinkPath::compile(map, catalog, table) {
                if path.may_share() {
                    error(
                        format!("[block] {table}"),
                        format!(
                            "blocking acts on {table}, whose rows may be shared by several subjects ({}): blocking one would change another's",
                            path.describe()
                        ),
                        Some("act only on tables whose rows belong to one subject (the subject table, sessions, tokens)".to_owned()),
                    );
                }
            }
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
        links,
    }
}

/// Prove the first step of `table`'s link (later steps are their own tables'):
/// columns exist on both sides with types that compare, a foreign key backs it in
/// either direction (on a partitioned table, one on every partition counts), no
/// foreign key on the same columns says otherwise, at least one side is unique, and
/// the link columns are indexed (with advice PostgreSQL accepts).
fn check_link(
    map: &DataMap,
    catalog: &Catalog,
    table: &str,
    options: CheckOptions,
) -> (Vec<Finding>, Option<CheckedLink>) {
    let mut findings = Vec::new();
    let finding = |severity, object: String, message: String, fix: Option<String>| Finding {
        severity,
        object,
        message,
        fix,
    };
    let path = match LinkPath::compile(map, catalog, table) {
        Ok(path) => path,
        Err(reason) => {
            findings.push(finding(
                Severity::Error,
                table.to_owned(),
                format!("the link cannot be followed: {reason}"),
                Some(format!(
                    "fix `link` in [tables.{table}]: `column` names this table's column(s), `via` the mapped table they equal (the subject table when absent), `via_column` its column(s) (its primary key when absent)"
                )),
            ));
            return (findings, None);
        }
    };
    let step = &path.steps[0];
    let object = format!("{table}.{}", step.from_columns.join(","));
    let from = &catalog.tables[&step.from];
    let to = &catalog.tables[&step.to];
    let pairs: Vec<(&String, &String)> = step.from_columns.iter().zip(&step.to_columns).collect();
    for (f, t) in &pairs {
        let (ft, tt) = (
            from.column_type(f).unwrap_or_default(),
            to.column_type(t).unwrap_or_default(),
        );
        if !types_compare(ft, tt) {
            findings.push(finding(
                Severity::Error,
                object.clone(),
                format!(
                    "link compares {}.{f} ({ft}) with {}.{t} ({tt}): the types differ",
                    step.from, step.to
                ),
                Some(
                    "point the link at columns of the same type (a foreign key's columns)"
                        .to_owned(),
                ),
            ));
        }
    }
    let same_pairs =
        |fk_cols: &[String], fk_refs: &[String], ours: &[String], theirs: &[String]| {
            let mut a: Vec<(&String, &String)> = fk_cols.iter().zip(fk_refs).collect();
            let mut b: Vec<(&String, &String)> = ours.iter().zip(theirs).collect();
            a.sort();
            b.sort();
            a == b
        };
    let forward = catalog.foreign_keys.iter().find(|fk| {
        fk.child == step.from
            && fk.parent == step.to
            && same_pairs(
                &fk.columns,
                &fk.ref_columns,
                &step.from_columns,
                &step.to_columns,
            )
    });
    let reverse = catalog.foreign_keys.iter().find(|fk| {
        fk.child == step.to
            && fk.parent == step.from
            && same_pairs(
                &fk.columns,
                &fk.ref_columns,
                &step.to_columns,
                &step.from_columns,
            )
    });
    let describe_fk = |fk: &ForeignKey| {
        format!(
            "foreign key {}({}) -> {}({}){}",
            fk.child,
            fk.columns.join(", "),
            fk.parent,
            fk.ref_columns.join(", "),
            if fk.on_partitions {
                " on every partition"
            } else {
                ""
            }
        )
    };
    let backed_by = match forward.or(reverse) {
        Some(fk) => describe_fk(fk),
        None => {
            let mut own: Vec<&String> = step.from_columns.iter().collect();
            own.sort();
            let contradicting = catalog.foreign_keys.iter().find(|fk| {
                let mut cols: Vec<&String> = fk.columns.iter().collect();
                cols.sort();
                fk.child == step.from && cols == own
            });
            match contradicting {
                Some(fk) => findings.push(finding(
                    Severity::Error,
                    object.clone(),
                    format!(
                        "the link says {}({}) = {}({}), but the {} says otherwise",
                        step.from,
                        step.from_columns.join(", "),
                        step.to,
                        step.to_columns.join(", "),
                        describe_fk(fk)
                    ),
                    Some(format!(
                        "follow the foreign key: link = {{ column = {:?}, via = \"{}\", via_column = {:?} }}",
                        fk.columns,
                        fk.parent.table,
                        fk.ref_columns
                    )),
                )),
                None => findings.push(finding(
                    if options.strict {
                        Severity::Error
                    } else {
                        Severity::Warning
                    },
                    object.clone(),
                    format!(
                        "no foreign key backs this link ({}({}) = {}({})): derbes cannot prove the rows are the subject's",
                        step.from,
                        step.from_columns.join(", "),
                        step.to,
                        step.to_columns.join(", ")
                    ),
                    Some(format!(
                        "ALTER TABLE {} ADD FOREIGN KEY ({}) REFERENCES {} ({}) NOT VALID;",
                        step.from.quoted(),
                        quoted_list(&step.from_columns),
                        step.to.quoted(),
                        quoted_list(&step.to_columns)
                    )),
                )),
            }
            "none".to_owned()
        }
    };
    if step.direction == Direction::ManyToMany {
        findings.push(finding(
            Severity::Error,
            object.clone(),
            format!(
                "neither {}({}) nor {}({}) is unique: the join multiplies rows and mixes subjects",
                step.from,
                step.from_columns.join(", "),
                step.to,
                step.to_columns.join(", ")
            ),
            Some(format!(
                "point `via_column` at a unique key of {} (its primary key), or link through the table that holds the foreign key",
                step.to
            )),
        ));
    }
    if let Some(advice) = index_advice(from, &step.from_columns) {
        findings.push(finding(
            Severity::Warning,
            object.clone(),
            format!(
                "link column has no index: exports and erasures will scan all of {}",
                step.from
            ),
            Some(advice),
        ));
    }
    if step.direction == Direction::Reverse {
        // The identity resolver and shared-row checks look rows of `to` up by these.
        if let Some(advice) = index_advice(to, &step.to_columns) {
            findings.push(finding(
                Severity::Warning,
                format!("{}.{}", step.to, step.to_columns.join(",")),
                format!(
                    "the reverse link of {table} looks {} up by an unindexed column",
                    step.to
                ),
                Some(advice),
            ));
        }
    }
    let checked = CheckedLink {
        table: table.to_owned(),
        path: path.describe(),
        backed_by,
        shared: path.may_share(),
    };
    (findings, Some(checked))
}

/// Whether two column types can be compared by a link: the same type, or the same
/// family among integers and text.
fn types_compare(a: &str, b: &str) -> bool {
    if a == b {
        return true;
    }
    let (fa, fb) = (TypeFamily::of(a), TypeFamily::of(b));
    fa == fb
        && matches!(fa, TypeFamily::Integer | TypeFamily::Text)
        && !a.contains("uuid")
        && !b.contains("uuid")
}

fn quoted_list(columns: &[String]) -> String {
    columns
        .iter()
        .map(|c| quote_ident(c))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The SQL that indexes `columns` of `table`, or None when an index already leads
/// with its first column. A partitioned table cannot take `CREATE INDEX
/// CONCURRENTLY`: the advice creates the parent's index `ON ONLY`, indexes each
/// partition that lacks one concurrently, and attaches every partition's index.
pub fn index_advice(table: &CatalogTable, columns: &[String]) -> Option<String> {
    if table.has_leading_index(&columns[0]) {
        return None;
    }
    let name = format!("{}_{}_idx", table.name.table, columns.join("_"));
    let list = quoted_list(columns);
    if !table.partitioned {
        return Some(format!(
            "CREATE INDEX CONCURRENTLY {} ON {} ({list});",
            quote_ident(&name),
            table.name.quoted()
        ));
    }
    let parent_index = TableName {
        schema: table.name.schema.clone(),
        table: name.clone(),
    };
    let mut sql = vec![format!(
        "CREATE INDEX IF NOT EXISTS {} ON ONLY {} ({list});",
        quote_ident(&name),
        table.name.quoted()
    )];
    for partition in &table.partitions {
        let existing = partition
            .indexes
            .iter()
            .find(|(_, idx)| {
                idx.len() == columns.len()
                    && idx
                        .iter()
                        .zip(columns)
                        .all(|(a, b)| a.as_deref() == Some(b.as_str()))
            })
            .map(|(index, _)| index.clone());
        let index = match existing {
            Some(index) => index,
            None => {
                let index = format!("{}_{}_idx", partition.name.table, columns.join("_"));
                sql.push(format!(
                    "CREATE INDEX CONCURRENTLY IF NOT EXISTS {} ON {} ({list});",
                    quote_ident(&index),
                    partition.name.quoted()
                ));
                index
            }
        };
        sql.push(format!(
            "ALTER INDEX {} ATTACH PARTITION {};",
            parent_index.quoted(),
            TableName {
                schema: partition.name.schema.clone(),
                table: index,
            }
            .quoted()
        ));
    }
    Some(sql.join("\n"))
}

/// Check the ledgers' recorded values against the map: every category a
/// disclosure lists must be a category the map knows, or the export cannot tell
/// the subject what went where. One query per ledger.
pub async fn check_ledgers(
    client: &impl GenericClient,
    map: &DataMap,
    catalog: &Catalog,
) -> Result<Vec<Finding>, tokio_postgres::Error> {
    let mut findings = check_consent_purposes(client, map, catalog).await?;
    let Some(ledger) = &map.ledgers.disclosures else {
        return Ok(findings);
    };
    let Some(column) = &ledger.categories else {
        findings.push(Finding {
            severity: Severity::Warning,
            object: "[ledgers] disclosures".to_owned(),
            message: "the disclosure ledger names no `categories` column: exports cannot say which categories each recipient received".to_owned(),
            fix: Some("add `categories = \"<text[] column>\"` to [ledgers] disclosures".to_owned()),
        });
        return Ok(findings);
    };
    let table = map.table_name(&ledger.table);
    let typed = catalog
        .tables
        .get(&table)
        .and_then(|t| t.column_type(column))
        .is_some_and(|ty| TypeFamily::of(ty) == TypeFamily::Array);
    if !typed {
        return Ok(findings); // a missing table or column is reported by `check`
    }
    let sql = format!(
        "SELECT DISTINCT c FROM {} t0, unnest(t0.{}::text[]) AS c ORDER BY c",
        table.quoted(),
        quote_ident(column)
    );
    let known: BTreeSet<String> = Category::ALL.iter().map(|c| c.name()).collect();
    let unknown: Vec<String> = client
        .query(&sql, &[])
        .await?
        .iter()
        .map(|row| row.get::<_, String>(0))
        .filter(|c| !known.contains(c))
        .collect();
    if !unknown.is_empty() {
        findings.push(Finding {
            severity: Severity::Error,
            object: format!("{table}.{column}"),
            message: format!(
                "disclosures list categories the data map does not know: {}; exports list a recipient only under the categories it received",
                unknown.join(", ")
            ),
            fix: Some(format!(
                "record categories by their data-map names ({})",
                known.iter().cloned().collect::<Vec<_>>().join(", ")
            )),
        });
    }
    Ok(findings)
}

/// The consent ledger's purposes must be the data map's `[purposes]`: a consent
/// to a purpose the map does not declare cannot be shown with its legal basis, nor
/// withdrawn with `consent withdraw`. One query.
async fn check_consent_purposes(
    client: &impl GenericClient,
    map: &DataMap,
    catalog: &Catalog,
) -> Result<Vec<Finding>, tokio_postgres::Error> {
    let mut findings = Vec::new();
    let needs = map.ledgers.loans.as_ref().and_then(|l| l.needs.as_ref());
    let undeclared: Vec<&String> = needs
        .into_iter()
        .flatten()
        .filter(|p| !map.purposes.contains_key(*p))
        .collect();
    if !undeclared.is_empty() {
        findings.push(Finding {
            severity: Severity::Error,
            object: "[ledgers] loans.needs".to_owned(),
            message: format!(
                "names purposes the data map does not declare: {}",
                undeclared
                    .iter()
                    .map(|p| p.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            fix: Some("name purposes declared under [purposes]".to_owned()),
        });
    }
    let Some(ledger) = &map.ledgers.consents else {
        return Ok(findings);
    };
    let table = map.table_name(&ledger.table);
    if catalog
        .tables
        .get(&table)
        .and_then(|t| t.column_type(&ledger.purpose))
        .is_none()
    {
        return Ok(findings); // a missing table or column is reported by `check`
    }
    let sql = format!(
        "SELECT DISTINCT t0.{}::text FROM {} t0 WHERE t0.{} IS NOT NULL ORDER BY 1",
        quote_ident(&ledger.purpose),
        table.quoted(),
        quote_ident(&ledger.purpose)
    );
    let unknown: Vec<String> = client
        .query(&sql, &[])
        .await?
        .iter()
        .map(|row| row.get::<_, String>(0))
        .filter(|p| !map.purposes.contains_key(p))
        .collect();
    if unknown.is_empty() {
        return Ok(findings);
    }
    findings.push(Finding {
        severity: Severity::Error,
        object: format!("{table}.{}", ledger.purpose),
        message: format!(
            "the consent ledger holds purposes the data map does not declare: {}; \
             exports cannot give their legal basis and `consent withdraw` cannot name them",
            unknown.join(", ")
        ),
        fix: Some(format!(
            "declare them under [purposes] (description, legal_basis), or record consents by the map's purposes ({})",
            map.purposes.keys().cloned().collect::<Vec<_>>().join(", ")
        )),
    });
    Ok(findings)
}

/// Whether the connected role may read what the map names: `SELECT` on every named
/// column of every mapped table that exists (a table-level grant covers its
/// columns). Each table it may not read is an error naming the role and the grant
/// to give. One query; a superuser passes.
pub async fn check_privileges(
    client: &impl GenericClient,
    map: &DataMap,
    catalog: &Catalog,
) -> Result<Vec<Finding>, tokio_postgres::Error> {
    let mut tables: BTreeMap<TableName, BTreeSet<String>> = BTreeMap::new();
    for (table, column, _) in map.named_columns() {
        let name = map.table_name(&table);
        let Some(found) = catalog.tables.get(&name) else {
            continue; // reported by `check`
        };
        if found.column_type(&column).is_some() {
            tables.entry(name).or_default().insert(column);
        }
    }
    let mut relations = Vec::new();
    let mut columns = Vec::new();
    for (table, names) in &tables {
        for column in names {
            relations.push(table.quoted());
            columns.push(column.clone());
        }
    }
    let rows = client
        .query(
            "SELECT current_user::text, t, c, has_table_privilege(t, 'SELECT') \
             FROM unnest($1::text[], $2::text[]) AS x(t, c) \
             WHERE NOT has_column_privilege(t, c, 'SELECT')",
            &[&relations, &columns],
        )
        .await?;
    let mut role = String::new();
    let mut denied: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for row in &rows {
        role = row.get(0);
        denied
            .entry(row.get(1))
            .or_default()
            .push(row.get::<_, String>(2));
    }
    let mut findings = Vec::new();
    let role_quoted = quote_ident(&role);
    for (name, named) in &tables {
        let table = name.quoted();
        let Some(missing) = denied.get(&table) else {
            continue;
        };
        let (what, grant) = if missing.len() == named.len() {
            (
                format!("SELECT on {name}"),
                format!("GRANT SELECT ON {table} TO {role_quoted};"),
            )
        } else {
            let quoted: Vec<String> = missing.iter().map(|c| quote_ident(c)).collect();
            (
                format!("SELECT on {name}({})", missing.join(", ")),
                format!(
                    "GRANT SELECT ({}) ON {table} TO {role_quoted};",
                    quoted.join(", ")
                ),
            )
        };
        findings.push(Finding {
            severity: Severity::Error,
            object: name.to_string(),
            message: format!(
                "role {role} lacks {what}: every command reading this table would fail with \"permission denied\""
            ),
            fix: Some(format!(
                "{grant} (as the table's owner), or connect as a role that has it"
            )),
        });
    }
    Ok(findings)
}

/// Guess a category from a column name and type, for `map init` drafts.
pub fn guess_category(column: &str, pg_type: &str) -> Option<Category> {
    crate::map::draft::hints::guess_category(column, pg_type)
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
