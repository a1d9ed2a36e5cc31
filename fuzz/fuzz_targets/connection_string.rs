//! Any `--db` text (URL or libpq keywords) is read or refused, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = derbes::pg::connect::parse_connection_string(text);
    }
});
