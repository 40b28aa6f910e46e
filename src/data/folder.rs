//! A generic image folder: `root/train/` and `root/test/`, each holding PNG or JPEG
//! files (`.png`, `.jpg`, `.jpeg`, any case) taken in file-name order.
//!
//! Each image is centre-cropped to its largest square (torchvision's
//! `CenterCrop(min(w, h))`), resized to `size` x `size` with Pillow's bilinear filter
//! (antialiased when shrinking) and divided by 255. With one channel, colour images
//! are converted after resizing with `0.2989 R + 0.5870 G + 0.1140 B` (the crate's
//! grey rule, as for Shape images); grey files keep their values. With three
//! channels grey files are repeated in R, G and B. Hidden files (names starting
//! with `.`) are ignored; any other file or a subfolder is an error, so that nothing
//! is skipped silently.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::image_file::{load_images, CropResize};
use serde::{Deserialize, Serialize};

use super::shapes::luminance;
use super::source::{check_channels, check_count, check_size, resolve_root, DatasetSource, Split};
use super::{resize, DataError, ImageSet};
use crate::pipeline::schema::{Arch, ConfigIssue};

/// Version of the image-folder reader.
/// Part of the keys of the nodes that use it: bump it when a change alters
/// results (see `crate::code_version`).
pub const VERSION: u32 = 1;

/// File name extensions that are read (compared without case).
const EXTENSIONS: [&str; 3] = ["png", "jpg", "jpeg"];

/// The subfolder that holds `split`.
pub fn dir_name(split: Split) -> &'static str {
    match split {
        Split::Train => "train",
        Split::Test => "test",
    }
}

/// What the folder must look like, for messages.
fn layout_hint(root: &Path) -> String {
    let root = root.display();
    format!(
        "Put the training images (PNG or JPEG) in {root}/train/ and the test images in \
         {root}/test/, or point dataset.root elsewhere."
    )
}

/// The image files of `split`, sorted by file name.
///
/// # Errors
/// [`DataError::MissingFile`] if the subfolder does not exist,
/// [`DataError::Malformed`] for a subfolder or a file that is not `.png`, `.jpg` or
/// `.jpeg`, or when there is no image, [`DataError::Io`] if listing fails.
pub fn list_files(root: &Path, split: Split) -> Result<Vec<PathBuf>, DataError> {
    let dir = root.join(dir_name(split));
    let io_error = |source: io::Error| match source.kind() {
        io::ErrorKind::NotFound => DataError::MissingFile {
            path: dir.clone(),
            hint: layout_hint(root),
        },
        _ => DataError::Io {
            path: dir.clone(),
            source,
        },
    };
    let mut files = Vec::new();
    for entry in fs::read_dir(&dir).map_err(io_error)? {
        let entry = entry.map_err(io_error)?;
        let path = entry.path();
        let name = entry.file_name();
        if name.to_string_lossy().starts_with('.') {
            continue;
        }
        let bad = |reason: &str| DataError::Malformed {
            path: path.clone(),
            reason: format!("image file: {reason}"),
        };
        if path.is_dir() {
            return Err(bad(&format!(
                "it is a folder; subfolders are not read, put the images directly in {}/",
                dir.display()
            )));
        }
        let known = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| EXTENSIONS.iter().any(|k| e.eq_ignore_ascii_case(k)));
        if !known {
            return Err(bad(
                "only .png, .jpg and .jpeg files are read (hidden files are ignored)",
            ));
        }
        files.push((name, path));
    }
    if files.is_empty() {
        return Err(DataError::Malformed {
            path: dir.clone(),
            reason: "image folder: it holds no .png, .jpg or .jpeg file".to_owned(),
        });
    }
    files.sort();
    Ok(files.into_iter().map(|(_, path)| path).collect())
}

/// Checks, before anything is written, that both subfolders exist and hold only
/// image files (the images are decoded when the dataset is built).
///
/// # Errors
/// As [`list_files`].
pub fn check(root: &Path) -> Result<(), DataError> {
    list_files(root, Split::Train)?;
    list_files(root, Split::Test).map(|_| ())
}

/// Reads the first `limit` images of `split` (all of them for `None` or when there
/// are fewer) as `channels` x `size` x `size` images in `[0, 1]`, decoding in
/// parallel.
///
/// # Errors
/// As [`list_files`]; [`DataError::Malformed`] naming a file that does not decode.
///
/// # Panics
/// If `size` is 0 or `channels` is not 1 or 3.
pub fn load_split(
    root: &Path,
    split: Split,
    limit: Option<usize>,
    size: usize,
    channels: usize,
) -> Result<ImageSet, DataError> {
    assert!(size > 0, "folder images need a positive size");
    assert!(
        channels == 1 || channels == 3,
        "1 or 3 channels, not {channels}"
    );
    let mut files = list_files(root, split)?;
    files.truncate(limit.unwrap_or(usize::MAX));
    let plane = size * size;
    let hint = layout_hint(root);
    let pixels = load_images(&files, channels * plane, &hint, |_, image, out, scratch| {
        let crop = CropResize::center_square(image.width, image.height, size);
        match (channels, image.channels) {
            (3, _) => crop.apply_unit(&image.into_rgb(), out, scratch),
            (_, 1) => crop.apply_unit(&image, out, scratch),
            _ => {
                let mut rgb = vec![0.0f32; 3 * plane];
                crop.apply_unit(&image, &mut rgb, scratch);
                let (r, gb) = rgb.split_at(plane);
                let (g, b) = gb.split_at(plane);
                for (i, o) in out.iter_mut().enumerate() {
                    *o = luminance(r[i], g[i], b[i]);
                }
            }
        }
        Ok(())
    })?;
    Ok(ImageSet {
        channels,
        height: size,
        width: size,
        pixels,
    })
}

/// Defaults of the options.
const SIZE: u32 = 64;
const CHANNELS: u32 = 3;

/// The `dataset:` options of `name: folder` as written.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct FolderOptions {
    /// Folder with `train/` and `test/` (required).
    pub root: Option<String>,
    /// Output side (default 64).
    pub size: Option<u32>,
    /// 1 (grey) or 3 (RGB, the default).
    pub channels: Option<u32>,
    /// First N files of `train/` (default all).
    pub train_images: Option<u32>,
    /// First N files of `test/` (default all).
    pub test_images: Option<u32>,
}

/// Resolved options of the image-folder reader.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FolderSpec {
    /// Folder with `train/` and `test/` subfolders of PNG/JPEG files.
    pub root: String,
    /// Output side (centre crop to a square, then resize).
    pub size: u32,
    /// 1 (grey) or 3 (RGB).
    pub channels: u32,
    /// First N files of `train/` by file name; `None`: all of them.
    pub train_images: Option<u32>,
    /// First N files of `test/` by file name; `None`: all of them.
    pub test_images: Option<u32>,
}

impl DatasetSource for FolderSpec {
    const NAME: &'static str = "folder";
    type Options = FolderOptions;

    fn resolve(o: FolderOptions) -> Result<Self, ConfigIssue> {
        let root = resolve_root(o.root, None, Self::NAME)?;
        let size = o.size.unwrap_or(SIZE);
        check_size(size)?;
        let channels = o.channels.unwrap_or(CHANNELS);
        check_channels(channels)?;
        if let Some(n) = o.train_images {
            check_count(n, "train_images", None)?;
        }
        if let Some(n) = o.test_images {
            check_count(n, "test_images", None)?;
        }
        Ok(FolderSpec {
            root,
            size,
            channels,
            train_images: o.train_images,
            test_images: o.test_images,
        })
    }

    fn size(&self) -> u32 {
        self.size
    }

    fn channels(&self) -> u32 {
        self.channels
    }

    fn test_images(&self) -> Option<u32> {
        self.test_images
    }

    fn check_inputs(&self) -> Result<(), DataError> {
        check(Path::new(&self.root))
    }

    fn load(&self, split: Split) -> Result<ImageSet, DataError> {
        let n = match split {
            Split::Train => self.train_images,
            Split::Test => self.test_images,
        };
        let (size, channels) = (self.size as usize, self.channels as usize);
        let limit = n.map(|n| n as usize);
        load_split(Path::new(&self.root), split, limit, size, channels)
    }

    fn default_arch(&self) -> Result<Arch, String> {
        // Any images can be resized to fit, so pick the net whose input they match.
        let (channels, size) = (self.channels, self.size);
        match (channels, size) {
            (3, 64) => Ok(Arch::IrmaeCeleba),
            (_, 32) => Ok(Arch::IrmaeShape),
            (1, 28) => Ok(Arch::DalalMnist),
            _ => Err(format!("no network takes the {channels}x{size}x{size} images of this folder dataset: use dataset.size 32 (irmae_shape), 64 with channels 3 (irmae_celeba) or 28 with channels 1 (dalal_mnist)")),
        }
    }

    fn versions(&self) -> Vec<(&'static str, u32)> {
        vec![(Self::NAME, VERSION), ("resize", resize::VERSION)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::image_file::tests::{jpeg_bytes, png_bytes, test_rgb};
    use image::ImageEncoder;

    /// A folder dataset with the given files in `train/` and one PNG in `test/`.
    fn write_tree(train: &[(&str, Vec<u8>)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for split in ["train", "test"] {
            fs::create_dir_all(dir.path().join(split)).unwrap();
        }
        for (name, bytes) in train {
            fs::write(dir.path().join("train").join(name), bytes).unwrap();
        }
        fs::write(dir.path().join("test/a.png"), png_bytes(&test_rgb(8, 8, 9))).unwrap();
        dir
    }

    #[test]
    fn files_are_sorted_and_centre_cropped_exactly() {
        // 10 wide x 6 high: the centred 6x6 square starts at column 2.
        let wide = test_rgb(10, 6, 1);
        let square = test_rgb(6, 6, 2);
        let dir = write_tree(&[
            ("b.png", png_bytes(&square)),
            ("a.PNG", png_bytes(&wide)),
            (".DS_Store", vec![1, 2, 3]),
        ]);
        check(dir.path()).unwrap();
        let set = load_split(dir.path(), Split::Train, None, 6, 3).unwrap();
        assert_eq!((set.len(), set.channels, set.height), (2, 3, 6));
        for (i, (img, left)) in [(&wide, 2u32), (&square, 0)].into_iter().enumerate() {
            for c in 0..3 {
                for y in 0..6u32 {
                    for x in 0..6u32 {
                        let want = f32::from(img.get_pixel(left + x, y)[c]) / 255.0;
                        let at = c * 36 + (y * 6 + x) as usize;
                        assert_eq!(set.image(i)[at], want, "image {i} c{c} y{y} x{x}");
                    }
                }
            }
        }
        assert_eq!(
            load_split(dir.path(), Split::Train, Some(1), 6, 3).unwrap(),
            set.first(1)
        );
    }

    #[test]
    fn grey_is_the_luminance_of_rgb_and_grey_files_keep_values() {
        let img = test_rgb(5, 5, 3);
        let mut grey_png = Vec::new();
        image::codecs::png::PngEncoder::new(&mut grey_png)
            .write_image(&[0, 51, 102, 255], 2, 2, image::ExtendedColorType::L8)
            .unwrap();
        let dir = write_tree(&[("1.png", png_bytes(&img)), ("2.png", grey_png)]);
        let grey = load_split(dir.path(), Split::Train, None, 5, 1).unwrap();
        let rgb = load_split(dir.path(), Split::Train, Some(1), 5, 3).unwrap();
        assert_eq!(grey.channels, 1);
        for i in 0..25 {
            let p = img.get_pixel((i % 5) as u32, (i / 5) as u32);
            let [r, g, b] = [0, 1, 2].map(|c| f32::from(p[c]) / 255.0);
            let want = 0.2989 * r + 0.5870 * g + 0.1140 * b;
            assert_eq!(grey.image(0)[i], want, "pixel {i}");
            assert_eq!(rgb.image(0)[50 + i], b);
        }
        // 2x2 grey file resized to 5x5: a grey source is not reweighted by 0.9999.
        let small = load_split(dir.path(), Split::Train, None, 2, 1).unwrap();
        assert_eq!(small.image(1), &[0.0, 0.2, 0.4, 1.0]);
        // Resizing a 5x5 RGB file to 2x2 still takes the luminance of each value.
        let tiny_rgb = load_split(dir.path(), Split::Train, Some(1), 2, 3).unwrap();
        let tiny = load_split(dir.path(), Split::Train, Some(1), 2, 1).unwrap();
        for i in 0..4 {
            let v = &tiny_rgb.image(0);
            assert_eq!(
                tiny.image(0)[i],
                0.2989 * v[i] + 0.5870 * v[4 + i] + 0.1140 * v[8 + i]
            );
        }
    }

    #[test]
    fn jpeg_files_and_bad_files_are_reported_by_name() {
        let dir = write_tree(&[("x.jpg", jpeg_bytes(&test_rgb(12, 9, 4)))]);
        assert_eq!(
            load_split(dir.path(), Split::Train, None, 4, 3)
                .unwrap()
                .len(),
            1
        );
        let bytes = jpeg_bytes(&test_rgb(12, 9, 4));
        fs::write(dir.path().join("train/y.jpeg"), &bytes[..bytes.len() - 10]).unwrap();
        let err = load_split(dir.path(), Split::Train, None, 4, 3).unwrap_err();
        assert!(
            err.to_string().contains("y.jpeg is not a valid JPEG image"),
            "{err}"
        );
        fs::write(dir.path().join("train/y.jpeg"), b"not an image").unwrap();
        let err = load_split(dir.path(), Split::Train, None, 4, 3).unwrap_err();
        assert!(
            err.to_string()
                .contains("y.jpeg is not a valid PNG or JPEG"),
            "{err}"
        );
        fs::write(dir.path().join("train/notes.txt"), b"hi").unwrap();
        let err = check(dir.path()).unwrap_err();
        assert!(err.to_string().contains("notes.txt"), "{err}");
        fs::remove_file(dir.path().join("train/notes.txt")).unwrap();
        fs::create_dir(dir.path().join("train/cats")).unwrap();
        assert!(check(dir.path())
            .unwrap_err()
            .to_string()
            .contains("cats is not a valid image file: it is a folder"));
        fs::remove_dir(dir.path().join("train/cats")).unwrap();
        fs::remove_file(dir.path().join("test/a.png")).unwrap();
        let err = check(dir.path()).unwrap_err();
        assert!(err.to_string().contains("holds no .png"), "{err}");
        fs::remove_dir(dir.path().join("test")).unwrap();
        let err = check(dir.path()).unwrap_err();
        assert!(matches!(err, DataError::MissingFile { .. }), "{err}");
        assert!(err.to_string().contains("test/"), "{err}");
    }
}
