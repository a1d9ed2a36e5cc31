//! `derbes rectify`: check the corrections against the data map, find the subject,
//! read and validate the new values, show the diff and confirm, then change the
//! row in one transaction with its audit row (`ops::rectify`).
//!
//! What is shown where: the report on stdout (which may go to a pipe, a file or a
//! ticket) shows every value masked, like identities elsewhere; the confirmation
//! prompt, which only ever appears on a terminal, shows the old and new values in
//! clear so the operator can check them against the evidence before saying yes.
//! Neither the audit row nor any message holds a value.

use crate::cli::RectifyArgs;
use crate::commands::subject::{parse_identity, resolve_one};
use crate::commands::Context;
use crate::error::DerbesError;
use crate::ops::rectify::{self, Prepared, RectifyReport, RectifyRequest};
use crate::output::{emit, Tabular};
use crate::terminal::confirm;

pub async fn run(ctx: &Context, args: RectifyArgs) -> anyhow::Result<()> {
    let map = ctx.map()?;
    let plan = rectify::plan(&map, &args.set, args.row.as_deref())?;
    let key = crate::commands::keys::audit_key(args.audit_key_file.as_deref())?.ok_or_else(|| {
        DerbesError::Usage(format!(
            "rectify records a keyed hash of each old and new value in the audit row and needs the audit key: {}",
            crate::commands::keys::AUDIT_KEY_HELP
        ))
    })?;
    let identity = parse_identity(&args.identity)?;
    let (mut client, _) = ctx.connect().await?;
    let catalog = ctx.gate(&client, &map).await?;
    ctx.link(&client, &args.link).await?;
    let candidate = resolve_one(&client, &map, &catalog, &identity).await?;
    let prepared = rectify::prepare(&client, &map, &catalog, &plan, &candidate.key).await?;
    let request = RectifyRequest {
        ticket: args.ticket.reference.clone(),
        evidence: args.evidence.clone(),
        operator: ctx.operator.clone(),
        dry_run: args.confirm.dry_run,
        key: &key,
    };
    if prepared.changes.iter().any(|c| c.changes()) && !args.confirm.dry_run {
        confirm(&question(&prepared, &args), args.confirm.yes)?;
    }
    let report = rectify::apply(&mut client, &map, &catalog, &prepared, &request).await?;
    emit(ctx.format(), &report)
}

/// The confirmation: who, which row, each field old -> new in clear (the prompt is
/// only shown on a terminal, to the operator checking the evidence).
fn question(prepared: &Prepared, args: &RectifyArgs) -> String {
    let mut lines = vec![format!(
        "Rectify {} (row {}, ticket {}{})?",
        prepared.subject_ref,
        prepared.row_ref(),
        args.ticket.reference,
        args.evidence
            .as_deref()
            .map(|e| format!(", evidence {e}"))
            .unwrap_or_default()
    )];
    for change in &prepared.changes {
        let show = |v: &Option<String>| v.clone().unwrap_or_else(|| "(empty)".to_owned());
        let mark = if change.changes() { "" } else { " (unchanged)" };
        lines.push(format!(
            "  {}: {} -> {}{mark}",
            change.field,
            show(&change.old),
            show(&change.new)
        ));
    }
    lines.join("\n")
}

impl Tabular for RectifyReport {
    fn headers(&self) -> Vec<&'static str> {
        vec!["field", "before", "after", "outcome"]
    }
    fn rows(&self) -> Vec<Vec<String>> {
        self.fields
            .iter()
            .map(|f| {
                vec![
                    f.field.clone(),
                    f.before.clone(),
                    f.after.clone(),
                    f.outcome.clone(),
                ]
            })
            .collect()
    }
    fn notes(&self) -> Vec<String> {
        let changed = self
            .fields
            .iter()
            .filter(|f| f.outcome != "unchanged")
            .count();
        let mut notes = vec![format!(
            "{} {changed} field(s) of {} (subject {}, ticket {}); values shown masked",
            if self.dry_run {
                "would rectify"
            } else {
                "rectified"
            },
            self.row,
            self.subject,
            self.ticket
        )];
        if changed == 0 {
            notes.push(
                "every value is already as given: nothing was changed, nothing audited".to_owned(),
            );
        }
        for shared in &self.shared_identities {
            notes.push(format!(
                "{shared}: look-ups by it will list several subjects (exit 4); use the IIN or id:KEY"
            ));
        }
        if let Some(seq) = self.audit_seq.filter(|_| !self.dry_run) {
            notes.push(format!(
                "audit record {seq}: field names and keyed hashes of the old and new values"
            ));
        }
        if self.dry_run {
            notes.push("dry run: everything was rolled back, nothing changed".to_owned());
        }
        notes
    }
}
