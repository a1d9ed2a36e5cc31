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
        let man = clap_mangen::Man::new(command);
        let mut page = Vec::new();
        man.render(&mut page)?;
        pages.push((man.get_filename(), page));
    }
    pages[1..].sort_by(|a, b| a.0.cmp(&b.0));
    Ok(pages)
}
