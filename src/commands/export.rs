//! `derbes export`: the subject-access bundle, age-encrypted by default, written
//! 0600 under a temporary name and renamed only when complete and audited
//! ([`crate::ops::export::export`]).

use secrecy::SecretString;
use serde::Serialize;

use crate::cli::ExportArgs;
use crate::commands::subject::{parse_identity, resolve_one};
use crate::commands::Context;
use crate::error::DerbesError;
use crate::files::crypto::Recipients;
use crate::files::secure_file::SecureFile;
use crate::files::tar_writer::{TarWriter, PART_BYTES};
use crate::ops::export::{self, ExportAudit, ExportOptions, ExportReport};
use crate::ops::subject::kind_name;
use crate::output::{emit, Tabular};
use crate::pg::catalog::Catalog;

pub async fn run(ctx: &Context, args: ExportArgs) -> anyhow::Result<()> {
    // Everything that can be refused is checked before the first query.
    let identity = parse_identity(&args.identity)?;
    let recipients = recipients(&args)?;
    if recipients.is_none() {
        eprintln!(
            "warning: --plaintext writes the subject's personal data unencrypted to {}; \
             hand it over at once and delete it (policy 2.6, 9.1)",
            args.out.display()
        );
    }
    let map = ctx.map()?;
    let file = SecureFile::create(&args.out, args.force)?;

    let primary_at = ctx.connect().await?;
    let checked = ctx.gate(&primary_at.0, &map).await?;
    ctx.link(&primary_at.0, &args.link).await?;
    if args.force {
        crate::ops::archive::refuse_registered(&primary_at.0, &args.out).await?;
    }
    // A second connection only when --read-db names a replica (checked to be one
    // before anything is read); the snapshot ends before the audit transaction
    // starts, so one connection serves both otherwise.
    let mut replica = match ctx.global.read_db {
        Some(_) => Some(ctx.connect_replica(&primary_at).await?.0),
        None => None,
    };
    let (mut primary, _) = primary_at;
    // The replica's own catalogue when reading there; else the one the gate read.
    let catalog = match &replica {
        Some(replica) => Catalog::read(replica).await?,
        None => checked,
    };
    let candidate = resolve_one(
        replica.as_ref().unwrap_or(&primary),
        &map,
        &catalog,
        &identity,
    )
    .await?;

    let now = chrono::Utc::now();
    let options = ExportOptions {
        ticket: args.ticket.reference.clone(),
        operator: ctx.operator.clone(),
        generated_at: now,
        today: now.with_timezone(&map.time_zone()).date_naive(),
    };
    let audit = ExportAudit {
        identity_kind: kind_name(&identity),
        recipients: recipients.as_ref().map(|r| r.public.clone()),
        read_replica: ctx.global.read_db.is_some(),
    };
    let mtime = now.timestamp().max(0) as u64;
    let writer = TarWriter::start(file, recipients.as_ref(), mtime)?;
    let (path, report) = export::export(
        &mut primary,
        replica.as_mut(),
        &map,
        &catalog,
        &candidate.key,
        &options,
        &audit,
        writer,
        PART_BYTES,
    )
    .await?;
    emit(
        ctx.format(),
        &ExportView {
            out: path.display().to_string(),
            encrypted: recipients.is_some(),
            report,
        },
    )
}

/// Who the bundle is encrypted to; None for `--plaintext`.
fn recipients(args: &ExportArgs) -> anyhow::Result<Option<Recipients>> {
    if args.plaintext {
        return Ok(None);
    }
    let mut recipients = super::recipients(&args.to)?;
    if let Some(path) = &args.passphrase_file {
        let text = std::fs::read_to_string(path).map_err(|e| {
            DerbesError::Usage(format!(
                "cannot read --passphrase-file {}: {e}",
                path.display()
            ))
        })?;
        let line = text.lines().next().unwrap_or("").to_owned();
        if line.is_empty() {
            return Err(DerbesError::Usage(format!(
                "--passphrase-file {} is empty: put the passphrase on its first line",
                path.display()
            ))
            .into());
        }
        recipients.set_passphrase(SecretString::from(line));
    } else if args.passphrase {
        let passphrase = dialoguer::Password::new()
            .with_prompt("Passphrase for the bundle")
            .with_confirmation("Repeat it", "the two entries differ")
            .interact()
            .map_err(|e| {
                DerbesError::Usage(format!(
                    "cannot prompt for a passphrase ({e}): use --passphrase-file off a terminal"
                ))
            })?;
        recipients.set_passphrase(SecretString::from(passphrase));
    }
    if recipients.is_empty() {
        return Err(DerbesError::Usage(
            "no recipient for the bundle: pass -r/--recipient age1… (or an SSH public key), \
             --recipients-file, --passphrase, or --plaintext to write it unencrypted"
                .to_owned(),
        )
        .into());
    }
    Ok(Some(recipients))
}

#[derive(Serialize)]
struct ExportView {
    out: String,
    encrypted: bool,
    #[serde(flatten)]
    report: ExportReport,
}

impl Tabular for ExportView {
    fn headers(&self) -> Vec<&'static str> {
        vec!["table", "rows", "files"]
    }
    fn rows(&self) -> Vec<Vec<String>> {
        self.report
            .tables
            .iter()
            .map(|t| vec![t.table.clone(), t.rows.to_string(), t.files.join(" ")])
            .collect()
    }
    fn notes(&self) -> Vec<String> {
        vec![format!(
            "wrote {} ({}, {} bytes of tar) for {}",
            self.out,
            if self.encrypted {
                "age-encrypted"
            } else {
                "PLAINTEXT"
            },
            self.report.tar_bytes,
            self.report.subject_ref
        )]
    }
}
