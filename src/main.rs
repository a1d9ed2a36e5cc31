//! The `derbes` binary: parse, run, map errors to the documented exit codes.
#![forbid(unsafe_code)]

use std::io::IsTerminal;

use derbes::cli::Cli;
use derbes::commands::exit_codes::exit_for;

fn main() {
    let cli = Cli::parse_command_line();
    init_logging(cli.global.verbose, cli.global.quiet);
    if let Err(error) = derbes::stop::install() {
        tracing::warn!("SIGTERM will stop derbes at once, not at a batch boundary: {error}");
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime starts");
    let result = runtime.block_on(derbes::commands::run(cli));
    if derbes::stop::requested() {
        // The run ended at a batch boundary (or finished its one transaction):
        // what committed stays, and the same command resumes the rest.
        if let Err(error) = &result {
            for line in derbes::pg::db::render_chain(error) {
                eprintln!("error: {line}");
            }
        }
        eprintln!(
            "error: stopped by SIGTERM: the batch in progress was committed or rolled back and \
             nothing is half-done; run the same command again to resume where it stopped"
        );
        std::process::exit(1);
    }
    if let Err(error) = result {
        // A reader that stopped reading (`derbes audit log | head -1`) ends the
        // command quietly, as it would end `cat`.
        if closed_stdout(&error) {
            std::process::exit(0);
        }
        let exit = exit_for(&error);
        let mut lines = derbes::pg::db::render_chain(&error).into_iter();
        if let Some(first) = lines.next() {
            eprintln!("error: {first}");
        }
        for cause in lines {
            eprintln!("  caused by: {cause}");
        }
        // Which database the error happened in: a map checked against the wrong
        // database (libpq's defaults) reads otherwise like a wrong map.
        if let Some(place) = derbes::pg::db::connected_database() {
            eprintln!("  in {place}");
        }
        std::process::exit(exit.code());
    }
}

/// The error is a write to a closed pipe.
fn closed_stdout(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// Diagnostics on stderr: warnings by default, more with -v, errors only with -q.
fn init_logging(verbose: u8, quiet: bool) {
    let level = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, _) => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("DERBES_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(format!("derbes={level}")));
    // Colour only for a person at a terminal: logs kept in files or read by other
    // programs get plain text (and NO_COLOR is honoured).
    let colour = std::io::stderr().is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(colour)
        .with_writer(std::io::stderr)
        .without_time()
        .init();
}
