//! Atomic file writes: data goes to a temporary file in the destination's directory, is
//! flushed to disk, and is renamed over the final name only when complete. An interrupted
//! write (error, Ctrl-C, crash) leaves at most a stray temporary file, never a partial file
//! under the final name, and never touches an existing file it was not allowed to replace.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Fails with [`Error::Exists`] if `path` exists and `force` is false, and with an I/O error
/// naming the directory if `path`'s directory does not exist. Call this before expensive
/// work so that the user learns about it at once.
pub fn check_writable(path: &Path, force: bool) -> Result<()> {
    if path.is_dir() {
        return Err(Error::io(
            path,
            std::io::Error::new(std::io::ErrorKind::IsADirectory, "is a directory"),
        ));
    }
    if path.exists() && !force {
        return Err(Error::Exists { path: path.to_path_buf() });
    }
    let dir = parent_dir(path);
    if !dir.is_dir() {
        return Err(Error::io(
            &dir,
            std::io::Error::new(std::io::ErrorKind::NotFound, "directory does not exist"),
        ));
    }
    Ok(())
}

/// The directory a file is written into (`.` for a bare file name).
fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Writes `bytes` to `path` atomically; refuses to replace an existing file unless `force`.
pub fn write_atomic(path: &Path, bytes: &[u8], force: bool) -> Result<()> {
    write_atomic_with(path, force, |w| w.write_all(bytes))
}

/// Writes what `fill` produces to `path` atomically; refuses to replace an existing file
/// unless `force`. If `fill` fails, nothing is left under `path`.
pub fn write_atomic_with(
    path: &Path,
    force: bool,
    fill: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<()> {
    check_writable(path, force)?;
    let dir = parent_dir(path);
    let mut tmp = tempfile::Builder::new()
        .prefix(".nudge-")
        .suffix(".tmp")
        .tempfile_in(&dir)
        .map_err(|e| Error::io(&dir, e))?;
    {
        let mut w = std::io::BufWriter::new(tmp.as_file_mut());
        fill(&mut w).map_err(|e| Error::io(path, e))?;
        w.flush().map_err(|e| Error::io(path, e))?;
    }
    tmp.as_file().sync_all().map_err(|e| Error::io(path, e))?;
    // Temporary files are created private (0600); the result is an ordinary file.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o644))
            .map_err(|e| Error::io(path, e))?;
    }
    if force {
        tmp.persist(path).map_err(|e| Error::io(path, e.error))?;
    } else {
        // Fails rather than replacing a file that appeared since the check.
        tmp.persist_noclobber(path).map_err(|e| {
            if e.error.kind() == std::io::ErrorKind::AlreadyExists {
                Error::Exists { path: path.to_path_buf() }
            } else {
                Error::io(path, e.error)
            }
        })?;
    }
    Ok(())
}

/// Reads a whole file, with an error naming it (a directory is reported as such).
pub fn read(path: &Path) -> Result<Vec<u8>> {
    if path.is_dir() {
        return Err(Error::io(
            path,
            std::io::Error::new(std::io::ErrorKind::IsADirectory, "is a directory, not a file"),
        ));
    }
    std::fs::read(path).map_err(|e| Error::io(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_refuses_to_overwrite_then_forces() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.bin");
        write_atomic(&path, b"one", false).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"one");
        let err = write_atomic(&path, b"two", false).unwrap_err();
        assert!(matches!(err, Error::Exists { .. }), "{err}");
        assert_eq!(std::fs::read(&path).unwrap(), b"one");
        write_atomic(&path, b"two", true).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
    }

    #[test]
    fn a_failed_fill_leaves_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.bin");
        write_atomic(&path, b"old", false).unwrap();
        let err = write_atomic_with(&path, true, |w| {
            w.write_all(b"partial")?;
            Err(std::io::Error::other("interrupted"))
        })
        .unwrap_err();
        assert!(err.to_string().contains("interrupted"), "{err}");
        assert_eq!(std::fs::read(&path).unwrap(), b"old");
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1, "temporary file left behind");
    }

    #[test]
    fn missing_directory_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("no/such/dir/out.bin");
        let err = write_atomic(&path, b"x", false).unwrap_err().to_string();
        assert!(err.contains("no/such/dir") && err.contains("does not exist"), "{err}");
    }
}
