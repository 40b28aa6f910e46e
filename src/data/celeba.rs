//! Aligned CelebA from the official files (docs/methods.md#celeba).
//!
//! The root folder holds `img_align_celeba/*.jpg` (178 wide x 218 high) and
//! `list_eval_partition.txt`, whose lines read `000001.jpg 0` (0 train, 1 val,
//! 2 test). A split is the first N images of its partition in file order. Each
//! image is decoded to RGB, cropped to the box left 15, top 35, right 163, bottom
//! 183 (torchvision's `CenterCrop(148)`), resized to `size` x `size` with Pillow's
//! bilinear filter (antialiased: its support is scaled by 148 / size), and divided
//! by 255 (`ToTensor`), as IRMAE's transform does.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use serde::{Deserialize, Serialize};

use super::image_file::{load_images, CropResize};
use super::source::{check_count, check_size, resolve_root, DatasetSource, Split};
use super::{resize, DataError, ImageSet};
use crate::pipeline::schema::{Arch, ConfigIssue};

/// Version of the CelebA reader.
/// Part of the keys of the nodes that use it: bump it when a change alters
/// results (see `crate::code_version`).
pub const VERSION: u32 = 1;

/// The folder of aligned JPEGs inside the root.
pub const IMAGE_DIR: &str = "img_align_celeba";

/// The partition list inside the root.
pub const PARTITION_FILE: &str = "list_eval_partition.txt";

/// Width and height of every aligned image.
pub const IMAGE_SIZE: (usize, usize) = (178, 218);

/// The crop box (left, top, right, bottom), as PIL's `crop` takes it.
pub const CROP_BOX: (usize, usize, usize, usize) = (15, 35, 163, 183);

/// One of the three official partitions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Partition {
    /// `0`: 162,770 images.
    Train,
    /// `1`: 19,867 images.
    Val,
    /// `2`: 19,962 images.
    Test,
}

impl Partition {
    /// The partition of a digit in the partition file.
    fn from_digit(digit: &str) -> Option<Partition> {
        match digit {
            "0" => Some(Partition::Train),
            "1" => Some(Partition::Val),
            "2" => Some(Partition::Test),
            _ => None,
        }
    }

    /// The name used in messages.
    fn name(self) -> &'static str {
        match self {
            Partition::Train => "train (0)",
            Partition::Val => "val (1)",
            Partition::Test => "test (2)",
        }
    }
}

/// Where to get the files, for messages about missing ones.
fn download_hint(root: &Path) -> String {
    let command = crate::fetch::hint::get_command(crate::fetch::Dataset::Celeba, root);
    let root = root.display();
    format!(
        "Download them with `{command}` (verified; CelebA is for non-commercial research \
         only, see docs/data.md), or by hand: img_align_celeba.zip and {PARTITION_FILE} from the CelebA site \
         (\"Align&Cropped Images\" and \"Eval\") and unpack them so that \
         {root}/{IMAGE_DIR}/000001.jpg and {root}/{PARTITION_FILE} exist, or point \
         dataset.root elsewhere."
    )
}

/// The image files of `partition`, the first `limit` in partition-file order.
///
/// # Errors
/// [`DataError::MissingFile`] if the partition file is missing,
/// [`DataError::Malformed`] if a line is not `<file name> <0|1|2>` or the partition
/// has no image, [`DataError::Io`] if reading fails.
pub fn split_files(
    root: &Path,
    partition: Partition,
    limit: usize,
) -> Result<Vec<PathBuf>, DataError> {
    let path = root.join(PARTITION_FILE);
    let text = fs::read(&path).map_err(|source| match source.kind() {
        io::ErrorKind::NotFound => DataError::MissingFile {
            path: path.clone(),
            hint: download_hint(root),
        },
        _ => DataError::Io {
            path: path.clone(),
            source,
        },
    })?;
    let bad = |reason: String| DataError::Malformed {
        path: path.clone(),
        reason: format!("CelebA partition file: {reason}"),
    };
    let text = String::from_utf8(text).map_err(|e| bad(format!("not UTF-8 text ({e})")))?;
    let images = root.join(IMAGE_DIR);
    let mut files = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let (name, part) = match fields.as_slice() {
            [] => continue,
            [name, digit] => match Partition::from_digit(digit) {
                Some(part) => (*name, part),
                None => return Err(bad(line_error(i, line))),
            },
            _ => return Err(bad(line_error(i, line))),
        };
        if part == partition && files.len() < limit {
            files.push(images.join(name));
        }
    }
    if files.is_empty() {
        return Err(bad(format!(
            "it lists no image of the {} partition",
            partition.name()
        )));
    }
    Ok(files)
}

/// The message for an unreadable partition line (`i` counts from 0).
fn line_error(i: usize, line: &str) -> String {
    format!(
        "line {}: expected `<file name> <0|1|2>`, got `{}`",
        i + 1,
        line.trim()
    )
}

/// Checks, before anything is written, that the partition file is valid and that
/// every image the two splits need exists (the images are decoded only when the
/// dataset is built).
///
/// # Errors
/// As [`split_files`]; [`DataError::MissingFile`] for the first missing image.
pub fn check(
    root: &Path,
    test: Partition,
    train_images: usize,
    test_images: usize,
) -> Result<(), DataError> {
    let dir = root.join(IMAGE_DIR);
    if !dir.is_dir() {
        return Err(DataError::MissingFile {
            path: dir,
            hint: download_hint(root),
        });
    }
    for (part, n) in [(Partition::Train, train_images), (test, test_images)] {
        let files = split_files(root, part, n)?;
        let missing = files.par_iter().position_first(|f| !f.is_file());
        if let Some(i) = missing {
            return Err(DataError::MissingFile {
                path: files[i].clone(),
                hint: download_hint(root),
            });
        }
    }
    Ok(())
}

/// Reads the first `limit` images of `partition` as 3 x `size` x `size` images in
/// `[0, 1]` (decoded in parallel).
///
/// # Errors
/// As [`split_files`]; for an image: [`DataError::MissingFile`] if it is missing,
/// [`DataError::Malformed`] if it does not decode, is truncated or is not 178x218.
///
/// # Panics
/// If `size` is 0.
pub fn load_split(
    root: &Path,
    partition: Partition,
    limit: usize,
    size: usize,
) -> Result<ImageSet, DataError> {
    let files = split_files(root, partition, limit)?;
    load_files(&files, size, &download_hint(root))
}

/// Reads aligned CelebA JPEGs (any names) as 3 x `size` x `size` images in
/// `[0, 1]`, in the order given, decoding in parallel; `missing_hint` is added to
/// the message about a missing file.
///
/// # Errors
/// As [`load_split`] for the images.
///
/// # Panics
/// If `size` is 0.
pub fn load_files(
    files: &[PathBuf],
    size: usize,
    missing_hint: &str,
) -> Result<ImageSet, DataError> {
    assert!(size > 0, "CelebA images need a positive size");
    let (left, top, right, bottom) = CROP_BOX;
    let crop = CropResize::new(left, top, right - left, bottom - top, size);
    let (width, height) = IMAGE_SIZE;
    let pixels = load_images(
        files,
        3 * size * size,
        missing_hint,
        |path, image, out, scratch| {
            if (image.width, image.height) != (width, height) {
                return Err(DataError::Malformed {
                    path: path.to_owned(),
                    reason: format!(
                        "aligned CelebA image: it is {}x{} pixels, expected {width}x{height}",
                        image.width, image.height
                    ),
                });
            }
            crop.apply_unit(&image.into_rgb(), out, scratch);
            Ok(())
        },
    )?;
    Ok(ImageSet {
        channels: 3,
        height: size,
        width: size,
        pixels,
    })
}

/// Defaults of the options and the sizes of the official partitions.
const ROOT: &str = "data/celeba";
const SIZE: u32 = 64;
const TRAIN_MAX: u32 = 162_770;
const VAL_MAX: u32 = 19_867;
const TEST_MAX: u32 = 19_962;

/// Which official CelebA partition serves as the test set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CelebaSplit {
    /// Partition 1 of `list_eval_partition.txt` (19,867 images).
    Val,
    /// Partition 2 (19,962 images).
    Test,
}

impl CelebaSplit {
    /// The partition of the file that this choice reads.
    pub fn partition(self) -> Partition {
        match self {
            CelebaSplit::Val => Partition::Val,
            CelebaSplit::Test => Partition::Test,
        }
    }
}

/// The `dataset:` options of `name: celeba` as written.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct CelebaOptions {
    /// Folder with `img_align_celeba/` and the partition file (default `data/celeba`).
    pub root: Option<String>,
    /// Output side after the centre crop (default 64).
    pub size: Option<u32>,
    /// First N images of the training partition (default all).
    pub train_images: Option<u32>,
    /// First N images of the test partition (default all).
    pub test_images: Option<u32>,
    /// The partition used as the test set (default `test`).
    pub test_split: Option<CelebaSplit>,
}

/// Resolved options of the CelebA reader. The root is part of the key only as
/// written: files edited in place need `--force`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CelebaSpec {
    /// Folder with `img_align_celeba/` and `list_eval_partition.txt`.
    pub root: String,
    /// Output side after the 148x148 centre crop (64 for IRMAE / Björk).
    pub size: u32,
    /// First N images of partition 0 (train), in partition-file order.
    pub train_images: u32,
    /// First N images of the test partition, in partition-file order.
    pub test_images: u32,
    /// Which partition is the test set.
    pub test_split: CelebaSplit,
}

impl DatasetSource for CelebaSpec {
    const NAME: &'static str = "celeba";
    type Options = CelebaOptions;

    fn resolve(o: CelebaOptions) -> Result<Self, ConfigIssue> {
        let root = resolve_root(o.root, Some(ROOT), Self::NAME)?;
        let size = o.size.unwrap_or(SIZE);
        check_size(size)?;
        let test_split = o.test_split.unwrap_or(CelebaSplit::Test);
        let test_max = match test_split {
            CelebaSplit::Val => VAL_MAX,
            CelebaSplit::Test => TEST_MAX,
        };
        let train_images = o.train_images.unwrap_or(TRAIN_MAX);
        check_count(train_images, "train_images", Some(TRAIN_MAX))?;
        let test_images = o.test_images.unwrap_or(test_max);
        check_count(test_images, "test_images", Some(test_max))?;
        Ok(CelebaSpec {
            root,
            size,
            train_images,
            test_images,
            test_split,
        })
    }

    fn size(&self) -> u32 {
        self.size
    }

    fn channels(&self) -> u32 {
        3
    }

    fn test_images(&self) -> Option<u32> {
        Some(self.test_images)
    }

    fn check_inputs(&self) -> Result<(), DataError> {
        check(
            Path::new(&self.root),
            self.test_split.partition(),
            self.train_images as usize,
            self.test_images as usize,
        )
    }

    fn load(&self, split: Split) -> Result<ImageSet, DataError> {
        let (partition, n) = match split {
            Split::Train => (Partition::Train, self.train_images),
            Split::Test => (self.test_split.partition(), self.test_images),
        };
        load_split(
            Path::new(&self.root),
            partition,
            n as usize,
            self.size as usize,
        )
    }

    fn default_arch(&self) -> Result<Arch, String> {
        Ok(Arch::IrmaeCeleba)
    }

    fn versions(&self) -> Vec<(&'static str, u32)> {
        vec![(Self::NAME, VERSION), ("resize", resize::VERSION)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::image_file::tests::{jpeg_bytes, test_rgb};

    /// Writes a CelebA tree whose partition file lists `parts` (file `00000k.jpg`
    /// for entry k-1, image seed k); returns the root.
    fn write_tree(parts: &[u8]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let images = dir.path().join(IMAGE_DIR);
        fs::create_dir_all(&images).unwrap();
        let mut list = String::new();
        for (i, part) in parts.iter().enumerate() {
            let name = format!("{:06}.jpg", i + 1);
            let img = test_rgb(178, 218, i as u32 + 1);
            fs::write(images.join(&name), jpeg_bytes(&img)).unwrap();
            list.push_str(&format!("{name} {part}\n"));
        }
        fs::write(dir.path().join(PARTITION_FILE), list).unwrap();
        dir
    }

    /// Independent reference for one image: decode with `image`, then for every
    /// output pixel the full 2-D sum over the 148x148 crop of the product of the two
    /// normalised triangle weights (support scaled by 148 / size), in f64 and
    /// without rounding, divided by 255.
    fn reference(path: &Path, size: usize) -> Vec<f64> {
        let img = image::open(path).unwrap().to_rgb8();
        let (left, top, right, _) = CROP_BOX;
        let side = right - left;
        let weights = |o: usize| -> Vec<f64> {
            let scale = side as f64 / size as f64;
            let support = scale.max(1.0);
            let center = (o as f64 + 0.5) * scale;
            let raw: Vec<f64> = (0..side)
                .map(|x| {
                    let t = ((x as f64 + 0.5 - center) / support).abs();
                    (1.0 - t).max(0.0)
                })
                .collect();
            let total: f64 = raw.iter().sum();
            raw.iter().map(|w| w / total).collect()
        };
        let w: Vec<Vec<f64>> = (0..size).map(weights).collect();
        let mut out = vec![0.0; 3 * size * size];
        for c in 0..3 {
            for oy in 0..size {
                for ox in 0..size {
                    let mut acc = 0.0;
                    for y in 0..side {
                        for x in 0..side {
                            let p = img.get_pixel((left + x) as u32, (top + y) as u32)[c];
                            acc += w[oy][y] * w[ox][x] * f64::from(p);
                        }
                    }
                    out[c * size * size + oy * size + ox] = acc / 255.0;
                }
            }
        }
        out
    }

    #[test]
    fn splits_follow_the_partition_file() {
        let dir = write_tree(&[0, 2, 0, 1, 2, 0]);
        let root = dir.path();
        check(root, Partition::Test, 100, 100).unwrap();
        let all = load_split(root, Partition::Train, 100, 16).unwrap();
        assert_eq!(
            (all.len(), all.channels, all.height, all.width),
            (3, 3, 16, 16)
        );
        let images = root.join(IMAGE_DIR);
        let one = |name: &str| load_files(&[images.join(name)], 16, "").unwrap();
        for (i, name) in ["000001.jpg", "000003.jpg", "000006.jpg"]
            .iter()
            .enumerate()
        {
            assert_eq!(all.image(i), one(name).pixels, "train image {i}");
        }
        assert_eq!(
            load_split(root, Partition::Train, 2, 16).unwrap(),
            all.first(2)
        );
        let test = load_split(root, Partition::Test, 100, 16).unwrap();
        assert_eq!(test.len(), 2);
        assert_eq!(test.image(1), one("000005.jpg").pixels);
        let val = load_split(root, Partition::Val, 100, 16).unwrap();
        assert_eq!(val.pixels, one("000004.jpg").pixels);
    }

    #[test]
    fn pixels_match_crop_and_triangle_filter() {
        let dir = write_tree(&[0, 0]);
        let path = dir.path().join(IMAGE_DIR).join("000002.jpg");
        for size in [64, 20] {
            let got = load_files(std::slice::from_ref(&path), size, "").unwrap();
            let want = reference(&path, size);
            let mut worst = 0.0f64;
            for (g, w) in got.pixels.iter().zip(&want) {
                worst = worst.max((f64::from(*g) - w).abs() * 255.0);
            }
            // Pillow's 8-bit path rounds after each pass: at most one level off.
            assert!(worst <= 1.0 + 1e-9, "size {size}: worst {worst} levels");
            assert!(got.pixels.iter().all(|v| (0.0..=1.0).contains(v)));
        }
    }

    #[test]
    fn bad_files_are_reported_by_name() {
        let dir = write_tree(&[0, 2, 0]);
        let root = dir.path();
        let images = root.join(IMAGE_DIR);
        // A missing image is found by the check, before anything is decoded.
        fs::remove_file(images.join("000003.jpg")).unwrap();
        let err = check(root, Partition::Test, 10, 10).unwrap_err();
        assert!(matches!(err, DataError::MissingFile { .. }), "{err}");
        assert!(err.to_string().contains("000003.jpg"), "{err}");
        assert!(err.to_string().contains("img_align_celeba.zip"), "{err}");
        // Only the first image of the split is needed: fine.
        check(root, Partition::Test, 1, 10).unwrap();
        // A truncated JPEG is found when decoding.
        let bytes = fs::read(images.join("000001.jpg")).unwrap();
        fs::write(images.join("000003.jpg"), &bytes[..bytes.len() / 2]).unwrap();
        let err = load_split(root, Partition::Train, 10, 8).unwrap_err();
        assert!(matches!(err, DataError::Malformed { .. }), "{err}");
        assert!(
            err.to_string()
                .contains("000003.jpg is not a valid JPEG image"),
            "{err}"
        );
        // A wrong size.
        fs::write(images.join("000003.jpg"), jpeg_bytes(&test_rgb(64, 64, 0))).unwrap();
        let err = load_split(root, Partition::Train, 10, 8).unwrap_err();
        assert!(
            err.to_string().contains("64x64 pixels, expected 178x218"),
            "{err}"
        );
        // A bad partition line names the line.
        fs::write(root.join(PARTITION_FILE), "000001.jpg 0\n000002.jpg 7\n").unwrap();
        let err = check(root, Partition::Test, 10, 10).unwrap_err();
        assert!(err.to_string().contains("line 2"), "{err}");
        assert!(err.to_string().contains(PARTITION_FILE), "{err}");
        // A partition without images, then a missing partition file.
        fs::write(root.join(PARTITION_FILE), "000001.jpg 0\n").unwrap();
        let err = check(root, Partition::Val, 10, 10).unwrap_err();
        assert!(
            err.to_string()
                .contains("no image of the val (1) partition"),
            "{err}"
        );
        fs::remove_file(root.join(PARTITION_FILE)).unwrap();
        let err = check(root, Partition::Test, 10, 10).unwrap_err();
        assert!(matches!(err, DataError::MissingFile { .. }), "{err}");
        assert!(err.to_string().contains(PARTITION_FILE), "{err}");
    }
}
