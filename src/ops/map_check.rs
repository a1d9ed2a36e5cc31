//! `map check`: the data map checked against the live catalogue.
//!
//! Every table, column and type the map names must exist and fit its category; every
//! link step is backed by a foreign key or said to be unproven; link columns need an
//! index; ledgers and consent purposes are checked against their tables, and the
//! connected role's privileges against what the map's commands need. Findings are
//! errors (commands that change data refuse to run) or warnings.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use tokio_postgres::GenericClient;

use crate::map::link::{Direction, LinkPath};
use crate::map::schema::{Catalog, CatalogTable, ForeignKey};
use crate::map::{quote_ident, Category, DataMap, TableName, TypeFamily};

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
/// Kazakh hints: see [`crate::ops::map_init::hints`]).
pub fn looks_personal(column: &str) -> bool {
    crate::ops::map_init::hints::looks_personal(column)
}

/// Whether a mapped table's entry names `column`: as a personal column, a link
/// column or its time column.
fn column_named(spec: &crate::map::TableSpec, column: &str) -> bool {
    spec.columns.contains_key(column)
        || spec
            .link
            .as_ref()
            .is_some_and(|l| l.column.contains(column))
        || spec.time_column.as_deref() == Some(column)
}

/// A column that looks personal but no map entry names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnmappedPersonal {
    pub table: TableName,
    pub column: String,
    /// Its type as the catalogue spells it.
    pub pg_type: String,
    /// Its table is mapped (else the whole table is not).
    pub table_mapped: bool,
}

/// Every column [`check`] warns of as looking personal but not mapped: in a
/// mapped table, one its entry does not name; in a table the map leaves out, every
/// one that looks personal. In catalogue order.
pub fn unmapped_personal(map: &DataMap, catalog: &Catalog) -> Vec<UnmappedPersonal> {
    let specs: BTreeMap<TableName, &crate::map::TableSpec> = map
        .tables
        .iter()
        .map(|(name, spec)| (map.table_name(name), spec))
        .collect();
    let mut found = Vec::new();
    for (name, table) in &catalog.tables {
        let spec = specs.get(name);
        for (column, ty) in &table.columns {
            let named = spec.is_some_and(|spec| column_named(spec, column));
            if !named && looks_personal(column) {
                found.push(UnmappedPersonal {
                    table: name.clone(),
                    column: column.clone(),
                    pg_type: ty.clone(),
                    table_mapped: spec.is_some(),
                });
            }
        }
    }
    found
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
            if !column_named(spec, column) && looks_personal(column) {
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

/// The values the data map writes into columns must be values those columns take:
/// `[block]`'s `value` and `unblock_value`, and the subject's status values. A value
/// the column's type or its CHECK constraint refuses would make every `block` fail
/// at its first UPDATE, at 3 a.m.; found here instead. Tables or columns missing
/// from the database are reported by [`check`].
pub async fn check_values(
    client: &mut tokio_postgres::Client,
    map: &DataMap,
    catalog: &Catalog,
) -> Result<Vec<Finding>, tokio_postgres::Error> {
    // (where the map says it, table, column, value)
    let mut written: Vec<(String, TableName, String, String)> = Vec::new();
    if let Some(block) = &map.block {
        for set in &block.set {
            let table = map.table_name(&set.table);
            for (key, value) in [("value", &set.value), ("unblock_value", &set.unblock_value)] {
                written.push((
                    format!("[block] set {key}"),
                    table.clone(),
                    set.column.clone(),
                    value.clone(),
                ));
            }
        }
    }
    if let Some(status) = &map.subject.status {
        let table = map.table_name(&map.subject.table);
        for (key, value) in [
            ("active", &status.active),
            ("blocked", &status.blocked),
            ("closed", &status.closed),
        ] {
            written.push((
                format!("[subject] status {key}"),
                table.clone(),
                status.column.clone(),
                value.clone(),
            ));
        }
    }
    let mut findings = Vec::new();
    for (place, table, column, value) in written {
        let present = catalog
            .tables
            .get(&table)
            .is_some_and(|t| t.column_type(&column).is_some());
        if !present {
            continue;
        }
        if let Some(reason) =
            crate::pg::catalog::value_refused(client, &table, &column, &value).await?
        {
            findings.push(Finding {
                severity: Severity::Error,
                object: format!("{table}.{column}"),
                message: format!(
                    "{place} = {value:?} cannot be stored in {table}.{column}: {reason}"
                ),
                fix: Some(format!(
                    "change {place} in the data map to a value {table}.{column} accepts"
                )),
            });
        }
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
    crate::ops::map_init::hints::guess_category(column, pg_type)
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
}
