//! The one link model: how a mapped table's rows reach their subject.
//!
//! A link path is a list of steps, each `from(columns) = to(columns)`, compiled
//! once from the data map and the catalogue ([`LinkPath::compile`]) and turned into
//! SQL in two forms that every command shares:
//! - [`LinkPath::rows_of`]: a condition selecting the rows of the table that belong
//!   to the subjects a [`KeyMatch`] names, as nested semi-joins (`cols IN (SELECT
//!   ...)`), so a row appears once however many paths reach it;
//! - [`LinkPath::joined`]: the table joined along the path up to the subject key,
//!   for going the other way (which subject does this row belong to?): identities
//!   found in a linked table, rows found by a selector, rows shared by subjects.
//!
//! A step may run along a foreign key either way. `Forward`: each row of `from`
//! reaches at most one row of `to` (`loans.borrower_id -> borrowers.id`).
//! `Reverse`: `to` points at `from`, so one row of `from` may be reached from many
//! rows of `to` (`customer.address_id -> address.address_id`: an address shared by
//! two customers). A path with a reverse step may select rows that other subjects
//! share; [`LinkPath::shared_rows`] finds them, so erasure keeps or masks them
//! instead of deleting another person's data.
//!
//! Identifiers come only from the validated data map and the catalogue, quoted;
//! subject keys reach the server as bound parameters (or a session setting where
//! `COPY` takes none), cast to the catalogue's type of the key column.

use serde::Serialize;

use crate::map::schema::{Catalog, CatalogTable};
use crate::map::{quote_ident, DataMap, TableName};

/// Which way a step runs relative to uniqueness.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// `to(columns)` is unique: a row of `from` reaches at most one row of `to`.
    Forward,
    /// `from(columns)` is unique and `to(columns)` is not: rows of `from` may be
    /// reached by several rows of `to` (shared).
    Reverse,
    /// Neither side is unique: the join multiplies rows. `map check` refuses it.
    ManyToMany,
}

/// One compiled step: `from.from_columns = to.to_columns`.
#[derive(Debug, Clone, Serialize)]
pub struct Step {
    pub from: TableName,
    pub from_columns: Vec<String>,
    pub to: TableName,
    pub to_columns: Vec<String>,
    pub direction: Direction,
    /// The data-map key of `from`, for messages.
    pub from_key: String,
}

/// How the subject keys of a statement are given.
#[derive(Debug, Clone, Copy)]
pub enum KeyMatch<'a> {
    /// One key, the text parameter `$n`.
    One(usize),
    /// Several keys, the text-array parameter `$n`.
    Any(usize),
    /// One key read from a session setting (for `COPY`, which takes no parameters),
    /// evaluated once per statement.
    Setting(&'a str),
    /// The keys a subquery returns (`SELECT key FROM ...`, built from the data map,
    /// of the key column's type): purging matches rows against sets of subjects
    /// (held, due) computed once per run.
    In(&'a str),
}

impl KeyMatch<'_> {
    /// `expr` compared with the keys, the keys cast to the column's type `ty` so
    /// indexes apply.
    pub fn sql(&self, expr: &str, ty: &str) -> String {
        match self {
            KeyMatch::One(n) => format!("{expr} = ${n}::text::{ty}"),
            KeyMatch::Any(n) => format!("{expr} = ANY(${n}::text[]::{ty}[])"),
            KeyMatch::Setting(name) => {
                format!("{expr} = (SELECT current_setting('{name}')::{ty})")
            }
            KeyMatch::In(query) => format!("{expr} IN ({query})"),
        }
    }
}

/// The compiled path from one mapped table to the subject key.
#[derive(Debug, Clone, Serialize)]
pub struct LinkPath {
    /// The data-map key of the table (`loans`, `sales.orders`).
    pub key: String,
    pub table: TableName,
    /// Nearest step first; empty for the subject table.
    pub steps: Vec<Step>,
    pub subject_table: TableName,
    pub subject_key: String,
    /// Catalogue type of the subject key (`bigint`, `uuid`, `text`, ...).
    pub key_type: String,
}

impl LinkPath {
    /// Compile the path of mapped table `table`: the map's steps with every column
    /// resolved (a missing `via_column` becomes the primary key of `via`) and each
    /// step's direction read off the catalogue's unique keys.
    pub fn compile(map: &DataMap, catalog: &Catalog, table: &str) -> Result<LinkPath, String> {
        let subject_table = map.subject_table();
        let subject = catalog_table(catalog, &subject_table)?;
        let key_type = subject
            .column_type(&map.subject.key)
            .ok_or_else(|| {
                format!(
                    "the subject key {}.{} does not exist",
                    subject_table, map.subject.key
                )
            })?
            .to_owned();
        let mut steps = Vec::new();
        for step in map.link_path(table)? {
            let from = map.table_name(&step.from);
            let to = map.table_name(&step.to);
            let from_table = catalog_table(catalog, &from)?;
            let to_table = catalog_table(catalog, &to)?;
            let to_columns = match step.to_columns {
                Some(columns) => columns,
                None if to_table.primary_key.is_empty() => {
                    return Err(format!(
                        "[tables.{}] links via `{}`, which has no primary key to compare with: give `via_column`",
                        step.from, step.to
                    ))
                }
                None => to_table.primary_key.clone(),
            };
            if to_columns.len() != step.columns.len() {
                return Err(format!(
                    "[tables.{}] link compares {} column(s) with the {}-column primary key of `{}`: give `via_column`",
                    step.from,
                    step.columns.len(),
                    to_columns.len(),
                    step.to
                ));
            }
            for (table, columns) in [(from_table, &step.columns), (to_table, &to_columns)] {
                if let Some(missing) = columns.iter().find(|c| table.column_type(c).is_none()) {
                    return Err(format!(
                        "[tables.{}] link: column {missing} does not exist in {}",
                        step.from, table.name
                    ));
                }
            }
            let direction = if to_table.is_unique(&to_columns) {
                Direction::Forward
            } else if from_table.is_unique(&step.columns) {
                Direction::Reverse
            } else {
                Direction::ManyToMany
            };
            steps.push(Step {
                from,
                from_columns: step.columns,
                to,
                to_columns,
                direction,
                from_key: step.from,
            });
        }
        Ok(LinkPath {
            key: table.to_owned(),
            table: map.table_name(table),
            steps,
            subject_table,
            subject_key: map.subject.key.clone(),
            key_type,
        })
    }

    /// Whether rows of this table may be shared by several subjects: some step of
    /// the path is not forward.
    pub fn may_share(&self) -> bool {
        self.steps.iter().any(|s| s.direction != Direction::Forward)
    }

    /// Whether the last step compares with the subject key itself, so the subject
    /// table need not be joined.
    fn ends_on_subject_key(&self) -> bool {
        self.steps.last().is_some_and(|last| {
            last.to == self.subject_table && last.to_columns == [self.subject_key.clone()]
        })
    }

    /// A condition on `alias` (a row of this table) that holds when the row belongs
    /// to one of the subjects `keys` names.
    pub fn rows_of(&self, alias: &str, keys: KeyMatch<'_>) -> String {
        self.condition_from(0, alias, keys)
    }

    fn condition_from(&self, index: usize, alias: &str, keys: KeyMatch<'_>) -> String {
        let Some(step) = self.steps.get(index) else {
            return keys.sql(
                &format!("{alias}.{}", quote_ident(&self.subject_key)),
                &self.key_type,
            );
        };
        if index + 1 == self.steps.len() && self.ends_on_subject_key() {
            return keys.sql(
                &format!("{alias}.{}", quote_ident(&step.from_columns[0])),
                &self.key_type,
            );
        }
        let inner = format!("l{}", index + 1);
        let left = tuple(alias, &step.from_columns);
        let right: Vec<String> = step
            .to_columns
            .iter()
            .map(|c| format!("{inner}.{}", quote_ident(c)))
            .collect();
        format!(
            "{left} IN (SELECT {} FROM {} {inner} WHERE {})",
            right.join(", "),
            step.to.quoted(),
            self.condition_from(index + 1, &inner, keys)
        )
    }

    /// The table (alias `t0`) joined along the path, and the expression of the
    /// subject key each row reaches. The subject table is always joined, so every
    /// key is a subject that exists (a link value pointing nowhere, or NULL, gives no
    /// row). A row reached by several subjects (a reverse step) appears once per
    /// subject; use `DISTINCT` where that matters.
    pub fn joined(&self) -> Joined {
        let joins = self.steps.len();
        let mut rest = String::new();
        for (i, step) in self.steps.iter().enumerate() {
            let on: Vec<String> = step
                .from_columns
                .iter()
                .zip(&step.to_columns)
                .map(|(f, t)| {
                    format!(
                        "t{i}.{} = t{next}.{}",
                        quote_ident(f),
                        quote_ident(t),
                        next = i + 1
                    )
                })
                .collect();
            rest.push_str(&format!(
                " JOIN {} t{} ON {}",
                step.to.quoted(),
                i + 1,
                on.join(" AND ")
            ));
        }
        let key = format!("t{joins}.{}", quote_ident(&self.subject_key));
        Joined {
            first: format!("{} t0", self.table.quoted()),
            joins: rest,
            key,
        }
    }

    /// `FROM <table> t0 WHERE <the row is the subject $1's>`.
    pub fn from_where_one(&self) -> String {
        format!(
            "FROM {} t0 WHERE {}",
            self.table.quoted(),
            self.rows_of("t0", KeyMatch::One(1))
        )
    }

    /// `SELECT DISTINCT <row key as text>` of the rows of the subjects `keys` names
    /// that some other subject reaches too (an address two customers point at).
    /// `row_key` are the table's identifying columns (its primary key). None when
    /// the path cannot share rows.
    pub fn shared_rows(&self, row_key: &[String], keys: KeyMatch<'_>) -> Option<String> {
        if !self.may_share() {
            return None;
        }
        let joined = self.joined();
        let columns: Vec<String> = row_key
            .iter()
            .map(|c| format!("t0.{}::text", quote_ident(c)))
            .collect();
        Some(format!(
            "SELECT DISTINCT {} FROM {}{} WHERE {} AND NOT ({})",
            columns.join(", "),
            joined.first,
            joined.joins,
            self.rows_of("t0", keys),
            keys.sql(&joined.key, &self.key_type)
        ))
    }

    /// The path as `a -> b -> subject`, for reports.
    pub fn describe(&self) -> String {
        let mut parts = vec![self.table.to_string()];
        for step in &self.steps {
            let arrow = match step.direction {
                Direction::Forward => "->",
                Direction::Reverse => "<-",
                Direction::ManyToMany => "<->",
            };
            // Columns are shown where they are not the plain foreign-key reading.
            let columns = if step.direction != Direction::Forward || step.to_columns.len() > 1 {
                format!("({})", step.to_columns.join(", "))
            } else {
                String::new()
            };
            parts.push(format!("{arrow} {}{columns}", step.to));
        }
        parts.join(" ")
    }
}

/// A table joined along its link path: `first` is the table itself (`... t0`),
/// `joins` the ` JOIN ...` clauses after it, `key` the subject key expression.
#[derive(Debug, Clone)]
pub struct Joined {
    pub first: String,
    pub joins: String,
    pub key: String,
}

/// `alias.col` or `(alias.a, alias.b)`.
fn tuple(alias: &str, columns: &[String]) -> String {
    let cols: Vec<String> = columns
        .iter()
        .map(|c| format!("{alias}.{}", quote_ident(c)))
        .collect();
    if cols.len() == 1 {
        cols.into_iter().next().expect("one column")
    } else {
        format!("({})", cols.join(", "))
    }
}

fn catalog_table<'c>(catalog: &'c Catalog, name: &TableName) -> Result<&'c CatalogTable, String> {
    catalog
        .tables
        .get(name)
        .ok_or_else(|| format!("table {name} is in the data map but not in the database"))
}
