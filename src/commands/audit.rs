//! `derbes audit log|verify`: read and check the audit trail.

use serde::Serialize;

use crate::audit::{self, AuditFilter, AuditRecord, VerifyReport};
use crate::cli::{AuditCommand, AuditLogArgs};
use crate::commands::Context;
use crate::error::DerbesError;
use crate::migrate::ensure_current;
use crate::output::{emit, Tabular};
use crate::when::parse_since;

pub async fn run(ctx: &Context, command: AuditCommand) -> anyhow::Result<()> {
    let (client, _) = ctx.connect().await?;
    ensure_current(&client).await?;
    match command {
        AuditCommand::Log(args) => log(ctx, &client, args).await,
        AuditCommand::Verify => verify(ctx, &client).await,
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
                    r.ticket.clone().unwrap_or_default(),
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

async fn verify(ctx: &Context, client: &tokio_postgres::Client) -> anyhow::Result<()> {
    let report = audit::verify(client).await?;
    emit(ctx.format(), &report)?;
    match &report.first_bad {
        None => Ok(()),
        Some(bad) => Err(DerbesError::VerificationFailed(format!(
            "audit trail broken at record {}: {}",
            bad.seq, bad.problem
        ))
        .into()),
    }
}

impl Tabular for VerifyReport {
    fn headers(&self) -> Vec<&'static str> {
        vec!["records", "status"]
    }
    fn rows(&self) -> Vec<Vec<String>> {
        vec![vec![
            self.records.to_string(),
            match &self.first_bad {
                None => "intact".to_owned(),
                Some(bad) => format!("BROKEN at record {}", bad.seq),
            },
        ]]
    }
    fn notes(&self) -> Vec<String> {
        match (&self.first_bad, &self.head_hash) {
            (Some(bad), _) => vec![format!("record {}: {}", bad.seq, bad.problem)],
            (None, Some(head)) => vec![format!("chain head: {head}")],
            (None, None) => vec!["the audit trail is empty".to_owned()],
        }
    }
}
