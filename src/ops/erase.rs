//! Erasure of one subject (docs/policy.md 8.1, Law 94-V Art. 24(1)(4)): archive, then
//! delete or depersonalise, verified before commit, all in one transaction.
//!
//! The steps, in one REPEATABLE READ change (`change::begin_snapshot`) with the
//! subject row locked:
//! 1. every row of the subject, in every mapped table, goes into an age archive
//!    that is read back and checked (`archive::write_verified` with
//!    `capture_keys`): the policy keeps all of it "in the company's archive for the
//!    period the law sets", and the captured primary keys are the only rows the
//!    later steps touch (never the subject predicate run again);
//! 2. per table, the data map decides: rows under **legal hold** stay as they are
//!    (the table's retention rule is `archive-then-delete` and the row is within
//!    its `keep`, or the row is an open loan of the loan ledger; a table whose rows
//!    a kept row points at is kept too, or the delete would break the foreign
//!    key); rows **shared** with another subject (an address two customers point
//!    at) stay; a table whose retention rule is `anonymise` is **masked** with its
//!    columns' strategies (`delete-row` deletes); every other row is **deleted**,
//!    children before parents (the foreign keys' order);
//! 3. the **residual check** searches every text column of every mapped table, in
//!    the subject's rows still there and not kept by law or shared, for the
//!    subject's original IIN, BIN, phone, email and names; a hit aborts the whole
//!    erasure (rollback; the archive file is removed) and names `table.column`;
//! 4. the audit row, and commit (a dry run rolls back here).
//!
//! Nothing personal reaches a message, a report or the audit row: the subject is
//! `table:key`, findings name columns only.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use chrono::Utc;
use serde::Serialize;
use tokio_postgres::{Client, Transaction};

use crate::error::DerbesError;
use crate::files::crypto::Recipients;
use crate::kz::identity::Identity;
use crate::map::link::{KeyMatch, LinkPath};
use crate::map::{
    quote_ident, Category, DataMap, IdentityKind, RetentionAction, TableName, TypeFamily,
};
use crate::ops::archive::{self, ArchiveRequest, ArchiveSummary, ArchivedKeys, Selection};
use crate::ops::masking::{self, MaskKey, Params, RowScope, Value};
use crate::ops::resolve;
use crate::ops::retention::{self, Conditions, RulePlan, TablePlan};
use crate::pg::audit::{self, AuditEntry};
use crate::pg::catalog::Catalog;
use crate::pg::change::{self, Limits, Snapshot};
use crate::pg::db::StatementCache;
use crate::when::Period;

/// What to erase and how.
pub struct EraseRequest {
    /// The subject key (resolved with [`find`]).
    pub key: String,
    pub ticket: String,
    pub operator: String,
    /// Who can open the archive of the subject's rows.
    pub recipients: Recipients,
    pub archive_out: PathBuf,
    /// How long the archive is kept; default: the longest `archive_keep` of the map.
    pub keep: Option<String>,
    pub mask_key: Option<MaskKey>,
    pub dry_run: bool,
    pub limits: Limits,
    /// Erase a subject the ledger says was erased before.
    pub again: bool,
}

/// What happened to one table's rows of the subject.
#[derive(Debug, Clone, Serialize)]
pub struct TableOutcome {
    pub table: String,
    /// `delete`, `mask` or `keep`: the map's action for the rows not held or shared.
    pub action: String,
    pub rows: u64,
    pub deleted: u64,
    pub masked: u64,
    /// Rows kept under legal hold.
    pub kept: u64,
    /// Rows kept because another subject shares them.
    pub shared: u64,
    /// Why rows were kept, in words (no personal values).
    pub reasons: Vec<String>,
    /// In the rows kept by law: the columns kept, each with its category and the
    /// rule that keeps it (`column (category): rule`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub kept_columns: Vec<String>,
    /// In the rows kept by law: the columns masked, the law not needing them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub minimised_columns: Vec<String>,
    /// Rows kept by law whose other personal columns were masked.
    pub minimised: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct EraseReport {
    pub subject: String,
    pub ticket: String,
    pub dry_run: bool,
    pub tables: Vec<TableOutcome>,
    pub archive: Option<ArchiveSummary>,
    /// Columns the residual check searched.
    pub residual_columns_checked: usize,
    /// Columns masked with `hmac`: pseudonymised, re-linkable by the key holder.
    pub pseudonymised: Vec<String>,
}

/// Resolve the identity to exactly one subject (exit 3 / 4 otherwise).
pub async fn find(
    client: &Client,
    map: &DataMap,
    catalog: &Catalog,
    identity: &Identity,
) -> anyhow::Result<resolve::Candidate> {
    resolve::resolve_one(client, map, catalog, identity)
        .await
        .map_err(anyhow::Error::new)
}

/// The legal hold of a table: a condition on `t0` and why, with its values bound.
pub(crate) struct Hold {
    /// (condition, reason) parts, OR-ed.
    parts: Vec<(String, String)>,
}

impl Hold {
    /// The hold of mapped table `table`, from the retention decision of its rule
    /// (`retention`: the rule and the table's plan, prepared for the subject by
    /// [`retention::for_subject`]), and the loan ledger's open loans.
    pub(crate) fn of(
        map: &DataMap,
        retention: Option<(&RulePlan, &TablePlan)>,
        table: &str,
        values: &mut Params,
    ) -> Hold {
        let mut parts = Vec::new();
        if let Some((rule, plan)) = retention.filter(|(rule, _)| rule.keeps_by_law()) {
            let cutoff = values.text(rule.cutoff.to_rfc3339());
            if let Some(kept) = Conditions::at(rule, plan, &cutoff).kept_from_erasure() {
                parts.extend(kept);
            }
        }
        if let Some(loans) = map.ledgers.loans.as_ref().filter(|l| l.table == table) {
            let p = values.push(Value::TextArray(loans.open.clone()));
            let open = format!("t0.{}::text = ANY({p}::text[])", quote_ident(&loans.status));
            let reason = retention::OPEN_LOAN;
            // One reason, said once: the rule's open-loan hold and the open loan row.
            match parts.iter_mut().find(|(_, r)| r == reason) {
                Some((condition, _)) => *condition = format!("({condition} OR {open})"),
                None => parts.push((open, reason.to_owned())),
            }
        }
        Hold { parts }
    }

    pub(crate) fn condition(&self) -> String {
        if self.parts.is_empty() {
            "FALSE".to_owned()
        } else {
            let parts: Vec<&str> = self.parts.iter().map(|(c, _)| c.as_str()).collect();
            format!("({})", parts.join(" OR "))
        }
    }
}

/// One table of the subject, as planned.
struct Planned {
    key: String,
    path: LinkPath,
    keys: ArchivedKeys,
    masks: Option<masking::TableMasks>,
    /// Every row is kept (a parent of kept rows).
    keep_all: Option<String>,
    /// The table's retention rule and plan, prepared for the subject.
    retention: Option<(RulePlan, TablePlan)>,
    outcome: TableOutcome,
}

impl Planned {
    /// `USING <keys> k WHERE t0.pk = k.pk [AND NOT hold AND NOT shared]`, with the
    /// hold's and the subject key's values pushed onto `p`.
    fn scope(&self, map: &DataMap, subject_key: &str, remaining: bool, p: &mut Params) -> RowScope {
        let mut condition = self.keys.matches("t0", "k");
        if remaining {
            let hold = Hold::of(map, self.retention(), &self.key, p);
            condition.push_str(&format!(" AND NOT {}", hold.condition()));
            if let Some(shared) = self.shared_sql(subject_key, p) {
                condition.push_str(&format!(" AND NOT ({shared})"));
            }
        }
        RowScope {
            using: format!("{} k", self.keys.quoted_temp_table()),
            condition,
        }
    }

    fn retention(&self) -> Option<(&RulePlan, &TablePlan)> {
        self.retention.as_ref().map(|(rule, table)| (rule, table))
    }

    /// A condition on `t0`: the row is shared with another subject.
    fn shared_sql(&self, subject_key: &str, p: &mut Params) -> Option<String> {
        // A table without a primary key cannot name its shared rows; `erase`
        // refuses it before planning when its link may share rows.
        if !self.path.may_share() || self.keys.by_row_address() {
            return None;
        }
        let n = p.text(subject_key)[1..]
            .parse::<usize>()
            .expect("a placeholder");
        let select = self
            .path
            .shared_rows(&self.keys.key_columns, KeyMatch::One(n))?;
        let row: Vec<String> = self
            .keys
            .key_columns
            .iter()
            .map(|c| format!("t0.{}::text", quote_ident(c)))
            .collect();
        Some(format!("({}) IN ({select})", row.join(", ")))
    }
}

async fn count(
    tx: &Transaction<'_>,
    table: &TableName,
    scope: &RowScope,
    extra: &str,
    p: &Params,
) -> anyhow::Result<u64> {
    let sql = format!(
        "SELECT count(*) FROM {} t0, {} WHERE {}{extra}",
        table.quoted(),
        scope.using,
        scope.condition
    );
    let n: i64 = tx.query_one(&sql, &p.refs()).await?.get(0);
    Ok(n as u64)
}

/// The values the residual check looks for: (substring needles, lowercased;
/// whole-word name needles).
async fn originals(
    tx: &Transaction<'_>,
    map: &DataMap,
    catalog: &Catalog,
    key: &str,
) -> anyhow::Result<(Vec<String>, Vec<String>)> {
    let mut needles = BTreeSet::new();
    let mut names = BTreeSet::new();
    let mut wanted: Vec<(String, String, Option<IdentityKind>)> = Vec::new();
    for identity in &map.subject.identities {
        let table = identity.table.clone().unwrap_or(map.subject.table.clone());
        wanted.push((table, identity.column.clone(), Some(identity.kind)));
    }
    for (column, spec) in &map.tables[&map.subject.table].columns {
        if spec.category == Category::Name {
            wanted.push((map.subject.table.clone(), column.clone(), None));
        }
    }
    for (table, column, kind) in wanted {
        let path =
            LinkPath::compile(map, catalog, &table).map_err(DerbesError::VerificationFailed)?;
        let sql = format!(
            "SELECT DISTINCT t0.{}::text FROM {} t0 WHERE {} AND t0.{0} IS NOT NULL",
            quote_ident(&column),
            path.table.quoted(),
            path.rows_of("t0", KeyMatch::One(1))
        );
        for row in tx.query(&sql, &[&key]).await? {
            let value: String = row.get(0);
            let value = value.trim().to_owned();
            // What a masking strategy left (a second erasure of the same subject)
            // is nobody's name or identity.
            if value == masking::REDACTED {
                continue;
            }
            match kind {
                Some(IdentityKind::Phone) => {
                    let digits: String = value.chars().filter(char::is_ascii_digit).collect();
                    if digits.len() >= 10 {
                        needles.insert(digits[digits.len() - 10..].to_owned());
                    }
                }
                Some(_) if value.chars().count() >= 5 => {
                    needles.insert(value.to_lowercase());
                }
                Some(_) => {}
                None => {
                    for part in value.split_whitespace() {
                        if part.chars().count() >= 3 {
                            names.insert(part.to_lowercase());
                        }
                    }
                }
            }
        }
    }
    Ok((needles.into_iter().collect(), names.into_iter().collect()))
}

/// Escape a value for a PostgreSQL regular expression.
fn regex_escape(text: &str) -> String {
    let mut out = String::new();
    for ch in text.chars() {
        if "\\.^$|?*+()[]{}".contains(ch) {
            out.push('\\');
        }
        out.push(ch);
    }
    out
}

/// Erase one subject. See the module docs for the steps.
pub async fn erase(
    client: &mut Client,
    map: &DataMap,
    catalog: &Catalog,
    request: EraseRequest,
) -> anyhow::Result<EraseReport> {
    let subject_path = LinkPath::compile(map, catalog, &map.subject.table)
        .map_err(DerbesError::VerificationFailed)?;
    let subject_ref = format!("{}:{}", map.subject.table, request.key);
    // Masks are planned before anything runs: a missing key or a misfit stops here.
    let not_null = masking::not_null_columns(&*client, map).await?;
    let is_not_null = |t: &TableName, c: &str| not_null.contains(&(t.clone(), c.to_owned()));
    let mut masks = BTreeMap::new();
    for (table, spec) in &map.tables {
        let anonymise = spec
            .retention
            .as_ref()
            .and_then(|r| map.retention.get(r))
            .is_some_and(|rule| rule.action == RetentionAction::Anonymise);
        if anonymise {
            let plan =
                masking::plan_table(map, catalog, table, &is_not_null, request.mask_key.as_ref())
                    .map_err(mask_error)?;
            masks.insert(table.clone(), plan);
        }
    }
    let keep = request.keep.clone().or_else(|| longest_archive_keep(map));

    let change = change::begin_snapshot(
        client,
        &request.limits,
        Snapshot::RepeatableRead,
        request.dry_run,
    )
    .await?;
    let locked = change
        .lock_subjects(&subject_path, std::slice::from_ref(&request.key))
        .await?;
    if locked.is_empty() {
        return Err(DerbesError::NotFound(format!(
            "subject {subject_ref} is gone (deleted since it was found): nothing was erased"
        ))
        .into());
    }
    let tx = change.into_transaction();
    if !request.again {
        if let Some(row) = tx
            .query_opt(
                "SELECT erased_at::date::text, ticket FROM derbes.erasures \
                 WHERE subject_table = $1 AND subject_key = $2 ORDER BY id DESC LIMIT 1",
                &[&map.subject.table, &request.key],
            )
            .await?
        {
            return Err(DerbesError::NotFound(format!(
                "subject {subject_ref} was erased already, on {} (ticket {}): nothing was changed. \
                 If rows of theirs arrived since (a returning customer), erase them with --again",
                row.get::<_, String>(0),
                row.get::<_, String>(1)
            ))
            .into());
        }
    }
    // The one "now" every retention cut-off of this erasure is counted from.
    let rules = retention::for_subject(&tx, map, catalog, &request.key, Utc::now()).await?;
    let (needles, names) = originals(&tx, map, catalog, &request.key).await?;
    crate::fault::point("erase.locked");

    let archive_request = ArchiveRequest {
        selection: Selection::Subject {
            identity: format!("id:{}", request.key),
            older_than: None,
        },
        out: request.archive_out.clone(),
        overwrite: false,
        recipients: request.recipients,
        keep,
        operator: request.operator.clone(),
        ticket: Some(request.ticket.clone()),
        part_bytes: crate::files::tar_writer::PART_BYTES,
        capture_keys: true,
        jobs: None,
    };
    let receipt = archive::write_verified(&tx, map, catalog, archive_request, &|_, _| {}).await?;
    crate::fault::point("erase.archived");

    // Plan each table from the captured keys.
    let by_name: BTreeMap<TableName, String> = map
        .tables
        .keys()
        .map(|k| (map.table_name(k), k.clone()))
        .collect();
    let mut planned: BTreeMap<String, Planned> = BTreeMap::new();
    for keys in &receipt.keys {
        let Some(key) = by_name.get(&keys.table).cloned() else {
            continue;
        };
        let path =
            LinkPath::compile(map, catalog, &key).map_err(DerbesError::VerificationFailed)?;
        if keys.by_row_address() && path.may_share() {
            return Err(DerbesError::VerificationFailed(format!(
                "table {} has no primary key and is reached through a reverse link, so the rows \
                 this subject shares with others cannot be told apart: nothing was erased. Add a \
                 primary key to it",
                keys.table
            ))
            .into());
        }
        let action = if masks.contains_key(&key) {
            if masks[&key].delete {
                "delete"
            } else {
                "mask"
            }
        } else {
            "delete"
        };
        let retention =
            retention::rule_of(&rules, &key).map(|(rule, table)| (rule.clone(), table.clone()));
        planned.insert(
            key.clone(),
            Planned {
                outcome: TableOutcome {
                    table: key.clone(),
                    action: action.to_owned(),
                    rows: keys.rows,
                    deleted: 0,
                    masked: 0,
                    kept: 0,
                    shared: 0,
                    reasons: Vec::new(),
                    kept_columns: Vec::new(),
                    minimised_columns: Vec::new(),
                    minimised: 0,
                },
                key,
                path,
                keys: keys.clone(),
                masks: None,
                keep_all: None,
                retention,
            },
        );
    }
    // Held and shared rows, per table.
    let mut holding = Vec::new();
    for plan in planned.values_mut() {
        if plan.outcome.rows == 0 {
            continue;
        }
        let mut p = Params::default();
        let scope = plan.scope(map, &request.key, false, &mut p);
        let hold = Hold::of(map, plan.retention(), &plan.key, &mut p);
        for (condition, reason) in &hold.parts {
            // `(... OR TRUE)` keeps every part's bound values referenced.
            let n = count(
                &tx,
                &plan.keys.table,
                &scope,
                &format!(" AND {condition} AND ({} OR TRUE)", hold.condition()),
                &p,
            )
            .await?;
            if n > 0 {
                plan.outcome
                    .reasons
                    .push(format!("{n} row(s) kept: {reason}"));
            }
        }
        let held = count(
            &tx,
            &plan.keys.table,
            &scope,
            &format!(" AND {}", hold.condition()),
            &p,
        )
        .await?;
        if held > 0 {
            holding.push(plan.key.clone());
        }
        let mut p2 = Params::default();
        let scope2 = plan.scope(map, &request.key, false, &mut p2);
        if let Some(shared) = plan.shared_sql(&request.key, &mut p2) {
            let hold2 = Hold::of(map, plan.retention(), &plan.key, &mut p2);
            let n = count(
                &tx,
                &plan.keys.table,
                &scope2,
                &format!(" AND NOT {} AND {shared}", hold2.condition()),
                &p2,
            )
            .await?;
            if n > 0 {
                plan.outcome.shared = n;
                plan.outcome.reasons.push(format!(
                    "{n} row(s) kept: shared with another subject, so not this subject's alone to erase"
                ));
            }
        }
        plan.outcome.kept = held;
        if held + plan.outcome.shared >= plan.outcome.rows {
            plan.outcome.action = "keep".to_owned();
        }
    }
    // A row that stays keeps the rows it points at along its link path (forward
    // steps: a foreign key from it to them): a row kept by law keeps them as they
    // are; a masked row that stays has them masked, not deleted.
    let masked_remaining: Vec<String> = planned
        .values()
        .filter(|p| {
            masks.get(&p.key).is_some_and(|m| !m.delete)
                && p.outcome.rows > p.outcome.kept + p.outcome.shared
        })
        .map(|p| p.key.clone())
        .collect();
    let mut mask_all: BTreeMap<String, String> = BTreeMap::new();
    for (tables, keep) in [(&holding, true), (&masked_remaining, false)] {
        for table in tables.iter() {
            let Ok(steps) = map.link_path(table) else {
                continue;
            };
            let compiled = planned
                .get(table)
                .map(|p| p.path.steps.clone())
                .unwrap_or_default();
            for (step, compiled) in steps.iter().zip(compiled) {
                if compiled.direction != crate::map::link::Direction::Forward {
                    break;
                }
                let Some(parent) = planned.get_mut(&step.to) else {
                    break;
                };
                if keep && parent.keep_all.is_none() {
                    parent.keep_all = Some(format!("rows of {table} kept by law point at them"));
                } else if !keep {
                    mask_all.entry(step.to.clone()).or_insert_with(|| {
                        format!("rows of {table} stay (masked) and point at them, so these are masked, not deleted")
                    });
                }
            }
        }
    }
    for plan in planned.values_mut() {
        if let Some(reason) = &plan.keep_all {
            plan.outcome.action = "keep".to_owned();
            plan.outcome
                .reasons
                .push(format!("all {} row(s) kept: {reason}", plan.outcome.rows));
            plan.outcome.kept = plan.outcome.rows;
            plan.outcome.shared = 0;
        } else if let Some(m) = masks.get(&plan.key) {
            plan.masks = Some(m.clone());
        } else if let Some(reason) = mask_all.get(&plan.key) {
            let mut m = masking::plan_table(
                map,
                catalog,
                &plan.key,
                &is_not_null,
                request.mask_key.as_ref(),
            )
            .map_err(mask_error)?;
            // Deleting them would break the foreign key of the rows that stay.
            m.delete = false;
            plan.outcome.action = "mask".to_owned();
            plan.outcome.reasons.push(reason.clone());
            plan.masks = Some(m);
        }
    }

    // Masks first (any order), then deletes children first.
    for plan in planned.values_mut() {
        if plan.keep_all.is_some() || plan.outcome.rows == 0 {
            continue;
        }
        if let Some(m) = &plan.masks {
            let filter = |p: &mut Params| plan_scope(map, plan, &request.key, p);
            let applied = m
                .apply(&tx, &filter, &mut StatementCache::default())
                .await
                .map_err(mask_error)?;
            plan.outcome.masked = applied.masked;
            plan.outcome.deleted = applied.deleted;
        }
    }
    let names_set: BTreeSet<TableName> = planned
        .values()
        .filter(|p| p.keep_all.is_none() && p.masks.is_none() && p.outcome.rows > 0)
        .map(|p| p.keys.table.clone())
        .collect();
    let order = catalog
        .delete_order(&names_set)
        .map_err(DerbesError::VerificationFailed)?;
    for table in order {
        let Some(key) = by_name.get(&table) else {
            continue;
        };
        let plan = planned.get_mut(key).expect("planned");
        let mut p = Params::default();
        let scope = plan.scope(map, &request.key, true, &mut p);
        // Rows reached through a reverse step may be pointed at by rows of nobody
        // (a device model of a device without an owner): those stay.
        let referenced = if plan.path.may_share() {
            referenced_guard(catalog, &table)
        } else {
            String::new()
        };
        let sql = format!(
            "DELETE FROM {} t0 USING {} WHERE {}{referenced}",
            table.quoted(),
            scope.using,
            scope.condition
        );
        let remaining = plan.outcome.rows - plan.outcome.kept - plan.outcome.shared;
        crate::fault::point("erase.deleting");
        plan.outcome.deleted = tx
            .execute(&sql, &p.refs())
            .await
            .map_err(|e| delete_failed(&table, e))?;
        let still = remaining.saturating_sub(plan.outcome.deleted);
        if still > 0 {
            plan.outcome.kept += still;
            plan.outcome.reasons.push(format!(
                "{still} row(s) kept: rows that are no subject's point at them"
            ));
        }
    }
    // Of a row the law keeps, only what the law names: the other personal columns
    // are masked by their strategies (the rule's `keeps`; a row kept only because
    // kept rows point at it keeps no personal column its own rule does not keep).
    for plan in planned.values_mut() {
        if plan.outcome.kept == 0 {
            continue;
        }
        let own = plan
            .retention
            .as_ref()
            .filter(|(rule, _)| rule.keeps_by_law());
        let (keeps, by): (Vec<Category>, String) = match (own, &plan.keep_all) {
            (Some((rule, _)), _) => match &rule.rule.keeps {
                Some(keeps) => (keeps.clone(), format!("retention rule {}", rule.name)),
                None => continue,
            },
            (None, Some(reason)) => (Vec::new(), reason.clone()),
            (None, None) => continue,
        };
        let m = masking::plan_kept_row(
            map,
            catalog,
            &plan.key,
            &is_not_null,
            request.mask_key.as_ref(),
            &|category| keeps.contains(&category),
        )
        .map_err(mask_error)?;
        for (column, spec) in &map.tables[&plan.key].columns {
            if keeps.contains(&spec.category) {
                plan.outcome
                    .kept_columns
                    .push(format!("{column} ({}): {by}", spec.category.name()));
            }
        }
        if m.is_noop() {
            continue;
        }
        let filter = |p: &mut Params| {
            let mut scope = plan.scope(map, &request.key, false, p);
            if plan.keep_all.is_none() {
                let hold = Hold::of(map, plan.retention(), &plan.key, p);
                scope.condition = format!("{} AND {}", scope.condition, hold.condition());
            }
            // A row another subject shares is theirs too: left as it is.
            if let Some(shared) = plan.shared_sql(&request.key, p) {
                scope.condition = format!("{} AND NOT ({shared})", scope.condition);
            }
            scope
        };
        let applied = m
            .apply(&tx, &filter, &mut StatementCache::default())
            .await
            .map_err(mask_error)?;
        plan.outcome.minimised = applied.masked;
        plan.outcome.minimised_columns = m.masked_columns.clone();
        if applied.masked > 0 {
            plan.outcome.reasons.push(format!(
                "{} kept row(s) keep only what the law names: {} masked",
                applied.masked,
                m.masked_columns.join(", ")
            ));
        }
    }
    crate::fault::point("erase.applied");

    let checked =
        residual_check(&tx, catalog, map, &planned, &request.key, &needles, &names).await?;
    crate::fault::point("erase.checked");

    let mut counts = BTreeMap::new();
    let mut fields = Vec::new();
    let mut pseudonymised = Vec::new();
    for plan in planned.values() {
        for (what, n) in [
            ("deleted", plan.outcome.deleted),
            ("masked", plan.outcome.masked),
            ("kept", plan.outcome.kept + plan.outcome.shared),
            ("minimised", plan.outcome.minimised),
        ] {
            if n > 0 {
                counts.insert(format!("{}.{what}", plan.key), n as i64);
            }
        }
        fields.extend(
            plan.outcome
                .minimised_columns
                .iter()
                .filter(|_| plan.outcome.minimised > 0)
                .map(|c| format!("{}.{c}", plan.key)),
        );
        if let Some(m) = &plan.masks {
            if plan.outcome.masked > 0 {
                fields.extend(m.masked_columns.iter().map(|c| format!("{}.{c}", plan.key)));
                pseudonymised.extend(m.pseudonymised.iter().map(|c| format!("{}.{c}", plan.key)));
            }
        }
    }
    let tables: Vec<TableOutcome> = planned.into_values().map(|p| p.outcome).collect();
    // The ledger keeps the erasure (never a value: keyed hashes of the identities,
    // when there is a key), so a restore of an older archive leaves the subject out.
    let hashes: Vec<String> = match &request.mask_key {
        Some(key) => needles
            .iter()
            .map(|n| key.hmac_hex(&format!("identity:{n}")))
            .collect(),
        None => Vec::new(),
    };
    tx.execute(
        "INSERT INTO derbes.erasures (subject_table, subject_key, identity_hashes, ticket, archive_id) \
         VALUES ($1, $2, $3, $4, $5)",
        &[
            &map.subject.table,
            &request.key,
            &hashes,
            &request.ticket,
            &receipt.summary.archive_id,
        ],
    )
    .await?;
    audit::append(
        &tx,
        &request.operator,
        &AuditEntry {
            action: "erase".to_owned(),
            ticket: Some(request.ticket.clone()),
            subject_ref: Some(subject_ref.clone()),
            counts,
            fields,
            detail: serde_json::json!({
                "archive_id": receipt.summary.archive_id,
                "tables": tables,
                "residual_columns_checked": checked,
            }),
        },
    )
    .await?;
    crate::fault::point("erase.committing");
    let summary = if request.dry_run {
        receipt.discard(tx).await?
    } else {
        receipt.commit(tx).await?
    };
    Ok(EraseReport {
        subject: subject_ref,
        ticket: request.ticket,
        dry_run: request.dry_run,
        tables,
        archive: Some(summary),
        residual_columns_checked: checked,
        pseudonymised,
    })
}

/// Why deleting the subject's rows of `table` failed, told apart: a lost
/// connection (exit 1: run again), rows of another table pointing at them (exit 5:
/// map that table), anything else as the server said it (exit 5).
fn delete_failed(table: &TableName, e: tokio_postgres::Error) -> anyhow::Error {
    if crate::pg::db::connection_lost(&e) {
        return anyhow::Error::new(e).context(format!(
            "the connection to the database was lost while deleting the subject's rows of \
             {table}: nothing was erased (the transaction rolled back); check the server and \
             run the erasure again"
        ));
    }
    let pointed_at = e
        .as_db_error()
        .is_some_and(|db| db.code() == &tokio_postgres::error::SqlState::FOREIGN_KEY_VIOLATION);
    let advice = if pointed_at {
        "another table's rows point at them: map that table (or give it a retention rule) and run again"
    } else {
        "fix the cause the database gives and run again"
    };
    DerbesError::Refused(format!(
        "deleting the subject's rows of {table} failed: {}; nothing was erased. {advice}",
        crate::pg::db::describe(&e)
    ))
    .into()
}

/// `AND NOT EXISTS (...)` for every foreign key pointing at `table`.
fn referenced_guard(catalog: &Catalog, table: &TableName) -> String {
    let mut guard = String::new();
    for fk in catalog.foreign_keys.iter().filter(|fk| &fk.parent == table) {
        let on: Vec<String> = fk
            .columns
            .iter()
            .zip(&fk.ref_columns)
            .map(|(c, r)| format!("r.{} = t0.{}", quote_ident(c), quote_ident(r)))
            .collect();
        guard.push_str(&format!(
            " AND NOT EXISTS (SELECT 1 FROM {} r WHERE {})",
            fk.child.quoted(),
            on.join(" AND ")
        ));
    }
    guard
}

fn plan_scope(map: &DataMap, plan: &Planned, subject_key: &str, p: &mut Params) -> RowScope {
    plan.scope(map, subject_key, true, p)
}

/// Search every text column of the subject's remaining rows (not kept by law, not
/// shared) for the subject's original identities and names. Returns the number of
/// columns searched; a hit is an error naming the columns.
async fn residual_check(
    tx: &Transaction<'_>,
    catalog: &Catalog,
    map: &DataMap,
    planned: &BTreeMap<String, Planned>,
    subject_key: &str,
    needles: &[String],
    names: &[String],
) -> anyhow::Result<usize> {
    let mut checked = 0;
    let mut found = Vec::new();
    if needles.is_empty() && names.is_empty() {
        return Ok(0);
    }
    let pattern = if names.is_empty() {
        None
    } else {
        let alternatives: Vec<String> = names.iter().map(|n| regex_escape(n)).collect();
        Some(format!("\\m({})\\M", alternatives.join("|")))
    };
    for plan in planned.values() {
        if plan.keep_all.is_some() || plan.outcome.rows == 0 {
            continue;
        }
        let Some(table) = catalog.tables.get(&plan.keys.table) else {
            continue;
        };
        let columns: Vec<&String> = table
            .columns
            .iter()
            .filter(|(_, ty)| {
                matches!(
                    TypeFamily::of(ty),
                    TypeFamily::Text | TypeFamily::Json | TypeFamily::Array
                )
            })
            .map(|(c, _)| c)
            .collect();
        if columns.is_empty() {
            continue;
        }
        let mut p = Params::default();
        let scope = plan.scope(map, subject_key, true, &mut p);
        let n = p.push(Value::TextArray(needles.to_vec()));
        let r = pattern.as_ref().map(|pattern| p.text(pattern.clone()));
        let tests: Vec<String> = columns
            .iter()
            .map(|c| {
                let v = format!("lower(t0.{}::text)", quote_ident(c));
                let names = match &r {
                    Some(r) => format!(" OR {v} ~* {r}"),
                    None => String::new(),
                };
                format!(
                    "coalesce(bool_or(EXISTS (SELECT 1 FROM unnest({n}::text[]) n WHERE strpos({v}, n) > 0){names}), false)"
                )
            })
            .collect();
        let sql = format!(
            "SELECT {} FROM {} t0, {} WHERE {}",
            tests.join(", "),
            plan.keys.table.quoted(),
            scope.using,
            scope.condition
        );
        let row = tx.query_one(&sql, &p.refs()).await?;
        checked += columns.len();
        for (i, column) in columns.iter().enumerate() {
            if row.get::<_, bool>(i) {
                found.push(format!("{}.{column}", plan.key));
            }
        }
    }
    if !found.is_empty() {
        return Err(DerbesError::VerificationFailed(format!(
            "residual check: the subject's IIN, phone, email or name is still in {} after erasure, \
             so nothing was erased (rolled back, archive removed). Map these columns with a masking \
             strategy (or clean the text), then run again",
            found.join(", ")
        ))
        .into());
    }
    Ok(checked)
}

/// The longest `archive_keep` of the map's rules, as written.
fn longest_archive_keep(map: &DataMap) -> Option<String> {
    let now = Utc::now();
    let zone = map.time_zone();
    map.retention
        .values()
        .filter_map(|r| r.archive_keep.clone())
        .filter_map(|k| Period::parse(&k).ok().map(|p| (p.after(now, zone), k)))
        .max_by_key(|(until, _)| *until)
        .map(|(_, k)| k)
}

fn mask_error(error: masking::MaskingError) -> anyhow::Error {
    match error {
        masking::MaskingError::NoKey(m) | masking::MaskingError::BadKey(m) => {
            DerbesError::Usage(m).into()
        }
        masking::MaskingError::Misfit(m) => DerbesError::VerificationFailed(m).into(),
        other => anyhow::Error::new(other),
    }
}
