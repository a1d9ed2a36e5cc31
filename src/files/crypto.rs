//! age encryption for everything personal that leaves the database: exports and
//! archives. Recipients are age X25519 keys (`age1…`), SSH public keys
//! (`ssh-ed25519 …`, `ssh-rsa …`) or a passphrase; identities are age identity files
//! or unencrypted SSH private keys. Streams in both directions, so memory stays flat.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use age::secrecy::SecretString;

/// Encryption keys and files that could not be used.
#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    #[error("recipient {index} is not an age or SSH public key (expected `age1…`, `ssh-ed25519 AAAA…` or `ssh-rsa AAAA…`); check for a truncated copy-paste")]
    BadRecipient { index: usize },
    #[error("cannot read recipients file {path}: {source}")]
    RecipientsFile { path: PathBuf, source: io::Error },
    #[error("{path}, line {line}: not an age or SSH public key; fix or remove that line (`#` starts a comment)")]
    BadRecipientLine { path: PathBuf, line: usize },
    #[error("no recipients: say who can open the file with -r/--recipient age1... (or an SSH public key) or --recipients-file FILE")]
    NoRecipients,
    #[error("a passphrase cannot be combined with other recipients: use either --passphrase or recipients")]
    PassphraseWithOthers,
    #[error("cannot read identity file {path}: {source}")]
    IdentityFile { path: PathBuf, source: io::Error },
    #[error("{path} holds no age identity (AGE-SECRET-KEY-1…) or SSH private key; pass the key file made by age-keygen or ssh-keygen")]
    NoIdentity { path: PathBuf },
    #[error("{path} is a passphrase-protected SSH key; make an unprotected copy (ssh-keygen -p) or use an age identity")]
    EncryptedSshKey { path: PathBuf },
    #[error(
        "{path} is an SSH key type age does not support; use ed25519 or RSA, or an age identity"
    )]
    UnsupportedSshKey { path: PathBuf },
    #[error("the file was not encrypted to this identity (wrong key?): {reason}")]
    WrongKey { reason: String },
    #[error("not a valid age file (truncated or not encrypted?): {reason}")]
    NotAgeFile { reason: String },
    /// A key opened the header but its MAC does not match: the header was altered.
    #[error("the file's header is damaged (a key matched but the header's MAC does not): the file was altered or corrupted, the key is not the problem")]
    Damaged,
    #[error("encryption failed: {0}")]
    Encrypt(String),
}

/// Who can decrypt: the keys, plus their public form for catalogues and manifests.
pub struct Recipients {
    keys: Vec<Box<dyn age::Recipient + Send>>,
    /// Public keys as given (`age1…`, `ssh-ed25519 …`), or `passphrase`.
    pub public: Vec<String>,
    passphrase: Option<SecretString>,
}

impl Recipients {
    pub fn new() -> Recipients {
        Recipients {
            keys: Vec::new(),
            public: Vec::new(),
            passphrase: None,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty() && self.passphrase.is_none()
    }

    /// Add one public key given on the command line (1-based `index` for messages).
    pub fn add(&mut self, text: &str, index: usize) -> Result<(), CryptoError> {
        let (key, public) =
            parse_recipient(text).map_err(|_| CryptoError::BadRecipient { index })?;
        self.keys.push(key);
        self.public.push(public);
        Ok(())
    }

    /// Add every key of a recipients file (one per line, `#` comments).
    pub fn add_file(&mut self, path: &Path) -> Result<(), CryptoError> {
        let text = std::fs::read_to_string(path).map_err(|source| CryptoError::RecipientsFile {
            path: path.to_owned(),
            source,
        })?;
        for (number, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (key, public) =
                parse_recipient(line).map_err(|_| CryptoError::BadRecipientLine {
                    path: path.to_owned(),
                    line: number + 1,
                })?;
            self.keys.push(key);
            self.public.push(public);
        }
        Ok(())
    }

    /// Encrypt to a passphrase (scrypt) instead of keys: for handing a file to a
    /// data subject, who has no key.
    pub fn set_passphrase(&mut self, passphrase: SecretString) {
        self.passphrase = Some(passphrase);
        self.public.push("passphrase".to_owned());
    }
}

impl Default for Recipients {
    fn default() -> Self {
        Recipients::new()
    }
}

/// Parse one public key: age X25519 (`age1…`) or SSH (`ssh-ed25519 …`, `ssh-rsa …`).
/// Returns the key and its canonical public form.
pub fn parse_recipient(
    text: &str,
) -> Result<(Box<dyn age::Recipient + Send>, String), CryptoError> {
    let text = text.trim();
    if let Ok(key) = age::x25519::Recipient::from_str(text) {
        let public = key.to_string();
        return Ok((Box::new(key), public));
    }
    if let Ok(key) = age::ssh::Recipient::from_str(text) {
        let public = key.to_string();
        return Ok((Box::new(key), public));
    }
    Err(CryptoError::BadRecipient { index: 0 })
}

/// Start an age stream to `recipients` on `output`; call `.finish()` on the writer
/// to write the last chunk.
pub fn encrypt<W: Write>(
    output: W,
    recipients: &Recipients,
) -> Result<age::stream::StreamWriter<W>, CryptoError> {
    let encryptor = match (&recipients.passphrase, recipients.keys.is_empty()) {
        (Some(passphrase), true) => age::Encryptor::with_user_passphrase(passphrase.clone()),
        (Some(_), false) => return Err(CryptoError::PassphraseWithOthers),
        (None, true) => return Err(CryptoError::NoRecipients),
        (None, false) => age::Encryptor::with_recipients(
            recipients
                .keys
                .iter()
                .map(|k| k.as_ref() as &dyn age::Recipient),
        )
        .map_err(|e| CryptoError::Encrypt(e.to_string()))?,
    };
    encryptor
        .wrap_output(output)
        .map_err(|e| CryptoError::Encrypt(e.to_string()))
}

/// Keys that can decrypt.
pub struct Identities {
    keys: Vec<Box<dyn age::Identity + Send + Sync>>,
}

impl Identities {
    /// A passphrase, for files encrypted with `--passphrase`.
    pub fn from_passphrase(passphrase: SecretString) -> Identities {
        Identities {
            keys: vec![Box::new(age::scrypt::Identity::new(passphrase))],
        }
    }
}

/// Load an age identity file (`AGE-SECRET-KEY-1…` lines, as age-keygen writes) or an
/// unencrypted SSH private key (ed25519 or RSA).
pub fn load_identities(path: &Path) -> Result<Identities, CryptoError> {
    let read_error = |source| CryptoError::IdentityFile {
        path: path.to_owned(),
        source,
    };
    let text = std::fs::read(path).map_err(read_error)?;
    let looks_age = String::from_utf8_lossy(&text).contains("AGE-SECRET-KEY-");
    if looks_age {
        let file =
            age::IdentityFile::from_buffer(BufReader::new(text.as_slice())).map_err(read_error)?;
        let keys = file
            .into_identities()
            .map_err(|_| CryptoError::NoIdentity {
                path: path.to_owned(),
            })?;
        if keys.is_empty() {
            return Err(CryptoError::NoIdentity {
                path: path.to_owned(),
            });
        }
        return Ok(Identities { keys });
    }
    let ssh = age::ssh::Identity::from_buffer(
        BufReader::new(text.as_slice()),
        Some(path.display().to_string()),
    )
    .map_err(|_| CryptoError::NoIdentity {
        path: path.to_owned(),
    })?;
    match ssh {
        age::ssh::Identity::Unencrypted(_) => Ok(Identities {
            keys: vec![Box::new(ssh)],
        }),
        age::ssh::Identity::Encrypted(_) => Err(CryptoError::EncryptedSshKey {
            path: path.to_owned(),
        }),
        age::ssh::Identity::Unsupported(_) => Err(CryptoError::UnsupportedSshKey {
            path: path.to_owned(),
        }),
    }
}

/// Start decrypting an age stream. Errors tell a wrong key from a damaged file;
/// damage later in the stream surfaces as an `io::Error` from the reader.
pub fn decrypt<R: Read>(
    input: R,
    identities: &Identities,
) -> Result<age::stream::StreamReader<BufReader<R>>, CryptoError> {
    let decryptor =
        age::Decryptor::new(BufReader::new(input)).map_err(|e| CryptoError::NotAgeFile {
            reason: e.to_string(),
        })?;
    decryptor
        .decrypt(
            identities
                .keys
                .iter()
                .map(|k| k.as_ref() as &dyn age::Identity),
        )
        .map_err(|e| match e {
            age::DecryptError::NoMatchingKeys => CryptoError::WrongKey {
                reason: "no identity matches any recipient of the file".to_owned(),
            },
            age::DecryptError::DecryptionFailed | age::DecryptError::InvalidHeader => {
                CryptoError::NotAgeFile {
                    reason: e.to_string(),
                }
            }
            age::DecryptError::InvalidMac => CryptoError::Damaged,
            other => CryptoError::WrongKey {
                reason: other.to_string(),
            },
        })
}

/// Read all of `reader` to the end, returning how many bytes it held. Used to
/// authenticate a whole age stream (every chunk's tag) without keeping it.
pub fn drain<R: BufRead>(mut reader: R) -> io::Result<u64> {
    io::copy(&mut reader, &mut io::sink())
}

#[cfg(test)]
mod tests {
    use super::*;
    use age::secrecy::ExposeSecret;

    fn roundtrip(recipients: &Recipients, identities: &Identities) -> Vec<u8> {
        let mut sealed = Vec::new();
        let mut writer = encrypt(&mut sealed, recipients).unwrap();
        writer.write_all(b"personal data").unwrap();
        writer.finish().unwrap();
        let mut plain = Vec::new();
        decrypt(sealed.as_slice(), identities)
            .unwrap()
            .read_to_end(&mut plain)
            .unwrap();
        plain
    }

    #[test]
    fn x25519_round_trip_and_wrong_key() {
        let key = age::x25519::Identity::generate();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key.txt");
        std::fs::write(
            &path,
            format!("# test\n{}\n", key.to_string().expose_secret()),
        )
        .unwrap();
        let mut recipients = Recipients::new();
        recipients.add(&key.to_public().to_string(), 1).unwrap();
        let identities = load_identities(&path).unwrap();
        assert_eq!(roundtrip(&recipients, &identities), b"personal data");

        let other = age::x25519::Identity::generate();
        std::fs::write(&path, other.to_string().expose_secret()).unwrap();
        let wrong = load_identities(&path).unwrap();
        let mut sealed = Vec::new();
        let mut writer = encrypt(&mut sealed, &recipients).unwrap();
        writer.write_all(b"x").unwrap();
        writer.finish().unwrap();
        assert!(matches!(
            decrypt(sealed.as_slice(), &wrong),
            Err(CryptoError::WrongKey { .. })
        ));
    }

    #[test]
    fn ssh_ed25519_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("id_ed25519");
        let status = std::process::Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-f"])
            .arg(&key)
            .status()
            .expect("ssh-keygen is installed");
        assert!(status.success());
        let public = std::fs::read_to_string(key.with_extension("pub")).unwrap();
        let mut recipients = Recipients::new();
        recipients.add(&public, 1).unwrap();
        assert!(recipients.public[0].starts_with("ssh-ed25519 "));
        let identities = load_identities(&key).unwrap();
        assert_eq!(roundtrip(&recipients, &identities), b"personal data");
    }

    #[test]
    fn passphrase_round_trip() {
        let mut recipients = Recipients::new();
        recipients.set_passphrase(SecretString::from("correct horse".to_owned()));
        let identities =
            Identities::from_passphrase(SecretString::from("correct horse".to_owned()));
        assert_eq!(roundtrip(&recipients, &identities), b"personal data");
    }

    #[test]
    fn bad_recipients_are_refused_without_echoing_them() {
        let mut recipients = Recipients::new();
        let err = recipients.add("age1notakey", 2).unwrap_err().to_string();
        assert!(err.contains("recipient 2"), "{err}");
        assert!(!err.contains("age1notakey"));
        assert!(matches!(
            encrypt(Vec::new(), &Recipients::new()),
            Err(CryptoError::NoRecipients)
        ));
    }

    #[test]
    fn a_file_that_is_not_age_is_reported() {
        let key = age::x25519::Identity::generate();
        let identities = Identities {
            keys: vec![Box::new(key)],
        };
        assert!(matches!(
            decrypt(&b"not an age file"[..], &identities),
            Err(CryptoError::NotAgeFile { .. })
        ));
    }
}
