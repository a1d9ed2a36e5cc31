//! Writing files that hold personal data (even encrypted): created 0600 under a
//! temporary name in the destination directory, fsynced, then renamed into place,
//! so a reader never sees a half-written file and a failed run leaves nothing.

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Why an output file could not be written.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    #[error("{path} already exists: pass --force to replace it, or choose another path")]
    Exists { path: PathBuf },
    #[error("{path} is a directory: give a file name inside it (e.g. {path}/bundle.age)")]
    IsDirectory { path: PathBuf },
    #[error(
        "{path} is not a regular file (a device, pipe, socket or symbolic link): derbes only \
         writes regular files and never replaces anything else, even with --force; choose another path"
    )]
    NotRegular { path: PathBuf },
    #[error("cannot write in {dir}: {source}. Choose a writable directory for the output")]
    Directory { dir: PathBuf, source: io::Error },
    #[error("writing {path} failed: {source} (the partial file was removed)")]
    Write { path: PathBuf, source: io::Error },
}

/// An output file being written; becomes visible at `dest` only on [`commit`].
/// Dropped without commit, the temporary file is removed.
///
/// [`commit`]: SecureFile::commit
pub struct SecureFile {
    temp: tempfile::NamedTempFile,
    dest: PathBuf,
    overwrite: bool,
}

impl SecureFile {
    /// Start writing `dest`. Refuses an existing file unless `overwrite`, and
    /// anything at `dest` that is not a regular file (a directory, a device such as
    /// `/dev/null`, a pipe, a symbolic link) even with `overwrite`.
    pub fn create(dest: &Path, overwrite: bool) -> Result<SecureFile, OutputError> {
        check_replaceable(dest, overwrite)?;
        let dir = match dest.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
            _ => PathBuf::from("."),
        };
        let name = dest
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "derbes".to_owned());
        // NamedTempFile creates files 0600 on Unix.
        let temp = tempfile::Builder::new()
            .prefix(&format!(".{name}."))
            .suffix(".partial")
            .tempfile_in(&dir)
            .map_err(|source| OutputError::Directory { dir, source })?;
        Ok(SecureFile {
            temp,
            dest: dest.to_owned(),
            overwrite,
        })
    }

    pub fn dest(&self) -> &Path {
        &self.dest
    }

    /// The open temporary file (e.g. to read it back before committing).
    pub fn file(&self) -> &File {
        self.temp.as_file()
    }

    /// Flush, fsync, rename into place, fsync the directory.
    pub fn commit(self) -> Result<PathBuf, OutputError> {
        let dest = self.dest.clone();
        let write_error = |source| OutputError::Write {
            path: dest.clone(),
            source,
        };
        let mut temp = self.temp;
        temp.flush().map_err(write_error)?;
        temp.as_file().sync_all().map_err(write_error)?;
        // Checked again: something may have appeared at `dest` while writing.
        check_replaceable(&dest, self.overwrite)?;
        temp.persist(&dest).map_err(|e| write_error(e.error))?;
        if let Some(dir) = dest.parent().filter(|p| !p.as_os_str().is_empty()) {
            if let Ok(dir) = File::open(dir) {
                let _ = dir.sync_all();
            }
        }
        Ok(dest)
    }
}

/// What sits at `dest` may be replaced: nothing, or a regular file when `overwrite`.
/// The link itself is examined, never its target.
fn check_replaceable(dest: &Path, overwrite: bool) -> Result<(), OutputError> {
    let meta = match std::fs::symlink_metadata(dest) {
        Ok(meta) => meta,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        // e.g. a path through a regular file: reported when the temporary is created.
        Err(_) => return Ok(()),
    };
    let path = dest.to_owned();
    if meta.is_dir() {
        return Err(OutputError::IsDirectory { path });
    }
    if !meta.file_type().is_file() {
        return Err(OutputError::NotRegular { path });
    }
    if !overwrite {
        return Err(OutputError::Exists { path });
    }
    Ok(())
}

impl Write for SecureFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.temp.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.temp.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn written_0600_and_renamed_on_commit() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("out.age");
        let mut file = SecureFile::create(&dest, false).unwrap();
        file.write_all(b"sealed").unwrap();
        assert!(!dest.exists(), "invisible until committed");
        file.commit().unwrap();
        assert_eq!(std::fs::read(&dest).unwrap(), b"sealed");
        let mode = std::fs::metadata(&dest).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert!(matches!(
            SecureFile::create(&dest, false),
            Err(OutputError::Exists { .. })
        ));
        assert!(SecureFile::create(&dest, true).is_ok());
    }

    #[test]
    fn dropped_without_commit_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("out.age");
        {
            let mut file = SecureFile::create(&dest, false).unwrap();
            file.write_all(b"half").unwrap();
        }
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn only_regular_files_are_replaced_even_with_overwrite() {
        let dir = tempfile::tempdir().unwrap();
        for overwrite in [false, true] {
            let err = SecureFile::create(dir.path(), overwrite).err().unwrap();
            assert!(matches!(err, OutputError::IsDirectory { .. }), "{err}");
            assert!(!err.to_string().contains("--force"), "{err}");
            let err = SecureFile::create(Path::new("/dev/null"), overwrite)
                .err()
                .unwrap();
            assert!(matches!(err, OutputError::NotRegular { .. }), "{err}");
        }
        let target = dir.path().join("target");
        std::fs::write(&target, "keep").unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        assert!(matches!(
            SecureFile::create(&link, true),
            Err(OutputError::NotRegular { .. })
        ));
        assert_eq!(std::fs::read(&target).unwrap(), b"keep");
    }

    #[test]
    fn a_missing_directory_is_reported() {
        let err = SecureFile::create(Path::new("/nonexistent/dir/out.age"), false)
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("/nonexistent/dir"), "{err}");
    }
}
