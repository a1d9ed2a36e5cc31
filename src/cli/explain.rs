//! Parse errors in derbes' words where clap's would mislead or say nothing useful.

use super::Cli;

/// A parse error in derbes' words where clap's would say nothing useful, else
/// `error` as it is.
///
/// A passphrase typed after `--passphrase` (`--passphrase s3cret`,
/// `--passphrase=s3cret`): clap calls it an unexpected argument and echoes it;
/// here it is not shown and the message says why it is refused and what to do.
/// `--passphrase` given to a command that encrypts to keys only (`archive dump`,
/// whose "no recipients" message names it): clap says "unexpected argument" with
/// no reason; here the reason and the options it takes.
///
/// An option that takes a value starting with `-` (`allow_hyphen_values`, so that
/// `--keep -5y` is answered "must be positive") with its value forgotten:
/// `--keep --ticket T` makes `--ticket` the value and `T` an unexpected argument;
/// here the option is named as lacking its value.
///
/// `request open ID --subject ID`: the subject given twice, positionally and by
/// its older spelling.
pub fn explain(error: clap::Error, argv: &[std::ffi::OsString]) -> clap::Error {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    let Some(ContextValue::String(invalid)) = error.get(ContextKind::InvalidArg) else {
        return error;
    };
    if error.kind() == ErrorKind::ArgumentConflict
        && matches!(
            (invalid.as_str(), error.get(ContextKind::PriorArg)),
            ("[IDENTITY]" | "--subject <IDENTITY>", Some(ContextValue::String(prior)))
                if prior.contains("IDENTITY")
        )
    {
        return clap::Error::raw(
            ErrorKind::ArgumentConflict,
            "the subject is given twice, as IDENTITY and with --subject (its older spelling): \
             give it once, as in `derbes request open 061211600012 --kind access ...`\n",
        );
    }
    let position = argv
        .iter()
        .position(|a| a.to_str() == Some(invalid.as_str()));
    if error.kind() == ErrorKind::UnknownArgument {
        if let Some(option) = value_forgotten(argv, position) {
            return clap::Error::raw(
                ErrorKind::InvalidValue,
                format!(
                    "{option} has no value: what follows it is the next option; give its value \
                     right after it (see --help)\n"
                ),
            );
        }
    }
    let after_passphrase =
        position.is_some_and(|i| i > 0 && argv[i - 1].to_str() == Some("--passphrase"));
    let passphrase_value = match error.kind() {
        ErrorKind::TooManyValues => invalid == "--passphrase",
        ErrorKind::UnknownArgument => after_passphrase,
        _ => false,
    };
    if passphrase_value {
        return clap::Error::raw(
            ErrorKind::ArgumentConflict,
            "--passphrase takes no value (what followed it is not shown): it asks for the \
             passphrase at the terminal, twice. A passphrase typed on the command line stays in \
             the shell history and is visible to every user of the machine in `ps`. Give \
             --passphrase alone, or put the passphrase on the first line of a file only you can \
             read and pass --passphrase-file FILE\n",
        );
    }
    let unknown_passphrase = error.kind() == ErrorKind::UnknownArgument
        && (invalid == "--passphrase" || invalid.starts_with("--passphrase="));
    if unknown_passphrase {
        let path = command_path(argv);
        if path.takes_recipients {
            return clap::Error::raw(
                ErrorKind::UnknownArgument,
                format!(
                    "`derbes {}` takes no passphrase: it encrypts to public keys only, given with \
                     -r/--recipient (age1... or an SSH public key) or --recipients-file FILE, so \
                     that what it writes opens with a key file (`derbes archive verify -i \
                     KEYFILE`), not a passphrase someone must remember for years. Only `derbes \
                     export --passphrase` encrypts with a passphrase, to hand a bundle to the \
                     subject\n",
                    path.words.join(" ")
                ),
            );
        }
    }
    error
}

/// The option before the option before `argv[position]`, when it takes values
/// starting with `-` and so took the next option as its value (`--keep --ticket T`:
/// `--keep`).
fn value_forgotten(argv: &[std::ffi::OsString], position: Option<usize>) -> Option<String> {
    let position = position.filter(|&i| i >= 2)?;
    let taken = argv[position - 1].to_str()?;
    let option = argv[position - 2].to_str()?;
    let long = option.strip_prefix("--")?;
    if !taken.starts_with('-') {
        return None;
    }
    let leaf = command_path(argv).command;
    let arg = leaf.get_arguments().find(|a| a.get_long() == Some(long))?;
    arg.is_allow_hyphen_values_set().then(|| option.to_owned())
}

/// The subcommands named on a command line, and whether the last takes age
/// recipients.
struct CommandPath {
    words: Vec<String>,
    takes_recipients: bool,
    /// The last of them (the root when none).
    command: clap::Command,
}

fn command_path(argv: &[std::ffi::OsString]) -> CommandPath {
    use clap::CommandFactory;
    let root = Cli::command();
    let mut current = &root;
    let mut words = Vec::new();
    for word in argv.iter().skip(1).filter_map(|a| a.to_str()) {
        if let Some(sub) = current.find_subcommand(word) {
            words.push(sub.get_name().to_owned());
            current = sub;
        }
    }
    let takes_recipients = current
        .get_arguments()
        .any(|a| matches!(a.get_id().as_str(), "recipients" | "archive_to"));
    CommandPath {
        words,
        takes_recipients,
        command: current.clone(),
    }
}
