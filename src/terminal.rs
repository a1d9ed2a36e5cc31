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

/// The subjects a prompt is about: up to ten lines (masked identity and key, never a
/// personal value in clear), then "and N more", so the person confirming sees who.
pub fn who(subjects: &[String]) -> String {
    const SHOWN: usize = 10;
    let mut lines: Vec<String> = subjects
        .iter()
        .take(SHOWN)
        .map(|s| format!("  {s}"))
        .collect();
    if subjects.len() > SHOWN {
        lines.push(format!("  and {} more", subjects.len() - SHOWN));
    }
    lines.join("\n")
}

/// Whether stdout is a terminal (tables and progress bars) or a pipe.
pub fn stdout_is_terminal() -> bool {
    std::io::stdout().is_terminal()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn who_names_ten_then_counts_the_rest() {
        let subjects: Vec<String> = (1..=12).map(|i| format!("borrowers:{i}")).collect();
        let text = who(&subjects);
        assert_eq!(text.lines().count(), 11);
        assert!(text.contains("borrowers:10"));
        assert!(!text.contains("borrowers:11"));
        assert!(text.ends_with("and 2 more"));
        assert_eq!(who(&subjects[..2]).lines().count(), 2);
    }
}
