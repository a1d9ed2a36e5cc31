//! The data map: the one source of truth for where personal data lives.
//!
//! A TOML file names the subject table and its identities, how every other table
//! links to a subject (directly or through a path of tables), each personal column's
//! category (docs/policy.md 2.3), purpose (docs/policy.md 4), masking strategy, whether it may
//! be rectified, retention rules, and what blocking a subject does. Loading checks the
//! map's own consistency; `map check` ([`crate::ops::map_check`]) checks it against the live database.
//!
//! Every SQL identifier derbes uses comes from here, after [`DataMap::load`] has
//! validated it, and is always quoted with [`quote_ident`].

pub mod labels;
pub mod link;
pub mod schema;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::when::Period;

/// The data map, as written in TOML.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DataMap {
    /// Format version of the map file; only 1 exists.
    pub version: u32,
    /// Default schema for table names without one.
    #[serde(default = "default_schema")]
    pub schema: String,
    pub subject: SubjectSpec,
    /// Every table holding personal data, by name (`table` or `schema.table`).
    #[serde(default)]
    pub tables: BTreeMap<String, TableSpec>,
    /// Purposes of processing (docs/policy.md 4) with their legal basis, as shown to subjects.
    #[serde(default)]
    pub purposes: BTreeMap<String, PurposeSpec>,
    /// Retention rules by name; tables refer to them.
    #[serde(default)]
    pub retention: BTreeMap<String, RetentionRule>,
    /// What blocking a subject does to the application's own tables.
    #[serde(default)]
    pub block: Option<BlockSpec>,
    /// Consent and disclosure ledgers, for exports and `consent withdraw`.
    #[serde(default)]
    pub ledgers: Ledgers,
    /// The IANA time zone in which "today" is read (minor flag, cut-offs, due dates,
    /// keep-until); default Asia/Almaty.
    #[serde(default)]
    pub timezone: Option<String>,
}

fn default_schema() -> String {
    "public".to_owned()
}

/// The table with one row per data subject.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SubjectSpec {
    pub table: String,
    /// Primary-key column of the subject table.
    pub key: String,
    /// Columns (of the subject table, or of a linked table) that identify a subject.
    #[serde(default)]
    pub identities: Vec<IdentitySpec>,
    /// The application's own status column, if it has one.
    #[serde(default)]
    pub status: Option<StatusSpec>,
    /// Birth-date column, for the minor flag (docs/policy.md 11.1); the IIN also gives it.
    #[serde(default)]
    pub birth_date: Option<String>,
    /// Column the subject row was created at, for summaries.
    #[serde(default)]
    pub created_at: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IdentityKind {
    Iin,
    Bin,
    Phone,
    Email,
}

impl fmt::Display for IdentityKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            IdentityKind::Iin => "iin",
            IdentityKind::Bin => "bin",
            IdentityKind::Phone => "phone",
            IdentityKind::Email => "email",
        };
        f.write_str(name)
    }
}

/// One column that identifies a subject.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct IdentitySpec {
    pub kind: IdentityKind,
    /// Mapped table holding the column; the subject table when absent.
    #[serde(default)]
    pub table: Option<String>,
    pub column: String,
    /// Compare case-insensitively (`lower(column) = lower($1)`); for emails.
    #[serde(default)]
    pub case_insensitive: bool,
    /// Phones only: the column stores other spellings than E.164 (`8 701 ...`),
    /// so both sides are normalised before comparing (`map check` prints the
    /// expression index that keeps it fast).
    #[serde(default)]
    pub normalise: bool,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct StatusSpec {
    pub column: String,
    #[serde(default = "default_active")]
    pub active: String,
    #[serde(default = "default_blocked")]
    pub blocked: String,
    #[serde(default = "default_closed")]
    pub closed: String,
}

fn default_active() -> String {
    "active".to_owned()
}
fn default_blocked() -> String {
    "blocked".to_owned()
}
fn default_closed() -> String {
    "closed".to_owned()
}

/// A table holding personal data and how its rows belong to a subject.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TableSpec {
    /// How rows reach their subject; absent for the subject table itself.
    #[serde(default)]
    pub link: Option<Link>,
    /// Column that dates a row (summaries show the oldest and newest; retention ages by it).
    #[serde(default)]
    pub time_column: Option<String>,
    /// Name of the retention rule that applies to this table's rows.
    #[serde(default)]
    pub retention: Option<String>,
    /// Personal columns, by name.
    #[serde(default)]
    pub columns: BTreeMap<String, ColumnSpec>,
    /// The columns in the order the map file declares them (what the subject's
    /// summary follows); filled by [`DataMap::parse`], never part of the digest.
    #[serde(skip)]
    pub column_order: Vec<String>,
}

/// How a table's rows reach the subject: one step of a path.
///
/// The step says `this.column = via.via_column`. `via` is the subject table when
/// absent, or another mapped table whose own link continues the path; `via_column`
/// is the primary key of `via` when absent (the subject key for the subject table).
/// The step may run either way along a foreign key: `loans.borrower_id ->
/// borrowers.id` (this table points at `via`), or `address.address_id <-
/// customer.address_id` (`via` points at this table, so an address may be shared
/// by several customers). Both sides may name several columns (a composite key).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Link {
    pub column: Columns,
    /// The mapped table `column` is compared with; the subject table when absent.
    #[serde(default)]
    pub via: Option<String>,
    /// Column(s) of `via` that `column` equals; its primary key when absent.
    #[serde(default)]
    pub via_column: Option<Columns>,
}

/// One column name, or several for a composite key: `"a"` or `["a", "b"]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(untagged)]
pub enum Columns {
    One(String),
    Many(Vec<String>),
}

impl Columns {
    pub fn names(&self) -> Vec<String> {
        match self {
            Columns::One(name) => vec![name.clone()],
            Columns::Many(names) => names.clone(),
        }
    }

    /// Whether `column` is one of these.
    pub fn contains(&self, column: &str) -> bool {
        match self {
            Columns::One(name) => name == column,
            Columns::Many(names) => names.iter().any(|n| n == column),
        }
    }
}

impl fmt::Display for Columns {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Columns::One(name) => f.write_str(name),
            Columns::Many(names) => write!(f, "({})", names.join(", ")),
        }
    }
}

/// One personal column.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ColumnSpec {
    pub category: Category,
    pub purpose: String,
    /// How `erase` and `anonymise` mask it; absent means `null` (which `map check`
    /// warns about where the column is NOT NULL).
    #[serde(default)]
    pub masking: Option<Masking>,
    /// May the subject have it changed (`rectify`, docs/policy.md 6.2.3, 8.2)?
    #[serde(default)]
    pub rectify: bool,
    /// Why it may not be changed, shown when `rectify` refuses (e.g. "records of issued loans, 8.2").
    #[serde(default)]
    pub locked_reason: Option<String>,
    /// What the subject's summary calls the field ("Surname"); the category's label
    /// when absent. `label_kk`, `label_ru`, `label_en`: the same in Kazakh, Russian,
    /// English (each falls back to `label`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_kk: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_ru: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_en: Option<String>,
    /// A quasi-identifier: not identifying alone, but together with the other
    /// quasi-identifiers (birth year, sex, region) it may single a person out.
    /// `anonymise --report` gives the smallest group size (k) over them.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub quasi_identifier: bool,
    /// What each stored code means (`M` = male, `KZ` = Kazakhstan), so the subject
    /// reads the meaning instead of the code; a code not listed is shown as stored.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub values: BTreeMap<String, ValueMeaning>,
}

/// The meaning of one stored code, in each language of the subject's summary.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ValueMeaning {
    pub kk: String,
    pub ru: String,
    pub en: String,
}

impl ValueMeaning {
    pub fn in_lang(&self, lang: Lang) -> &str {
        match lang {
            Lang::Kk => &self.kk,
            Lang::Ru => &self.ru,
            Lang::En => &self.en,
        }
    }
}

/// Personal-data categories of docs/policy.md 2.3.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    Name,
    Iin,
    Bin,
    Citizenship,
    Sex,
    BirthDate,
    Address,
    IdentityDocument,
    Phone,
    ContactPerson,
    Email,
    BankCard,
    BankAccount,
    Selfie,
    DocumentPhoto,
    Pep,
    BeneficialOwner,
    MaritalStatus,
    Microcredit,
    Employer,
    Device,
    IpAddress,
    Browser,
    ServerLog,
    Cookie,
    Usage,
    Location,
    AccessTime,
    Consent,
    Disclosure,
    SupportMessage,
}

/// Broad PostgreSQL type families, enough to tell whether a column can hold a category.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TypeFamily {
    Text,
    Integer,
    Numeric,
    Boolean,
    Date,
    Timestamp,
    Inet,
    Bytes,
    Json,
    Array,
    Other,
}

impl TypeFamily {
    /// The family of a `format_type()` / `udt_name` spelling.
    pub fn of(pg_type: &str) -> TypeFamily {
        let t = pg_type.trim().to_ascii_lowercase();
        if t.ends_with("[]") || t.starts_with('_') {
            return TypeFamily::Array;
        }
        let base = t.split('(').next().unwrap_or("").trim();
        match base {
            "text" | "character varying" | "varchar" | "character" | "char" | "bpchar"
            | "citext" | "name" | "uuid" => TypeFamily::Text,
            "smallint" | "integer" | "bigint" | "int2" | "int4" | "int8" => TypeFamily::Integer,
            "numeric" | "decimal" | "real" | "double precision" | "float4" | "float8" | "point" => {
                TypeFamily::Numeric
            }
            "boolean" | "bool" => TypeFamily::Boolean,
            "date" => TypeFamily::Date,
            "timestamp with time zone"
            | "timestamp without time zone"
            | "timestamptz"
            | "timestamp" => TypeFamily::Timestamp,
            "inet" | "cidr" => TypeFamily::Inet,
            "bytea" => TypeFamily::Bytes,
            "json" | "jsonb" => TypeFamily::Json,
            _ => TypeFamily::Other,
        }
    }
}

impl Category {
    /// Whether a column of this type family can hold this category.
    pub fn accepts(self, family: TypeFamily) -> bool {
        use Category::*;
        use TypeFamily as F;
        match self {
            Iin | Bin | Phone | Email | Name | Citizenship | BankCard | BankAccount | Employer
            | Browser | ContactPerson => matches!(family, F::Text),
            IdentityDocument => matches!(family, F::Text | F::Date),
            Sex | Pep => matches!(family, F::Text | F::Boolean),
            // Marital status and the number of dependants are one category (2.3).
            MaritalStatus => matches!(family, F::Text | F::Integer),
            BirthDate => matches!(family, F::Date | F::Timestamp),
            AccessTime => matches!(family, F::Date | F::Timestamp),
            IpAddress => matches!(family, F::Inet | F::Text),
            Location => matches!(family, F::Numeric | F::Text | F::Json),
            Selfie | DocumentPhoto => matches!(family, F::Bytes | F::Text),
            BeneficialOwner => matches!(family, F::Boolean | F::Text),
            Address | Device | Cookie | Usage | ServerLog | SupportMessage => {
                matches!(family, F::Text | F::Json | F::Integer | F::Array | F::Inet)
            }
            // Loans, consents and disclosures are records: any type may be part of one.
            Microcredit | Consent | Disclosure => true,
        }
    }

    /// Every category, for help and drafts.
    pub const ALL: [Category; 31] = [
        Category::Name,
        Category::Iin,
        Category::Bin,
        Category::Citizenship,
        Category::Sex,
        Category::BirthDate,
        Category::Address,
        Category::IdentityDocument,
        Category::Phone,
        Category::ContactPerson,
        Category::Email,
        Category::BankCard,
        Category::BankAccount,
        Category::Selfie,
        Category::DocumentPhoto,
        Category::Pep,
        Category::BeneficialOwner,
        Category::MaritalStatus,
        Category::Microcredit,
        Category::Employer,
        Category::Device,
        Category::IpAddress,
        Category::Browser,
        Category::ServerLog,
        Category::Cookie,
        Category::Usage,
        Category::Location,
        Category::AccessTime,
        Category::Consent,
        Category::Disclosure,
        Category::SupportMessage,
    ];

    /// The snake_case name used in map files and reports.
    pub fn name(self) -> String {
        serde_json::to_value(self)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default()
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

/// How a column is depersonalised by `anonymise` and erasure (see
/// `ops::masking` for the SQL each becomes and which column types each fits).
///
/// Written in the map as `"strategy"` or `"strategy:parameter"`:
/// `keep`, `null`, `redact` / `redact:VALUE`, `hmac`, `generalise` /
/// `generalise:year|month|N`, `truncate:N` (first N characters), `partial:N` (last N),
/// `fake` / `fake:deterministic`, `delete-row`. The older names `pseudonym` (= `hmac`)
/// and `partial` (= `partial:4`) still read.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(try_from = "String", into = "String")]
pub enum Masking {
    /// Keep as is (not identifying once the rest is masked, e.g. a loan amount).
    Keep,
    /// Set to NULL.
    #[default]
    Null,
    /// Replace with a fixed value (`[redacted]` for text unless given).
    Redact(Option<String>),
    /// Keyed SHA-256 (HMAC) of the value: the same input gives the same output in
    /// every table, so joins keep working. Pseudonymisation, not anonymisation: who
    /// holds the key can re-link.
    Hmac,
    /// Coarsen: dates to the month or year, birth dates to the year, IPs to the /24
    /// (/48), amounts to a range, locations to ~1 km, text to a prefix (docs/policy.md 2.5).
    Generalise(Option<String>),
    /// Keep `keep` characters: the first ones, or the last ones with `from_end`.
    Truncate { keep: u32, from_end: bool },
    /// A format-preserving stand-in by category (valid IIN, +7 phone, a name, an
    /// email); with `deterministic`, the same per input and key.
    Fake { deterministic: bool },
    /// Delete the whole row.
    DeleteRow,
}

impl Masking {
    /// The strategy's name, as in reports.
    pub fn name(&self) -> &'static str {
        match self {
            Masking::Keep => "keep",
            Masking::Null => "null",
            Masking::Redact(_) => "redact",
            Masking::Hmac => "hmac",
            Masking::Generalise(_) => "generalise",
            Masking::Truncate {
                from_end: false, ..
            } => "truncate",
            Masking::Truncate { from_end: true, .. } => "partial",
            Masking::Fake { .. } => "fake",
            Masking::DeleteRow => "delete-row",
        }
    }
}

impl TryFrom<String> for Masking {
    type Error = String;
    fn try_from(text: String) -> Result<Masking, String> {
        let (name, parameter) = match text.split_once(':') {
            Some((name, parameter)) => (name.trim(), Some(parameter.to_owned())),
            None => (text.trim(), None),
        };
        let count = |default: u32| -> Result<u32, String> {
            match &parameter {
                None => Ok(default),
                Some(p) => p.trim().parse::<u32>().ok().filter(|n| *n > 0).ok_or_else(|| {
                    format!("masking `{text}`: give a number of characters to keep, e.g. `{name}:4`")
                }),
            }
        };
        let none = |m: Masking| match &parameter {
            None => Ok(m),
            Some(_) => Err(format!(
                "masking `{name}` takes no parameter: write `{name}`"
            )),
        };
        match name {
            "keep" => none(Masking::Keep),
            "null" => none(Masking::Null),
            "redact" => Ok(Masking::Redact(parameter)),
            "hmac" | "pseudonym" => none(Masking::Hmac),
            "generalise" | "generalize" => Ok(Masking::Generalise(parameter.map(|p| p.trim().to_owned()))),
            "truncate" => Ok(Masking::Truncate { keep: count(1)?, from_end: false }),
            "partial" => Ok(Masking::Truncate { keep: count(4)?, from_end: true }),
            "fake" => match parameter.as_deref().map(str::trim) {
                None => Ok(Masking::Fake { deterministic: false }),
                Some("deterministic") => Ok(Masking::Fake { deterministic: true }),
                Some(other) => Err(format!(
                    "masking `fake:{other}`: the only parameter is `fake:deterministic`"
                )),
            },
            "delete-row" => none(Masking::DeleteRow),
            other => Err(format!(
                "unknown masking `{other}`: use keep, null, redact, hmac, generalise, truncate, partial, fake or delete-row"
            )),
        }
    }
}

impl From<Masking> for String {
    fn from(masking: Masking) -> String {
        match &masking {
            Masking::Redact(Some(value)) => format!("redact:{value}"),
            Masking::Generalise(Some(to)) => format!("generalise:{to}"),
            Masking::Truncate { keep, .. } => format!("{}:{keep}", masking.name()),
            Masking::Fake {
                deterministic: true,
            } => "fake:deterministic".to_owned(),
            other => other.name().to_owned(),
        }
    }
}

/// A purpose of processing and its legal basis, as told to the subject.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PurposeSpec {
    pub description: String,
    pub legal_basis: String,
    /// Policy clause, e.g. "4 (3.2.7)".
    #[serde(default)]
    pub clause: Option<String>,
    /// `description` and `legal_basis` in Kazakh, Russian and English, for the
    /// subject's summary; each falls back to the text without a suffix.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description_kk: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description_ru: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description_en: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legal_basis_kk: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legal_basis_ru: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legal_basis_en: Option<String>,
    /// For the map's maintainers only (why a text reads as it does, what a column
    /// stands for); never shown to the subject.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// A column's table of code meanings: no empty code, every meaning given in each
/// language on one line (the subject reads them in a table cell).
fn check_values(
    table: &str,
    column: &str,
    values: &BTreeMap<String, ValueMeaning>,
) -> Result<(), String> {
    for (code, meaning) in values {
        if code.trim().is_empty() {
            return Err(format!(
                "[tables.{table}.columns] `{column}` gives a meaning for an empty code: name the stored value"
            ));
        }
        for (lang, text) in [
            ("kk", &meaning.kk),
            ("ru", &meaning.ru),
            ("en", &meaning.en),
        ] {
            if text.trim().is_empty() || text.contains(['\n', '\r']) {
                return Err(format!(
                    "[tables.{table}.columns] `{column}` value `{code}`: give `{lang}` as one line of text the subject reads"
                ));
            }
        }
    }
    Ok(())
}

/// A language of the subject's summary (docs/policy.md: the policy is in Kazakh; Law
/// 94-V binds a Kazakh operator; Russian is the other official language).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    Kk,
    Ru,
    En,
}

impl Lang {
    pub const ALL: [Lang; 3] = [Lang::Kk, Lang::Ru, Lang::En];

    pub fn code(self) -> &'static str {
        match self {
            Lang::Kk => "kk",
            Lang::Ru => "ru",
            Lang::En => "en",
        }
    }
}

/// The variant of a text in `lang`, else the text as given.
fn in_lang<'a>(
    lang: Lang,
    given: &'a str,
    kk: &'a Option<String>,
    ru: &'a Option<String>,
    en: &'a Option<String>,
) -> &'a str {
    let variant = match lang {
        Lang::Kk => kk,
        Lang::Ru => ru,
        Lang::En => en,
    };
    variant.as_deref().unwrap_or(given)
}

impl PurposeSpec {
    pub fn description_in(&self, lang: Lang) -> &str {
        in_lang(
            lang,
            &self.description,
            &self.description_kk,
            &self.description_ru,
            &self.description_en,
        )
    }

    pub fn legal_basis_in(&self, lang: Lang) -> &str {
        in_lang(
            lang,
            &self.legal_basis,
            &self.legal_basis_kk,
            &self.legal_basis_ru,
            &self.legal_basis_en,
        )
    }
}

impl ColumnSpec {
    /// The field's label in `lang` when the map gives one.
    /// What a stored `value` means in `lang`, when the map says.
    pub fn meaning(&self, value: &str, lang: Lang) -> Option<&str> {
        self.values.get(value).map(|meaning| meaning.in_lang(lang))
    }

    pub fn label_in(&self, lang: Lang) -> Option<&str> {
        let given = self.label.as_ref();
        let variant = match lang {
            Lang::Kk => self.label_kk.as_ref(),
            Lang::Ru => self.label_ru.as_ref(),
            Lang::En => self.label_en.as_ref(),
        };
        variant.or(given).map(String::as_str)
    }
}

impl RetentionRule {
    pub fn legal_basis_in(&self, lang: Lang) -> &str {
        in_lang(
            lang,
            &self.legal_basis,
            &self.legal_basis_kk,
            &self.legal_basis_ru,
            &self.legal_basis_en,
        )
    }
}

/// What happens to rows of a table once they are older than `keep`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RetentionRule {
    /// How long rows are kept, a calendar period: "90d", "6mo", "5y".
    pub keep: String,
    pub action: RetentionAction,
    /// How long the archive of purged rows is kept (archive-then-delete only).
    #[serde(default)]
    pub archive_keep: Option<String>,
    /// The law or clause that sets the period, shown in exports.
    pub legal_basis: String,
    /// `legal_basis` in Kazakh, Russian and English, for the subject's summary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legal_basis_kk: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legal_basis_ru: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legal_basis_en: Option<String>,
    /// For the map's maintainers only (what a column stands for, why the period
    /// is what it is); never shown to the subject.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Age rows from an event of their subject instead of each table's
    /// `time_column`: e.g. the subject's last loan closing (the relationship's end).
    #[serde(default)]
    pub age_from: Option<AgeFrom>,
    /// Legal holds that keep a due row (`open-loan`, `blocked`, `open-request`);
    /// absent means all of them (each where the map and database can tell it),
    /// `[]` none.
    #[serde(default)]
    pub exceptions: Option<Vec<RetentionHold>>,
    /// The categories the law keeps (an `archive-then-delete` rule): a row kept
    /// from an erasure keeps these columns, and its other personal columns are
    /// masked by their strategies. Absent: the whole row is kept.
    #[serde(default)]
    pub keeps: Option<Vec<Category>>,
}

/// An event of the subject that starts the retention period, found through the
/// link path of a mapped table: `{ table = "loans", column = "closed_at", when =
/// "all closed" }` ages a subject's rows from the latest `closed_at` of their loans
/// once every one of them has one. A subject with no row in `table` is aged by each
/// row's own `time_column`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AgeFrom {
    /// A mapped table (its data-map key).
    pub table: String,
    /// A date or timestamp column of it.
    pub column: String,
    #[serde(default)]
    pub when: AgeWhen,
}

/// Which of the subject's event rows count.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
pub enum AgeWhen {
    /// Every row has the column set (all loans closed); age from the latest.
    #[default]
    #[serde(rename = "all closed")]
    AllClosed,
}

/// A legal hold: a due row of a subject under one is kept and reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RetentionHold {
    /// The subject has a loan in an open status of `[ledgers].loans`.
    OpenLoan,
    /// The subject's status is the map's `blocked` value, or an active block in
    /// `derbes.blocks` (a block under investigation).
    Blocked,
    /// The subject has an open request in `derbes.requests` (when that table exists).
    OpenRequest,
}

impl RetentionHold {
    pub const ALL: [RetentionHold; 3] = [
        RetentionHold::OpenLoan,
        RetentionHold::Blocked,
        RetentionHold::OpenRequest,
    ];

    pub fn name(self) -> &'static str {
        match self {
            RetentionHold::OpenLoan => "open-loan",
            RetentionHold::Blocked => "blocked",
            RetentionHold::OpenRequest => "open-request",
        }
    }
}

impl RetentionRule {
    /// The holds this rule applies.
    pub fn holds(&self) -> Vec<RetentionHold> {
        match &self.exceptions {
            Some(list) => {
                let mut list = list.clone();
                list.sort();
                list.dedup();
                list
            }
            None => RetentionHold::ALL.to_vec(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RetentionAction {
    Delete,
    Anonymise,
    ArchiveThenDelete,
}

/// What blocking does, declared so the application sees it at once.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct BlockSpec {
    /// Columns set to a value on block (and to `unblock_value` on unblock).
    #[serde(default)]
    pub set: Vec<BlockSet>,
    /// Timestamp columns set to now() on every live row (sessions, tokens).
    #[serde(default)]
    pub revoke: Vec<BlockRevoke>,
    /// Integer columns incremented, invalidating issued tokens.
    #[serde(default)]
    pub bump: Vec<BlockBump>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct BlockSet {
    pub table: String,
    pub column: String,
    pub value: String,
    pub unblock_value: String,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct BlockRevoke {
    pub table: String,
    pub column: String,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct BlockBump {
    pub table: String,
    pub column: String,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Ledgers {
    #[serde(default)]
    pub consents: Option<ConsentLedger>,
    #[serde(default)]
    pub disclosures: Option<DisclosureLedger>,
    /// Where open obligations (loans) live, for summaries.
    #[serde(default)]
    pub loans: Option<LoanLedger>,
    /// Where policy versions and the notices of them live, for `derbes policy`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<PolicyLedger>,
}

/// Where policy versions and the per-subject notices of them live (docs/policy.md
/// 10.2-10.5): a table of versions (it holds no personal data, so it need not be
/// mapped) and a mapped table of notices, one row per subject and version, whose
/// link reaches the subject in one step (derbes inserts into it).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyLedger {
    /// The table of published versions.
    pub versions: String,
    /// Its column holding the version label (`2.2`); unique.
    pub version: String,
    /// Its column the publication moment goes to.
    pub published_at: String,
    /// Its column for the SHA-256 (hex) of the text; when named, `policy publish`
    /// needs `--text FILE`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text_sha256: Option<String>,
    /// Its column for the date the version takes effect, if it has one (derbes
    /// records the date in `derbes.policy_publications` in any case).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effective: Option<String>,
    /// The mapped table of notices.
    pub notices: String,
    /// The notices' column naming the version: it holds the versions table's
    /// primary key.
    pub notice_version: String,
    pub notified_at: String,
    pub objected_at: String,
    /// The notices' column for the reference of the written objection (10.4).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub objection_ref: Option<String>,
}

/// Where the subject's loans live and which statuses mean "still open".
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LoanLedger {
    pub table: String,
    pub status: String,
    /// Status values of a loan not yet repaid, e.g. `["open", "overdue"]`.
    pub open: Vec<String>,
    /// The purposes an open loan needs (Law 94-V Art. 8(2)): consent to them cannot
    /// be withdrawn while one is open. Absent: every purpose. (Left out when
    /// absent, so the digest of a map without it is what it was.)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub needs: Option<Vec<String>>,
}

/// Where consents live (docs/policy.md 3.1, 6.1.5).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ConsentLedger {
    pub table: String,
    pub purpose: String,
    pub granted_at: String,
    pub withdrawn_at: String,
    #[serde(default)]
    pub document: Option<String>,
}

/// Where transfers to third parties are logged (docs/policy.md 7.2).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DisclosureLedger {
    pub table: String,
    pub recipient: String,
    pub purpose: String,
    pub disclosed_at: String,
    #[serde(default)]
    pub legal_basis: Option<String>,
    /// A `text[]` column naming the categories (snake_case) each transfer carried;
    /// without it every transfer counts for every category.
    #[serde(default)]
    pub categories: Option<String>,
}

/// A map that could not be read or is inconsistent in itself.
#[derive(Debug, thiserror::Error)]
pub enum MapError {
    #[error("cannot read data map {path}: {source}. Pass --map PATH or set DERBES_MAP")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("data map {path}, line {line}, column {column}: {reason}")]
    Syntax {
        path: PathBuf,
        line: usize,
        column: usize,
        reason: String,
    },
    #[error("data map {path}: {reason}")]
    Invalid { path: PathBuf, reason: String },
}

/// A table name resolved to schema and table.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct TableName {
    pub schema: String,
    pub table: String,
}

impl TableName {
    /// `"schema"."table"`, quoted for SQL.
    pub fn quoted(&self) -> String {
        format!("{}.{}", quote_ident(&self.schema), quote_ident(&self.table))
    }
}

impl fmt::Display for TableName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.schema, self.table)
    }
}

/// Quote an SQL identifier (doubling embedded quotes).
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// One step of a join path from a table towards the subject, as the map writes it:
/// `from.columns = to.to_columns`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LinkStep {
    pub from: String,
    pub columns: Vec<String>,
    pub to: String,
    /// None: the primary key of `to`, resolved from the catalogue.
    pub to_columns: Option<Vec<String>>,
}

impl DataMap {
    /// Read and validate a map file; errors name the file, line and reason.
    ///
    /// A map over 1 MiB is refused before parsing (the reference map is 20 KiB; a
    /// huge or endless input such as `/dev/zero` would only stall the run).
    pub fn load(path: &Path) -> Result<DataMap, MapError> {
        use std::io::Read;
        const MAX_MAP_BYTES: u64 = 1024 * 1024;
        let read_error = |source| MapError::Read {
            path: path.to_owned(),
            source,
        };
        let file = std::fs::File::open(path).map_err(read_error)?;
        let mut bytes = Vec::new();
        file.take(MAX_MAP_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(read_error)?;
        if bytes.len() as u64 > MAX_MAP_BYTES {
            return Err(MapError::Invalid {
                path: path.to_owned(),
                reason: format!(
                    "the file is larger than {} KiB, the most a data map may be: \
                     check --map names the data map (not a dump or a log), or split what is not the map out of it",
                    MAX_MAP_BYTES / 1024
                ),
            });
        }
        let text = String::from_utf8(bytes).map_err(|_| MapError::Invalid {
            path: path.to_owned(),
            reason: "the file is not UTF-8 text: give the TOML data map".to_owned(),
        })?;
        DataMap::parse(&text, path)
    }

    /// Parse map text; `path` is only for messages.
    pub fn parse(text: &str, path: &Path) -> Result<DataMap, MapError> {
        let mut map: DataMap = toml::from_str(text).map_err(|e| {
            let (line, column) = e
                .span()
                .map(|span| line_column(text, span.start))
                .unwrap_or((0, 0));
            MapError::Syntax {
                path: path.to_owned(),
                line,
                column,
                reason: e.message().trim().to_owned(),
            }
        })?;
        map.validate().map_err(|reason| MapError::Invalid {
            path: path.to_owned(),
            reason,
        })?;
        map.read_column_order(text);
        Ok(map)
    }

    /// Note the order in which the file declares each table's columns (serde's
    /// maps sort them by name). The text already parsed as TOML, so a second
    /// parse cannot fail; if it somehow did, the order stays by name.
    fn read_column_order(&mut self, text: &str) {
        let Ok(document) = toml_edit::ImDocument::parse(text) else {
            return;
        };
        let Some(tables) = document.get("tables").and_then(|t| t.as_table_like()) else {
            return;
        };
        for (name, spec) in &mut self.tables {
            let declared = tables
                .get(name)
                .and_then(|t| t.as_table_like())
                .and_then(|t| t.get("columns"))
                .and_then(|c| c.as_table_like());
            spec.column_order = match declared {
                Some(columns) => columns
                    .iter()
                    .map(|(column, _)| column.to_owned())
                    .collect(),
                None => spec.columns.keys().cloned().collect(),
            };
        }
    }

    /// SHA-256 of the map's canonical form, recorded in exports and audit rows.
    pub fn digest(&self) -> String {
        let canonical = serde_json::to_vec(self).unwrap_or_default();
        hex::encode(Sha256::digest(canonical))
    }

    /// Resolve a table name of the map (`t` or `s.t`) to schema and table.
    pub fn table_name(&self, name: &str) -> TableName {
        match name.split_once('.') {
            Some((schema, table)) => TableName {
                schema: schema.to_owned(),
                table: table.to_owned(),
            },
            None => TableName {
                schema: self.schema.clone(),
                table: name.to_owned(),
            },
        }
    }

    pub fn subject_table(&self) -> TableName {
        self.table_name(&self.subject.table)
    }

    /// The join path from `table` to the subject table, nearest step first.
    /// Empty for the subject table itself. A `via` chain that loops is an error
    /// (reported by `map check`, exit 6).
    pub fn link_path(&self, table: &str) -> Result<Vec<LinkStep>, String> {
        let mut steps = Vec::new();
        let mut current = table.to_owned();
        while current != self.subject.table {
            let step = self.link_step(&current)?;
            current = step.to.clone();
            steps.push(step);
            if steps.len() > self.tables.len() {
                return Err(format!(
                    "the link of [tables.{table}] loops back on itself ({}): follow its `via` chain and end it at the subject table",
                    steps.iter().map(|s| s.from.as_str()).collect::<Vec<_>>().join(" -> ")
                ));
            }
        }
        Ok(steps)
    }

    /// The one step a table's `link` declares, checked in itself.
    fn link_step(&self, table: &str) -> Result<LinkStep, String> {
        let spec = self
            .tables
            .get(table)
            .ok_or_else(|| format!("table `{table}` is not mapped under [tables]"))?;
        let link = spec.link.as_ref().ok_or_else(|| {
            format!("[tables.{table}] has no `link`: say how its rows reach a subject")
        })?;
        let to = link
            .via
            .clone()
            .unwrap_or_else(|| self.subject.table.clone());
        let to_columns = match (&link.via_column, to == self.subject.table) {
            (Some(columns), _) => Some(columns.names()),
            (None, true) => Some(vec![self.subject.key.clone()]),
            (None, false) => None,
        };
        let columns = link.column.names();
        if columns.is_empty() || columns.iter().any(|c| c.is_empty()) {
            return Err(format!(
                "[tables.{table}] link names no column: give `column = \"...\"`"
            ));
        }
        if let Some(to_columns) = &to_columns {
            if to_columns.len() != columns.len() {
                return Err(format!(
                    "[tables.{table}] link compares {} column(s) with {} of `{to}`: give as many `via_column` as `column`",
                    columns.len(),
                    to_columns.len()
                ));
            }
        }
        Ok(LinkStep {
            from: table.to_owned(),
            columns,
            to,
            to_columns,
        })
    }

    /// The zone in which "today" is read: `timezone`, else Asia/Almaty.
    pub fn time_zone(&self) -> chrono_tz::Tz {
        self.timezone
            .as_deref()
            .and_then(|zone| crate::when::parse_time_zone(zone).ok())
            .unwrap_or_else(crate::when::default_time_zone)
    }

    /// Consistency of the map in itself (the catalogue is checked separately).
    fn validate(&self) -> Result<(), String> {
        if self.version != 1 {
            return Err(format!(
                "version = {} is not supported: this derbes reads version = 1",
                self.version
            ));
        }
        if !self.tables.contains_key(&self.subject.table) {
            return Err(format!(
                "the subject table `{}` must also be listed under [tables.{}] with its personal columns",
                self.subject.table, self.subject.table
            ));
        }
        for (name, spec) in &self.tables {
            if name == &self.subject.table {
                if spec.link.is_some() {
                    return Err(format!(
                        "[tables.{name}] is the subject table and cannot have a `link`"
                    ));
                }
            } else {
                if let Some(via) = spec.link.as_ref().and_then(|l| l.via.as_ref()) {
                    if !self.tables.contains_key(via) {
                        return Err(format!(
                            "[tables.{name}] links via `{via}`, which is not mapped under [tables]"
                        ));
                    }
                }
                self.link_step(name)?;
            }
            if let Some(rule) = &spec.retention {
                if !self.retention.contains_key(rule) {
                    return Err(format!(
                        "[tables.{name}] names retention rule `{rule}`, which is not defined under [retention]"
                    ));
                }
            }
            for (column, col) in &spec.columns {
                if !self.purposes.is_empty() && !self.purposes.contains_key(&col.purpose) {
                    return Err(format!(
                        "[tables.{name}.columns] `{column}` has purpose `{}`, which is not defined under [purposes]",
                        col.purpose
                    ));
                }
                check_values(name, column, &col.values)?;
            }
        }
        for identity in &self.subject.identities {
            let table = identity.table.as_deref().unwrap_or(&self.subject.table);
            if !self.tables.contains_key(table) {
                return Err(format!(
                    "identity `{}` is in table `{table}`, which is not mapped under [tables]",
                    identity.kind
                ));
            }
        }
        if let Some(zone) = &self.timezone {
            crate::when::parse_time_zone(zone).map_err(|e| format!("timezone: {e}"))?;
        }
        if let Some(policy) = &self.ledgers.policy {
            if !self.tables.contains_key(&policy.notices) {
                return Err(format!(
                    "[ledgers] policy names notices table `{}`, which is not mapped under [tables]: map it with its link to the subject",
                    policy.notices
                ));
            }
        }
        for (name, rule) in &self.retention {
            Period::parse(&rule.keep)
                .map_err(|e| format!("[retention.{name}] keep = \"{}\": {e}", rule.keep))?;
            if let Some(keep) = &rule.archive_keep {
                Period::parse(keep)
                    .map_err(|e| format!("[retention.{name}] archive_keep = \"{keep}\": {e}"))?;
            }
            if let Some(age_from) = &rule.age_from {
                if !self.tables.contains_key(&age_from.table) {
                    return Err(format!(
                        "[retention.{name}] age_from names table `{}`, which is not mapped under [tables]: map it (with its link) or age by time_column",
                        age_from.table
                    ));
                }
            }
            for (table, spec) in &self.tables {
                if spec.retention.as_deref() == Some(name.as_str())
                    && spec.time_column.is_none()
                    && rule.age_from.is_none()
                {
                    return Err(format!(
                        "[tables.{table}] is under retention rule `{name}` but has no time_column to age its rows by: add time_column, or age_from to the rule"
                    ));
                }
            }
            if rule.keeps.is_some() && rule.action != RetentionAction::ArchiveThenDelete {
                return Err(format!(
                    "[retention.{name}] says what it keeps, but only an archive-then-delete rule \
                     keeps rows by law: drop `keeps`, or make the action archive-then-delete"
                ));
            }
            if rule
                .exceptions
                .as_ref()
                .is_some_and(|e| e.contains(&RetentionHold::OpenLoan))
                && self.ledgers.loans.is_none()
            {
                return Err(format!(
                    "[retention.{name}] holds back subjects with an open loan, but the map has no [ledgers].loans to find them: add it, or drop \"open-loan\" from exceptions"
                ));
            }
        }
        if let Some(block) = &self.block {
            let tables = block
                .set
                .iter()
                .map(|s| &s.table)
                .chain(block.revoke.iter().map(|r| &r.table))
                .chain(block.bump.iter().map(|b| &b.table));
            for table in tables {
                if !self.tables.contains_key(table) {
                    return Err(format!(
                        "[block] acts on `{table}`, which is not mapped under [tables]"
                    ));
                }
            }
        }
        Ok(())
    }

    /// Every (table, column) the map names, for the catalogue check.
    pub fn named_columns(&self) -> Vec<(String, String, &'static str)> {
        let mut named = Vec::new();
        let subject = &self.subject;
        named.push((subject.table.clone(), subject.key.clone(), "subject key"));
        for identity in &subject.identities {
            let table = identity.table.clone().unwrap_or(subject.table.clone());
            named.push((table, identity.column.clone(), "identity"));
        }
        if let Some(status) = &subject.status {
            named.push((subject.table.clone(), status.column.clone(), "status"));
        }
        for column in [&subject.birth_date, &subject.created_at]
            .into_iter()
            .flatten()
        {
            named.push((subject.table.clone(), column.clone(), "subject column"));
        }
        for (table, spec) in &self.tables {
            if let Some(link) = &spec.link {
                for column in link.column.names() {
                    named.push((table.clone(), column, "link column"));
                }
                if let Some(via_column) = &link.via_column {
                    let via = link.via.clone().unwrap_or(subject.table.clone());
                    for column in via_column.names() {
                        named.push((via.clone(), column, "link target"));
                    }
                }
            }
            if let Some(time) = &spec.time_column {
                named.push((table.clone(), time.clone(), "time column"));
            }
            if let Some(age_from) = spec
                .retention
                .as_ref()
                .and_then(|r| self.retention.get(r))
                .and_then(|r| r.age_from.as_ref())
            {
                named.push((
                    age_from.table.clone(),
                    age_from.column.clone(),
                    "retention age_from column",
                ));
            }
            for column in spec.columns.keys() {
                named.push((table.clone(), column.clone(), "personal column"));
            }
        }
        if let Some(block) = &self.block {
            for s in &block.set {
                named.push((s.table.clone(), s.column.clone(), "block column"));
            }
            for r in &block.revoke {
                named.push((r.table.clone(), r.column.clone(), "block column"));
            }
            for b in &block.bump {
                named.push((b.table.clone(), b.column.clone(), "block column"));
            }
        }
        if let Some(c) = &self.ledgers.consents {
            for column in [&c.purpose, &c.granted_at, &c.withdrawn_at]
                .into_iter()
                .chain(c.document.as_ref())
            {
                named.push((c.table.clone(), column.clone(), "consent ledger"));
            }
        }
        if let Some(d) = &self.ledgers.disclosures {
            for column in [&d.recipient, &d.purpose, &d.disclosed_at]
                .into_iter()
                .chain(d.legal_basis.as_ref())
            {
                named.push((d.table.clone(), column.clone(), "disclosure ledger"));
            }
            if let Some(column) = &d.categories {
                named.push((d.table.clone(), column.clone(), "disclosure ledger"));
            }
        }
        if let Some(l) = &self.ledgers.loans {
            named.push((l.table.clone(), l.status.clone(), "loan ledger"));
        }
        if let Some(p) = &self.ledgers.policy {
            for column in [&p.version, &p.published_at]
                .into_iter()
                .chain(p.text_sha256.as_ref())
                .chain(p.effective.as_ref())
            {
                named.push((p.versions.clone(), column.clone(), "policy ledger"));
            }
            for column in [&p.notice_version, &p.notified_at, &p.objected_at]
                .into_iter()
                .chain(p.objection_ref.as_ref())
            {
                named.push((p.notices.clone(), column.clone(), "policy ledger"));
            }
        }
        named
    }
}

/// 1-based line and column of a byte offset.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
version = 1
[subject]
table = "people"
key = "id"
[[subject.identities]]
kind = "email"
column = "mail"
case_insensitive = true
[tables.people.columns]
mail = { category = "email", purpose = "identification" }
[tables.orders]
link = { column = "person_id" }
[tables.order_lines]
link = { column = "order_id", via = "orders" }
"#;

    #[test]
    fn link_paths_follow_via() {
        let map = DataMap::parse(MINIMAL, Path::new("m.toml")).unwrap();
        let path = map.link_path("order_lines").unwrap();
        assert_eq!(path.len(), 2);
        assert_eq!(path[0].to, "orders");
        assert_eq!(path[1].to, "people");
        assert_eq!(path[1].to_columns, Some(vec!["id".to_owned()]));
        assert_eq!(path[0].to_columns, None);
        assert!(map.link_path("people").unwrap().is_empty());
    }

    #[test]
    fn syntax_errors_name_line_and_column() {
        let broken = MINIMAL.replace("key = \"id\"", "key = id\"");
        let err = DataMap::parse(&broken, Path::new("m.toml")).unwrap_err();
        match err {
            MapError::Syntax { line, .. } => assert_eq!(line, 5),
            other => panic!("expected a syntax error, got {other}"),
        }
    }

    #[test]
    fn unknown_keys_and_categories_are_refused() {
        let typo = MINIMAL.replace("case_insensitive", "case_insensitiv");
        assert!(DataMap::parse(&typo, Path::new("m.toml")).is_err());
        let bad = MINIMAL.replace("category = \"email\"", "category = \"shoe_size\"");
        let err = DataMap::parse(&bad, Path::new("m.toml"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("shoe_size"), "{err}");
    }

    #[test]
    fn code_meanings_are_read_checked_and_kept_out_of_older_digests() {
        let path = Path::new("m.toml");
        let plain = DataMap::parse(MINIMAL, path).unwrap();
        let coded = MINIMAL.replace(
            "mail = { category = \"email\", purpose = \"identification\" }",
            "zeta = { category = \"name\", purpose = \"identification\" }\n\
             sex = { category = \"sex\", purpose = \"identification\", values = { M = { kk = \"Ер\", ru = \"Мужской\", en = \"Male\" } } }\n\
             mail = { category = \"email\", purpose = \"identification\" }",
        );
        let map = DataMap::parse(&coded, path).unwrap();
        let sex = &map.tables["people"].columns["sex"];
        assert_eq!(sex.meaning("M", Lang::Ru), Some("Мужской"));
        assert_eq!(sex.meaning("X", Lang::Ru), None);
        // The file's order, not the names' order.
        assert_eq!(map.tables["people"].column_order, ["zeta", "sex", "mail"]);
        // A map without meanings or notes keeps the digest it had.
        assert_eq!(
            plain.digest(),
            DataMap::parse(MINIMAL, path).unwrap().digest()
        );
        assert!(!serde_json::to_string(&plain).unwrap().contains("values"));
        for bad in ["en = \"\"", "en = \"Male\\nMan\""] {
            let text = coded.replace("en = \"Male\"", bad);
            let err = DataMap::parse(&text, path).unwrap_err().to_string();
            assert!(
                err.contains("`sex` value `M`") && err.contains("`en`"),
                "{err}"
            );
        }
        let missing = coded.replace(", en = \"Male\"", "");
        assert!(DataMap::parse(&missing, path).is_err());
    }

    #[test]
    fn a_via_to_an_unmapped_table_is_refused() {
        let bad = MINIMAL.replace("via = \"orders\"", "via = \"invoices\"");
        let err = DataMap::parse(&bad, Path::new("m.toml"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("invoices"), "{err}");
    }

    #[test]
    fn the_time_zone_defaults_to_almaty_and_is_checked() {
        let path = Path::new("t.toml");
        let map = DataMap::parse(MINIMAL, path).unwrap();
        assert_eq!(map.time_zone(), chrono_tz::Asia::Almaty);
        let map = DataMap::parse(&format!("timezone = \"Asia/Aqtobe\"\n{MINIMAL}"), path).unwrap();
        assert_eq!(map.time_zone(), chrono_tz::Asia::Aqtobe);
        let bad = DataMap::parse(&format!("timezone = \"Almaty\"\n{MINIMAL}"), path);
        assert!(bad.unwrap_err().to_string().contains("IANA"));
    }

    #[test]
    fn texts_fall_back_to_the_one_given_and_old_maps_keep_their_digest() {
        let plain = DataMap::parse(
            &MINIMAL.replace(
                "[tables.people.columns]",
                "[purposes]\nidentification = { description = \"Identifying\", legal_basis = \"Consent\" }\n[tables.people.columns]",
            ),
            Path::new("m.toml"),
        )
        .unwrap();
        let purpose = &plain.purposes["identification"];
        for lang in Lang::ALL {
            assert_eq!(purpose.description_in(lang), "Identifying");
            assert_eq!(purpose.legal_basis_in(lang), "Consent");
        }
        // Fields absent are not serialised: the digest of an old map is unchanged.
        assert!(!serde_json::to_string(&plain)
            .unwrap()
            .contains("description_kk"));
        let translated = DataMap::parse(
            &MINIMAL.replace(
                "[tables.people.columns]",
                "[purposes]\nidentification = { description = \"Identifying\", description_kk = \"Сәйкестендіру\", legal_basis = \"Consent\", legal_basis_ru = \"Согласие\" }\n[tables.people.columns]",
            ),
            Path::new("m.toml"),
        )
        .unwrap();
        let purpose = &translated.purposes["identification"];
        assert_eq!(purpose.description_in(Lang::Kk), "Сәйкестендіру");
        assert_eq!(purpose.description_in(Lang::Ru), "Identifying");
        assert_eq!(purpose.legal_basis_in(Lang::Ru), "Согласие");
        assert_eq!(purpose.legal_basis_in(Lang::Kk), "Consent");
    }

    #[test]
    fn a_policy_ledger_needs_a_mapped_notices_table() {
        let with = |notices: &str| {
            format!(
                "{MINIMAL}[ledgers]\npolicy = {{ versions = \"versions\", version = \"label\", published_at = \"at\", notices = \"{notices}\", notice_version = \"version_id\", notified_at = \"sent\", objected_at = \"objected\" }}\n"
            )
        };
        assert!(DataMap::parse(&with("orders"), Path::new("m.toml")).is_ok());
        let err = DataMap::parse(&with("notices"), Path::new("m.toml"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("not mapped under [tables]"), "{err}");
    }

    #[test]
    fn type_families() {
        assert!(Category::Iin.accepts(TypeFamily::of("character(12)")));
        assert!(!Category::Iin.accepts(TypeFamily::of("bigint")));
        assert!(Category::IpAddress.accepts(TypeFamily::of("inet")));
        assert!(Category::BirthDate.accepts(TypeFamily::of("date")));
        assert!(!Category::BirthDate.accepts(TypeFamily::of("text")));
    }
}
