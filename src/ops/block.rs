//! Account blocking (docs/policy.md 5.3, 5.7): find many subjects at once, then block or
//! unblock them in one transaction as the data map's `[block]` section declares.
//!
//! Finding is set-based: one query per identity kind (`= ANY` over an array of every
//! value of that kind), one query for an IP range or a device over every mapped
//! column of category `ip_address` / `device`. Applying is set-based too: the subject
//! rows are locked in key order (so a concurrent block and unblock of one subject
//! queue behind each other instead of interleaving), then one UPDATE per `[block]`
//! entry, one INSERT of the history rows in `derbes.blocks` and one audit row.
//!
//! Nothing here knows the command line or the terminal. Personal values never enter
//! an error, the history or the audit row: identities are shown masked and subjects
//! as `table:key`.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;

use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, GenericClient, Transaction};

use crate::kz::identity::Identity;
use crate::map::link::{KeyMatch, LinkPath};
use crate::map::{quote_ident, BlockSpec, Category, DataMap, TypeFamily};
use crate::ops::resolve::{self, ResolveError};
use crate::pg::audit::AuditEntry;
use crate::pg::catalog::Catalog;
use crate::pg::change::{self, ChangeError, Limits};

/// Why a subject is blocked; stored in `derbes.blocks.reason`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Reason {
    /// Unauthorised access or a suspected breach reported (5.7).
    Compromised,
    /// A violation of the law or the policy (5.3).
    Violation,
    Fraud,
    Other,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Compromised => "compromised",
            Reason::Violation => "violation",
            Reason::Fraud => "fraud",
            Reason::Other => "other",
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What went wrong; each case maps to its own exit code in the command layer.
#[derive(Debug, thiserror::Error)]
pub enum BlockError {
    #[error("{source_name}: {count} malformed line(s), nothing was done: {lines}; fix or remove them (a `#` starts a comment)", lines = .lines.join("; "))]
    MalformedInput {
        source_name: String,
        count: usize,
        /// The first few, by line number or argument position (never by content).
        lines: Vec<String>,
    },
    #[error("{source_name} is not a text file of identities ({reason}), nothing was done; give UTF-8 text, one identity a line (its content is not shown)")]
    NotText {
        source_name: String,
        reason: &'static str,
    },
    #[error("`{0}` is not an IP address range: give CIDR notation such as 203.0.113.0/24 or 2001:db8::/32")]
    BadCidr(String),
    #[error("no subjects given: name identities, --from-file FILE (or - for stdin), --ip CIDR or --device ID")]
    NoInput,
    #[error("{count} identit(y/ies) match no subject, nothing was changed: {}; correct them, or pass --skip-unknown to block the rest", .listed.join(", "))]
    Unknown { count: usize, listed: Vec<String> },
    #[error("{count} identit(y/ies) match several subjects, nothing was changed: {}; use a more specific identity (IIN, or id:KEY)", .listed.join("; "))]
    Ambiguous { count: usize, listed: Vec<String> },
    #[error(
        "the selector matches no subject: nothing to block; check the range, device id or --since"
    )]
    NothingSelected,
    #[error("this run would block {count} subjects, more than --max {max}: nothing was blocked; narrow the selection, or raise --max if {count} is really intended")]
    TooMany { count: usize, max: usize },
    #[error("the data map has no [block] section: declare what blocking does (status column, sessions to revoke) before blocking")]
    NoBlockSpec,
    #[error("the data map does not fit the database: {0}; run `derbes map check`")]
    MapMismatch(String),
    #[error(transparent)]
    Resolve(ResolveError),
    #[error(transparent)]
    Change(#[from] ChangeError),
    #[error("unblocking needs the reference of the subject's written application (policy 5.7): pass --application REF")]
    NoApplication,
    #[error("database error: {0}")]
    Database(String),
}

impl From<tokio_postgres::Error> for BlockError {
    fn from(error: tokio_postgres::Error) -> BlockError {
        match ChangeError::from(error) {
            ChangeError::Database(message) => BlockError::Database(message),
            other => BlockError::Change(other),
        }
    }
}

/// One identity as given, and where it was given (for messages).
#[derive(Debug, Clone)]
pub struct GivenIdentity {
    pub identity: Identity,
    /// `argument 2`, `list.txt:14`, `stdin:3`.
    pub origin: String,
}

impl GivenIdentity {
    /// Masked, with its origin: safe to print and log.
    pub fn describe(&self) -> String {
        format!("{} ({})", self.identity.masked(), self.origin)
    }
}

/// Identities read from arguments and files, duplicates removed.
#[derive(Debug, Default)]
pub struct IdentityList {
    pub identities: Vec<GivenIdentity>,
    /// Identities given more than once (each counted once).
    pub duplicates: usize,
    seen: HashSet<Identity>,
}

impl IdentityList {
    /// Add identities from the command line; `errors` collects the bad ones.
    pub fn add_arguments(&mut self, arguments: &[String]) -> Result<(), BlockError> {
        let mut bad = Vec::new();
        for (i, text) in arguments.iter().enumerate() {
            let origin = format!("argument {}", i + 1);
            match Identity::parse(text) {
                Ok(identity) => self.push(identity, origin),
                Err(e) => bad.push(format!("{origin}: {e}")),
            }
        }
        if bad.is_empty() {
            Ok(())
        } else {
            Err(malformed("command line", bad))
        }
    }

    /// Add the identities of a file or stdin as read: a UTF-8 byte-order mark (as
    /// spreadsheet programs write) is skipped; UTF-16, NUL bytes or bytes that are not
    /// UTF-8 (a binary file given by mistake) are refused without showing them.
    pub fn add_bytes(&mut self, bytes: &[u8], source_name: &str) -> Result<(), BlockError> {
        let not_text = |reason| BlockError::NotText {
            source_name: source_name.to_owned(),
            reason,
        };
        if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) {
            return Err(not_text("it is UTF-16: save it as UTF-8"));
        }
        let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        if bytes.contains(&0) {
            return Err(not_text("it holds NUL bytes: a binary file?"));
        }
        let text = std::str::from_utf8(bytes)
            .map_err(|_| not_text("it holds bytes that are not UTF-8: a binary file?"))?;
        self.add_lines(text, source_name)
    }

    /// Add one identity per line of `text`; blank lines and `#` comments are skipped.
    /// Every malformed line is reported by number, none by content.
    pub fn add_lines(&mut self, text: &str, source_name: &str) -> Result<(), BlockError> {
        let mut bad = Vec::new();
        for (index, line) in text.lines().enumerate() {
            let content = line.split('#').next().unwrap_or("").trim();
            if content.is_empty() {
                continue;
            }
            let origin = format!("{source_name}:{}", index + 1);
            match Identity::parse(content) {
                Ok(identity) => self.push(identity, origin),
                Err(e) => bad.push(format!("line {}: {e}", index + 1)),
            }
        }
        if bad.is_empty() {
            Ok(())
        } else {
            Err(malformed(source_name, bad))
        }
    }

    fn push(&mut self, identity: Identity, origin: String) {
        if self.seen.insert(identity.clone()) {
            self.identities.push(GivenIdentity { identity, origin });
        } else {
            self.duplicates += 1;
        }
    }

    pub fn is_empty(&self) -> bool {
        self.identities.is_empty()
    }
}

fn malformed(source_name: &str, mut bad: Vec<String>) -> BlockError {
    const SHOWN: usize = 20;
    let count = bad.len();
    if count > SHOWN {
        bad.truncate(SHOWN);
        bad.push(format!("and {} more", count - SHOWN));
    }
    BlockError::MalformedInput {
        source_name: source_name.to_owned(),
        count,
        lines: bad,
    }
}

/// A range of addresses, parsed from CIDR notation (host bits are ignored, a bare
/// address is a single host).
pub fn parse_cidr(text: &str) -> Result<cidr::IpCidr, BlockError> {
    let text = text.trim();
    text.parse::<cidr::IpCidr>()
        .or_else(|_| text.parse::<cidr::IpInet>().map(|inet| inet.network()))
        .map_err(|_| BlockError::BadCidr(text.chars().take(60).collect()))
}

/// How subjects are chosen besides identities.
#[derive(Debug, Clone)]
pub enum Selector {
    /// Every subject with a row from an address in the range.
    Ip {
        range: cidr::IpCidr,
        since: Option<DateTime<Utc>>,
    },
    /// Every subject with a row naming the device.
    Device {
        id: String,
        since: Option<DateTime<Utc>>,
    },
}

impl Selector {
    fn kind(&self) -> &'static str {
        match self {
            Selector::Ip { .. } => "ip",
            Selector::Device { .. } => "device",
        }
    }
}

/// A subject found, and how.
#[derive(Debug, Clone, Serialize)]
pub struct FoundSubject {
    /// Primary key of the subject row, as text.
    pub key: String,
    /// `table:key`.
    pub subject: String,
    /// What found it: a masked identity and its origin, or the selector.
    pub found_by: String,
}

/// The result of finding subjects.
#[derive(Debug, Default)]
pub struct Found {
    pub subjects: Vec<FoundSubject>,
    pub unknown: Vec<GivenIdentity>,
    /// Identities matching several subjects, with the keys they match.
    pub ambiguous: Vec<(GivenIdentity, Vec<String>)>,
}

/// SQL fragments derived from the data map and the catalogue. Every identifier
/// comes from the validated map and is quoted; every value is a bound parameter.
struct Shape<'a> {
    map: &'a DataMap,
    catalog: &'a Catalog,
}

impl<'a> Shape<'a> {
    fn column_type(&self, table: &str, column: &str) -> Result<String, BlockError> {
        let name = self.map.table_name(table);
        self.catalog
            .tables
            .get(&name)
            .ok_or_else(|| BlockError::MapMismatch(format!("table {name} does not exist")))?
            .column_type(column)
            .map(str::to_owned)
            .ok_or_else(|| {
                BlockError::MapMismatch(format!("column {name}.{column} does not exist"))
            })
    }

    fn path(&self, table: &str) -> Result<LinkPath, BlockError> {
        LinkPath::compile(self.map, self.catalog, table).map_err(BlockError::MapMismatch)
    }

    /// A condition on `alias` (a row of `table`) selecting the rows of the subjects
    /// whose keys are the text array `$1`.
    fn rows_of_subjects(&self, table: &str, alias: &str) -> Result<String, BlockError> {
        Ok(self.path(table)?.rows_of(alias, KeyMatch::Any(1)))
    }

    /// `"schema.table"` as recorded in `derbes.blocks.subject_table`.
    fn subject_table_label(&self) -> String {
        self.map.subject_table().to_string()
    }

    fn subject_ref(&self, key: &str) -> String {
        format!("{}:{key}", self.map.subject.table)
    }
}

/// Find the subjects of many identities with the shared resolver: one query per
/// identity kind.
pub async fn find_identities(
    client: &impl GenericClient,
    map: &DataMap,
    catalog: &Catalog,
    identities: &[GivenIdentity],
) -> Result<Found, BlockError> {
    let shape = Shape { map, catalog };
    let given: Vec<Identity> = identities.iter().map(|g| g.identity.clone()).collect();
    let resolved = resolve::resolve_all(client, map, catalog, &given)
        .await
        .map_err(BlockError::Resolve)?;
    let mut found = Found::default();
    let mut seen_keys = HashSet::new();
    for (given, keys) in identities.iter().zip(&resolved.keys) {
        match keys.len() {
            0 => found.unknown.push(given.clone()),
            1 => {
                let key = keys.iter().next().expect("one key");
                if seen_keys.insert(key.clone()) {
                    found.subjects.push(FoundSubject {
                        key: key.clone(),
                        subject: shape.subject_ref(key),
                        found_by: given.describe(),
                    });
                }
            }
            _ => found
                .ambiguous
                .push((given.clone(), keys.iter().cloned().collect())),
        }
    }
    Ok(found)
}

/// Find every subject a selector matches: one query over every mapped column of
/// the selector's category.
pub async fn find_selected(
    client: &impl GenericClient,
    map: &DataMap,
    catalog: &Catalog,
    selector: &Selector,
) -> Result<Found, BlockError> {
    let shape = Shape { map, catalog };
    let (category, value, since, label) = match selector {
        Selector::Ip { range, since } => (
            Category::IpAddress,
            range.to_string(),
            since,
            format!("ip {range}"),
        ),
        Selector::Device { id, since } => {
            (Category::Device, id.clone(), since, "device".to_owned())
        }
    };
    let mut parts = Vec::new();
    for (table, spec) in &map.tables {
        let Some(catalog_table) = catalog.tables.get(&map.table_name(table)) else {
            return Err(BlockError::MapMismatch(format!(
                "table {} does not exist",
                map.table_name(table)
            )));
        };
        for (column, column_spec) in &spec.columns {
            if column_spec.category != category {
                continue;
            }
            let ty = shape.column_type(table, column)?;
            let family = TypeFamily::of(&ty);
            let quoted = quote_ident(column);
            let condition = match category {
                Category::IpAddress if family == TypeFamily::Inet => {
                    format!("t0.{quoted} <<= $1::text::inet")
                }
                Category::IpAddress => format!("t0.{quoted}::inet <<= $1::text::inet"),
                // Device identifiers are indexed; descriptive device columns (OS,
                // model) are not, and matching them would select half the population.
                _ if !catalog_table.has_leading_index(column) => continue,
                _ if family == TypeFamily::Integer && value.parse::<i64>().is_err() => continue,
                _ if matches!(family, TypeFamily::Integer | TypeFamily::Text) => {
                    format!("t0.{quoted} = $1::text::{ty}")
                }
                _ => continue,
            };
            let joined = shape.path(table)?.joined();
            let mut part = format!(
                "SELECT {}::text AS key FROM {}{} WHERE {condition}",
                joined.key, joined.first, joined.joins
            );
            if since.is_some() {
                match &spec.time_column {
                    Some(time) => part.push_str(&format!(" AND t0.{} >= $2", quote_ident(time))),
                    // Rows without a time cannot be told apart by --since: skip them.
                    None => continue,
                }
            }
            parts.push(part);
        }
    }
    if parts.is_empty() {
        return Err(BlockError::MapMismatch(format!(
            "no mapped column of category {category} can be searched"
        )));
    }
    let sql = format!(
        "SELECT DISTINCT key FROM ({}) AS found ORDER BY key",
        parts.join(" UNION ALL ")
    );
    let rows = match since {
        Some(since) => client.query(&sql, &[&value, since]).await?,
        None => client.query(&sql, &[&value]).await?,
    };
    let subjects = rows
        .iter()
        .map(|row| {
            let key: String = row.get(0);
            FoundSubject {
                subject: shape.subject_ref(&key),
                key,
                found_by: label.clone(),
            }
        })
        .collect();
    Ok(Found {
        subjects,
        ..Found::default()
    })
}

/// The guard rails, checked before anything changes.
#[derive(Debug, Clone, Copy)]
pub struct Guards {
    pub max: usize,
    pub skip_unknown: bool,
}

/// Refuse what must not run: unknown or ambiguous identities, an empty or too
/// large selection. Returns the subjects to act on.
pub fn check_guards(found: Found, guards: Guards) -> Result<Vec<FoundSubject>, BlockError> {
    if !found.ambiguous.is_empty() {
        const SHOWN: usize = 20;
        let mut listed: Vec<String> = found
            .ambiguous
            .iter()
            .take(SHOWN)
            .map(|(given, keys)| {
                let keys: Vec<String> = keys.iter().map(|k| format!("id:{k}")).collect();
                format!("{} matches {}", given.describe(), keys.join(", "))
            })
            .collect();
        if found.ambiguous.len() > SHOWN {
            listed.push(format!("and {} more", found.ambiguous.len() - SHOWN));
        }
        return Err(BlockError::Ambiguous {
            count: found.ambiguous.len(),
            listed,
        });
    }
    if !found.unknown.is_empty() && !guards.skip_unknown {
        return Err(BlockError::Unknown {
            count: found.unknown.len(),
            listed: first_few(&found.unknown),
        });
    }
    if found.subjects.is_empty() {
        return Err(BlockError::NothingSelected);
    }
    if found.subjects.len() > guards.max {
        return Err(BlockError::TooMany {
            count: found.subjects.len(),
            max: guards.max,
        });
    }
    Ok(found.subjects)
}

/// The first identities of a list, described, and how many more there are: an
/// error message stays readable when a file of thousands goes wrong.
fn first_few(identities: &[GivenIdentity]) -> Vec<String> {
    const SHOWN: usize = 20;
    let mut described: Vec<String> = identities
        .iter()
        .take(SHOWN)
        .map(GivenIdentity::describe)
        .collect();
    if identities.len() > SHOWN {
        described.push(format!("and {} more", identities.len() - SHOWN));
    }
    described
}

/// A block to apply.
#[derive(Debug, Clone)]
pub struct BlockRequest {
    pub subjects: Vec<FoundSubject>,
    pub reason: Reason,
    pub ticket: String,
    /// `identity`, `ip` or `device`.
    pub selector: String,
    pub operator: String,
    /// Identities skipped with --skip-unknown (masked), for the report.
    pub skipped_unknown: Vec<String>,
    pub duplicates: usize,
    pub dry_run: bool,
}

impl BlockRequest {
    pub fn selector_of(selector: Option<&Selector>) -> String {
        selector.map_or("identity", Selector::kind).to_owned()
    }
}

/// What a block run did (or, for a dry run, would do).
#[derive(Debug, Clone, Serialize)]
pub struct BlockReport {
    pub dry_run: bool,
    pub reason: Reason,
    pub ticket: String,
    pub blocked: Vec<FoundSubject>,
    /// Already blocked before this run: left as they were.
    pub already_blocked: Vec<FoundSubject>,
    /// Found, but gone by the time the run locked them.
    pub vanished: Vec<FoundSubject>,
    pub skipped_unknown: Vec<String>,
    pub duplicates: usize,
    /// Rows changed per `table.column`.
    pub changes: BTreeMap<String, i64>,
    /// The audit record of the run (rolled back with it on a dry run).
    pub audit_seq: Option<i64>,
}

/// Block subjects in one transaction: lock them in key order, skip those already
/// blocked, apply the map's `[block]` section, write history and one audit row.
pub async fn block(
    client: &mut Client,
    map: &DataMap,
    catalog: &Catalog,
    request: &BlockRequest,
) -> Result<BlockReport, BlockError> {
    let spec = map.block.as_ref().ok_or(BlockError::NoBlockSpec)?;
    let shape = Shape { map, catalog };
    let change = change::begin(client, &Limits::default(), request.dry_run).await?;
    let keys: Vec<String> = request.subjects.iter().map(|s| s.key.clone()).collect();
    let present = change
        .lock_subjects(&shape.path(&map.subject.table)?, &keys)
        .await?;
    let tx = change.tx();
    let active: HashSet<String> = active_blocks(tx, &shape, &keys)
        .await?
        .into_iter()
        .map(|b| b.subject_key)
        .collect();

    let mut report = BlockReport {
        dry_run: request.dry_run,
        reason: request.reason,
        ticket: request.ticket.clone(),
        blocked: Vec::new(),
        already_blocked: Vec::new(),
        vanished: Vec::new(),
        skipped_unknown: request.skipped_unknown.clone(),
        duplicates: request.duplicates,
        changes: BTreeMap::new(),
        audit_seq: None,
    };
    for subject in &request.subjects {
        if !present.contains(&subject.key) {
            report.vanished.push(subject.clone());
        } else if active.contains(&subject.key) {
            report.already_blocked.push(subject.clone());
        } else {
            report.blocked.push(subject.clone());
        }
    }
    let to_block: Vec<String> = report.blocked.iter().map(|s| s.key.clone()).collect();
    if !to_block.is_empty() {
        report.changes = apply_block_spec(tx, &shape, spec, &to_block).await?;
        tx.execute(
            "INSERT INTO derbes.blocks (subject_table, subject_key, reason, ticket, selector, blocked_by) \
             SELECT $1, k, $3, $4, $5, $6 FROM unnest($2::text[]) AS k",
            &[
                &shape.subject_table_label(),
                &to_block,
                &request.reason.as_str(),
                &request.ticket,
                &request.selector,
                &request.operator,
            ],
        )
        .await?;
    }
    let mut counts = BTreeMap::from([
        ("subjects".to_owned(), report.blocked.len() as i64),
        (
            "already_blocked".to_owned(),
            report.already_blocked.len() as i64,
        ),
    ]);
    counts.extend(report.changes.clone());
    let entry = AuditEntry {
        action: "block".to_owned(),
        ticket: Some(request.ticket.clone()),
        subject_ref: single_ref(&report.blocked),
        counts,
        fields: report.changes.keys().cloned().collect(),
        detail: serde_json::json!({
            "reason": request.reason.as_str(),
            "selector": request.selector,
            "skipped_unknown": report.skipped_unknown.len(),
            "map_digest": map.digest(),
        }),
    };
    crate::fault::point("block.updated");
    report.audit_seq = Some(change.commit(&request.operator, &entry).await?.seq);
    Ok(report)
}

/// An unblock to apply.
#[derive(Debug, Clone)]
pub struct UnblockRequest {
    pub subjects: Vec<FoundSubject>,
    /// Reference of the subject's written application (5.7).
    pub application: String,
    pub ticket: String,
    pub operator: String,
    pub dry_run: bool,
}

/// One subject restored, with the block it had.
#[derive(Debug, Clone, Serialize)]
pub struct Unblocked {
    #[serde(flatten)]
    pub subject: FoundSubject,
    pub reason: String,
    pub block_ticket: String,
    pub blocked_at: DateTime<Utc>,
    pub blocked_by: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct UnblockReport {
    pub dry_run: bool,
    pub ticket: String,
    pub application: String,
    pub unblocked: Vec<Unblocked>,
    /// Not blocked when the run looked: left as they were.
    pub not_blocked: Vec<FoundSubject>,
    pub changes: BTreeMap<String, i64>,
    pub audit_seq: Option<i64>,
}

/// Restore access: undo the map's `set` entries (only where they still hold the
/// blocked value), close the history rows. Revoked sessions stay revoked and bumped
/// token versions stay bumped: the subject logs in again.
pub async fn unblock(
    client: &mut Client,
    map: &DataMap,
    catalog: &Catalog,
    request: &UnblockRequest,
) -> Result<UnblockReport, BlockError> {
    if request.application.trim().is_empty() {
        return Err(BlockError::NoApplication);
    }
    let spec = map.block.as_ref().ok_or(BlockError::NoBlockSpec)?;
    let shape = Shape { map, catalog };
    let change = change::begin(client, &Limits::default(), request.dry_run).await?;
    let keys: Vec<String> = request.subjects.iter().map(|s| s.key.clone()).collect();
    change
        .lock_subjects(&shape.path(&map.subject.table)?, &keys)
        .await?;
    let tx = change.tx();
    let active: HashMap<String, BlockRecord> = active_blocks(tx, &shape, &keys)
        .await?
        .into_iter()
        .map(|b| (b.subject_key.clone(), b))
        .collect();
    let mut report = UnblockReport {
        dry_run: request.dry_run,
        ticket: request.ticket.clone(),
        application: request.application.clone(),
        unblocked: Vec::new(),
        not_blocked: Vec::new(),
        changes: BTreeMap::new(),
        audit_seq: None,
    };
    for subject in &request.subjects {
        match active.get(&subject.key) {
            Some(block) => report.unblocked.push(Unblocked {
                subject: subject.clone(),
                reason: block.reason.clone(),
                block_ticket: block.ticket.clone(),
                blocked_at: block.blocked_at,
                blocked_by: block.blocked_by.clone(),
            }),
            None => report.not_blocked.push(subject.clone()),
        }
    }
    let to_unblock: Vec<String> = report
        .unblocked
        .iter()
        .map(|u| u.subject.key.clone())
        .collect();
    if !to_unblock.is_empty() {
        for set in &spec.set {
            let ty = shape.column_type(&set.table, &set.column)?;
            let column = quote_ident(&set.column);
            let sql = format!(
                "UPDATE {} t0 SET {column} = CAST($2::text AS {ty}) WHERE {} AND t0.{column} = CAST($3::text AS {ty})",
                map.table_name(&set.table).quoted(),
                shape.rows_of_subjects(&set.table, "t0")?
            );
            let n = tx
                .execute(&sql, &[&to_unblock, &set.unblock_value, &set.value])
                .await?;
            report
                .changes
                .insert(format!("{}.{}", set.table, set.column), n as i64);
        }
        tx.execute(
            "UPDATE derbes.blocks SET unblocked_at = now(), unblocked_by = $3, \
             unblock_ticket = $4, application_ref = $5 \
             WHERE subject_table = $1 AND subject_key = ANY($2::text[]) AND unblocked_at IS NULL",
            &[
                &shape.subject_table_label(),
                &to_unblock,
                &request.operator,
                &request.ticket,
                &request.application,
            ],
        )
        .await?;
    }
    let mut counts = BTreeMap::from([
        ("subjects".to_owned(), report.unblocked.len() as i64),
        ("not_blocked".to_owned(), report.not_blocked.len() as i64),
    ]);
    counts.extend(report.changes.clone());
    let entry = AuditEntry {
        action: "unblock".to_owned(),
        ticket: Some(request.ticket.clone()),
        subject_ref: single_ref(
            &report
                .unblocked
                .iter()
                .map(|u| u.subject.clone())
                .collect::<Vec<_>>(),
        ),
        counts,
        fields: report.changes.keys().cloned().collect(),
        detail: serde_json::json!({
            "application": request.application,
            "map_digest": map.digest(),
        }),
    };
    report.audit_seq = Some(change.commit(&request.operator, &entry).await?.seq);
    Ok(report)
}

async fn active_blocks(
    tx: &Transaction<'_>,
    shape: &Shape<'_>,
    keys: &[String],
) -> Result<Vec<BlockRecord>, BlockError> {
    let sql = format!(
        "SELECT {BLOCK_COLUMNS} FROM derbes.blocks \
         WHERE subject_table = $1 AND subject_key = ANY($2::text[]) AND unblocked_at IS NULL"
    );
    Ok(tx
        .query(&sql, &[&shape.subject_table_label(), &keys])
        .await?
        .iter()
        .map(BlockRecord::from_row)
        .collect())
}

/// The `[block]` section as set-based UPDATEs: the `set` and `bump` entries of one
/// table in a single UPDATE (one new row version per row, not one per column), and
/// one UPDATE per `revoke` entry touching only live rows. Rows changed per
/// `table.column`.
async fn apply_block_spec(
    tx: &Transaction<'_>,
    shape: &Shape<'_>,
    spec: &BlockSpec,
    keys: &[String],
) -> Result<BTreeMap<String, i64>, BlockError> {
    let mut changes = BTreeMap::new();
    let map = shape.map;
    let mut tables: Vec<&str> = spec
        .set
        .iter()
        .map(|s| s.table.as_str())
        .chain(spec.bump.iter().map(|b| b.table.as_str()))
        .collect();
    tables.sort_unstable();
    tables.dedup();
    for table in tables {
        let mut assignments = Vec::new();
        let mut columns = Vec::new();
        let mut values: Vec<&(dyn ToSql + Sync)> = vec![&keys];
        for set in spec.set.iter().filter(|s| s.table == table) {
            let ty = shape.column_type(&set.table, &set.column)?;
            values.push(&set.value);
            assignments.push(format!(
                "{} = CAST(${}::text AS {ty})",
                quote_ident(&set.column),
                values.len()
            ));
            columns.push(&set.column);
        }
        for bump in spec.bump.iter().filter(|b| b.table == table) {
            let column = quote_ident(&bump.column);
            assignments.push(format!("{column} = t0.{column} + 1"));
            columns.push(&bump.column);
        }
        let sql = format!(
            "UPDATE {} t0 SET {} WHERE {}",
            map.table_name(table).quoted(),
            assignments.join(", "),
            shape.rows_of_subjects(table, "t0")?
        );
        let n = tx.execute(&sql, &values).await?;
        for column in columns {
            changes.insert(format!("{table}.{column}"), n as i64);
        }
    }
    for revoke in &spec.revoke {
        let column = quote_ident(&revoke.column);
        let sql = format!(
            "UPDATE {} t0 SET {column} = now() WHERE {} AND t0.{column} IS NULL",
            map.table_name(&revoke.table).quoted(),
            shape.rows_of_subjects(&revoke.table, "t0")?
        );
        let n = tx.execute(&sql, &[&keys]).await?;
        changes.insert(format!("{}.{}", revoke.table, revoke.column), n as i64);
    }
    Ok(changes)
}

fn single_ref(subjects: &[FoundSubject]) -> Option<String> {
    match subjects {
        [one] => Some(one.subject.clone()),
        _ => None,
    }
}

const BLOCK_COLUMNS: &str =
    "id, subject_table, subject_key, reason, ticket, selector, blocked_by, \
     blocked_at, unblocked_at, unblocked_by, unblock_ticket, application_ref";

/// One row of `derbes.blocks`.
#[derive(Debug, Clone, Serialize)]
pub struct BlockRecord {
    pub id: i64,
    pub subject_table: String,
    pub subject_key: String,
    pub reason: String,
    pub ticket: String,
    pub selector: String,
    pub blocked_by: String,
    pub blocked_at: DateTime<Utc>,
    pub unblocked_at: Option<DateTime<Utc>>,
    pub unblocked_by: Option<String>,
    pub unblock_ticket: Option<String>,
    pub application_ref: Option<String>,
}

impl BlockRecord {
    fn from_row(row: &tokio_postgres::Row) -> BlockRecord {
        BlockRecord {
            id: row.get("id"),
            subject_table: row.get("subject_table"),
            subject_key: row.get("subject_key"),
            reason: row.get("reason"),
            ticket: row.get("ticket"),
            selector: row.get("selector"),
            blocked_by: row.get("blocked_by"),
            blocked_at: row.get("blocked_at"),
            unblocked_at: row.get("unblocked_at"),
            unblocked_by: row.get("unblocked_by"),
            unblock_ticket: row.get("unblock_ticket"),
            application_ref: row.get("application_ref"),
        }
    }
}

/// Which history rows `list` returns.
#[derive(Debug, Clone, Default)]
pub struct BlocksFilter {
    /// Only blocks still in force.
    pub active_only: bool,
    /// Only blocks made at or after this moment.
    pub since: Option<DateTime<Utc>>,
    pub limit: i64,
}

/// The block history, newest first.
pub async fn list(
    client: &impl GenericClient,
    filter: &BlocksFilter,
) -> Result<Vec<BlockRecord>, BlockError> {
    // Spelled out (not `$n OR ...`) so the partial index of active blocks applies.
    let active = if filter.active_only {
        "unblocked_at IS NULL"
    } else {
        "true"
    };
    let sql = format!(
        "SELECT {BLOCK_COLUMNS} FROM derbes.blocks \
         WHERE {active} AND ($1::timestamptz IS NULL OR blocked_at >= $1) \
         ORDER BY blocked_at DESC, id DESC LIMIT $2"
    );
    let params: [&(dyn ToSql + Sync); 2] = [&filter.since, &filter.limit];
    Ok(client
        .query(&sql, &params)
        .await?
        .iter()
        .map(BlockRecord::from_row)
        .collect())
}
