//! `derbes disclosure record | list`: transfers of a subject's data to third
//! parties (policy 7.2).

use crate::cli::{DisclosureBasis, DisclosureCommand, DisclosureListArgs, DisclosureRecordArgs};
use crate::commands::subject::{parse_identity, resolve_one};
use crate::commands::Context;
use crate::ops::disclosure::{
    self, Basis, DisclosureError, DisclosureReport, DisclosureRequest, DisclosureRow,
};
use crate::output::{emit, Tabular};
use crate::terminal::confirm;

pub async fn run(ctx: &Context, command: DisclosureCommand) -> anyhow::Result<()> {
    match command {
        DisclosureCommand::Record(args) => record(ctx, args).await,
        DisclosureCommand::List(args) => list(ctx, args).await,
    }
}

async fn record(ctx: &Context, args: DisclosureRecordArgs) -> anyhow::Result<()> {
    let identity = parse_identity(&args.identity)?;
    let map = ctx.map()?;
    let categories = disclosure::parse_categories(args.categories.as_deref().unwrap_or(""))?;
    let at = args
        .at
        .as_deref()
        .map(|text| crate::when::parse_since(text, map.time_zone()))
        .transpose()?;
    let mut request = DisclosureRequest {
        key: String::new(),
        subject_ref: String::new(),
        recipient: args.recipient.trim().to_owned(),
        basis: match args.basis {
            DisclosureBasis::Consent => Basis::Consent,
            DisclosureBasis::Law => Basis::Law,
            DisclosureBasis::Sale => Basis::Sale,
        },
        purpose: args.purpose,
        categories,
        at,
        ticket: args.ticket.reference,
        operator: ctx.operator.clone(),
        dry_run: args.confirm.dry_run,
    };
    // Refused before connecting: nothing has run.
    disclosure::check(&map, &request)?;
    let (mut client, _) = ctx.connect().await?;
    let catalog = ctx.gate(&client, &map).await?;
    ctx.link(&client, &args.link).await?;
    let candidate = resolve_one(&client, &map, &catalog, &identity).await?;
    request.subject_ref = format!("{}:{}", map.subject.table, candidate.key);
    request.key = candidate.key.clone();
    if !args.confirm.dry_run {
        confirm(
            &format!(
                "Record a transfer of {}'s data to {} ({}, purpose {}, ticket {})?\n  {}",
                request.subject_ref,
                request.recipient,
                request.basis.as_str(),
                request.purpose,
                request.ticket,
                candidate.label()
            ),
            args.confirm.yes,
        )?;
    }
    let report = disclosure::record(&mut client, &map, &catalog, &request).await?;
    emit(ctx.format(), &report)
}

async fn list(ctx: &Context, args: DisclosureListArgs) -> anyhow::Result<()> {
    let identity = args.identity.as_deref().map(parse_identity).transpose()?;
    let map = ctx.map()?;
    if map.ledgers.disclosures.is_none() {
        return Err(anyhow::Error::new(DisclosureError::NoLedger));
    }
    let since = args
        .since
        .as_deref()
        .map(|text| crate::when::parse_since(text, map.time_zone()))
        .transpose()?;
    let (client, _) = ctx.connect_read().await?;
    let catalog = crate::pg::catalog::Catalog::read(&client).await?;
    let key = match identity {
        Some(identity) => Some(resolve_one(&client, &map, &catalog, &identity).await?.key),
        None => None,
    };
    let rows = disclosure::list(&client, &map, &catalog, key.as_deref(), since, args.limit).await?;
    emit(ctx.format(), &DisclosureList(rows))
}

impl Tabular for DisclosureReport {
    fn headers(&self) -> Vec<&'static str> {
        vec![
            "subject",
            "recipient",
            "basis",
            "purpose",
            "categories",
            "disclosed at",
        ]
    }
    fn rows(&self) -> Vec<Vec<String>> {
        vec![vec![
            self.subject.clone(),
            self.recipient.clone(),
            self.basis.as_str().to_owned(),
            self.purpose.clone(),
            self.categories.join(","),
            self.disclosed_at.clone(),
        ]]
    }
    fn notes(&self) -> Vec<String> {
        let mut notes = vec![format!(
            "{} under ticket {}",
            if self.dry_run {
                "would record the transfer"
            } else {
                "transfer recorded"
            },
            self.ticket
        )];
        if self.dry_run {
            notes.push("dry run: everything was rolled back, nothing changed".to_owned());
        }
        notes
    }
}

/// The rows of `disclosure list`.
#[derive(serde::Serialize)]
#[serde(transparent)]
struct DisclosureList(Vec<DisclosureRow>);

impl Tabular for DisclosureList {
    fn headers(&self) -> Vec<&'static str> {
        vec![
            "subject",
            "disclosed at",
            "recipient",
            "purpose",
            "legal basis",
            "categories",
        ]
    }
    fn rows(&self) -> Vec<Vec<String>> {
        self.0
            .iter()
            .map(|row| {
                let r = &row.record;
                vec![
                    row.subject.clone(),
                    r.disclosed_at.clone().unwrap_or_default(),
                    r.recipient.clone().unwrap_or_default(),
                    r.purpose.clone().unwrap_or_default(),
                    r.legal_basis.clone().unwrap_or_default(),
                    r.categories.join(","),
                ]
            })
            .collect()
    }
    fn notes(&self) -> Vec<String> {
        vec![format!("{} transfer(s)", self.0.len())]
    }
}
