//! Turning a selection (one subject, one table, a retention rule's expired rows)
//! into the queries an archive dumps.
//!
//! Identifiers come only from the data map and the live catalogue, always quoted;
//! values (a subject's key, a cut-off time) reach the server as bound parameters of
//! `set_config` and are read back in the query with `current_setting`, because
//! `COPY (SELECT ...)` takes no bind parameters. The read is wrapped in a scalar
//! subquery, `(SELECT current_setting(...)::type)`, so the server evaluates it once
//! per statement (an init plan) rather than once per row: compared per row, the
//! text-to-timestamp cast made an age-based dump's scan four times slower.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio_postgres::Transaction;

use crate::error::DerbesError;
use crate::kz::identity::Identity;
use crate::map::link::{KeyMatch, LinkPath};
use crate::map::{quote_ident, DataMap, TableName, TypeFamily};
use crate::ops::retention::{self, Conditions, Population};
use crate::ops::subject;
use crate::pg::catalog::{Catalog, CatalogTable};

/// Session setting holding the subject key of a `--subject` dump.
pub(crate) const SUBJECT_SETTING: &str = "derbes.archive_subject";
/// Session setting holding the cut-off time of an age-based dump.
pub(crate) const CUTOFF_SETTING: &str = "derbes.archive_cutoff";

/// Which rows go into an archive.
#[derive(Debug, Clone)]
pub enum Selection {
    /// Every row of one subject, through the data map's link paths, all or (with
    /// `older_than`) only those older than a cut-off by each table's `time_column`.
    /// The identity is an IIN (or BIN) or `id:<key>`.
    Subject {
        identity: String,
        older_than: Option<OlderThan>,
    },
    /// The rows of one mapped table, all or only those older than a cut-off.
    Table {
        table: String,
        older_than: Option<OlderThan>,
    },
    /// The rows of every table under a retention rule that the retention decision
    /// finds due (`purge` would delete or mask them).
    Rule { name: String },
    /// The rows of one mapped table that the retention decision finds due under
    /// `rule` as of `as_of` (old enough, free of holds, nothing pointing at them):
    /// what a purge of a table without a primary key archives, then deletes by
    /// the addresses the archive captured.
    DueRows {
        table: String,
        rule: String,
        as_of: DateTime<Utc>,
    },
    /// Rows of one mapped table read from `relation` (one of its partitions; the
    /// table itself when None), only those whose primary key is in the temporary
    /// table `keys_table` of the caller's session when given: what a purge batch
    /// or an expired partition holds. `rule` is recorded as the reason.
    Rows {
        table: String,
        relation: Option<TableName>,
        keys_table: Option<String>,
        rule: Option<String>,
    },
}

/// Rows whose `column` (the table's `time_column` when None) is before `cutoff`.
#[derive(Debug, Clone)]
pub struct OlderThan {
    pub cutoff: DateTime<Utc>,
    pub column: Option<String>,
}

/// What the manifest and the register record of a selection. Never a personal
/// value: a subject appears as `table:key`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SelectionRecord {
    /// `subject`, `table` or `rule`.
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject_ref: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub column: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub older_than: Option<DateTime<Utc>>,
}

pub use crate::files::manifest::ColumnDef;

/// One table to dump and the query that selects its rows.
#[derive(Debug, Clone)]
pub(crate) struct PlannedTable {
    pub name: TableName,
    pub columns: Vec<ColumnDef>,
    /// The table's primary key (from the catalogue; empty when it has none).
    pub key_columns: Vec<String>,
    /// `SELECT ...` (no trailing semicolon), identifiers quoted.
    pub select: String,
    /// The relation `select` reads: the table, or one of its partitions (a
    /// detached one, for a purge); what parallel dumps cut and estimate.
    pub source: TableName,
}

/// Everything a dump needs to run a selection.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    pub tables: Vec<PlannedTable>,
    pub record: SelectionRecord,
    /// `set_config` values the queries read: (setting, value).
    pub settings: Vec<(&'static str, String)>,
    /// The retention rule's `archive_keep`, when the selection is a rule.
    pub default_keep: Option<String>,
}

fn usage(message: String) -> anyhow::Error {
    DerbesError::Usage(message).into()
}

fn catalog_table<'c>(
    map: &DataMap,
    catalog: &'c Catalog,
    mapped: &str,
) -> anyhow::Result<&'c CatalogTable> {
    let name = map.table_name(mapped);
    catalog.tables.get(&name).ok_or_else(|| {
        usage(format!(
            "table {name} of the data map is not in the database: run `derbes map check` and fix the map"
        ))
    })
}

fn column_list(table: &CatalogTable, alias: &str) -> String {
    table
        .columns
        .iter()
        .map(|(name, _)| format!("{alias}.{}", quote_ident(name)))
        .collect::<Vec<_>>()
        .join(", ")
}

fn column_defs(table: &CatalogTable) -> Vec<ColumnDef> {
    table
        .columns
        .iter()
        .map(|(name, pg_type)| ColumnDef {
            name: name.clone(),
            pg_type: pg_type.clone(),
        })
        .collect()
}

/// A time column of `table` checked against the catalogue: it must exist and hold
/// a date or timestamp.
fn time_column<'c>(table: &'c CatalogTable, column: &str) -> anyhow::Result<&'c str> {
    let (name, pg_type) = table
        .columns
        .iter()
        .find(|(name, _)| name == column)
        .ok_or_else(|| {
            usage(format!(
                "table {} has no column `{column}`: name a date or timestamp column of it with --on",
                table.name
            ))
        })?;
    match TypeFamily::of(pg_type) {
        TypeFamily::Date | TypeFamily::Timestamp => Ok(name),
        _ => Err(usage(format!(
            "column {}.{column} is {pg_type}, not a date or timestamp: rows cannot be aged by it",
            table.name
        ))),
    }
}

fn older_than_query(table: &CatalogTable, column: &str) -> String {
    format!(
        "SELECT {} FROM {} t0 WHERE t0.{} < (SELECT current_setting('{CUTOFF_SETTING}')::timestamptz)",
        column_list(table, "t0"),
        table.name.quoted(),
        quote_ident(column)
    )
}

/// Resolve a selection against the data map and the catalogue.
pub(crate) async fn plan(
    tx: &Transaction<'_>,
    map: &DataMap,
    catalog: &Catalog,
    selection: &Selection,
) -> anyhow::Result<Plan> {
    match selection {
        Selection::Subject {
            identity,
            older_than,
        } => plan_subject(tx, map, catalog, identity, older_than.as_ref()).await,
        Selection::Table { table, older_than } => {
            plan_table(map, catalog, table, older_than.as_ref())
        }
        Selection::Rule { name } => plan_rule(tx, map, catalog, name, Utc::now()).await,
        Selection::DueRows { table, rule, as_of } => {
            plan_due_rows(tx, map, catalog, table, rule, *as_of).await
        }
        Selection::Rows {
            table,
            relation,
            keys_table,
            rule,
        } => plan_rows(
            map,
            catalog,
            table,
            relation.as_ref(),
            keys_table.as_deref(),
            rule.as_deref(),
        ),
    }
}

fn plan_rows(
    map: &DataMap,
    catalog: &Catalog,
    mapped: &str,
    relation: Option<&TableName>,
    keys_table: Option<&str>,
    rule: Option<&str>,
) -> anyhow::Result<Plan> {
    let table = catalog_table(map, catalog, mapped)?;
    let source = relation.unwrap_or(&table.name).quoted();
    let mut select = format!("SELECT {} FROM {source} t0", column_list(table, "t0"));
    if let Some(keys) = keys_table {
        if table.primary_key.is_empty() {
            return Err(usage(format!(
                "table {} has no primary key to select archived rows by",
                table.name
            )));
        }
        let columns: Vec<String> = table.primary_key.iter().map(|c| quote_ident(c)).collect();
        let own: Vec<String> = columns.iter().map(|c| format!("t0.{c}")).collect();
        select.push_str(&format!(
            " WHERE ({}) IN (SELECT {} FROM pg_temp.{})",
            own.join(", "),
            columns.join(", "),
            quote_ident(keys)
        ));
    }
    Ok(Plan {
        tables: vec![PlannedTable {
            name: table.name.clone(),
            columns: column_defs(table),
            key_columns: table.primary_key.clone(),
            select,
            source: relation.unwrap_or(&table.name).clone(),
        }],
        record: SelectionRecord {
            kind: "rows".to_owned(),
            subject_ref: None,
            table: Some(relation.unwrap_or(&table.name).to_string()),
            rule: rule.map(str::to_owned),
            column: None,
            older_than: None,
        },
        settings: Vec::new(),
        default_keep: rule
            .and_then(|r| map.retention.get(r))
            .and_then(|r| r.archive_keep.clone()),
    })
}

fn plan_table(
    map: &DataMap,
    catalog: &Catalog,
    mapped: &str,
    older_than: Option<&OlderThan>,
) -> anyhow::Result<Plan> {
    let spec = map.tables.get(mapped).ok_or_else(|| {
        usage(format!(
            "table `{mapped}` is not mapped under [tables] of the data map: archive only mapped tables ({})",
            map.tables.keys().cloned().collect::<Vec<_>>().join(", ")
        ))
    })?;
    let table = catalog_table(map, catalog, mapped)?;
    let mut record = SelectionRecord {
        kind: "table".to_owned(),
        subject_ref: None,
        table: Some(table.name.to_string()),
        rule: None,
        column: None,
        older_than: None,
    };
    let mut settings = Vec::new();
    let select = match older_than {
        None => format!(
            "SELECT {} FROM {} t0",
            column_list(table, "t0"),
            table.name.quoted()
        ),
        Some(older) => {
            let wanted = older
                .column
                .as_deref()
                .or(spec.time_column.as_deref())
                .ok_or_else(|| {
                    usage(format!(
                        "[tables.{mapped}] has no time_column: say which column dates its rows with --on COLUMN"
                    ))
                })?;
            let column = time_column(table, wanted)?;
            record.column = Some(column.to_owned());
            record.older_than = Some(older.cutoff);
            settings.push((CUTOFF_SETTING, older.cutoff.to_rfc3339()));
            older_than_query(table, column)
        }
    };
    Ok(Plan {
        tables: vec![PlannedTable {
            name: table.name.clone(),
            columns: column_defs(table),
            key_columns: table.primary_key.clone(),
            select,
            source: table.name.clone(),
        }],
        record,
        settings,
        // The archive of a table is kept as long as its retention rule says.
        default_keep: spec
            .retention
            .as_ref()
            .and_then(|rule| map.retention.get(rule))
            .and_then(|rule| rule.archive_keep.clone()),
    })
}

/// The rows of every table under a retention rule that the retention decision
/// finds past its period and free of holds now (old enough by the row's time or
/// the subject's event; no open loan, block or open request). The holds are
/// tables of the dump's session, so such a dump runs in one stream.
async fn plan_rule(
    tx: &Transaction<'_>,
    map: &DataMap,
    catalog: &Catalog,
    rule_name: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<Plan> {
    let rules = retention::plan(map, catalog, &[rule_name.to_owned()], now)?;
    let rule = &rules[0];
    retention::prepare(tx, map, catalog, rule, Population::Everyone).await?;
    let cutoff = format!("(SELECT current_setting('{CUTOFF_SETTING}'))");
    let mut tables = Vec::new();
    for planned in &rule.tables {
        let table = catalog_table(map, catalog, &planned.mapped)?;
        if let Some(column) = &planned.time_column {
            time_column(table, column)?;
        } else if rule.rule.age_from.is_none() {
            return Err(usage(format!(
                "[tables.{}] is under retention rule `{rule_name}` but has no time_column to age its rows by: add one to the data map",
                planned.mapped
            )));
        }
        let conditions = Conditions::at(rule, planned, &cutoff);
        tables.push(PlannedTable {
            name: table.name.clone(),
            columns: column_defs(table),
            key_columns: table.primary_key.clone(),
            select: format!(
                "SELECT {} FROM {} t0 WHERE {}",
                column_list(table, "t0"),
                table.name.quoted(),
                conditions.past_and_free()
            ),
            source: table.name.clone(),
        });
    }
    Ok(Plan {
        tables,
        record: SelectionRecord {
            kind: "rule".to_owned(),
            subject_ref: None,
            table: None,
            rule: Some(rule_name.to_owned()),
            column: None,
            older_than: Some(rule.cutoff),
        },
        settings: vec![(CUTOFF_SETTING, rule.cutoff.to_rfc3339())],
        default_keep: rule.rule.archive_keep.clone(),
    })
}

/// See [`Selection::DueRows`].
async fn plan_due_rows(
    tx: &Transaction<'_>,
    map: &DataMap,
    catalog: &Catalog,
    mapped: &str,
    rule_name: &str,
    as_of: DateTime<Utc>,
) -> anyhow::Result<Plan> {
    let rules = retention::plan(map, catalog, &[rule_name.to_owned()], as_of)?;
    let rule = &rules[0];
    let planned = rule.table(mapped).ok_or_else(|| {
        usage(format!(
            "[tables.{mapped}] is not under retention rule `{rule_name}`"
        ))
    })?;
    retention::prepare(tx, map, catalog, rule, Population::Everyone).await?;
    let table = catalog_table(map, catalog, mapped)?;
    let cutoff = format!("(SELECT current_setting('{CUTOFF_SETTING}'))");
    let conditions = Conditions::at(rule, planned, &cutoff);
    Ok(Plan {
        tables: vec![PlannedTable {
            name: table.name.clone(),
            columns: column_defs(table),
            key_columns: table.primary_key.clone(),
            select: format!(
                "SELECT {} FROM {} t0 WHERE {}",
                column_list(table, "t0"),
                table.name.quoted(),
                conditions.due()
            ),
            source: table.name.clone(),
        }],
        record: SelectionRecord {
            kind: "rows".to_owned(),
            subject_ref: None,
            table: Some(table.name.to_string()),
            rule: Some(rule_name.to_owned()),
            column: None,
            older_than: Some(rule.cutoff),
        },
        settings: vec![(CUTOFF_SETTING, rule.cutoff.to_rfc3339())],
        default_keep: rule.rule.archive_keep.clone(),
    })
}

async fn plan_subject(
    tx: &Transaction<'_>,
    map: &DataMap,
    catalog: &Catalog,
    identity: &str,
    older_than: Option<&OlderThan>,
) -> anyhow::Result<Plan> {
    let cutoffs = match older_than {
        Some(older) => Some(subject_cutoff_columns(map, catalog, older)?),
        None => None,
    };
    let identity = Identity::parse(identity).map_err(|e| usage(e.to_string()))?;
    let key = subject::resolve(tx, map, catalog, &identity).await?.key;
    let mut tables = Vec::new();
    for mapped in map.tables.keys() {
        let table = catalog_table(map, catalog, mapped)?;
        // The same join path every subject command uses; COPY takes no bind
        // parameters, so the key comes from a transaction-local setting.
        let path = LinkPath::compile(map, catalog, mapped).map_err(usage)?;
        // With --where-older-than: only this table's rows older than the cut-off.
        let cutoff = match cutoffs.as_ref().and_then(|c| c.get(mapped)) {
            Some(column) => format!(
                " AND t0.{} < (SELECT current_setting('{CUTOFF_SETTING}')::timestamptz)",
                quote_ident(column)
            ),
            None => String::new(),
        };
        tables.push(PlannedTable {
            name: table.name.clone(),
            source: table.name.clone(),
            columns: column_defs(table),
            key_columns: table.primary_key.clone(),
            select: format!(
                "SELECT {} FROM {} t0 WHERE {}{cutoff}",
                column_list(table, "t0"),
                table.name.quoted(),
                path.rows_of("t0", KeyMatch::Setting(SUBJECT_SETTING))
            ),
        });
    }
    let mut settings = vec![(SUBJECT_SETTING, key.clone())];
    if let Some(older) = older_than {
        settings.push((CUTOFF_SETTING, older.cutoff.to_rfc3339()));
    }
    Ok(Plan {
        tables,
        record: SelectionRecord {
            kind: "subject".to_owned(),
            subject_ref: Some(format!("{}:{key}", map.subject.table)),
            table: None,
            rule: None,
            column: None,
            older_than: older_than.map(|o| o.cutoff),
        },
        settings,
        default_keep: None,
    })
}

/// For a subject dump with a cut-off: each mapped table's time column, checked
/// against the catalogue. Every table needs one (a row without a date cannot be
/// shown to be older than the cut-off), and `--on` (one column name) is refused.
fn subject_cutoff_columns(
    map: &DataMap,
    catalog: &Catalog,
    older: &OlderThan,
) -> anyhow::Result<std::collections::BTreeMap<String, String>> {
    if older.column.is_some() {
        return Err(usage(
            "--on names one table's column and applies to --table only: with --subject each \
             table is aged by its time_column in the data map; drop --on"
                .to_owned(),
        ));
    }
    let undated: Vec<&str> = map
        .tables
        .iter()
        .filter(|(_, spec)| spec.time_column.is_none())
        .map(|(name, _)| name.as_str())
        .collect();
    if !undated.is_empty() {
        return Err(usage(format!(
            "--where-older-than with --subject ages every table by its time_column, and {} \
             ha(s/ve) none: add a time_column to the data map, or archive the subject without \
             --where-older-than",
            undated.join(", ")
        )));
    }
    let mut columns = std::collections::BTreeMap::new();
    for (mapped, spec) in &map.tables {
        let table = catalog_table(map, catalog, mapped)?;
        let wanted = spec.time_column.as_deref().unwrap_or_default();
        columns.insert(mapped.clone(), time_column(table, wanted)?.to_owned());
    }
    Ok(columns)
}

/// The planner's estimate (`reltuples`, summed over partitions) of the rows a
/// selection archives, where it can be known without running it: a whole mapped
/// table. None for a filtered selection, a table never analysed, or any error
/// (an estimate only feeds a progress bar).
pub async fn estimated_rows(
    client: &impl tokio_postgres::GenericClient,
    map: &DataMap,
    selection: &Selection,
) -> Option<u64> {
    let Selection::Table {
        table,
        older_than: None,
    } = selection
    else {
        return None;
    };
    let name = map.table_name(table).quoted();
    let row = client
        .query_one(
            "SELECT sum(c.reltuples)::float8 FROM pg_class c \
             WHERE c.relkind = 'r' AND c.reltuples >= 0 \
               AND (c.oid = to_regclass($1) OR c.oid IN \
                    (SELECT relid FROM pg_partition_tree(to_regclass($1)) WHERE isleaf))",
            &[&name],
        )
        .await
        .ok()?;
    let estimate: Option<f64> = row.get(0);
    estimate.filter(|n| *n >= 1.0).map(|n| n as u64)
}
