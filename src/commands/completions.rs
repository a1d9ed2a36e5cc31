//! `derbes completions <shell|man>`: shell completions and the man pages.
//!
//! The man pages are one per command (`derbes.1`, `derbes-archive.1`,
//! `derbes-archive-dump.1`, ...), so every page a SUBCOMMANDS section names exists;
//! `derbes completions man` prints `derbes.1`, `--dir` writes them all.

use clap::CommandFactory;

use crate::cli::{Cli, CompletionShell, CompletionsArgs};
use crate::error::DerbesError;

pub fn run(args: CompletionsArgs) -> anyhow::Result<()> {
    match (&args.dir, args.shell) {
        (Some(dir), CompletionShell::Man) => {
            for (name, page) in man_pages()? {
                let path = dir.join(&name);
                std::fs::write(&path, page).map_err(|e| {
                    anyhow::anyhow!(
                        "cannot write {}: {e}; check that the directory exists and is writable",
                        path.display()
                    )
                })?;
            }
            Ok(())
        }
        (Some(_), _) => Err(DerbesError::Usage(
            "--dir is for the man pages: `derbes completions man --dir DIR`; shell \
             completions go to stdout"
                .to_owned(),
        )
        .into()),
        (None, shell) => {
            // Generated whole first: the generator panics on a failed write, and a
            // reader may close the pipe early (`| head -1`).
            let mut text = Vec::new();
            write(shell, &mut text)?;
            std::io::Write::write_all(&mut std::io::stdout(), &text)?;
            Ok(())
        }
    }
}

/// Write the completion script, or the top man page, for `shell`.
pub fn write(shell: CompletionShell, out: &mut dyn std::io::Write) -> anyhow::Result<()> {
    let mut command = Cli::command();
    match shell {
        CompletionShell::Bash => {
            clap_complete::generate(clap_complete::Shell::Bash, &mut command, "derbes", out)
        }
        CompletionShell::Zsh => {
            clap_complete::generate(clap_complete::Shell::Zsh, &mut command, "derbes", out)
        }
        CompletionShell::Fish => {
            clap_complete::generate(clap_complete::Shell::Fish, &mut command, "derbes", out)
        }
        CompletionShell::Man => {
            let (_, page) = man_pages()?
                .into_iter()
                .next()
                .expect("derbes.1 comes first");
            out.write_all(&page)?;
        }
    }
    Ok(())
}

/// Every man page, `derbes.1` first, as (file name, roff).
pub fn man_pages() -> anyhow::Result<Vec<(String, Vec<u8>)>> {
    // No `help` subcommand in the pages: it has no page of its own.
    let mut command = Cli::command().disable_help_subcommand(true);
    command.build();
    let mut pages = Vec::new();
    let mut pending = vec![command];
    while let Some(command) = pending.pop() {
        pending.extend(
            command
                .get_subcommands()
                .filter(|sub| !sub.is_hide_set())
                .cloned(),
        );
        let man = clap_mangen::Man::new(command.clone());
        pages.push((man.get_filename(), man_page(&man, &command)?));
    }
    pages[1..].sort_by(|a, b| a.0.cmp(&b.0));
    Ok(pages)
}

/// One page: clap_mangen's sections, with two of them written here. The SYNOPSIS
/// names each option's value (`--db <URL>`, where clap_mangen prints a bare
/// `[--db]`). The help's closing text (examples; on `derbes.1` the connection and
/// the exit codes too) gets a section per block (EXAMPLES, EXIT STATUS, ...) with
/// its lines kept as written, where clap_mangen's EXTRA section would run them
/// together into one paragraph.
fn man_page(man: &clap_mangen::Man, command: &clap::Command) -> anyhow::Result<Vec<u8>> {
    use clap_mangen::roff::Roff;
    // Each section renders with the same two-line preamble; the page keeps one.
    let preamble = Roff::new().render();
    let mut page = preamble.clone();
    let mut add = |render: &dyn Fn(&mut Vec<u8>) -> std::io::Result<()>| -> anyhow::Result<()> {
        let mut section = Vec::new();
        render(&mut section)?;
        let section = String::from_utf8(section)?;
        page.push_str(section.strip_prefix(preamble.as_str()).unwrap_or(&section));
        Ok(())
    };
    add(&|w| man.render_title(w))?;
    add(&|w| man.render_name_section(w))?;
    add(&|w| synopsis(command).to_writer(w))?;
    add(&|w| man.render_description_section(w))?;
    if command.get_arguments().any(|arg| !arg.is_hide_set()) {
        add(&|w| man.render_options_section(w))?;
    }
    if command.get_subcommands().any(|sub| !sub.is_hide_set()) {
        add(&|w| man.render_subcommands_section(w))?;
    }
    if let Some(text) = command
        .get_after_long_help()
        .or_else(|| command.get_after_help())
    {
        let text = text.to_string();
        add(&|w| closing_sections(&text).to_writer(w))?;
    }
    if command.get_version().is_some() {
        add(&|w| man.render_version_section(w))?;
    }
    Ok(page.into_bytes())
}

/// `derbes export [--ticket <TICKET>] ... <IDENTITY>`: the command's own options
/// first, then the global ones, each with its value name; required ones without
/// brackets; `...` where an option or argument repeats.
fn synopsis(command: &clap::Command) -> clap_mangen::roff::Roff {
    use clap_mangen::roff::{bold, italic, roman, Roff};
    let repeats = |arg: &clap::Arg| {
        matches!(
            arg.get_action(),
            clap::ArgAction::Append | clap::ArgAction::Count
        )
    };
    let value_name = |arg: &clap::Arg| {
        arg.get_value_names()
            .and_then(|names| names.first())
            .map(|name| name.to_string())
            .unwrap_or_else(|| arg.get_id().as_str().to_uppercase())
    };
    let mut line = vec![
        bold(command.get_bin_name().unwrap_or(command.get_name())),
        roman(" "),
    ];
    let mut options: Vec<&clap::Arg> = command
        .get_arguments()
        .filter(|arg| !arg.is_hide_set() && !arg.is_positional())
        .collect();
    options.sort_by_key(|arg| (arg.get_help_heading().is_some(), arg.get_display_order()));
    for arg in options {
        let (open, close) = if arg.is_required_set() {
            ("", "")
        } else {
            ("[", "]")
        };
        line.push(roman(open));
        match (arg.get_short(), arg.get_long()) {
            (Some(short), Some(long)) => {
                line.push(bold(format!("-{short}")));
                line.push(roman("|"));
                line.push(bold(format!("--{long}")));
            }
            (Some(short), None) => line.push(bold(format!("-{short}"))),
            (None, Some(long)) => line.push(bold(format!("--{long}"))),
            (None, None) => continue,
        }
        if arg.get_action().takes_values() {
            line.push(roman(" "));
            line.push(italic(format!("<{}>", value_name(arg))));
        }
        line.push(roman(close));
        if repeats(arg) {
            line.push(roman("..."));
        }
        line.push(roman(" "));
    }
    for arg in command.get_positionals().filter(|arg| !arg.is_hide_set()) {
        let (open, close) = if arg.is_required_set() {
            ("<", ">")
        } else {
            ("[", "]")
        };
        line.push(roman(open));
        line.push(italic(value_name(arg)));
        line.push(roman(close));
        if repeats(arg) {
            line.push(roman("..."));
        }
        line.push(roman(" "));
    }
    if command.get_subcommands().any(|sub| !sub.is_hide_set()) {
        line.push(roman(if command.is_subcommand_required_set() {
            "<"
        } else {
            "["
        }));
        line.push(italic("COMMAND"));
        line.push(roman(if command.is_subcommand_required_set() {
            ">"
        } else {
            "]"
        }));
    }
    let mut roff = Roff::new();
    roff.control("SH", ["SYNOPSIS"]);
    roff.text(line);
    roff
}

/// The help's closing text as man sections: each block that starts with a
/// heading line (`Examples:`, `Exit codes:`, `Connection:`) under its own section,
/// its lines unfilled so that each example and each exit code stays on its line.
fn closing_sections(text: &str) -> clap_mangen::roff::Roff {
    use clap_mangen::roff::{roman, Roff};
    let mut blocks: Vec<(String, Vec<&str>)> = Vec::new();
    for line in text.lines() {
        let heading = line
            .strip_suffix(':')
            .filter(|h| !h.is_empty() && !h.starts_with(char::is_whitespace));
        match (heading, blocks.last_mut()) {
            (Some(heading), _) => blocks.push((section_name(heading), Vec::new())),
            (None, Some((_, lines))) => lines.push(line),
            (None, None) => blocks.push(("NOTES".to_owned(), vec![line])),
        }
    }
    let mut roff = Roff::new();
    for (name, mut lines) in blocks {
        while lines.last().is_some_and(|l| l.trim().is_empty()) {
            lines.pop();
        }
        roff.control("SH", [name.as_str()]);
        roff.control("nf", []);
        for line in lines {
            roff.text([roman(line.strip_prefix("  ").unwrap_or(line))]);
        }
        roff.control("fi", []);
    }
    roff
}

/// The man section of a help block's heading: the usual names where there are
/// any (`Exit codes` is EXIT STATUS), else the heading in capitals.
fn section_name(heading: &str) -> String {
    match heading {
        "Exit codes" => "EXIT STATUS".to_owned(),
        other => other.to_uppercase(),
    }
}
