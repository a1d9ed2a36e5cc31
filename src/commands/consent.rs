//! `derbes consent list | withdraw | grant`: the subject's consents through the data
//! map's consent ledger (`ops::consent`). A purpose the map does not declare is a
//! usage error before anything is read; a withdrawal an open loan holds back is
//! refused before anyone is asked to confirm it.

use crate::cli::{ConsentChangeArgs, ConsentCommand, ConsentListArgs};
use crate::commands::subject::{parse_identity, resolve_one};
use crate::commands::Context;
use crate::ops::consent::{self, ConsentList, ConsentReport, ConsentRequest};
use crate::output::{emit, Tabular};
use crate::pg::catalog::Catalog;
use crate::terminal::confirm;

pub async fn run(ctx: &Context, command: ConsentCommand) -> anyhow::Result<()> {
    match command {
        ConsentCommand::List(args) => list(ctx, args).await,
        ConsentCommand::Withdraw(args) => change(ctx, args, Action::Withdraw).await,
        ConsentCommand::Grant(args) => change(ctx, args, Action::Grant).await,
    }
}

async fn list(ctx: &Context, args: ConsentListArgs) -> anyhow::Result<()> {
    let map = ctx.map()?;
    consent::ledger(&map)?;
    let identity = parse_identity(&args.identity)?;
    let (client, _) = ctx.connect_read().await?;
    let catalog = Catalog::read(&client).await?;
    let candidate = resolve_one(&client, &map, &catalog, &identity).await?;
    let report = consent::list(&client, &map, &catalog, &candidate.key).await?;
    emit(ctx.format(), &report)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Action {
    Withdraw,
    Grant,
}

async fn change(ctx: &Context, args: ConsentChangeArgs, action: Action) -> anyhow::Result<()> {
    let map = ctx.map()?;
    consent::ledger(&map)?;
    consent::check_purpose(&map, &args.purpose)?;
    let identity = parse_identity(&args.identity)?;
    let (mut client, _) = ctx.connect().await?;
    let catalog = ctx.gate(&client, &map).await?;
    ctx.link(&client, &args.link).await?;
    let candidate = resolve_one(&client, &map, &catalog, &identity).await?;
    if action == Action::Withdraw {
        consent::precheck_withdraw(&client, &map, &catalog, &candidate.key, &args.purpose).await?;
    }
    let verb = match action {
        Action::Withdraw => "Withdraw",
        Action::Grant => "Record",
    };
    if !args.confirm.dry_run {
        confirm(
            &format!(
                "{verb} consent to `{}` for {}:{} (document {}, ticket {})?",
                args.purpose,
                map.subject.table,
                candidate.key,
                args.document,
                args.ticket.reference
            ),
            args.confirm.yes,
        )?;
    }
    let request = ConsentRequest {
        subject_key: candidate.key,
        purpose: args.purpose,
        document: args.document,
        ticket: args.ticket.reference,
        operator: ctx.operator.clone(),
        dry_run: args.confirm.dry_run,
    };
    let report = match action {
        Action::Withdraw => consent::withdraw(&mut client, &map, &catalog, &request).await,
        Action::Grant => consent::grant(&mut client, &map, &catalog, &request).await,
    }?;
    emit(ctx.format(), &report)
}

impl Tabular for ConsentList {
    fn headers(&self) -> Vec<&'static str> {
        vec!["purpose", "granted", "withdrawn", "document", "in data map"]
    }
    fn rows(&self) -> Vec<Vec<String>> {
        self.consents
            .iter()
            .map(|c| {
                vec![
                    c.purpose.clone().unwrap_or_default(),
                    c.granted_at.clone().unwrap_or_default(),
                    c.withdrawn_at
                        .clone()
                        .unwrap_or_else(|| "in force".to_owned()),
                    c.document.clone().unwrap_or_default(),
                    if c.declared {
                        "yes"
                    } else {
                        "NO: run `derbes map check`"
                    }
                    .to_owned(),
                ]
            })
            .collect()
    }
    fn notes(&self) -> Vec<String> {
        let mut notes = vec![format!(
            "{}: {} consent record(s), {} in force",
            self.subject,
            self.consents.len(),
            self.consents
                .iter()
                .filter(|c| c.withdrawn_at.is_none())
                .count()
        )];
        if !self.open_loans.is_empty() {
            notes.push(format!(
                "open: {}; consent to the purposes it needs cannot be withdrawn until it is repaid and closed (Law 94-V Art. 8(2))",
                self.open_loans.join(", ")
            ));
        }
        notes
    }
}

impl Tabular for ConsentReport {
    fn headers(&self) -> Vec<&'static str> {
        vec!["subject", "purpose", "outcome", "rows", "document"]
    }
    fn rows(&self) -> Vec<Vec<String>> {
        vec![vec![
            self.subject.clone(),
            self.purpose.clone(),
            self.outcome.clone(),
            self.rows.to_string(),
            self.document.clone(),
        ]]
    }
    fn notes(&self) -> Vec<String> {
        let mut notes = Vec::new();
        let what = if self.action == "withdraw" {
            "processing for this purpose stops"
        } else {
            "processing for this purpose may go on"
        };
        if self.processing.is_empty() {
            notes.push(format!(
                "{what} (no mapped column names `{}` as its purpose: the application's own use of it)",
                self.purpose
            ));
        } else {
            notes.push(format!("{what}: {}", self.processing.join(", ")));
        }
        if self.outcome == "already in force" {
            notes.push(
                "a consent to this purpose is in force already: nothing was recorded".to_owned(),
            );
        }
        if self.dry_run {
            notes.push("dry run: everything was rolled back, nothing changed".to_owned());
        }
        notes
    }
}
