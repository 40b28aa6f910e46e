//! The on-disk dataset cache: one folder per dataset key
//! (`.runner/cache/datasets/<key>/`, chosen by the caller) holding
//!
//! - `train.bin`, `test.bin`: the pixels, N x C x H x W, either one byte per value
//!   (`u8`, value `k` meaning `k / 255`) when every value of the split is exactly
//!   some `k / 255` in `f32` (MNIST without binarising or with it), or little-endian
//!   `f32` otherwise (Shapes);
//! - `manifest.json`, written **last**: format version and, per split, the shape,
//!   value type, byte length and blake3 hash of its file.
//!
//! Each file is written atomically, and the manifest is only written once both data
//! files are in place, so an interrupted save leaves either no manifest (the cache
//! is [`CacheError::Missing`]) or an old manifest whose hashes no longer match
//! ([`CacheError::Corrupt`]); either way the caller rebuilds. [`load`] checks every
//! byte against the hash, so a damaged cache is never used.
//!
//! The `u8` encoding is lossless: `k as f32 / 255.0` is the very operation that made
//! the value (torchvision's `ToTensor`), so decoding returns the same bits.

use std::fs;
use std::io;
use std::path::Path;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::{Dataset, ImageSet};
use crate::atomic::{write_atomic, write_atomic_with};

/// Version of the cache layout; a manifest with another version is treated as
/// corrupt so that the dataset is rebuilt in the current layout.
pub const FORMAT_VERSION: u32 = 1;

/// Name of the manifest file inside a cache folder.
pub const MANIFEST_FILE: &str = "manifest.json";

/// Name of the training pixels file inside a cache folder.
const TRAIN_FILE: &str = "train.bin";

/// Name of the test pixels file inside a cache folder.
const TEST_FILE: &str = "test.bin";
/// Every file of a cache entry.
pub const FILES: [&str; 3] = [MANIFEST_FILE, TRAIN_FILE, TEST_FILE];

/// Values per chunk when encoding for writing (bounds the temporary buffer).
const WRITE_CHUNK: usize = 1 << 18;

/// Why a cached dataset cannot be used. Either way the caller should rebuild it.
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    /// There is no manifest: nothing was cached here, or a save did not finish.
    #[error("no cached dataset ({MANIFEST_FILE} not found)")]
    Missing,
    /// The manifest or a data file is unreadable, inconsistent or fails its hash.
    #[error("cached dataset is corrupt: {0}")]
    Corrupt(String),
}

/// How pixel values are stored in a `.bin` file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Dtype {
    /// One byte `k` per value, meaning `k / 255`.
    U8,
    /// Four bytes per value, little-endian IEEE `f32`.
    F32Le,
}

impl Dtype {
    /// Bytes per value.
    fn width(self) -> usize {
        match self {
            Dtype::U8 => 1,
            Dtype::F32Le => 4,
        }
    }
}

/// The manifest's description of one split's file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SplitEntry {
    /// Images.
    n: usize,
    /// Channels.
    c: usize,
    /// Rows.
    h: usize,
    /// Columns.
    w: usize,
    /// Value encoding.
    dtype: Dtype,
    /// File length in bytes.
    bytes: u64,
    /// blake3 of the whole file, lowercase hex.
    blake3: String,
}

/// `manifest.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Manifest {
    /// [`FORMAT_VERSION`] at the time of writing.
    format_version: u32,
    /// `train.bin`.
    train: SplitEntry,
    /// `test.bin`.
    test: SplitEntry,
}

/// Writes `ds` into the cache folder `dir` (created if needed), replacing any
/// previous content: `train.bin`, `test.bin`, then `manifest.json`.
pub fn save(dir: &Path, ds: &Dataset) -> io::Result<()> {
    fs::create_dir_all(dir)?;
    let train = save_split(&dir.join(TRAIN_FILE), &ds.train)?;
    let test = save_split(&dir.join(TEST_FILE), &ds.test)?;
    let manifest = Manifest {
        format_version: FORMAT_VERSION,
        train,
        test,
    };
    let mut json = serde_json::to_vec_pretty(&manifest).map_err(io::Error::other)?;
    json.push(b'\n');
    write_atomic(&dir.join(MANIFEST_FILE), &json)
}

/// Whether every value is exactly `k / 255` for an integer `k` in `0..=255`.
fn fits_u8(pixels: &[f32]) -> bool {
    pixels.par_iter().all(|&v| {
        let k = (v * 255.0).round();
        (0.0..=255.0).contains(&k) && k / 255.0 == v
    })
}

/// Writes one split's pixels, hashing them on the way, and describes the file.
fn save_split(path: &Path, set: &ImageSet) -> io::Result<SplitEntry> {
    let dtype = if fits_u8(&set.pixels) {
        Dtype::U8
    } else {
        Dtype::F32Le
    };
    let mut hasher = blake3::Hasher::new();
    let mut bytes = 0u64;
    write_atomic_with(path, |w| {
        let mut buf = Vec::with_capacity(WRITE_CHUNK * dtype.width());
        for chunk in set.pixels.chunks(WRITE_CHUNK) {
            buf.clear();
            match dtype {
                Dtype::U8 => buf.extend(chunk.iter().map(|&v| (v * 255.0).round() as u8)),
                Dtype::F32Le => buf.extend(chunk.iter().flat_map(|v| v.to_le_bytes())),
            }
            hasher.update(&buf);
            w.write_all(&buf)?;
            bytes += buf.len() as u64;
        }
        Ok(())
    })?;
    Ok(SplitEntry {
        n: set.len(),
        c: set.channels,
        h: set.height,
        w: set.width,
        dtype,
        bytes,
        blake3: hasher.finalize().to_hex().to_string(),
    })
}

/// Reads the dataset cached in `dir`, verifying every file against the manifest.
///
/// # Errors
/// [`CacheError::Missing`] when there is no manifest; [`CacheError::Corrupt`] when
/// the manifest does not parse or has another format version, or a data file is
/// missing, unreadable, of the wrong length, or fails its blake3 hash.
pub fn load(dir: &Path) -> Result<Dataset, CacheError> {
    let manifest_path = dir.join(MANIFEST_FILE);
    let text = match fs::read(&manifest_path) {
        Ok(text) => text,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(CacheError::Missing),
        Err(e) => {
            return Err(CacheError::Corrupt(format!(
                "cannot read {}: {e}",
                manifest_path.display()
            )))
        }
    };
    let manifest: Manifest = serde_json::from_slice(&text).map_err(|e| {
        CacheError::Corrupt(format!("{} does not parse: {e}", manifest_path.display()))
    })?;
    if manifest.format_version != FORMAT_VERSION {
        return Err(CacheError::Corrupt(format!(
            "{} has format version {}, this runner reads {FORMAT_VERSION}",
            manifest_path.display(),
            manifest.format_version
        )));
    }
    let (train, test) = rayon::join(
        || load_split(&dir.join(TRAIN_FILE), &manifest.train),
        || load_split(&dir.join(TEST_FILE), &manifest.test),
    );
    Ok(Dataset {
        train: train?,
        test: test?,
    })
}

/// Reads and verifies one split's file.
fn load_split(path: &Path, entry: &SplitEntry) -> Result<ImageSet, CacheError> {
    let corrupt = |why: String| CacheError::Corrupt(format!("{}: {why}", path.display()));
    let values = [entry.n, entry.c, entry.h, entry.w]
        .into_iter()
        .try_fold(1usize, usize::checked_mul)
        .ok_or_else(|| corrupt("manifest shape overflows".to_owned()))?;
    let expected = values
        .checked_mul(entry.dtype.width())
        .ok_or_else(|| corrupt("manifest shape overflows".to_owned()))?;
    if entry.bytes != expected as u64 {
        return Err(corrupt(format!(
            "manifest says {} bytes but its shape needs {expected}",
            entry.bytes
        )));
    }
    let bytes = fs::read(path).map_err(|e| corrupt(format!("cannot read: {e}")))?;
    if bytes.len() != expected {
        return Err(corrupt(format!(
            "{} bytes, manifest says {expected}",
            bytes.len()
        )));
    }
    let mut hasher = blake3::Hasher::new();
    hasher.update_rayon(&bytes);
    let hash = hasher.finalize().to_hex();
    if !hash.as_str().eq_ignore_ascii_case(&entry.blake3) {
        return Err(corrupt(format!(
            "blake3 {hash} does not match the manifest's {}",
            entry.blake3
        )));
    }
    let pixels: Vec<f32> = match entry.dtype {
        Dtype::U8 => bytes.par_iter().map(|&b| f32::from(b) / 255.0).collect(),
        Dtype::F32Le => bytes
            .par_chunks_exact(4)
            .map(|b| f32::from_le_bytes(b.try_into().expect("4 bytes")))
            .collect(),
    };
    Ok(ImageSet {
        channels: entry.c,
        height: entry.h,
        width: entry.w,
        pixels,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::shapes::{self, GrayMode};

    /// Shapes (f32 values) for train, MNIST-like k/255 values for test.
    fn sample() -> Dataset {
        let train = shapes::generate(50, 32, 3, None, 1);
        let test = ImageSet {
            channels: 1,
            height: 4,
            width: 4,
            pixels: (0..7 * 16).map(|i| (i % 256) as f32 / 255.0).collect(),
        };
        Dataset { train, test }
    }

    fn manifest(dir: &Path) -> Manifest {
        serde_json::from_slice(&fs::read(dir.join(MANIFEST_FILE)).unwrap()).unwrap()
    }

    #[test]
    fn round_trip_is_exact() {
        let dir = tempfile::tempdir().unwrap();
        let ds = sample();
        save(dir.path(), &ds).unwrap();
        let m = manifest(dir.path());
        assert_eq!(m.format_version, FORMAT_VERSION);
        assert_eq!(m.train.dtype, Dtype::F32Le);
        assert_eq!(m.test.dtype, Dtype::U8);
        assert_eq!(
            (m.train.n, m.train.c, m.train.h, m.train.w),
            (50, 3, 32, 32)
        );
        assert_eq!(m.test.bytes, 7 * 16);
        let back = load(dir.path()).unwrap();
        // Bit-for-bit, including the u8-encoded split.
        assert_eq!(back, ds);
        // Saving again over an existing cache works and still loads.
        let grey = Dataset {
            train: shapes::generate(10, 32, 1, Some(GrayMode::Intensity), 2),
            test: ImageSet {
                channels: 1,
                height: 32,
                width: 32,
                pixels: Vec::new(),
            },
        };
        save(dir.path(), &grey).unwrap();
        assert_eq!(load(dir.path()).unwrap(), grey);
    }

    #[test]
    fn binary_values_use_u8() {
        let dir = tempfile::tempdir().unwrap();
        let set = ImageSet {
            channels: 1,
            height: 2,
            width: 2,
            pixels: vec![0.0, 1.0, 1.0, 0.0],
        };
        let ds = Dataset {
            train: set.clone(),
            test: set,
        };
        save(dir.path(), &ds).unwrap();
        assert_eq!(manifest(dir.path()).train.dtype, Dtype::U8);
        assert_eq!(load(dir.path()).unwrap(), ds);
        // Near-misses of k/255 must not be squeezed into a byte.
        assert!(!fits_u8(&[0.5]));
        assert!(!fits_u8(&[f32::NAN]));
        assert!(!fits_u8(&[1.0 + f32::EPSILON]));
        assert!(fits_u8(
            &(0..=255).map(|k| k as f32 / 255.0).collect::<Vec<_>>()
        ));
    }

    #[test]
    fn truncated_file_is_corrupt() {
        let dir = tempfile::tempdir().unwrap();
        save(dir.path(), &sample()).unwrap();
        let path = dir.path().join(TRAIN_FILE);
        let bytes = fs::read(&path).unwrap();
        fs::write(&path, &bytes[..bytes.len() - 4]).unwrap();
        match load(dir.path()) {
            Err(CacheError::Corrupt(why)) => assert!(why.contains("train.bin"), "{why}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn flipped_byte_is_corrupt() {
        let dir = tempfile::tempdir().unwrap();
        save(dir.path(), &sample()).unwrap();
        let path = dir.path().join(TEST_FILE);
        let mut bytes = fs::read(&path).unwrap();
        bytes[17] ^= 1;
        fs::write(&path, &bytes).unwrap();
        match load(dir.path()) {
            Err(CacheError::Corrupt(why)) => {
                assert!(why.contains("test.bin") && why.contains("blake3"), "{why}")
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn missing_manifest_is_missing() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(load(dir.path()), Err(CacheError::Missing)));
        assert!(matches!(
            load(&dir.path().join("no/such/folder")),
            Err(CacheError::Missing)
        ));
        save(dir.path(), &sample()).unwrap();
        fs::remove_file(dir.path().join(MANIFEST_FILE)).unwrap();
        assert!(matches!(load(dir.path()), Err(CacheError::Missing)));
    }

    #[test]
    fn missing_data_or_bad_manifest_is_corrupt() {
        let dir = tempfile::tempdir().unwrap();
        save(dir.path(), &sample()).unwrap();
        fs::remove_file(dir.path().join(TEST_FILE)).unwrap();
        assert!(matches!(load(dir.path()), Err(CacheError::Corrupt(_))));

        save(dir.path(), &sample()).unwrap();
        let mpath = dir.path().join(MANIFEST_FILE);
        let text = fs::read_to_string(&mpath).unwrap();
        fs::write(&mpath, &text[..text.len() / 2]).unwrap();
        assert!(matches!(load(dir.path()), Err(CacheError::Corrupt(_))));

        let mut m: Manifest = serde_json::from_str(&text).unwrap();
        m.format_version += 1;
        fs::write(&mpath, serde_json::to_vec(&m).unwrap()).unwrap();
        assert!(matches!(load(dir.path()), Err(CacheError::Corrupt(_))));

        // A shape that disagrees with the byte count.
        let mut m: Manifest = serde_json::from_str(&text).unwrap();
        m.train.n += 1;
        fs::write(&mpath, serde_json::to_vec(&m).unwrap()).unwrap();
        assert!(matches!(load(dir.path()), Err(CacheError::Corrupt(_))));
    }
}
