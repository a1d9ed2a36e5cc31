//! What the DPO's report holds: counts, references and rule names, never a
//! person's data. One value of [`Report`] is what `derbes report --format json`
//! prints and what the HTML page (`ops::html::report`) draws, so the page and the
//! JSON cannot disagree.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

pub use crate::ops::retention::HeldBack;

/// The whole report for one period.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// When the figures were read (one snapshot).
    pub generated_at: DateTime<Utc>,
    /// First day of the period (inclusive).
    pub since: NaiveDate,
    /// Last day of the period (inclusive).
    pub until: NaiveDate,
    /// `kk`, `ru` or `en`: the language of labels and legal bases.
    pub lang: String,
    /// Personal data held, per retention rule and table, against the rule's period.
    pub retention: Vec<RetentionRuleFigures>,
    /// The same rows rolled up per personal-data category.
    pub categories: Vec<CategoryFigures>,
    pub requests: RequestFigures,
    pub breaches: BreachFigures,
    pub jobs: JobFigures,
    pub blocks: BlockFigures,
    pub archives: ArchiveFigures,
    pub consents: ConsentFigures,
    /// The k of each anonymised cohort, from its runs in the period.
    pub cohorts: Vec<CohortFigures>,
    pub coverage: CoverageFigures,
}

/// Rows of one table against its rule's period, as of the report's time: the
/// figures come from the one retention decision (`ops::retention`).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct RetentionTableFigures {
    /// The mapped table name.
    pub table: String,
    /// Personal-data categories of its mapped columns (snake_case names).
    pub categories: Vec<String>,
    /// Every row of the table.
    pub rows: i64,
    /// Not yet past the rule's period (or without a time to age by).
    pub within: i64,
    /// Past the period and free to go: what the next purge removes (for an
    /// `anonymise` rule, what it masks, rows an earlier run masked included).
    pub due: i64,
    /// Past the period but kept, per hold: `open-loan`, `blocked`,
    /// `open-request`, `referenced`. A row held for two reasons counts under each.
    pub held: Vec<HeldBack>,
    /// The oldest row past the period and free to go, if any.
    pub oldest_due: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RetentionRuleFigures {
    pub rule: String,
    /// `delete`, `anonymise` or `archive-then-delete`.
    pub action: String,
    /// The period as written in the map (`5y`).
    pub keep: String,
    /// The period in words, in the report's language.
    pub keep_words: String,
    pub legal_basis: String,
    /// The rule's cut-off: rows older than this are past the period.
    pub cutoff: DateTime<Utc>,
    pub tables: Vec<RetentionTableFigures>,
}

/// One category: the sums over the tables that hold it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct CategoryFigures {
    /// snake_case name, as in the map.
    pub category: String,
    /// Its name in the report's language.
    pub label: String,
    pub rows: i64,
    pub within: i64,
    pub due: i64,
    pub held: i64,
}

/// Requests against their statutory deadlines.
#[derive(Debug, Clone, Serialize, Default)]
pub struct RequestFigures {
    pub by_kind: Vec<RequestKindFigures>,
    /// Open requests past their due day, by reference only.
    pub overdue: Vec<OverdueRequest>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq, Default)]
pub struct RequestKindFigures {
    pub kind: String,
    /// Received in the period.
    pub received: i64,
    /// Of those received in the period: closed on or before the due day.
    pub closed_on_time: i64,
    /// Of those received in the period: closed after the due day.
    pub closed_late: i64,
    /// Open at the report's time, due day not yet passed (any receipt date).
    pub open_within: i64,
    /// Open at the report's time, due day passed (any receipt date).
    pub open_overdue: i64,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct OverdueRequest {
    /// derbes' request number.
    pub id: i64,
    pub ticket: String,
    pub kind: String,
    pub received_on: NaiveDate,
    pub due_on: NaiveDate,
    /// Calendar days past the due day at the report's time.
    pub days_late: i64,
}

/// Breaches against the one-working-day notice (docs/policy.md).
#[derive(Debug, Clone, Serialize, Default)]
pub struct BreachFigures {
    /// Discovered in the period.
    pub discovered: i64,
    /// Of those: the authorised body told on or before `notify_by`.
    pub notified_on_time: i64,
    /// Of those: told after `notify_by`.
    pub notified_late: i64,
    /// Not yet notified at the report's time, `notify_by` not passed (any date).
    pub open_within: i64,
    /// Not yet notified, `notify_by` passed (any date).
    pub open_overdue: i64,
    /// Breaches notified late or still overdue, by reference only.
    pub late: Vec<LateBreach>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct LateBreach {
    pub id: i64,
    pub ticket: String,
    pub notify_by: NaiveDate,
    /// None while still not notified.
    pub notified_on: Option<NaiveDate>,
}

/// The nightly jobs, from the audit log.
#[derive(Debug, Clone, Serialize, Default)]
pub struct JobFigures {
    /// One entry per day, operation and rule with a run in the period.
    pub nights: Vec<JobNight>,
    /// Runs `derbes.jobs` holds unfinished at the report's time (killed, failed
    /// or stopped; the next run resumes them), any date.
    pub unfinished: Vec<UnfinishedJob>,
}

/// A batch job left unfinished.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct UnfinishedJob {
    /// `purge`, `purge.partition` or `anonymise`.
    pub operation: String,
    /// The rule and table it works on (`rule:schema.table`, `rule/table`).
    pub scope: String,
    pub started_at: DateTime<Utc>,
    /// Rows done so far.
    pub rows: i64,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct JobNight {
    /// The day the run was recorded, in the data map's time zone.
    pub day: NaiveDate,
    /// `purge` or `anonymise`.
    pub operation: String,
    pub rule: String,
    pub runs: i64,
    /// Rows deleted (archived rows are deleted too) or anonymised: a purge rule's
    /// `deleted + anonymised`; a cohort's masked and deleted rows.
    pub rows: i64,
    /// Wall time of the runs that day, where the audit records it (a purge rule's
    /// `duration_ms`; None for cohort runs, whose rows do not record it).
    pub seconds: Option<f64>,
    /// Runs whose audit row says `failed` or `stopped` (a run killed outright
    /// writes none: see [`JobFigures::unfinished`]).
    pub failures: i64,
}

/// Blocks over time by reason.
#[derive(Debug, Clone, Serialize, Default)]
pub struct BlockFigures {
    /// Per month (first day) and reason: blocks placed and lifted in the period.
    pub months: Vec<BlockMonth>,
    /// Blocks in force at the report's time, per reason.
    pub active: Vec<ReasonCount>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct BlockMonth {
    pub month: NaiveDate,
    pub reason: String,
    pub blocked: i64,
    pub unblocked: i64,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ReasonCount {
    pub reason: String,
    pub count: i64,
}

/// Archives by keep-until.
#[derive(Debug, Clone, Serialize, Default)]
pub struct ArchiveFigures {
    /// Archives registered and not yet expired.
    pub held: i64,
    pub bytes: i64,
    /// Archives whose keep-until falls within 90 days of the report's time.
    pub expiring: Vec<ArchiveEntry>,
    /// Per month of keep-until: how many archives and bytes expire.
    pub by_keep_until: Vec<ArchiveMonth>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ArchiveEntry {
    pub archive_id: String,
    /// What was selected: `rule NAME`, `subject`, `table NAME`, ...
    pub selection: String,
    pub keep_until: DateTime<Utc>,
    pub bytes: i64,
    /// When `archive verify` last found it intact (its `archive.verify` audit
    /// row); None: never verified.
    pub verified_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ArchiveMonth {
    pub month: NaiveDate,
    pub archives: i64,
    pub bytes: i64,
}

/// Consents withdrawn per purpose and objections per policy version.
#[derive(Debug, Clone, Serialize, Default)]
pub struct ConsentFigures {
    /// Empty when the map names no consent ledger.
    pub purposes: Vec<PurposeFigures>,
    /// Empty when the map names no policy ledger.
    pub policy_versions: Vec<PolicyVersionFigures>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct PurposeFigures {
    pub purpose: String,
    /// Consents in force at the report's time.
    pub in_force: i64,
    /// Granted in the period.
    pub granted: i64,
    /// Withdrawn in the period.
    pub withdrawn: i64,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct PolicyVersionFigures {
    pub version: String,
    /// Subjects notified of it.
    pub notified: i64,
    /// Subjects who objected to it.
    pub objected: i64,
}

/// One anonymised cohort's latest run in the period, with the k of the data as it
/// stands at the report's time (the audit rows of a run do not record k; this is
/// what `anonymise --report` measures, over the map's quasi-identifiers).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct CohortFigures {
    pub rule: String,
    pub at: DateTime<Utc>,
    /// Smallest group over the quasi-identifiers (None: no subjects, or the map
    /// marks no quasi-identifiers).
    pub k: Option<i64>,
    pub subjects: i64,
    pub groups: i64,
    pub quasi_identifiers: Vec<String>,
}

/// How much of the database the map covers.
#[derive(Debug, Clone, Serialize, Default)]
pub struct CoverageFigures {
    pub mapped_tables: i64,
    pub mapped_columns: i64,
    /// Columns that look personal but no map entry names (what `map check` warns of).
    pub unmapped: Vec<UnmappedColumn>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct UnmappedColumn {
    pub table: String,
    pub column: String,
    /// The category it looks like, if one can be guessed.
    pub looks_like: Option<String>,
}
