//! The test batch a metric is computed on, with what several metrics share
//! computed once.

use rayon::prelude::*;

use crate::data::ImageSet;
use crate::eval::metrics::{ai_profile, SsimWindow};
use crate::spectral::fft::Fft2;
use crate::spectral::radial::RadialBins;

/// Test images, their reconstructions, and the per-batch state of the metrics:
/// the FFT plan, the radial bins, the SSIM window and both sets of AI profiles
/// (which spectrum.csv needs anyway, so `rmse_ai` reads them instead of
/// computing them again).
pub struct Batch<'a> {
    images: &'a ImageSet,
    recon: &'a [f32],
    /// FFT plan for the image size.
    pub fft: Fft2,
    /// Durall's radial bins for the image size.
    pub bins: RadialBins,
    /// SSIM's Gaussian window for the image size.
    pub ssim_window: SsimWindow,
    /// AI profile of each test image.
    pub real_profiles: Vec<Vec<f64>>,
    /// AI profile of each reconstruction.
    pub recon_profiles: Vec<Vec<f64>>,
}

impl<'a> Batch<'a> {
    /// The batch of `images` and `recon` (their reconstructions, same layout).
    pub fn new(images: &'a ImageSet, recon: &'a [f32]) -> Batch<'a> {
        let (c, h, w) = (images.channels, images.height, images.width);
        let fft = Fft2::new(h, w);
        let bins = RadialBins::durall(h, w);
        let len = images.image_len();
        let profiles = |image: &(dyn Fn(usize) -> &'a [f32] + Sync)| -> Vec<Vec<f64>> {
            (0..images.len())
                .into_par_iter()
                .map(|i| ai_profile(&fft, &bins, image(i), c))
                .collect()
        };
        let real_profiles = profiles(&|i| images.image(i));
        let recon_profiles = profiles(&|i| &recon[i * len..(i + 1) * len]);
        Batch {
            images,
            recon,
            ssim_window: SsimWindow::new(h, w),
            fft,
            bins,
            real_profiles,
            recon_profiles,
        }
    }

    /// Multiplies every AI profile by `factor`: profiles are computed as
    /// 20·ln|F|, and `eval.ai_scale: db` asks for 20·log10|F| = 20·ln|F| / ln 10.
    pub fn rescale_profiles(&mut self, factor: f64) {
        if factor != 1.0 {
            for profile in self
                .real_profiles
                .iter_mut()
                .chain(&mut self.recon_profiles)
            {
                profile.iter_mut().for_each(|v| *v *= factor);
            }
        }
    }

    /// Number of test images.
    pub fn len(&self) -> usize {
        self.images.len()
    }

    /// Whether the batch has no images.
    pub fn is_empty(&self) -> bool {
        self.images.len() == 0
    }

    /// Channels per image.
    pub fn channels(&self) -> usize {
        self.images.channels
    }

    /// Test image `i` (`C×H×W`).
    pub fn real(&self, i: usize) -> &'a [f32] {
        self.images.image(i)
    }

    /// The reconstruction of test image `i` (`C×H×W`).
    pub fn recon(&self, i: usize) -> &'a [f32] {
        let len = self.images.image_len();
        &self.recon[i * len..(i + 1) * len]
    }
}
