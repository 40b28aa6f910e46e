//! Checksums of files, and the marker that records what a get verified.

use std::fs;
use std::io::{self, Read};
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::sources::{Checksums, Dataset, Install};

/// Name of the marker file in a dataset's folder.
pub const MARKER: &str = ".runner-data.json";

/// The MD5 of a file, lowercase hex (read in 1 MiB blocks).
///
/// # Errors
/// If the file cannot be read.
pub fn md5_file(path: &Path) -> io::Result<String> {
    let mut file = fs::File::open(path)?;
    let mut ctx = md5::Context::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        ctx.consume(&buf[..n]);
    }
    Ok(format!("{:x}", ctx.finalize()))
}

/// One verified file, as the marker records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verified {
    /// The downloaded file's name.
    pub file: String,
    /// Its MD5, which matched the table.
    pub md5: String,
    /// Where it came from (a URL, or `already present`).
    pub source: String,
}

/// What `runner data get` verified and installed, written into the dataset's
/// folder last (or into an unpacked folder before it is renamed into place).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Marker {
    /// The dataset's name.
    pub dataset: String,
    /// Every file of the dataset, verified.
    pub files: Vec<Verified>,
    /// The runner version that wrote it.
    pub runner: String,
}

impl Marker {
    /// A marker for `dataset` with `files`.
    pub fn new(dataset: Dataset, files: Vec<Verified>) -> Self {
        Marker {
            dataset: dataset.name().to_string(),
            files,
            runner: env!("CARGO_PKG_VERSION").to_string(),
        }
    }

    /// The marker in `folder`, if there is a readable one.
    pub fn read(folder: &Path) -> Option<Marker> {
        let text = fs::read(folder.join(MARKER)).ok()?;
        serde_json::from_slice(&text).ok()
    }

    /// Writes the marker into `folder` atomically.
    ///
    /// # Errors
    /// If it cannot be written.
    pub fn write(&self, folder: &Path) -> io::Result<()> {
        let text = serde_json::to_vec_pretty(self).map_err(io::Error::other)?;
        crate::atomic::write_atomic(&folder.join(MARKER), &text)
    }

    /// Whether it records every file of `dataset` with the MD5 of `sums`.
    pub fn covers(&self, dataset: Dataset, sums: &Checksums) -> bool {
        self.dataset == dataset.name()
            && dataset.resources().iter().all(|r| {
                self.files
                    .iter()
                    .any(|v| v.file == r.file && v.md5 == sums.md5(r))
            })
    }
}

/// Whether `dataset` is installed under `root` and verified: its marker
/// covers every file and what the readers need is there (plain files are
/// hashed again; they are small).
pub fn is_verified(dataset: Dataset, root: &Path, sums: &Checksums) -> bool {
    let folder = dataset.folder(root);
    let Some(marker) = Marker::read(&folder) else {
        return false;
    };
    if !marker.covers(dataset, sums) {
        return false;
    }
    let base = dataset.base(root);
    dataset.resources().iter().all(|r| match r.install {
        Install::File => md5_file(&base.join(r.file)).is_ok_and(|got| got == sums.md5(r)),
        Install::TarGz { dir, expect } | Install::Zip { dir, expect } => {
            let dir = base.join(dir);
            dir.is_dir() && expect.iter().all(|f| dir.join(f).is_file())
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn md5_of_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        fs::write(&path, b"The quick brown fox jumps over the lazy dog").unwrap();
        assert_eq!(md5_file(&path).unwrap(), "9e107d9d372bb6826bd81d3542a419d6");
    }

    #[test]
    fn marker_covers_only_the_checksums_it_recorded() {
        let sums = Checksums::official();
        let files = Dataset::Cifar10
            .resources()
            .iter()
            .map(|r| Verified {
                file: r.file.into(),
                md5: r.md5.into(),
                source: "test".into(),
            })
            .collect();
        let marker = Marker::new(Dataset::Cifar10, files);
        assert!(marker.covers(Dataset::Cifar10, &sums));
        assert!(!marker.covers(Dataset::Mnist, &sums));
        let other =
            Checksums::parse("0123456789abcdef0123456789abcdef  cifar-10-binary.tar.gz").unwrap();
        assert!(!marker.covers(Dataset::Cifar10, &other));
    }
}
