//! `derbes report`: the period from the options (the last 90 days by default),
//! the figures from `ops::report::gather`, then the HTML page to `--out` or the
//! JSON to stdout or `--out`.

use std::io::Write;

use anyhow::Context as _;

use crate::cli::{Format, ReportArgs, ReportLang};
use crate::commands::Context;
use crate::error::DerbesError;
use crate::files::secure_file::SecureFile;
use crate::map::Lang;
use crate::ops::report::{self, ReportOptions};

/// The default period: this many days, ending today.
const DEFAULT_DAYS: u64 = 90;

pub async fn run(ctx: &Context, args: ReportArgs) -> anyhow::Result<()> {
    let json = match ctx.global.format {
        None => false,
        Some(Format::Json) => true,
        Some(other) => {
            return Err(DerbesError::Usage(format!(
                "report writes an HTML page (--out FILE) or JSON (--format json), not {}: drop --format or give --format json",
                format!("{other:?}").to_lowercase()
            ))
            .into())
        }
    };
    if !json && args.out.is_none() {
        return Err(DerbesError::Usage(
            "report needs --out FILE for the HTML page (or --format json to print the figures)"
                .to_owned(),
        )
        .into());
    }
    let map = ctx.map()?;
    // To the microsecond, as PostgreSQL keeps time: the cut-offs the report shows
    // are the ones its statements compare with.
    let now = chrono::SubsecRound::trunc_subsecs(chrono::Utc::now(), 6);
    let until = args
        .until
        .unwrap_or_else(|| now.with_timezone(&map.time_zone()).date_naive());
    let since = args
        .since
        .unwrap_or_else(|| until - chrono::Days::new(DEFAULT_DAYS - 1));
    if until < since {
        return Err(DerbesError::Usage(format!(
            "--until {until} is before --since {since}: give a period whose last day is on or after its first"
        ))
        .into());
    }
    let lang = match args.lang {
        ReportLang::Kk => Lang::Kk,
        ReportLang::Ru => Lang::Ru,
        ReportLang::En => Lang::En,
    };
    let (mut client, _) = ctx.connect().await?;
    let catalog = ctx.gate(&client, &map).await?;
    let options = ReportOptions {
        since,
        until,
        lang,
        now,
    };
    let figures = report::gather(&mut client, &map, &catalog, &options).await?;
    let text = if json {
        serde_json::to_string_pretty(&figures)?
    } else {
        crate::ops::html::report::render(&figures)
    };
    match &args.out {
        Some(path) => {
            let file = SecureFile::create(path, true)?;
            file.file().write_all(text.as_bytes()).with_context(|| {
                format!(
                    "writing the report to {} failed: free space there or pick another --out",
                    path.display()
                )
            })?;
            let path = file.commit()?;
            eprintln!("report written to {}", path.display());
        }
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(text.as_bytes())?;
            out.write_all(b"\n")?;
        }
    }
    Ok(())
}
