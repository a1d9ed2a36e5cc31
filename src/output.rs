//! Rendering reports: a table for people, tab-separated text for pipes, JSON for
//! scripts, CSV for spreadsheets.
//!
//! A command builds a report (a `Serialize` struct) and implements [`Tabular`] for
//! it; [`emit`] prints it in the chosen format on stdout. JSON is always one
//! document. Diagnostics never go to stdout. Without `--format`, a terminal gets
//! the table and anything else (a pipe, a file, cron) tab-separated text
//! ([`default_format`]): no box drawing, no colour. Every format keeps every part
//! of the report: TSV and CSV write the notes (a delete order, a chain head, a
//! summary) after the rows as lines starting with `# `, which CSV readers that
//! know comments skip; in TSV a tab, newline or backslash inside a cell is written
//! `\t`, `\n`, `\\`, so one row stays one line. A row whose first cell starts
//! with `#` is written `\#...` (TSV) or `'#...` (CSV), so it never reads as a note.
//!
//! CSV is for spreadsheets, which run a cell starting with `=`, `+`, `-` or `@` (or
//! a tab or carriage return) as a formula: such a cell is written with a leading
//! single quote (`'=SUM(A1)`), which spreadsheets show as text. A cell that is
//! just a number (`-5`, `+3`, `-0.25`) is left as it is, so it stays a number: a
//! plain number is never a formula. Table cells show control characters escaped
//! (`\u{1b}`), so stored text cannot move the cursor, colour the screen or fake
//! a row.

use std::borrow::Cow;
use std::io::IsTerminal;
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

/// The format when `--format` is absent: a table for a person at a terminal,
/// tab-separated text for a pipe or a file.
pub fn default_format(stdout_is_terminal: bool) -> Format {
    if stdout_is_terminal {
        Format::Table
    } else {
        Format::Tsv
    }
}

/// Print `report` on stdout in `format`.
pub fn emit<T: Serialize + Tabular>(format: Format, report: &T) -> anyhow::Result<()> {
    let stdout = io::stdout();
    let mut out = stdout.lock();
    render(format, report, &mut out)
}

/// Write `report` in `format` to `out`.
pub fn render<T: Serialize + Tabular>(
    format: Format,
    report: &T,
    mut out: &mut dyn Write,
) -> anyhow::Result<()> {
    match format {
        Format::Json => {
            // Pretty for a person at a terminal; one line off it, so a cron job's
            // log file holds one record per run (`jq` reads either).
            if std::io::stdout().is_terminal() {
                serde_json::to_writer_pretty(&mut out, report)?;
            } else {
                serde_json::to_writer(&mut out, report)?;
            }
            writeln!(out)?;
        }
        Format::Csv => {
            let mut writer = csv::Writer::from_writer(&mut out);
            writer.write_record(report.headers())?;
            for row in report.rows() {
                writer.write_record(row.iter().enumerate().map(|(i, cell)| {
                    // A first cell starting with `#` would read as a note.
                    match (i, csv_cell(cell)) {
                        (0, c) if c.starts_with('#') => format!("'{c}"),
                        (_, c) => c.into_owned(),
                    }
                }))?;
            }
            writer.flush()?;
            drop(writer);
            write_comment_notes(out, report)?;
        }
        Format::Tsv => {
            writeln!(out, "{}", report.headers().join("\t"))?;
            for row in report.rows() {
                let mut cells: Vec<Cow<'_, str>> = row.iter().map(|cell| tsv_cell(cell)).collect();
                // A first cell starting with `#` would read as a note.
                if let Some(first) = cells.first_mut().filter(|c| c.starts_with('#')) {
                    *first = Cow::Owned(format!("\\{first}"));
                }
                writeln!(out, "{}", cells.join("\t"))?;
            }
            write_comment_notes(out, report)?;
        }
        Format::Table => {
            let rows = report.rows();
            if !rows.is_empty() {
                let mut table = Table::new();
                table
                    .load_preset(UTF8_FULL_CONDENSED)
                    .set_content_arrangement(ContentArrangement::Dynamic)
                    .set_header(report.headers());
                // comfy-table asks the terminal for its width; one that reports 0
                // columns (a pseudo-terminal nobody sized) would make every column
                // one character wide.
                if table.is_tty() {
                    let columns = std::env::var("COLUMNS").ok();
                    table.set_width(table_width(table.width(), columns.as_deref()));
                }
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

/// The width of a table on a terminal: the terminal's own when it reports one,
/// else `COLUMNS` (a positive number), else 80 columns, as `ls` decides.
fn table_width(terminal: Option<u16>, columns: Option<&str>) -> u16 {
    terminal
        .filter(|&width| width > 0)
        .or_else(|| {
            columns
                .and_then(|c| c.trim().parse::<u16>().ok())
                .filter(|&width| width > 0)
        })
        .unwrap_or(80)
}

/// The notes as `# ` lines, each line of a multi-line note its own comment.
fn write_comment_notes<T: Tabular>(out: &mut dyn Write, report: &T) -> io::Result<()> {
    for note in report.notes() {
        for line in note.lines() {
            writeln!(out, "# {}", table_cell(line))?;
        }
    }
    Ok(())
}

/// A TSV cell on one line: tab, newline, carriage return and backslash escaped,
/// other control characters as in a table.
fn tsv_cell(cell: &str) -> Cow<'_, str> {
    if cell.contains(['\t', '\n', '\r', '\\']) || cell.chars().any(char::is_control) {
        let mut escaped = String::with_capacity(cell.len() + 2);
        for c in cell.chars() {
            match c {
                '\t' => escaped.push_str("\\t"),
                '\n' => escaped.push_str("\\n"),
                '\r' => escaped.push_str("\\r"),
                '\\' => escaped.push_str("\\\\"),
                c if c.is_control() => escaped.push_str(&c.escape_unicode().to_string()),
                c => escaped.push(c),
            }
        }
        Cow::Owned(escaped)
    } else {
        Cow::Borrowed(cell)
    }
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

    struct Sample;
    impl Serialize for Sample {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            s.serialize_str("sample")
        }
    }
    impl Tabular for Sample {
        fn headers(&self) -> Vec<&'static str> {
            vec!["table", "rows"]
        }
        fn rows(&self) -> Vec<Vec<String>> {
            vec![
                vec!["a\tb\nc\\".to_owned(), "1".to_owned()],
                vec!["# not a note".to_owned(), "2".to_owned()],
            ]
        }
        fn notes(&self) -> Vec<String> {
            vec!["delete order: b, a".to_owned(), "two\nlines".to_owned()]
        }
    }

    fn rendered(format: Format) -> String {
        let mut out = Vec::new();
        render(format, &Sample, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn tsv_is_one_line_per_row_with_notes_as_comments() {
        assert_eq!(
            rendered(Format::Tsv),
            "table\trows\na\\tb\\nc\\\\\t1\n\\# not a note\t2\n# delete order: b, a\n# two\n# lines\n"
        );
    }

    #[test]
    fn csv_keeps_the_notes_as_comment_lines() {
        let text = rendered(Format::Csv);
        assert!(
            text.ends_with("# delete order: b, a\n# two\n# lines\n"),
            "{text}"
        );
        let mut reader = csv::ReaderBuilder::new()
            .comment(Some(b'#'))
            .from_reader(text.as_bytes());
        assert_eq!(reader.records().count(), 2);
    }

    #[test]
    fn off_a_terminal_the_default_is_plain_text() {
        assert_eq!(default_format(false), Format::Tsv);
        assert_eq!(default_format(true), Format::Table);
        let text = rendered(Format::Tsv);
        assert!(!text.contains('│') && !text.contains('─') && !text.contains('\x1b'));
    }

    /// Issue 26, item 10: a terminal that reports 0 columns made tables one
    /// character wide; COLUMNS was ignored.
    #[test]
    fn a_terminal_of_zero_columns_falls_back_to_columns_then_80() {
        assert_eq!(table_width(Some(100), Some("120")), 100);
        assert_eq!(table_width(Some(0), Some("120")), 120);
        assert_eq!(table_width(None, Some(" 132 ")), 132);
        assert_eq!(table_width(Some(0), None), 80);
        for bad in ["0", "-5", "wide", ""] {
            assert_eq!(table_width(Some(0), Some(bad)), 80, "{bad}");
        }
    }

    #[test]
    fn table_cells_show_control_characters_escaped() {
        assert_eq!(table_cell("T\u{1b}[31mX"), "T\\u{1b}[31mX");
        assert_eq!(table_cell("T\nFAKE"), "T\\u{a}FAKE");
        assert_eq!(table_cell("plain"), "plain");
    }
}
