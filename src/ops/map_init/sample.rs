//! Sampling a few hundred rows per table to recognise personal values by their
//! shape: a 12-digit IIN or BIN with a valid check digit, a phone number, an email,
//! an IP address kept as text.
//!
//! One bounded query per table (`TABLESAMPLE BERNOULLI` or `SYSTEM` when the table is
//! large, `LIMIT`, a `statement_timeout` and a `lock_timeout`), in read-only
//! transactions. Only counts are kept: a sampled value is never stored, printed or
//! logged.

use std::collections::{BTreeMap, BTreeSet};

use tokio_postgres::{Client, GenericClient};

use crate::kz::identity::{Bin, Email, Iin, Phone};
use crate::map::schema::Catalog;
use crate::map::{quote_ident, Category, TableName, TypeFamily};

/// Rows read from each table at most.
pub const ROWS_PER_TABLE: i64 = 300;
/// Longest prefix of a value looked at (an email is at most 254 characters).
const VALUE_PREFIX: i32 = 320;
/// Share of a column's sampled values that must have one shape for it to count.
const SHARE: f64 = 0.8;

/// What the catalogue says about a table's size and ownership, for sampling and scope.
#[derive(Debug, Clone, Default)]
pub struct TableFacts {
    /// Estimated rows (statistics, or pages when the table was never analysed).
    pub estimated_rows: f64,
    /// Pages on disk now (statistics may be stale; the files are not).
    pub pages: f64,
    /// The table belongs to an extension (PostGIS' `spatial_ref_sys`, ...).
    pub extension: bool,
}

/// Size estimates and extension membership of every table, in one query.
pub async fn table_facts(
    client: &impl GenericClient,
) -> Result<BTreeMap<TableName, TableFacts>, tokio_postgres::Error> {
    let sql = "SELECT n.nspname, c.relname, \
                      coalesce(sum(greatest(l.reltuples, 0)), 0)::float8, \
                      coalesce(bool_or(l.reltuples < 0), true), \
                      coalesce(sum(pg_relation_size(l.oid)), 0)::float8 \
                          / current_setting('block_size')::float8, \
                      EXISTS (SELECT 1 FROM pg_depend d \
                              WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid \
                                AND d.deptype = 'e') \
               FROM pg_class c \
               JOIN pg_namespace n ON n.oid = c.relnamespace \
               LEFT JOIN LATERAL pg_partition_tree(c.oid) t ON t.isleaf \
               LEFT JOIN pg_class l ON l.oid = t.relid \
               WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition \
                 AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'derbes') \
                 AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%' \
               GROUP BY n.nspname, c.relname, c.oid";
    let mut facts = BTreeMap::new();
    for row in client.query(sql, &[]).await? {
        let tuples: f64 = row.get(2);
        let never_analysed: bool = row.get(3);
        let pages: f64 = row.get(4);
        // Never analysed: assume a hundred rows a page. Stale statistics: at least a
        // row per page.
        let estimated_rows = if never_analysed {
            tuples.max(pages * 100.0)
        } else {
            tuples.max(pages)
        };
        facts.insert(
            TableName {
                schema: row.get(0),
                table: row.get(1),
            },
            TableFacts {
                estimated_rows,
                pages,
                extension: row.get(5),
            },
        );
    }
    Ok(facts)
}

/// Counts of value shapes in one column's sample.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ColumnCounts {
    pub non_null: usize,
    pub iin: usize,
    pub bin: usize,
    pub phone: usize,
    /// Phone numbers stored in E.164 (`+77012345678`), no other spelling.
    pub e164: usize,
    pub email: usize,
    /// IPv4 or IPv6 addresses stored as text.
    pub ip: usize,
}

impl ColumnCounts {
    /// Count one value's shape (the value itself is not kept).
    pub fn add(&mut self, value: &str) {
        let value = value.trim();
        if value.is_empty() {
            return;
        }
        self.non_null += 1;
        if value.len() == 12 && value.bytes().all(|b| b.is_ascii_digit()) {
            if Iin::parse(value).is_ok() {
                self.iin += 1;
            } else if Bin::parse(value).is_ok() {
                self.bin += 1;
            }
        } else if value.contains('@') {
            if Email::parse(value).is_ok() {
                self.email += 1;
            }
        } else if value.parse::<std::net::IpAddr>().is_ok() {
            self.ip += 1;
        } else if phone_like(value) {
            self.phone += 1;
            if value.len() > 1
                && value.starts_with('+')
                && value[1..].bytes().all(|b| b.is_ascii_digit())
            {
                self.e164 += 1;
            }
        }
    }

    /// The category most sampled values have, when they nearly all have it.
    pub fn category(&self) -> Option<Category> {
        if self.non_null == 0 {
            return None;
        }
        let share = |n: usize| n as f64 / self.non_null as f64 >= SHARE;
        [
            (self.iin, Category::Iin),
            (self.bin, Category::Bin),
            (self.email, Category::Email),
            (self.phone, Category::Phone),
            (self.ip, Category::IpAddress),
        ]
        .into_iter()
        .find(|(n, _)| share(*n))
        .map(|(_, category)| category)
    }

    /// "2 of 2 sampled values": how sure the guess is, without any value.
    pub fn evidence(&self, category: Category) -> String {
        let n = match category {
            Category::Iin => self.iin,
            Category::Bin => self.bin,
            Category::Email => self.email,
            Category::Phone => self.phone,
            Category::IpAddress => self.ip,
            _ => 0,
        };
        let what = match category {
            Category::Iin => "valid IINs (check digit verified)",
            Category::Bin => "valid BINs (check digit verified)",
            Category::Email => "email addresses",
            Category::IpAddress => "IP addresses",
            _ => "phone numbers",
        };
        format!("{n} of {} sampled values are {what}", self.non_null)
    }
}

/// A Kazakh number in any common spelling, or an international one written with `+`
/// or separators. Bare digit strings count only when they are Kazakh mobile numbers,
/// so order numbers are not taken for phones.
fn phone_like(value: &str) -> bool {
    if Phone::parse(value).is_ok() {
        return true;
    }
    let allowed = |c: char| c.is_ascii_digit() || " +()-.".contains(c);
    if !value.chars().all(allowed) {
        return false;
    }
    let digits = value.chars().filter(char::is_ascii_digit).count();
    let formatted = value.starts_with('+') || value.contains(['(', ' ', '-']);
    formatted && (10..=15).contains(&digits) && value.rfind('+').is_none_or(|at| at == 0)
}

/// What sampling found in one table.
#[derive(Debug, Clone, Default)]
pub struct TableSample {
    /// Rows read.
    pub rows: usize,
    pub columns: BTreeMap<String, ColumnCounts>,
    /// Why the table was not sampled (timeout, privilege), never a value.
    pub skipped: Option<String>,
}

/// What sampling found, per table.
#[derive(Debug, Clone, Default)]
pub struct Samples {
    pub tables: BTreeMap<TableName, TableSample>,
}

impl Samples {
    /// Whether a column of sampled phone numbers holds spellings other than E.164
    /// (`8 701 ...`, `+7 (701) ...`), so lookups must normalise it.
    pub fn phones_need_normalising(&self, table: &TableName, column: &str) -> bool {
        self.tables
            .get(table)
            .and_then(|t| t.columns.get(column))
            .is_some_and(|c| c.category() == Some(Category::Phone) && c.e164 < c.phone)
    }

    /// The category a column's sampled values show, if any.
    pub fn category(&self, table: &TableName, column: &str) -> Option<(Category, String)> {
        let counts = self.tables.get(table)?.columns.get(column)?;
        let category = counts.category()?;
        Some((category, counts.evidence(category)))
    }
}

/// How a table of about `estimated_rows` rows in `pages` pages is sampled: the
/// `TABLESAMPLE` clause with its percentage, or none for a small table (its first
/// rows are all there is). BERNOULLI reads every page but spreads the rows, so it is
/// kept to tables of at most `BERNOULLI_PAGES` pages on disk (whatever the statistics
/// say); SYSTEM reads only the pages it picks. `LIMIT` bounds both.
fn sample_clause(estimated_rows: f64, pages: f64) -> Option<(&'static str, f32)> {
    const BERNOULLI_PAGES: f64 = 5_000.0;
    let target = (ROWS_PER_TABLE * 3) as f64;
    if estimated_rows <= target * 2.0 && pages <= 64.0 {
        return None;
    }
    let percent = (100.0 * target / estimated_rows.max(1.0)).clamp(0.0001, 100.0) as f32;
    Some((
        if pages <= BERNOULLI_PAGES {
            "BERNOULLI"
        } else {
            "SYSTEM"
        },
        percent,
    ))
}

/// Sample the text columns of `tables`: one query per table, each bounded by
/// `ROWS_PER_TABLE`, `timeout_ms` and a lock timeout. A table that cannot be read
/// (privileges, timeout) is recorded as skipped with the reason.
pub async fn sample(
    client: &Client,
    catalog: &Catalog,
    tables: &BTreeSet<TableName>,
    facts: &BTreeMap<TableName, TableFacts>,
    timeout_ms: u32,
) -> Result<Samples, tokio_postgres::Error> {
    client
        .query(
            "SELECT set_config('statement_timeout', $1, false), \
                    set_config('lock_timeout', '2000', false), \
                    set_config('default_transaction_read_only', 'on', false)",
            &[&timeout_ms.to_string()],
        )
        .await?;
    let mut samples = Samples::default();
    for name in tables {
        let Some(table) = catalog.tables.get(name) else {
            continue;
        };
        let columns: Vec<&str> = table
            .columns
            .iter()
            .filter(|(_, ty)| TypeFamily::of(ty) == TypeFamily::Text)
            .map(|(c, _)| c.as_str())
            .collect();
        if columns.is_empty() {
            continue;
        }
        let select: Vec<String> = columns
            .iter()
            .map(|c| format!("left({}::text, {VALUE_PREFIX})", quote_ident(c)))
            .collect();
        let (rows, pages) = facts
            .get(name)
            .map_or((0.0, 0.0), |f| (f.estimated_rows, f.pages));
        let result = match sample_clause(rows, pages) {
            None => {
                let sql = format!(
                    "SELECT {} FROM {} LIMIT {ROWS_PER_TABLE}",
                    select.join(", "),
                    name.quoted()
                );
                client.query(&sql, &[]).await
            }
            Some((method, percent)) => {
                let sql = format!(
                    "SELECT {} FROM {} TABLESAMPLE {method} ($1) LIMIT {ROWS_PER_TABLE}",
                    select.join(", "),
                    name.quoted()
                );
                client.query(&sql, &[&percent]).await
            }
        };
        let mut found = TableSample::default();
        match result {
            Ok(rows) => {
                found.rows = rows.len();
                for row in &rows {
                    for (i, column) in columns.iter().enumerate() {
                        let counts = found.columns.entry((*column).to_owned()).or_default();
                        if let Some(value) = row.get::<_, Option<&str>>(i) {
                            counts.add(value);
                        }
                    }
                }
            }
            Err(e) => {
                let code = e.code().map(|c| c.code().to_owned());
                let reason = match code.as_deref() {
                    Some("57014") => "the sample query hit the statement timeout".to_owned(),
                    Some("55P03") => "the table was locked".to_owned(),
                    Some("42501") => "no SELECT privilege on it".to_owned(),
                    Some(code) => format!("the sample query failed (SQLSTATE {code})"),
                    None => return Err(e),
                };
                found.skipped = Some(reason);
            }
        }
        tracing::debug!(table = %name, rows = found.rows, "sampled");
        samples.tables.insert(name.clone(), found);
    }
    Ok(samples)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_are_counted_not_kept() {
        let mut counts = ColumnCounts::default();
        for v in ["061211600012", "880330300016", "", "  "] {
            counts.add(v);
        }
        assert_eq!(counts.non_null, 2);
        assert_eq!(counts.iin, 2);
        assert_eq!(counts.category(), Some(Category::Iin));
        assert_eq!(
            counts.evidence(Category::Iin),
            "2 of 2 sampled values are valid IINs (check digit verified)"
        );
    }

    #[test]
    fn a_wrong_check_digit_is_not_an_iin() {
        let mut counts = ColumnCounts::default();
        counts.add("061211600013");
        counts.add("123456789012");
        assert_eq!(counts.category(), None);
    }

    #[test]
    fn phones_and_emails() {
        let mut phones = ColumnCounts::default();
        for v in [
            "+7 701 234 56 78",
            "87012345678",
            "+44 20 7946 0958",
            "(403) 333-5568",
        ] {
            phones.add(v);
        }
        assert_eq!(phones.category(), Some(Category::Phone));
        assert_eq!(phones.e164, 0);
        let mut e164 = ColumnCounts::default();
        e164.add("+77012345678");
        assert_eq!((e164.phone, e164.e164), (1, 1));
        let mut numbers = ColumnCounts::default();
        for v in ["1234567890", "9876543210", "5555555555"] {
            numbers.add(v);
        }
        assert_eq!(
            numbers.category(),
            None,
            "bare order numbers are not phones"
        );
        let mut emails = ColumnCounts::default();
        for v in ["a@example.kz", "B@Mail.ru", "c@x.com", "oops@"] {
            emails.add(v);
        }
        assert_eq!(emails.category(), None, "3 of 4 is below the share");
        emails.add("d@e.kz");
        assert_eq!(emails.category(), Some(Category::Email));
    }

    #[test]
    fn ip_addresses_kept_as_text() {
        let mut ips = ColumnCounts::default();
        for v in ["10.0.0.1", "2a02:ec0::1", "192.168.1.20"] {
            ips.add(v);
        }
        assert_eq!(ips.category(), Some(Category::IpAddress));
        assert_eq!(
            ips.evidence(Category::IpAddress),
            "3 of 3 sampled values are IP addresses"
        );
    }

    #[test]
    fn large_tables_are_sampled_small_ones_read() {
        assert_eq!(sample_clause(0.0, 0.0), None);
        assert_eq!(sample_clause(1000.0, 10.0), None);
        assert_eq!(
            sample_clause(10_000.0, 100.0).map(|c| c.0),
            Some("BERNOULLI")
        );
        let (method, percent) = sample_clause(100_000_000.0, 1_000_000.0).unwrap();
        assert_eq!(method, "SYSTEM");
        assert!(percent < 0.01);
        // Statistics say small, the files say large: never a full BERNOULLI scan.
        assert_eq!(sample_clause(500.0, 200_000.0).map(|c| c.0), Some("SYSTEM"));
    }
}
