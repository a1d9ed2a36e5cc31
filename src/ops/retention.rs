//! The one retention decision (docs/policy.md 8.1, Law 94-V Art. 5 and AML/CFT Art. 5):
//! for any row of a mapped table, whether it is due under its table's retention
//! rule as of a time, and which hold keeps it. Every command that destroys or
//! changes data by age asks here and nowhere else: `purge` (delete, archive, mask),
//! `anonymise` (a subject and a cohort), `erase`, `archive dump --rule` and their
//! dry runs.
//!
//! - **age**: the row's `time_column` before the rule's cut-off, or with
//!   `age_from` the subject's event (every loan closed, the latest before the
//!   cut-off), found through the link path (`LinkPath::rows_of` with
//!   [`KeyMatch::In`]); a subject without the event's rows is aged by the row's own
//!   time. A row with no time is never old enough.
//! - **holds**: the subject has an open loan, a block, or an open request (the
//!   rule's `exceptions`, default all three). The held subjects and, for
//!   `age_from`, the subjects' event times are computed once per rule into session
//!   temporary tables ([`prepare`]), for every subject or for one, so each row is
//!   tested with a hash lookup instead of probing three tables per row.
//! - **referenced**: a row still pointed at by a foreign key (a loan with payments
//!   kept) stays, so parents never fail on their children.
//!
//! Erasure asks a narrower question ([`Conditions::kept_from_erasure`]): only a
//! rule that keeps rows by law (`archive-then-delete`) keeps a row of a subject who
//! asked to be erased, while it is not yet due or while the subject has an open
//! loan. A `delete` or `anonymise` rule is a longest period, never a duty to keep,
//! and a block or an open request is no reason to keep what the person asked us to
//! erase.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio_postgres::GenericClient;

use crate::error::DerbesError;
use crate::map::link::{KeyMatch, LinkPath};
use crate::map::{
    quote_ident, AgeWhen, DataMap, RetentionAction, RetentionHold, RetentionRule, TableName,
};
use crate::ops::anonymise::Cohort;
use crate::pg::catalog::Catalog;
use crate::pg::change::ChangeError;
use crate::when::Period;

/// Why an open loan keeps a row, in words for people.
pub const OPEN_LOAN: &str = "an open loan: the obligation is not fulfilled (Law 94-V Art. 8(2))";

fn usage(message: String) -> anyhow::Error {
    DerbesError::Usage(message).into()
}

/// Whose rows [`prepare`] computes the holds and ages of.
#[derive(Debug, Clone, Copy)]
pub enum Population<'a> {
    /// Every subject: a purge, a cohort, a rule's archive.
    Everyone,
    /// One subject, by key: an erasure, a subject's anonymisation.
    Subject(&'a str),
}

/// Why a due row was kept.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct HeldBack {
    /// `open-loan`, `blocked`, `open-request` or `referenced` (rows of another
    /// table still point at it).
    pub reason: String,
    pub rows: i64,
}

/// A table under a rule, resolved against the catalogue.
#[derive(Debug, Clone)]
pub struct TablePlan {
    pub mapped: String,
    pub name: TableName,
    pub path: LinkPath,
    pub time_column: Option<String>,
    /// Children that still point at rows of it: (child, child columns, own columns).
    pub referenced_by: Vec<(TableName, Vec<String>, Vec<String>)>,
}

/// A rule resolved: its tables in delete order (children first) and its cut-off.
#[derive(Debug, Clone)]
pub struct RulePlan {
    pub name: String,
    pub rule: RetentionRule,
    pub cutoff: DateTime<Utc>,
    pub tables: Vec<TablePlan>,
    /// Names this rule's session tables apart from other rules' (an erasure holds
    /// every rule's at once).
    pub slot: usize,
}

impl RulePlan {
    /// The session table of the held subjects (`key`, `reason`).
    pub fn held_table(&self) -> String {
        format!("derbes_retention_held_{}", self.slot)
    }

    /// The session table of the subjects' event times (`key`, `last_event`).
    pub fn age_table(&self) -> String {
        format!("derbes_retention_age_{}", self.slot)
    }

    /// The rule keeps rows by law (`archive-then-delete`), so it keeps them from
    /// an erasure too while they are not due.
    pub fn keeps_by_law(&self) -> bool {
        self.rule.action == RetentionAction::ArchiveThenDelete
    }

    /// The table plan of a mapped table under this rule.
    pub fn table(&self, mapped: &str) -> Option<&TablePlan> {
        self.tables.iter().find(|t| t.mapped == mapped)
    }
}

/// Resolve the rules asked for (all rules some table names when none are).
pub fn plan(
    map: &DataMap,
    catalog: &Catalog,
    names: &[String],
    as_of: DateTime<Utc>,
) -> anyhow::Result<Vec<RulePlan>> {
    let used: BTreeSet<&str> = map
        .tables
        .values()
        .filter_map(|t| t.retention.as_deref())
        .collect();
    let wanted: Vec<String> = if names.is_empty() {
        used.iter().map(|s| (*s).to_owned()).collect()
    } else {
        for name in names {
            if !map.retention.contains_key(name) {
                return Err(usage(format!(
                    "no retention rule `{name}` in the data map: choose from {}",
                    map.retention.keys().cloned().collect::<Vec<_>>().join(", ")
                )));
            }
        }
        let mut seen = BTreeSet::new();
        names
            .iter()
            .filter(|n| seen.insert(n.as_str()))
            .cloned()
            .collect()
    };
    let mut plans = Vec::new();
    for name in wanted {
        let rule = map.retention[&name].clone();
        let keep = Period::parse(&rule.keep)
            .map_err(|e| usage(format!("[retention.{name}] keep = \"{}\": {e}", rule.keep)))?;
        let cutoff = keep.before(as_of, map.time_zone());
        let mut tables = BTreeMap::new();
        for (mapped, spec) in &map.tables {
            if spec.retention.as_deref() != Some(name.as_str()) {
                continue;
            }
            let path = LinkPath::compile(map, catalog, mapped).map_err(usage)?;
            let referenced_by = catalog
                .foreign_keys
                .iter()
                .filter(|fk| fk.parent == path.table && fk.child != fk.parent)
                .map(|fk| (fk.child.clone(), fk.columns.clone(), fk.ref_columns.clone()))
                .collect();
            tables.insert(
                path.table.clone(),
                TablePlan {
                    mapped: mapped.clone(),
                    name: path.table.clone(),
                    path,
                    time_column: spec.time_column.clone(),
                    referenced_by,
                },
            );
        }
        let names: BTreeSet<TableName> = tables.keys().cloned().collect();
        let order = catalog.delete_order(&names).map_err(usage)?;
        let tables = order
            .into_iter()
            .filter_map(|t| tables.remove(&t))
            .collect();
        let slot = plans.len();
        plans.push(RulePlan {
            name,
            rule,
            cutoff,
            tables,
            slot,
        });
    }
    Ok(plans)
}

/// The subject sets of one rule, in session temporary tables (named by the rule's
/// slot): who is held and why, and (with `age_from`) each subject's event time,
/// for every subject or one. Returns notes on holds that could not be applied.
pub async fn prepare(
    client: &impl GenericClient,
    map: &DataMap,
    catalog: &Catalog,
    rule: &RulePlan,
    population: Population<'_>,
) -> anyhow::Result<Vec<String>> {
    create_session_tables(client, map, catalog, rule).await?;
    fill_session_tables(client, map, catalog, rule, population).await
}

/// The rule's session tables, made empty: the first half of [`prepare`]. A
/// read-only transaction may fill a temporary table but not create one, so a
/// reader that wants the holds in its snapshot (`report`) creates them before
/// the snapshot and fills them inside it ([`fill_session_tables`]).
pub async fn create_session_tables(
    client: &impl GenericClient,
    map: &DataMap,
    catalog: &Catalog,
    rule: &RulePlan,
) -> anyhow::Result<()> {
    let subject = LinkPath::compile(map, catalog, &map.subject.table).map_err(usage)?;
    let key_type = subject.key_type.clone();
    let (held, age) = (rule.held_table(), rule.age_table());
    client
        .batch_execute(&format!(
            "DROP TABLE IF EXISTS pg_temp.{held}; DROP TABLE IF EXISTS pg_temp.{age}; \
             CREATE TEMPORARY TABLE {held} (key {key_type} NOT NULL, reason text NOT NULL); \
             CREATE TEMPORARY TABLE {age} (key {key_type} NOT NULL, last_event timestamptz)"
        ))
        .await?;
    Ok(())
}

/// Fill the rule's (empty) session tables: the second half of [`prepare`].
pub async fn fill_session_tables(
    client: &impl GenericClient,
    map: &DataMap,
    catalog: &Catalog,
    rule: &RulePlan,
    population: Population<'_>,
) -> anyhow::Result<Vec<String>> {
    let subject = LinkPath::compile(map, catalog, &map.subject.table).map_err(usage)?;
    let key_type = subject.key_type.clone();
    let (held, age) = (rule.held_table(), rule.age_table());
    let mut notes = Vec::new();
    // One subject: every statement below gains `AND <its key> = $2` (its key as text).
    let only = match population {
        Population::Everyone => None,
        Population::Subject(key) => Some(key.to_owned()),
    };
    let of_one = |key_expression: &str| match &only {
        Some(_) => format!(" AND ({key_expression})::text = $2"),
        None => String::new(),
    };
    let holds = rule.rule.holds();
    if holds.contains(&RetentionHold::OpenLoan) {
        match &map.ledgers.loans {
            Some(loans) => {
                let path = LinkPath::compile(map, catalog, &loans.table).map_err(usage)?;
                let joined = path.joined();
                let sql = format!(
                    "INSERT INTO pg_temp.{held} SELECT DISTINCT {}, 'open-loan' FROM {}{} \
                     WHERE t0.{}::text = ANY($1::text[]){}",
                    joined.key,
                    joined.first,
                    joined.joins,
                    quote_ident(&loans.status),
                    of_one(&joined.key),
                );
                match &only {
                    Some(key) => client.execute(&sql, &[&loans.open, key]).await?,
                    None => client.execute(&sql, &[&loans.open]).await?,
                };
            }
            None => notes.push(
                "open-loan: the map has no [ledgers].loans, so open loans hold nothing back"
                    .to_owned(),
            ),
        }
    }
    if holds.contains(&RetentionHold::Blocked) {
        if let Some(status) = &map.subject.status {
            let key = format!("t0.{}", quote_ident(&subject.subject_key));
            let sql = format!(
                "INSERT INTO pg_temp.{held} SELECT {key}, 'blocked' FROM {} t0 \
                 WHERE t0.{}::text = $1{}",
                subject.table.quoted(),
                quote_ident(&status.column),
                of_one(&key),
            );
            match &only {
                Some(key) => client.execute(&sql, &[&status.blocked, key]).await?,
                None => client.execute(&sql, &[&status.blocked]).await?,
            };
        }
        let sql = format!(
            "INSERT INTO pg_temp.{held} SELECT b.subject_key::{key_type}, 'blocked' \
             FROM derbes.blocks b WHERE b.subject_table = $1 AND b.unblocked_at IS NULL{}",
            of_one("b.subject_key"),
        );
        let table = subject.table.to_string();
        match &only {
            Some(key) => client.execute(&sql, &[&table, key]).await?,
            None => client.execute(&sql, &[&table]).await?,
        };
    }
    if holds.contains(&RetentionHold::OpenRequest) {
        // `derbes.requests` (migration 8) names its subject `<subject table>:<key>`
        // (the map's name of the subject table).
        let prefix = format!("{}:", map.subject.table);
        let sql = format!(
            "INSERT INTO pg_temp.{held} \
             SELECT substr(r.subject_ref, length($1) + 1)::{key_type}, 'open-request' \
             FROM derbes.requests r \
             WHERE r.status = 'open' AND starts_with(r.subject_ref, $1){}",
            of_one("substr(r.subject_ref, length($1) + 1)"),
        );
        match &only {
            Some(key) => client.execute(&sql, &[&prefix, key]).await?,
            None => client.execute(&sql, &[&prefix]).await?,
        };
    }
    if let Some(age_from) = &rule.rule.age_from {
        let path = LinkPath::compile(map, catalog, &age_from.table).map_err(usage)?;
        let joined = path.joined();
        let column = format!("t0.{}", quote_ident(&age_from.column));
        // `last_event`: the event that ages the subject, when there is one (every
        // loan closed: the last close), so any cut-off can be tested against it.
        let last_event = match age_from.when {
            AgeWhen::AllClosed => {
                format!(
                    "CASE WHEN bool_and({column} IS NOT NULL) THEN max({column})::timestamptz END"
                )
            }
        };
        let filter = match &only {
            Some(_) => format!(" WHERE ({})::text = $1", joined.key),
            None => String::new(),
        };
        let sql = format!(
            "INSERT INTO pg_temp.{age} SELECT {}, {last_event} FROM {}{}{filter} GROUP BY 1",
            joined.key, joined.first, joined.joins
        );
        match &only {
            Some(key) => client.execute(&sql, &[key]).await?,
            None => client.execute(&sql, &[]).await?,
        };
    }
    client
        .batch_execute(&format!("ANALYZE pg_temp.{held}; ANALYZE pg_temp.{age}"))
        .await?;
    // Every row is tested with `key IN (SELECT key FROM <these tables>)`, which
    // PostgreSQL hashes only when the set fits in hash memory; past it, it rescans
    // the whole set for every row (hours on a million subjects at the default 4MB).
    // Raised for this session, never lowered: the server's memory, for as long as
    // the run's connection lasts.
    client
        .execute(
            "SELECT set_config('work_mem', $1, false) \
             WHERE pg_size_bytes(current_setting('work_mem')) < pg_size_bytes($1)",
            &[&WORK_MEM],
        )
        .await?;
    Ok(notes)
}

/// The `work_mem` a session that tests rows against the holds and ages gets at
/// least ([`fill_session_tables`]): enough to hash a few million subject keys.
pub const WORK_MEM: &str = "128MB";

/// Drop the session tables of `rules` (a purge's end; an erasure's go with its
/// transaction's session).
pub async fn release(client: &impl GenericClient, rules: &[RulePlan]) {
    for rule in rules {
        let _ = client
            .batch_execute(&format!(
                "DROP TABLE IF EXISTS pg_temp.{}; DROP TABLE IF EXISTS pg_temp.{}",
                rule.held_table(),
                rule.age_table()
            ))
            .await;
    }
}

/// Old enough at the cut-off `cutoff` (an SQL expression of text: a placeholder
/// such as `$1`, or a scalar subquery): by the row's own time column, or with
/// `age_from` by the subject's event (a subject without one by the row's own
/// time). NULL where the row has no time: callers coalesce.
pub fn age_at(rule: &RulePlan, table: &TablePlan, cutoff: &str) -> String {
    let own_age = table
        .time_column
        .as_ref()
        .map(|c| format!("t0.{} < {cutoff}::text::timestamptz", quote_ident(c)));
    let age = rule.age_table();
    match (&rule.rule.age_from, own_age) {
        (Some(_), own) => {
            let due_query = format!(
                "SELECT key FROM pg_temp.{age} WHERE last_event < {cutoff}::text::timestamptz"
            );
            let known_query = format!("SELECT key FROM pg_temp.{age}");
            let due = format!(
                "COALESCE({}, false)",
                table.path.rows_of("t0", KeyMatch::In(&due_query))
            );
            match own {
                Some(own) => format!(
                    "({due} OR (NOT COALESCE({}, false) AND {own}))",
                    table.path.rows_of("t0", KeyMatch::In(&known_query))
                ),
                None => due,
            }
        }
        (None, Some(own)) => own,
        (None, None) => "false".to_owned(),
    }
}

/// The SQL conditions on `t0` (a row of the table) for one table of a rule. The
/// cut-off is the text expression given to [`Conditions::at`] (`$1` by default).
pub struct Conditions {
    /// Old enough at an earlier cut-off, the text parameter `$2` (an `anonymise`
    /// rule's mark).
    age_at_mark: String,
    /// Old enough.
    pub age: String,
    /// The table's link path, for the held condition ([`Conditions::held`]).
    path: LinkPath,
    /// The rule's session table of held subjects.
    held_table: String,
    /// Rows of another table still point at it.
    pub referenced: Option<String>,
    /// Age is the row's own time column alone (no `age_from`).
    pub own_age_only: bool,
    /// The rule keeps rows by law (`archive-then-delete`).
    keeps_by_law: bool,
    /// The rule's name, `keep` and legal basis, for reasons given to people.
    rule_words: String,
}

impl Conditions {
    /// The conditions with the cut-off in the text parameter `$1`.
    pub fn of(rule: &RulePlan, table: &TablePlan) -> Conditions {
        Conditions::at(rule, table, "$1")
    }

    /// The conditions with the cut-off in the SQL text expression `cutoff`.
    pub fn at(rule: &RulePlan, table: &TablePlan, cutoff: &str) -> Conditions {
        let path = table.path.clone();
        let referenced = (!table.referenced_by.is_empty()).then(|| {
            table
                .referenced_by
                .iter()
                .map(|(child, columns, own)| {
                    let on: Vec<String> = columns
                        .iter()
                        .zip(own)
                        .map(|(c, o)| format!("c.{} = t0.{}", quote_ident(c), quote_ident(o)))
                        .collect();
                    format!(
                        "EXISTS (SELECT 1 FROM {} c WHERE {})",
                        child.quoted(),
                        on.join(" AND ")
                    )
                })
                .collect::<Vec<_>>()
                .join(" OR ")
        });
        Conditions {
            age: age_at(rule, table, cutoff),
            age_at_mark: age_at(rule, table, "$2"),
            path,
            held_table: rule.held_table(),
            referenced,
            own_age_only: rule.rule.age_from.is_none(),
            keeps_by_law: rule.keeps_by_law(),
            rule_words: format!(
                "retention rule {} (kept {}: {})",
                rule.name, rule.rule.keep, rule.rule.legal_basis
            ),
        }
    }

    /// The cohort of an `anonymise` rule: due is old enough and not held (rows
    /// other tables point at stay and are masked). An earlier run's cut-off is `$2`.
    pub fn cohort(&self, rule: &RulePlan) -> Cohort {
        Cohort {
            due: self.past_and_free(),
            age: self.age.clone(),
            age_at: self.age_at_mark.clone(),
            params: vec![rule.cutoff.to_rfc3339()],
        }
    }

    /// Held, for one reason or any.
    pub fn held(&self, reason: Option<&str>) -> String {
        let held = &self.held_table;
        let query = match reason {
            // The reason is one of this module's fixed names, never user text.
            Some(reason) => format!("SELECT key FROM pg_temp.{held} WHERE reason = '{reason}'"),
            None => format!("SELECT key FROM pg_temp.{held}"),
        };
        format!(
            "COALESCE({}, false)",
            self.path.rows_of("t0", KeyMatch::In(&query))
        )
    }

    /// Due and free to go: old enough, not held, not referenced.
    pub fn due(&self) -> String {
        let mut condition = self.past_and_free();
        if let Some(referenced) = &self.referenced {
            condition.push_str(&format!(" AND NOT ({referenced})"));
        }
        condition
    }

    /// Past the rule's period and not held: the rows the rule has no more reason
    /// to keep, whether or not other rows still point at them (a cohort masks
    /// those in place; a rule's archive holds them).
    pub fn past_and_free(&self) -> String {
        format!("({}) AND NOT {}", self.age, self.held(None))
    }

    /// What keeps a row of a subject who asked to be erased, with the words that
    /// say why: only a rule that keeps by law, while the row is not yet due (by
    /// its own time or the subject's event) or the subject has an open loan. None
    /// when the rule keeps nothing from an erasure.
    pub fn kept_from_erasure(&self) -> Option<Vec<(String, String)>> {
        if !self.keeps_by_law {
            return None;
        }
        Some(vec![
            (
                format!("NOT COALESCE({}, false)", self.age),
                format!("within {}", self.rule_words),
            ),
            (
                self.held(Some(RetentionHold::OpenLoan.name())),
                OPEN_LOAN.to_owned(),
            ),
        ])
    }
}

/// The rule and table plan of mapped table `mapped`, among `rules`.
pub fn rule_of<'r>(rules: &'r [RulePlan], mapped: &str) -> Option<(&'r RulePlan, &'r TablePlan)> {
    rules
        .iter()
        .find_map(|rule| rule.table(mapped).map(|table| (rule, table)))
}

/// Every rule some table names, planned as of `as_of` and prepared for one
/// subject in the session of `client`: what an erasure and a subject's
/// anonymisation ask [`Conditions::kept_from_erasure`] with.
pub async fn for_subject(
    client: &impl GenericClient,
    map: &DataMap,
    catalog: &Catalog,
    key: &str,
    as_of: DateTime<Utc>,
) -> anyhow::Result<Vec<RulePlan>> {
    let rules = plan(map, catalog, &[], as_of)?;
    for rule in &rules {
        prepare(client, map, catalog, rule, Population::Subject(key)).await?;
    }
    Ok(rules)
}

/// Whether any subject is held under `rule` (its session table, filled by
/// [`prepare`], has a row): without one, [`count_table`] skips the hold tests.
pub async fn any_held(client: &impl GenericClient, rule: &RulePlan) -> Result<bool, ChangeError> {
    Ok(client
        .query_one(
            &format!(
                "SELECT EXISTS (SELECT 1 FROM pg_temp.{})",
                rule.held_table()
            ),
            &[],
        )
        .await?
        .get(0))
}

/// Which rows [`count_table`] reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CountScope {
    /// Every row of the table: the report, which shows what is within the period too.
    Whole,
    /// Only rows past the period (an index on the time column or partition
    /// pruning may skip the rest): a purge and its dry run.
    PastOnly,
}

/// What one table holds against its rule, from one pass over it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TableCount {
    /// Rows read: every row with [`CountScope::Whole`], else those past the period.
    pub rows: i64,
    /// Past the rule's period.
    pub past: i64,
    /// Past, not held, not referenced: what the next purge removes (0 unless
    /// `count_due`).
    pub due: i64,
    /// The oldest due row's time, where the table has a time column.
    pub oldest_due: Option<DateTime<Utc>>,
    /// Past but kept, per reason with any rows; a row held for two reasons
    /// counts under each, and `referenced` only counts rows no hold keeps.
    pub held: Vec<HeldBack>,
}

/// Count a table against its rule in one pass: how many rows are past the period,
/// due, and held back per reason, with the conditions of [`Conditions`]. Every
/// count of due and held rows (purge, its dry run, `report`) is this function.
/// Without `any_held` (the rule's held table is empty) the hold tests are skipped.
pub async fn count_table(
    client: &impl GenericClient,
    rule: &RulePlan,
    table: &TablePlan,
    conditions: &Conditions,
    any_held: bool,
    count_due: bool,
    scope: CountScope,
) -> Result<TableCount, ChangeError> {
    if scope == CountScope::PastOnly && !count_due && !any_held && conditions.referenced.is_none() {
        return Ok(TableCount::default());
    }
    let cutoff = rule.cutoff.to_rfc3339();
    // The inner query computes each row's tests once (OFFSET 0 keeps the planner
    // from copying them into every aggregate); the outer one counts.
    let mut inner = Vec::new();
    let own_columns: BTreeSet<&String> = table
        .referenced_by
        .iter()
        .flat_map(|(_, _, own)| own)
        .collect();
    for column in &own_columns {
        inner.push(format!("t0.{}", quote_ident(column)));
    }
    inner.push(match scope {
        CountScope::Whole => format!("COALESCE({}, false) AS derbes_past", conditions.age),
        CountScope::PastOnly => "true AS derbes_past".to_owned(),
    });
    let holds: Vec<&str> = if any_held {
        RetentionHold::ALL.iter().map(|h| h.name()).collect()
    } else {
        Vec::new()
    };
    for (i, hold) in holds.iter().enumerate() {
        inner.push(format!(
            "{} AS derbes_held_{i}",
            conditions.held(Some(hold))
        ));
    }
    inner.push(match &table.time_column {
        Some(c) => format!("t0.{}::timestamptz AS derbes_time", quote_ident(c)),
        None => "NULL::timestamptz AS derbes_time".to_owned(),
    });
    let filter = match scope {
        CountScope::Whole => String::new(),
        CountScope::PastOnly => format!(" WHERE ({})", conditions.age),
    };
    let held_any = if holds.is_empty() {
        "false".to_owned()
    } else {
        (0..holds.len())
            .map(|i| format!("t0.derbes_held_{i}"))
            .collect::<Vec<_>>()
            .join(" OR ")
    };
    let free = format!("t0.derbes_past AND NOT ({held_any})");
    // Referenced: tested only on rows past and free (the children are probed per row).
    let (middle, referenced) = match &conditions.referenced {
        Some(referenced) => (
            format!(
                "SELECT t0.*, CASE WHEN {free} THEN ({referenced}) ELSE false END AS derbes_ref \
                 FROM (SELECT {} FROM {} t0{filter} OFFSET 0) t0 OFFSET 0",
                inner.join(", "),
                table.name.quoted()
            ),
            "t0.derbes_ref",
        ),
        None => (
            format!(
                "SELECT {} FROM {} t0{filter} OFFSET 0",
                inner.join(", "),
                table.name.quoted()
            ),
            "false",
        ),
    };
    let due = format!("{free} AND NOT {referenced}");
    let mut outer = vec![
        "count(*)".to_owned(),
        "count(*) FILTER (WHERE t0.derbes_past)".to_owned(),
    ];
    if count_due {
        outer.push(format!("count(*) FILTER (WHERE {due})"));
        outer.push(format!("min(t0.derbes_time) FILTER (WHERE {due})"));
    } else {
        outer.push("0::bigint".to_owned());
        outer.push("NULL::timestamptz".to_owned());
    }
    for i in 0..holds.len() {
        outer.push(format!(
            "count(*) FILTER (WHERE t0.derbes_past AND t0.derbes_held_{i})"
        ));
    }
    outer.push(format!("count(*) FILTER (WHERE {free} AND {referenced})"));
    let sql = format!("SELECT {} FROM ({middle}) t0", outer.join(", "));
    let row = client.query_one(&sql, &[&cutoff]).await?;
    let mut held = Vec::new();
    for (i, hold) in holds.iter().enumerate() {
        let rows: i64 = row.get(4 + i);
        if rows > 0 {
            held.push(HeldBack {
                reason: (*hold).to_owned(),
                rows,
            });
        }
    }
    let referenced_rows: i64 = row.get(4 + holds.len());
    if referenced_rows > 0 {
        held.push(HeldBack {
            reason: "referenced".to_owned(),
            rows: referenced_rows,
        });
    }
    Ok(TableCount {
        rows: row.get(0),
        past: row.get(1),
        due: row.get(2),
        oldest_due: row.get(3),
        held,
    })
}
