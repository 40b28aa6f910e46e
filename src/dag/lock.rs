//! Per-node OS file locks: two runner processes never compute the same node at
//! once, and a crashed process leaves no lock behind (the OS releases it).

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// A held lock; released when dropped.
#[derive(Debug)]
pub struct NodeLock {
    _file: File,
    path: PathBuf,
}

impl NodeLock {
    /// The lock file path of node directory `dir`: a sibling `<dir>.lock`.
    pub fn path_for(dir: &Path) -> PathBuf {
        let mut name = dir
            .file_name()
            .map(|n| n.to_os_string())
            .unwrap_or_default();
        name.push(".lock");
        dir.with_file_name(name)
    }

    /// Takes the lock of `dir`, waiting for another process if needed;
    /// `on_wait` is called once before waiting.
    pub fn acquire(dir: &Path, on_wait: impl FnOnce()) -> Result<NodeLock> {
        let path = Self::path_for(dir);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating {}", parent.display()))?;
        }
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .with_context(|| format!("opening lock file {}", path.display()))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                on_wait();
                file.lock()
                    .with_context(|| format!("locking {}", path.display()))?;
            }
            Err(std::fs::TryLockError::Error(e)) => {
                return Err(e).with_context(|| format!("locking {}", path.display()));
            }
        }
        Ok(NodeLock { _file: file, path })
    }

    /// Takes the lock of `dir` only if no other process holds it: `Ok(None)`
    /// when it is held. Creates the lock file (and its folder) if needed.
    pub fn try_acquire(dir: &Path) -> Result<Option<NodeLock>> {
        let path = Self::path_for(dir);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating {}", parent.display()))?;
        }
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .with_context(|| format!("opening lock file {}", path.display()))?;
        match file.try_lock() {
            Ok(()) => Ok(Some(NodeLock { _file: file, path })),
            Err(std::fs::TryLockError::WouldBlock) => Ok(None),
            Err(std::fs::TryLockError::Error(e)) => {
                Err(e).with_context(|| format!("locking {}", path.display()))
            }
        }
    }

    /// Whether some process holds the lock of `dir` right now.
    pub fn is_held(dir: &Path) -> bool {
        let path = Self::path_for(dir);
        let Ok(file) = OpenOptions::new().write(true).open(&path) else {
            return false;
        };
        matches!(file.try_lock(), Err(std::fs::TryLockError::WouldBlock))
    }

    /// The lock file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}
