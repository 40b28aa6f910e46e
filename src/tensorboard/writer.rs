//! An event file: built in memory, then written whole and atomically.
//!
//! runner's event files are small (a few scalars per logged step), so each is
//! written in one go from complete data rather than appended to as training
//! goes: a file on disk is always whole, and a re-run replaces it instead of
//! adding a second copy of the same steps.

use std::io;
use std::path::{Path, PathBuf};

use super::event::{Event, Payload, FILE_VERSION};
use super::record::append_record;
use crate::atomic::write_atomic;

/// Start of every event file's name; TensorBoard reads the files of a folder
/// whose names contain `tfevents`.
pub const FILE_PREFIX: &str = "events.out.tfevents.";

/// The bytes of one event file: the version event, then the events added.
#[derive(Debug, Clone)]
pub struct EventFile {
    bytes: Vec<u8>,
}

impl EventFile {
    /// A file whose version event is stamped `wall_time` (Unix seconds).
    pub fn new(wall_time: f64) -> Self {
        let mut file = EventFile { bytes: Vec::new() };
        file.add(&Event {
            wall_time,
            step: 0,
            payload: Payload::FileVersion(FILE_VERSION.into()),
        });
        file
    }

    /// Appends `event` as one record.
    pub fn add(&mut self, event: &Event) {
        append_record(&mut self.bytes, &event.encode());
    }

    /// The file's bytes so far.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Writes the file into `folder` as `events.out.tfevents.<created>.<host>`
    /// (TensorBoard's naming), atomically, after removing the event files an
    /// earlier run left there (TensorBoard would read them as the same run and
    /// show their steps twice). Returns the path written.
    pub fn write_into(&self, folder: &Path, created_unix: u64) -> io::Result<PathBuf> {
        remove_event_files(folder)?;
        let path = folder.join(file_name(created_unix, &host_name()));
        write_atomic(&path, &self.bytes)?;
        Ok(path)
    }
}

/// `events.out.tfevents.<created>.<host>`.
pub fn file_name(created_unix: u64, host: &str) -> String {
    format!("{FILE_PREFIX}{created_unix}.{host}")
}

/// Removes the event files directly in `folder` (none when it does not exist).
fn remove_event_files(folder: &Path) -> io::Result<()> {
    let entries = match std::fs::read_dir(folder) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    for entry in entries {
        let entry = entry?;
        let is_events = entry
            .file_name()
            .to_str()
            .is_some_and(|n| n.starts_with(FILE_PREFIX));
        if is_events && entry.file_type()?.is_file() {
            std::fs::remove_file(entry.path())?;
        }
    }
    Ok(())
}

/// This machine's name, for the file name only (it says where a file was
/// written, as TensorBoard's own writers do): the kernel's host name on Linux,
/// `$HOSTNAME` elsewhere, else `localhost`. Characters that do not belong in a
/// file name become `_`.
fn host_name() -> String {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "localhost".into());
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writing_again_replaces_the_earlier_file() {
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join("tb");
        let first = EventFile::new(1.0).write_into(&folder, 100).unwrap();
        let second = EventFile::new(2.0).write_into(&folder, 200).unwrap();
        assert_ne!(first, second);
        let names: Vec<_> = std::fs::read_dir(&folder)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, [second.file_name().unwrap()]);
        let name = second.file_name().unwrap().to_str().unwrap().to_string();
        assert!(name.starts_with("events.out.tfevents.200."), "{name}");
        assert!(!host_name().is_empty());
    }
}
