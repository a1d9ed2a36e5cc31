//! `derbes erase`: resolve the subject, confirm, then archive and erase in one
//! transaction (see `ops::erase`).

use std::path::PathBuf;

use crate::cli::EraseArgs;
use crate::commands::Context;
use crate::error::DerbesError;
use crate::kz::identity::Identity;
use crate::ops::archive;
use crate::ops::erase::{self, EraseReport, EraseRequest};
use crate::ops::masking::MaskKey;
use crate::output::{emit, Tabular};
use crate::terminal::confirm;

pub async fn run(ctx: &Context, args: EraseArgs) -> anyhow::Result<()> {
    let map = ctx.map()?;
    let identity = Identity::parse(&args.identity).map_err(|e| {
        DerbesError::Usage(format!(
            "{e}; give the subject as an IIN, BIN, phone, email or id:KEY"
        ))
    })?;
    let usage = |e: crate::files::crypto::CryptoError| DerbesError::Usage(e.to_string());
    let mut recipients = crate::commands::recipients(&args.recipients)?;
    for (index, text) in args.archive_to.iter().enumerate() {
        recipients.add(text, index + 1).map_err(usage)?;
    }
    if recipients.public.is_empty() {
        return Err(DerbesError::Usage(
            "say who can open the archive of the subject's rows: --archive-to RECIPIENT (age1... or an SSH public key) or --recipients-file FILE"
                .to_owned(),
        )
        .into());
    }
    let mask_key =
        MaskKey::load(args.key_file.as_deref()).map_err(|e| DerbesError::Usage(e.to_string()))?;
    let (mut client, _) = ctx.connect().await?;
    let catalog = ctx.gate(&client, &map).await?;
    ctx.link(&client, &args.link).await?;
    let subject = erase::find(&client, &map, &catalog, &identity).await?;
    let archive_out = args.archive_out.clone().unwrap_or_else(|| {
        PathBuf::from(format!(
            "derbes-erase-{}-{}-{}.age",
            map.subject.table,
            subject
                .key
                .replace(|c: char| !c.is_ascii_alphanumeric(), "_"),
            chrono::Utc::now().format("%Y%m%dT%H%M%SZ")
        ))
    });
    if !args.confirm.dry_run {
        confirm(
            &format!(
                "Erase subject {} of {} (ticket {})? Its rows are archived to {}, then deleted or masked as the data map says; this cannot be undone in the database.\n{}",
                subject.label(),
                map.subject.table,
                args.ticket.reference,
                archive_out.display(),
                crate::terminal::who(&[subject.label()])
            ),
            args.confirm.yes,
        )?;
    }
    // A run killed mid-write leaves this row, so the next archive run removes the file.
    archive::clean_dead_runs(&client).await?;
    let run = archive::begin_run(
        &client,
        &archive_out,
        &ctx.operator,
        Some(args.ticket.reference.as_str()),
    )
    .await?;
    let request = EraseRequest {
        key: subject.key.clone(),
        ticket: args.ticket.reference.clone(),
        operator: ctx.operator.clone(),
        recipients,
        archive_out,
        keep: args.keep.clone(),
        mask_key,
        dry_run: args.confirm.dry_run,
        limits: Default::default(),
        again: args.again,
    };
    let result = erase::erase(&mut client, &map, &catalog, request).await;
    let ended = archive::end_run(&client, run).await;
    let report = result?;
    ended?;
    emit(ctx.format(), &report)
}

impl Tabular for EraseReport {
    fn headers(&self) -> Vec<&'static str> {
        vec![
            "table", "action", "rows", "deleted", "masked", "kept", "shared", "why kept",
        ]
    }
    fn rows(&self) -> Vec<Vec<String>> {
        self.tables
            .iter()
            .filter(|t| t.rows > 0)
            .map(|t| {
                vec![
                    t.table.clone(),
                    t.action.clone(),
                    t.rows.to_string(),
                    t.deleted.to_string(),
                    t.masked.to_string(),
                    t.kept.to_string(),
                    t.shared.to_string(),
                    t.reasons.join("; "),
                ]
            })
            .collect()
    }
    fn notes(&self) -> Vec<String> {
        let mut notes = Vec::new();
        let verb = if self.dry_run {
            "would erase"
        } else {
            "erased"
        };
        notes.push(format!(
            "{verb} subject {} (ticket {})",
            self.subject, self.ticket
        ));
        if let Some(archive) = &self.archive {
            notes.push(format!(
                "archive {} ({} rows, read back and verified){}",
                archive.path.display(),
                archive.rows,
                if self.dry_run {
                    ", removed again: dry run"
                } else {
                    ""
                }
            ));
        }
        notes.push(format!(
            "residual check: {} text column(s) searched for the subject's identities and names, nothing found",
            self.residual_columns_checked
        ));
        if !self.pseudonymised.is_empty() {
            notes.push(format!(
                "pseudonymised (hmac: re-linkable by the key holder, not anonymous): {}",
                self.pseudonymised.join(", ")
            ));
        }
        if self.dry_run {
            notes.push("dry run: everything was rolled back, nothing changed".to_owned());
        }
        notes
    }
}
