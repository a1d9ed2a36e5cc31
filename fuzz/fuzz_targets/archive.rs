//! A hostile archive (any bytes: a plaintext tar, or an age header and garbage) is
//! verified or refused, never a panic, and reading it writes nothing anywhere: the
//! directory it sits in holds only it afterwards.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("fuzz.tar");
    std::fs::write(&path, data).expect("the input is written");
    let identities = derbes::files::crypto::Identities::from_passphrase("fuzz".to_owned().into());
    let _ = derbes::ops::archive::read::check_with_identities(&path, &identities, true);
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .expect("the directory is readable")
        .collect();
    assert_eq!(left.len(), 1, "reading an archive wrote beside it");
});
