//! CIFAR-10 from the official binary version (`cifar-10-binary.tar.gz`).
//!
//! The root folder holds `data_batch_1.bin` .. `data_batch_5.bin` (training, read in
//! that order) and `test_batch.bin`. Each record is one label byte (unused here)
//! and 3072 pixel bytes: the 32x32 red plane, then green, then blue, each row-major,
//! which is already the channels-first layout of an [`ImageSet`]. Values become
//! `byte / 255`. The official files hold 10,000 records each; any whole number of
//! records is accepted.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use serde::{Deserialize, Serialize};

use super::image_file::unit;
use super::source::{check_count, resolve_root, DatasetSource, Split};
use super::{DataError, ImageSet};
use crate::pipeline::schema::{Arch, ConfigIssue};

/// Version of the CIFAR-10 reader.
/// Part of the keys of the nodes that use it: bump it when a change alters
/// results (see `crate::code_version`).
pub const VERSION: u32 = 1;

/// Image side.
pub const SIDE: usize = 32;

/// Bytes per image (3 planes of 32x32).
pub const IMAGE_LEN: usize = 3 * SIDE * SIDE;

/// Bytes per record: the label, then the image.
pub const RECORD_LEN: usize = 1 + IMAGE_LEN;

/// The training files, in reading order.
pub const TRAIN_FILES: [&str; 5] = [
    "data_batch_1.bin",
    "data_batch_2.bin",
    "data_batch_3.bin",
    "data_batch_4.bin",
    "data_batch_5.bin",
];

/// The test file.
pub const TEST_FILE: &str = "test_batch.bin";

/// The files of `split`, in reading order.
pub fn files(split: Split) -> &'static [&'static str] {
    match split {
        Split::Train => &TRAIN_FILES,
        Split::Test => std::slice::from_ref(&TEST_FILE),
    }
}

/// Where to get the files, for messages about missing ones.
fn download_hint(root: &Path) -> String {
    format!(
        "Download it with `{}` (verified), or by hand: cifar-10-binary.tar.gz (the \
         \"binary version\") from https://www.cs.toronto.edu/~kriz/cifar.html, its six .bin \
         files unpacked into {}/ (see docs/data.md); or point dataset.root elsewhere.",
        crate::fetch::hint::get_command(crate::fetch::Dataset::Cifar10, root),
        root.display()
    )
}

/// The number of records in the file at `path`, from its length.
fn record_count(path: &Path, root: &Path) -> Result<usize, DataError> {
    let len = fs::metadata(path)
        .map_err(|source| match source.kind() {
            io::ErrorKind::NotFound => DataError::MissingFile {
                path: path.to_owned(),
                hint: download_hint(root),
            },
            _ => DataError::Io {
                path: path.to_owned(),
                source,
            },
        })?
        .len();
    check_length(path, len)
}

/// Records in a file of `len` bytes, or why that length is wrong.
fn check_length(path: &Path, len: u64) -> Result<usize, DataError> {
    if len == 0 || !len.is_multiple_of(RECORD_LEN as u64) {
        return Err(DataError::Malformed {
            path: path.to_owned(),
            reason: format!(
                "CIFAR-10 binary batch: it holds {len} bytes, not a positive multiple of the \
                 {RECORD_LEN}-byte record (the official files hold 10000 records, {} bytes; \
                 truncated?)",
                10_000 * RECORD_LEN
            ),
        });
    }
    Ok((len / RECORD_LEN as u64) as usize)
}

/// Checks that all six files exist and have a whole number of records, without
/// reading them: run before anything is written.
///
/// # Errors
/// [`DataError::MissingFile`] or [`DataError::Malformed`] naming the first bad file.
pub fn check(root: &Path) -> Result<(), DataError> {
    for name in TRAIN_FILES.iter().chain([&TEST_FILE]) {
        record_count(&root.join(name), root)?;
    }
    Ok(())
}

/// Reads the first `limit` images of `split` (all of them if the files hold fewer)
/// as 3 x 32 x 32 images in `[0, 1]`. Only the files needed are read.
///
/// # Errors
/// As [`check`], and [`DataError::Io`] if reading fails.
pub fn load_split(root: &Path, split: Split, limit: usize) -> Result<ImageSet, DataError> {
    let mut records: Vec<u8> = Vec::new();
    let mut n = 0;
    for name in files(split) {
        if n >= limit {
            break;
        }
        let path: PathBuf = root.join(name);
        record_count(&path, root)?;
        let bytes = fs::read(&path).map_err(|source| DataError::Io {
            path: path.clone(),
            source,
        })?;
        // The file may have changed since its length was checked.
        let count = check_length(&path, bytes.len() as u64)?;
        let take = count.min(limit - n);
        records.extend_from_slice(&bytes[..take * RECORD_LEN]);
        n += take;
    }
    let mut pixels = vec![0.0f32; n * IMAGE_LEN];
    pixels
        .par_chunks_mut(IMAGE_LEN)
        .zip(records.par_chunks(RECORD_LEN))
        .with_min_len(64)
        .for_each(|(out, record)| {
            for (o, &b) in out.iter_mut().zip(&record[1..]) {
                *o = unit(b);
            }
        });
    Ok(ImageSet {
        channels: 3,
        height: SIDE,
        width: SIDE,
        pixels,
    })
}

/// Defaults of the options (five training batches and one test batch of 10,000).
const ROOT: &str = "data/cifar-10-batches-bin";
const TRAIN_MAX: u32 = 50_000;
const TEST_MAX: u32 = 10_000;

/// The `dataset:` options of `name: cifar10` as written.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Cifar10Options {
    /// Folder with the six `.bin` files (default `data/cifar-10-batches-bin`).
    pub root: Option<String>,
    /// Only 32, the stored side, is accepted (written for clarity).
    pub size: Option<u32>,
    /// First N training images (default all 50,000).
    pub train_images: Option<u32>,
    /// First N test images (default all 10,000).
    pub test_images: Option<u32>,
}

/// Resolved options of the CIFAR-10 reader (always 3 x 32 x 32).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cifar10Spec {
    /// Folder with `data_batch_1.bin` .. `data_batch_5.bin` and `test_batch.bin`.
    pub root: String,
    /// First N training images (batches 1 to 5 in order).
    pub train_images: u32,
    /// First N test images.
    pub test_images: u32,
}

impl DatasetSource for Cifar10Spec {
    const NAME: &'static str = "cifar10";
    type Options = Cifar10Options;

    fn resolve(o: Cifar10Options) -> Result<Self, ConfigIssue> {
        let root = resolve_root(o.root, Some(ROOT), Self::NAME)?;
        let side = SIDE as u32;
        if let Some(size) = o.size.filter(|&s| s != side) {
            return Err(ConfigIssue::new(
                "dataset.size",
                format!("dataset.size must be {side} for dataset 'cifar10' (images are used at their stored size), got {size}"),
            ));
        }
        let train_images = o.train_images.unwrap_or(TRAIN_MAX);
        check_count(train_images, "train_images", Some(TRAIN_MAX))?;
        let test_images = o.test_images.unwrap_or(TEST_MAX);
        check_count(test_images, "test_images", Some(TEST_MAX))?;
        Ok(Cifar10Spec {
            root,
            train_images,
            test_images,
        })
    }

    fn size(&self) -> u32 {
        SIDE as u32
    }

    fn channels(&self) -> u32 {
        3
    }

    fn test_images(&self) -> Option<u32> {
        Some(self.test_images)
    }

    fn check_inputs(&self) -> Result<(), DataError> {
        check(Path::new(&self.root))
    }

    fn load(&self, split: Split) -> Result<ImageSet, DataError> {
        let n = match split {
            Split::Train => self.train_images,
            Split::Test => self.test_images,
        };
        load_split(Path::new(&self.root), split, n as usize)
    }

    fn default_arch(&self) -> Result<Arch, String> {
        // The Shape net is IRMAE's 32x32 RGB-capable network.
        Ok(Arch::IrmaeShape)
    }

    fn versions(&self) -> Vec<(&'static str, u32)> {
        vec![(Self::NAME, VERSION)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A record whose label is `label` and whose byte at (c, y, x) is
    /// `(seed + 7c + 3y + x) mod 256`.
    fn record(label: u8, seed: usize) -> Vec<u8> {
        let mut r = vec![label];
        for c in 0..3 {
            for y in 0..SIDE {
                for x in 0..SIDE {
                    r.push(((seed + 7 * c + 3 * y + x) % 256) as u8);
                }
            }
        }
        r
    }

    /// Writes six files with `per_file` records each; record `k` of file `f` has
    /// seed `100 f + k`.
    fn write_tree(root: &Path, per_file: usize) {
        let names: Vec<&str> = TRAIN_FILES.iter().copied().chain([TEST_FILE]).collect();
        for (f, name) in names.iter().enumerate() {
            let bytes: Vec<u8> = (0..per_file).flat_map(|k| record(9, 100 * f + k)).collect();
            fs::write(root.join(name), bytes).unwrap();
        }
    }

    #[test]
    fn reads_planes_in_order_across_batches() {
        let dir = tempfile::tempdir().unwrap();
        write_tree(dir.path(), 2);
        check(dir.path()).unwrap();
        let train = load_split(dir.path(), Split::Train, 5).unwrap();
        assert_eq!(
            (train.len(), train.channels, train.height, train.width),
            (5, 3, 32, 32)
        );
        // Images 0, 1 come from batch 1, 2, 3 from batch 2, 4 from batch 3.
        for (i, seed) in [0, 1, 100, 101, 200].into_iter().enumerate() {
            let img = train.image(i);
            for (c, y, x) in [(0, 0, 0), (1, 5, 9), (2, 31, 31), (2, 0, 17)] {
                let want = ((seed + 7 * c + 3 * y + x) % 256) as f32 / 255.0;
                assert_eq!(img[c * 1024 + y * 32 + x], want, "image {i} at {c},{y},{x}");
            }
        }
        let all = load_split(dir.path(), Split::Train, 50_000).unwrap();
        assert_eq!(all.len(), 10);
        let test = load_split(dir.path(), Split::Test, 10).unwrap();
        assert_eq!(test.len(), 2);
        assert_eq!(test.image(1)[0], 501.0 % 256.0 / 255.0);
    }

    #[test]
    fn bad_length_and_missing_file_are_named() {
        let dir = tempfile::tempdir().unwrap();
        write_tree(dir.path(), 1);
        let bad = dir.path().join("data_batch_3.bin");
        fs::write(&bad, vec![0u8; RECORD_LEN + 5]).unwrap();
        let err = check(dir.path()).unwrap_err();
        assert!(matches!(err, DataError::Malformed { .. }), "{err}");
        let text = err.to_string();
        assert!(
            text.contains("data_batch_3.bin is not a valid CIFAR-10 binary batch"),
            "{text}"
        );
        assert!(
            text.contains(&format!("{} bytes", RECORD_LEN + 5)),
            "{text}"
        );
        // Loading two images needs only batches 1 and 2: the bad third file is not read.
        assert_eq!(load_split(dir.path(), Split::Train, 2).unwrap().len(), 2);
        assert!(load_split(dir.path(), Split::Train, 3).is_err());
        fs::write(&bad, []).unwrap();
        assert!(check(dir.path())
            .unwrap_err()
            .to_string()
            .contains("holds 0 bytes"));
        fs::remove_file(dir.path().join(TEST_FILE)).unwrap();
        fs::write(&bad, record(0, 0)).unwrap();
        let err = check(dir.path()).unwrap_err();
        assert!(matches!(err, DataError::MissingFile { .. }), "{err}");
        assert!(err.to_string().contains("test_batch.bin"), "{err}");
        assert!(err.to_string().contains("cifar-10-binary.tar.gz"), "{err}");
    }
}
