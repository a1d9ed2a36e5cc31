//! Any text typed as an identity (IIN, BIN, phone, email, `id:KEY`) is parsed or
//! refused, never a panic; a parsed identity masks without panicking either.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(identity) = derbes::kz::identity::Identity::parse(text) {
            let _ = identity.masked();
        }
    }
});
