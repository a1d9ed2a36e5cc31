//! `derbes purge`: parse the pacing options, confirm, run the retention rules
//! (`ops::purge`), show a progress bar per rule and table on a terminal, print the
//! report, and exit non-zero naming any rule that failed.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::cli::PurgeArgs;
use crate::commands::Context;
use crate::error::DerbesError;
use crate::ops::purge::{self, ArchiveTarget, PurgeReport, PurgeRequest};
use crate::output::{emit, Tabular};
use crate::pg::change::Limits;
use crate::terminal::confirm;

pub async fn run(ctx: &Context, args: PurgeArgs) -> anyhow::Result<()> {
    let map = ctx.map()?;
    let pause = args
        .pause
        .as_deref()
        .map(|t| parse_duration("--pause", t))
        .transpose()?
        .unwrap_or(Duration::ZERO);
    let max_duration = args
        .max_duration
        .as_deref()
        .map(|t| parse_duration("--max-duration", t))
        .transpose()?;
    let lock_timeout = parse_duration("--lock-timeout", &args.lock_timeout)?;
    let as_of = match &args.as_of {
        Some(text) => crate::when::parse_since(text, map.time_zone())?,
        None => chrono::Utc::now(),
    };
    let mask_key = crate::ops::masking::MaskKey::load(args.key_file.as_deref())
        .map_err(|e| DerbesError::Usage(e.to_string()))?;
    let recipients = crate::commands::recipients(&args.recipients)?;
    let archive =
        match (&args.archive_dir, recipients.public.is_empty()) {
            (None, true) => None,
            (Some(dir), false) => {
                if !dir.is_dir() {
                    return Err(DerbesError::Usage(format!(
                    "--archive-dir {} is not a directory: create it (mode 0700) or name another",
                    dir.display()
                ))
                    .into());
                }
                Some(ArchiveTarget {
                    dir: dir.clone(),
                    recipients: recipients.public.clone(),
                    jobs: crate::commands::archive::parallel_jobs(ctx, args.jobs),
                })
            }
            (Some(_), true) => return Err(DerbesError::Usage(
                "--archive-dir needs -r KEY or --recipients-file FILE: who can open the archives"
                    .to_owned(),
            )
            .into()),
            (None, false) => {
                return Err(DerbesError::Usage(
                    "-r/--recipients-file name who can open archives: give --archive-dir DIR too"
                        .to_owned(),
                )
                .into())
            }
        };
    let (mut client, _) = ctx.connect().await?;
    let catalog = ctx.gate(&client, &map).await?;
    ctx.link(&client, &args.link).await?;
    if !args.confirm.dry_run {
        let rules = if args.rules.is_empty() {
            "every retention rule".to_owned()
        } else {
            format!("rule(s) {}", args.rules.join(", "))
        };
        confirm(
            &format!(
                "Purge the rows past their retention period under {rules} (as of {}, ticket {})?",
                as_of.format("%Y-%m-%d %H:%M UTC"),
                args.ticket.reference
            ),
            args.confirm.yes,
        )?;
    }
    let request = PurgeRequest {
        rules: args.rules.clone(),
        as_of,
        dry_run: args.confirm.dry_run,
        batch_size: args.batch_size,
        pause,
        deadline: max_duration.map(|d| Instant::now() + d),
        limits: Limits {
            lock_timeout: format!("{}ms", lock_timeout.as_millis()),
            ..Limits::default()
        },
        ticket: args.ticket.reference.clone(),
        operator: ctx.operator.clone(),
        archive,
        mask_key,
        delete_streams: args.jobs.map_or(1, usize::from),
        connect: Some(crate::commands::archive::connect_more(ctx)),
    };
    let bars = Bars::new(!ctx.global.quiet && std::io::stderr().is_terminal());
    let progress = |label: &str, _unit: &str, done: i64, total: i64| bars.show(label, done, total);
    let report = purge::purge(&mut client, &map, &catalog, &request, &progress).await?;
    bars.finish();
    emit(ctx.format(), &report)?;
    let failed = report.failed();
    if !failed.is_empty() {
        let reasons: Vec<String> = report
            .rules
            .iter()
            .filter(|r| r.status == "failed")
            .map(|r| format!("{}: {}", r.rule, r.error.clone().unwrap_or_default()))
            .collect();
        return Err(anyhow::anyhow!(
            "purge rule(s) {} failed ({}); the other rules ran. Fix the cause and run again: \
             a stopped rule resumes after its last committed batch",
            failed.join(", "),
            reasons.join("; ")
        ));
    }
    Ok(())
}

/// `500ms`, `2s`, `30m`, `2h`, or a plain number of seconds.
fn parse_duration(option: &str, text: &str) -> anyhow::Result<Duration> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let bad = || {
        DerbesError::Usage(format!(
            "{option} `{text}` is not a duration: give e.g. 500ms, 2s, 30m or 2h"
        ))
    };
    let n: u64 = number.parse().map_err(|_| bad())?;
    let duration = match unit {
        "ms" => Duration::from_millis(n),
        "" | "s" => Duration::from_secs(n),
        "m" | "min" => Duration::from_secs(n * 60),
        "h" => Duration::from_secs(n * 3600),
        _ => return Err(bad().into()),
    };
    Ok(duration)
}

/// One progress bar per rule and table, on stderr, when a person watches.
struct Bars {
    on: bool,
    multi: indicatif::MultiProgress,
    bars: Mutex<HashMap<String, indicatif::ProgressBar>>,
}

impl Bars {
    fn new(on: bool) -> Bars {
        Bars {
            on,
            multi: indicatif::MultiProgress::new(),
            bars: Mutex::new(HashMap::new()),
        }
    }

    fn show(&self, label: &str, done: i64, total: i64) {
        if !self.on {
            return;
        }
        let mut bars = self.bars.lock().expect("progress bars");
        let bar = bars.entry(label.to_owned()).or_insert_with(|| {
            let bar = self
                .multi
                .add(indicatif::ProgressBar::new(total.max(0) as u64));
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{msg} [{bar:30}] {human_pos}/{human_len} rows ({percent}%), {elapsed}, about {eta} left",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            bar.set_message(label.to_owned());
            bar
        });
        bar.set_position(done.max(0) as u64);
    }

    fn finish(&self) {
        for bar in self.bars.lock().expect("progress bars").values() {
            bar.finish();
        }
    }
}

impl Tabular for PurgeReport {
    fn headers(&self) -> Vec<&'static str> {
        vec![
            "rule",
            "action",
            "table",
            "cut-off",
            "due",
            "oldest",
            "held back",
            "deleted",
            "archived",
            "status",
        ]
    }

    fn rows(&self) -> Vec<Vec<String>> {
        let mut rows = Vec::new();
        for rule in &self.rules {
            let action = serde_json::to_value(rule.action)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            if rule.tables.is_empty() {
                rows.push(vec![
                    rule.rule.clone(),
                    action.clone(),
                    String::new(),
                    rule.cutoff.format("%Y-%m-%d").to_string(),
                    String::new(),
                    String::new(),
                    String::new(),
                    String::new(),
                    String::new(),
                    rule.status.clone(),
                ]);
            }
            for table in &rule.tables {
                let held = table
                    .held_back
                    .iter()
                    .map(|h| format!("{} {}", h.rows, h.reason))
                    .collect::<Vec<_>>()
                    .join(", ");
                let mut deleted = table.deleted.to_string();
                if !table.partitions_dropped.is_empty() {
                    deleted.push_str(&format!(
                        " ({} partition(s) dropped{})",
                        table.partitions_dropped.len(),
                        if table.rows_estimated {
                            ", rows counted from the table statistics"
                        } else {
                            ""
                        }
                    ));
                }
                rows.push(vec![
                    rule.rule.clone(),
                    action.clone(),
                    table.table.clone(),
                    rule.cutoff.format("%Y-%m-%d").to_string(),
                    table.due.to_string(),
                    table
                        .oldest
                        .map(|o| o.format("%Y-%m-%d").to_string())
                        .unwrap_or_default(),
                    held,
                    deleted,
                    table.archived.to_string(),
                    rule.status.clone(),
                ]);
            }
        }
        rows
    }

    fn notes(&self) -> Vec<String> {
        let mut notes = Vec::new();
        if self.dry_run {
            notes.push("dry run: counted only, nothing was changed".to_owned());
        }
        for rule in &self.rules {
            notes.push(format!(
                "{}: keep {} ({}); {} deleted, {} archived, {} held back in {:.1}s",
                rule.rule,
                rule.keep,
                rule.legal_basis,
                rule.deleted,
                rule.archived,
                rule.held_back,
                rule.duration_ms as f64 / 1000.0
            ));
            for note in &rule.notes {
                notes.push(format!("{}: {note}", rule.rule));
            }
            if let Some(error) = &rule.error {
                notes.push(format!("{}: FAILED: {error}", rule.rule));
            }
            if rule.status == "stopped" {
                notes.push(format!(
                    "{}: stopped at --max-duration; the next run resumes after the last batch",
                    rule.rule
                ));
            }
        }
        notes
    }
}
