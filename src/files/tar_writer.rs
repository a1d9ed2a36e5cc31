//! The one writer of tar files derbes makes: subject-access bundles and archives.
//!
//! Every table goes in as CSV cut at row boundaries into parts of at most
//! [`PART_BYTES`] ([`Parts`]), each part a tar member with its own header line; the
//! tar is encrypted with age as it is written (in clear only for `export
//! --plaintext`), hashed, fsynced and renamed into place by [`TarWriter::finish`].
//!
//! Why parts: a tar header needs the member's size before its data, and a query's
//! size is known only at its end. Holding a whole table in memory is out of the
//! question, and spooling it to disk would put personal data there (or cost a second
//! encryption and decryption pass to spool it encrypted, as exports once did).
//! Parts keep memory at a few parts' worth, touch no disk but the output, and every
//! member stays a CSV a spreadsheet opens. Measured on the same rows, parts ran at
//! the speed of a bare `COPY TO` for archives and faster than the encrypted spools
//! for exports (see `scripts/bench-archive.sh`, `scripts/bench-export.sh`).
//!
//! The database side (async) fills parts and hashes them; a writer thread tars,
//! encrypts, hashes and writes them, so the two overlap like a shell pipeline, and
//! hands each written part's buffer back for a later part ([`Spares`]). These are
//! the only two SHA-256 passes of a dump: an archive's read-back relies on age's
//! authentication instead of hashing again (see `ops::archive::read`). The
//! writer publishes how far the file has grown in a [`WrittenSoFar`], which an
//! archive's read-back follows through a [`Following`] reader, so checking the
//! file overlaps the dump.

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex};

use sha2::{Digest, Sha256};
use tokio::sync::mpsc;

use super::crypto::{self, Recipients};
use super::manifest::MemberEntry;
use super::secure_file::SecureFile;

/// Default largest part of a table's CSV held in memory (a single larger row makes
/// a larger part).
pub const PART_BYTES: usize = 8 << 20;

/// Parts queued between the database side and the writer thread.
const QUEUE_DEPTH: usize = 1;

/// Buffers of written parts kept for the next parts ([`Spares`]).
const SPARES: usize = 4;

/// Buffers the writer thread has written out, handed back to the database side
/// for the next parts: a fresh 8 MiB buffer costs a page fault and a zeroed page
/// per 4 KiB the first time it is filled, and the kernel's unmapping when it is
/// freed, which reuse saves. At most [`SPARES`] are kept, so memory stays within
/// the parts in flight.
#[derive(Clone, Default)]
pub struct Spares(Arc<Mutex<Vec<Vec<u8>>>>);

impl Spares {
    fn give(&self, mut buffer: Vec<u8>) {
        // One huge row made this one huge: let it go.
        if buffer.capacity() > 2 * PART_BYTES {
            return;
        }
        buffer.clear();
        let mut spares = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if spares.len() < SPARES {
            spares.push(buffer);
        }
    }

    /// A buffer of at least `capacity` bytes, empty.
    fn take(&self, capacity: usize) -> Vec<u8> {
        let spare = self.0.lock().unwrap_or_else(|p| p.into_inner()).pop();
        match spare {
            Some(mut buffer) => {
                buffer.reserve(capacity);
                buffer
            }
            None => Vec::with_capacity(capacity),
        }
    }
}

/// One tar member on its way to the writer thread.
pub struct Member {
    pub name: String,
    pub data: Vec<u8>,
}

enum Message {
    Member(Member),
    /// Everything was sent: close the tar and the age stream and rename the file.
    Finish,
}

/// The file as written: where, its size and the SHA-256 of its bytes.
#[derive(Debug, Clone)]
pub struct Written {
    pub path: PathBuf,
    pub bytes: u64,
    pub sha256: String,
}

/// How far the archive file has grown, shared by the writer thread and the
/// read-back that follows it.
#[derive(Default)]
pub struct WrittenSoFar {
    state: Mutex<Watched>,
    changed: Condvar,
}

/// The growth, and what a waiting reader waits for: the writer wakes it only once
/// that is reached (not at every 64 KiB the age stream writes).
#[derive(Default)]
struct Watched {
    growth: Growth,
    /// Bytes a waiting reader needs; `None` when no one waits.
    wanted: Option<u64>,
}

/// What the read-back may rely on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Growth {
    /// Bytes handed to the file with `write` (not necessarily on disk yet).
    pub written: u64,
    pub end: End,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum End {
    /// Still being written.
    #[default]
    Open,
    /// Complete, fsynced and renamed into place: `written` is the file's length.
    Committed,
    /// The dump failed; the file is (being) removed.
    Abandoned,
}

impl WrittenSoFar {
    fn update(&self, change: impl FnOnce(&mut Growth)) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        change(&mut state.growth);
        let reached = match state.wanted {
            Some(wanted) => state.growth.end != End::Open || state.growth.written >= wanted,
            None => false,
        };
        if reached {
            state.wanted = None;
            self.changed.notify_all();
        }
    }

    /// Wait until at least `wanted` bytes were written or the file was closed either
    /// way, and say how things stand.
    pub fn wait_for(&self, wanted: u64) -> Growth {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        while state.growth.end == End::Open && state.growth.written < wanted {
            state.wanted = Some(state.wanted.map_or(wanted, |w| w.min(wanted)));
            state = self.changed.wait(state).unwrap_or_else(|p| p.into_inner());
        }
        state.growth
    }
}

/// Append one member to the tar: a ustar header (mode 0600, `mtime`), the data,
/// zeroes to the next 512-byte block.
///
/// `tar::Builder::append_data` writes exactly these bytes, but copies the data
/// through an 8 KiB buffer on the way (its writer and reader are trait objects, so
/// `io::copy` cannot hand the slice over whole): an extra copy of every byte and a
/// thousand small writes into age per part. So a member whose name fits the header
/// is written here with the header the builder would make, in one write; a longer
/// name (a GNU long-name entry first) still goes through the builder.
fn append_member<W: Write>(
    tar: &mut tar::Builder<W>,
    member: &Member,
    mtime: u64,
) -> io::Result<()> {
    let mut header = tar::Header::new_ustar();
    header.set_size(member.data.len() as u64);
    header.set_mode(0o600);
    header.set_mtime(mtime);
    header.set_entry_type(tar::EntryType::Regular);
    if header.set_path(&member.name).is_err() {
        return tar.append_data(&mut header, &member.name, member.data.as_slice());
    }
    header.set_cksum();
    let out = tar.get_mut();
    out.write_all(header.as_bytes())?;
    out.write_all(&member.data)?;
    let padding = (512 - member.data.len() % 512) % 512;
    out.write_all(&[0u8; 512][..padding])
}

/// Marks the file abandoned unless the writer thread got as far as committing it.
struct AbandonUnlessCommitted(Arc<WrittenSoFar>);

impl Drop for AbandonUnlessCommitted {
    fn drop(&mut self) {
        self.0.update(|g| {
            if g.end == End::Open {
                g.end = End::Abandoned;
            }
        });
    }
}

/// Counts the bytes written to the file and hashes them, for the register digest.
struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
    bytes: u64,
    progress: Arc<WrittenSoFar>,
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        let bytes = self.bytes;
        self.progress.update(|g| g.written = bytes);
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// The writer thread's end: send members, then [`TarWriter::finish`].
pub struct TarWriter {
    /// None once finished or given up.
    sender: Option<mpsc::Sender<Message>>,
    thread: Option<std::thread::JoinHandle<anyhow::Result<Written>>>,
    /// A second handle on the file being written, for the read-back.
    read_handle: File,
    progress: Arc<WrittenSoFar>,
    spares: Spares,
}

impl TarWriter {
    /// Start writing the tar to `file`, encrypted to `recipients` (in clear only
    /// when there are none: `export --plaintext`). Dropping the writer without
    /// `finish` (an error, a lost connection) removes the partial file.
    pub fn start(
        file: SecureFile,
        recipients: Option<&Recipients>,
        mtime: u64,
    ) -> anyhow::Result<TarWriter> {
        let dest = file.dest().to_owned();
        let read_handle = file.file().try_clone()?;
        let progress = Arc::new(WrittenSoFar::default());
        let hashing = HashingWriter {
            inner: file,
            hasher: Sha256::new(),
            bytes: 0,
            progress: progress.clone(),
        };
        let closed = AbandonUnlessCommitted(progress.clone());
        let encrypted = match recipients {
            Some(recipients) => Sink::Age(crypto::encrypt(hashing, recipients)?),
            None => Sink::Plain(io::BufWriter::with_capacity(256 * 1024, hashing)),
        };
        let (sender, mut receiver) = mpsc::channel::<Message>(QUEUE_DEPTH);
        let spares = Spares::default();
        let written_out = spares.clone();
        let thread = std::thread::Builder::new()
            .name("tar-writer".to_owned())
            .spawn(move || -> anyhow::Result<Written> {
                let closed = closed;
                let write_failed = |e: io::Error| {
                    anyhow::anyhow!(
                        "writing {} failed: {e}; the partial file was removed. Check free space and permissions, then run again",
                        dest.display()
                    )
                };
                let mut tar = tar::Builder::new(encrypted);
                while let Some(message) = receiver.blocking_recv() {
                    match message {
                        Message::Member(member) => {
                            append_member(&mut tar, &member, mtime).map_err(write_failed)?;
                            written_out.give(member.data);
                        }
                        Message::Finish => {
                            let encrypted = tar.into_inner().map_err(write_failed)?;
                            let hashing = encrypted.finish().map_err(write_failed)?;
                            let sha256 = hex::encode(hashing.hasher.finalize());
                            let path = hashing.inner.commit()?;
                            closed.0.update(|g| g.end = End::Committed);
                            return Ok(Written {
                                path,
                                bytes: hashing.bytes,
                                sha256,
                            });
                        }
                    }
                }
                // The sender went away without Finish: the dump failed; dropping the
                // tar drops the SecureFile, which removes the temporary file.
                anyhow::bail!("the file was abandoned before it was complete")
            })?;
        Ok(TarWriter {
            sender: Some(sender),
            thread: Some(thread),
            read_handle,
            progress,
            spares,
        })
    }

    /// A reader of the file as it is written and fsynced, for the read-back.
    pub fn follow(&self) -> io::Result<Following> {
        Ok(Following::new(
            self.read_handle.try_clone()?,
            self.progress.clone(),
        ))
    }

    /// A handle that queues members from another job of a parallel dump. The
    /// writer finishes only once every such handle is dropped.
    pub fn sender(&self) -> Option<MemberSender> {
        self.sender
            .clone()
            .map(|sender| MemberSender(sender, self.spares.clone()))
    }

    /// Queue one member; fails with the writer's own error if it stopped.
    pub async fn send(&mut self, member: Member) -> anyhow::Result<()> {
        let sent = match &self.sender {
            Some(sender) => sender.send(Message::Member(member)).await.is_ok(),
            None => false,
        };
        if !sent {
            return Err(self.join_error());
        }
        Ok(())
    }

    /// The writer's own error, once a send found it gone (it already dropped its end).
    fn join_error(&mut self) -> anyhow::Error {
        match self.thread.take().map(|t| t.join()) {
            Some(Ok(Err(e))) => e,
            Some(Ok(Ok(_))) | None => anyhow::anyhow!("the tar writer stopped early"),
            Some(Err(_)) => anyhow::anyhow!("the tar writer panicked"),
        }
    }

    /// Close the tar and the age stream, fsync and rename the file.
    pub async fn finish(mut self) -> anyhow::Result<Written> {
        let sent = match self.sender.take() {
            Some(sender) => sender.send(Message::Finish).await.is_ok(),
            None => false,
        };
        if !sent {
            return Err(self.join_error());
        }
        let Some(thread) = self.thread.take() else {
            anyhow::bail!("the tar writer stopped early");
        };
        tokio::task::spawn_blocking(move || thread.join())
            .await?
            .map_err(|_| anyhow::anyhow!("the tar writer panicked"))?
    }

    /// Give up: the thread sees the channel close and removes the partial file.
    pub fn abandon(self) {
        drop(self);
    }
}

impl Drop for TarWriter {
    /// A writer dropped without `finish` (an error on the way) closes the channel
    /// and waits for the thread to remove the partial file, so no process exit
    /// can outrun the clean-up.
    fn drop(&mut self) {
        self.sender.take();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Where a table's parts go: the [`TarWriter`] itself, or a [`MemberSender`] of
/// it held by one job of a parallel dump.
pub trait MemberSink {
    fn send_member(
        &mut self,
        member: Member,
    ) -> impl std::future::Future<Output = anyhow::Result<()>>;

    /// An empty buffer for the next part, reusing one already written out when
    /// there is one.
    fn part_buffer(&self, capacity: usize) -> Vec<u8>;
}

impl MemberSink for TarWriter {
    fn send_member(
        &mut self,
        member: Member,
    ) -> impl std::future::Future<Output = anyhow::Result<()>> {
        self.send(member)
    }

    fn part_buffer(&self, capacity: usize) -> Vec<u8> {
        self.spares.take(capacity)
    }
}

/// A second way into a [`TarWriter`]'s queue, for the jobs of a parallel dump:
/// their members interleave in the file, each whole.
#[derive(Clone)]
pub struct MemberSender(mpsc::Sender<Message>, Spares);

impl MemberSink for MemberSender {
    async fn send_member(&mut self, member: Member) -> anyhow::Result<()> {
        self.0
            .send(Message::Member(member))
            .await
            .map_err(|_| anyhow::anyhow!("the tar writer stopped early; see the dump's error"))
    }

    fn part_buffer(&self, capacity: usize) -> Vec<u8> {
        self.1.take(capacity)
    }
}

/// Where the tar goes: through age, or (export --plaintext) straight to the file.
enum Sink {
    Age(age::stream::StreamWriter<HashingWriter<SecureFile>>),
    Plain(io::BufWriter<HashingWriter<SecureFile>>),
}

impl Sink {
    fn finish(self) -> io::Result<HashingWriter<SecureFile>> {
        match self {
            Sink::Age(writer) => writer.finish(),
            Sink::Plain(writer) => writer.into_inner().map_err(|e| e.into_error()),
        }
    }
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Sink::Age(w) => w.write(buf),
            Sink::Plain(w) => w.write(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Sink::Age(w) => w.flush(),
            Sink::Plain(w) => w.flush(),
        }
    }
}

/// One table's CSV on its way into the tar, cut into parts of at most `part_bytes`
/// at row boundaries (a single larger row makes a larger part). Each part repeats
/// the header line. A table that fits one part is the member `<base>.csv`; a
/// longer one is `<base>.0001.csv`, `<base>.0002.csv`, ...
pub struct Parts {
    base: String,
    part_bytes: usize,
    header: Vec<u8>,
    /// The part being filled; holds only the header line until the first row,
    /// when it moves into a buffer of the part's full size (a spare one if the
    /// writer has one).
    part: Vec<u8>,
    sized: bool,
    part_rows: u64,
    rows: u64,
    members: Vec<MemberEntry>,
}

impl Parts {
    /// Start a table whose CSV header line (with its line end) is `header`.
    pub fn new(base: impl Into<String>, header: Vec<u8>, part_bytes: usize) -> Parts {
        Parts {
            base: base.into(),
            part_bytes: part_bytes.max(1),
            part: header.clone(),
            header,
            sized: false,
            part_rows: 0,
            rows: 0,
            members: Vec::new(),
        }
    }

    /// Add one CSV row (with its line end); sends a full part first when the row
    /// would not fit. Returns the bytes and rows sent, for progress.
    pub async fn push(
        &mut self,
        row: &[u8],
        writer: &mut impl MemberSink,
    ) -> anyhow::Result<(u64, u64)> {
        let mut sent = (0, 0);
        if self.part_rows > 0 && self.part.len() + row.len() > self.part_bytes {
            let name = format!("{}.{:04}.csv", self.base, self.members.len() + 1);
            sent = self.send(name, writer).await?;
        }
        if !self.sized {
            let mut buffer = writer.part_buffer(self.capacity());
            buffer.extend_from_slice(&self.part);
            self.part = buffer;
            self.sized = true;
        }
        self.part.extend_from_slice(row);
        self.part_rows += 1;
        self.rows += 1;
        Ok(sent)
    }

    /// Bytes a full part's buffer holds: the largest part and its header line.
    fn capacity(&self) -> usize {
        self.part_bytes.min(PART_BYTES) + self.header.len()
    }

    /// Send the last part; returns the table's members in order and its row count.
    pub async fn finish(
        mut self,
        writer: &mut impl MemberSink,
    ) -> anyhow::Result<(Vec<MemberEntry>, u64, (u64, u64))> {
        let name = if self.members.is_empty() {
            format!("{}.csv", self.base)
        } else {
            format!("{}.{:04}.csv", self.base, self.members.len() + 1)
        };
        let sent = self.send(name, writer).await?;
        Ok((self.members, self.rows, sent))
    }

    async fn send(
        &mut self,
        name: String,
        writer: &mut impl MemberSink,
    ) -> anyhow::Result<(u64, u64)> {
        // The next part gets its buffer with its first row.
        let data = std::mem::replace(&mut self.part, self.header.clone());
        self.sized = false;
        let rows = std::mem::take(&mut self.part_rows);
        let bytes = data.len() as u64;
        self.members.push(member_entry(name.clone(), &data, rows));
        writer.send_member(Member { name, data }).await?;
        Ok((bytes, rows))
    }
}

/// The manifest entry of a member: its size and the SHA-256 of its bytes.
pub fn member_entry(name: String, data: &[u8], rows: u64) -> MemberEntry {
    MemberEntry {
        name,
        rows,
        bytes: data.len() as u64,
        sha256: hex::encode(Sha256::digest(data)),
    }
}

/// Bytes fsynced between two waits of the read-back: large enough that syncing
/// costs little, small enough that the read-back keeps up with the dump.
const SYNC_STEP: u64 = 16 << 20;

/// Reads an archive file while the writer thread is still writing it: waits for
/// the writer to get ahead, fsyncs what it wrote, then reads it back (positioned
/// reads on its own handle). Ends when the writer has committed the file; fails if
/// the writer abandoned it.
pub struct Following {
    file: File,
    progress: Arc<WrittenSoFar>,
    /// Next byte to read.
    position: u64,
    /// Bytes known to be on disk.
    synced: u64,
}

impl Following {
    pub fn new(file: File, progress: Arc<WrittenSoFar>) -> Following {
        Following {
            file,
            progress,
            position: 0,
            synced: 0,
        }
    }

    /// Another handle on the file being followed.
    pub fn try_clone_file(&self) -> io::Result<File> {
        self.file.try_clone()
    }
}

impl Read for Following {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        while self.position == self.synced {
            let growth = self.progress.wait_for(self.synced + SYNC_STEP);
            match growth.end {
                End::Abandoned => {
                    return Err(io::Error::other(
                        "the archive was abandoned while it was being read back",
                    ))
                }
                // The commit fsynced the whole file.
                End::Committed if growth.written == self.synced => return Ok(0),
                End::Committed => {}
                End::Open => self.file.sync_data()?,
            }
            self.synced = growth.written;
        }
        let wanted = buf.len().min((self.synced - self.position) as usize);
        let n = self.file.read_at(&mut buf[..wanted], self.position)?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the archive file is shorter than what was written to it",
            ));
        }
        self.position += n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The builder's bytes, for comparison.
    fn built(members: &[Member], mtime: u64) -> Vec<u8> {
        let mut tar = tar::Builder::new(Vec::new());
        for member in members {
            let mut header = tar::Header::new_ustar();
            header.set_size(member.data.len() as u64);
            header.set_mode(0o600);
            header.set_mtime(mtime);
            header.set_entry_type(tar::EntryType::Regular);
            tar.append_data(&mut header, &member.name, member.data.as_slice())
                .unwrap();
        }
        tar.into_inner().unwrap()
    }

    /// Members written without the builder's copy are the very bytes it writes,
    /// for short and long names and for sizes on and off a block boundary.
    #[test]
    fn members_are_written_as_the_tar_builder_writes_them() {
        let long = format!("{}.{}.0001.csv", "s".repeat(63), "t".repeat(63));
        let members: Vec<Member> = [
            ("public.t.csv", 0usize),
            ("public.t.0001.csv", 1),
            ("public.t.0002.csv", 512),
            ("public.t.0003.csv", 70_000),
            (long.as_str(), 513),
            ("manifest.json", 100),
        ]
        .iter()
        .map(|(name, size)| Member {
            name: (*name).to_owned(),
            data: (0..*size).map(|i| (i % 251) as u8).collect(),
        })
        .collect();
        let mut tar = tar::Builder::new(Vec::new());
        for member in &members {
            append_member(&mut tar, member, 1_700_000_000).unwrap();
        }
        assert_eq!(tar.into_inner().unwrap(), built(&members, 1_700_000_000));
    }
}
