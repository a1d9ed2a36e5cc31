//! `map init`: a first draft of a data map, read off the catalogue and a small sample
//! of each table's rows.
//!
//! - Scope: every table of every non-system schema (or of the schemas named), except
//!   tables that belong to an extension. Tables outside the draft's default schema
//!   are named `schema.table`.
//! - Subject table: one whose name reads as a data subject (client, customer,
//!   borrower, user, person, `klient`, `zaemshik`, `paydalanushy`, ...), the most
//!   referenced of them; failing that, the most referenced table holding identifying
//!   columns that is not a lookup (address, city, store...). The draft's header says
//!   it is a guess and why.
//! - Links, breadth-first over foreign keys: tables referencing the subject link to
//!   it, tables referencing those link `via` them (composite keys as arrays). Then one
//!   reverse step: a table with personal columns that the subject points at (or that
//!   only the subject's own rows point at) links back through the pointing column
//!   (`via_column`). Nothing is followed out of a reverse-linked table: its rows may
//!   be shared by other subjects.
//! - Columns: categories from names (English, Russian, Kazakh; [`hints`]) and from
//!   sampled values ([`sample`]: valid IINs and BINs, phones, emails); an IIN, BIN,
//!   phone or email column of the subject table becomes an identity.
//! - Tables left out are listed at the end as comments saying why.

pub mod hints;
pub mod sample;

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt::Write;

use tokio_postgres::Client;

use crate::map::schema::{Catalog, CatalogTable, ForeignKey};
use crate::map::{Category, TableName, TypeFamily};
use hints::{guess_category, looks_personal, reads_as_created, reads_as_lookup, subject_word};
use sample::{Samples, TableFacts};

/// What `map init` was asked for.
#[derive(Debug, Clone, Default)]
pub struct DraftOptions {
    /// Schemas to read; empty: every non-system schema.
    pub schemas: Vec<String>,
    /// The subject table (`table` or `schema.table`); guessed when None.
    pub subject_table: Option<String>,
    /// Sample rows to recognise values (IINs, phones, emails); names only when false.
    pub sample: bool,
    /// `statement_timeout` of each sample query, in milliseconds.
    pub sample_timeout_ms: u32,
}

/// Why no draft could be made.
#[derive(Debug, thiserror::Error)]
pub enum DraftError {
    /// The options do not fit the database (no such schema or table, no key).
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Db(#[from] tokio_postgres::Error),
}

/// A draft data map and what it was made from.
#[derive(Debug, Clone)]
pub struct Draft {
    pub text: String,
    pub subject: TableName,
    /// The subject table was guessed, not named with `--subject-table`.
    pub guessed: bool,
    /// Tables with a `[tables.*]` section, the subject first.
    pub mapped: Vec<TableName>,
    /// Tables left out, each with the reason.
    pub left_out: Vec<(TableName, String)>,
    /// Tables whose rows could not be sampled, with the reason.
    pub not_sampled: Vec<(TableName, String)>,
}

/// Read the scope's table facts, sample it (unless told not to) and draft.
pub async fn init(
    client: &Client,
    catalog: &Catalog,
    options: &DraftOptions,
) -> Result<Draft, DraftError> {
    let facts = sample::table_facts(client).await?;
    let scope = scope(catalog, &facts, &options.schemas).map_err(DraftError::Usage)?;
    if let Some(named) = &options.subject_table {
        // A wrong name fails before any row is read.
        named_table(&scope, named).map_err(DraftError::Usage)?;
    }
    let samples = if options.sample {
        sample::sample(client, catalog, &scope, &facts, options.sample_timeout_ms).await?
    } else {
        Samples::default()
    };
    draft_map(
        catalog,
        &scope,
        options.subject_table.as_deref(),
        &samples,
        options.sample,
    )
    .map_err(DraftError::Usage)
}

/// The tables a draft covers: those of `schemas` (every schema when empty), without
/// extension-owned tables.
pub fn scope(
    catalog: &Catalog,
    facts: &BTreeMap<TableName, TableFacts>,
    schemas: &[String],
) -> Result<BTreeSet<TableName>, String> {
    let owned = |t: &TableName| !facts.get(t).is_some_and(|f| f.extension);
    let all: BTreeSet<TableName> = catalog
        .tables
        .keys()
        .filter(|t| owned(t))
        .cloned()
        .collect();
    let present: BTreeSet<&str> = all.iter().map(|t| t.schema.as_str()).collect();
    let missing: Vec<&String> = schemas
        .iter()
        .filter(|s| !present.contains(s.as_str()))
        .collect();
    if !missing.is_empty() {
        let names = |v: Vec<&str>| {
            v.iter()
                .map(|s| format!("\"{s}\""))
                .collect::<Vec<_>>()
                .join(", ")
        };
        return Err(format!(
            "schema {} has no tables; schemas with tables: {}",
            names(missing.iter().map(|s| s.as_str()).collect()),
            if present.is_empty() {
                "none".to_owned()
            } else {
                names(present.into_iter().collect())
            }
        ));
    }
    let scope: BTreeSet<TableName> = all
        .into_iter()
        .filter(|t| schemas.is_empty() || schemas.contains(&t.schema))
        .collect();
    if scope.is_empty() {
        return Err(
            "the database has no tables outside the system schemas: point --db at the application's database"
                .to_owned(),
        );
    }
    Ok(scope)
}

/// The table `--subject-table` names (`table` or `schema.table`) in the scope.
pub fn named_table(scope: &BTreeSet<TableName>, named: &str) -> Result<TableName, String> {
    let found: Vec<&TableName> = scope
        .iter()
        .filter(|t| match named.split_once('.') {
            Some((s, n)) => t.schema == s && t.table == n,
            None => t.table == named,
        })
        .collect();
    match found.as_slice() {
        [one] => Ok((*one).clone()),
        [] => Err(format!(
            "table \"{named}\" does not exist in the schemas read: check --subject-table (and --schema)"
        )),
        many => Err(format!(
            "\"{named}\" exists in several schemas ({}): pass --subject-table SCHEMA.TABLE",
            many.iter()
                .map(|t| t.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

/// Categories that identify a person, for telling the subject table from others.
const IDENTIFYING: [Category; 6] = [
    Category::Name,
    Category::Iin,
    Category::Bin,
    Category::Email,
    Category::Phone,
    Category::BirthDate,
];

/// One column of a drafted table with its guessed category.
#[derive(Debug, Clone)]
struct ColumnGuess {
    column: String,
    category: Category,
    /// How sampling backed the guess, when it did.
    evidence: Option<String>,
}

/// How a drafted table reaches the subject.
#[derive(Debug, Clone)]
enum Reach {
    Subject,
    /// This table's `column` references `via`'s `via_column`.
    Forward {
        column: Vec<String>,
        via: TableName,
        via_column: Vec<String>,
        /// The foreign key is declared on the partitions of this (partitioned) table.
        on_partitions: bool,
    },
    /// `via`'s `via_column` references this table's `column`; other tables pointing
    /// at it are in `shared_with`.
    Reverse {
        column: Vec<String>,
        via: TableName,
        via_column: Vec<String>,
        shared_with: Vec<TableName>,
    },
}

struct Drafter<'a> {
    catalog: &'a Catalog,
    scope: &'a BTreeSet<TableName>,
    samples: &'a Samples,
    /// Foreign keys between tables of the scope, self-references left out, in a
    /// stable order.
    fks: Vec<&'a ForeignKey>,
}

impl<'a> Drafter<'a> {
    fn table(&self, name: &TableName) -> &'a CatalogTable {
        &self.catalog.tables[name]
    }

    /// Columns of `name` that are (part of) a foreign key of it.
    fn fk_columns(&self, name: &TableName) -> BTreeSet<&'a str> {
        self.fks
            .iter()
            .filter(|fk| &fk.child == name)
            .flat_map(|fk| fk.columns.iter().map(String::as_str))
            .collect()
    }

    /// Tables whose foreign keys point at `name`.
    fn referrers(&self, name: &TableName) -> BTreeSet<&'a TableName> {
        self.fks
            .iter()
            .filter(|fk| &fk.parent == name)
            .map(|fk| &fk.child)
            .collect()
    }

    /// The personal columns of a table: categories from sampled values first, then
    /// from names and types. Key and foreign-key columns count only when their
    /// values were recognised.
    fn columns(&self, name: &TableName, skip: &[String]) -> Vec<ColumnGuess> {
        let table = self.table(name);
        let keys = self.fk_columns(name);
        let mut guesses = Vec::new();
        for (column, ty) in &table.columns {
            if skip.contains(column) {
                continue;
            }
            let sampled = self.samples.category(name, column);
            let is_key = keys.contains(column.as_str()) || table.primary_key.contains(column);
            let guess = match sampled {
                Some((category, evidence)) if category.accepts(TypeFamily::of(ty)) => {
                    Some((category, Some(evidence)))
                }
                _ if is_key => None,
                _ => guess_category(column, ty).map(|c| (c, None)),
            };
            if let Some((category, evidence)) = guess {
                guesses.push(ColumnGuess {
                    column: column.clone(),
                    category,
                    evidence,
                });
            }
        }
        guesses
    }

    /// Columns whose names look personal but that got no category.
    fn unplaced(
        &self,
        name: &TableName,
        placed: &[ColumnGuess],
        skip: &[String],
    ) -> Vec<&'a (String, String)> {
        let table = self.table(name);
        let keys = self.fk_columns(name);
        table
            .columns
            .iter()
            .filter(|(c, _)| {
                !skip.contains(c)
                    && !keys.contains(c.as_str())
                    && !table.primary_key.contains(c)
                    && !placed.iter().any(|g| &g.column == c)
                    && looks_personal(c)
            })
            .collect()
    }

    fn identifying(&self, name: &TableName) -> Vec<String> {
        self.columns(name, &[])
            .into_iter()
            .filter(|g| IDENTIFYING.contains(&g.category))
            .map(|g| g.column)
            .collect()
    }

    /// The subject table and why it was chosen.
    fn subject(&self, named: Option<&str>) -> Result<(TableName, String), String> {
        if let Some(named) = named {
            return named_table(self.scope, named)
                .map(|t| (t, "named with --subject-table".to_owned()));
        }
        let inbound = |t: &TableName| self.referrers(t).len();
        let candidates: Vec<&TableName> = self
            .scope
            .iter()
            .filter(|t| self.table(t).primary_key.len() == 1)
            .collect();
        let by_name: Vec<&TableName> = candidates
            .iter()
            .copied()
            .filter(|t| subject_word(&t.table).is_some())
            .collect();
        let refs = |n: usize| match n {
            0 => "no table references it".to_owned(),
            1 => "1 table references it".to_owned(),
            n => format!("{n} tables reference it"),
        };
        if let Some(best) = by_name.iter().copied().max_by_key(|t| {
            (
                inbound(t),
                self.identifying(t).len(),
                std::cmp::Reverse((*t).clone()),
            )
        }) {
            let word = subject_word(&best.table).unwrap_or_default();
            let mut reason = format!(
                "its name reads as a data subject (\"{word}\") and {}",
                refs(inbound(best))
            );
            let others: Vec<String> = by_name
                .iter()
                .filter(|t| *t != &best)
                .map(|t| format!("\"{}\"", t.table))
                .collect();
            if !others.is_empty() {
                let _ = write!(reason, "; also named like a subject: {}", others.join(", "));
            }
            return Ok((best.clone(), reason));
        }
        let best = candidates
            .iter()
            .copied()
            .filter(|t| !reads_as_lookup(&t.table) && !self.identifying(t).is_empty())
            .max_by_key(|t| {
                (
                    inbound(t),
                    self.identifying(t).len(),
                    std::cmp::Reverse((*t).clone()),
                )
            });
        if let Some(best) = best {
            return Ok((
                best.clone(),
                format!(
                    "no table is named like a data subject; it holds identifying columns ({}) and {}",
                    self.identifying(best).join(", "),
                    refs(inbound(best))
                ),
            ));
        }
        candidates
            .iter()
            .copied()
            .filter(|t| inbound(t) > 0)
            .max_by_key(|t| (inbound(t), std::cmp::Reverse((*t).clone())))
            .map(|t| {
                (
                    t.clone(),
                    format!(
                        "no table is named like a data subject or holds identifying columns; it is the most referenced ({})",
                        refs(inbound(t))
                    ),
                )
            })
            .ok_or_else(|| {
                "no table to guess the subject table from (no subject-like name, no foreign keys): pass --subject-table"
                    .to_owned()
            })
    }

    /// Breadth-first over foreign keys from the subject, then one reverse step.
    fn reach(&self, subject: &TableName) -> Vec<(TableName, Reach)> {
        let mut reached: Vec<(TableName, Reach)> = vec![(subject.clone(), Reach::Subject)];
        let mut seen: BTreeSet<TableName> = [subject.clone()].into();
        let mut queue = VecDeque::from([subject.clone()]);
        while let Some(parent) = queue.pop_front() {
            for fk in self.fks.iter().filter(|fk| fk.parent == parent) {
                if seen.insert(fk.child.clone()) {
                    reached.push((
                        fk.child.clone(),
                        Reach::Forward {
                            column: fk.columns.clone(),
                            via: parent.clone(),
                            via_column: fk.ref_columns.clone(),
                            on_partitions: fk.on_partitions,
                        },
                    ));
                    queue.push_back(fk.child.clone());
                }
            }
        }
        let owned = seen.clone();
        let owned_order: Vec<TableName> = reached.iter().map(|(t, _)| t.clone()).collect();
        for from in &owned_order {
            for fk in self.fks.iter().filter(|fk| &fk.child == from) {
                let target = &fk.parent;
                if seen.contains(target) {
                    continue;
                }
                let referrers = self.referrers(target);
                let only_owned = referrers.iter().all(|r| owned.contains(*r));
                let personal = !self.columns(target, &[]).is_empty();
                if personal && (from == subject || only_owned) {
                    seen.insert(target.clone());
                    reached.push((
                        target.clone(),
                        Reach::Reverse {
                            column: fk.ref_columns.clone(),
                            via: from.clone(),
                            via_column: fk.columns.clone(),
                            shared_with: referrers
                                .into_iter()
                                .filter(|r| *r != from)
                                .cloned()
                                .collect(),
                        },
                    ));
                }
            }
        }
        reached
    }

    /// Why a table was left out of the draft.
    fn why_left_out(
        &self,
        name: &TableName,
        subject: &TableName,
        reached: &BTreeMap<&TableName, &Reach>,
    ) -> String {
        let owned = |t: &TableName| {
            matches!(
                reached.get(t),
                Some(Reach::Subject) | Some(Reach::Forward { .. })
            )
        };
        // Pointed at by the subject's own rows?
        if let Some(fk) = self
            .fks
            .iter()
            .find(|fk| &fk.parent == name && owned(&fk.child))
        {
            let pointer = format!("{}.{}", fk.child.table, fk.columns.join(", "));
            if self.columns(name, &[]).is_empty() {
                return format!("{pointer} points at it, but it has no personal-looking columns");
            }
            let others: Vec<String> = self
                .referrers(name)
                .into_iter()
                .filter(|r| !owned(r))
                .map(|r| r.table.clone())
                .collect();
            return format!(
                "{pointer} points at it, but so {} {} (not linked to {}): its rows are not the subject's alone; map it by hand if they are",
                if others.len() == 1 { "does" } else { "do" },
                others.join(", "),
                subject.table
            );
        }
        if let Some(fk) = self
            .fks
            .iter()
            .find(|fk| &fk.child == name && reached.contains_key(&fk.parent))
        {
            return format!(
                "it references {}, which is linked to {} only by a reverse link (its rows may be shared): following it could hand one subject another's rows",
                fk.parent.table, subject.table
            );
        }
        if let Some(fk) = self
            .fks
            .iter()
            .find(|fk| &fk.parent == name && reached.contains_key(&fk.child))
        {
            return format!(
                "{} points at it, and {} is itself reached by a reverse link: its rows are shared, not the subject's",
                fk.child.table, fk.child.table
            );
        }
        format!(
            "no foreign key connects it to {} or to a table linked to it",
            subject.table
        )
    }
}

/// TOML string.
fn q(s: &str) -> String {
    toml::Value::String(s.to_owned()).to_string()
}

/// A TOML key: bare when it can be, else quoted.
fn k(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        s.to_owned()
    } else {
        q(s)
    }
}

/// One column as a TOML string, several as an array of strings.
fn columns_value(columns: &[String]) -> String {
    match columns {
        [one] => q(one),
        many => format!(
            "[{}]",
            many.iter().map(|c| q(c)).collect::<Vec<_>>().join(", ")
        ),
    }
}

/// The column that dates a table's rows: a creation time, else an `_at`, date or
/// time column, else the last update.
fn time_column(table: &CatalogTable) -> Option<&str> {
    let dated: Vec<&str> = table
        .columns
        .iter()
        .filter(|(_, ty)| matches!(TypeFamily::of(ty), TypeFamily::Timestamp | TypeFamily::Date))
        .map(|(c, _)| c.as_str())
        .filter(|c| guess_category(c, "date") != Some(Category::BirthDate))
        .collect();
    let lower = |c: &str| c.to_lowercase();
    dated
        .iter()
        .find(|c| reads_as_created(c))
        .or_else(|| {
            dated.iter().find(|c| {
                let c = lower(c);
                c.ends_with("_at") || c.contains("date") || c.contains("time") || c.contains("data")
            })
        })
        .or_else(|| dated.first())
        .copied()
}

/// Draft map text for the tables of `scope`.
pub fn draft_map(
    catalog: &Catalog,
    scope: &BTreeSet<TableName>,
    subject_table: Option<&str>,
    samples: &Samples,
    sampled: bool,
) -> Result<Draft, String> {
    let mut fks: Vec<&ForeignKey> = catalog
        .foreign_keys
        .iter()
        .filter(|fk| {
            fk.child != fk.parent && scope.contains(&fk.child) && scope.contains(&fk.parent)
        })
        .collect();
    fks.sort_by(|a, b| (&a.child, &a.columns, &a.parent).cmp(&(&b.child, &b.columns, &b.parent)));
    let drafter = Drafter {
        catalog,
        scope,
        samples,
        fks,
    };
    let (subject, reason) = drafter.subject(subject_table)?;
    let subject_info = drafter.table(&subject);
    let key = match subject_info.primary_key.as_slice() {
        [key] => key.clone(),
        _ => {
            return Err(format!(
                "{subject} needs a single-column primary key to be the subject table: pass --subject-table with another table"
            ))
        }
    };
    let default_schema = subject.schema.clone();
    let map_name = |t: &TableName| {
        if t.schema == default_schema && !t.table.contains('.') {
            t.table.clone()
        } else {
            format!("{}.{}", t.schema, t.table)
        }
    };

    let reached = drafter.reach(&subject);
    let by_table: BTreeMap<&TableName, &Reach> = reached.iter().map(|(t, r)| (t, r)).collect();
    let left_out: Vec<(TableName, String)> = scope
        .iter()
        .filter(|t| !by_table.contains_key(t))
        .map(|t| (t.clone(), drafter.why_left_out(t, &subject, &by_table)))
        .collect();
    let not_sampled: Vec<(TableName, String)> = samples
        .tables
        .iter()
        .filter_map(|(t, s)| s.skipped.clone().map(|why| (t.clone(), why)))
        .collect();

    let schemas: BTreeSet<&str> = scope.iter().map(|t| t.schema.as_str()).collect();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# Draft data map read off the catalogue by `derbes map init` (schemas: {}).",
        schemas.into_iter().collect::<Vec<_>>().join(", ")
    );
    let _ = writeln!(
        out,
        "# Review every line: the subject table, links and categories are guesses, purposes\n\
         # are placeholders (\"review\"). Then run `derbes --map FILE map check`.\n#"
    );
    if subject_table.is_some() {
        let _ = writeln!(out, "# Subject table: {} ({reason}).", map_name(&subject));
    } else {
        let _ = writeln!(
            out,
            "# Subject table (a guess): {}: {reason}.\n\
             #   If that is wrong, run `derbes map init --subject-table TABLE`.",
            map_name(&subject)
        );
    }
    let _ = writeln!(
        out,
        "# Personal columns: found by name (English, Russian, Kazakh){}.",
        if sampled {
            format!(
                " and by sampling at most {} rows per table (TABLESAMPLE); no sampled value is written here",
                sample::ROWS_PER_TABLE
            )
        } else {
            "; no rows were sampled (--no-sample)".to_owned()
        }
    );
    for (table, why) in &not_sampled {
        let _ = writeln!(out, "#   {} was not sampled: {why}.", map_name(table));
    }
    let _ = writeln!(
        out,
        "# Links follow foreign keys; a reverse link (`via_column`) reaches a row the subject's\n\
         # rows point at, which other subjects may share. {} table(s) mapped, {} left out (listed at the end).\n",
        reached.len(),
        left_out.len()
    );

    let _ = writeln!(out, "version = 1\nschema = {}\n", q(&default_schema));
    let _ = writeln!(
        out,
        "[subject]\ntable = {}\nkey = {}",
        q(&map_name(&subject)),
        q(&key)
    );
    let subject_columns = drafter.columns(&subject, &[]);
    if let Some(g) = subject_columns
        .iter()
        .find(|g| g.category == Category::BirthDate)
    {
        let _ = writeln!(out, "birth_date = {}", q(&g.column));
    }
    if let Some((c, _)) = subject_info.columns.iter().find(|(c, ty)| {
        reads_as_created(c)
            && matches!(TypeFamily::of(ty), TypeFamily::Timestamp | TypeFamily::Date)
    }) {
        let _ = writeln!(out, "created_at = {}", q(c));
    }
    for g in &subject_columns {
        let kind = match g.category {
            Category::Iin => "iin",
            Category::Bin => "bin",
            Category::Phone => "phone",
            Category::Email => "email",
            _ => continue,
        };
        let _ = writeln!(out);
        if let Some(evidence) = &g.evidence {
            let _ = writeln!(out, "# found by sampling: {evidence}");
        }
        let normalise = kind == "phone" && samples.phones_need_normalising(&subject, &g.column);
        if normalise {
            let _ = writeln!(
                out,
                "# sampled phones are not all stored as E.164 (+77012345678): compared after normalising"
            );
        }
        let _ = writeln!(
            out,
            "[[subject.identities]]\nkind = {}\ncolumn = {}{}",
            q(kind),
            q(&g.column),
            match kind {
                "email" => "\ncase_insensitive = true",
                _ if normalise => "\nnormalise = true",
                _ => "",
            }
        );
    }
    let _ = writeln!(
        out,
        "\n[purposes]\nreview = {{ description = \"describe the purpose (policy section 4)\", legal_basis = \"state the legal basis\" }}"
    );

    for (name, reach) in &reached {
        let info = drafter.table(name);
        let key = k(&map_name(name));
        let _ = writeln!(out, "\n[tables.{key}]");
        let link_columns: Vec<String> = match reach {
            Reach::Subject => Vec::new(),
            Reach::Forward {
                column,
                via,
                via_column,
                on_partitions,
            } => {
                if *on_partitions {
                    let _ = writeln!(
                        out,
                        "# partitioned table ({} partitions): the foreign key behind this link is declared on each partition",
                        info.partitions.len()
                    );
                }
                let target = drafter.table(via);
                let default_target = if via == &subject {
                    vec![key_of(&subject_info.primary_key)]
                } else {
                    vec![key_of(&target.primary_key)]
                };
                let mut parts = vec![format!("column = {}", columns_value(column))];
                if via != &subject {
                    parts.push(format!("via = {}", q(&map_name(via))));
                }
                if via_column != &default_target || target.primary_key.len() != 1 {
                    parts.push(format!("via_column = {}", columns_value(via_column)));
                }
                let _ = writeln!(out, "link = {{ {} }}", parts.join(", "));
                column.clone()
            }
            Reach::Reverse {
                column,
                via,
                via_column,
                shared_with,
            } => {
                let _ = writeln!(
                    out,
                    "# reverse link: {}.{} points at this table; a row may be shared by several subjects{}",
                    map_name(via),
                    via_column.join(", "),
                    if shared_with.is_empty() {
                        String::new()
                    } else {
                        format!(
                            " (also referenced by {})",
                            shared_with
                                .iter()
                                .map(&map_name)
                                .collect::<Vec<_>>()
                                .join(", ")
                        )
                    }
                );
                let _ = writeln!(
                    out,
                    "link = {{ column = {}, via = {}, via_column = {} }}",
                    columns_value(column),
                    q(&map_name(via)),
                    columns_value(via_column)
                );
                column.clone()
            }
        };
        if let Some(time) = time_column(info) {
            let _ = writeln!(out, "time_column = {}", q(time));
        }
        let columns = drafter.columns(name, &link_columns);
        let unplaced = drafter.unplaced(name, &columns, &link_columns);
        if !columns.is_empty() {
            let _ = writeln!(out, "[tables.{key}.columns]");
        }
        for g in &columns {
            let _ = writeln!(
                out,
                "{} = {{ category = {}, purpose = \"review\" }}{}",
                k(&g.column),
                q(&g.category.name()),
                g.evidence
                    .as_ref()
                    .map(|e| format!("  # {e}"))
                    .unwrap_or_default()
            );
        }
        for (column, ty) in unplaced {
            let _ = writeln!(
                out,
                "# {} ({ty}) looks personal by its name: give it a category or leave it out",
                q(column)
            );
        }
    }

    if !left_out.is_empty() {
        let _ = writeln!(
            out,
            "\n# Left out: no link to {} was drafted for these tables.",
            map_name(&subject)
        );
        for (name, why) in &left_out {
            let personal: Vec<String> = drafter
                .columns(name, &[])
                .into_iter()
                .map(|g| g.column)
                .collect();
            let _ = writeln!(
                out,
                "# - {}{}: {why}",
                map_name(name),
                if personal.is_empty() {
                    String::new()
                } else {
                    format!(" (personal-looking columns: {})", personal.join(", "))
                }
            );
        }
    }
    Ok(Draft {
        text: out,
        subject: subject.clone(),
        guessed: subject_table.is_none(),
        mapped: reached.into_iter().map(|(t, _)| t).collect(),
        left_out,
        not_sampled,
    })
}

/// Every problem `map check` finds in a draft (none for a good one): the map's own
/// consistency, then its fit to the catalogue.
pub fn check_draft(text: &str, catalog: &Catalog) -> Vec<String> {
    match crate::map::DataMap::parse(text, std::path::Path::new("draft")) {
        Err(e) => vec![e.to_string()],
        Ok(map) => crate::ops::map_check::check(&map, catalog, Default::default())
            .findings
            .into_iter()
            .filter(|f| f.severity == crate::ops::map_check::Severity::Error)
            .map(|f| format!("{}: {}", f.object, f.message))
            .collect(),
    }
}

fn key_of(primary_key: &[String]) -> String {
    primary_key.first().cloned().unwrap_or_default()
}

#[cfg(test)]
mod tests;
