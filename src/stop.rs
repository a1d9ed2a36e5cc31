//! A polite stop: SIGTERM (systemd stopping the unit, `kill`, a deploy) asks the run
//! to stop at its next batch boundary instead of dying mid-way.
//!
//! The first SIGTERM only sets a flag ([`requested`]); the batched jobs (purge,
//! cohort anonymisation, archive restore) check it between batches, commit or roll
//! back the batch they are in, and stop with their checkpoints kept, so the same
//! command run again resumes. Commands that are one short transaction finish it.
//! `main` then exits 1 saying so. A second SIGTERM ends the process at once (exit
//! 143), as the signal would have without the handler.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

static FLAG: OnceLock<Arc<AtomicBool>> = OnceLock::new();

/// Install the handler (once, from `main`).
pub fn install() -> std::io::Result<()> {
    let flag = FLAG.get_or_init(|| Arc::new(AtomicBool::new(false)));
    // The order matters: the conditional exit sees the flag before the second
    // registration sets it, so only a second signal exits.
    signal_hook::flag::register_conditional_shutdown(
        signal_hook::consts::SIGTERM,
        143,
        Arc::clone(flag),
    )?;
    signal_hook::flag::register(signal_hook::consts::SIGTERM, Arc::clone(flag))?;
    Ok(())
}

/// Whether a stop was asked for: end the run at the next batch boundary.
pub fn requested() -> bool {
    FLAG.get().is_some_and(|flag| flag.load(Ordering::Relaxed))
}
