//! `derbes anonymise`: one subject in one transaction, or a retention rule's
//! cohort in checkpointed batches (see `ops::anonymise`), then optionally k.

use std::io::IsTerminal;

use crate::cli::AnonymiseArgs;
use crate::commands::Context;
use crate::error::DerbesError;
use crate::kz::identity::Identity;
use crate::ops::anonymise::{self, AnonymiseReport, CohortRun};
use crate::ops::erase;
use crate::ops::masking::MaskKey;
use crate::output::{emit, Tabular};
use crate::pg::change::Limits;
use crate::terminal::confirm;

pub async fn run(ctx: &Context, args: AnonymiseArgs) -> anyhow::Result<()> {
    let map = ctx.map()?;
    let identity = args
        .identity
        .as_deref()
        .map(|text| {
            Identity::parse(text).map_err(|e| {
                DerbesError::Usage(format!(
                    "{e}; give the subject as an IIN, BIN, phone, email or id:KEY"
                ))
            })
        })
        .transpose()?;
    if identity.is_some() && args.jobs > 1 {
        return Err(DerbesError::Usage(
            "--jobs applies to a cohort (--rule NAME); one subject is one transaction".to_owned(),
        )
        .into());
    }
    let lock_timeout = lock_timeout_arg(&args.lock_timeout)?;
    let mask_key =
        MaskKey::load(args.key_file.as_deref()).map_err(|e| DerbesError::Usage(e.to_string()))?;
    let (mut client, _) = ctx.connect().await?;
    let catalog = ctx.gate(&client, &map).await?;
    ctx.link(&client, &args.link).await?;
    let mut report = match (&identity, &args.rule) {
        (Some(identity), _) => {
            let subject = erase::find(&client, &map, &catalog, identity).await?;
            if !args.confirm.dry_run {
                confirm(
                    &format!(
                        "Anonymise subject {} of {} with the data map's masking (ticket {})? This cannot be undone.",
                        subject.label(),
                        map.subject.table,
                        args.ticket.reference
                    ),
                    args.confirm.yes,
                )?;
            }
            anonymise::subject(
                &mut client,
                &map,
                &catalog,
                &subject.key,
                mask_key.as_ref(),
                &args.ticket.reference,
                &ctx.operator,
                args.confirm.dry_run,
                args.again,
            )
            .await?
        }
        (None, Some(rule)) => {
            let tables = anonymise::rule_tables(&map, rule).map_err(DerbesError::Usage)?;
            if !args.confirm.dry_run {
                confirm(
                    &format!(
                        "Anonymise the rows older than rule {rule}'s keep period in {} (ticket {})? This cannot be undone.",
                        tables.join(", "),
                        args.ticket.reference
                    ),
                    args.confirm.yes,
                )?;
            }
            let bar = (!ctx.global.quiet && std::io::stderr().is_terminal()).then(|| {
                let bar = indicatif::ProgressBar::new_spinner();
                bar.set_style(
                    indicatif::ProgressStyle::with_template(
                        "{spinner} anonymising {human_pos} rows, {per_sec}, {elapsed}",
                    )
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
                );
                bar.enable_steady_tick(std::time::Duration::from_millis(200));
                bar
            });
            let progress = |n: u64| {
                if let Some(bar) = &bar {
                    bar.inc(n);
                }
            };
            let result = anonymise::cohort(
                &mut client,
                &map,
                &catalog,
                CohortRun {
                    rule: rule.clone(),
                    ticket: args.ticket.reference.clone(),
                    operator: ctx.operator.clone(),
                    dry_run: args.confirm.dry_run,
                    batch_size: args.batch_size,
                    limits: Limits {
                        lock_timeout,
                        ..Limits::default()
                    },
                    mask_key: mask_key.as_ref(),
                    progress: &progress,
                    conditions: None,
                    jobs: usize::from(args.jobs),
                    connect: Some(crate::commands::archive::connect_more(ctx)),
                },
            )
            .await;
            if let Some(bar) = &bar {
                bar.finish_and_clear();
            }
            result?
        }
        (None, None) => {
            return Err(DerbesError::Usage(
                "name a subject (IIN, phone, email, id:KEY) or a cohort with --rule NAME"
                    .to_owned(),
            )
            .into())
        }
    };
    if args.report {
        report.k_anonymity = Some(anonymise::k_anonymity(&client, &map, &catalog).await?);
    }
    emit(ctx.format(), &report)
}

/// A PostgreSQL duration for `lock_timeout`: digits and a unit (ms, s, min).
fn lock_timeout_arg(text: &str) -> anyhow::Result<String> {
    let t = text.trim();
    let digits = t.chars().take_while(char::is_ascii_digit).count();
    let unit = &t[digits..];
    if digits == 0 || !["", "ms", "s", "min"].contains(&unit) {
        return Err(DerbesError::Usage(format!(
            "--lock-timeout {text}: give a duration such as 500ms, 5s or 1min"
        ))
        .into());
    }
    Ok(t.to_owned())
}

impl Tabular for AnonymiseReport {
    fn headers(&self) -> Vec<&'static str> {
        vec!["table", "masked", "deleted", "batches", "columns"]
    }
    fn rows(&self) -> Vec<Vec<String>> {
        self.tables
            .iter()
            .map(|t| {
                vec![
                    t.table.clone(),
                    t.masked.to_string(),
                    t.deleted.to_string(),
                    t.batches.to_string(),
                    t.columns.join(", "),
                ]
            })
            .collect()
    }
    fn notes(&self) -> Vec<String> {
        let mut notes = vec![format!(
            "{} {} (ticket {})",
            if self.dry_run {
                "would anonymise"
            } else {
                "anonymised"
            },
            self.scope,
            self.ticket
        )];
        notes.push(
            "rows under legal hold (retention rule archive-then-delete within its keep, open loans) are left as they are"
                .to_owned(),
        );
        if self.tables.iter().any(|t| t.resumed) {
            notes.push("resumed a stopped run from its checkpoint".to_owned());
        }
        let pseudo: Vec<String> = self
            .tables
            .iter()
            .flat_map(|t| {
                t.pseudonymised
                    .iter()
                    .map(move |c| format!("{}.{c}", t.table))
            })
            .collect();
        if !pseudo.is_empty() {
            notes.push(format!(
                "pseudonymised, not anonymised (hmac: re-linkable by the key holder): {}",
                pseudo.join(", ")
            ));
        }
        if let Some(k) = &self.k_anonymity {
            notes.push(format!(
                "k-anonymity over {}: k = {} ({} groups, {} subjects, {} in groups under 5){}",
                k.quasi_identifiers.join(", "),
                k.k.map_or("n/a".to_owned(), |k| k.to_string()),
                k.groups,
                k.subjects,
                k.in_groups_under_5,
                if k.k.is_some_and(|k| k < 2) {
                    ": someone is still singled out, generalise further"
                } else {
                    ""
                }
            ));
        }
        if self.dry_run {
            notes.push("dry run: everything was rolled back, nothing changed".to_owned());
        }
        notes
    }
}
