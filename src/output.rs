//! Rendering reports: a table for people, JSON for scripts, CSV for spreadsheets.
//!
//! A command builds a report (a `Serialize` struct) and implements [`Tabular`] for
//! it; [`emit`] prints it in the chosen format on stdout. JSON is always one
//! document. Diagnostics never go to stdout.

use std::io::{self, Write};

use comfy_table::{presets::UTF8_FULL_CONDENSED, ContentArrangement, Table};
use serde::Serialize;

use crate::cli::Format;

/// A report that can be shown as rows.
pub trait Tabular {
    fn headers(&self) -> Vec<&'static str>;
    fn rows(&self) -> Vec<Vec<String>>;
    /// Lines printed under the table (table format only).
    fn notes(&self) -> Vec<String> {
        Vec::new()
    }
}

/// Print `report` on stdout in `format`.
pub fn emit<T: Serialize + Tabular>(format: Format, report: &T) -> anyhow::Result<()> {
    let stdout = io::stdout();
    let mut out = stdout.lock();
    match format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut out, report)?;
            writeln!(out)?;
        }
        Format::Csv => {
            let mut writer = csv::Writer::from_writer(&mut out);
            writer.write_record(report.headers())?;
            for row in report.rows() {
                writer.write_record(row)?;
            }
            writer.flush()?;
        }
        Format::Table => {
            let rows = report.rows();
            if !rows.is_empty() {
                let mut table = Table::new();
                table
                    .load_preset(UTF8_FULL_CONDENSED)
                    .set_content_arrangement(ContentArrangement::Dynamic)
                    .set_header(report.headers());
                for row in rows {
                    table.add_row(row);
                }
                writeln!(out, "{table}")?;
            }
            for note in report.notes() {
                writeln!(out, "{note}")?;
            }
        }
    }
    Ok(())
}
