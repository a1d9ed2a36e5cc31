//! `derbes archive dump|verify|restore|list|expire`: arguments to the `archive`
//! library's options, a progress bar on a terminal, the report to `output`.

use std::io::IsTerminal;
use std::sync::Arc;

use serde::Serialize;

use crate::cli::{
    ArchiveCommand, ArchiveDumpArgs, ArchiveExpireArgs, ArchiveListArgs, ArchiveRestoreArgs,
    ArchiveVerifyArgs,
};
use anyhow::Context as _;

use crate::commands::Context;
use crate::error::DerbesError;
use crate::files::crypto::{self, CryptoError, Recipients};
use crate::ops::archive::{
    self, ArchiveRequest, ArchiveSummary, ExpireReport, OlderThan, RegisterEntry, RestoreOptions,
    RestoreReport, Selection, VerifyReport,
};
use crate::output::{emit, Tabular};
use crate::pg::catalog::Catalog;
use crate::pg::migrate::ensure_current;
use crate::terminal::confirm;
use crate::when::parse_since;

pub async fn run(ctx: &Context, command: ArchiveCommand) -> anyhow::Result<()> {
    match command {
        ArchiveCommand::Dump(args) => dump(ctx, args).await,
        ArchiveCommand::Verify(args) => verify(ctx, args).await,
        ArchiveCommand::Restore(args) => restore(ctx, args).await,
        ArchiveCommand::List(args) => list(ctx, args).await,
        ArchiveCommand::Expire(args) => expire(ctx, args).await,
    }
}

/// Key problems the operator fixes on the command line are usage errors (exit 2).
fn crypto_usage(error: CryptoError) -> anyhow::Error {
    DerbesError::Usage(error.to_string()).into()
}

fn recipients(args: &ArchiveDumpArgs) -> anyhow::Result<Recipients> {
    let recipients = super::recipients(&args.to)?;
    if recipients.is_empty() {
        return Err(crypto_usage(CryptoError::NoRecipients));
    }
    Ok(recipients)
}

fn identities(path: &std::path::Path) -> anyhow::Result<Arc<crypto::Identities>> {
    crypto::load_identities(path)
        .map(Arc::new)
        .map_err(crypto_usage)
}

/// What a progress bar counts, and its total where it can be known.
enum Measure {
    /// Rows, against the planner's estimate (`reltuples`) when there is one.
    Rows(Option<u64>),
    /// Bytes of a file, against its size.
    Bytes(u64),
}

/// Progress on stderr when a person watches (never with -q, never off a
/// terminal): with a known total, a bar with the percentage and the time left;
/// without one, a counter.
fn progress_bar(ctx: &Context, message: &str, measure: Measure) -> Option<indicatif::ProgressBar> {
    if ctx.global.quiet || !std::io::stderr().is_terminal() {
        return None;
    }
    let (bar, template) = match measure {
        Measure::Rows(Some(total)) => (
            indicatif::ProgressBar::new(total),
            "{msg} [{bar:30}] {human_pos}/~{human_len} rows ({percent}%), {elapsed} elapsed, about {eta} left",
        ),
        Measure::Rows(None) => (
            indicatif::ProgressBar::new_spinner(),
            "{spinner} {msg} {human_pos} rows, {elapsed}",
        ),
        Measure::Bytes(total) => (
            indicatif::ProgressBar::new(total),
            "{msg} [{bar:30}] {bytes}/{total_bytes} ({bytes_per_sec}), about {eta} left",
        ),
    };
    bar.set_style(
        indicatif::ProgressStyle::with_template(template)
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
    );
    bar.set_message(message.to_owned());
    bar.enable_steady_tick(std::time::Duration::from_millis(200));
    Some(bar)
}

async fn dump(ctx: &Context, args: ArchiveDumpArgs) -> anyhow::Result<()> {
    let recipients = recipients(&args)?;
    let map = ctx.map()?;
    let older_than = match &args.where_older_than {
        None => None,
        Some(text) => Some(OlderThan {
            cutoff: parse_since(text, map.time_zone())?,
            column: args.on.clone(),
        }),
    };
    let selection = if let Some(identity) = args.selection.subject.clone() {
        Selection::Subject {
            identity,
            older_than,
        }
    } else if let Some(table) = args.selection.table.clone() {
        Selection::Table { table, older_than }
    } else if let Some(name) = args.selection.rule.clone() {
        Selection::Rule { name }
    } else {
        return Err(
            DerbesError::Usage("choose rows with --subject, --table or --rule".into()).into(),
        );
    };
    if !args.confirm.dry_run {
        confirm(
            &format!(
                "Write {} to {} (personal data, encrypted to {} recipient(s)), ticket {}?",
                describe(&args.selection),
                args.out.display(),
                recipients.public.len(),
                args.ticket.reference
            ),
            args.confirm.yes,
        )?;
    }
    let (mut client, _) = ctx.connect().await?;
    let catalog = ctx.gate(&client, &map).await?;
    report_cleaned(&archive::clean_dead_runs(&client).await?);
    ctx.link(&client, &args.link).await?;
    let run = archive::begin_run(
        &client,
        &args.out,
        &ctx.operator,
        Some(args.ticket.reference.as_str()),
    )
    .await?;
    let result = dump_recorded(
        ctx,
        &args,
        &map,
        &catalog,
        recipients,
        selection,
        &mut client,
    )
    .await;
    // A failed or dry run leaves no row; a committed one's row went with its commit.
    let ended = archive::end_run(&client, run).await;
    let summary = result?;
    ended?;
    emit(
        ctx.format(),
        &DumpReport {
            archive: summary,
            dry_run: args.confirm.dry_run,
        },
    )
}

/// The selection in words for the confirmation (no identity value: it is personal).
fn describe(selection: &crate::cli::ArchiveSelectionArgs) -> String {
    if let Some(table) = &selection.table {
        format!("the selected rows of table {table}")
    } else if let Some(rule) = &selection.rule {
        format!("the expired rows of retention rule {rule}")
    } else {
        "every selected row of one subject".to_owned()
    }
}

/// What dead runs left, removed by this run (on stderr: it is not this run's result).
fn report_cleaned(cleaned: &[archive::PendingRun]) {
    for run in cleaned {
        for file in &run.leftovers {
            tracing::warn!(
                "removed {file}, left by an archive dump that did not finish (started {} by {})",
                run.started_at.format("%Y-%m-%d %H:%M:%S UTC"),
                run.operator
            );
        }
    }
}

async fn dump_recorded(
    ctx: &Context,
    args: &ArchiveDumpArgs,
    map: &crate::map::DataMap,
    catalog: &Catalog,
    recipients: Recipients,
    selection: Selection,
    client: &mut tokio_postgres::Client,
) -> anyhow::Result<ArchiveSummary> {
    let request = ArchiveRequest {
        selection,
        out: args.out.clone(),
        overwrite: args.force,
        recipients,
        keep: args.keep.clone(),
        operator: ctx.operator.clone(),
        ticket: Some(args.ticket.reference.clone()),
        // Tests cut small tables into many parts; the default keeps parts of 8 MiB.
        part_bytes: std::env::var("DERBES_PART_BYTES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(crate::files::tar_writer::PART_BYTES),
        // A dump deletes nothing: no keys to keep.
        capture_keys: false,
        jobs: dump_jobs(ctx, args),
    };
    let estimate = archive::estimated_rows(&*client, map, &request.selection).await;
    let bar = progress_bar(ctx, "archiving", Measure::Rows(estimate));
    let on_progress = |_bytes: u64, rows: u64| {
        if let Some(bar) = &bar {
            // The estimate may be short: the bar grows rather than stopping at 100%.
            if bar.length().is_some_and(|len| bar.position() + rows > len) {
                bar.set_length(bar.position() + rows);
            }
            bar.inc(rows);
        }
    };
    let result = archive::dump(
        client,
        map,
        catalog,
        request,
        args.confirm.dry_run,
        &on_progress,
    )
    .await;
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    result
}

/// `--jobs`: more connections like the first, reading the dump's snapshot.
fn dump_jobs(ctx: &Context, args: &ArchiveDumpArgs) -> Option<archive::parallel::Jobs> {
    parallel_jobs(ctx, args.jobs)
}

/// `--jobs N` of a dump (default: the CPU cores); None for one stream.
pub(crate) fn parallel_jobs(ctx: &Context, jobs: Option<u16>) -> Option<archive::parallel::Jobs> {
    let jobs = match jobs {
        Some(n) => usize::from(n),
        None => std::thread::available_parallelism().map_or(1, |n| n.get()),
    };
    if jobs < 2 {
        return None;
    }
    let connect = connect_more(ctx);
    // Tests cut small tables into ranges; the default keeps ranges worth a scan.
    let range_min_rows = std::env::var("DERBES_RANGE_MIN_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(archive::parallel::RANGE_MIN_ROWS);
    Some(archive::parallel::Jobs {
        jobs,
        connect,
        range_min_rows,
    })
}

/// Opens one more connection like the command's own (`--jobs`).
pub(crate) fn connect_more(ctx: &Context) -> archive::parallel::Connect {
    let global = ctx.global.clone();
    let operator = ctx.operator.clone();
    Arc::new(move || {
        let ctx = Context {
            global: global.clone(),
            operator: operator.clone(),
        };
        Box::pin(async move { ctx.connect().await.map(|(client, _)| client) })
    })
}

#[derive(Serialize)]
struct DumpReport {
    #[serde(flatten)]
    archive: ArchiveSummary,
    dry_run: bool,
}

impl Tabular for DumpReport {
    fn headers(&self) -> Vec<&'static str> {
        vec!["table", "rows"]
    }
    fn rows(&self) -> Vec<Vec<String>> {
        rows_per_table(&self.archive.counts)
    }
    fn notes(&self) -> Vec<String> {
        let a = &self.archive;
        let mut notes = Vec::new();
        if self.dry_run {
            notes.push(format!(
                "dry run: {} rows written, read back and checked, then removed; nothing catalogued",
                a.rows
            ));
        } else {
            notes.push(format!(
                "archive {} written and verified: {} rows, {} bytes, sha256 {}, catalogue id {}, keep until {}",
                a.path.display(),
                a.rows,
                a.bytes,
                a.sha256,
                a.id,
                a.keep_until.format("%Y-%m-%d")
            ));
        }
        if a.empty {
            notes.push(
                "the selection matched no rows: the archive is valid and empty (headers only)"
                    .to_owned(),
            );
        }
        notes
    }
}

async fn verify(ctx: &Context, args: ArchiveVerifyArgs) -> anyhow::Result<()> {
    let identities = identities(&args.identity)?;
    let (mut client, _) = ctx.connect().await?;
    ensure_current(&client).await?;
    // The whole file is read once: its size is the total.
    let size = std::fs::metadata(&args.path).map(|m| m.len()).unwrap_or(0);
    let bar = progress_bar(ctx, "verifying", Measure::Bytes(size));
    let tell: Option<archive::read::BytesRead> = bar
        .clone()
        .map(|bar| Arc::new(move |bytes: u64| bar.inc(bytes)) as archive::read::BytesRead);
    let result = archive::verify_reporting(&client, &args.path, identities, tell).await;
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    let (report, _) = result?;
    archive::record_intact(&mut client, &ctx.operator, &report)
        .await
        .context(
            "the archive is intact, but its verification could not be recorded in the audit log; \
             check the connection and that this role may append to derbes.audit_log, then verify again",
        )?;
    emit(ctx.format(), &report)?;
    // The archive is intact; the audit log it anchors is not.
    match report.audit_head.as_ref().and_then(|a| a.problem.as_ref()) {
        None => Ok(()),
        Some(problem) => Err(DerbesError::VerificationFailed(format!(
            "archive {} is intact, but the audit head it recorded at creation is not in this database's audit log: {problem}; \
             run derbes audit verify --head {} and compare the audit log with a backup",
            report.path.display(),
            report.audit_head.as_ref().map(|a| a.head.to_string()).unwrap_or_default()
        ))
        .into()),
    }
}

impl Tabular for VerifyReport {
    fn headers(&self) -> Vec<&'static str> {
        vec!["table", "rows"]
    }
    fn rows(&self) -> Vec<Vec<String>> {
        rows_per_table(&self.counts)
    }
    fn notes(&self) -> Vec<String> {
        let mut notes = vec![format!(
            "archive {} is intact: {} members, {} rows, sha256 matches catalogue id {}; keep until {}",
            self.path.display(),
            self.members,
            self.rows,
            self.register_id,
            self.keep_until.format("%Y-%m-%d")
        )];
        if self.empty {
            notes.push("the archive is empty: its selection matched no rows".to_owned());
        }
        notes.push(match &self.audit_head {
            None => "audit head at creation: none recorded (an empty audit log, or an archive from before heads were recorded)".to_owned(),
            Some(check) => match &check.problem {
                None => format!(
                    "audit head at creation: {} (held in this database's audit log)",
                    check.head
                ),
                Some(problem) => format!(
                    "audit head at creation: {} NOT held in this database's audit log: {problem}",
                    check.head
                ),
            },
        });
        notes
    }
}

async fn restore(ctx: &Context, args: ArchiveRestoreArgs) -> anyhow::Result<()> {
    let identities = identities(&args.identity)?;
    // The map only names the default schema here; one that is given must load. It
    // need not fit the database: an archive stands alone and may be restored into a
    // fresh database (side tables made from its manifest), whose tables the map names
    // but which does not hold them yet. Rows go back as the manifest describes them,
    // never through the map's link paths.
    let map = match ctx.global.map {
        Some(_) => Some(ctx.map()?),
        None => None,
    };
    let (mut client, _) = ctx.connect().await?;
    ctx.gate_schema(&client).await?;
    ctx.link(&client, &args.link).await?;
    let map_schema = map
        .as_ref()
        .map_or_else(|| "public".to_owned(), |m| m.schema.clone());
    if !args.confirm.dry_run {
        let place = match &args.into {
            Some(schema) => format!("into new tables of schema {schema}"),
            None => "into their original tables".to_owned(),
        };
        confirm(
            &format!("Load the rows of {} {place}?", args.path.display()),
            args.confirm.yes,
        )?;
    }
    // The file is read twice (checked, then loaded): the total is twice its size.
    let size = std::fs::metadata(&args.path).map(|m| m.len()).unwrap_or(0);
    let bar = progress_bar(ctx, "restoring", Measure::Bytes(2 * size));
    let tell: Option<archive::read::BytesRead> = bar
        .clone()
        .map(|bar| Arc::new(move |bytes: u64| bar.inc(bytes)) as archive::read::BytesRead);
    let result = archive::restore(
        &mut client,
        identities,
        &map_schema,
        RestoreOptions {
            path: args.path,
            into: args.into,
            dry_run: args.confirm.dry_run,
            operator: ctx.operator.clone(),
            ticket: Some(args.ticket.reference),
            progress: tell,
            jobs: (args.jobs > 1).then(|| archive::restore_jobs::Jobs {
                jobs: usize::from(args.jobs),
                connect: connect_more(ctx),
            }),
            map,
            restore_erased: args.restore_erased,
        },
    )
    .await;
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    let report = result?;
    if report.register_id.is_none() {
        tracing::warn!(
            "archive {} (id {}) is not in this database's archive catalogue: it was checked \
             against its own manifest only, not against a catalogued digest",
            report.path.display(),
            report.archive_id
        );
    }
    emit(ctx.format(), &report)
}

impl Tabular for RestoreReport {
    fn headers(&self) -> Vec<&'static str> {
        vec!["table", "rows"]
    }
    fn rows(&self) -> Vec<Vec<String>> {
        rows_per_table(&self.counts)
    }
    fn notes(&self) -> Vec<String> {
        let mut notes = vec![if self.dry_run {
            format!("dry run: {} rows would load; rolled back", self.rows)
        } else {
            format!("{} rows loaded from {}", self.rows, self.path.display())
        }];
        if self.left_out_erased > 0 {
            notes.push(format!(
                "{} row(s) left out: their subject was erased after the archive was made ({} \
                 subject(s)); --restore-erased restores them for a legal need",
                self.left_out_erased, self.erased_subjects
            ));
        } else if self.erased_subjects > 0 {
            notes.push(format!(
                "{} subject(s) erased after the archive was made",
                self.erased_subjects
            ));
        }
        if let Some(resumed) = &self.resumed {
            notes.push(format!(
                "resumed: {} of {} members were already loaded",
                resumed.already_loaded, resumed.members
            ));
        }
        if self.jobs > 1 {
            notes.push(format!(
                "loaded on {} connections, one transaction per member",
                self.jobs
            ));
        }
        if let Some(note) = &self.note {
            notes.push(note.clone());
        }
        if self.register_id.is_none() {
            notes.push(
                "not catalogued here: checked against the archive's own manifest only".to_owned(),
            );
        }
        notes
    }
}

#[derive(Serialize)]
struct ListReport {
    archives: Vec<RegisterEntry>,
    expired_only: bool,
    /// Dumps still running, and those left by runs that are gone.
    pending: Vec<archive::PendingRun>,
}

async fn list(ctx: &Context, args: ArchiveListArgs) -> anyhow::Result<()> {
    // The primary: whether a run's session is alive is known only there.
    let (client, _) = ctx.connect().await?;
    ensure_current(&client).await?;
    let archives = archive::list(&client, args.expired).await?;
    let pending = archive::pending_runs(&client).await?;
    emit(
        ctx.format(),
        &ListReport {
            archives,
            expired_only: args.expired,
            pending,
        },
    )
}

fn compact(value: &serde_json::Value) -> String {
    match value.as_object() {
        Some(map) => map
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(" "),
        None => value.to_string(),
    }
}

impl Tabular for ListReport {
    fn headers(&self) -> Vec<&'static str> {
        vec![
            "id",
            "created",
            "keep until",
            "selection",
            "rows",
            "path",
            "ticket",
        ]
    }
    fn rows(&self) -> Vec<Vec<String>> {
        self.archives
            .iter()
            .map(|a| {
                vec![
                    a.id.to_string(),
                    a.created_at.format("%Y-%m-%d %H:%M").to_string(),
                    a.keep_until.format("%Y-%m-%d").to_string(),
                    compact(&a.selection),
                    compact(&a.counts),
                    a.path.clone(),
                    a.ticket.clone().unwrap_or_default(),
                ]
            })
            .collect()
    }
    fn notes(&self) -> Vec<String> {
        let mut notes = vec![match (self.archives.len(), self.expired_only) {
            (0, true) => "no archive is past its keep-until".to_owned(),
            (n, true) => {
                format!("{n} archive(s) past keep-until: `derbes archive expire` destroys them")
            }
            (n, false) => format!("{n} archive(s)"),
        }];
        for run in &self.pending {
            let started = run.started_at.format("%Y-%m-%d %H:%M:%S UTC");
            if run.running {
                notes.push(format!(
                    "pending: a dump to {} is running (started {started} by {})",
                    run.path, run.operator
                ));
            } else {
                notes.push(format!(
                    "orphaned: a dump to {} started {started} by {} did not finish; left {}. \
                     The next `derbes archive dump` or `archive expire` removes it",
                    run.path,
                    run.operator,
                    if run.leftovers.is_empty() {
                        "no file".to_owned()
                    } else {
                        run.leftovers.join(", ")
                    }
                ));
            }
        }
        notes
    }
}

async fn expire(ctx: &Context, args: ArchiveExpireArgs) -> anyhow::Result<()> {
    let (mut client, _) = ctx.connect().await?;
    ctx.gate_schema(&client).await?;
    ctx.link(&client, &args.link).await?;
    if !args.confirm.dry_run {
        let due = archive::list(&client, true).await?;
        if !due.is_empty() {
            confirm(
                &format!("Destroy {} archive(s) past their keep-until?", due.len()),
                args.confirm.yes,
            )?;
        }
        // Leftovers of dumps that were killed: never registered, so never kept.
        report_cleaned(&archive::clean_dead_runs(&client).await?);
    }
    let report = archive::expire(
        &mut client,
        &ctx.operator,
        Some(args.ticket.reference),
        args.confirm.dry_run,
    )
    .await?;
    emit(ctx.format(), &report)?;
    if !report.kept.is_empty() {
        let paths: Vec<&str> = report.kept.iter().map(|a| a.path.as_str()).collect();
        return Err(DerbesError::VerificationFailed(format!(
            "{} expired archive(s) kept: the file at {} is not the catalogued archive (its size or \
             SHA-256 differs), so it was not deleted and its catalogue row stays. Find out what \
             replaced the archive; move the foreign file away and run `derbes archive expire` again",
            report.kept.len(),
            paths.join(", ")
        ))
        .into());
    }
    Ok(())
}

impl Tabular for ExpireReport {
    fn headers(&self) -> Vec<&'static str> {
        vec!["id", "keep until", "path", "file"]
    }
    fn rows(&self) -> Vec<Vec<String>> {
        self.expired
            .iter()
            .chain(&self.kept)
            .map(|a| {
                vec![
                    a.id.to_string(),
                    a.keep_until.format("%Y-%m-%d").to_string(),
                    a.path.clone(),
                    a.file.describe().to_owned(),
                ]
            })
            .collect()
    }
    fn notes(&self) -> Vec<String> {
        let mut notes = vec![match (self.expired.len(), self.dry_run) {
            (0, _) if self.kept.is_empty() => "no archive is past its keep-until".to_owned(),
            (0, _) => "no archive destroyed".to_owned(),
            (n, true) => format!("dry run: {n} archive(s) would be destroyed; nothing changed"),
            (n, false) => format!("{n} archive(s) destroyed and removed from the catalogue"),
        }];
        let gone = self
            .expired
            .iter()
            .filter(|a| a.file == archive::FileOutcome::AlreadyGone)
            .count();
        if gone > 0 {
            notes.push(format!(
                "{gone} catalogue row(s) had no file left (an earlier run stopped after removing it): \
                 only the row was deleted"
            ));
        }
        if !self.kept.is_empty() {
            notes.push(format!(
                "{} archive(s) kept with their catalogue rows: the file at the path is not the catalogued one",
                self.kept.len()
            ));
        }
        notes
    }
}

/// One `table | rows` line per table of an archive.
fn rows_per_table(counts: &std::collections::BTreeMap<String, u64>) -> Vec<Vec<String>> {
    counts
        .iter()
        .map(|(table, rows)| vec![table.clone(), rows.to_string()])
        .collect()
}
