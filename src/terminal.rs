//! Talking to the person at the terminal: confirmation prompts and the rule that
//! a change needs `--yes` when nobody is there to confirm it.

use std::io::IsTerminal;

use crate::error::DerbesError;

/// Ask before changing anything. `--yes` skips the question; off a terminal it is
/// required. A declined prompt is a refusal (exit 5), with nothing changed.
pub fn confirm(question: &str, yes: bool) -> anyhow::Result<()> {
    if yes {
        return Ok(());
    }
    if !std::io::stdin().is_terminal() || !std::io::stderr().is_terminal() {
        return Err(DerbesError::Refused(
            "not on a terminal, so nobody can confirm: pass --yes to go ahead, or --dry-run to see what would change"
                .to_owned(),
        )
        .into());
    }
    let confirmed = dialoguer::Confirm::new()
        .with_prompt(question)
        .default(false)
        .interact()?;
    if confirmed {
        Ok(())
    } else {
        Err(DerbesError::Refused("declined at the prompt: nothing was changed".to_owned()).into())
    }
}

/// Whether stdout is a terminal (tables and progress bars) or a pipe.
pub fn stdout_is_terminal() -> bool {
    std::io::stdout().is_terminal()
}
