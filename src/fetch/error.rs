//! What can go wrong in `runner data get`, each with its message and exit code.

use std::io;
use std::path::{Path, PathBuf};

use crate::interrupt::StopReason;

/// A failed `runner data get`: the message is printed as it is, after `error: `.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// Bad input: a `--root` that is a file, an unreadable checksum file.
    #[error("{0}")]
    Input(String),
    /// One source could not give the file (the next one is tried).
    #[error("{url}: {reason}")]
    Source {
        /// What was asked for.
        url: String,
        /// Why it failed, in words.
        reason: String,
        /// Google Drive refused the file for its download quota.
        quota: bool,
    },
    /// Every source failed.
    #[error("could not download {file}:\n{reasons}{hint}")]
    AllSourcesFailed {
        /// The file.
        file: String,
        /// One indented line per source.
        reasons: String,
        /// What to do about it.
        hint: String,
    },
    /// The downloaded file does not have the published checksum.
    #[error(
        "{file} from {url} does not match its checksum: expected md5 {expected}, got {got}. \
         It is kept aside as {} and not used; run the same command again to download it \
         afresh, or use --mirror for another copy.",
        corrupt.display()
    )]
    Checksum {
        /// The file.
        file: String,
        /// Where it came from.
        url: String,
        /// The published MD5.
        expected: String,
        /// The MD5 of what arrived.
        got: String,
        /// Where the bad file now is.
        corrupt: PathBuf,
    },
    /// A verified archive that does not unpack (truncated or damaged).
    #[error("{}: the archive does not unpack: {reason}. Nothing was installed.", path.display())]
    Archive {
        /// The archive.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The disk (or a file size limit) is full.
    #[error(
        "no room left on the device while writing {}: {source}. Free some space and run \
         the same command again (a partial download resumes where it stopped).",
        path.display()
    )]
    NoRoom {
        /// The file being written.
        path: PathBuf,
        /// The system's error.
        source: io::Error,
    },
    /// Another file system error.
    #[error("{context}: {source}")]
    Io {
        /// What was being done, naming the path.
        context: String,
        /// The system's error.
        source: io::Error,
    },
    /// Stopped by Ctrl-C or SIGTERM.
    #[error("{}: stopped. {left}", reason.signal_name())]
    Interrupted {
        /// Which signal.
        reason: StopReason,
        /// What was left behind.
        left: String,
    },
}

impl FetchError {
    /// The process exit code (see [`crate::exit`]).
    pub fn exit_code(&self) -> i32 {
        match self {
            FetchError::Input(_) => crate::exit::INPUT,
            FetchError::Interrupted { reason, .. } => match reason {
                StopReason::Terminate => crate::exit::TERMINATED,
                _ => crate::exit::INTERRUPTED,
            },
            _ => crate::exit::FAILED,
        }
    }

    /// An I/O error while writing `path`: [`FetchError::NoRoom`] when the disk
    /// or a file size limit is full, [`FetchError::Io`] otherwise.
    pub fn writing(path: &Path, source: io::Error) -> FetchError {
        let full = matches!(
            source.kind(),
            io::ErrorKind::StorageFull | io::ErrorKind::FileTooLarge
        );
        if full {
            FetchError::NoRoom {
                path: path.to_owned(),
                source,
            }
        } else {
            FetchError::Io {
                context: format!("cannot write {}", path.display()),
                source,
            }
        }
    }

    /// Any other I/O error, with what was being done.
    pub fn io(context: impl Into<String>, source: io::Error) -> FetchError {
        FetchError::Io {
            context: context.into(),
            source,
        }
    }

    /// A stop request as an error, if one was made.
    pub fn check_stop(left: impl FnOnce() -> String) -> Result<(), FetchError> {
        match crate::interrupt::reason() {
            Some(reason) if reason != StopReason::Resubmit => Err(FetchError::Interrupted {
                reason,
                left: left(),
            }),
            _ => Ok(()),
        }
    }
}
