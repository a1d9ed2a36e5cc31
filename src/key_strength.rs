//! How strong a secret key must be: the masking key of `hmac` and deterministic
//! `fake` (`--key-file`, `DERBES_MASK_KEY`) and the audit key of `rectify`'s keyed
//! hashes (`--audit-key-file`, `DERBES_AUDIT_KEY`). One rule for both, here.
//!
//! A keyed hash of an IIN (about 10^11 possible values) or a phone number is
//! reversed by trying every value under a key that can be guessed, so a key must be
//! at least [`MIN_BYTES`] random bytes. A key file (or variable) may hold them:
//!
//! - as **hex** (only `0-9 a-f A-F`, an even number of them: `openssl rand -hex 32`);
//! - as **base64**, standard or URL-safe, padded or not, line breaks allowed
//!   (`openssl rand -base64 32`, `head -c 32 /dev/urandom | base64`);
//! - as **raw bytes** (`head -c 32 /dev/urandom`): anything that is not text.
//!
//! Surrounding whitespace (a file's newline) is ignored when judging. The bytes the
//! encoding stands for must be at least [`MIN_BYTES`] and look random: at least 16
//! different byte values, no block repeated over the whole key, and no running
//! sequence (the steps from byte to byte take at least 16 different values). Each
//! check refuses a random key with a probability below 10^-16. Base64 text must
//! also mix upper- and lower-case letters and use at least 16 different characters,
//! which random base64 does (a random key fails with a probability below 10^-9)
//! and a phrase that happens to be valid base64 (`CorrectHorseBatteryStaple...`)
//! does not. Text that is neither hex nor base64 (a password, a phrase, 40 spaces)
//! is refused whatever its length.
//!
//! The encoding only decides how the key is judged. What the key file holds is the
//! key as before (see the callers), so a key already in use that passes keeps
//! giving the same pseudonyms and hashes.
//!
//! These checks catch keys that are plainly not random; none can prove a key
//! random. Messages say what is wrong and how to make a key, never the key.

use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine;
use zeroize::Zeroizing;

/// The fewest random bytes a key must hold.
pub const MIN_BYTES: usize = 32;

/// Fewest different byte values (and different steps between bytes) in a key's
/// bytes; 32 random bytes have about 30 of each.
const MIN_DISTINCT_BYTES: usize = 16;

/// Fewest different characters in a base64 key; random base64 of 32 bytes has about 31.
const MIN_DISTINCT_BASE64: usize = 16;

/// How a key was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Hex,
    Base64,
    Raw,
}

impl Encoding {
    fn name(self) -> &'static str {
        match self {
            Encoding::Hex => "as hex",
            Encoding::Base64 => "as base64",
            Encoding::Raw => "as raw bytes",
        }
    }
}

/// Why a key was refused. Never carries the key or any part of it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Weakness {
    #[error("is empty")]
    Empty,
    #[error("is only whitespace")]
    Blank,
    #[error("holds {bytes} bytes {}, fewer than {MIN_BYTES}", .encoding.name())]
    Short { bytes: usize, encoding: Encoding },
    #[error("repeats a few characters or byte values, which random bytes do not")]
    Repetitive,
    #[error("is a pattern (a repeated block or a running sequence), not random bytes")]
    Pattern,
    #[error("is typed text (a password or a phrase), neither hex nor base64 of random bytes")]
    Typed,
}

/// How to make a key of the strength needed, for messages: `file` is the name to
/// suggest (`mask.key`, `audit.key`).
pub fn how_to_make(file: &str) -> String {
    format!(
        "a key must be at least {MIN_BYTES} random bytes: make one with `openssl rand -base64 32 > {file}` \
         (or `head -c 32 /dev/urandom | base64 > {file}`), `chmod 600 {file}`, and keep it with the other secrets"
    )
}

/// Judge a key's strength from what its file or variable holds; which encoding it
/// was read in when strong enough.
pub fn judge(material: &[u8]) -> Result<Encoding, Weakness> {
    if material.is_empty() {
        return Err(Weakness::Empty);
    }
    let trimmed = material.trim_ascii();
    if trimmed.is_empty() {
        return Err(Weakness::Blank);
    }
    match std::str::from_utf8(trimmed) {
        // Text: printable characters, perhaps line breaks or spaces between them.
        Ok(text)
            if text
                .chars()
                .all(|c| !c.is_control() || c.is_ascii_whitespace()) =>
        {
            judge_text(text)
        }
        // Anything else is raw bytes (32 random bytes are text with a probability
        // of about 10^-13).
        _ => judge_bytes(material, Encoding::Raw).map(|()| Encoding::Raw),
    }
}

/// A key written as text: hex, base64, or typed.
fn judge_text(text: &str) -> Result<Encoding, Weakness> {
    let distinct = |chars: &str| {
        let mut seen: Vec<char> = chars.chars().collect();
        seen.sort_unstable();
        seen.dedup();
        seen.len()
    };
    // `aaaa...`, `0000...`, `abab...`: a few characters however written.
    if text.chars().count() >= 16 && distinct(text) < 8 {
        return Err(Weakness::Repetitive);
    }
    // Line breaks of wrapped base64 or hex are not part of the encoding; any other
    // whitespace is (a phrase's spaces), and no encoding has it.
    let joined = Zeroizing::new(text.replace(['\n', '\r'], ""));
    if joined.chars().any(char::is_whitespace) {
        return Err(Weakness::Typed);
    }
    if joined.len() % 2 == 0 && joined.chars().all(|c| c.is_ascii_hexdigit()) {
        let bytes = Zeroizing::new(hex::decode(joined.as_bytes()).map_err(|_| Weakness::Typed)?);
        return judge_bytes(&bytes, Encoding::Hex).map(|()| Encoding::Hex);
    }
    let Some(bytes) = decode_base64(&joined) else {
        return Err(Weakness::Typed);
    };
    // Words that happen to be base64 (`thequickbrownfox...`, `CorrectHorse...`).
    let letters = joined.trim_end_matches('=');
    if !(letters.chars().any(|c| c.is_ascii_uppercase())
        && letters.chars().any(|c| c.is_ascii_lowercase()))
    {
        return Err(Weakness::Typed);
    }
    if bytes.len() >= MIN_BYTES && distinct(letters) < MIN_DISTINCT_BASE64 {
        return Err(Weakness::Typed);
    }
    judge_bytes(&bytes, Encoding::Base64).map(|()| Encoding::Base64)
}

/// The bytes of standard or URL-safe base64, padded or not.
fn decode_base64(text: &str) -> Option<Zeroizing<Vec<u8>>> {
    let config = GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true);
    [alphabet::STANDARD, alphabet::URL_SAFE]
        .iter()
        .find_map(|alphabet| GeneralPurpose::new(alphabet, config).decode(text).ok())
        .map(Zeroizing::new)
}

/// The bytes a key stands for: enough of them, and random-looking.
fn judge_bytes(bytes: &[u8], encoding: Encoding) -> Result<(), Weakness> {
    if bytes.len() < MIN_BYTES {
        return Err(Weakness::Short {
            bytes: bytes.len(),
            encoding,
        });
    }
    let mut seen = [false; 256];
    bytes.iter().for_each(|&b| seen[usize::from(b)] = true);
    if seen.iter().filter(|s| **s).count() < MIN_DISTINCT_BYTES {
        return Err(Weakness::Repetitive);
    }
    // One block repeated over the whole key: the key is no stronger than the block.
    let periodic =
        (1..=bytes.len() / 2).any(|period| bytes.iter().zip(&bytes[period..]).all(|(a, b)| a == b));
    // A running sequence (00 01 02 ..., 10 20 30 ...): few different steps.
    let mut steps = [false; 256];
    bytes
        .windows(2)
        .for_each(|w| steps[usize::from(w[1].wrapping_sub(w[0]))] = true);
    if periodic || steps.iter().filter(|s| **s).count() < MIN_DISTINCT_BYTES {
        return Err(Weakness::Pattern);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{RngCore, SeedableRng};

    fn random(n: usize, seed: u64) -> Vec<u8> {
        let mut bytes = vec![0u8; n];
        rand_chacha::ChaCha20Rng::seed_from_u64(seed).fill_bytes(&mut bytes);
        bytes
    }

    fn b64(bytes: &[u8]) -> String {
        base64::engine::general_purpose::STANDARD.encode(bytes)
    }

    #[test]
    fn random_keys_pass_in_every_encoding() {
        for seed in 0..200 {
            let bytes = random(32, seed);
            assert_eq!(judge(&bytes), Ok(Encoding::Raw), "raw {seed}");
            let hex = format!("{}\n", hex::encode(&bytes));
            assert_eq!(judge(hex.as_bytes()), Ok(Encoding::Hex), "hex {seed}");
            let upper = hex::encode_upper(&bytes);
            assert_eq!(judge(upper.as_bytes()), Ok(Encoding::Hex), "HEX {seed}");
            let text = format!("{}\n", b64(&bytes));
            assert_eq!(judge(text.as_bytes()), Ok(Encoding::Base64), "{text}");
            let url = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&bytes);
            assert_eq!(judge(url.as_bytes()), Ok(Encoding::Base64), "{url}");
        }
        // Longer keys, and base64 wrapped over lines (`openssl rand -base64 64`).
        let long = b64(&random(64, 7));
        let wrapped = format!("{}\n{}\n", &long[..64], &long[64..]);
        assert_eq!(judge(wrapped.as_bytes()), Ok(Encoding::Base64));
        assert_eq!(judge(&random(100, 8)), Ok(Encoding::Raw));
    }

    #[test]
    fn weak_keys_are_refused_with_the_reason() {
        let refused = |material: &[u8]| judge(material).expect_err("a weak key");
        assert_eq!(refused(b""), Weakness::Empty);
        assert_eq!(refused(" ".repeat(40).as_bytes()), Weakness::Blank);
        assert_eq!(refused(b"\n\t \r\n"), Weakness::Blank);
        // Too few bytes, however written.
        assert_eq!(
            refused(b64(&random(16, 1)).as_bytes()),
            Weakness::Short {
                bytes: 16,
                encoding: Encoding::Base64
            }
        );
        assert_eq!(
            refused(hex::encode(random(31, 2)).as_bytes()),
            Weakness::Short {
                bytes: 31,
                encoding: Encoding::Hex
            }
        );
        assert_eq!(
            refused(&random(31, 3)),
            Weakness::Short {
                bytes: 31,
                encoding: Encoding::Raw
            }
        );
        // One character or byte over and over, or a few of them.
        for repeated in [
            "k".repeat(40),
            "a".repeat(44),
            "0".repeat(64),
            "ab".repeat(32),
        ] {
            assert_eq!(
                refused(repeated.as_bytes()),
                Weakness::Repetitive,
                "{repeated}"
            );
        }
        assert_eq!(refused(&[0u8; 64]), Weakness::Repetitive);
        assert_eq!(
            refused(b"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"),
            Weakness::Repetitive
        );
        // A block repeated, a running sequence.
        let block = random(24, 4);
        assert_eq!(refused(&[block.clone(), block].concat()), Weakness::Pattern);
        let run: Vec<u8> = (0..64).collect();
        assert_eq!(refused(&run), Weakness::Pattern);
        assert_eq!(refused(b64(&run).as_bytes()), Weakness::Pattern);
        // Typed text: passwords and phrases, even long ones or ones that are base64.
        for typed in [
            "short",
            "test-mask-key-0123456789abcdef",
            "test-audit-key-0123456789abcdef0123456789",
            "correct horse battery staple correct horse battery staple",
            "CorrectHorseBatteryStapleCorrectHorseBattery",
            "thequickbrownfoxjumpsoverthelazydogthequickb",
            "P@ssw0rd!P@ssw0rd!P@ssw0rd!P@ssw0rd!P@ssw0rd!",
        ] {
            assert_eq!(refused(typed.as_bytes()), Weakness::Typed, "{typed}");
        }
    }

    #[test]
    fn messages_never_show_the_key() {
        for key in ["short-secret", "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz"] {
            let message = judge(key.as_bytes()).unwrap_err().to_string();
            assert!(!message.contains(key), "{message}");
        }
        assert!(how_to_make("mask.key").contains("openssl rand -base64 32 > mask.key"));
    }
}
