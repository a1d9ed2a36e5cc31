//! `derbes block`: find the subjects (identities, a file, stdin, an IP range or a
//! device), check the guard rails, confirm, then block them in one transaction.
//! `derbes block list` is `derbes blocks` (`commands::blocks`).

use std::io::Read;
use std::path::Path;

use anyhow::Context as _;

use crate::cli::{BlockArgs, BlockCommand, BlockReason};
use crate::commands::Context;
use crate::error::DerbesError;
use crate::ops::block::{
    self, BlockError, BlockReport, BlockRequest, Guards, IdentityList, Reason, Selector,
};
use crate::output::{emit, Tabular};
use crate::terminal::confirm;
use crate::when::parse_since;

pub async fn run(ctx: &Context, args: BlockArgs) -> anyhow::Result<()> {
    // `main` turns `block list` into `blocks` (`Command::resolve_aliases`) before
    // `commands::run`, whose free-text check would refuse the list's empty
    // ticket; a caller of this function itself gets the list here.
    if let Some(BlockCommand::List(list)) = args.command {
        return crate::commands::blocks::run(ctx, list).await;
    }
    // clap requires --reason to block; it is an Option only for `block list`.
    let reason = args.reason.map(reason).ok_or_else(|| {
        DerbesError::Usage(
            "say why the accounts are blocked: pass --reason compromised, violation, fraud or other"
                .to_owned(),
        )
    })?;
    let map = ctx.map()?;
    let selector = selector(&args, map.time_zone())?;
    let identities = if selector.is_none() {
        read_identities(&args.identities, args.from_file.as_deref())?
    } else {
        IdentityList::default()
    };
    let (mut client, _) = ctx.connect().await?;
    let catalog = ctx.gate(&client, &map).await?;
    ctx.link(&client, &args.link).await?;
    let found = match &selector {
        Some(selector) => block::find_selected(&client, &map, &catalog, selector).await,
        None => block::find_identities(&client, &map, &catalog, &identities.identities).await,
    }?;
    let skipped_unknown = found.unknown.iter().map(|g| g.describe()).collect();
    let subjects = block::check_guards(
        found,
        Guards {
            max: args.max,
            skip_unknown: args.skip_unknown,
        },
    )?;
    if !args.confirm.dry_run {
        confirm(
            &format!(
                "Block {} subject(s) of {} (reason {}, ticket {})?\n{}",
                subjects.len(),
                map.subject.table,
                reason,
                args.ticket.reference,
                crate::terminal::who(&named(&subjects))
            ),
            args.confirm.yes,
        )?;
    }
    let request = BlockRequest {
        subjects,
        reason,
        ticket: args.ticket.reference,
        selector: BlockRequest::selector_of(selector.as_ref()),
        operator: ctx.operator.clone(),
        skipped_unknown,
        duplicates: identities.duplicates,
        dry_run: args.confirm.dry_run,
    };
    let report = block::block(&mut client, &map, &catalog, &request).await?;
    emit(ctx.format(), &report)
}

fn reason(reason: BlockReason) -> Reason {
    match reason {
        BlockReason::Compromised => Reason::Compromised,
        BlockReason::Violation => Reason::Violation,
        BlockReason::Fraud => Reason::Fraud,
        BlockReason::Other => Reason::Other,
    }
}

fn selector(args: &BlockArgs, zone: chrono_tz::Tz) -> anyhow::Result<Option<Selector>> {
    let since = args
        .since
        .as_deref()
        .map(|text| parse_since(text, zone))
        .transpose()?;
    if since.is_some() && args.ip.is_none() && args.device.is_none() {
        return Err(DerbesError::Usage(
            "--since narrows --ip or --device; identities are blocked whatever their activity"
                .to_owned(),
        )
        .into());
    }
    if let Some(ip) = &args.ip {
        let range = block::parse_cidr(ip)?;
        return Ok(Some(Selector::Ip { range, since }));
    }
    if let Some(id) = &args.device {
        if id.trim().is_empty() {
            return Err(DerbesError::Usage("--device needs a device identifier".to_owned()).into());
        }
        return Ok(Some(Selector::Device {
            id: id.trim().to_owned(),
            since,
        }));
    }
    Ok(None)
}

/// Identities from the arguments (`-` reads stdin) and `--from-file`, duplicates
/// counted once.
pub(crate) fn read_identities(
    arguments: &[String],
    from_file: Option<&Path>,
) -> anyhow::Result<IdentityList> {
    let mut list = IdentityList::default();
    let (stdin, literal): (Vec<&String>, Vec<&String>) = arguments.iter().partition(|a| *a == "-");
    let literal: Vec<String> = literal.into_iter().cloned().collect();
    list.add_arguments(&literal)?;
    let reads_stdin = !stdin.is_empty() || from_file == Some(Path::new("-"));
    if reads_stdin {
        let mut bytes = Vec::new();
        std::io::stdin()
            .read_to_end(&mut bytes)
            .context("cannot read identities from stdin")?;
        list.add_bytes(&bytes, "stdin")?;
    }
    if let Some(path) = from_file.filter(|p| *p != Path::new("-")) {
        let bytes = std::fs::read(path).map_err(|e| {
            DerbesError::Usage(format!(
                "cannot read identities from {}: {e}; check the path and that it is a readable file",
                path.display()
            ))
        })?;
        list.add_bytes(&bytes, &path.display().to_string())?;
    }
    if list.is_empty() {
        return Err(anyhow::Error::new(BlockError::NoInput));
    }
    Ok(list)
}

/// Each subject as `table:key, found by <masked identity> (<where given>)`.
pub(crate) fn named(subjects: &[block::FoundSubject]) -> Vec<String> {
    subjects
        .iter()
        .map(|s| format!("{}, found by {}", s.subject, s.found_by))
        .collect()
}

impl Tabular for BlockReport {
    fn headers(&self) -> Vec<&'static str> {
        vec!["subject", "found by", "outcome"]
    }
    fn rows(&self) -> Vec<Vec<String>> {
        let done = if self.dry_run {
            "would block"
        } else {
            "blocked"
        };
        let rows = |subjects: &[block::FoundSubject], outcome: &str| {
            subjects
                .iter()
                .map(|s| vec![s.subject.clone(), s.found_by.clone(), outcome.to_owned()])
                .collect::<Vec<_>>()
        };
        let mut all = rows(&self.blocked, done);
        all.extend(rows(&self.already_blocked, "already blocked"));
        all.extend(rows(&self.vanished, "gone (not found when locked)"));
        all
    }
    fn notes(&self) -> Vec<String> {
        let mut notes = Vec::new();
        let verb = if self.dry_run {
            "would block"
        } else {
            "blocked"
        };
        notes.push(format!(
            "{verb} {} subject(s), {} already blocked (reason {}, ticket {})",
            self.blocked.len(),
            self.already_blocked.len(),
            self.reason,
            self.ticket
        ));
        if !self.changes.is_empty() {
            let changes: Vec<String> = self
                .changes
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            notes.push(format!("rows changed: {}", changes.join(", ")));
        }
        if self.duplicates > 0 {
            notes.push(format!(
                "{} duplicate identit(y/ies) counted once",
                self.duplicates
            ));
        }
        if !self.skipped_unknown.is_empty() {
            notes.push(format!(
                "skipped {} unknown identit(y/ies): {}",
                self.skipped_unknown.len(),
                self.skipped_unknown.join(", ")
            ));
        }
        if self.dry_run {
            notes.push("dry run: everything was rolled back, nothing changed".to_owned());
        }
        notes
    }
}
