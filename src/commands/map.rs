//! `derbes map check|init`: validate the data map against the live catalogue, or
//! draft one from it.

use crate::cli::{MapCheckArgs, MapCommand, MapInitArgs};
use crate::commands::Context;
use crate::error::DerbesError;
use crate::ops::map_check::{self, CheckOptions, CheckReport, Severity};
use crate::ops::map_init::{self, DraftError, DraftOptions};
use crate::output::{emit, Tabular};
use crate::pg::catalog::Catalog;

pub async fn run(ctx: &Context, command: MapCommand) -> anyhow::Result<()> {
    match command {
        MapCommand::Check(args) => check(ctx, args).await,
        MapCommand::Init(args) => init(ctx, args).await,
    }
}

async fn check(ctx: &Context, args: MapCheckArgs) -> anyhow::Result<()> {
    let map = ctx.map()?;
    let (mut client, _) = ctx.connect().await?;
    let mut catalog = Catalog::read(&client).await?;
    catalog.read_index_definitions(&client).await?;
    let mut report = map_check::check(
        &map,
        &catalog,
        CheckOptions {
            strict: args.strict,
        },
    );
    report
        .findings
        .extend(map_check::check_privileges(&client, &map, &catalog).await?);
    report
        .findings
        .extend(map_check::check_ledgers(&client, &map, &catalog).await?);
    report
        .findings
        .extend(map_check::check_values(&mut client, &map, &catalog).await?);
    report
        .findings
        .extend(crate::ops::masking::check_fit(&client, &map, &catalog).await?);
    report.findings.sort_by_key(|f| f.severity);
    emit(ctx.format(), &report)?;
    for finding in report
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Warning)
    {
        tracing::debug!(object = %finding.object, "{}", finding.message);
    }
    match report.errors() {
        0 => Ok(()),
        n => Err(DerbesError::VerificationFailed(format!(
            "the data map does not fit the database: {n} error(s) above; fix the map (or the schema) and run `derbes map check` again"
        ))
        .into()),
    }
}

impl Tabular for CheckReport {
    fn headers(&self) -> Vec<&'static str> {
        vec!["severity", "where", "finding", "fix"]
    }
    fn rows(&self) -> Vec<Vec<String>> {
        self.findings
            .iter()
            .map(|f| {
                vec![
                    match f.severity {
                        Severity::Error => "error".to_owned(),
                        Severity::Warning => "warning".to_owned(),
                    },
                    f.object.clone(),
                    f.message.clone(),
                    f.fix.clone().unwrap_or_default(),
                ]
            })
            .collect()
    }
    fn notes(&self) -> Vec<String> {
        let warnings = self.findings.len() - self.errors();
        let mut notes = vec![format!(
            "{} tables and {} personal columns mapped; {} error(s), {} warning(s)",
            self.tables_mapped,
            self.columns_mapped,
            self.errors(),
            warnings
        )];
        for link in &self.links {
            notes.push(format!(
                "link {}: {}{}",
                link.path,
                if link.backed_by == "none" {
                    "no foreign key backs it".to_owned()
                } else {
                    format!("backed by {}", link.backed_by)
                },
                if link.shared {
                    "; rows may be shared by several subjects"
                } else {
                    ""
                }
            ));
        }
        if !self.delete_order.is_empty() {
            notes.push(format!(
                "delete order (from foreign keys, children first): {}",
                self.delete_order.join(" -> ")
            ));
        }
        notes
    }
}

async fn init(ctx: &Context, args: MapInitArgs) -> anyhow::Result<()> {
    if let Some(path) = args.out.as_ref().filter(|p| p.exists() && !args.force) {
        return Err(DerbesError::Refused(format!(
            "{} exists: pass --force to overwrite it, or choose another --out",
            path.display()
        ))
        .into());
    }
    let (client, _) = ctx.connect_read().await?;
    let catalog = Catalog::read(&client).await?;
    let options = DraftOptions {
        schemas: args.schemas,
        subject_table: args.subject_table,
        sample: !args.no_sample,
        sample_timeout_ms: 5_000,
    };
    let draft = map_init::init(&client, &catalog, &options)
        .await
        .map_err(|e| match e {
            DraftError::Usage(message) => DerbesError::Usage(message).into(),
            DraftError::Db(e) => anyhow::Error::new(e),
        })?;
    let problems = map_init::check_draft(&draft.text, &catalog);
    match &args.out {
        None => std::io::Write::write_all(&mut std::io::stdout(), draft.text.as_bytes())?,
        Some(path) => {
            std::fs::write(path, &draft.text)
                .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
            eprintln!(
                "wrote a draft data map to {}: review it, then run `derbes --map {} map check`",
                path.display(),
                path.display()
            );
        }
    }
    eprintln!(
        "subject table{}: {}; {} table(s) mapped, {} left out (see the end of the draft)",
        if draft.guessed { " (a guess)" } else { "" },
        draft.subject,
        draft.mapped.len(),
        draft.left_out.len()
    );
    if problems.is_empty() {
        return Ok(());
    }
    for problem in &problems {
        eprintln!("draft problem: {problem}");
    }
    Err(DerbesError::VerificationFailed(format!(
        "the draft does not pass `map check`: {} problem(s) above; fix them in the draft",
        problems.len()
    ))
    .into())
}
