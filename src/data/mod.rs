//! Datasets: in-memory image sets, the Shape generator, the MNIST, CelebA, CIFAR-10
//! and image-folder readers, Pillow-compatible resizing and the on-disk dataset cache.
//!
//! Every dataset is materialised as two [`ImageSet`]s of `f32` pixels in `[0, 1]`,
//! laid out image by image as channels x rows x columns (PyTorch's N x C x H x W).
//! Each dataset implements [`source::DatasetSource`] in its own module and is
//! listed once in [`registry`]; the code here handles every dataset alike.

pub mod cache;
pub mod celeba;
pub mod cifar10;
pub mod folder;
pub mod image_file;
pub mod mnist;
pub mod registry;
pub mod resize;
pub mod shapes;
pub mod source;

use std::io;
use std::path::PathBuf;

pub use registry::DatasetSpec;
pub use source::{DatasetSource, Split};

/// A batch of equally sized images stored contiguously.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageSet {
    /// Channels per image (1 grey, 3 RGB).
    pub channels: usize,
    /// Rows per image.
    pub height: usize,
    /// Columns per image.
    pub width: usize,
    /// N x C x H x W values in `[0, 1]`; image `i` starts at `i * image_len()`.
    pub pixels: Vec<f32>,
}

impl ImageSet {
    /// Number of values in one image (`channels * height * width`).
    pub fn image_len(&self) -> usize {
        self.channels * self.height * self.width
    }

    /// Number of images.
    pub fn len(&self) -> usize {
        match self.image_len() {
            0 => 0,
            l => self.pixels.len() / l,
        }
    }

    /// Whether there are no images.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The values of image `i` (C x H x W).
    ///
    /// # Panics
    /// If `i >= len()`.
    pub fn image(&self, i: usize) -> &[f32] {
        let l = self.image_len();
        &self.pixels[i * l..(i + 1) * l]
    }

    /// A copy of the first `n` images (all of them if there are fewer).
    pub fn first(&self, n: usize) -> ImageSet {
        let n = n.min(self.len());
        ImageSet {
            channels: self.channels,
            height: self.height,
            width: self.width,
            pixels: self.pixels[..n * self.image_len()].to_vec(),
        }
    }
}

/// The training and test images of one dataset.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    /// Images used for training, in training order.
    pub train: ImageSet,
    /// Held-out images; evaluation uses the first N.
    pub test: ImageSet,
}

/// Why a dataset could not be read. Each message is one sentence naming the file.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// A required input file does not exist; `hint` says how to get it.
    #[error("dataset file not found: {}. {hint}", path.display())]
    MissingFile {
        /// The file that was looked for (may show alternatives, e.g. `name(.gz)`).
        path: PathBuf,
        /// What to do about it.
        hint: String,
    },
    /// A file exists but its content is wrong. `reason` starts with the expected
    /// format because the message reads "`<path>` is not a valid `<reason>`", e.g.
    /// "IDX image file: header says ... (truncated?)".
    #[error("{} is not a valid {reason}", path.display())]
    Malformed {
        /// The offending file.
        path: PathBuf,
        /// The expected format, a colon, and what is wrong.
        reason: String,
    },
    /// The operating system failed to open or read a file.
    #[error("could not read {}: {source}", path.display())]
    Io {
        /// The file being read.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// Writing the dataset cache failed (a full disk, a read-only folder).
    #[error("could not write the dataset cache {}: {source}", path.display())]
    Write {
        /// The cache folder.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
}

/// Checks the user's input files of `spec` (nothing to check for generated data),
/// so that a missing or damaged file is reported before anything is written.
pub fn check_inputs(spec: &DatasetSpec) -> Result<(), DataError> {
    spec.check_inputs()
}

/// Builds (generates or reads) the dataset described by `spec`.
///
/// The two splits are produced concurrently; each is itself parallel.
pub fn build(spec: &DatasetSpec) -> Result<Dataset, DataError> {
    let (train, test) = rayon::join(|| spec.load(Split::Train), || spec.load(Split::Test));
    Ok(Dataset {
        train: train?,
        test: test?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::shapes::{GrayMode, ShapesSpec};

    fn set(n: usize) -> ImageSet {
        ImageSet {
            channels: 1,
            height: 2,
            width: 3,
            pixels: (0..n * 6).map(|v| v as f32).collect(),
        }
    }

    #[test]
    fn image_set_accessors() {
        let s = set(4);
        assert_eq!(s.image_len(), 6);
        assert_eq!(s.len(), 4);
        assert!(!s.is_empty());
        assert_eq!(s.image(2), &[12.0, 13.0, 14.0, 15.0, 16.0, 17.0]);
        let f = s.first(2);
        assert_eq!(f.len(), 2);
        assert_eq!(f.pixels, s.pixels[..12]);
        assert_eq!(s.first(10).len(), 4);
        assert!(set(0).is_empty());
    }

    #[test]
    fn build_shapes_uses_both_seeds() {
        let spec = DatasetSpec::Shapes(ShapesSpec {
            size: 32,
            channels: 1,
            gray: Some(GrayMode::Luminance),
            train_images: 20,
            test_images: 10,
            train_seed: 1,
            test_seed: 2,
        });
        let ds = build(&spec).unwrap();
        assert_eq!((ds.train.len(), ds.test.len()), (20, 10));
        assert_eq!(ds.train.image_len(), 32 * 32);
        assert_eq!(
            ds.train,
            shapes::generate(20, 32, 1, Some(GrayMode::Luminance), 1)
        );
        assert_eq!(
            ds.test,
            shapes::generate(10, 32, 1, Some(GrayMode::Luminance), 2)
        );
    }
}
