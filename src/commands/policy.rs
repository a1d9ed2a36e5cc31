//! `derbes policy publish | objection | status`: policy versions and the notice of
//! each to the subjects (policy 10.2-10.5).

use sha2::{Digest, Sha256};

use crate::cli::{PolicyCommand, PolicyObjectionArgs, PolicyPublishArgs, PolicyStatusArgs};
use crate::commands::subject::{parse_identity, resolve_one};
use crate::commands::Context;
use crate::error::DerbesError;
use crate::ops::policy::{
    self, EffectiveSource, ObjectionReport, ObjectionRequest, PolicyError, PolicyStatus,
    PublishReport, PublishRequest,
};
use crate::output::{emit, Tabular};
use crate::terminal::confirm;

pub async fn run(ctx: &Context, command: PolicyCommand) -> anyhow::Result<()> {
    match command {
        PolicyCommand::Publish(args) => publish(ctx, args).await,
        PolicyCommand::Objection(args) => objection(ctx, args).await,
        PolicyCommand::Status(args) => status(ctx, args).await,
    }
}

async fn publish(ctx: &Context, args: PolicyPublishArgs) -> anyhow::Result<()> {
    policy::check_version(&args.version)?;
    let map = ctx.map()?;
    if map.ledgers.policy.is_none() {
        return Err(anyhow::Error::new(PolicyError::NoLedger));
    }
    let text_sha256 = match &args.text {
        Some(path) => {
            let bytes = std::fs::read(path).map_err(|e| {
                DerbesError::Usage(format!(
                    "cannot read the policy text {}: {e}; give the file of the published text",
                    path.display()
                ))
            })?;
            if bytes.is_empty() {
                return Err(DerbesError::Usage(format!(
                    "the policy text {} is empty: give the file of the published text",
                    path.display()
                ))
                .into());
            }
            Some(hex::encode(Sha256::digest(&bytes)))
        }
        None => None,
    };
    let request = PublishRequest {
        version: args.version,
        effective: args.effective,
        text_sha256,
        ticket: args.ticket.reference,
        operator: ctx.operator.clone(),
        today: crate::when::today(map.time_zone()),
        dry_run: args.confirm.dry_run,
    };
    let (mut client, _) = ctx.connect().await?;
    let catalog = ctx.gate(&client, &map).await?;
    ctx.link(&client, &args.link).await?;
    let active = policy::prepare(&client, &map, &catalog, &request).await?;
    if !args.confirm.dry_run {
        confirm(
            &format!(
                "Publish policy version {} (effective {}) and queue a notice for {active} active subject(s) (ticket {})?",
                request.version, request.effective, request.ticket
            ),
            args.confirm.yes,
        )?;
    }
    let report = policy::publish(&mut client, &map, &catalog, &request).await?;
    emit(ctx.format(), &report)
}

async fn objection(ctx: &Context, args: PolicyObjectionArgs) -> anyhow::Result<()> {
    let identity = parse_identity(&args.identity)?;
    policy::check_version(&args.version)?;
    let map = ctx.map()?;
    if map.ledgers.policy.is_none() {
        return Err(anyhow::Error::new(PolicyError::NoLedger));
    }
    let (mut client, _) = ctx.connect().await?;
    let catalog = ctx.gate(&client, &map).await?;
    ctx.link(&client, &args.link).await?;
    let candidate = resolve_one(&client, &map, &catalog, &identity).await?;
    let subject_ref = format!("{}:{}", map.subject.table, candidate.key);
    if !args.confirm.dry_run {
        confirm(
            &format!(
                "Record {}'s objection to policy version {} (document {}, ticket {})?\n  {}",
                subject_ref,
                args.version,
                args.document,
                args.ticket.reference,
                candidate.label()
            ),
            args.confirm.yes,
        )?;
    }
    let request = ObjectionRequest {
        key: candidate.key,
        subject_ref,
        version: args.version,
        document: args.document,
        ticket: args.ticket.reference,
        operator: ctx.operator.clone(),
        dry_run: args.confirm.dry_run,
    };
    let report = policy::object(&mut client, &map, &catalog, &request).await?;
    emit(ctx.format(), &report)
}

async fn status(ctx: &Context, args: PolicyStatusArgs) -> anyhow::Result<()> {
    policy::check_version(&args.version)?;
    let map = ctx.map()?;
    if map.ledgers.policy.is_none() {
        return Err(anyhow::Error::new(PolicyError::NoLedger));
    }
    let (client, _) = ctx.connect().await?;
    ctx.gate_schema(&client).await?;
    let catalog = crate::pg::catalog::Catalog::read(&client).await?;
    let today = crate::when::today(map.time_zone());
    let report = policy::status(&client, &map, &catalog, &args.version, today).await?;
    emit(ctx.format(), &report)
}

impl Tabular for PublishReport {
    fn headers(&self) -> Vec<&'static str> {
        vec!["version", "effective", "notices queued", "active subjects"]
    }
    fn rows(&self) -> Vec<Vec<String>> {
        vec![vec![
            self.version.clone(),
            self.effective_on.to_string(),
            self.notices.to_string(),
            self.active.clone(),
        ]]
    }
    fn notes(&self) -> Vec<String> {
        let mut notes = vec![format!(
            "{} policy version {} under ticket {}: {} notice(s) queued; from {} a subject who has not objected counts as consenting (10.5)",
            if self.dry_run { "would publish" } else { "published" },
            self.version,
            self.ticket,
            self.notices,
            self.effective_on
        )];
        if self.dry_run {
            notes.push("dry run: everything was rolled back, nothing changed".to_owned());
        }
        notes
    }
}

impl Tabular for ObjectionReport {
    fn headers(&self) -> Vec<&'static str> {
        vec!["subject", "version", "document", "outcome"]
    }
    fn rows(&self) -> Vec<Vec<String>> {
        vec![vec![
            self.subject.clone(),
            self.version.clone(),
            self.document.clone(),
            if self.dry_run {
                "would record the objection"
            } else {
                "objection recorded"
            }
            .to_owned(),
        ]]
    }
    fn notes(&self) -> Vec<String> {
        let mut notes = vec![format!(
            "policy 10.4: a subject who objects stops using the service; closing the account is a separate request (ticket {})",
            self.ticket
        )];
        if self.dry_run {
            notes.push("dry run: everything was rolled back, nothing changed".to_owned());
        }
        notes
    }
}

impl Tabular for PolicyStatus {
    fn headers(&self) -> Vec<&'static str> {
        vec![
            "version",
            "published",
            "effective",
            "notified",
            "objected",
            "silent",
            "active, not notified",
        ]
    }
    fn rows(&self) -> Vec<Vec<String>> {
        vec![vec![
            self.version.clone(),
            self.published_at.clone(),
            self.effective_on.map(|d| d.to_string()).unwrap_or_default(),
            self.notified.to_string(),
            self.objected.to_string(),
            self.silent.to_string(),
            self.active_not_notified.to_string(),
        ]]
    }
    fn notes(&self) -> Vec<String> {
        let mut notes = Vec::new();
        let effective = self
            .effective_on
            .map(|d| d.to_string())
            .unwrap_or_else(|| "an unknown date".to_owned());
        if self.silence_counts_as_consent {
            notes.push(format!(
                "10.5 applies: the version took effect on {effective}, so the {} silent subject(s) count as having consented; the {} who objected do not (10.4)",
                self.silent, self.objected
            ));
        } else {
            notes.push(format!(
                "10.5 does not apply yet: the version takes effect on {effective}; until then the {} silent subject(s) may still object (10.3, 10.4)",
                self.silent
            ));
        }
        match self.effective_source {
            EffectiveSource::Derbes => {}
            EffectiveSource::VersionsTable => {
                notes.push("effective date read from the versions table".to_owned())
            }
            EffectiveSource::PublicationDate => notes.push(
                "the version was not published with derbes and no effective date is recorded: its publication date stands in".to_owned(),
            ),
        }
        if self.active_not_notified > 0 {
            notes.push(format!(
                "{} active subject(s) have no notice of this version (they joined after it was published, or were not active then)",
                self.active_not_notified
            ));
        }
        notes
    }
}
