//! Subjects' requests with their legal deadlines, and personal-data breaches with
//! the deadline for telling the authorised body (docs/policy.md 5.7, 6.2.6; Law 94-V).
//!
//! A request names its subject as `table:key` (never an identity in clear), gets a
//! due date on a working-day calendar ([`crate::kz::calendar`]) when opened, and is
//! closed with an outcome. What was done for it is not copied here: every mutating
//! command run with `--request ID` records the id in its audit row
//! ([`crate::pg::audit::bind_link`]), so the request's audit rows are the record,
//! and they are as tamper-evident as the rest of the chain. Breaches work the same
//! way with `--breach ID` (a block made for a breach links its audit row to it).
//!
//! Opening, extending and closing are changes like any other: each runs on the
//! change engine through [`write_audited`] (bounds, a read-only server refused, the
//! audit row linked to the request or breach and appended in the same transaction,
//! a dry run rolled back). Nothing here knows the command line or the terminal.

use std::fmt;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use tokio_postgres::{Client, GenericClient, Row, Transaction};

use crate::kz::calendar::{self, Calendar, CalendarError};
use crate::pg::audit::{self, AuditEntry, AuditLink, AuditRecord};
use crate::pg::change::{self, ChangeError, Limits};

/// What a subject asked for, and the deadline Law 94-V gives for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// To know what is held and how it is processed; the deadline is the
    /// controller's setting (default 3 working days).
    Access,
    /// Change or supplement data (Art. 25(2)(8): 1 working day).
    Rectify,
    /// Block data (Art. 25(2)(8): 1 working day).
    Block,
    /// Destroy data (Art. 25(2)(8): 1 working day).
    Destroy,
    /// Withdraw consent (Art. 8(7): 15 working days).
    WithdrawConsent,
    /// Object to a decision made only by automated processing (Art. 19-1: 3).
    ObjectAutomated,
    /// Notice of a transfer (Art. 19(1): 10 working days).
    TransferNotice,
}

/// The access deadline when none is configured, in working days.
pub const DEFAULT_ACCESS_DAYS: u32 = 3;

impl Kind {
    pub const ALL: [Kind; 7] = [
        Kind::Access,
        Kind::Rectify,
        Kind::Block,
        Kind::Destroy,
        Kind::WithdrawConsent,
        Kind::ObjectAutomated,
        Kind::TransferNotice,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Access => "access",
            Kind::Rectify => "rectify",
            Kind::Block => "block",
            Kind::Destroy => "destroy",
            Kind::WithdrawConsent => "withdraw-consent",
            Kind::ObjectAutomated => "object-automated",
            Kind::TransferNotice => "transfer-notice",
        }
    }

    pub fn parse(text: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == text)
    }

    /// Working days Law 94-V allows (`access_days` for an access request).
    pub fn working_days(self, access_days: u32) -> u32 {
        match self {
            Kind::Access => access_days,
            Kind::Rectify | Kind::Block | Kind::Destroy => 1,
            Kind::WithdrawConsent => 15,
            Kind::ObjectAutomated => 3,
            Kind::TransferNotice => 10,
        }
    }

    /// Where the deadline comes from.
    pub fn basis(self) -> &'static str {
        match self {
            Kind::Access => "controller's setting (--access-days)",
            Kind::Rectify | Kind::Block | Kind::Destroy => "Law 94-V Art. 25(2)(8)",
            Kind::WithdrawConsent => "Law 94-V Art. 8(7)",
            Kind::ObjectAutomated => "Law 94-V Art. 19-1",
            Kind::TransferNotice => "Law 94-V Art. 19(1)",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which law's clock runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Jurisdiction {
    /// Law 94-V: working days on the Kazakh calendar.
    Kz,
    /// GDPR Art. 12(3): one calendar month, extendable by two.
    Gdpr,
}

impl Jurisdiction {
    pub fn as_str(self) -> &'static str {
        match self {
            Jurisdiction::Kz => "kz",
            Jurisdiction::Gdpr => "gdpr",
        }
    }
}

/// How a request was closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Done as asked.
    Done,
    /// Refused, with the reasons given to the subject.
    Refused,
    /// Partly done.
    Partly,
    /// The subject withdrew the request.
    Withdrawn,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Done => "done",
            Outcome::Refused => "refused",
            Outcome::Partly => "partly",
            Outcome::Withdrawn => "withdrawn",
        }
    }
}

/// Why a request or breach operation did nothing.
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    #[error(transparent)]
    Calendar(#[from] CalendarError),
    #[error("the request was received on {received}, after today ({today}): give the date it reached you (YYYY-MM-DD)")]
    ReceivedInFuture {
        received: NaiveDate,
        today: NaiveDate,
    },
    #[error(
        "the breach was discovered at {discovered}, in the future: give when it was discovered"
    )]
    DiscoveredInFuture { discovered: DateTime<Utc> },
    #[error("the notification time {notified} is before the breach's discovery ({discovered}): give when the authorised body was told")]
    NotifiedBeforeDiscovery {
        notified: DateTime<Utc>,
        discovered: DateTime<Utc>,
    },
    #[error(
        "there is no {what} {id}: check the id with `derbes {what} list`; nothing was changed"
    )]
    NotFound { what: &'static str, id: i64 },
    #[error(
        "{what} {id} is closed already: nothing was changed; open a new one if more is to be done"
    )]
    Closed { what: &'static str, id: i64 },
    #[error("request {id} is not under the GDPR profile: only a GDPR deadline can be extended (Law 94-V deadlines cannot)")]
    NotExtendable { id: i64 },
    #[error(
        "request {id} was extended already: GDPR Art. 12(3) allows one extension by two months"
    )]
    ExtendedAlready { id: i64 },
    /// The change engine refused or failed: a read-only server, a lock or statement
    /// timeout, the audit append or the commit. Nothing was changed.
    #[error(transparent)]
    Change(#[from] ChangeError),
    #[error("database error: {}", crate::pg::db::describe(.0))]
    Database(#[from] tokio_postgres::Error),
}

/// The due date of a request received on `received`.
pub fn due_date(
    calendar: &Calendar,
    kind: Kind,
    jurisdiction: Jurisdiction,
    received: NaiveDate,
    access_days: u32,
) -> Result<(Option<i32>, NaiveDate), CalendarError> {
    match jurisdiction {
        Jurisdiction::Kz => {
            let days = kind.working_days(access_days);
            Ok((
                Some(days as i32),
                calendar.add_working_days(received, days)?,
            ))
        }
        Jurisdiction::Gdpr => Ok((None, calendar::gdpr_due(received, 1))),
    }
}

/// A request to open.
#[derive(Debug, Clone)]
pub struct OpenRequest {
    pub kind: Kind,
    /// `table:key` of the subject, as resolved.
    pub subject_ref: String,
    pub received: NaiveDate,
    pub channel: Option<String>,
    pub jurisdiction: Jurisdiction,
    pub access_days: u32,
    pub ticket: String,
    pub operator: String,
    pub today: NaiveDate,
    pub dry_run: bool,
}

/// One request as stored, with whether it is overdue today.
#[derive(Debug, Clone, Serialize)]
pub struct RequestRecord {
    pub id: i64,
    pub kind: String,
    pub subject_ref: String,
    pub received_on: NaiveDate,
    pub channel: Option<String>,
    pub jurisdiction: String,
    /// Working days allowed (None under GDPR).
    pub days: Option<i32>,
    pub due_on: NaiveDate,
    pub extended: bool,
    pub calendar: String,
    pub status: String,
    pub outcome: Option<String>,
    pub outcome_ref: Option<String>,
    pub ticket: String,
    pub opened_by: String,
    pub opened_at: DateTime<Utc>,
    pub closed_by: Option<String>,
    pub closed_at: Option<DateTime<Utc>>,
    /// Open and past its due date.
    pub overdue: bool,
}

const REQUEST_COLUMNS: &str = "id, kind, subject_ref, received_on, channel, jurisdiction, days, \
     due_on, extended, calendar, status, outcome, outcome_ref, ticket, opened_by, opened_at, \
     closed_by, closed_at";

impl RequestRecord {
    fn from_row(row: &Row, today: NaiveDate) -> RequestRecord {
        let status: String = row.get("status");
        let due_on: NaiveDate = row.get("due_on");
        RequestRecord {
            id: row.get("id"),
            kind: row.get("kind"),
            subject_ref: row.get("subject_ref"),
            received_on: row.get("received_on"),
            channel: row.get("channel"),
            jurisdiction: row.get("jurisdiction"),
            days: row.get("days"),
            overdue: overdue(status == "open", due_on, today),
            due_on,
            extended: row.get("extended"),
            calendar: row.get("calendar"),
            status,
            outcome: row.get("outcome"),
            outcome_ref: row.get("outcome_ref"),
            ticket: row.get("ticket"),
            opened_by: row.get("opened_by"),
            opened_at: row.get("opened_at"),
            closed_by: row.get("closed_by"),
            closed_at: row.get("closed_at"),
        }
    }
}

/// A request (or breach) and the audit rows written for it: what was done.
#[derive(Debug, Clone, Serialize)]
pub struct RequestDetail {
    pub request: RequestRecord,
    pub basis: Option<&'static str>,
    pub audit: Vec<AuditRecord>,
    pub dry_run: bool,
    /// The due date was counted across a year whose transfer orders or Kurban
    /// Ait date are not known yet: by the law's rules, to be checked when they are.
    pub due_provisional: bool,
}

/// What one write to requests or breaches leaves for [`write_audited`]: the value
/// the caller reports, the request or breach its audit row is linked to, and the row.
struct Written<T> {
    value: T,
    link: AuditLink,
    entry: AuditEntry,
}

/// One write to requests or breaches as one change: begin it on the change engine,
/// run `write`, link the audit row to the request or breach for this transaction
/// only, append the row and commit, or roll back for a dry run. Returns what `write`
/// returned and every audit row linked to the request or breach, the new one last.
async fn write_audited<T>(
    client: &mut Client,
    operator: &str,
    dry_run: bool,
    write: impl AsyncFnOnce(&Transaction<'_>) -> Result<Written<T>, RequestError>,
) -> Result<(T, Vec<AuditRecord>), RequestError> {
    let change = change::begin(client, &Limits::default(), dry_run).await?;
    let written = write(change.tx()).await?;
    link_in_transaction(change.tx(), &written.link).await?;
    // The append takes the audit lock anyway; taken now, no other row linked to the
    // same request can commit between reading the linked rows and appending ours.
    change
        .tx()
        .batch_execute(audit::LOCK_BEFORE_SNAPSHOT)
        .await?;
    let mut rows = audit::linked(change.tx(), &written.link).await?;
    rows.push(change.commit(operator, &written.entry).await?);
    Ok((written.value, rows))
}

/// Link the audit rows of `tx` to `link`, inside `tx` only (`set_config(..., true)`).
async fn link_in_transaction(
    tx: &Transaction<'_>,
    link: &AuditLink,
) -> Result<(), tokio_postgres::Error> {
    let text = |id: Option<i64>| id.map(|id| id.to_string()).unwrap_or_default();
    tx.execute(
        "SELECT set_config('derbes.request_id', $1, true), \
                set_config('derbes.breach_id', $2, true)",
        &[&text(link.request_id), &text(link.breach_id)],
    )
    .await?;
    Ok(())
}

/// Record a request with its due date, and its audit row, in one transaction.
pub async fn open(
    client: &mut Client,
    calendar: &Calendar,
    request: &OpenRequest,
) -> Result<RequestDetail, RequestError> {
    if request.received > request.today {
        return Err(RequestError::ReceivedInFuture {
            received: request.received,
            today: request.today,
        });
    }
    let (days, due) = due_date(
        calendar,
        request.kind,
        request.jurisdiction,
        request.received,
        request.access_days,
    )?;
    let provisional = calendar.provisional(request.received, due);
    let (record, audit_rows) = write_audited(
        client,
        &request.operator,
        request.dry_run,
        async |tx: &Transaction<'_>| {
            let row = tx
                .query_one(
                    &format!(
                        "INSERT INTO derbes.requests (kind, subject_ref, received_on, \
                         channel, jurisdiction, days, due_on, calendar, ticket, opened_by) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
                         RETURNING {REQUEST_COLUMNS}"
                    ),
                    &[
                        &request.kind.as_str(),
                        &request.subject_ref,
                        &request.received,
                        &request.channel,
                        &request.jurisdiction.as_str(),
                        &days,
                        &due,
                        &calendar.name,
                        &request.ticket,
                        &request.operator,
                    ],
                )
                .await?;
            let record = RequestRecord::from_row(&row, request.today);
            let link = AuditLink {
                request_id: Some(record.id),
                breach_id: None,
            };
            let entry = AuditEntry {
                action: "request.open".to_owned(),
                ticket: Some(request.ticket.clone()),
                subject_ref: Some(request.subject_ref.clone()),
                detail: serde_json::json!({
                    "kind": request.kind.as_str(),
                    "received_on": request.received,
                    "due_on": due,
                    "days": days,
                    "jurisdiction": request.jurisdiction.as_str(),
                    "channel": request.channel,
                    "calendar": calendar.name,
                    "due_provisional": provisional,
                }),
                ..Default::default()
            };
            Ok(Written {
                value: record,
                link,
                entry,
            })
        },
    )
    .await?;
    Ok(RequestDetail {
        request: record,
        basis: Some(request.kind.basis()),
        audit: audit_rows,
        dry_run: request.dry_run,
        due_provisional: provisional,
    })
}

/// Which requests [`list`] returns.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    /// Only those open and past their due date.
    pub overdue: bool,
    /// Only those open and due within this many calendar days from today.
    pub due_within: Option<i64>,
    /// Closed ones too.
    pub all: bool,
    /// Only this subject (`table:key`).
    pub subject_ref: Option<String>,
}

/// Requests matching `filter`, soonest due first.
pub async fn list(
    client: &impl GenericClient,
    filter: &ListFilter,
    today: NaiveDate,
) -> Result<Vec<RequestRecord>, RequestError> {
    let until = filter
        .due_within
        .map(|days| today + chrono::Duration::days(days));
    let rows = client
        .query(
            &format!(
                "SELECT {REQUEST_COLUMNS} FROM derbes.requests \
                 WHERE ($1 OR status = 'open') \
                   AND (NOT $2 OR (status = 'open' AND due_on < $3)) \
                   AND ($4::date IS NULL OR (status = 'open' AND due_on <= $4)) \
                   AND ($5::text IS NULL OR subject_ref = $5) \
                 ORDER BY due_on, id"
            ),
            &[
                &(filter.all && !filter.overdue && filter.due_within.is_none()),
                &filter.overdue,
                &today,
                &until,
                &filter.subject_ref,
            ],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|row| RequestRecord::from_row(row, today))
        .collect())
}

/// The requests of one subject, newest first; None when the derbes schema has no
/// requests table (not installed, or older than version 8).
pub async fn of_subject(
    client: &impl GenericClient,
    subject_ref: &str,
    today: NaiveDate,
) -> Result<Option<Vec<RequestRecord>>, tokio_postgres::Error> {
    let present: bool = client
        .query_one("SELECT to_regclass('derbes.requests') IS NOT NULL", &[])
        .await?
        .get(0);
    if !present {
        return Ok(None);
    }
    let rows = client
        .query(
            &format!(
                "SELECT {REQUEST_COLUMNS} FROM derbes.requests WHERE subject_ref = $1 \
                 ORDER BY received_on DESC, id DESC"
            ),
            &[&subject_ref],
        )
        .await?;
    Ok(Some(
        rows.iter()
            .map(|row| RequestRecord::from_row(row, today))
            .collect(),
    ))
}

async fn fetch(
    client: &impl GenericClient,
    id: i64,
    today: NaiveDate,
    for_update: bool,
) -> Result<RequestRecord, RequestError> {
    let lock = if for_update { " FOR UPDATE" } else { "" };
    let row = client
        .query_opt(
            &format!("SELECT {REQUEST_COLUMNS} FROM derbes.requests WHERE id = $1{lock}"),
            &[&id],
        )
        .await?
        .ok_or(RequestError::NotFound {
            what: "request",
            id,
        })?;
    Ok(RequestRecord::from_row(&row, today))
}

/// One request and the audit rows written for it.
pub async fn show(
    client: &impl GenericClient,
    id: i64,
    today: NaiveDate,
) -> Result<RequestDetail, RequestError> {
    let request = fetch(client, id, today, false).await?;
    let audit = audit::linked(
        client,
        &AuditLink {
            request_id: Some(id),
            breach_id: None,
        },
    )
    .await?;
    Ok(RequestDetail {
        basis: Kind::parse(&request.kind).map(Kind::basis),
        request,
        audit,
        dry_run: false,
        due_provisional: false,
    })
}

/// A request to close.
#[derive(Debug, Clone)]
pub struct CloseRequest {
    pub id: i64,
    pub outcome: Outcome,
    /// The reply's reference (a letter number, the outgoing mail's ticket).
    pub outcome_ref: Option<String>,
    pub ticket: String,
    pub operator: String,
    pub today: NaiveDate,
    pub dry_run: bool,
}

/// Close an open request with its outcome; the report lists every audit row linked
/// to it, the closing row last.
pub async fn close(
    client: &mut Client,
    close: &CloseRequest,
) -> Result<RequestDetail, RequestError> {
    let (request, audit_rows) = write_audited(
        client,
        &close.operator,
        close.dry_run,
        async |tx: &Transaction<'_>| {
            let before = fetch(tx, close.id, close.today, true).await?;
            if before.status != "open" {
                return Err(RequestError::Closed {
                    what: "request",
                    id: close.id,
                });
            }
            let row = tx
                .query_one(
                    &format!(
                        "UPDATE derbes.requests SET status = 'closed', outcome = $2, \
                         outcome_ref = $3, closed_by = $4, closed_at = now() WHERE id = $1 \
                         RETURNING {REQUEST_COLUMNS}"
                    ),
                    &[
                        &close.id,
                        &close.outcome.as_str(),
                        &close.outcome_ref,
                        &close.operator,
                    ],
                )
                .await?;
            let request = RequestRecord::from_row(&row, close.today);
            let link = AuditLink {
                request_id: Some(close.id),
                breach_id: None,
            };
            let entry = AuditEntry {
                action: "request.close".to_owned(),
                ticket: Some(close.ticket.clone()),
                subject_ref: Some(request.subject_ref.clone()),
                detail: serde_json::json!({
                    "kind": request.kind,
                    "outcome": close.outcome.as_str(),
                    "outcome_ref": close.outcome_ref,
                    "due_on": request.due_on,
                    "late": before.overdue,
                }),
                ..Default::default()
            };
            Ok(Written {
                value: request,
                link,
                entry,
            })
        },
    )
    .await?;
    Ok(RequestDetail {
        basis: Kind::parse(&request.kind).map(Kind::basis),
        request,
        audit: audit_rows,
        dry_run: close.dry_run,
        due_provisional: false,
    })
}

/// Extend an open GDPR request by two months (Art. 12(3)), once.
pub async fn extend(
    client: &mut Client,
    id: i64,
    ticket: &str,
    operator: &str,
    today: NaiveDate,
    dry_run: bool,
) -> Result<RequestDetail, RequestError> {
    let (request, audit_rows) =
        write_audited(client, operator, dry_run, async |tx: &Transaction<'_>| {
            let before = fetch(tx, id, today, true).await?;
            if before.status != "open" {
                return Err(RequestError::Closed {
                    what: "request",
                    id,
                });
            }
            if before.jurisdiction != "gdpr" {
                return Err(RequestError::NotExtendable { id });
            }
            if before.extended {
                return Err(RequestError::ExtendedAlready { id });
            }
            let due = calendar::gdpr_due(before.received_on, 3);
            let row = tx
                .query_one(
                    &format!(
                        "UPDATE derbes.requests SET due_on = $2, extended = true WHERE id = $1 \
                         RETURNING {REQUEST_COLUMNS}"
                    ),
                    &[&id, &due],
                )
                .await?;
            let request = RequestRecord::from_row(&row, today);
            let link = AuditLink {
                request_id: Some(id),
                breach_id: None,
            };
            let entry = AuditEntry {
                action: "request.extend".to_owned(),
                ticket: Some(ticket.to_owned()),
                subject_ref: Some(request.subject_ref.clone()),
                detail: serde_json::json!({ "due_on_before": before.due_on, "due_on": due }),
                ..Default::default()
            };
            Ok(Written {
                value: request,
                link,
                entry,
            })
        })
        .await?;
    Ok(RequestDetail {
        basis: Some("GDPR Art. 12(3)"),
        request,
        audit: audit_rows,
        dry_run,
        due_provisional: false,
    })
}

/// Check that the request and breach a change is linked to exist and are open:
/// [`RequestError::NotFound`] or [`RequestError::Closed`] otherwise.
pub async fn check_link(client: &impl GenericClient, link: &AuditLink) -> Result<(), RequestError> {
    if let Some(id) = link.request_id {
        let status: Option<String> = client
            .query_opt("SELECT status FROM derbes.requests WHERE id = $1", &[&id])
            .await?
            .map(|row| row.get(0));
        match status.as_deref() {
            None => {
                return Err(RequestError::NotFound {
                    what: "request",
                    id,
                })
            }
            Some("open") => {}
            Some(_) => {
                return Err(RequestError::Closed {
                    what: "request",
                    id,
                })
            }
        }
    }
    if let Some(id) = link.breach_id {
        let closed: Option<bool> = client
            .query_opt(
                "SELECT closed_at IS NOT NULL FROM derbes.breaches WHERE id = $1",
                &[&id],
            )
            .await?
            .map(|row| row.get(0));
        match closed {
            None => return Err(RequestError::NotFound { what: "breach", id }),
            Some(false) => {}
            Some(true) => return Err(RequestError::Closed { what: "breach", id }),
        }
    }
    Ok(())
}

// --- breaches ------------------------------------------------------------------

/// A breach to record.
#[derive(Debug, Clone)]
pub struct OpenBreach {
    pub discovered_at: DateTime<Utc>,
    /// The day of discovery in the controller's time zone.
    pub discovered_on: NaiveDate,
    pub summary: String,
    /// `table:key` of the subjects concerned (from `--subjects FILE`).
    pub subject_refs: Vec<String>,
    pub ticket: String,
    pub operator: String,
    pub dry_run: bool,
}

/// One breach as stored.
#[derive(Debug, Clone, Serialize)]
pub struct BreachRecord {
    pub id: i64,
    pub discovered_at: DateTime<Utc>,
    pub summary: String,
    pub subjects: Vec<String>,
    /// The authorised body is told by the end of this day.
    pub notify_by: NaiveDate,
    pub calendar: String,
    pub ticket: String,
    pub opened_by: String,
    pub opened_at: DateTime<Utc>,
    pub notified_at: Option<DateTime<Utc>>,
    pub reference: Option<String>,
    pub closed_by: Option<String>,
    pub closed_at: Option<DateTime<Utc>>,
    /// Open and past its notification deadline.
    pub overdue: bool,
    /// Audit rows of blocks made for it (`block --breach ID`) and the subjects they blocked.
    pub blocks: i64,
    pub subjects_blocked: i64,
}

const BREACH_COLUMNS: &str = "b.id, b.discovered_at, b.summary, b.subject_refs, b.notify_by, \
     b.calendar, b.ticket, b.opened_by, b.opened_at, b.notified_at, b.reference, b.closed_by, \
     b.closed_at, \
     (SELECT count(*) FROM derbes.audit_log a WHERE a.breach_id = b.id AND a.action = 'block') AS blocks, \
     (SELECT coalesce(sum((a.counts->>'subjects')::bigint), 0)::bigint FROM derbes.audit_log a \
       WHERE a.breach_id = b.id AND a.action = 'block') AS subjects_blocked";

impl BreachRecord {
    fn from_row(row: &Row, today: NaiveDate) -> BreachRecord {
        let closed_at: Option<DateTime<Utc>> = row.get("closed_at");
        let notify_by: NaiveDate = row.get("notify_by");
        BreachRecord {
            id: row.get("id"),
            discovered_at: row.get("discovered_at"),
            summary: row.get("summary"),
            subjects: row.get("subject_refs"),
            overdue: overdue(closed_at.is_none(), notify_by, today),
            notify_by,
            calendar: row.get("calendar"),
            ticket: row.get("ticket"),
            opened_by: row.get("opened_by"),
            opened_at: row.get("opened_at"),
            notified_at: row.get("notified_at"),
            reference: row.get("reference"),
            closed_by: row.get("closed_by"),
            closed_at,
            blocks: row.get("blocks"),
            subjects_blocked: row.get("subjects_blocked"),
        }
    }
}

/// A breach and the audit rows written for it.
#[derive(Debug, Clone, Serialize)]
pub struct BreachDetail {
    pub breach: BreachRecord,
    pub audit: Vec<AuditRecord>,
    pub dry_run: bool,
    /// The deadline was counted across a year whose facts are not known yet.
    pub due_provisional: bool,
}

/// Whether a request or breach is overdue on `today`: still open (not answered,
/// not notified) and its last day (`due_on`, `notify_by`, inclusive) has passed.
/// `request list`, `breach list` and `report` ask here.
pub fn overdue(open: bool, last_day: NaiveDate, today: NaiveDate) -> bool {
    open && last_day < today
}

/// Whether something done on `done_on` met its last day `last_day` (inclusive):
/// a request answered, a breach notified.
pub fn on_time(done_on: NaiveDate, last_day: NaiveDate) -> bool {
    done_on <= last_day
}

/// The notification deadline: one working day, counted like a request's from the
/// day after discovery (Law 94-V as amended by Law 44-VIII).
pub fn notify_by(
    calendar: &Calendar,
    discovered_on: NaiveDate,
) -> Result<NaiveDate, CalendarError> {
    calendar.add_working_days(discovered_on, 1)
}

/// Record a breach with its notification deadline, and its audit row.
pub async fn open_breach(
    client: &mut Client,
    calendar: &Calendar,
    breach: &OpenBreach,
    today: NaiveDate,
) -> Result<BreachDetail, RequestError> {
    if breach.discovered_at > Utc::now() {
        return Err(RequestError::DiscoveredInFuture {
            discovered: breach.discovered_at,
        });
    }
    let deadline = notify_by(calendar, breach.discovered_on)?;
    let provisional = calendar.provisional(breach.discovered_on, deadline);
    let (record, audit_rows) = write_audited(
        client,
        &breach.operator,
        breach.dry_run,
        async |tx: &Transaction<'_>| {
            let id: i64 = tx
                .query_one(
                    "INSERT INTO derbes.breaches (discovered_at, summary, subject_refs, \
                     notify_by, calendar, ticket, opened_by) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
                    &[
                        &breach.discovered_at,
                        &breach.summary,
                        &breach.subject_refs,
                        &deadline,
                        &calendar.name,
                        &breach.ticket,
                        &breach.operator,
                    ],
                )
                .await?
                .get(0);
            let link = AuditLink {
                request_id: None,
                breach_id: Some(id),
            };
            let entry = AuditEntry {
                action: "breach.open".to_owned(),
                ticket: Some(breach.ticket.clone()),
                counts: [("subjects".to_owned(), breach.subject_refs.len() as i64)].into(),
                detail: serde_json::json!({
                    "discovered_at": breach.discovered_at,
                    "notify_by": deadline,
                    "calendar": calendar.name,
                    "due_provisional": provisional,
                }),
                ..Default::default()
            };
            // Its counts of blocks are of `block` rows only, which the append adds none of.
            let record = fetch_breach(tx, id, today, false).await?;
            Ok(Written {
                value: record,
                link,
                entry,
            })
        },
    )
    .await?;
    Ok(BreachDetail {
        breach: record,
        audit: audit_rows,
        dry_run: breach.dry_run,
        due_provisional: provisional,
    })
}

async fn fetch_breach(
    client: &impl GenericClient,
    id: i64,
    today: NaiveDate,
    for_update: bool,
) -> Result<BreachRecord, RequestError> {
    if for_update {
        client
            .query_opt(
                "SELECT 1 FROM derbes.breaches WHERE id = $1 FOR UPDATE",
                &[&id],
            )
            .await?
            .ok_or(RequestError::NotFound { what: "breach", id })?;
    }
    let row = client
        .query_opt(
            &format!("SELECT {BREACH_COLUMNS} FROM derbes.breaches b WHERE b.id = $1"),
            &[&id],
        )
        .await?
        .ok_or(RequestError::NotFound { what: "breach", id })?;
    Ok(BreachRecord::from_row(&row, today))
}

/// Breaches, soonest deadline first: open ones (all with `all`), only overdue with
/// `overdue`, only those due within `due_within` days.
pub async fn list_breaches(
    client: &impl GenericClient,
    filter: &ListFilter,
    today: NaiveDate,
) -> Result<Vec<BreachRecord>, RequestError> {
    let until = filter
        .due_within
        .map(|days| today + chrono::Duration::days(days));
    let rows = client
        .query(
            &format!(
                "SELECT {BREACH_COLUMNS} FROM derbes.breaches b \
                 WHERE ($1 OR b.closed_at IS NULL) \
                   AND (NOT $2 OR (b.closed_at IS NULL AND b.notify_by < $3)) \
                   AND ($4::date IS NULL OR (b.closed_at IS NULL AND b.notify_by <= $4)) \
                   AND ($5::text IS NULL OR $5 = ANY (b.subject_refs)) \
                 ORDER BY b.notify_by, b.id"
            ),
            &[
                &(filter.all && !filter.overdue && filter.due_within.is_none()),
                &filter.overdue,
                &today,
                &until,
                &filter.subject_ref,
            ],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|row| BreachRecord::from_row(row, today))
        .collect())
}

/// One breach and the audit rows written for it.
pub async fn show_breach(
    client: &impl GenericClient,
    id: i64,
    today: NaiveDate,
) -> Result<BreachDetail, RequestError> {
    let breach = fetch_breach(client, id, today, false).await?;
    let audit = audit::linked(
        client,
        &AuditLink {
            request_id: None,
            breach_id: Some(id),
        },
    )
    .await?;
    Ok(BreachDetail {
        breach,
        audit,
        dry_run: false,
        due_provisional: false,
    })
}

/// A breach to close: the authorised body was told.
#[derive(Debug, Clone)]
pub struct CloseBreach {
    pub id: i64,
    pub notified_at: DateTime<Utc>,
    pub reference: String,
    pub ticket: String,
    pub operator: String,
    pub today: NaiveDate,
    pub dry_run: bool,
}

/// Record that the authorised body was told, and close the breach.
pub async fn close_breach(
    client: &mut Client,
    close: &CloseBreach,
) -> Result<BreachDetail, RequestError> {
    let (breach, audit_rows) = write_audited(
        client,
        &close.operator,
        close.dry_run,
        async |tx: &Transaction<'_>| {
            let before = fetch_breach(tx, close.id, close.today, true).await?;
            if before.closed_at.is_some() {
                return Err(RequestError::Closed {
                    what: "breach",
                    id: close.id,
                });
            }
            if close.notified_at < before.discovered_at {
                return Err(RequestError::NotifiedBeforeDiscovery {
                    notified: close.notified_at,
                    discovered: before.discovered_at,
                });
            }
            tx.execute(
                "UPDATE derbes.breaches SET notified_at = $2, reference = $3, closed_by = $4, \
                 closed_at = now() WHERE id = $1",
                &[
                    &close.id,
                    &close.notified_at,
                    &close.reference,
                    &close.operator,
                ],
            )
            .await?;
            let link = AuditLink {
                request_id: None,
                breach_id: Some(close.id),
            };
            let entry = AuditEntry {
                action: "breach.close".to_owned(),
                ticket: Some(close.ticket.clone()),
                detail: serde_json::json!({
                    "notified_at": close.notified_at,
                    "reference": close.reference,
                    "notify_by": before.notify_by,
                    "late": before.overdue,
                }),
                ..Default::default()
            };
            // Its counts of blocks are of `block` rows only, which the append adds none of.
            let breach = fetch_breach(tx, close.id, close.today, false).await?;
            Ok(Written {
                value: breach,
                link,
                entry,
            })
        },
    )
    .await?;
    Ok(BreachDetail {
        breach,
        audit: audit_rows,
        dry_run: close.dry_run,
        due_provisional: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn each_kind_gets_its_legal_deadline() {
        let calendar = Calendar::built_in();
        // Received Monday 2 Nov 2026, no holiday in the next three weeks.
        let received = d("2026-11-02");
        let due = |kind| {
            due_date(
                &calendar,
                kind,
                Jurisdiction::Kz,
                received,
                DEFAULT_ACCESS_DAYS,
            )
            .unwrap()
        };
        assert_eq!(due(Kind::Rectify), (Some(1), d("2026-11-03")));
        assert_eq!(due(Kind::Block), (Some(1), d("2026-11-03")));
        assert_eq!(due(Kind::Destroy), (Some(1), d("2026-11-03")));
        assert_eq!(due(Kind::Access), (Some(3), d("2026-11-05")));
        assert_eq!(due(Kind::ObjectAutomated), (Some(3), d("2026-11-05")));
        assert_eq!(due(Kind::TransferNotice), (Some(10), d("2026-11-16")));
        assert_eq!(due(Kind::WithdrawConsent), (Some(15), d("2026-11-23")));
        assert_eq!(
            due_date(&calendar, Kind::Access, Jurisdiction::Kz, received, 5).unwrap(),
            (Some(5), d("2026-11-09"))
        );
        assert_eq!(
            due_date(&calendar, Kind::Access, Jurisdiction::Gdpr, received, 3).unwrap(),
            (None, d("2026-12-02"))
        );
    }

    #[test]
    fn kinds_read_back_as_written() {
        for kind in Kind::ALL {
            assert_eq!(Kind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(Kind::parse("erase"), None);
    }

    #[test]
    fn a_breach_found_on_friday_is_notified_by_monday() {
        let calendar = Calendar::built_in();
        assert_eq!(
            notify_by(&calendar, d("2026-11-13")).unwrap(),
            d("2026-11-16")
        );
        // Found on Tue 15 Dec 2026: Independence Day Wed 16, so Thursday.
        assert_eq!(
            notify_by(&calendar, d("2026-12-15")).unwrap(),
            d("2026-12-17")
        );
    }
}
