//! SSIM as a loss: 1 − SSIM (docs/methods.md#ssim-loss).
//!
//! Local statistics use the 11-tap, σ = 1.5 normalised Gaussian applied separably
//! as two banded Toeplitz matrices ([`AxisMatrix::correlation`]): VALID positions
//! only for `tf.image.ssim` (an H×W image gives an (H−10)×(W−10) map), or zero
//! padding by 5 for pytorch-ssim (an H×W map whose borders see zeros). Channels are
//! independent (depthwise); the SSIM of an image is the mean of its map over
//! positions and channels, and the loss is 1 − the mean over the batch.

use super::term::{Domain, ImageShape, TermInput, TermLoss, TermOptions};
use burn::tensor::{backend::Backend, Tensor};
use serde::{Deserialize, Serialize};

use crate::pipeline::check::{positive, require};
use crate::pipeline::schema::ConfigIssue;
use crate::spectral::axis::AxisMatrix;
use crate::spectral::tensor::Separable;
use crate::spectral::window::gaussian_taps;

/// Which SSIM reference a term follows (docs/methods.md#ssim-loss).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SsimVariant {
    /// `tf.image.ssim`: VALID window positions only (28x28 -> 18x18 map), as Dalal.
    TfValid,
    /// pytorch-ssim as in Czolbe's code: zero padding by 5, map as large as the image.
    ZeroPadded,
}

/// Options of the SSIM term: 1 - mean SSIM per image (Gaussian window 11, sigma 1.5,
/// C1 = (0.01 L)^2, C2 = (0.03 L)^2), mean over the batch. Dalal's -500 SSIM is
/// `weight: 500` (the constant does not change the gradient).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct SsimTerm {
    /// Weight in the mix (>= 0).
    pub weight: f64,
    /// Padding variant.
    pub variant: SsimVariant,
    /// Dynamic range L of the pixel values.
    pub dynamic_range: f64,
}

impl Default for SsimTerm {
    fn default() -> Self {
        SsimTerm {
            weight: 1.0,
            variant: SsimVariant::TfValid,
            dynamic_range: 1.0,
        }
    }
}

impl TermOptions for SsimTerm {
    const NAME: &'static str = "ssim";
    const DOMAIN: Domain = Domain::Spatial;
    const VERSION: u32 = 1;
    const SUMMARY: &'static str =
        "1 - mean SSIM per image (Gaussian window 11, sigma 1.5), mean over the batch";

    fn weight(&self) -> f64 {
        self.weight
    }

    fn check(&self, image: ImageShape, at: &str) -> Result<(), ConfigIssue> {
        positive(self.dynamic_range, &format!("{at}.dynamic_range"))?;
        let size = image.height.min(image.width);
        require(size >= 11, at, || {
            format!("{at} needs images of at least 11x11 (the SSIM window), got {size}x{size}")
        })
    }

    fn build<B: Backend>(&self, image: ImageShape, device: &B::Device) -> Box<dyn TermLoss<B>> {
        Box::new(SsimLoss::new(self, image.height, image.width, device))
    }
}

impl<B: Backend> TermLoss<B> for SsimLoss<B> {
    fn forward(&self, input: &TermInput<B>) -> Tensor<B, 1> {
        SsimLoss::forward(self, input.recon.clone(), input.target.clone())
    }
}

/// Taps of the Gaussian window.
const TAPS: usize = 11;
/// Standard deviation of the Gaussian window.
const SIGMA: f64 = 1.5;

/// The SSIM loss for images of one size.
#[derive(Debug, Clone)]
pub struct SsimLoss<B: Backend> {
    blur: Separable<B>,
    c1: f64,
    c2: f64,
}

impl<B: Backend> SsimLoss<B> {
    /// Builds the Gaussian blur matrices for `height` × `width` images.
    ///
    /// Panics if the TF-valid variant is asked for images smaller than the window.
    pub fn new(opts: &SsimTerm, height: usize, width: usize, device: &B::Device) -> Self {
        let pad = match opts.variant {
            SsimVariant::TfValid => 0,
            SsimVariant::ZeroPadded => TAPS / 2,
        };
        assert!(
            opts.variant == SsimVariant::ZeroPadded || (height >= TAPS && width >= TAPS),
            "tf-valid SSIM needs images of at least {TAPS}x{TAPS}, got {height}x{width}"
        );
        let taps = gaussian_taps(TAPS, SIGMA);
        let rows = AxisMatrix::correlation(height, &taps, pad);
        let cols = AxisMatrix::correlation(width, &taps, pad);
        let range = opts.dynamic_range;
        SsimLoss {
            blur: Separable::new(
                &rows.re,
                (rows.rows, rows.cols),
                &cols.re,
                (cols.rows, cols.cols),
                device,
            ),
            c1: (0.01 * range).powi(2),
            c2: (0.03 * range).powi(2),
        }
    }

    /// The size `(P, Q)` of the SSIM map of one image channel.
    pub fn map_size(&self) -> (usize, usize) {
        self.blur.output_size()
    }

    /// The SSIM map of every image and channel of `a` against `b` (both
    /// `[B, C, H, W]`): `[B, C, P, Q]` with `(P, Q)` = [`Self::map_size`].
    pub fn ssim_map(&self, a: Tensor<B, 4>, b: Tensor<B, 4>) -> Tensor<B, 4> {
        // All five local moments with one blur: [a; b; a²; b²; ab] along the batch.
        let stacked = Tensor::cat(
            vec![
                a.clone(),
                b.clone(),
                a.clone().powi_scalar(2),
                b.clone().powi_scalar(2),
                a * b,
            ],
            0,
        );
        let [mu_a, mu_b, e_aa, e_bb, e_ab]: [Tensor<B, 4>; 5] = self
            .blur
            .forward(stacked)
            .chunk(5, 0)
            .try_into()
            .expect("five equal chunks of the stacked batch");
        let mu_ab = mu_a.clone() * mu_b.clone();
        let mu_aa = mu_a.powi_scalar(2);
        let mu_bb = mu_b.powi_scalar(2);
        let var_sum = e_aa + e_bb - mu_aa.clone() - mu_bb.clone();
        let cov = e_ab - mu_ab.clone();
        let numerator =
            (mu_ab.mul_scalar(2.0).add_scalar(self.c1)) * (cov.mul_scalar(2.0).add_scalar(self.c2));
        let denominator = (mu_aa + mu_bb).add_scalar(self.c1) * var_sum.add_scalar(self.c2);
        numerator / denominator
    }

    /// SSIM of each image of `a` against `b`: the mean of its map over positions and
    /// channels, shape `[B]` (shared with the evaluation metrics).
    pub fn ssim_per_image(&self, a: Tensor<B, 4>, b: Tensor<B, 4>) -> Tensor<B, 1> {
        let n = a.dims()[0];
        self.ssim_map(a, b)
            .reshape([n as i32, -1])
            .mean_dim(1)
            .reshape([n])
    }

    /// The loss 1 − SSIM between reconstructions `recon` and targets `target`
    /// (pixel values `[B, C, H, W]`), averaged over the batch.
    pub fn forward(&self, recon: Tensor<B, 4>, target: Tensor<B, 4>) -> Tensor<B, 1> {
        self.ssim_per_image(recon, target)
            .mean()
            .neg()
            .add_scalar(1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loss::testing::{assert_finite_on_edge_cases, check_gradient, scalar, tensor4, Ad};
    use crate::spectral::dft::test_values;
    use burn::backend::Flex;

    fn opts(variant: SsimVariant, dynamic_range: f64) -> SsimTerm {
        SsimTerm {
            weight: 1.0,
            variant,
            dynamic_range,
        }
    }

    /// SSIM per image by explicit window loops in f64: every map position sums the
    /// 11×11 window with weights g[a]·g[b], reading zeros outside the image.
    fn reference_per_image(
        x: &[f64],
        y: &[f64],
        [b, c, h, w]: [usize; 4],
        variant: SsimVariant,
        range: f64,
    ) -> Vec<f64> {
        let g = gaussian_taps(TAPS, SIGMA);
        let pad = match variant {
            SsimVariant::TfValid => 0isize,
            SsimVariant::ZeroPadded => 5,
        };
        let (p, q) = match variant {
            SsimVariant::TfValid => (h - 10, w - 10),
            SsimVariant::ZeroPadded => (h, w),
        };
        let (c1, c2) = ((0.01 * range).powi(2), (0.03 * range).powi(2));
        (0..b)
            .map(|img| {
                let mut total = 0.0;
                for ch in 0..c {
                    let base = (img * c + ch) * h * w;
                    for i in 0..p {
                        for j in 0..q {
                            let [mut mx, mut my, mut sxx, mut syy, mut sxy] = [0.0; 5];
                            for a in 0..TAPS {
                                for bb in 0..TAPS {
                                    let r = i as isize + a as isize - pad;
                                    let s = j as isize + bb as isize - pad;
                                    if r < 0 || s < 0 || r >= h as isize || s >= w as isize {
                                        continue;
                                    }
                                    let k = base + r as usize * w + s as usize;
                                    let wt = g[a] * g[bb];
                                    mx += wt * x[k];
                                    my += wt * y[k];
                                    sxx += wt * x[k] * x[k];
                                    syy += wt * y[k] * y[k];
                                    sxy += wt * x[k] * y[k];
                                }
                            }
                            let (vx, vy, cov) = (sxx - mx * mx, syy - my * my, sxy - mx * my);
                            total += (2.0 * mx * my + c1) * (2.0 * cov + c2)
                                / ((mx * mx + my * my + c1) * (vx + vy + c2));
                        }
                    }
                }
                total / (c * p * q) as f64
            })
            .collect()
    }

    fn reference_loss(
        x: &[f64],
        y: &[f64],
        shape: [usize; 4],
        variant: SsimVariant,
        range: f64,
    ) -> f64 {
        let per = reference_per_image(x, y, shape, variant, range);
        1.0 - per.iter().sum::<f64>() / per.len() as f64
    }

    /// A target and a noisy, slightly scaled copy of it (SSIM well inside (0, 1)).
    fn pair(shape: [usize; 4], seed: u64) -> (Vec<f64>, Vec<f64>) {
        let n: usize = shape.iter().product();
        let x = test_values(seed, n);
        let noise = test_values(seed + 100, n);
        let y = x
            .iter()
            .zip(&noise)
            .map(|(a, e)| 0.8 * a + 0.3 * (e - 0.5))
            .collect();
        (x, y)
    }

    #[test]
    fn values_match_window_loops_for_both_variants() {
        let device = Default::default();
        for (shape, variant, range) in [
            ([2, 1, 14, 17], SsimVariant::TfValid, 1.0),
            ([2, 3, 12, 11], SsimVariant::TfValid, 2.0),
            ([2, 1, 9, 13], SsimVariant::ZeroPadded, 1.0),
            ([1, 2, 16, 16], SsimVariant::ZeroPadded, 1.0),
        ] {
            let (x, y) = pair(shape, shape[2] as u64);
            let loss = SsimLoss::<Flex>::new(&opts(variant, range), shape[2], shape[3], &device);
            let per = loss
                .ssim_per_image(tensor4(&x, shape), tensor4(&y, shape))
                .into_data()
                .to_vec::<f32>()
                .unwrap();
            let want = reference_per_image(&x, &y, shape, variant, range);
            assert_eq!(per.len(), shape[0]);
            for (got, want) in per.iter().zip(&want) {
                assert!(
                    (*got as f64 - want).abs() < 1e-4,
                    "{variant:?} {shape:?}: {got} vs {want}"
                );
            }
            let got = scalar(loss.forward(tensor4(&x, shape), tensor4(&y, shape)));
            let want = reference_loss(&x, &y, shape, variant, range);
            assert!((got - want).abs() < 1e-4, "{variant:?}: {got} vs {want}");
            assert!(want > 0.05 && want < 0.95, "test pair too easy: {want}");
        }
    }

    #[test]
    fn tf_valid_map_of_28_is_18_and_padded_keeps_the_size() {
        let device = Default::default();
        let valid = SsimLoss::<Flex>::new(&opts(SsimVariant::TfValid, 1.0), 28, 28, &device);
        assert_eq!(valid.map_size(), (18, 18));
        let shape = [2, 1, 28, 28];
        let (x, y) = pair(shape, 5);
        let map = valid.ssim_map(tensor4(&x, shape), tensor4(&y, shape));
        assert_eq!(map.dims(), [2, 1, 18, 18]);
        let padded = SsimLoss::<Flex>::new(&opts(SsimVariant::ZeroPadded, 1.0), 28, 28, &device);
        assert_eq!(padded.map_size(), (28, 28));
    }

    #[test]
    fn identical_images_give_ssim_one_and_loss_zero() {
        let device = Default::default();
        let shape = [3, 2, 13, 15];
        let (x, _) = pair(shape, 9);
        for variant in [SsimVariant::TfValid, SsimVariant::ZeroPadded] {
            let loss = SsimLoss::<Flex>::new(&opts(variant, 1.0), 13, 15, &device);
            let per = loss
                .ssim_per_image(tensor4(&x, shape), tensor4(&x, shape))
                .into_data()
                .to_vec::<f32>()
                .unwrap();
            assert!(per.iter().all(|v| (v - 1.0).abs() < 1e-5), "{per:?}");
            let value = scalar(loss.forward(tensor4(&x, shape), tensor4(&x, shape)));
            assert!(value.abs() < 1e-5, "{variant:?}: {value}");
        }
    }

    #[test]
    fn gradient_matches_finite_differences() {
        for (shape, variant) in [
            ([2, 1, 12, 13], SsimVariant::TfValid),
            ([1, 2, 7, 6], SsimVariant::ZeroPadded),
        ] {
            let (x, y) = pair(shape, 21);
            let loss =
                SsimLoss::<Ad>::new(&opts(variant, 1.0), shape[2], shape[3], &Default::default());
            check_gradient(
                |r| loss.forward(r, tensor4(&y, shape)),
                |r| reference_loss(r, &y, shape, variant, 1.0),
                &x,
                shape,
                1e-3,
                2e-3,
            );
        }
    }

    #[test]
    fn finite_on_edge_cases() {
        for variant in [SsimVariant::TfValid, SsimVariant::ZeroPadded] {
            let loss = SsimLoss::<Ad>::new(&opts(variant, 1.0), 16, 16, &Default::default());
            assert_finite_on_edge_cases([2, 1, 16, 16], |r, t| loss.forward(r, t));
        }
    }
}
