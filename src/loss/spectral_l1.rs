//! Amplitude-only spectral L1: the mean absolute difference between the DFT
//! amplitudes of the reconstruction and of the data.
//!
//! Björk et al. report trying a spectral loss on amplitudes and phases similar to
//! Fuoli's besides their FFT loss; this term is its plain amplitude half (for the
//! full Fuoli loss see [`super::fuoli`]). Per image and channel:
//! `(1/n) Σ_uv | |F{x̂}|_uv − |F{x}|_uv |` over the full 2-D DFT, `n = H·W`, then
//! the mean over the batch and channels. The phase is ignored, so images whose
//! spectra differ only in phase (a circular shift) cost nothing.
//!
//! It is also the worked example of `docs/extending.md`: this file and one line
//! in [`super::registry`] are the whole term.

use burn::tensor::{backend::Backend, Tensor};
use serde::{Deserialize, Serialize};

use super::fft::FftNorm;
use super::term::{Domain, ImageShape, TermInput, TermLoss, TermOptions};
use crate::spectral::tensor::{guarded_magnitude, Normalization, SeparableDft};

/// Added to Re² + Im² under the square root: keeps d|F|/dF finite (zero) at F = 0.
const MAGNITUDE_TINY: f64 = 1e-20;

/// Options of the amplitude-only spectral L1 term.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct SpectralL1Term {
    /// Weight in the mix (>= 0).
    pub weight: f64,
    /// DFT normalisation: `ortho` (default) keeps the term's size independent of
    /// the image size, like a pixel L1; `backward` is the unnormalised DFT.
    pub norm: FftNorm,
}

impl Default for SpectralL1Term {
    fn default() -> Self {
        SpectralL1Term {
            weight: 1.0,
            norm: FftNorm::Ortho,
        }
    }
}

impl TermOptions for SpectralL1Term {
    const NAME: &'static str = "spectral_l1";
    const DOMAIN: Domain = Domain::Frequency;
    const VERSION: u32 = 1;
    const SUMMARY: &'static str = "mean absolute difference of the 2-D DFT amplitudes";

    fn weight(&self) -> f64 {
        self.weight
    }

    fn build<B: Backend>(&self, image: ImageShape, device: &B::Device) -> Box<dyn TermLoss<B>> {
        Box::new(SpectralL1Loss::new(
            image.height,
            image.width,
            self.norm,
            device,
        ))
    }
}

/// The built term: the DFT matrices for one image size.
#[derive(Debug, Clone)]
pub struct SpectralL1Loss<B: Backend> {
    dft: SeparableDft<B>,
}

impl<B: Backend> SpectralL1Loss<B> {
    /// Builds the DFT matrices for `height` x `width` images.
    pub fn new(height: usize, width: usize, norm: FftNorm, device: &B::Device) -> Self {
        let norm = match norm {
            FftNorm::Backward => Normalization::Backward,
            FftNorm::Ortho => Normalization::Ortho,
        };
        SpectralL1Loss {
            dft: SeparableDft::full(height, width, norm, device),
        }
    }

    /// The loss between `recon` and `target` (pixel values `[B, C, H, W]`).
    pub fn between(&self, recon: Tensor<B, 4>, target: Tensor<B, 4>) -> Tensor<B, 1> {
        let amplitude = |x: Tensor<B, 4>| {
            let (re, im) = self.dft.forward(x);
            guarded_magnitude(re, im, MAGNITUDE_TINY)
        };
        // The mean over (batch, channel, u, v) is the per-image (1/n) sum averaged.
        (amplitude(recon) - amplitude(target)).abs().mean()
    }
}

impl<B: Backend> TermLoss<B> for SpectralL1Loss<B> {
    fn forward(&self, input: &TermInput<B>) -> Tensor<B, 1> {
        self.between(input.recon.clone(), input.target.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loss::testing::{assert_finite_on_edge_cases, check_gradient, scalar, tensor4, Ad};
    use crate::spectral::dft::{dft2_direct, test_values};

    fn build(norm: FftNorm, h: usize, w: usize) -> SpectralL1Loss<Ad> {
        SpectralL1Loss::new(h, w, norm, &Default::default())
    }

    /// The term in f64 from a direct DFT, image by image.
    fn reference(x: &[f64], y: &[f64], shape: [usize; 4], norm: FftNorm) -> f64 {
        let [_, _, h, w] = shape;
        let n = h * w;
        let scale = match norm {
            FftNorm::Backward => 1.0,
            FftNorm::Ortho => 1.0 / (n as f64).sqrt(),
        };
        let images = x.len() / n;
        let mut total = 0.0;
        for (a, b) in x.chunks(n).zip(y.chunks(n)) {
            let (ar, ai) = dft2_direct(a, h, w);
            let (br, bi) = dft2_direct(b, h, w);
            for k in 0..n {
                let amplitude_a = ar[k].hypot(ai[k]) * scale;
                let amplitude_b = br[k].hypot(bi[k]) * scale;
                total += (amplitude_a - amplitude_b).abs();
            }
        }
        total / (images * n) as f64
    }

    #[test]
    fn value_matches_a_direct_dft_for_both_normalisations() {
        let shape = [2, 3, 4, 6];
        let n: usize = shape.iter().product();
        let (x, y) = (test_values(1, n), test_values(2, n));
        for norm in [FftNorm::Ortho, FftNorm::Backward] {
            let loss = build(norm, 4, 6);
            let got = scalar(loss.between(tensor4(&x, shape), tensor4(&y, shape)));
            let want = reference(&x, &y, shape, norm);
            assert!(
                (got - want).abs() <= 1e-5 * want.abs(),
                "{norm:?}: {got} vs {want}"
            );
        }
    }

    #[test]
    fn a_circular_shift_costs_nothing() {
        // Shifting an image circularly multiplies its DFT by a phase ramp only.
        let (h, w) = (4, 6);
        let x = test_values(3, h * w);
        let shifted: Vec<f64> = (0..h * w)
            .map(|k| x[(k / w + 1) % h * w + (k % w + 2) % w])
            .collect();
        let loss = build(FftNorm::Ortho, h, w);
        let shape = [1, 1, h, w];
        let value = scalar(loss.between(tensor4(&shifted, shape), tensor4(&x, shape)));
        assert!(value.abs() < 1e-6, "{value}");
        let other = test_values(4, h * w);
        assert!(scalar(loss.between(tensor4(&other, shape), tensor4(&x, shape))) > 0.01);
    }

    #[test]
    fn gradient_matches_finite_differences() {
        let shape = [2, 1, 4, 6];
        let n: usize = shape.iter().product();
        let (x, y) = (test_values(5, n), test_values(6, n));
        for norm in [FftNorm::Ortho, FftNorm::Backward] {
            let loss = build(norm, 4, 6);
            let yt = tensor4::<Ad>(&y, shape);
            check_gradient(
                |xt| loss.between(xt, yt.clone()),
                |xp| reference(xp, &y, shape, norm),
                &x,
                shape,
                1e-4,
                1e-2,
            );
        }
    }

    #[test]
    fn finite_on_edge_cases() {
        let loss = build(FftNorm::Ortho, 8, 8);
        assert_finite_on_edge_cases([2, 2, 8, 8], |r, t| loss.between(r, t));
    }
}
