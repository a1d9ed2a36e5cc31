//! Named points where a test makes the process stop as a `kill -9` would
//! (`DERBES_FAULT_POINT=<name>`): it exits at once with status 137, no destructor
//! runs and no temporary file is removed (and, unlike an abort, no core file).
//! The fault tests check what a kill at each point leaves behind and that the next
//! run cleans it up. Unset (always, outside tests), a point does nothing.

/// Die here when `DERBES_FAULT_POINT` names this point.
pub fn point(name: &str) {
    if std::env::var_os("DERBES_FAULT_POINT").is_some_and(|v| v == name) {
        std::process::exit(137);
    }
}
