//! Rectification (docs/policy.md 6.2.3, 8.2; Law 94-V Art. 24(1)(2)): change a subject's
//! personal data on their request, one field at a time, each value checked for its
//! category, in one change transaction with one audit row.
//!
//! Three steps, so the person at the terminal sees what will change before it does:
//! [`plan`] reads the `--set` arguments against the data map alone (unknown columns,
//! columns not `rectify = true` or with a `locked_reason`); [`prepare`] reads the
//! row to change, its column rules from `pg_catalog` (NOT NULL, enum labels, CHECK
//! constraints that list values) and validates every new value for its category;
//! [`apply`] locks the subject, re-reads the row (it must still hold what was
//! shown), updates it, checks that an identity changed still finds the subject,
//! and appends the audit row.
//!
//! The audit row names the fields changed and holds a keyed hash (HMAC-SHA256) of
//! each old and new value, never the values: with the key (kept away from the
//! database) a disputed value can be checked against the log; without it, the log
//! cannot be searched for guesses. Error messages never carry a value either.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use tokio_postgres::{Client, GenericClient};

use crate::kz::identity::{Bin, Email, Identity, Iin, Phone};
use crate::map::link::{KeyMatch, LinkPath};
use crate::map::{quote_ident, Category, ColumnSpec, DataMap, IdentityKind, TableName, TypeFamily};
use crate::ops::resolve::{self, ResolveError};
use crate::pg::audit::AuditEntry;
pub use crate::pg::audit_key::AuditKey;
use crate::pg::catalog::Catalog;
use crate::pg::change::{self, ChangeError, Limits};

/// Why a rectification did not happen. Nothing was changed in any of these cases.
#[derive(Debug, thiserror::Error)]
pub enum RectifyError {
    #[error("--set `{given}` is not COLUMN=VALUE: write e.g. --set phone=+77011234567 or --set addresses.city=Almaty")]
    BadSet { given: String },
    #[error("--set names `{field}` twice: give each column once")]
    Duplicate { field: String },
    #[error("`{table}` is not a table of the data map: name a column of the subject table ({subject}) or `table.column` of a mapped table")]
    UnknownTable { table: String, subject: String },
    #[error("`{field}` is not a personal column of the data map, so it cannot be rectified; rectifiable columns of {table}: {}", if .rectifiable.is_empty() { "none".to_owned() } else { .rectifiable.join(", ") })]
    UnknownColumn {
        field: String,
        table: String,
        rectifiable: Vec<String>,
    },
    #[error("`{field}` may not be changed: {reason} (the data map's locked_reason); nothing was changed")]
    Locked { field: String, reason: String },
    #[error("`{field}` is not marked `rectify = true` in the data map, so derbes does not change it; if the policy allows it, mark it so in the map")]
    NotRectifiable { field: String },
    #[error("--set names columns of {}: rectify one table per run", .tables.join(" and "))]
    SeveralTables { tables: Vec<String> },
    #[error("--row picks a row of a linked table, but every --set column is in the subject table: drop --row")]
    RowWithoutTable,
    #[error(
        "the subject has no row in {table}: nothing to rectify there (see `derbes subject show`)"
    )]
    NoRow { table: String },
    #[error("the subject has {} rows in {table} ({}): pick one with --row KEY (the row's {column})", .rows.len(), .rows.join(", "))]
    SeveralRows {
        table: String,
        column: String,
        rows: Vec<String>,
    },
    #[error("row {row} of {table} is not one of the subject's rows: check --row against `derbes subject show`")]
    RowNotOfSubject { table: String, row: String },
    #[error("row {row} of {table} is shared with other subjects (its link path runs against a foreign key); changing it would change their data too: nothing was changed")]
    SharedRow { table: String, row: String },
    #[error("{table} has no one-column primary key, so rectify cannot name one of its rows; add a primary key")]
    NoRowKey { table: String },
    #[error("`{field}`: {reason}; nothing was changed")]
    Invalid { field: String, reason: String },
    #[error("`{field}` may not be empty: the column is NOT NULL; give the corrected value")]
    NotNull { field: String },
    #[error("`{field}` takes one of: {}; nothing was changed", .allowed.join(", "))]
    NotAllowed { field: String, allowed: Vec<String> },
    #[error("`{field}`: the database refused the value ({reason}); nothing was changed")]
    Rejected { field: String, reason: String },
    #[error("`{field}`: another row already holds this value (unique constraint {constraint}); nothing was changed: check which subject holds it before going on")]
    Duplicated { field: String, constraint: String },
    #[error("after the change the subject would not be found by the new {kind} (searched {searched}): nothing was changed; check the data map's identity column for {field}")]
    NotFindable {
        field: String,
        kind: &'static str,
        searched: String,
    },
    #[error("the subject was not found when locked (deleted meanwhile?): nothing was changed")]
    SubjectGone,
    #[error("the data map does not fit the database: {0}; run `derbes map check`")]
    Map(String),
    #[error(transparent)]
    Resolve(ResolveError),
    #[error(transparent)]
    Change(#[from] ChangeError),
}

impl From<tokio_postgres::Error> for RectifyError {
    fn from(error: tokio_postgres::Error) -> RectifyError {
        RectifyError::Change(ChangeError::from(error))
    }
}

/// One `--set` checked against the data map.
#[derive(Debug, Clone)]
pub struct PlannedField {
    /// The data-map key of the table.
    pub table: String,
    pub column: String,
    pub spec: ColumnSpec,
    /// As typed (trimmed later, per category).
    pub raw: String,
}

impl PlannedField {
    /// `table.column`, as in the audit row.
    pub fn field(&self) -> String {
        format!("{}.{}", self.table, self.column)
    }
}

/// What `--set` asks for, checked against the data map.
#[derive(Debug, Clone)]
pub struct Plan {
    pub fields: Vec<PlannedField>,
    /// The linked table whose row changes, if any column is not the subject table's.
    pub linked: Option<String>,
    /// `--row`: the primary key of that row.
    pub row: Option<String>,
}

/// Read `--set COLUMN=VALUE` arguments against the data map: `COLUMN` is a column
/// of the subject table, `table.column` one of a mapped table. Refuses unknown,
/// locked and unrectifiable columns before anything is read.
pub fn plan(map: &DataMap, sets: &[String], row: Option<&str>) -> Result<Plan, RectifyError> {
    let subject = map.subject.table.clone();
    let mut fields = Vec::new();
    let mut seen = BTreeSet::new();
    for given in sets {
        let Some((name, value)) = given.split_once('=') else {
            return Err(RectifyError::BadSet {
                given: shown_name(given),
            });
        };
        let name = name.trim();
        if name.is_empty() {
            return Err(RectifyError::BadSet {
                given: shown_name(given),
            });
        }
        // Before the name is shown in any message (an escape would reach the terminal).
        plain("--set", "column name", name)?;
        let (table, column) = match name.rsplit_once('.') {
            Some((table, column)) => (table.to_owned(), column.to_owned()),
            None => (subject.clone(), name.to_owned()),
        };
        let Some(table_spec) = map.tables.get(&table) else {
            return Err(RectifyError::UnknownTable {
                table,
                subject: subject.clone(),
            });
        };
        let field = format!("{table}.{column}");
        let Some(spec) = table_spec.columns.get(&column) else {
            return Err(RectifyError::UnknownColumn {
                field,
                table: table.clone(),
                rectifiable: table_spec
                    .columns
                    .iter()
                    .filter(|(_, c)| c.rectify && c.locked_reason.is_none())
                    .map(|(name, _)| name.clone())
                    .collect(),
            });
        };
        if let Some(reason) = &spec.locked_reason {
            return Err(RectifyError::Locked {
                field,
                reason: reason.clone(),
            });
        }
        if !spec.rectify {
            return Err(RectifyError::NotRectifiable { field });
        }
        if !seen.insert(field.clone()) {
            return Err(RectifyError::Duplicate { field });
        }
        plain(&field, "value", value)?;
        fields.push(PlannedField {
            table,
            column,
            spec: spec.clone(),
            raw: value.to_owned(),
        });
    }
    if let Some(row) = row {
        plain("--row", "value", row)?;
    }
    // One row of one table per run: one row to lock, re-read and show.
    let tables: BTreeSet<String> = fields.iter().map(|f| f.table.clone()).collect();
    if tables.len() > 1 {
        return Err(RectifyError::SeveralTables {
            tables: tables.into_iter().collect(),
        });
    }
    let linked = tables.into_iter().next().filter(|t| *t != subject);
    if linked.is_none() && row.is_some() {
        return Err(RectifyError::RowWithoutTable);
    }
    Ok(Plan {
        fields,
        linked,
        row: row.map(|r| r.trim().to_owned()),
    })
}

/// Refuse text holding a control or invisible character (a zero-width space inside
/// a name, a direction override, an escape): stored, it makes a value that looks
/// right on screen and matches nothing. The rule is the free-text one
/// ([`free_text::hidden_char`](crate::free_text::hidden_char)); the message names
/// the field and the character's code point, never the value.
fn plain(field: &str, what: &str, text: &str) -> Result<(), RectifyError> {
    match crate::free_text::hidden_char(text) {
        None => Ok(()),
        Some(c) => Err(RectifyError::Invalid {
            field: field.to_owned(),
            reason: format!(
                "the {what} holds {}, a control or invisible character that does not show on screen: \
                 type it again as plain text",
                crate::free_text::describe(c)
            ),
        }),
    }
}

/// The column name of a malformed `--set`, never its value (which may be personal).
fn shown_name(given: &str) -> String {
    let name: String = given
        .split('=')
        .next()
        .unwrap_or("")
        .chars()
        .take(60)
        .collect();
    if name
        .chars()
        .any(|c| c.is_ascii_digit() || c == '@' || c == '+')
    {
        "(its content is not shown)".to_owned()
    } else {
        name
    }
}

/// One field's change, before and after, in the database's text form.
#[derive(Debug, Clone)]
pub struct FieldChange {
    /// `table.column`.
    pub field: String,
    pub column: String,
    pub category: Category,
    /// Catalogue type, for the cast in the UPDATE.
    pub pg_type: String,
    pub old: Option<String>,
    pub new: Option<String>,
}

impl FieldChange {
    pub fn changes(&self) -> bool {
        self.old != self.new
    }
}

/// The row to change and every field's change, validated.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub subject_key: String,
    /// `table:key` of the subject.
    pub subject_ref: String,
    /// The data-map key of the table changed.
    pub table: String,
    pub table_name: TableName,
    /// For a linked table: its primary-key column, type and the row's key.
    pub row: Option<RowKey>,
    pub changes: Vec<FieldChange>,
}

#[derive(Debug, Clone)]
pub struct RowKey {
    pub column: String,
    pub pg_type: String,
    pub key: String,
}

impl Prepared {
    /// `addresses:17`, or the subject reference for the subject table.
    pub fn row_ref(&self) -> String {
        match &self.row {
            Some(row) => format!("{}:{}", self.table, row.key),
            None => self.subject_ref.clone(),
        }
    }
}

/// What a column allows, from `pg_catalog`.
#[derive(Debug, Clone, Default)]
struct ColumnRules {
    not_null: bool,
    /// Labels of its enum type, or the values a CHECK constraint lists.
    allowed: Option<Vec<String>>,
}

async fn column_rules(
    client: &impl GenericClient,
    table: &TableName,
    column: &str,
) -> Result<ColumnRules, RectifyError> {
    let row = client
        .query_opt(
            "SELECT a.attnotnull, \
                    ARRAY(SELECT e.enumlabel::text FROM pg_enum e \
                          WHERE e.enumtypid = a.atttypid ORDER BY e.enumsortorder), \
                    ARRAY(SELECT pg_get_constraintdef(c.oid) FROM pg_constraint c \
                          WHERE c.conrelid = a.attrelid AND c.contype = 'c' \
                            AND c.conkey = ARRAY[a.attnum]) \
             FROM pg_attribute a \
             WHERE a.attrelid = to_regclass($1) AND a.attname = $2 AND NOT a.attisdropped",
            &[&table.quoted(), &column],
        )
        .await?;
    let Some(row) = row else {
        return Err(RectifyError::Map(format!(
            "column {table}.{column} does not exist"
        )));
    };
    let labels: Vec<String> = row.get(1);
    let checks: Vec<String> = row.get(2);
    let allowed = if labels.is_empty() {
        checks.iter().find_map(|def| listed_values(def))
    } else {
        Some(labels)
    };
    Ok(ColumnRules {
        not_null: row.get(0),
        allowed,
    })
}

/// The values a one-column CHECK constraint lists, as `pg_get_constraintdef`
/// writes `col IN ('a', 'b')`: `CHECK ((col = ANY (ARRAY['a'::text, 'b'::text])))`.
/// None for any other kind of check (a range, a pattern, several conditions).
pub fn listed_values(def: &str) -> Option<Vec<String>> {
    let mut literals = Vec::new();
    let mut skeleton = String::new();
    let mut chars = def.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\'' {
            skeleton.push(c);
            continue;
        }
        let mut literal = String::new();
        loop {
            match chars.next() {
                Some('\'') if chars.peek() == Some(&'\'') => {
                    chars.next();
                    literal.push('\'');
                }
                Some('\'') => break,
                Some(other) => literal.push(other),
                None => return None,
            }
        }
        literals.push(literal);
        skeleton.push('L');
    }
    let upper = skeleton.to_ascii_uppercase();
    let simple = upper.contains("= ANY (ARRAY[")
        && ![" AND ", " OR ", "<", ">", "NOT ", "~", "LIKE", "IS "]
            .iter()
            .any(|op| upper.contains(op));
    (simple && !literals.is_empty()).then_some(literals)
}

/// Read the row to change and validate every new value for its category and the
/// column's rules. Reads only; nothing is locked yet.
pub async fn prepare(
    client: &impl GenericClient,
    map: &DataMap,
    catalog: &Catalog,
    plan: &Plan,
    subject_key: &str,
) -> Result<Prepared, RectifyError> {
    let subject_table = map.subject.table.clone();
    let table = plan.linked.clone().unwrap_or(subject_table.clone());
    let table_name = map.table_name(&table);
    let path = LinkPath::compile(map, catalog, &table).map_err(RectifyError::Map)?;
    let catalog_table = catalog
        .tables
        .get(&table_name)
        .ok_or_else(|| RectifyError::Map(format!("table {table_name} does not exist")))?;
    let pg_type = |column: &str| {
        catalog_table
            .column_type(column)
            .map(str::to_owned)
            .ok_or_else(|| {
                RectifyError::Map(format!("column {table_name}.{column} does not exist"))
            })
    };
    let fields: Vec<&PlannedField> = plan.fields.iter().collect();
    let columns: Vec<String> = fields
        .iter()
        .map(|f| format!("t0.{}::text", quote_ident(&f.column)))
        .collect();

    // The row: the subject's own, or the one row of the linked table.
    let (row_key, old): (Option<RowKey>, Vec<Option<String>>) = if plan.linked.is_none() {
        let sql = format!("SELECT {} {}", columns.join(", "), path.from_where_one());
        let row = client
            .query_opt(&sql, &[&subject_key])
            .await?
            .ok_or(RectifyError::SubjectGone)?;
        (None, (0..fields.len()).map(|i| row.get(i)).collect())
    } else {
        let [pk] = catalog_table.primary_key.as_slice() else {
            return Err(RectifyError::NoRowKey {
                table: table_name.to_string(),
            });
        };
        let pk_type = pg_type(pk)?;
        let sql = format!(
            "SELECT t0.{}::text, {} {} ORDER BY t0.{}",
            quote_ident(pk),
            columns.join(", "),
            path.from_where_one(),
            quote_ident(pk)
        );
        let rows = client.query(&sql, &[&subject_key]).await?;
        let keys: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
        let chosen = match (&plan.row, rows.len()) {
            (_, 0) => {
                return Err(RectifyError::NoRow {
                    table: table.clone(),
                })
            }
            (None, 1) => &rows[0],
            (None, _) => {
                return Err(RectifyError::SeveralRows {
                    table: table.clone(),
                    column: pk.clone(),
                    rows: keys,
                })
            }
            (Some(wanted), _) => rows
                .iter()
                .find(|r| r.get::<_, String>(0) == *wanted)
                .ok_or_else(|| RectifyError::RowNotOfSubject {
                    table: table.clone(),
                    row: wanted.chars().take(40).collect(),
                })?,
        };
        let key: String = chosen.get(0);
        if let Some(sql) = path.shared_rows(std::slice::from_ref(pk), KeyMatch::One(1)) {
            let shared: Vec<String> = client
                .query(&sql, &[&subject_key])
                .await?
                .iter()
                .map(|r| r.get(0))
                .collect();
            if shared.contains(&key) {
                return Err(RectifyError::SharedRow {
                    table: table.clone(),
                    row: key,
                });
            }
        }
        (
            Some(RowKey {
                column: pk.clone(),
                pg_type: pk_type,
                key,
            }),
            (1..=fields.len()).map(|i| chosen.get(i)).collect(),
        )
    };

    let mut changes = Vec::new();
    for (field, old) in fields.iter().zip(old) {
        let ty = pg_type(&field.column)?;
        let rules = column_rules(client, &table_name, &field.column).await?;
        let new = validate(client, field, &ty, &rules).await?;
        changes.push(FieldChange {
            field: field.field(),
            column: field.column.clone(),
            category: field.spec.category,
            pg_type: ty,
            old,
            new,
        });
    }
    if table == subject_table {
        check_iin_agrees(client, map, &path, subject_key, &changes).await?;
    }
    Ok(Prepared {
        subject_key: subject_key.to_owned(),
        subject_ref: format!("{}:{subject_key}", map.subject.table),
        table,
        table_name,
        row: row_key,
        changes,
    })
}

/// The subject's IIN, birth date and sex must agree (the IIN encodes the other two)
/// once a run changes any of them: the new values where this run sets them, the
/// stored ones elsewhere. A subject without an IIN, or a sex column this check cannot
/// read, is not checked.
async fn check_iin_agrees(
    client: &impl GenericClient,
    map: &DataMap,
    subject: &LinkPath,
    subject_key: &str,
    changes: &[FieldChange],
) -> Result<(), RectifyError> {
    let related = [Category::Iin, Category::BirthDate, Category::Sex];
    let Some(blamed) = changes
        .iter()
        .find(|c| c.changes() && related.contains(&c.category))
    else {
        return Ok(());
    };
    let spec = map.tables.get(&map.subject.table);
    let column_of = |category: Category| {
        spec.and_then(|t| {
            t.columns
                .iter()
                .find(|(_, c)| c.category == category)
                .map(|(name, _)| name.clone())
        })
    };
    let birth_column = map
        .subject
        .birth_date
        .clone()
        .or_else(|| column_of(Category::BirthDate));
    let expr = |column: &Option<String>, cast: &str| match column {
        Some(c) => format!("t0.{}::{cast}::text", quote_ident(c)),
        None => "NULL::text".to_owned(),
    };
    let sql = format!(
        "SELECT {}, {}, {} {}",
        expr(&column_of(Category::Iin), "text"),
        expr(&birth_column, "date"),
        expr(&column_of(Category::Sex), "text"),
        subject.from_where_one()
    );
    let row = client
        .query_opt(&sql, &[&subject_key])
        .await?
        .ok_or(RectifyError::SubjectGone)?;
    let value = |category: Category, stored: Option<String>| {
        changes
            .iter()
            .find(|c| c.category == category)
            .map_or(stored, |c| c.new.clone())
    };
    let Some(iin) = value(Category::Iin, row.get(0)).and_then(|t| Iin::parse(&t).ok()) else {
        return Ok(());
    };
    let facts = IinContext {
        birth_date: value(Category::BirthDate, row.get(1)),
        sex: value(Category::Sex, row.get(2)),
    };
    check_iin(&iin, &facts).map_err(|reason| RectifyError::Invalid {
        field: blamed.field.clone(),
        reason,
    })
}

/// The subject's birth date and sex, as the IIN must encode them.
#[derive(Debug, Clone, Default)]
struct IinContext {
    birth_date: Option<String>,
    sex: Option<String>,
}

/// The new value in the form it is stored, or why it cannot be.
async fn validate(
    client: &impl GenericClient,
    field: &PlannedField,
    pg_type: &str,
    rules: &ColumnRules,
) -> Result<Option<String>, RectifyError> {
    let name = field.field();
    let invalid = |reason: String| RectifyError::Invalid {
        field: name.clone(),
        reason,
    };
    let raw = field.raw.trim();
    if raw.is_empty() {
        return if rules.not_null {
            Err(RectifyError::NotNull { field: name })
        } else {
            Ok(None)
        };
    }
    plain(&name, "value", raw)?;
    let family = TypeFamily::of(pg_type);
    let mut value = match field.spec.category {
        Category::Iin => Iin::parse(raw)
            .map_err(|e| invalid(e.to_string()))?
            .to_string(),
        Category::Bin => Bin::parse(raw)
            .map_err(|e| invalid(e.to_string()))?
            .to_string(),
        Category::Phone => Phone::parse(raw)
            .map_err(|e| invalid(e.to_string()))?
            .to_string(),
        Category::Email => Email::parse(raw)
            .map_err(|e| invalid(e.to_string()))?
            .to_string(),
        _ => match family {
            TypeFamily::Date => parse_date(raw).ok_or_else(|| {
                invalid("not a date: write it as YYYY-MM-DD (2026-11-28) or DD.MM.YYYY".to_owned())
            })?,
            TypeFamily::Boolean => match raw.to_lowercase().as_str() {
                "true" | "yes" | "t" | "y" | "1" => "true".to_owned(),
                "false" | "no" | "f" | "n" | "0" => "false".to_owned(),
                _ => {
                    return Err(invalid(
                        "not a yes/no value: write true or false".to_owned(),
                    ))
                }
            },
            TypeFamily::Integer => raw
                .parse::<i64>()
                .map_err(|_| invalid(format!("not a whole number (the column is {pg_type})")))?
                .to_string(),
            TypeFamily::Numeric => {
                if !is_decimal(raw) {
                    return Err(invalid(format!(
                        "not a number (the column is {pg_type}): write digits with a dot, e.g. 250000.00"
                    )));
                }
                raw.to_owned()
            }
            _ => raw.to_owned(),
        },
    };
    if let Some(allowed) = &rules.allowed {
        match allowed.iter().find(|a| **a == value).or_else(|| {
            let folded: Vec<&String> = allowed
                .iter()
                .filter(|a| a.to_lowercase() == value.to_lowercase())
                .collect();
            (folded.len() == 1).then(|| folded[0])
        }) {
            Some(label) => value = label.clone(),
            None => {
                return Err(RectifyError::NotAllowed {
                    field: name,
                    allowed: allowed.clone(),
                })
            }
        }
    }
    // An explicit cast cuts text to a char(n)/varchar(n) and rounds a numeric(p, s)
    // without a word: refuse what would not be stored as given.
    if let Some((base, modifier)) = type_modifier(pg_type) {
        let limit = modifier.first().copied().unwrap_or(usize::MAX);
        let text_type = [
            "character",
            "character varying",
            "char",
            "varchar",
            "bpchar",
        ];
        if text_type.contains(&base.as_str()) && value.chars().count() > limit {
            return Err(invalid(format!(
                "too long for the column ({pg_type}): at most {limit} characters"
            )));
        }
        if base == "numeric" {
            let scale = modifier.get(1).copied().unwrap_or(0);
            let decimals = value.split_once('.').map_or(0, |(_, d)| d.len());
            if decimals > scale {
                return Err(invalid(format!(
                    "more than {scale} decimal place(s) for the column ({pg_type})"
                )));
            }
        }
    }
    // The database has the last word on the type (length, range, a real date), and
    // gives the form it stores, so an unchanged value compares equal.
    let sql = format!("SELECT $1::text::{pg_type}::text");
    match client.query_one(&sql, &[&value]).await {
        Ok(row) => Ok(row.get(0)),
        Err(error) => Err(invalid(type_refusal(&error, pg_type))),
    }
}

/// `123`, `-4.50`: digits, an optional sign and one optional dot between digits.
fn is_decimal(text: &str) -> bool {
    let unsigned = text.strip_prefix('-').unwrap_or(text);
    let digits = |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
    match unsigned.split_once('.') {
        Some((whole, fraction)) => digits(whole) && digits(fraction),
        None => digits(unsigned),
    }
}

/// `character varying(40)` -> ("character varying", [40]); `numeric(12,2)` ->
/// ("numeric", [12, 2]); None without a modifier.
fn type_modifier(pg_type: &str) -> Option<(String, Vec<usize>)> {
    let (base, rest) = pg_type.split_once('(')?;
    let inner = rest.strip_suffix(')')?;
    let numbers = inner
        .split(',')
        .map(|n| n.trim().parse::<usize>().ok())
        .collect::<Option<Vec<_>>>()?;
    Some((base.trim().to_ascii_lowercase(), numbers))
}

/// Why the server refused a value, without the server's message (which quotes it).
fn type_refusal(error: &tokio_postgres::Error, pg_type: &str) -> String {
    match error.code().map(|c| c.code()) {
        Some("22001") => format!("too long for the column ({pg_type})"),
        Some("22003") => format!("out of range for the column ({pg_type})"),
        Some("22007") | Some("22008") => "not a real date or time".to_owned(),
        Some("22P02") | Some("22P05") => format!("not a valid {pg_type}"),
        Some(code) => format!("the column ({pg_type}) does not take it (SQLSTATE {code})"),
        None => format!("the column ({pg_type}) does not take it"),
    }
}

/// `YYYY-MM-DD` or `DD.MM.YYYY`, as ISO.
fn parse_date(text: &str) -> Option<String> {
    chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .or_else(|_| chrono::NaiveDate::parse_from_str(text, "%d.%m.%Y"))
        .ok()
        .map(|d| d.format("%Y-%m-%d").to_string())
}

/// A new IIN must encode the subject's stored birth date and sex.
fn check_iin(iin: &Iin, context: &IinContext) -> Result<(), String> {
    if let Some(stored) = context.birth_date.as_deref().and_then(parse_date) {
        if iin.birth_date().format("%Y-%m-%d").to_string() != stored {
            return Err("the IIN's first six digits (the birth date) and the subject's birth date do not agree; check both against the identity document".to_owned());
        }
    }
    if let Some(stored) = context.sex.as_deref() {
        let stored = stored.trim().chars().next().map(|c| c.to_ascii_uppercase());
        let code = match stored {
            Some('M') | Some('F') => stored,
            // A sex column this check cannot read (a boolean, a code list): skip.
            _ => None,
        };
        if code.is_some() && code != Some(iin.sex().code()) {
            return Err("the IIN's 7th digit (century and sex) and the subject's sex do not agree; check both against the identity document".to_owned());
        }
    }
    Ok(())
}

/// A value as shown in reports and logs: enough to recognise, not to recover.
pub fn masked(category: Category, value: Option<&str>) -> String {
    let Some(value) = value else {
        return "(empty)".to_owned();
    };
    let identity = match category {
        Category::Iin => Iin::parse(value).ok().map(Identity::Iin),
        Category::Bin => Bin::parse(value).ok().map(Identity::Bin),
        Category::Phone => Phone::parse(value).ok().map(Identity::Phone),
        Category::Email => Email::parse(value).ok().map(Identity::Email),
        _ => None,
    };
    if let Some(identity) = identity {
        return identity.masked();
    }
    let mut chars = value.chars();
    match (chars.next(), chars.next()) {
        (Some(first), Some(_)) if first.is_alphabetic() => format!("{first}***"),
        _ => "***".to_owned(),
    }
}

/// A rectification to apply.
pub struct RectifyRequest<'a> {
    pub ticket: String,
    /// The document proving the correct value (a passport scan reference, ...).
    pub evidence: Option<String>,
    pub operator: String,
    pub dry_run: bool,
    pub key: &'a AuditKey,
}

/// One field of the report, masked.
#[derive(Debug, Clone, Serialize)]
pub struct FieldReport {
    pub field: String,
    pub before: String,
    pub after: String,
    /// `changed` (`would change` on a dry run) or `unchanged`.
    pub outcome: String,
}

/// What a rectification did (or, for a dry run, would do).
#[derive(Debug, Clone, Serialize)]
pub struct RectifyReport {
    pub dry_run: bool,
    pub subject: String,
    /// `table:key` of the row changed.
    pub row: String,
    pub ticket: String,
    pub evidence: Option<String>,
    pub fields: Vec<FieldReport>,
    /// Identities changed that now also name other subjects (look-ups by them ask
    /// to pick one).
    pub shared_identities: Vec<String>,
    pub audit_seq: Option<i64>,
}

/// The report of a prepared change, before it is applied.
pub fn report_of(prepared: &Prepared, request: &RectifyRequest<'_>) -> RectifyReport {
    RectifyReport {
        dry_run: request.dry_run,
        subject: prepared.subject_ref.clone(),
        row: prepared.row_ref(),
        ticket: request.ticket.clone(),
        evidence: request.evidence.clone(),
        fields: prepared
            .changes
            .iter()
            .map(|c| FieldReport {
                field: c.field.clone(),
                before: masked(c.category, c.old.as_deref()),
                after: masked(c.category, c.new.as_deref()),
                outcome: match (c.changes(), request.dry_run) {
                    (false, _) => "unchanged",
                    (true, true) => "would change",
                    (true, false) => "changed",
                }
                .to_owned(),
            })
            .collect(),
        shared_identities: Vec::new(),
        audit_seq: None,
    }
}

/// Apply a prepared rectification in one change transaction: lock the subject,
/// check the row still holds what was shown, update the changed fields, check a
/// changed identity still finds the subject, append the audit row.
pub async fn apply(
    client: &mut Client,
    map: &DataMap,
    catalog: &Catalog,
    prepared: &Prepared,
    request: &RectifyRequest<'_>,
) -> Result<RectifyReport, RectifyError> {
    let mut report = report_of(prepared, request);
    let changed: Vec<&FieldChange> = prepared.changes.iter().filter(|c| c.changes()).collect();
    if changed.is_empty() {
        return Ok(report);
    }
    let subject_path =
        LinkPath::compile(map, catalog, &map.subject.table).map_err(RectifyError::Map)?;
    let path = LinkPath::compile(map, catalog, &prepared.table).map_err(RectifyError::Map)?;
    let change = change::begin(client, &Limits::default(), request.dry_run).await?;
    let present = change
        .lock_subjects(&subject_path, std::slice::from_ref(&prepared.subject_key))
        .await?;
    if !present.contains(&prepared.subject_key) {
        return Err(RectifyError::SubjectGone);
    }
    let tx = change.tx();

    // The row, locked, must still hold what the operator was shown.
    let columns: Vec<String> = prepared
        .changes
        .iter()
        .map(|c| format!("t0.{}::text", quote_ident(&c.column)))
        .collect();
    let (condition, row_param) = match &prepared.row {
        Some(row) => (
            format!(
                "{} AND t0.{} = $2::text::{}",
                path.rows_of("t0", KeyMatch::One(1)),
                quote_ident(&row.column),
                row.pg_type
            ),
            Some(row.key.clone()),
        ),
        None => (path.rows_of("t0", KeyMatch::One(1)), None),
    };
    let select = format!(
        "SELECT {} FROM {} t0 WHERE {condition} FOR UPDATE",
        columns.join(", "),
        prepared.table_name.quoted()
    );
    let current = match &row_param {
        Some(row) => tx.query_opt(&select, &[&prepared.subject_key, row]).await?,
        None => tx.query_opt(&select, &[&prepared.subject_key]).await?,
    }
    .ok_or(RectifyError::SubjectGone)?;
    let still: Vec<Option<String>> = (0..prepared.changes.len())
        .map(|i| current.get(i))
        .collect();
    let shown: Vec<Option<String>> = prepared.changes.iter().map(|c| c.old.clone()).collect();
    if still != shown {
        return Err(RectifyError::Change(ChangeError::Conflict));
    }

    // One UPDATE of the changed fields; values bound, cast to each column's type.
    let mut params: Vec<Option<String>> = vec![Some(prepared.subject_key.clone())];
    let mut sets = Vec::new();
    let where_row = match &prepared.row {
        Some(row) => {
            params.push(Some(row.key.clone()));
            format!(
                " AND t0.{} = $2::text::{}",
                quote_ident(&row.column),
                row.pg_type
            )
        }
        None => String::new(),
    };
    for c in &changed {
        params.push(c.new.clone());
        sets.push(format!(
            "{} = ${}::text::{}",
            quote_ident(&c.column),
            params.len(),
            c.pg_type
        ));
    }
    let update = format!(
        "UPDATE {} AS t0 SET {} WHERE {}{where_row}",
        prepared.table_name.quoted(),
        sets.join(", "),
        path.rows_of("t0", KeyMatch::One(1)),
    );
    let refs: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = params
        .iter()
        .map(|p| p as &(dyn tokio_postgres::types::ToSql + Sync))
        .collect();
    if let Err(error) = tx.execute(&update, &refs).await {
        return Err(update_refusal(error, &changed));
    }

    // An identity changed must still find the subject, by the new value.
    for c in &changed {
        let Some(identity) = identity_of(map, &prepared.table, c) else {
            continue;
        };
        let resolved = resolve::resolve_all(tx, map, catalog, std::slice::from_ref(&identity))
            .await
            .map_err(RectifyError::Resolve)?;
        let keys = resolved.keys.first().cloned().unwrap_or_default();
        if !keys.contains(&prepared.subject_key) {
            return Err(RectifyError::NotFindable {
                field: c.field.clone(),
                kind: identity.kind(),
                searched: resolved.searched_for(&identity),
            });
        }
        if keys.len() > 1 {
            report.shared_identities.push(format!(
                "{} also identifies {}",
                c.field,
                keys.iter()
                    .filter(|k| **k != prepared.subject_key)
                    .map(|k| format!("id:{k}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
    }

    let hashes: BTreeMap<String, serde_json::Value> = changed
        .iter()
        .map(|c| {
            let hash = |v: &Option<String>| match v {
                Some(v) => serde_json::Value::String(request.key.hash(&c.field, v)),
                None => serde_json::Value::Null,
            };
            (
                c.field.clone(),
                serde_json::json!({ "old": hash(&c.old), "new": hash(&c.new) }),
            )
        })
        .collect();
    let entry = AuditEntry {
        action: "rectify".to_owned(),
        ticket: Some(request.ticket.clone()),
        subject_ref: Some(prepared.subject_ref.clone()),
        counts: BTreeMap::from([(prepared.table_name.to_string(), 1)]),
        fields: changed.iter().map(|c| c.field.clone()).collect(),
        detail: serde_json::json!({
            "row": prepared.row_ref(),
            "evidence": request.evidence,
            "hash": "hmac-sha256(key, field || 0x00 || value); null: the field was empty",
            "key_fingerprint": request.key.fingerprint(),
            "values": hashes,
            "map_digest": map.digest(),
        }),
    };
    report.audit_seq = Some(change.commit(&request.operator, &entry).await?.seq);
    Ok(report)
}

/// The identity a changed field is, when the data map lists its column as one.
fn identity_of(map: &DataMap, table: &str, change: &FieldChange) -> Option<Identity> {
    let spec = map.subject.identities.iter().find(|i| {
        i.table.as_deref().unwrap_or(&map.subject.table) == table && i.column == change.column
    })?;
    let value = change.new.as_deref()?;
    match spec.kind {
        IdentityKind::Iin => Iin::parse(value).ok().map(Identity::Iin),
        IdentityKind::Bin => Bin::parse(value).ok().map(Identity::Bin),
        IdentityKind::Phone => Phone::parse(value).ok().map(Identity::Phone),
        IdentityKind::Email => Email::parse(value).ok().map(Identity::Email),
    }
}

/// An UPDATE the database refused, told by SQLSTATE (its message may quote values).
fn update_refusal(error: tokio_postgres::Error, changed: &[&FieldChange]) -> RectifyError {
    let db = error.as_db_error();
    let constraint = db.and_then(|d| d.constraint()).unwrap_or("?").to_owned();
    let column = db.and_then(|d| d.column());
    let field = changed
        .iter()
        .find(|c| Some(c.column.as_str()) == column)
        .or_else(|| {
            // A constraint is usually named after its column (`borrowers_iin_key`).
            changed.iter().find(|c| constraint.contains(&c.column))
        })
        .map(|c| c.field.clone())
        .unwrap_or_else(|| {
            changed
                .iter()
                .map(|c| c.field.clone())
                .collect::<Vec<_>>()
                .join(", ")
        });
    match error.code().map(|c| c.code()) {
        Some("23505") => RectifyError::Duplicated { field, constraint },
        Some("23514") => RectifyError::Rejected {
            field,
            reason: format!("it breaks the check constraint {constraint}"),
        },
        Some("23502") => RectifyError::NotNull { field },
        Some("23503") => RectifyError::Rejected {
            field,
            reason: format!("it points at no row (foreign key {constraint})"),
        },
        _ => RectifyError::Change(ChangeError::from(error)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_constraints_listing_values_are_read() {
        assert_eq!(
            listed_values(
                "CHECK ((marital_status = ANY (ARRAY['single'::text, 'married'::text])))"
            ),
            Some(vec!["single".to_owned(), "married".to_owned()])
        );
        assert_eq!(
            listed_values("CHECK ((sex = ANY (ARRAY['M'::bpchar, 'F'::bpchar])))"),
            Some(vec!["M".to_owned(), "F".to_owned()])
        );
        assert_eq!(
            listed_values("CHECK ((kind = ANY (ARRAY['it''s'::text])))"),
            Some(vec!["it's".to_owned()])
        );
        assert_eq!(listed_values("CHECK ((dependants >= 0))"), None);
        assert_eq!(
            listed_values("CHECK (((a = ANY (ARRAY['x'::text])) OR (b IS NULL)))"),
            None
        );
    }

    #[test]
    fn keyed_hashes_depend_on_key_field_and_value() {
        let key =
            AuditKey::new(b"7e2cecd1fe5ef82b54c5778985c61f3abff495c5b7d10692cac6be412c00173c\n")
                .unwrap();
        let other = AuditKey::new(b"0qkzqhylepscmERSz4sddGrgpa+LiLDuAownkVBwmiA=").unwrap();
        let h = key.hash("borrowers.phone", "+77011234567");
        assert_eq!(h.len(), 64);
        assert_eq!(h, key.hash("borrowers.phone", "+77011234567"));
        assert_ne!(h, key.hash("borrowers.email", "+77011234567"));
        assert_ne!(h, other.hash("borrowers.phone", "+77011234567"));
        assert!(AuditKey::new(b"short\n").is_err());
        // Issue 23, defect 2: long but guessable keys are refused like masking keys.
        for weak in [
            &[b'k'; 40][..],
            &[b' '; 40][..],
            b"test-audit-key-0123456789abcdef0123456789",
        ] {
            let message = AuditKey::new(weak).err().expect("a weak key is refused");
            assert!(message.contains("openssl rand"), "{message}");
        }
        assert_eq!(key.fingerprint().len(), 16);
    }

    #[test]
    fn masking_shows_no_value() {
        assert_eq!(
            masked(Category::Phone, Some("+77011234567")),
            "+7701*****67"
        );
        assert_eq!(masked(Category::Name, Some("Айгерим")), "А***");
        assert_eq!(masked(Category::Address, Some("12")), "***");
        assert_eq!(masked(Category::Name, None), "(empty)");
    }

    #[test]
    fn decimals_are_told_apart() {
        for good in ["0", "250000.00", "-4.5"] {
            assert!(is_decimal(good), "{good}");
        }
        for bad in ["", "-", "--5", "1.", ".5", "1.2.3", "1e5", "12,5"] {
            assert!(!is_decimal(bad), "{bad}");
        }
    }

    #[test]
    fn type_modifiers_are_read() {
        assert_eq!(
            type_modifier("character(12)"),
            Some(("character".to_owned(), vec![12]))
        );
        assert_eq!(
            type_modifier("numeric(12,2)"),
            Some(("numeric".to_owned(), vec![12, 2]))
        );
        assert_eq!(type_modifier("text"), None);
    }

    #[test]
    fn dates_are_read_in_two_spellings() {
        assert_eq!(parse_date("2026-11-28").as_deref(), Some("2026-11-28"));
        assert_eq!(parse_date("28.11.2026").as_deref(), Some("2026-11-28"));
        assert_eq!(parse_date("2026-02-30"), None);
    }
}
