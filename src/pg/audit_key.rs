//! The audit key: the secret behind the audit trail's keyed hashes.
//!
//! Two uses, one key: `rectify` records a keyed hash of each old and new value (so
//! the log proves what changed without holding it), and every audit record gets a
//! seal, a keyed hash of its chain hash ([`AuditKey::seal`]), so someone who can
//! write the log but lacks the key (a database superuser) cannot rewrite records and
//! recompute a chain that `audit verify` with the key accepts.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

/// The audit key. Kept away from the database (a file or the environment), so
/// whoever reads the audit log cannot test guesses and whoever can write it cannot
/// forge its keyed hashes; wiped from memory when dropped.
pub struct AuditKey(zeroize::Zeroizing<Vec<u8>>);

impl AuditKey {
    /// The fewest random bytes a key must hold.
    pub const MIN_BYTES: usize = crate::key_strength::MIN_BYTES;

    /// A key from its bytes (surrounding whitespace, such as a file's newline, is
    /// not part of it), judged like the masking key by
    /// [`key_strength::judge`](crate::key_strength::judge): at least 32 random
    /// bytes, written as hex (`openssl rand -hex 32`), base64 or raw bytes. The HMAC
    /// key is the text as written, not decoded, as it always was, so a strong key
    /// already in use keeps its fingerprint and hashes.
    pub fn new(bytes: &[u8]) -> Result<AuditKey, String> {
        let text = bytes.trim_ascii();
        crate::key_strength::judge(if text.is_empty() { bytes } else { text }).map_err(
            |weakness| {
                format!(
                    "the audit key {weakness}; {} (`openssl rand -hex 32 > audit.key` works too); \
                     nothing was changed",
                    crate::key_strength::how_to_make("audit.key")
                )
            },
        )?;
        Ok(AuditKey(zeroize::Zeroizing::new(text.to_vec())))
    }

    /// HMAC-SHA256 over `field`, a NUL byte and `value`, in hex: the field is part
    /// of the input so two fields with one value hash differently.
    pub fn hash(&self, field: &str, value: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(field.as_bytes());
        mac.update(&[0]);
        mac.update(value.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    /// The keyed hash of an audit record: HMAC-SHA256 over a domain label and the
    /// record's chain hash (which covers every field and, through the chain, every
    /// record before it).
    pub fn seal(&self, row_hash: &[u8]) -> Vec<u8> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(b"derbes audit record\0");
        mac.update(row_hash);
        mac.finalize().into_bytes().to_vec()
    }

    /// Whether `seal` is this key's keyed hash of `row_hash` (compared in constant
    /// time).
    pub fn opens(&self, row_hash: &[u8], seal: &[u8]) -> bool {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(b"derbes audit record\0");
        mac.update(row_hash);
        mac.verify_slice(seal).is_ok()
    }

    /// Names the key without revealing it: which key made a row's hashes.
    pub fn fingerprint(&self) -> String {
        let mut hasher = Sha256::new();
        hasher.update(b"derbes audit key\0");
        hasher.update(self.0.as_slice());
        hex::encode(&hasher.finalize()[..8])
    }
}
