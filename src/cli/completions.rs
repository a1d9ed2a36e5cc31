//! `derbes completions`: shell completions and man pages.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

pub(super) const EX_COMPLETIONS: &str = "\
Examples:
  derbes completions bash
  derbes completions man --dir /usr/local/share/man/man1  # a page per command
";

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// bash, zsh, fish, or man for the man pages.
    #[arg(value_enum)]
    pub shell: CompletionShell,

    /// With man: write one page per command (derbes.1, derbes-archive-dump.1, ...)
    /// into this directory instead of printing derbes.1 on stdout.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum CompletionShell {
    Bash,
    Zsh,
    Fish,
    Man,
}
