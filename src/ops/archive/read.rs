//! Reading an archive back: decrypt, walk the tar, check every member against the
//! manifest (name, size, SHA-256, and optionally the CSV row count), and hash the
//! whole file for the register digest. Any mismatch, truncation or wrong key is a
//! [`DerbesError::VerificationFailed`] naming what is wrong.
//!
//! A fresh archive is read back while it is being written: [`Following`] (beside
//! the writer it follows, in [`crate::files::tar_writer`]) reads the
//! file from its own handle, only bytes the writer has handed to the file and that
//! were then fsynced, so the read-back sees what the disk holds, not what the
//! writer meant to write, and it finishes shortly after the dump does.
//!
//! Two depths of checking ([`Depth`]). `archive verify` and `restore` read a file
//! whose history they do not know, so they hash everything: every member against
//! the manifest and the whole file for the register ([`Depth::Full`]). The dump's
//! own read-back ([`check_following`]) reads a file it has just encrypted with a
//! one-off key, and there age already proves what the hashes would
//! ([`Depth::Authenticated`]): the header's MAC covers every recipient stanza, the
//! payload key comes from the file key and the header's nonce, and every 64 KiB
//! chunk of the payload carries a ChaCha20-Poly1305 tag bound to its position and
//! to whether it is the last, so a file that decrypts to its end with that key
//! holds exactly the bytes the writer encrypted, in order, neither cut short nor
//! extended (no one else knows the file key: its only copies are in the process's
//! memory and in the stanzas only the recipients open). A byte the disk changed,
//! lost or added fails the decryption, which names the member being read. What is
//! left to check is what age cannot know, and that is checked: the tar walks
//! cleanly, every member the manifest lists is there once with its size, nothing
//! else is, `manifest.json` is last and is the very manifest written (the caller
//! compares its bytes), and the file is as long as what was written. The member
//! digests in the manifest are taken from the buffers that were then encrypted,
//! and the writer hashes the encrypted bytes for the register, so hashing both
//! again on the way back (two SHA-256 passes, half of a dump's hashing) would only
//! re-prove what the tags proved. A read without age's authentication (a
//! plaintext tar) must use [`Depth::Full`].

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::rc::Rc;
use std::sync::Arc;

use sha2::{Digest, Sha256};

use super::manifest::{Manifest, FORMAT, MANIFEST_NAME, VERSION};
use crate::error::DerbesError;
use crate::files::crypto::{self, CryptoError, Identities};
use crate::files::tar_writer::Following;

/// Bytes (and at [`Depth::Full`] the SHA-256) of what was read so far, shared with
/// the reader that feeds them.
struct FileDigest {
    hasher: Option<Sha256>,
    bytes: u64,
}

/// Hashes every byte of the raw (encrypted) file as the decryptor reads it.
struct HashingReader<R> {
    inner: R,
    digest: Rc<RefCell<FileDigest>>,
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let mut digest = self.digest.borrow_mut();
        if let Some(hasher) = digest.hasher.as_mut() {
            hasher.update(&buf[..n]);
        }
        digest.bytes += n as u64;
        Ok(n)
    }
}

/// Counts (and at [`Depth::Full`] hashes) what passes through (a member's content).
struct Tee<'a, R> {
    inner: R,
    hasher: Option<&'a mut Sha256>,
    bytes: u64,
}

impl<R: Read> Read for Tee<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Some(hasher) = self.hasher.as_mut() {
            hasher.update(&buf[..n]);
        }
        self.bytes += n as u64;
        Ok(n)
    }
}

/// What reading an archive found: its manifest and the digest of the whole file.
#[derive(Debug, Clone)]
pub struct Checked {
    pub manifest: Manifest,
    pub sha256: String,
    pub bytes: u64,
}

/// What the dump's read-back found: the manifest as read back (parsed, and its
/// bytes, to compare with what was written) and the file's length. No digest: see
/// the module docs ([`Depth::Authenticated`]).
#[derive(Debug, Clone)]
pub struct ReadBack {
    pub manifest: Manifest,
    pub manifest_json: Vec<u8>,
    pub bytes: u64,
}

/// How much of an archive's content a read hashes (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Depth {
    /// Every member's SHA-256 against the manifest (and, with `count_rows`, its CSV
    /// rows) and the whole file's SHA-256: for files whose history is unknown
    /// (`archive verify`, `restore`), and for any read without authentication.
    Full { count_rows: bool },
    /// Only for a file decrypted with age: its tags prove the content is what was
    /// encrypted, so members are checked by name, order and size, and neither they
    /// nor the file are hashed.
    Authenticated,
}

/// What [`check`] found; `sha256` only at [`Depth::Full`].
struct Found {
    manifest: Manifest,
    manifest_json: Vec<u8>,
    sha256: Option<String>,
    bytes: u64,
}

/// No identity given opens the archive. Cryptography cannot tell a wrong key from
/// a damaged recipient stanza; [`super::verify`] compares the file with the
/// register to say which.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct KeyMismatch {
    /// The same text as the [`DerbesError`] it travels under (printed once).
    message: String,
}

fn failed(message: String) -> anyhow::Error {
    DerbesError::VerificationFailed(message).into()
}

/// A read error in the middle of the archive, said plainly.
fn damaged(path: &Path, what: &str, error: &io::Error) -> anyhow::Error {
    failed(format!(
        "archive {} is truncated or damaged ({what}: {error}): restore it from a good copy; do not rely on this file",
        path.display()
    ))
}

/// Told how many more bytes of the archive file were read (for a progress bar).
pub type BytesRead = Arc<dyn Fn(u64) + Send + Sync>;

/// A reader that tells `tell` how many bytes each read returned.
pub struct Telling<R> {
    inner: R,
    tell: Option<BytesRead>,
}

impl<R: Read> Telling<R> {
    pub fn new(inner: R, tell: Option<BytesRead>) -> Telling<R> {
        Telling { inner, tell }
    }
}

impl<R: Read> Read for Telling<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Some(tell) = &self.tell {
            tell(n as u64);
        }
        Ok(n)
    }
}

/// Decrypt `path` with the operator's identities and check it.
pub fn check_with_identities(
    path: &Path,
    identities: &Identities,
    count_rows: bool,
) -> anyhow::Result<Checked> {
    check_with_identities_reporting(path, identities, count_rows, None)
}

/// [`check_with_identities`], telling `bytes_read` as the file is read.
pub fn check_with_identities_reporting(
    path: &Path,
    identities: &Identities,
    count_rows: bool,
    bytes_read: Option<BytesRead>,
) -> anyhow::Result<Checked> {
    let found = check(
        path,
        open(path, bytes_read)?,
        Depth::Full { count_rows },
        |raw| {
            crypto::decrypt(raw, identities)
            .map(|r| Box::new(r) as Box<dyn Read + '_>)
            .map_err(|e| match e {
                CryptoError::WrongKey { .. } => {
                    let message = format!(
                        "archive {} cannot be opened with this identity: {e}. Use a key the archive was encrypted to (see `derbes archive list`)",
                        path.display()
                    );
                    anyhow::Error::new(KeyMismatch {
                        message: message.clone(),
                    })
                    .context(DerbesError::VerificationFailed(message))
                }
                other => failed(format!(
                    "archive {} is not a readable age file ({other}): it is truncated, damaged or not an archive",
                    path.display()
                )),
            })
        },
    )?;
    Ok(Checked {
        manifest: found.manifest,
        sha256: found.sha256.unwrap_or_default(),
        bytes: found.bytes,
    })
}

/// Read back a fresh archive as it is written (`path` names it in messages) and
/// decrypt it with one X25519 identity, the dump's read-back key. The stream is
/// authenticated, so this reads at [`Depth::Authenticated`]: the caller compares
/// the manifest's bytes and the length with what it wrote.
pub(crate) fn check_following(
    path: &Path,
    file: Following,
    key: &age::x25519::Identity,
) -> anyhow::Result<ReadBack> {
    let found = check(path, Raw::Following(file), Depth::Authenticated, |raw| {
        let decryptor = age::Decryptor::new(io::BufReader::new(raw))
            .map_err(|e| failed(format!("archive {} unreadable: {e}", path.display())))?;
        let reader = decryptor
            .decrypt(std::iter::once(key as &dyn age::Identity))
            .map_err(|e| failed(format!("archive {} unreadable: {e}", path.display())))?;
        Ok(Box::new(reader) as Box<dyn Read>)
    })?;
    Ok(ReadBack {
        manifest: found.manifest,
        manifest_json: found.manifest_json,
        bytes: found.bytes,
    })
}

/// The raw bytes of an archive: a finished file (with whom to tell the bytes
/// read), or one being written.
enum Raw {
    Finished(File, Option<BytesRead>),
    Following(Following),
}

impl Raw {
    /// A handle for reading the bytes after the age stream, if any.
    fn handle(&self) -> io::Result<File> {
        match self {
            Raw::Finished(file, _) => file.try_clone(),
            Raw::Following(following) => following.try_clone_file(),
        }
    }
}

impl Read for Raw {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Raw::Finished(file, bytes_read) => {
                let n = file.read(buf)?;
                if let Some(tell) = bytes_read {
                    tell(n as u64);
                }
                Ok(n)
            }
            Raw::Following(following) => following.read(buf),
        }
    }
}

fn open(path: &Path, bytes_read: Option<BytesRead>) -> anyhow::Result<Raw> {
    if path.is_dir() {
        anyhow::bail!(
            "cannot open archive {}: it is a directory; give the path of the archive file (see `derbes archive list`)",
            path.display()
        );
    }
    let file = File::open(path).map_err(|e| {
        anyhow::anyhow!(
            "cannot open archive {}: {e}; check the path",
            path.display()
        )
    })?;
    Ok(Raw::Finished(file, bytes_read))
}

type Decrypt<'a> = dyn FnOnce(HashingReader<Raw>) -> anyhow::Result<Box<dyn Read + 'a>> + 'a;

fn check<'a>(
    path: &Path,
    raw: Raw,
    depth: Depth,
    decrypt: impl FnOnce(HashingReader<Raw>) -> anyhow::Result<Box<dyn Read + 'a>> + 'a,
) -> anyhow::Result<Found> {
    let decrypt: Box<Decrypt<'a>> = Box::new(decrypt);
    let hashing = matches!(depth, Depth::Full { .. });
    let count_rows = matches!(depth, Depth::Full { count_rows: true });
    let handle = raw.handle()?;
    let digest = Rc::new(RefCell::new(FileDigest {
        hasher: hashing.then(Sha256::new),
        bytes: 0,
    }));
    let plain = decrypt(HashingReader {
        inner: raw,
        digest: digest.clone(),
    })?;

    let mut archive = tar::Archive::new(plain);
    // name -> (bytes, sha256 at Depth::Full, rows)
    let mut seen: BTreeMap<String, (u64, Option<String>, Option<u64>)> = BTreeMap::new();
    let mut manifest: Option<(Manifest, Vec<u8>)> = None;
    {
        let entries = archive
            .entries()
            .map_err(|e| damaged(path, "reading the tar", &e))?;
        for entry in entries {
            let mut entry = entry.map_err(|e| damaged(path, "reading a tar header", &e))?;
            let name = entry
                .path()
                .map_err(|e| damaged(path, "a member name", &e))?
                .to_string_lossy()
                .into_owned();
            if manifest.is_some() {
                return Err(failed(format!(
                    "archive {}: member {name} comes after manifest.json; the archive was altered",
                    path.display()
                )));
            }
            if name == MANIFEST_NAME {
                let mut text = Vec::new();
                entry
                    .read_to_end(&mut text)
                    .map_err(|e| damaged(path, "reading manifest.json", &e))?;
                let parsed: Manifest = serde_json::from_slice(&text).map_err(|e| {
                    failed(format!(
                        "archive {}: manifest.json is not a derbes manifest ({e})",
                        path.display()
                    ))
                })?;
                if parsed.format != FORMAT || parsed.version != VERSION {
                    return Err(failed(format!(
                        "archive {}: manifest format {} version {} is not one this derbes reads",
                        path.display(),
                        parsed.format,
                        parsed.version
                    )));
                }
                manifest = Some((parsed, text));
                continue;
            }
            if seen.contains_key(&name) {
                return Err(failed(format!(
                    "archive {}: member {name} appears twice; the archive was altered",
                    path.display()
                )));
            }
            let mut hasher = hashing.then(Sha256::new);
            let mut tee = Tee {
                inner: &mut entry,
                hasher: hasher.as_mut(),
                bytes: 0,
            };
            let rows = if count_rows {
                let mut csv = csv::ReaderBuilder::new()
                    .has_headers(true)
                    .flexible(true)
                    .from_reader(&mut tee);
                let mut record = csv::ByteRecord::new();
                let mut rows = 0u64;
                loop {
                    match csv.read_byte_record(&mut record) {
                        Ok(true) => rows += 1,
                        Ok(false) => break,
                        Err(e) => {
                            return Err(match e.into_kind() {
                                csv::ErrorKind::Io(io) => damaged(path, &name, &io),
                                _ => failed(format!(
                                    "archive {}: member {name} is not valid CSV",
                                    path.display()
                                )),
                            })
                        }
                    }
                }
                Some(rows)
            } else {
                None
            };
            // Read (and so decrypt and authenticate) the rest of the member.
            io::copy(&mut tee, &mut io::sink()).map_err(|e| damaged(path, &name, &e))?;
            let bytes = tee.bytes;
            seen.insert(
                name,
                (bytes, hasher.map(|h| hex::encode(h.finalize())), rows),
            );
        }
    }
    // Read to the end of the age stream so a cut after the tar's end is noticed too.
    let mut plain = archive.into_inner();
    io::copy(&mut plain, &mut io::sink()).map_err(|e| damaged(path, "the end of the file", &e))?;
    drop(plain);

    let (manifest, manifest_json) = manifest.ok_or_else(|| {
        failed(format!(
            "archive {} has no manifest.json: it is truncated or not a derbes archive",
            path.display()
        ))
    })?;
    for (table, member) in manifest.members() {
        let Some((bytes, sha256, rows)) = seen.remove(&member.name) else {
            return Err(failed(format!(
                "archive {}: member {} of table {} is missing",
                path.display(),
                member.name,
                table.table
            )));
        };
        let digest_differs = sha256.is_some_and(|sha256| sha256 != member.sha256);
        if bytes != member.bytes || digest_differs {
            return Err(failed(format!(
                "archive {}: member {} does not match its SHA-256 in the manifest; the archive was altered",
                path.display(),
                member.name
            )));
        }
        if let Some(rows) = rows {
            if rows != member.rows {
                return Err(failed(format!(
                    "archive {}: member {} holds {rows} rows, the manifest says {}",
                    path.display(),
                    member.name,
                    member.rows
                )));
            }
        }
    }
    if let Some(extra) = seen.keys().next() {
        return Err(failed(format!(
            "archive {}: member {extra} is not in the manifest; the archive was altered",
            path.display()
        )));
    }

    // Bytes after the end of the age stream are counted (and at Depth::Full hashed)
    // too, so the length and the digest cover the file.
    let (mut hasher, mut bytes) = {
        let digest = digest.borrow();
        (digest.hasher.clone(), digest.bytes)
    };
    // (A file being followed is complete here: its last age chunk was read.)
    let file_len = handle.metadata()?.len();
    let mut buffer = vec![0u8; 64 * 1024];
    while bytes < file_len {
        let n = handle.read_at(&mut buffer, bytes)?;
        if n == 0 {
            break;
        }
        if let Some(hasher) = hasher.as_mut() {
            hasher.update(&buffer[..n]);
        }
        bytes += n as u64;
    }
    Ok(Found {
        manifest,
        manifest_json,
        sha256: hasher.map(|h| hex::encode(h.finalize())),
        bytes,
    })
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::FileExt;
    use std::path::PathBuf;

    use sha2::{Digest, Sha256};

    use super::*;
    use crate::files::crypto::Recipients;
    use crate::files::secure_file::SecureFile;
    use crate::files::tar_writer::{Member, TarWriter, Written};

    /// A CSV member of several age chunks (64 KiB each) and its manifest.
    fn members() -> (Member, Vec<u8>) {
        let mut csv = b"id,note\n".to_vec();
        for i in 0..20_000 {
            csv.extend_from_slice(format!("{i},row number {i}\n").as_bytes());
        }
        let manifest = serde_json::json!({
            "format": FORMAT, "version": VERSION, "created_at": "2026-01-01T00:00:00Z",
            "operator": "test", "ticket": null, "map_digest": "-",
            "tables": [{"table": "public.t", "columns": [{"name": "id", "type": "bigint"},
                {"name": "note", "type": "text"}], "rows": 20_000, "members": [{
                "name": "public.t.csv", "rows": 20_000, "bytes": csv.len(),
                "sha256": hex::encode(Sha256::digest(&csv))}]}],
            "archive_id": "test", "keep_until": "2027-01-01T00:00:00Z", "database": "test",
            "selection": {"kind": "table", "table": "public.t"}, "empty": false
        });
        let member = Member {
            name: "public.t.csv".to_owned(),
            data: csv,
        };
        (member, serde_json::to_vec_pretty(&manifest).unwrap())
    }

    /// Write an archive as a dump does (encrypted to `recipients`, or a plain tar),
    /// with a read-back following it from the start.
    async fn write(
        dir: &Path,
        recipients: Option<&Recipients>,
    ) -> (PathBuf, Following, Written, Vec<u8>) {
        let out = dir.join("archive.age");
        let file = SecureFile::create(&out, false).unwrap();
        let mut writer = TarWriter::start(file, recipients, 0).unwrap();
        let following = writer.follow().unwrap();
        let (member, manifest_json) = members();
        writer.send(member).await.unwrap();
        writer
            .send(Member {
                name: MANIFEST_NAME.to_owned(),
                data: manifest_json.clone(),
            })
            .await
            .unwrap();
        let written = writer.finish().await.unwrap();
        (out, following, written, manifest_json)
    }

    /// Change one byte of the file in place (the read-back's handle sees it).
    fn flip(path: &Path, at: u64) {
        let file = std::fs::OpenOptions::new().write(true).open(path).unwrap();
        let mut byte = [0u8];
        File::open(path)
            .unwrap()
            .read_exact_at(&mut byte, at)
            .unwrap();
        file.write_all_at(&[byte[0] ^ 0x01], at).unwrap();
    }

    fn is_verification_failure(error: &anyhow::Error) -> bool {
        matches!(
            error.downcast_ref::<DerbesError>(),
            Some(DerbesError::VerificationFailed(_))
        )
    }

    fn read_back_key() -> (age::x25519::Identity, Recipients) {
        let key = age::x25519::Identity::generate();
        let mut recipients = Recipients::new();
        recipients.add(&key.to_public().to_string(), 1).unwrap();
        (key, recipients)
    }

    #[tokio::test]
    async fn the_read_back_passes_an_intact_archive_with_its_manifest_and_length() {
        let dir = tempfile::tempdir().unwrap();
        let (key, recipients) = read_back_key();
        let (out, following, written, manifest_json) = write(dir.path(), Some(&recipients)).await;
        let read_back = check_following(&out, following, &key).unwrap();
        assert_eq!(read_back.manifest_json, manifest_json);
        assert_eq!(read_back.bytes, written.bytes);
    }

    /// The read-back no longer hashes members or the file: age's tags must catch a
    /// byte the disk changed anywhere in the payload.
    #[tokio::test]
    async fn a_tampered_ciphertext_chunk_is_caught_at_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let (key, recipients) = read_back_key();
        let (out, following, written, _) = write(dir.path(), Some(&recipients)).await;
        flip(&out, written.bytes / 2);
        let error = check_following(&out, following, &key).unwrap_err();
        assert!(is_verification_failure(&error), "{error:#}");
        assert!(format!("{error:#}").contains("damaged"), "{error:#}");
    }

    /// The header (recipient stanzas, nonce) is covered by its MAC and the payload
    /// key, so a change there is caught too; a byte appended after the age stream
    /// makes the file longer than what was written, which `write_verified` refuses.
    #[tokio::test]
    async fn a_tampered_header_or_an_extended_file_is_caught_at_read_back() {
        for tamper in ["stanza", "nonce", "append"] {
            let dir = tempfile::tempdir().unwrap();
            let (key, recipients) = read_back_key();
            let (out, following, written, _) = write(dir.path(), Some(&recipients)).await;
            let bytes = std::fs::read(&out).unwrap();
            let end_of_header = bytes.windows(4).position(|w| w == b"--- ").unwrap() as u64;
            match tamper {
                "stanza" => flip(&out, end_of_header - 3),
                // The 16-byte nonce after the MAC line.
                "nonce" => {
                    let mac_line_end = bytes[end_of_header as usize..]
                        .iter()
                        .position(|b| *b == b'\n')
                        .unwrap() as u64;
                    flip(&out, end_of_header + mac_line_end + 4)
                }
                _ => std::fs::OpenOptions::new()
                    .append(true)
                    .open(&out)
                    .unwrap()
                    .write_all_at(b"x", bytes.len() as u64)
                    .unwrap(),
            }
            match check_following(&out, following, &key) {
                Err(error) => assert!(is_verification_failure(&error), "{tamper}: {error:#}"),
                Ok(read_back) => {
                    assert_eq!(tamper, "append", "{tamper} was not caught");
                    assert_eq!(read_back.bytes, written.bytes + 1);
                }
            }
        }
    }

    /// A member written twice under one name (each copy intact) was once taken as
    /// the last copy; now any read refuses it.
    #[tokio::test]
    async fn a_member_written_twice_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("archive.tar");
        let mut writer =
            TarWriter::start(SecureFile::create(&out, false).unwrap(), None, 0).unwrap();
        let (member, manifest_json) = members();
        writer
            .send(Member {
                name: member.name.clone(),
                data: member.data.clone(),
            })
            .await
            .unwrap();
        writer.send(member).await.unwrap();
        writer
            .send(Member {
                name: MANIFEST_NAME.to_owned(),
                data: manifest_json,
            })
            .await
            .unwrap();
        writer.finish().await.unwrap();
        let plain = |raw: HashingReader<Raw>| Ok(Box::new(raw) as Box<dyn Read>);
        for depth in [Depth::Full { count_rows: false }, Depth::Authenticated] {
            let error = check(&out, open(&out, None).unwrap(), depth, plain)
                .err()
                .expect("a duplicate member is refused");
            assert!(format!("{error:#}").contains("appears twice"), "{error:#}");
        }
    }

    /// Without age there are no tags: a plain tar is checked by its hashes
    /// (`Depth::Full`), which catch a changed byte that a structural check alone
    /// (`Depth::Authenticated`) would let through.
    #[tokio::test]
    async fn a_tampered_plaintext_archive_is_caught_by_its_member_hashes() {
        let dir = tempfile::tempdir().unwrap();
        let (out, _following, _, _) = write(dir.path(), None).await;
        // The member's data starts after its 512-byte tar header.
        flip(&out, 512 + 1000);
        let plain = |raw: HashingReader<Raw>| Ok(Box::new(raw) as Box<dyn Read>);
        let full = check(
            &out,
            open(&out, None).unwrap(),
            Depth::Full { count_rows: true },
            plain,
        );
        let error = full.err().expect("the changed byte is caught");
        assert!(is_verification_failure(&error), "{error:#}");
        assert!(format!("{error:#}").contains("SHA-256"), "{error:#}");
        let structural = check(&out, open(&out, None).unwrap(), Depth::Authenticated, plain);
        assert!(
            structural.is_ok(),
            "only age's tags make Depth::Authenticated enough"
        );
    }
}
