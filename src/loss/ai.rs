//! Durall et al.'s azimuthal-integration (AI) spectral loss, made differentiable
//! (docs/methods.md#ai-loss).
//!
//! Per image: grey `g` (1 channel as is, 3 channels with [`GRAY_WEIGHTS`]);
//! unnormalised full DFT `F`; log-magnitude `s = 20·ln(√(Re² + Im² + tiny) + ε)`;
//! radial profile `p = R·vec(s)` over Durall's bins (the fftshift is folded into
//! `R`); min–max normalisation `p̃ = (p − min p) / max(max p − min p, 1e-8)`; then a
//! binary cross-entropy between the profiles of the reconstruction and the data,
//! averaged over batch × bins. [`AiBceOrder`] picks the conventional argument order
//! (reconstruction = prediction, clipped) or the one of Durall's code (data =
//! prediction, torch `BCELoss` log clamp at −100).

use super::term::{Domain, ImageShape, TermInput, TermLoss, TermOptions};
use burn::tensor::{backend::Backend, Tensor, TensorData};
use serde::{Deserialize, Serialize};

use crate::pipeline::check::{positive, require};
use crate::pipeline::schema::ConfigIssue;
use crate::spectral::color::GRAY_WEIGHTS;
use crate::spectral::radial::RadialBins;
use crate::spectral::tensor::{guarded_magnitude, Normalization, SeparableDft};

/// Which slot of the BCE gets which profile in the AI loss (docs/methods.md#ai-loss).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AiBceOrder {
    /// The reconstruction's profile is the prediction, the data's the target.
    Conventional,
    /// Durall's code: the data's profile in the prediction slot, the reconstruction's
    /// as the target (logs clamped at -100 as torch's BCELoss).
    DurallCode,
}

/// Whether the AI term passes gradients to the network (docs/methods.md#ai-loss).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AiGradient {
    /// Gradients flow through the profiles into the decoder (runner's default).
    Differentiable,
    /// As Durall's published code, which computes the profiles in NumPy: the term is
    /// computed and logged but passes no gradient, so the network trains on the other
    /// terms alone.
    Detached,
}

impl AiGradient {
    /// The default, left out of the serialised options so that keys stay as they were.
    pub fn is_differentiable(&self) -> bool {
        *self == AiGradient::Differentiable
    }
}

/// Options of the differentiable azimuthal-integration loss (Durall, docs/methods.md#ai-loss):
/// grey image, 20 ln(|F| + eps) of the centred spectrum, radial means over Durall's
/// bins, per-image min-max normalisation, BCE between the profiles.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct AiTerm {
    /// Weight in the mix (>= 0).
    pub weight: f64,
    /// Added to |F| inside the logarithm (> 0); Durall adds 1e-8 to F.
    pub log_epsilon: f64,
    /// Normalised profiles are clipped to [clip, 1 - clip] before the BCE logs.
    pub clip: f64,
    /// BCE argument order.
    pub order: AiBceOrder,
    /// `detached` computes the term without gradient, as Durall's code.
    #[serde(skip_serializing_if = "AiGradient::is_differentiable")]
    pub gradient: AiGradient,
}

impl Default for AiTerm {
    fn default() -> Self {
        AiTerm {
            weight: 1.0,
            log_epsilon: 1e-8,
            clip: 1e-7,
            order: AiBceOrder::Conventional,
            gradient: AiGradient::Differentiable,
        }
    }
}

impl TermOptions for AiTerm {
    const NAME: &'static str = "ai";
    const DOMAIN: Domain = Domain::Frequency;
    const VERSION: u32 = 1;
    const SUMMARY: &'static str =
        "Durall's azimuthal integration: BCE between min-max normalised 20 ln|F| radial profiles";

    fn weight(&self) -> f64 {
        self.weight
    }

    fn check(&self, _image: ImageShape, at: &str) -> Result<(), ConfigIssue> {
        positive(self.log_epsilon, &format!("{at}.log_epsilon"))?;
        require(
            self.clip > 0.0 && self.clip < 0.5,
            &format!("{at}.clip"),
            || format!("{at}.clip must be in (0, 0.5), got {}", self.clip),
        )
    }

    fn build<B: Backend>(&self, image: ImageShape, device: &B::Device) -> Box<dyn TermLoss<B>> {
        let ImageShape {
            channels,
            height,
            width,
        } = image;
        Box::new(AiLoss::new(self, channels, height, width, device))
    }
}

impl<B: Backend> TermLoss<B> for AiLoss<B> {
    fn forward(&self, input: &TermInput<B>) -> Tensor<B, 1> {
        AiLoss::forward(self, input.recon.clone(), input.target.clone())
    }
}

/// Added to Re² + Im² under the square root: keeps d|F|/dF finite (zero) at F = 0.
/// Its root (1e-10) is below the default `log_epsilon` (1e-8), so the option, not
/// this guard, sets the floor of the logarithm.
const MAGNITUDE_TINY: f64 = 1e-20;

/// Lower bound of the profile's range in the min–max normalisation: a flat
/// profile (constant images) normalises to all zeros instead of 0/0.
const RANGE_FLOOR: f64 = 1e-8;

/// torch's `BCELoss` clamps every log at this value.
const LOG_CLAMP: f64 = -100.0;

/// The differentiable AI loss for images of one size and channel count.
#[derive(Debug, Clone)]
pub struct AiLoss<B: Backend> {
    /// `[1, 3, 1, 1]` grey weights for RGB input; `None` for one channel.
    gray_weights: Option<Tensor<B, 4>>,
    dft: SeparableDft<B>,
    /// Transposed averaging matrix, `(H·W) × bins`, unshifted spectrum layout.
    radial_t: Tensor<B, 2>,
    log_epsilon: f64,
    clip: f64,
    order: AiBceOrder,
    gradient: AiGradient,
}

impl<B: Backend> AiLoss<B> {
    /// Builds the DFT and radial-averaging matrices for `channels` (1 or 3) ×
    /// `height` × `width` images.
    pub fn new(
        opts: &AiTerm,
        channels: usize,
        height: usize,
        width: usize,
        device: &B::Device,
    ) -> Self {
        assert!(
            channels == 1 || channels == 3,
            "the AI loss takes 1 or 3 channels, got {channels}"
        );
        let bins = RadialBins::durall(height, width);
        assert!(
            !bins.is_empty(),
            "{height}x{width} images are too small for a radial profile"
        );
        let gray_weights = (channels == 3).then(|| {
            Tensor::from_data(TensorData::new(GRAY_WEIGHTS.to_vec(), [1, 3, 1, 1]), device)
        });
        AiLoss {
            gray_weights,
            dft: SeparableDft::full(height, width, Normalization::Backward, device),
            radial_t: transposed(&bins.averaging_matrix_unshifted(), bins.len(), device),
            log_epsilon: opts.log_epsilon,
            clip: opts.clip,
            order: opts.order,
            gradient: opts.gradient,
        }
    }

    /// The loss between reconstructions `recon` and data `target` (both pixel values
    /// `[B, C, H, W]`): mean over batch × bins of the BCE between profiles.
    pub fn forward(&self, recon: Tensor<B, 4>, target: Tensor<B, 4>) -> Tensor<B, 1> {
        let batch = recon.dims()[0];
        let recon = match self.gradient {
            AiGradient::Differentiable => recon,
            AiGradient::Detached => recon.detach(),
        };
        // One transform for both sets of images.
        let (low, high) = self.normalized_profiles(Tensor::cat(vec![recon, target], 0));
        let bins = low.dims()[1];
        let recon_part = |p: Tensor<B, 2>| p.slice([0..batch, 0..bins]);
        let data_part = |p: Tensor<B, 2>| p.slice([batch..2 * batch, 0..bins]);
        // (q, 1 − q) in the prediction slot, (t, 1 − t) as the target.
        let ((q, q_c), (t, t_c)) = match self.order {
            AiBceOrder::Conventional => {
                let clip = |p: Tensor<B, 2>| p.clamp(self.clip, 1.0 - self.clip);
                (
                    (
                        clip(recon_part(low.clone())),
                        clip(recon_part(high.clone())),
                    ),
                    (data_part(low), data_part(high)),
                )
            }
            AiBceOrder::DurallCode => (
                (data_part(low.clone()), data_part(high.clone())),
                (recon_part(low), recon_part(high)),
            ),
        };
        (t * clamped_log(q) + t_c * clamped_log(q_c)).neg().mean()
    }

    /// Min–max normalised radial profiles of the images `x` (`[N, C, H, W]`), as
    /// `(p̃, 1 − p̃)`, each `[N, bins]`.
    ///
    /// `1 − p̃` is computed from `max p − p` rather than by subtraction: near 1 f32
    /// resolves only ~6e-8, which would turn the clip 1 − 1e-7 into 1 − 1.19e-7 and
    /// an exact 1 − p̃ = 0 into rounding noise.
    fn normalized_profiles(&self, x: Tensor<B, 4>) -> (Tensor<B, 2>, Tensor<B, 2>) {
        let gray = match &self.gray_weights {
            Some(weights) => (x * weights.clone()).sum_dim(1),
            None => x,
        };
        let [n, _, h, w] = gray.dims();
        let (re, im) = self.dft.forward(gray);
        let magnitude = guarded_magnitude(re, im, MAGNITUDE_TINY);
        let spectrum = magnitude
            .add_scalar(self.log_epsilon)
            .log()
            .mul_scalar(20.0);
        let profile = spectrum.reshape([n, h * w]).matmul(self.radial_t.clone());
        let low = profile.clone().min_dim(1);
        let high = profile.clone().max_dim(1);
        let range = high.clone() - low.clone();
        let floored = range.clone().clamp_min(RANGE_FLOOR);
        // floored − range is exactly 0 unless the profile is (nearly) flat, where
        // it makes the complement 1 as it should be (p̃ = 0 there).
        let complement = (high - profile.clone() + (floored.clone() - range)) / floored.clone();
        ((profile - low) / floored, complement)
    }
}

/// `ln q` clamped at −100 as in torch's `BCELoss`. Values below the smallest normal
/// f32 count as 0 (log −100), and the log is taken of the floored value so that its
/// gradient stays finite even where `q = 0`.
fn clamped_log<B: Backend>(q: Tensor<B, 2>) -> Tensor<B, 2> {
    let zero = q.clone().lower_elem(f32::MIN_POSITIVE);
    q.clamp_min(f32::MIN_POSITIVE)
        .log()
        .mask_fill(zero, LOG_CLAMP)
        .clamp_min(LOG_CLAMP)
}

/// A row-major `rows × cols` matrix (`cols` = `m.len() / rows`) as its transpose.
fn transposed<B: Backend>(m: &[f64], rows: usize, device: &B::Device) -> Tensor<B, 2> {
    let cols = m.len() / rows;
    let mut t = vec![0f32; m.len()];
    for r in 0..rows {
        for c in 0..cols {
            t[c * rows + r] = m[r * cols + c] as f32;
        }
    }
    Tensor::from_data(TensorData::new(t, [cols, rows]), device)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loss::testing::{assert_finite_on_edge_cases, check_gradient, scalar, tensor4, Ad};
    use crate::spectral::dft::{dft2_direct, test_values};
    use burn::backend::Flex;

    fn opts(order: AiBceOrder) -> AiTerm {
        AiTerm {
            order,
            ..AiTerm::default()
        }
    }

    /// Durall's radial profile of one grey image, written out: direct DFT,
    /// 20·ln(|F| + ε), fftshift, rings ⌊r⌋ around ((W−1)/2, (H−1)/2), innermost and
    /// outermost ring dropped, mean per ring.
    fn reference_profile(gray: &[f64], h: usize, w: usize, log_epsilon: f64) -> Vec<f64> {
        let (re, im) = dft2_direct(gray, h, w);
        let (cx, cy) = ((w as f64 - 1.0) / 2.0, (h as f64 - 1.0) / 2.0);
        let rings = ((cx * cx + cy * cy).sqrt().floor() as usize) + 1;
        let mut sums = vec![0.0; rings];
        let mut counts = vec![0usize; rings];
        for y in 0..h {
            for x in 0..w {
                // Shifted position (y, x) holds frequency ((y + h − h/2) mod h, …).
                let k = ((y + h - h / 2) % h) * w + (x + w - w / 2) % w;
                let s = 20.0 * (re[k].hypot(im[k]) + log_epsilon).ln();
                let ring = (x as f64 - cx).hypot(y as f64 - cy).floor() as usize;
                sums[ring] += s;
                counts[ring] += 1;
            }
        }
        let kept: Vec<usize> = (0..rings).filter(|&r| counts[r] > 0).collect();
        kept[1..kept.len() - 1]
            .iter()
            .map(|&r| sums[r] / counts[r] as f64)
            .collect()
    }

    fn min_max(p: &[f64]) -> Vec<f64> {
        let lo = p.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = p.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        p.iter().map(|v| (v - lo) / (hi - lo).max(1e-8)).collect()
    }

    fn torch_log(q: f64) -> f64 {
        q.ln().max(-100.0)
    }

    /// Grey images (`b` of them) of channel-first `x`.
    fn gray_images(x: &[f64], b: usize, c: usize, n: usize) -> Vec<Vec<f64>> {
        (0..b)
            .map(|i| {
                let img = &x[i * c * n..(i + 1) * c * n];
                (0..n)
                    .map(|p| match c {
                        1 => img[p],
                        _ => (0..3)
                            .map(|ch| GRAY_WEIGHTS[ch] as f64 * img[ch * n + p])
                            .sum(),
                    })
                    .collect()
            })
            .collect()
    }

    /// The whole loss in f64 with plain loops.
    fn reference(x: &[f64], y: &[f64], shape: [usize; 4], opts: &AiTerm) -> f64 {
        let [b, c, h, w] = shape;
        let (gx, gy) = (gray_images(x, b, c, h * w), gray_images(y, b, c, h * w));
        let mut total = 0.0;
        let mut terms = 0;
        for i in 0..b {
            let pr = min_max(&reference_profile(&gx[i], h, w, opts.log_epsilon));
            let pd = min_max(&reference_profile(&gy[i], h, w, opts.log_epsilon));
            for k in 0..pr.len() {
                let (q, t) = match opts.order {
                    AiBceOrder::Conventional => (pr[k].clamp(opts.clip, 1.0 - opts.clip), pd[k]),
                    AiBceOrder::DurallCode => (pd[k], pr[k]),
                };
                total -= t * torch_log(q) + (1.0 - t) * torch_log(1.0 - q);
                terms += 1;
            }
        }
        total / terms as f64
    }

    fn value(x: &[f64], y: &[f64], shape: [usize; 4], opts: &AiTerm) -> f64 {
        let [_, c, h, w] = shape;
        let loss = AiLoss::<Flex>::new(opts, c, h, w, &Default::default());
        scalar(loss.forward(tensor4(x, shape), tensor4(y, shape)))
    }

    #[test]
    fn value_matches_reference_grey_and_rgb_both_orders() {
        for shape in [[2, 1, 16, 16], [2, 3, 12, 10], [1, 1, 9, 14]] {
            let n: usize = shape.iter().product();
            let (x, y) = (test_values(21, n), test_values(22, n));
            for order in [AiBceOrder::Conventional, AiBceOrder::DurallCode] {
                let o = opts(order);
                let (got, want) = (value(&x, &y, shape, &o), reference(&x, &y, shape, &o));
                assert!(
                    (got - want).abs() < 1e-4 * (1.0 + want.abs()),
                    "{shape:?} {order:?}: {got} vs {want}"
                );
            }
        }
    }

    #[test]
    fn durall_order_clamps_logs_of_the_extreme_data_bins() {
        // The data profile has an exact 0 and an exact 1, so Durall's order pays
        // 100 per unit of the reconstruction's profile away from them: far more
        // than the clipped conventional order.
        let shape = [1, 1, 12, 12];
        let (x, y) = (test_values(5, 144), test_values(6, 144));
        let durall = value(&x, &y, shape, &opts(AiBceOrder::DurallCode));
        let conventional = value(&x, &y, shape, &opts(AiBceOrder::Conventional));
        assert!(
            durall > 5.0 && durall > 2.0 * conventional,
            "{durall} vs {conventional}"
        );
    }

    /// A Gaussian blob (`2σ² = two_sigma2` px²) plus faint texture: its log
    /// spectrum falls by several units per ring, so the extreme bins of the profile
    /// are unique and well separated from the rest.
    fn blob(seed: u64, c: usize, h: usize, w: usize, two_sigma2: f64) -> Vec<f64> {
        let noise = test_values(seed, c * h * w);
        let mut x = vec![0.0; c * h * w];
        for ch in 0..c {
            for r in 0..h {
                for col in 0..w {
                    let (dy, dx) = (r as f64 - h as f64 / 2.0, col as f64 - w as f64 / 2.0);
                    let g = (-(dx * dx + dy * dy) / two_sigma2).exp();
                    let k = (ch * h + r) * w + col;
                    x[k] = 0.8 * g * (1.0 - 0.2 * ch as f64) + 0.002 * noise[k];
                }
            }
        }
        x
    }

    /// Asserts the precondition of the gradient check: the largest and smallest
    /// profile values are each at least `gap` away from every other bin.
    fn assert_extremes_separated(x: &[f64], shape: [usize; 4], gap: f64) {
        let [b, c, h, w] = shape;
        for g in gray_images(x, b, c, h * w) {
            let mut p = reference_profile(&g, h, w, 1e-8);
            p.sort_by(f64::total_cmp);
            let m = p.len();
            assert!(p[1] - p[0] > gap && p[m - 1] - p[m - 2] > gap, "{p:?}");
        }
    }

    #[test]
    fn gradient_matches_finite_differences() {
        for (shape, order) in [
            ([1, 1, 12, 12], AiBceOrder::Conventional),
            ([1, 1, 12, 12], AiBceOrder::DurallCode),
            ([1, 3, 10, 10], AiBceOrder::Conventional),
        ] {
            let [b, c, h, w] = shape;
            let x = blob(1, c, h, w, 2.0);
            let y = blob(2, c, h, w, 1.5);
            assert_extremes_separated(&x, shape, 0.5);
            assert_extremes_separated(&y, shape, 0.5);
            assert_eq!(b, 1);
            let o = opts(order);
            let loss = AiLoss::<Ad>::new(&o, c, h, w, &Default::default());
            let yt = tensor4::<Ad>(&y, shape);
            check_gradient(
                |xt| loss.forward(xt, yt.clone()),
                |xp| reference(xp, &y, shape, &o),
                &x,
                shape,
                1e-4,
                2e-2,
            );
        }
    }

    #[test]
    fn finite_on_edge_cases() {
        for shape in [[2, 1, 16, 16], [2, 3, 8, 8]] {
            for order in [AiBceOrder::Conventional, AiBceOrder::DurallCode] {
                let loss = AiLoss::<Ad>::new(
                    &opts(order),
                    shape[1],
                    shape[2],
                    shape[3],
                    &Default::default(),
                );
                assert_finite_on_edge_cases(shape, |r, t| loss.forward(r, t));
            }
        }
    }

    #[test]
    fn zero_clip_keeps_the_value_finite() {
        // clip = 0 puts exact 0 and 1 in the prediction; the −100 log clamp holds.
        let o = AiTerm {
            clip: 0.0,
            ..AiTerm::default()
        };
        let shape = [1, 1, 12, 12];
        let (x, y) = (test_values(8, 144), test_values(9, 144));
        let got = value(&x, &y, shape, &o);
        assert!(
            (got - reference(&x, &y, shape, &o)).abs() < 1e-3 * got.abs(),
            "{got}"
        );
    }

    #[test]
    fn detached_gradient_keeps_the_value_and_passes_no_gradient() {
        let shape = [2, 1, 12, 12];
        let (x, y) = (test_values(10, 288), test_values(11, 288));
        let detached = AiTerm {
            gradient: AiGradient::Detached,
            ..AiTerm::default()
        };
        assert_eq!(
            value(&x, &y, shape, &detached),
            value(&x, &y, shape, &AiTerm::default())
        );
        // The gradient reaching the reconstruction: none when detached, a real one otherwise.
        let gradient_norm = |o: &AiTerm| -> f64 {
            let loss = AiLoss::<Ad>::new(o, 1, 12, 12, &Default::default());
            let recon = tensor4::<Ad>(&x, shape).require_grad();
            let grads = loss
                .forward(recon.clone(), tensor4::<Ad>(&y, shape))
                .backward();
            recon
                .grad(&grads)
                .map_or(0.0, |g| scalar(g.powi_scalar(2).sum()).sqrt())
        };
        assert_eq!(gradient_norm(&detached), 0.0);
        assert!(gradient_norm(&AiTerm::default()) > 1e-3);
    }
}
