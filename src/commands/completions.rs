//! `derbes completions <shell|man>`: shell completions and the man page on stdout.

use clap::CommandFactory;

use crate::cli::{Cli, CompletionShell, CompletionsArgs};

pub fn run(args: CompletionsArgs) -> anyhow::Result<()> {
    let mut out = std::io::stdout();
    write(args.shell, &mut out)
}

/// Write the completion script or man page for `shell`.
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
        CompletionShell::Man => clap_mangen::Man::new(command).render(out)?,
    }
    Ok(())
}
