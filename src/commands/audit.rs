//! `derbes audit log|head|verify`: read, anchor and check the audit trail.

use serde::Serialize;

use crate::cli::{AuditCommand, AuditLogArgs, AuditVerifyArgs, Format};
use crate::commands::Context;
use crate::error::DerbesError;
use crate::output::{emit, Tabular};
use crate::pg::audit::{self, AnchorStatus, AuditFilter, AuditRecord, HeadRecord, VerifyReport};
use crate::pg::migrate::ensure_current;
use crate::when::parse_since;

pub async fn run(ctx: &Context, command: AuditCommand) -> anyhow::Result<()> {
    let (client, _) = ctx.connect().await?;
    ensure_current(&client).await?;
    match command {
        AuditCommand::Log(args) => log(ctx, &client, args).await,
        AuditCommand::Head => head(ctx, &client).await,
        AuditCommand::Verify(args) => verify(ctx, &client, args).await,
    }
}

#[derive(Serialize)]
struct AuditLog {
    records: Vec<AuditRecord>,
}

async fn log(
    ctx: &Context,
    client: &tokio_postgres::Client,
    args: AuditLogArgs,
) -> anyhow::Result<()> {
    // The map is read only for its time zone, and only when --since needs it.
    let since = match args.since.as_deref() {
        Some(text) => Some(parse_since(text, ctx.time_zone()?)?),
        None => None,
    };
    let filter = AuditFilter {
        action: args.action,
        ticket: args.ticket,
        since,
        limit: args.limit.max(1),
    };
    let records = audit::list(client, &filter).await?;
    emit(ctx.format(), &AuditLog { records })
}

impl Tabular for AuditLog {
    fn headers(&self) -> Vec<&'static str> {
        vec![
            "seq", "at", "operator", "action", "ticket", "subject", "counts",
        ]
    }
    fn rows(&self) -> Vec<Vec<String>> {
        self.records
            .iter()
            .map(|r| {
                vec![
                    r.seq.to_string(),
                    r.at.format("%Y-%m-%d %H:%M:%S").to_string(),
                    match &r.db_session_user {
                        Some(role) if role != &r.operator => {
                            format!("{} (db role {role})", r.operator)
                        }
                        _ => r.operator.clone(),
                    },
                    r.action.clone(),
                    ticket_with_link(r),
                    r.subject_ref.clone().unwrap_or_default(),
                    compact_counts(&r.counts),
                ]
            })
            .collect()
    }
    fn notes(&self) -> Vec<String> {
        if self.records.is_empty() {
            vec!["no audit records match".to_owned()]
        } else {
            Vec::new()
        }
    }
}

/// The ticket, and the request or breach the row was written for (`--request`).
fn ticket_with_link(record: &crate::pg::audit::AuditRecord) -> String {
    let mut text = record.ticket.clone().unwrap_or_default();
    if let Some(id) = record.request_id {
        text.push_str(&format!(" (request {id})"));
    }
    if let Some(id) = record.breach_id {
        text.push_str(&format!(" (breach {id})"));
    }
    text.trim_start().to_owned()
}

fn compact_counts(counts: &serde_json::Value) -> String {
    counts
        .as_object()
        .map(|o| {
            // Zero counts say nothing on a screen; JSON keeps them all.
            o.iter()
                .filter(|(_, v)| v.as_i64() != Some(0))
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_default()
}

/// `audit head`: the newest record, to keep elsewhere.
#[derive(Serialize)]
struct HeadReport {
    database: String,
    #[serde(flatten)]
    head: Option<HeadRecord>,
    /// `SEQ:HASH`, what `audit verify --head` takes.
    anchor: Option<String>,
}

async fn head(ctx: &Context, client: &tokio_postgres::Client) -> anyhow::Result<()> {
    let database: String = client
        .query_one("SELECT current_database()", &[])
        .await?
        .get(0);
    let head = audit::head(client).await?;
    let anchor = head.as_ref().map(|h| h.head.to_string());
    let format = ctx.format();
    emit(
        format,
        &HeadReport {
            database,
            head,
            anchor: anchor.clone(),
        },
    )?;
    // The anchor alone on the last line, for `| tail -n1` into a ticket or a cron log
    // (JSON and CSV carry it in their own field).
    if let (Some(anchor), Format::Table | Format::Tsv) = (anchor, format) {
        std::io::Write::write_all(&mut std::io::stdout(), format!("{anchor}\n").as_bytes())?;
    }
    Ok(())
}

impl Tabular for HeadReport {
    fn headers(&self) -> Vec<&'static str> {
        vec!["database", "seq", "at", "row_hash", "anchor"]
    }
    fn rows(&self) -> Vec<Vec<String>> {
        match &self.head {
            None => Vec::new(),
            Some(h) => vec![vec![
                self.database.clone(),
                h.head.seq.to_string(),
                h.at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                h.head.row_hash.clone(),
                h.head.to_string(),
            ]],
        }
    }
    fn notes(&self) -> Vec<String> {
        match &self.anchor {
            None => vec!["the audit trail is empty: there is no head to keep yet".to_owned()],
            Some(_) => vec![
                "keep the anchor (the last line) off the database server (a ticket, a cron \
                 log); check later with derbes audit verify --head SEQ:HASH"
                    .to_owned(),
            ],
        }
    }
}

async fn verify(
    ctx: &Context,
    client: &tokio_postgres::Client,
    args: AuditVerifyArgs,
) -> anyhow::Result<()> {
    let key = crate::commands::keys::audit_key(None)?;
    let seals = key.as_ref().map(|key| audit::Seals {
        key,
        sealed_from: args.sealed_from,
    });
    let report = audit::verify(client, &args.heads, seals).await?;
    emit(ctx.format(), &report)?;
    match report.problem() {
        None => Ok(()),
        Some(problem) => Err(DerbesError::VerificationFailed(format!(
            "{problem}; keep the database as it is and compare its audit log with a backup to find what was removed or changed"
        ))
        .into()),
    }
}

impl Tabular for VerifyReport {
    fn headers(&self) -> Vec<&'static str> {
        vec!["records", "status", "head", "anchors"]
    }
    fn rows(&self) -> Vec<Vec<String>> {
        let status = match (
            &self.first_bad,
            self.anchors.iter().find(|a| a.problem.is_some()),
        ) {
            (Some(bad), _) => format!("BROKEN at record {}", bad.seq),
            (None, Some(a)) if a.status == AnchorStatus::Missing => {
                format!("CUT SHORT before record {}", a.head.seq)
            }
            (None, Some(a)) => format!("REWRITTEN at record {}", a.head.seq),
            (None, None) if self.anchored => "intact, anchored".to_owned(),
            (None, None) => "intact (unanchored)".to_owned(),
        };
        let head = match (self.head_seq, &self.head_hash) {
            (Some(seq), Some(hash)) => format!("{seq}:{hash}"),
            _ => String::new(),
        };
        let anchors = self
            .anchors
            .iter()
            .map(|a| {
                format!(
                    "{}:{}",
                    a.head.seq,
                    match a.status {
                        AnchorStatus::Held => "held",
                        AnchorStatus::Missing => "missing",
                        AnchorStatus::Differs => "differs",
                        AnchorStatus::Unchecked => "unchecked",
                    }
                )
            })
            .collect::<Vec<_>>()
            .join(" ");
        vec![vec![self.records.to_string(), status, head, anchors]]
    }
    fn notes(&self) -> Vec<String> {
        let mut notes = Vec::new();
        if let Some(bad) = &self.first_bad {
            notes.push(format!("record {}: {}", bad.seq, bad.problem));
        }
        notes.extend(self.anchors.iter().filter_map(|a| a.problem.clone()));
        if self.first_bad.is_none() {
            match (self.head_seq, &self.head_hash) {
                (Some(seq), Some(hash)) => notes.push(format!("chain head: {seq}:{hash}")),
                _ => notes.push("the audit trail is empty".to_owned()),
            }
        }
        if self.seals.key_given && self.seals.sealed > 0 && self.first_bad.is_none() {
            notes.push(format!(
                "{} sealed record(s) opened with the audit key",
                self.seals.sealed
            ));
        }
        if let Some(warning) = &self.warning {
            notes.push(format!("note: {warning}"));
        }
        if let Some(note) = &self.seal_note {
            notes.push(format!("note: {note}"));
        }
        notes
    }
}
