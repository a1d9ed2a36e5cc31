//! `derbes subject show`: find one subject and print what is held about them.
//! Also the identity parsing and resolution every per-subject command shares.

use std::io::IsTerminal;

use serde::Serialize;
use tokio_postgres::GenericClient;

use crate::cli::{SubjectCommand, SubjectShowArgs};
use crate::commands::Context;
use crate::error::DerbesError;
use crate::kz::identity::Identity;
use crate::map::DataMap;
use crate::ops::subject::{self, Candidate, ResolveError, SubjectSummary};
use crate::output::{emit, Tabular};
use crate::pg::catalog::Catalog;

pub async fn run(ctx: &Context, command: SubjectCommand) -> anyhow::Result<()> {
    match command {
        SubjectCommand::Show(args) => show(ctx, args).await,
    }
}

async fn show(ctx: &Context, args: SubjectShowArgs) -> anyhow::Result<()> {
    let identity = parse_identity(&args.identity)?;
    let map = ctx.map()?;
    let (client, _) = ctx.connect_read().await?;
    let catalog = Catalog::read(&client).await?;
    warn_of_misfit(&map, &catalog);
    let candidate = resolve_one(&client, &map, &catalog, &identity).await?;
    let today = crate::when::today(map.time_zone());
    let summary = subject::summary(&client, &map, &catalog, &candidate.key, today).await?;
    emit(ctx.format(), &SummaryView(summary))
}

/// A read shows what the map points at: a table or column the map names and the
/// database lacks is left out of what is shown, so say so (the read still runs;
/// commands that change data refuse such a map at their gate).
fn warn_of_misfit(map: &crate::map::DataMap, catalog: &Catalog) {
    let report = crate::ops::map_check::check(map, catalog, Default::default());
    let errors: Vec<&crate::ops::map_check::Finding> = report
        .findings
        .iter()
        .filter(|f| f.severity == crate::ops::map_check::Severity::Error)
        .collect();
    if let Some(first) = errors.first() {
        tracing::warn!(
            "the data map does not fit this database ({} error(s), first: {}: {}); what is shown may be incomplete. Run `derbes map check` for all of them",
            errors.len(),
            first.object,
            first.message
        );
    }
}

/// Parse an identity argument; an invalid one is a usage error (exit 2) before any
/// query runs. The message names what is wrong, never the value itself.
pub fn parse_identity(text: &str) -> anyhow::Result<Identity> {
    Identity::parse(text).map_err(|e| {
        DerbesError::Usage(format!(
            "invalid identity: {e}. Give a 12-digit IIN, a BIN, a phone (+7 701 234 56 78), \
             an email, or id:KEY"
        ))
        .into()
    })
}

/// Resolve to exactly one subject. Several matches on a terminal offer a choice;
/// otherwise they fail with exit 4, listing the candidates with masked IINs.
pub async fn resolve_one(
    client: &impl GenericClient,
    map: &DataMap,
    catalog: &Catalog,
    identity: &Identity,
) -> anyhow::Result<Candidate> {
    match subject::resolve(client, map, catalog, identity).await {
        Ok(candidate) => Ok(candidate),
        Err(ResolveError::Ambiguous {
            kind,
            masked,
            candidates,
        }) if std::io::stdin().is_terminal() && std::io::stderr().is_terminal() => {
            choose(kind, &masked, candidates)
        }
        Err(e) => Err(e.into()),
    }
}

fn choose(kind: &str, masked: &str, candidates: Vec<Candidate>) -> anyhow::Result<Candidate> {
    let mut items: Vec<String> = candidates.iter().map(Candidate::label).collect();
    items.push("none of these".to_owned());
    let picked = dialoguer::Select::new()
        .with_prompt(format!(
            "{kind} {masked} matches {} subjects; check with the person and pick one",
            candidates.len()
        ))
        .items(&items)
        .default(items.len() - 1)
        .interact()?;
    candidates.into_iter().nth(picked).ok_or_else(|| {
        DerbesError::Refused("no subject picked: nothing was done".to_owned()).into()
    })
}

#[derive(Serialize)]
#[serde(transparent)]
struct SummaryView(SubjectSummary);

impl Tabular for SummaryView {
    fn headers(&self) -> Vec<&'static str> {
        vec!["field", "value"]
    }

    fn rows(&self) -> Vec<Vec<String>> {
        let s = &self.0;
        let mut rows = vec![vec!["subject".to_owned(), s.subject_ref.clone()]];
        for field in &s.identity {
            rows.push(vec![
                format!("{} ({})", field.column, field.category),
                field.value.clone().unwrap_or_default(),
            ]);
        }
        let status = match &s.status.reason {
            Some(reason) => format!("{} (reason: {reason})", s.status.state),
            None => s.status.state.clone(),
        };
        rows.push(vec!["status".to_owned(), status]);
        rows.push(vec![
            "minor".to_owned(),
            if s.minor {
                "YES: under 18 (policy 11.1)".to_owned()
            } else {
                "no".to_owned()
            },
        ]);
        for held in &s.categories {
            rows.push(vec![
                format!("held: {}", held.category),
                format!(
                    "{} rows, {} .. {} ({})",
                    held.rows,
                    held.oldest.as_deref().unwrap_or("?"),
                    held.newest.as_deref().unwrap_or("?"),
                    held.tables.join(", ")
                ),
            ]);
        }
        rows.push(vec![
            "open loans".to_owned(),
            s.open_loans
                .map_or_else(|| "not mapped".to_owned(), |n| n.to_string()),
        ]);
        for consent in &s.consents {
            rows.push(vec![
                "consent".to_owned(),
                format!(
                    "{}: granted {}{}",
                    consent.purpose.as_deref().unwrap_or("?"),
                    consent.granted_at.as_deref().unwrap_or("?"),
                    consent
                        .withdrawn_at
                        .as_deref()
                        .map(|w| format!(", withdrawn {w}"))
                        .unwrap_or_default()
                ),
            ]);
        }
        for disclosure in &s.disclosures {
            rows.push(vec![
                "disclosed".to_owned(),
                format!(
                    "to {} for {} on {}",
                    disclosure.recipient.as_deref().unwrap_or("?"),
                    disclosure.purpose.as_deref().unwrap_or("?"),
                    disclosure.disclosed_at.as_deref().unwrap_or("?")
                ),
            ]);
        }
        match &s.requests {
            None => rows.push(vec![
                "requests".to_owned(),
                "not recorded (the derbes schema is older than version 8: run `derbes migrate`)"
                    .to_owned(),
            ]),
            Some(requests) if requests.is_empty() => {
                rows.push(vec!["requests".to_owned(), "none recorded".to_owned()])
            }
            Some(requests) => {
                for r in requests {
                    let state = match (&r.outcome, r.overdue) {
                        (Some(outcome), _) => format!("closed: {outcome}"),
                        (None, true) => "OPEN, OVERDUE".to_owned(),
                        (None, false) => "open".to_owned(),
                    };
                    rows.push(vec![
                        "request".to_owned(),
                        format!(
                            "#{} {} received {}, due {} ({state}; ticket {})",
                            r.id, r.kind, r.received_on, r.due_on, r.ticket
                        ),
                    ]);
                }
            }
        }
        rows
    }
}
