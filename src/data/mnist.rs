//! MNIST images from the IDX files (docs/methods.md#mnist).
//!
//! The root folder holds `train-images-idx3-ubyte` and `t10k-images-idx3-ubyte`,
//! each either plain or gzipped (`.gz`, as distributed); labels are not needed. Pixels
//! become `byte / 255` in `f32` (torchvision's `ToTensor`). At size 32 each 28x28
//! image is first resized with Pillow's bilinear filter in 8-bit, as torchvision's
//! `Resize(32)` does for IRMAE; at the native size nothing is resampled. Binarising
//! (Dalal) thresholds the final `[0, 1]` value: `> 0.5` becomes 1, the rest 0.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use flate2::read::MultiGzDecoder;
use rayon::prelude::*;

use serde::{Deserialize, Serialize};

use super::resize::PilBilinear;
use super::source::{check_count, resolve_root, DatasetSource, Split};
use super::{DataError, ImageSet};
use crate::pipeline::schema::{Arch, ConfigIssue};

/// Version of the MNIST reader.
/// Part of the keys of the nodes that use it: bump it when a change alters
/// results (see `crate::code_version`).
pub const VERSION: u32 = 1;

/// The IDX magic number of an unsigned-byte, 3-dimensional array (images).
const IDX3_UBYTE_MAGIC: u32 = 0x0000_0803;

/// The IDX magic number of an unsigned-byte vector (labels), recognised to give a
/// better message when a label file is given by mistake.
const IDX1_UBYTE_MAGIC: u32 = 0x0000_0801;

/// Length of the IDX3 header: magic, count, rows, columns as big-endian `u32`s.
const HEADER_LEN: usize = 16;

/// The four files of the MNIST distribution, for the download hint.
const ALL_FILES: &str = "train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, \
                         t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz";

/// The IDX image file of `split`, without `.gz`.
pub fn file_name(split: Split) -> &'static str {
    match split {
        Split::Train => "train-images-idx3-ubyte",
        Split::Test => "t10k-images-idx3-ubyte",
    }
}

/// Reads the first `limit` images of `split` from `root` (all of them if the file
/// holds fewer), as 1 x `size` x `size` images in `[0, 1]`.
///
/// `size` equal to the stored side (28 for MNIST) keeps the pixels; any other size
/// resizes with Pillow's bilinear filter (see [`super::resize`]). With `binarize`,
/// values above 0.5 become 1 and the rest 0, after resizing. The whole file is read
/// and checked (header, length; gzip CRC for `.gz`) even when `limit` is small, so a
/// damaged download is reported rather than silently used. Images are converted in
/// parallel.
///
/// # Errors
/// [`DataError::MissingFile`] if neither the plain nor the `.gz` file exists,
/// [`DataError::Malformed`] for a bad header, a length that does not match the
/// header, or a gzip stream that does not decode, [`DataError::Io`] if reading fails.
///
/// # Panics
/// If `size` is 0.
pub fn load_split(
    root: &Path,
    split: Split,
    limit: usize,
    size: usize,
    binarize: bool,
) -> Result<ImageSet, DataError> {
    assert!(size > 0, "MNIST images need a positive size");
    let path = locate(root, split)?;
    let bytes = read_file(&path)?;
    let idx = parse_idx3(&path, &bytes)?;
    let n = idx.count.min(limit);
    let in_len = idx.rows * idx.cols;
    let out_len = size * size;
    let src = &bytes[HEADER_LEN..HEADER_LEN + n * in_len];

    // Every output value comes from a byte, so one table does `/ 255` (as `ToTensor`:
    // an f32 division) and the optional threshold.
    let table: [f32; 256] = std::array::from_fn(|b| {
        let v = b as f32 / 255.0;
        match (binarize, v > 0.5) {
            (false, _) => v,
            (true, true) => 1.0,
            (true, false) => 0.0,
        }
    });

    let mut pixels = vec![0.0f32; n * out_len];
    if idx.rows == size && idx.cols == size {
        pixels
            .par_iter_mut()
            .zip(src.par_iter())
            .with_min_len(1 << 16)
            .for_each(|(o, &b)| *o = table[usize::from(b)]);
    } else {
        let plan = PilBilinear::new(idx.rows, idx.cols, size, size);
        pixels
            .par_chunks_mut(out_len)
            .zip(src.par_chunks(in_len))
            .with_min_len(256)
            .for_each_init(
                || (vec![0u8; out_len], Vec::new()),
                |(resized, scratch), (out, image)| {
                    plan.resize_u8_into(image, resized, scratch);
                    for (o, &b) in out.iter_mut().zip(resized.iter()) {
                        *o = table[usize::from(b)];
                    }
                },
            );
    }
    Ok(ImageSet {
        channels: 1,
        height: size,
        width: size,
        pixels,
    })
}

/// Checks that the split's file exists and is a whole, valid IDX image file,
/// without converting it: run before anything is written, so that bad input
/// data stops a run cleanly.
///
/// # Errors
/// As [`load_split`].
pub fn check_split(root: &Path, split: Split) -> Result<(), DataError> {
    let path = locate(root, split)?;
    parse_idx3(&path, &read_file(&path)?).map(|_| ())
}

/// Finds the split's file: the plain one if present, else the `.gz` one.
fn locate(root: &Path, split: Split) -> Result<PathBuf, DataError> {
    let plain = root.join(file_name(split));
    if plain.is_file() {
        return Ok(plain);
    }
    let gz = root.join(format!("{}.gz", file_name(split)));
    if gz.is_file() {
        return Ok(gz);
    }
    let folder = root.display();
    let missing_root = if root.is_dir() {
        String::new()
    } else {
        format!("The folder {folder} does not exist. ")
    };
    Err(DataError::MissingFile {
        path: root.join(format!("{}(.gz)", file_name(split))),
        hint: format!(
            "{missing_root}Download the four MNIST IDX files with `{}` (verified), or by \
             hand ({ALL_FILES}) into {folder}/ (gzipped or not; see docs/data.md).",
            crate::fetch::hint::get_command(crate::fetch::Dataset::Mnist, root)
        ),
    })
}

/// Reads a whole file, decompressing it when its name ends in `.gz`.
fn read_file(path: &Path) -> Result<Vec<u8>, DataError> {
    let raw = fs::read(path).map_err(|source| DataError::Io {
        path: path.to_owned(),
        source,
    })?;
    if path.extension().is_none_or(|e| e != "gz") {
        return Ok(raw);
    }
    // The gzip trailer stores the uncompressed length mod 2^32: a good capacity hint
    // (capped, since a damaged trailer could claim anything).
    let hint = raw
        .len()
        .checked_sub(4)
        .map(|at| u32::from_le_bytes(raw[at..].try_into().expect("4 bytes")) as usize)
        .unwrap_or(0)
        .min(1 << 28);
    let mut out = Vec::with_capacity(hint);
    // Reading from memory, so every error here is about the data, not the disk.
    MultiGzDecoder::new(raw.as_slice())
        .read_to_end(&mut out)
        .map_err(|e| DataError::Malformed {
            path: path.to_owned(),
            reason: format!("gzip file: {e}"),
        })?;
    Ok(out)
}

/// The header of a checked IDX3 image file.
#[derive(Debug)]
struct Idx3 {
    /// Number of images.
    count: usize,
    /// Rows per image.
    rows: usize,
    /// Columns per image.
    cols: usize,
}

/// Checks the IDX3 header and that the pixel data is exactly `count * rows * cols`
/// bytes.
fn parse_idx3(path: &Path, bytes: &[u8]) -> Result<Idx3, DataError> {
    let bad = |reason: String| DataError::Malformed {
        path: path.to_owned(),
        reason: format!("IDX image file: {reason}"),
    };
    if bytes.len() < HEADER_LEN {
        return Err(bad(format!(
            "it holds only {} bytes, less than the {HEADER_LEN}-byte header",
            bytes.len()
        )));
    }
    let word = |i: usize| u32::from_be_bytes(bytes[4 * i..4 * i + 4].try_into().expect("4 bytes"));
    let magic = word(0);
    if magic != IDX3_UBYTE_MAGIC {
        let why = if bytes.starts_with(&[0x1f, 0x8b]) {
            "the file is gzip-compressed; add .gz to its name or decompress it".to_owned()
        } else if magic == IDX1_UBYTE_MAGIC {
            "magic number 0x00000801 marks an IDX label file, not images (0x00000803)".to_owned()
        } else {
            format!("magic number is 0x{magic:08x}, expected 0x00000803")
        };
        return Err(bad(why));
    }
    let (count, rows, cols) = (word(1) as usize, word(2) as usize, word(3) as usize);
    if rows == 0 || cols == 0 {
        return Err(bad(format!("header says images of {rows}x{cols}")));
    }
    let have = bytes.len() - HEADER_LEN;
    let Some(want) = count.checked_mul(rows).and_then(|v| v.checked_mul(cols)) else {
        return Err(bad(format!(
            "header says {count} images of {rows}x{cols}, too many"
        )));
    };
    if have < want {
        return Err(bad(format!(
            "header says {count} images of {rows}x{cols} but the file holds only {have} bytes \
             of pixel data (truncated?)"
        )));
    }
    if have > want {
        return Err(bad(format!(
            "header says {count} images of {rows}x{cols} ({want} bytes) but the file holds \
             {have} bytes of pixel data"
        )));
    }
    Ok(Idx3 { count, rows, cols })
}

/// Defaults and limits of the options (the IDX files hold 60000 + 10000 images).
const ROOT: &str = "data/mnist";
const SIZE: u32 = 32;
const TRAIN_MAX: u32 = 60_000;
const TEST_MAX: u32 = 10_000;

/// The `dataset:` options of `name: mnist` as written.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct MnistOptions {
    /// Folder with the IDX files (default `data/mnist`).
    pub root: Option<String>,
    /// 28 (native) or 32 (the default, bilinear resize).
    pub size: Option<u32>,
    /// Threshold pixels at 0.5 to {0, 1} (default false).
    pub binarize: Option<bool>,
    /// Use the first N training images (default all 60,000).
    pub train_images: Option<u32>,
    /// Use the first N test images (default all 10,000).
    pub test_images: Option<u32>,
}

/// Resolved options of the MNIST reader.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MnistSpec {
    /// Folder with the IDX files. Part of the key only as written (the files
    /// themselves are checked by name and size when read).
    pub root: String,
    /// 28 (native) or 32 (bilinear resize as torchvision/PIL).
    pub size: u32,
    /// Threshold at 0.5.
    pub binarize: bool,
    /// Use the first N training images.
    pub train_images: u32,
    /// Use the first N test images.
    pub test_images: u32,
}

impl DatasetSource for MnistSpec {
    const NAME: &'static str = "mnist";
    type Options = MnistOptions;

    fn resolve(o: MnistOptions) -> Result<Self, ConfigIssue> {
        let root = resolve_root(o.root, Some(ROOT), Self::NAME)?;
        let size = o.size.unwrap_or(SIZE);
        if size != 28 && size != 32 {
            return Err(ConfigIssue::new(
                "dataset.size",
                format!("dataset.size must be 28 or 32 for dataset 'mnist', got {size}"),
            ));
        }
        let train_images = o.train_images.unwrap_or(TRAIN_MAX);
        check_count(train_images, "train_images", Some(TRAIN_MAX))?;
        let test_images = o.test_images.unwrap_or(TEST_MAX);
        check_count(test_images, "test_images", Some(TEST_MAX))?;
        Ok(MnistSpec {
            root,
            size,
            binarize: o.binarize.unwrap_or(false),
            train_images,
            test_images,
        })
    }

    fn size(&self) -> u32 {
        self.size
    }

    fn channels(&self) -> u32 {
        1
    }

    fn test_images(&self) -> Option<u32> {
        Some(self.test_images)
    }

    fn check_inputs(&self) -> Result<(), DataError> {
        let root = Path::new(&self.root);
        check_split(root, Split::Train)?;
        check_split(root, Split::Test)
    }

    fn load(&self, split: Split) -> Result<ImageSet, DataError> {
        let n = match split {
            Split::Train => self.train_images,
            Split::Test => self.test_images,
        };
        let root = Path::new(&self.root);
        load_split(root, split, n as usize, self.size as usize, self.binarize)
    }

    fn default_arch(&self) -> Result<Arch, String> {
        // Dalal's net is the one built for the native 28x28 digits.
        Ok(if self.size == 28 {
            Arch::DalalMnist
        } else {
            Arch::IrmaeMnist
        })
    }

    fn versions(&self) -> Vec<(&'static str, u32)> {
        vec![(Self::NAME, VERSION)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::resize::resize_bilinear_pil_u8;
    use flate2::write::GzEncoder;
    use flate2::Compression;
    use std::io::Write;

    /// An IDX3 file's bytes: `n` images of `rows`x`cols`, byte `p` of image `k` is
    /// `(k * 50 + p * 7) % 256`.
    fn idx_bytes(n: usize, rows: usize, cols: usize) -> Vec<u8> {
        let mut v = Vec::new();
        for w in [IDX3_UBYTE_MAGIC, n as u32, rows as u32, cols as u32] {
            v.extend_from_slice(&w.to_be_bytes());
        }
        for k in 0..n {
            for p in 0..rows * cols {
                v.push(((k * 50 + p * 7) % 256) as u8);
            }
        }
        v
    }

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut e = GzEncoder::new(Vec::new(), Compression::default());
        e.write_all(bytes).unwrap();
        e.finish().unwrap()
    }

    fn image_bytes(k: usize) -> Vec<u8> {
        idx_bytes(k + 1, 28, 28)[HEADER_LEN + k * 784..].to_vec()
    }

    #[test]
    fn loads_plain_file_with_limit_and_binarize() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(
            dir.path().join("train-images-idx3-ubyte"),
            idx_bytes(3, 28, 28),
        )
        .unwrap();
        let s = load_split(dir.path(), Split::Train, 100, 28, false).unwrap();
        assert_eq!((s.len(), s.channels, s.height, s.width), (3, 1, 28, 28));
        for k in 0..3 {
            let want: Vec<f32> = image_bytes(k).iter().map(|&b| b as f32 / 255.0).collect();
            assert_eq!(s.image(k), want.as_slice());
        }
        let two = load_split(dir.path(), Split::Train, 2, 28, false).unwrap();
        assert_eq!(two, s.first(2));
        assert!(load_split(dir.path(), Split::Train, 0, 28, false)
            .unwrap()
            .is_empty());

        let b = load_split(dir.path(), Split::Train, 3, 28, true).unwrap();
        for (v, raw) in b.pixels.iter().zip(&s.pixels) {
            assert_eq!(*v, if *raw > 0.5 { 1.0 } else { 0.0 });
        }
        // 127/255 < 0.5 < 128/255.
        let bytes = image_bytes(0);
        for (p, &byte) in bytes.iter().enumerate() {
            assert_eq!(b.image(0)[p], if byte >= 128 { 1.0 } else { 0.0 });
        }
    }

    #[test]
    fn resizes_to_32_like_pillow() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(
            dir.path().join("t10k-images-idx3-ubyte"),
            idx_bytes(3, 28, 28),
        )
        .unwrap();
        let s = load_split(dir.path(), Split::Test, 3, 32, false).unwrap();
        assert_eq!(
            (s.len(), s.height, s.width, s.image_len()),
            (3, 32, 32, 1024)
        );
        for k in 0..3 {
            let want: Vec<f32> = resize_bilinear_pil_u8(&image_bytes(k), 28, 28, 32, 32)
                .iter()
                .map(|&b| b as f32 / 255.0)
                .collect();
            assert_eq!(s.image(k), want.as_slice());
        }
        let b = load_split(dir.path(), Split::Test, 3, 32, true).unwrap();
        assert!(b.pixels.iter().all(|&v| v == 0.0 || v == 1.0));
        for (v, raw) in b.pixels.iter().zip(&s.pixels) {
            assert_eq!(*v, if *raw > 0.5 { 1.0 } else { 0.0 });
        }
    }

    #[test]
    fn gz_and_plain_agree_and_plain_wins() {
        let plain_dir = tempfile::tempdir().unwrap();
        let gz_dir = tempfile::tempdir().unwrap();
        fs::write(
            plain_dir.path().join("train-images-idx3-ubyte"),
            idx_bytes(3, 28, 28),
        )
        .unwrap();
        fs::write(
            gz_dir.path().join("train-images-idx3-ubyte.gz"),
            gzip(&idx_bytes(3, 28, 28)),
        )
        .unwrap();
        let a = load_split(plain_dir.path(), Split::Train, 3, 32, false).unwrap();
        let b = load_split(gz_dir.path(), Split::Train, 3, 32, false).unwrap();
        assert_eq!(a, b);
        // With both present the plain file is read: give the .gz a different count.
        fs::write(
            plain_dir.path().join("train-images-idx3-ubyte.gz"),
            gzip(&idx_bytes(1, 28, 28)),
        )
        .unwrap();
        let c = load_split(plain_dir.path(), Split::Train, 10, 28, false).unwrap();
        assert_eq!(c.len(), 3);
    }

    #[test]
    fn truncated_file_is_malformed_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let mut bytes = idx_bytes(3, 28, 28);
        bytes.truncate(HEADER_LEN + 2 * 784 + 100);
        fs::write(dir.path().join("t10k-images-idx3-ubyte"), &bytes).unwrap();
        let err = load_split(dir.path(), Split::Test, 3, 28, false).unwrap_err();
        assert!(matches!(err, DataError::Malformed { .. }), "{err:?}");
        let msg = err.to_string();
        assert!(
            msg.contains("t10k-images-idx3-ubyte is not a valid IDX image file"),
            "{msg}"
        );
        assert!(
            msg.contains("header says 3 images of 28x28 but the file holds only 1668 bytes"),
            "{msg}"
        );
        assert!(msg.contains("truncated"), "{msg}");

        // Trailing bytes are rejected too.
        let mut long = idx_bytes(3, 28, 28);
        long.push(0);
        fs::write(dir.path().join("t10k-images-idx3-ubyte"), &long).unwrap();
        let err = load_split(dir.path(), Split::Test, 3, 28, false).unwrap_err();
        assert!(matches!(err, DataError::Malformed { .. }), "{err:?}");

        // Shorter than the header.
        fs::write(dir.path().join("t10k-images-idx3-ubyte"), [0, 0, 8]).unwrap();
        let err = load_split(dir.path(), Split::Test, 3, 28, false).unwrap_err();
        assert!(err.to_string().contains("16-byte header"), "{err}");
    }

    #[test]
    fn truncated_or_corrupt_gzip_is_malformed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("train-images-idx3-ubyte.gz");
        let gz = gzip(&idx_bytes(3, 28, 28));
        fs::write(&path, &gz[..gz.len() / 2]).unwrap();
        let err = load_split(dir.path(), Split::Train, 3, 28, false).unwrap_err();
        assert!(matches!(err, DataError::Malformed { .. }), "{err:?}");
        let msg = err.to_string();
        assert!(
            msg.contains("train-images-idx3-ubyte.gz is not a valid gzip file"),
            "{msg}"
        );
        // Not gzip at all.
        fs::write(&path, idx_bytes(3, 28, 28)).unwrap();
        let err = load_split(dir.path(), Split::Train, 3, 28, false).unwrap_err();
        assert!(matches!(err, DataError::Malformed { .. }), "{err:?}");
        // One flipped byte in the payload: the CRC catches it.
        let mut bad = gz.clone();
        let at = bad.len() - 20;
        bad[at] ^= 0x40;
        fs::write(&path, &bad).unwrap();
        let err = load_split(dir.path(), Split::Train, 3, 28, false).unwrap_err();
        assert!(matches!(err, DataError::Malformed { .. }), "{err:?}");
        // A truncated IDX inside a valid gzip names the .gz file.
        let mut short = idx_bytes(3, 28, 28);
        short.truncate(1000);
        fs::write(&path, gzip(&short)).unwrap();
        let msg = load_split(dir.path(), Split::Train, 3, 28, false)
            .unwrap_err()
            .to_string();
        assert!(
            msg.starts_with(&format!("{} is not a valid IDX image file", path.display())),
            "{msg}"
        );
    }

    #[test]
    fn missing_folder_or_file_has_hint() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("data/mnist");
        let err = load_split(&root, Split::Train, 3, 28, false).unwrap_err();
        let DataError::MissingFile { path, hint } = &err else {
            panic!("{err:?}")
        };
        assert_eq!(path, &root.join("train-images-idx3-ubyte(.gz)"));
        assert!(hint.contains("does not exist"), "{hint}");
        let msg = err.to_string();
        assert!(
            msg.contains("train-images-idx3-ubyte(.gz). The folder"),
            "{msg}"
        );
        assert!(msg.contains("Download the four MNIST IDX files"), "{msg}");
        assert!(msg.contains("t10k-labels-idx1-ubyte.gz"), "{msg}");

        // Folder present, test file missing.
        fs::create_dir_all(&root).unwrap();
        fs::write(
            root.join("train-images-idx3-ubyte.gz"),
            gzip(&idx_bytes(1, 28, 28)),
        )
        .unwrap();
        let err = load_split(&root, Split::Test, 3, 28, false).unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, DataError::MissingFile { .. }));
        assert!(
            msg.contains("t10k-images-idx3-ubyte(.gz). Download"),
            "{msg}"
        );
    }

    #[test]
    fn wrong_magic_is_malformed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("train-images-idx3-ubyte");
        let mut bytes = idx_bytes(3, 28, 28);
        bytes[3] = 0x01; // 0x00000801: a label file
        fs::write(&path, &bytes).unwrap();
        let err = load_split(dir.path(), Split::Train, 3, 28, false).unwrap_err();
        assert!(matches!(err, DataError::Malformed { .. }), "{err:?}");
        assert!(err.to_string().contains("label file"), "{err}");
        bytes[2] = 0x09;
        fs::write(&path, &bytes).unwrap();
        let msg = load_split(dir.path(), Split::Train, 3, 28, false)
            .unwrap_err()
            .to_string();
        assert!(msg.contains("magic number is 0x00000901"), "{msg}");
        // A gzip file without the .gz suffix.
        fs::write(&path, gzip(&idx_bytes(3, 28, 28))).unwrap();
        let msg = load_split(dir.path(), Split::Train, 3, 28, false)
            .unwrap_err()
            .to_string();
        assert!(msg.contains("gzip-compressed"), "{msg}");
    }

    /// The real MNIST files in `data/mnist` of this checkout (the four IDX files,
    /// gzipped or not; CI links that folder): counts, and every resized pixel equal
    /// to Pillow 13's `Image.fromarray(img).resize((32, 32), Image.BILINEAR)`
    /// (blake3 of all output bytes, split by split). Without the files the test
    /// fails rather than passing without checking anything.
    #[test]
    fn real_mnist_matches_pillow() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/mnist");
        assert!(
            root.is_dir(),
            "this test needs the real MNIST files in {} (see data/README.md)",
            root.display()
        );
        for (split, n, golden) in [
            (Split::Train, 60_000, GOLDEN_TRAIN_32),
            (Split::Test, 10_000, GOLDEN_TEST_32),
        ] {
            let s = load_split(&root, split, usize::MAX, 32, false).unwrap();
            assert_eq!((s.len(), s.image_len()), (n, 1024));
            let bytes: Vec<u8> = s
                .pixels
                .iter()
                .map(|&v| (v * 255.0).round() as u8)
                .collect();
            assert_eq!(blake3::hash(&bytes).to_hex().as_str(), golden, "{split:?}");
            let native = load_split(&root, split, 5, 28, false).unwrap();
            assert_eq!((native.len(), native.image_len()), (5, 784));
        }
    }

    const GOLDEN_TRAIN_32: &str =
        "99fab4dae5a5747f6afdc11e9ad147955bd14bc8f60ff7ea61a140911687d7c9";
    const GOLDEN_TEST_32: &str = "8a983c50335a03e9874154c80200683dcecdad725c5742b4b21a923f8b976f68";
}
