//! Any text given as a data map is read or refused with an error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = derbes::map::DataMap::parse(text, std::path::Path::new("fuzz.toml"));
    }
});
