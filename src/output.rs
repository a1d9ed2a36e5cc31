//! Rendering reports: a table for people, JSON for scripts, CSV for spreadsheets.
//!
//! A command builds a report (a `Serialize` struct) and implements [`Tabular`] for
//! it; [`emit`] prints it in the chosen format on stdout. JSON is always one
//! document. Diagnostics never go to stdout.
//!
//! CSV is for spreadsheets, which run a cell starting with `=`, `+`, `-` or `@` (or
//! a tab or carriage return) as a formula: such a cell is written with a leading
//! single quote (`'=SUM(A1)`), which spreadsheets show as text. A cell that is
//! just a number (`-5`, `+3`, `-0.25`) is left as it is, so it stays a number: a
//! plain number is never a formula. Table cells show control characters escaped
//! (`\u{1b}`), so stored text cannot move the cursor, colour the screen or fake
//! a row.

use std::borrow::Cow;
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
                writer.write_record(row.iter().map(|cell| csv_cell(cell).into_owned()))?;
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
                    table.add_row(row.iter().map(|cell| table_cell(cell)));
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

/// A CSV cell a spreadsheet will not run as a formula (see the module docs).
fn csv_cell(cell: &str) -> Cow<'_, str> {
    let risky = cell.starts_with(['=', '+', '-', '@', '\t', '\r']);
    if risky && !is_plain_number(cell) {
        Cow::Owned(format!("'{cell}"))
    } else {
        Cow::Borrowed(cell)
    }
}

/// An optional sign, digits, and at most one decimal point between digits.
fn is_plain_number(cell: &str) -> bool {
    let unsigned = cell.strip_prefix(['-', '+']).unwrap_or(cell);
    let mut parts = unsigned.splitn(2, '.');
    let whole = parts.next().unwrap_or("");
    let fraction = parts.next();
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    digits(whole) && fraction.is_none_or(digits)
}

/// A table cell with control characters escaped (see the module docs).
fn table_cell(cell: &str) -> Cow<'_, str> {
    if cell.chars().any(char::is_control) {
        Cow::Owned(
            cell.chars()
                .map(|c| {
                    if c.is_control() {
                        c.escape_unicode().to_string()
                    } else {
                        c.to_string()
                    }
                })
                .collect(),
        )
    } else {
        Cow::Borrowed(cell)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_cells_that_start_a_formula_are_quoted_and_numbers_stay_numbers() {
        for (cell, written) in [
            ("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"),
            ("+7 701", "'+7 701"),
            ("-1+2", "'-1+2"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\tx", "'\tx"),
            ("-", "'-"),
            ("-5", "-5"),
            ("-0.25", "-0.25"),
            ("+3", "+3"),
            ("42", "42"),
            ("INC-1", "INC-1"),
            ("", ""),
        ] {
            assert_eq!(csv_cell(cell), written, "{cell}");
        }
    }

    #[test]
    fn table_cells_show_control_characters_escaped() {
        assert_eq!(table_cell("T\u{1b}[31mX"), "T\\u{1b}[31mX");
        assert_eq!(table_cell("T\nFAKE"), "T\\u{a}FAKE");
        assert_eq!(table_cell("plain"), "plain");
    }
}
