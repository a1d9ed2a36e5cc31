//! Writing an archive: `COPY (SELECT ...) TO STDOUT (FORMAT csv, HEADER)` per table,
//! cut at row boundaries into parts of at most [`PART_BYTES`], each part a tar
//! member (a CSV with its own header line), the tar encrypted with age as it is
//! written.
//!
//! Why parts: a tar header needs the member's size before its data, and a COPY's
//! size is known only at its end. Holding a whole table in memory is out of the
//! question, and spooling it to disk would put personal data there (or cost a second
//! encryption and decryption pass to spool it encrypted). Parts keep memory at a few
//! parts' worth, touch no disk but the archive, and every member stays a CSV a
//! spreadsheet opens. The server sends one COPY data message per row, so a part
//! always ends at a row boundary.
//!
//! The database side (async) fills parts and hashes them; a writer thread tars,
//! encrypts, hashes and writes them, so the two overlap like a shell pipeline. The
//! writer publishes how far the file has grown in a [`WrittenSoFar`], which the
//! read-back (see `read::Following`) follows, so checking the file overlaps the dump.

use std::fs::File;
use std::io::{self, Write};
use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex};

use bytes::Bytes;
use futures_util::{pin_mut, StreamExt};
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;
use tokio_postgres::Transaction;

use super::manifest::{MemberEntry, TableEntry};
use super::select::PlannedTable;
use crate::files::crypto::{self, Recipients};
use crate::files::secure_file::SecureFile;

/// Default largest part of a table's CSV held in memory (a single larger row makes
/// a larger part).
pub const PART_BYTES: usize = 8 << 20;

/// Parts queued between the database side and the writer thread.
const QUEUE_DEPTH: usize = 1;

/// One tar member on its way to the writer thread.
pub(crate) struct Member {
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
pub(crate) struct Written {
    pub path: PathBuf,
    pub bytes: u64,
    pub sha256: String,
}

/// How far the archive file has grown, shared by the writer thread and the
/// read-back that follows it.
#[derive(Default)]
pub(crate) struct WrittenSoFar {
    state: Mutex<Growth>,
    changed: Condvar,
}

/// What the read-back may rely on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Growth {
    /// Bytes handed to the file with `write` (not necessarily on disk yet).
    pub written: u64,
    pub end: End,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) enum End {
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
        change(&mut state);
        self.changed.notify_all();
    }

    /// Wait until at least `wanted` bytes were written or the file was closed either
    /// way, and say how things stand.
    pub fn wait_for(&self, wanted: u64) -> Growth {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        while state.end == End::Open && state.written < wanted {
            state = self.changed.wait(state).unwrap_or_else(|p| p.into_inner());
        }
        *state
    }
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

/// Counts the bytes written to the file and hashes them, for the catalogue digest.
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

/// The writer thread's end: send members, then [`ArchiveWriter::finish`].
pub(crate) struct ArchiveWriter {
    sender: mpsc::Sender<Message>,
    thread: Option<std::thread::JoinHandle<anyhow::Result<Written>>>,
    /// A second handle on the file being written, for the read-back.
    read_handle: File,
    progress: Arc<WrittenSoFar>,
}

impl ArchiveWriter {
    /// Start writing the encrypted tar to `file`. Dropping the writer without
    /// `finish` (an error, a lost connection) removes the partial file.
    pub fn start(
        file: SecureFile,
        recipients: Recipients,
        mtime: u64,
    ) -> anyhow::Result<ArchiveWriter> {
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
        let encrypted = crypto::encrypt(hashing, &recipients)?;
        let (sender, mut receiver) = mpsc::channel::<Message>(QUEUE_DEPTH);
        let thread = std::thread::Builder::new()
            .name("archive-writer".to_owned())
            .spawn(move || -> anyhow::Result<Written> {
                let closed = closed;
                let write_failed = |e: io::Error| {
                    anyhow::anyhow!(
                        "writing archive {} failed: {e}; the partial file was removed. Check free space and permissions, then run again",
                        dest.display()
                    )
                };
                let mut tar = tar::Builder::new(encrypted);
                while let Some(message) = receiver.blocking_recv() {
                    match message {
                        Message::Member(member) => {
                            let mut header = tar::Header::new_ustar();
                            header.set_size(member.data.len() as u64);
                            header.set_mode(0o600);
                            header.set_mtime(mtime);
                            header.set_entry_type(tar::EntryType::Regular);
                            tar.append_data(&mut header, &member.name, member.data.as_slice())
                                .map_err(write_failed)?;
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
                anyhow::bail!("the archive was abandoned before it was complete")
            })?;
        Ok(ArchiveWriter {
            sender,
            thread: Some(thread),
            read_handle,
            progress,
        })
    }

    /// A reader of the file as it is written and fsynced, for the read-back.
    pub fn follow(&self) -> io::Result<super::read::Following> {
        Ok(super::read::Following::new(
            self.read_handle.try_clone()?,
            self.progress.clone(),
        ))
    }

    /// Queue one member; fails with the writer's own error if it stopped.
    pub async fn send(&mut self, member: Member) -> anyhow::Result<()> {
        if self.sender.send(Message::Member(member)).await.is_err() {
            return Err(self.join_error());
        }
        Ok(())
    }

    /// The writer's own error, once a send found it gone (it already dropped its end).
    fn join_error(&mut self) -> anyhow::Error {
        match self.thread.take().map(|t| t.join()) {
            Some(Ok(Err(e))) => e,
            Some(Ok(Ok(_))) | None => anyhow::anyhow!("the archive writer stopped early"),
            Some(Err(_)) => anyhow::anyhow!("the archive writer panicked"),
        }
    }

    /// Close the tar and the age stream, fsync and rename the file.
    pub async fn finish(mut self) -> anyhow::Result<Written> {
        if self.sender.send(Message::Finish).await.is_err() {
            return Err(self.join_error());
        }
        let Some(thread) = self.thread.take() else {
            anyhow::bail!("the archive writer stopped early");
        };
        drop(self.sender);
        tokio::task::spawn_blocking(move || thread.join())
            .await?
            .map_err(|_| anyhow::anyhow!("the archive writer panicked"))?
    }

    /// Give up: the thread sees the channel close and removes the partial file.
    pub fn abandon(mut self) {
        let thread = self.thread.take();
        drop(self.sender);
        if let Some(thread) = thread {
            let _ = thread.join();
        }
    }
}

fn member_entry(name: String, data: &[u8], rows: u64) -> MemberEntry {
    MemberEntry {
        name,
        rows,
        bytes: data.len() as u64,
        sha256: hex::encode(Sha256::digest(data)),
    }
}

/// The header line of a CSV with these columns, as COPY writes it.
fn csv_header(table: &PlannedTable) -> Vec<u8> {
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(Vec::new());
    let _ = writer.write_record(table.columns.iter().map(|c| c.name.as_str()));
    writer.into_inner().unwrap_or_default()
}

/// Dump one table into the writer, part by part; returns its manifest entry.
pub(crate) async fn dump_table(
    tx: &Transaction<'_>,
    table: &PlannedTable,
    writer: &mut ArchiveWriter,
    part_bytes: usize,
    on_progress: &(dyn Fn(u64, u64) + Send + Sync),
) -> anyhow::Result<TableEntry> {
    let base = format!("{}.{}", table.name.schema, table.name.table);
    let sql = format!("COPY ({}) TO STDOUT (FORMAT csv, HEADER)", table.select);
    let stream = tx.copy_out(sql.as_str()).await.map_err(|e| {
        anyhow::anyhow!(
            "dumping {} failed: {}",
            table.name,
            crate::pg::db::describe(&e)
        )
    })?;
    pin_mut!(stream);

    let mut header: Option<Bytes> = None;
    let mut part: Vec<u8> = Vec::new();
    let mut part_rows = 0u64;
    let mut members = Vec::new();
    let mut rows = 0u64;
    while let Some(message) = stream.next().await {
        let row = message.map_err(|e| {
            anyhow::anyhow!(
                "dumping {} failed: {}; nothing was archived",
                table.name,
                crate::pg::db::describe(&e)
            )
        })?;
        let Some(header) = &header else {
            part.extend_from_slice(&row);
            header = Some(row);
            continue;
        };
        if part_rows > 0 && part.len() + row.len() > part_bytes {
            let name = format!("{base}.{:04}.csv", members.len() + 1);
            let data = std::mem::replace(&mut part, Vec::with_capacity(part_bytes));
            part.extend_from_slice(header);
            members.push(member_entry(name.clone(), &data, part_rows));
            on_progress(data.len() as u64, part_rows);
            writer.send(Member { name, data }).await?;
            part_rows = 0;
        }
        part.extend_from_slice(&row);
        part_rows += 1;
        rows += 1;
    }
    if header.is_none() {
        part = csv_header(table);
    }
    let name = if members.is_empty() {
        format!("{base}.csv")
    } else {
        format!("{base}.{:04}.csv", members.len() + 1)
    };
    members.push(member_entry(name.clone(), &part, part_rows));
    on_progress(part.len() as u64, part_rows);
    writer.send(Member { name, data: part }).await?;
    Ok(TableEntry {
        table: table.name.to_string(),
        columns: table.columns.clone(),
        rows,
        members,
    })
}
