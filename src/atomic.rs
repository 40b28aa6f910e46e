//! Crash-safe file writes.
//!
//! Results, manifests and caches are read back by later runs, which trust what they
//! find. A plain `fs::write` interrupted by a crash, a kill or a full disk leaves a
//! truncated file that looks valid by name. Here every write goes to a temporary file
//! in the same directory, is flushed to disk, and is then renamed over the target.
//! A rename within one file system is atomic, so a reader sees either the old file or
//! the new one, never a partial one.

use std::fs;
use std::io::{self, BufWriter, Write};
use std::path::Path;

/// Name prefix of the temporary files (`.tmpXXXXXX`), so that a node can
/// remove the ones an interrupted process left behind.
pub const TEMP_PREFIX: &str = ".tmp";

/// Atomically replaces (or creates) `path` with `bytes`, creating the parent
/// directories if needed.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    write_atomic_with(path, |w| w.write_all(bytes))
}

/// Atomically replaces (or creates) `path` with whatever `f` writes, creating the
/// parent directories if needed.
///
/// `f` gets a buffered writer. If `f` or any later step fails, the target is left
/// untouched and the temporary file is removed. Steps: write to a temporary file in
/// the target's directory (same file system, so the rename is atomic), `fsync` it (so
/// the rename cannot reach the disk before the data), rename it over the target, then
/// `fsync` the directory so the rename itself survives a power loss. The directory
/// `fsync` is best effort: some platforms (Windows) cannot open a directory for it.
///
/// The new file gets the permissions of the file it replaces, or `0o644` on Unix when
/// there was none (a temporary file is created `0o600`, which would make results
/// unreadable to other users).
pub fn write_atomic_with(
    path: &Path,
    f: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> io::Result<()> {
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    fs::create_dir_all(parent)?;
    let mut tmp = tempfile::Builder::new()
        .prefix(TEMP_PREFIX)
        .tempfile_in(parent)?;
    {
        let mut writer = BufWriter::with_capacity(1 << 20, tmp.as_file_mut());
        f(&mut writer)?;
        writer.flush()?;
    }
    set_permissions(path, tmp.as_file())?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    sync_dir(parent);
    Ok(())
}

/// Gives the temporary file the permissions the final file should have.
#[cfg(unix)]
fn set_permissions(target: &Path, tmp: &fs::File) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let perms = match fs::metadata(target) {
        Ok(meta) => meta.permissions(),
        Err(_) => fs::Permissions::from_mode(0o644),
    };
    tmp.set_permissions(perms)
}

/// Non-Unix platforms: the temporary file's default permissions are fine.
#[cfg(not(unix))]
fn set_permissions(_target: &Path, _tmp: &fs::File) -> io::Result<()> {
    Ok(())
}

/// Flushes a directory entry change (the rename) to disk; errors are ignored because
/// not every platform or file system supports syncing a directory.
fn sync_dir(dir: &Path) {
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_and_replaces() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a/b/file.txt");
        write_atomic(&path, b"first").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"first");
        write_atomic(&path, b"second, longer").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"second, longer");
        // No temporary files left behind.
        assert_eq!(fs::read_dir(path.parent().unwrap()).unwrap().count(), 1);
    }

    #[test]
    fn failed_writer_keeps_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("file.txt");
        write_atomic(&path, b"old").unwrap();
        let err = write_atomic_with(&path, |w| {
            w.write_all(b"partial")?;
            Err(io::Error::other("boom"))
        })
        .unwrap_err();
        assert_eq!(err.to_string(), "boom");
        assert_eq!(fs::read(&path).unwrap(), b"old");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[cfg(unix)]
    #[test]
    fn new_files_are_world_readable() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("file.txt");
        write_atomic(&path, b"x").unwrap();
        let mode = fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o644);
    }
}
