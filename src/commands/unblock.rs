//! `derbes unblock`: restore access on the subject's written application (policy
//! 5.7), showing the reason each block had. Sessions stay revoked.

use crate::cli::UnblockArgs;
use crate::commands::block::{named, read_identities};
use crate::commands::Context;
use crate::ops::block::{self, Guards, UnblockReport, UnblockRequest};
use crate::output::{emit, Tabular};
use crate::terminal::confirm;

pub async fn run(ctx: &Context, args: UnblockArgs) -> anyhow::Result<()> {
    if args.application.trim().is_empty() {
        return Err(anyhow::Error::new(block::BlockError::NoApplication));
    }
    let map = ctx.map()?;
    let identities = read_identities(&args.identities, None)?;
    let (mut client, _) = ctx.connect().await?;
    let catalog = ctx.gate(&client, &map).await?;
    ctx.link(&client, &args.link).await?;
    let found = block::find_identities(&client, &map, &catalog, &identities.identities).await?;
    let subjects = block::check_guards(
        found,
        Guards {
            max: usize::MAX,
            skip_unknown: false,
        },
    )?;
    if !args.confirm.dry_run {
        confirm(
            &format!(
                "Unblock {} subject(s) on application {} (ticket {})?\n{}",
                subjects.len(),
                args.application,
                args.ticket.reference,
                crate::terminal::who(&named(&subjects))
            ),
            args.confirm.yes,
        )?;
    }
    let request = UnblockRequest {
        subjects,
        application: args.application,
        ticket: args.ticket.reference,
        operator: ctx.operator.clone(),
        dry_run: args.confirm.dry_run,
    };
    let report = block::unblock(&mut client, &map, &catalog, &request).await?;
    emit(ctx.format(), &report)
}

impl Tabular for UnblockReport {
    fn headers(&self) -> Vec<&'static str> {
        vec![
            "subject",
            "found by",
            "outcome",
            "blocked for",
            "block ticket",
            "blocked at",
            "blocked by",
        ]
    }
    fn rows(&self) -> Vec<Vec<String>> {
        let done = if self.dry_run {
            "would unblock"
        } else {
            "unblocked"
        };
        let mut rows: Vec<Vec<String>> = self
            .unblocked
            .iter()
            .map(|u| {
                vec![
                    u.subject.subject.clone(),
                    u.subject.found_by.clone(),
                    done.to_owned(),
                    u.reason.clone(),
                    u.block_ticket.clone(),
                    u.blocked_at.format("%Y-%m-%d %H:%M:%S").to_string(),
                    u.blocked_by.clone(),
                ]
            })
            .collect();
        rows.extend(self.not_blocked.iter().map(|s| {
            vec![
                s.subject.clone(),
                s.found_by.clone(),
                "not blocked".to_owned(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
            ]
        }));
        rows
    }
    fn notes(&self) -> Vec<String> {
        let verb = if self.dry_run {
            "would unblock"
        } else {
            "unblocked"
        };
        let mut notes = vec![format!(
            "{verb} {} subject(s) on application {} (ticket {}); {} were not blocked; sessions stay revoked",
            self.unblocked.len(),
            self.application,
            self.ticket,
            self.not_blocked.len()
        )];
        if self.dry_run {
            notes.push("dry run: everything was rolled back, nothing changed".to_owned());
        }
        notes
    }
}
