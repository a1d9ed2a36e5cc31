//! Named points where a test stops the process (`DERBES_FAULT_POINT=<name>`).
//!
//! By default the process exits at the point at once with status 137, as a
//! `kill -9` would: no destructor runs and no temporary file is removed (and,
//! unlike an abort, no core file). With `DERBES_FAULT_PAUSE=<file>` it instead
//! writes its pid to that file and waits (up to a minute) until the test removes
//! it, so the test can act meanwhile (e.g. `pg_terminate_backend` the run's
//! session) and then let the run go on into what it left.
//!
//! The fault tests (`tests/cli/faults.rs`) check what a stop at each point leaves
//! behind and that the next run cleans it up. Unset (always, outside tests), a
//! point does nothing.

use std::time::{Duration, Instant};

/// Stop here (or pause) when `DERBES_FAULT_POINT` names this point.
pub fn point(name: &str) {
    if std::env::var_os("DERBES_FAULT_POINT").is_none_or(|v| v != name) {
        return;
    }
    let Some(flag) = std::env::var_os("DERBES_FAULT_PAUSE") else {
        std::process::exit(137);
    };
    let flag = std::path::PathBuf::from(flag);
    if std::fs::write(&flag, std::process::id().to_string()).is_err() {
        std::process::exit(137);
    }
    let started = Instant::now();
    while flag.exists() && started.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(10));
    }
}
