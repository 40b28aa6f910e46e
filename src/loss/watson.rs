//! Czolbe et al.'s Watson-DFT perceptual loss with the pretrained parameters
//! (docs/methods.md#watson-dft).
//!
//! Each 8×8 block of an image gets a one-sided real DFT (8×5 coefficients, divided
//! by 64). Amplitude differences between target and reconstruction are divided by
//! thresholds that follow the target's luminance and contrast (masking), pooled
//! with a β-norm, and added to a weighted wrapped phase distance (§5.2). RGB images
//! are compared per YCbCr channel with their own parameters and combined with
//! fixed channel weights (§5.3). The optional random shift (§5.4) replicate-pads
//! both images by 4 and crops them at the same offset; it is folded into the block
//! DFT matrices, so every variant costs one separable transform.
//!
//! The reference sums the per-image distances over the batch; [`WatsonDftLoss::forward`]
//! returns their mean (`sum = batch × value`). The mean luminance `L̄` is taken
//! over the whole batch, as in the reference, so one image's distance depends on
//! the other images of its batch.

use super::term::{Domain, ImageShape, TermInput, TermLoss, TermOptions};
use burn::tensor::{backend::Backend, Tensor, TensorData};
use rand::{Rng, SeedableRng};
use rand_pcg::Pcg64;
use serde::{Deserialize, Serialize};

use crate::pipeline::check::require;
use crate::pipeline::schema::ConfigIssue;
use crate::spectral::axis::AxisMatrix;
use crate::spectral::tensor::SeparableDft;

/// Colour handling of the Watson-DFT loss.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum WatsonColor {
    /// Grey tables for 1-channel data, YCbCr tables for 3-channel data.
    Auto,
    /// Grey parameters (1-channel data only).
    Gray,
    /// YCbCr parameters with the pretrained softmax channel weights (3-channel data).
    Rgb,
}

/// Options of Czolbe et al.'s Watson-DFT perceptual loss with the pretrained
/// parameters (docs/methods.md#watson-dft): per-image distance, mean over the batch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct WatsonDftTerm {
    /// Weight in the mix (>= 0).
    pub weight: f64,
    /// Parameter set.
    pub color: WatsonColor,
    /// Random-shift wrapper (replicate-pad 4, same random crop of both images), on
    /// in Czolbe's VAE training.
    pub shift: bool,
}

impl Default for WatsonDftTerm {
    fn default() -> Self {
        WatsonDftTerm {
            weight: 1.0,
            color: WatsonColor::Auto,
            shift: true,
        }
    }
}

impl TermOptions for WatsonDftTerm {
    const NAME: &'static str = "watson_dft";
    const DOMAIN: Domain = Domain::Frequency;
    const VERSION: u32 = 1;
    const SUMMARY: &'static str =
        "Czolbe's Watson-DFT perceptual distance (8x8 block DFTs, masking, pretrained parameters)";

    fn weight(&self) -> f64 {
        self.weight
    }

    fn check(&self, image: ImageShape, at: &str) -> Result<(), ConfigIssue> {
        let ImageShape {
            channels,
            height,
            width,
        } = image;
        require(
            height.is_multiple_of(8) && width.is_multiple_of(8),
            at,
            || format!("{at} needs image sides divisible by 8 (8x8 blocks), got {height}x{width}"),
        )?;
        let (fits, name) = match self.color {
            WatsonColor::Auto => (channels == 1 || channels == 3, "auto"),
            WatsonColor::Gray => (channels == 1, "gray"),
            WatsonColor::Rgb => (channels == 3, "rgb"),
        };
        require(fits, &format!("{at}.color"), || {
            format!("{at}.color: {name} does not fit {channels}-channel images")
        })
    }

    fn build<B: Backend>(&self, image: ImageShape, device: &B::Device) -> Box<dyn TermLoss<B>> {
        let ImageShape {
            channels,
            height,
            width,
        } = image;
        Box::new(WatsonDftLoss::new(self, channels, height, width, device))
    }
}

/// The random crop offset of training step `step` for the shift wrapper: a
/// function of the training seed and the step only, so a resumed run draws the
/// same shifts.
fn shift_for_step(seed: u64, step: u64) -> (usize, usize) {
    let mut rng = Pcg64::seed_from_u64((seed ^ 0x5817_f7ed) ^ step.wrapping_mul(0x9e37_79b9));
    (rng.random_range(0..8), rng.random_range(0..8))
}

impl<B: Backend> TermLoss<B> for WatsonDftLoss<B> {
    fn forward(&self, input: &TermInput<B>) -> Tensor<B, 1> {
        // Built with `shift: true` exactly when the shifted DFTs were prepared.
        let shift = (!self.shifted.is_empty()).then(|| shift_for_step(input.seed, input.step));
        WatsonDftLoss::forward(self, input.recon.clone(), input.target.clone(), shift)
    }
}

/// Guard constant of the reference code (added to coefficients, amplitudes, powers).
pub const EPS: f64 = 1e-10;
/// Side of the square blocks.
pub const BLOCK: usize = 8;
/// Kept column frequencies per block (one-sided DFT: `BLOCK / 2 + 1`).
pub const HALF: usize = BLOCK / 2 + 1;
/// Replicate padding of the random-shift wrapper; offsets run over `0..2·SHIFT_PAD`.
pub const SHIFT_PAD: usize = 4;
/// Factor inside `acos` that keeps its derivative finite at ±1 (reference: `1 − EPS·10³`).
const ACOS_SHRINK: f64 = 1.0 - 1e-7;

/// Pretrained parameters of one Watson-DFT instance (one image channel), in the
/// stored log / logit form of docs/methods.md#watson-dft.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WatsonParams {
    /// Log base thresholds t̃[u][v] (`t = exp(t̃)`).
    pub log_threshold: [[f64; HALF]; BLOCK],
    /// Luminance-masking exponent α (used raw).
    pub alpha: f64,
    /// Logit of the contrast-masking exponent (`w = sigmoid(w̃)`).
    pub logit_contrast: f64,
    /// Pooling exponent β (used raw).
    pub beta: f64,
    /// Log phase weights w̃_φ[u][v] (`w_φ = exp(w̃_φ)`, real bins zeroed).
    pub log_phase_weight: [[f64; HALF]; BLOCK],
}

/// Grey parameters: Czolbe et al.'s published
/// `gray_watson_fft_trial0.pth`, decoded (docs/methods.md#watson-dft).
pub const GRAY: WatsonParams = WatsonParams {
    log_threshold: [
        [-1.3607, 1.8489, 3.0660, 4.2308, -0.3740],
        [2.1359, -1.6194, -1.4572, -0.2342, -0.5713],
        [3.3731, -1.5290, -2.4225, -1.0770, -1.3429],
        [4.5222, -0.0248, -1.0291, -0.5225, -1.7408],
        [-0.3947, -0.0016, -1.2642, -0.3167, -3.3458],
        [4.5315, -0.0895, -1.0312, -0.5118, -1.6944],
        [3.3824, -1.5978, -2.4849, -1.0243, -1.4007],
        [2.1029, -1.5688, -1.5445, -0.1769, -0.5171],
    ],
    alpha: -0.135178,
    logit_contrast: -1.351180,
    beta: 0.614484,
    log_phase_weight: [
        [0.2086, -5.7891, -6.2569, -5.8363, -2.4437],
        [-5.7816, -6.5449, -6.8754, -6.6722, -6.2608],
        [-6.1313, -6.8561, -6.7715, -6.5233, -5.9115],
        [-5.8103, -6.7743, -6.5617, -5.7419, -4.5216],
        [-1.8248, -6.4524, -6.0324, -4.9891, -2.7401],
        [-5.7821, -6.7554, -6.6239, -5.8195, -4.6038],
        [-6.1271, -6.8691, -6.8425, -6.5277, -5.8852],
        [-5.7872, -6.5366, -6.8844, -6.6889, -6.2750],
    ],
};

/// Y-channel parameters: Czolbe et al.'s published
/// `rgb_watson_fft_trial0.pth`, decoded (docs/methods.md#watson-dft).
pub const RGB_Y: WatsonParams = WatsonParams {
    log_threshold: [
        [-0.3662, 1.5658, 1.8898, 3.2679, -0.9919],
        [1.7289, -2.0586, -2.3451, -1.0261, -0.9093],
        [2.0996, -2.4820, -2.8783, -1.4130, -1.0320],
        [3.4798, -0.9975, -1.3937, 0.2204, 0.7041],
        [-0.7084, -0.7568, -0.8805, 0.8905, -1.5069],
        [3.4793, -1.0207, -1.3498, 0.2678, 0.7671],
        [2.1100, -2.5052, -2.9008, -1.3740, -0.9885],
        [1.7388, -2.0120, -2.3955, -1.0242, -0.8686],
    ],
    alpha: 0.17103,
    logit_contrast: -1.03236,
    beta: 0.61198,
    log_phase_weight: [
        [0.4491, -6.0741, -5.9676, -5.6574, -1.4015],
        [-6.0430, -6.2197, -6.2079, -6.0081, -5.6272],
        [-5.8272, -6.1433, -5.9901, -5.7855, -5.4606],
        [-5.5652, -6.0654, -5.8322, -5.3520, -4.7597],
        [-1.0238, -5.7142, -5.4777, -4.7642, -2.9273],
        [-5.5623, -5.9870, -5.8651, -5.3783, -4.7243],
        [-5.8180, -6.1904, -6.0896, -5.7832, -5.4161],
        [-6.0477, -6.1846, -6.2385, -6.0082, -5.6235],
    ],
};

/// Cb-channel parameters: Czolbe et al.'s published
/// `rgb_watson_fft_trial0.pth`, decoded (docs/methods.md#watson-dft).
pub const RGB_CB: WatsonParams = WatsonParams {
    log_threshold: [
        [-2.7639, 0.3705, 1.0047, 1.2412, -1.4378],
        [0.2736, 0.3472, 0.5501, 0.6083, 0.1940],
        [1.1224, 0.5980, 0.3297, 0.5138, 0.2855],
        [1.4071, 0.7571, 0.5677, 0.4976, 0.0676],
        [-1.2227, 0.4086, 0.3855, 0.2677, -1.3314],
        [1.4134, 0.7179, 0.5827, 0.4396, 0.0694],
        [1.1376, 0.6031, 0.3350, 0.4990, 0.3073],
        [0.2432, 0.3988, 0.5422, 0.5712, 0.2484],
    ],
    alpha: -0.86729,
    logit_contrast: -3.02911,
    beta: 0.59224,
    log_phase_weight: [
        [0.4393, -5.0517, -5.3316, -4.3739, -1.8809],
        [-4.9610, -5.8121, -5.6723, -4.9528, -4.1939],
        [-5.1355, -5.7766, -5.2566, -4.3548, -3.7462],
        [-4.3248, -5.1230, -4.4752, -3.3716, -2.8099],
        [-1.4866, -4.4630, -3.9123, -2.8078, -2.0834],
        [-4.2771, -5.0642, -4.4689, -3.2959, -2.7987],
        [-5.1681, -5.8009, -5.3075, -4.3138, -3.7781],
        [-4.9716, -5.8128, -5.7610, -4.8961, -4.1908],
    ],
};

/// Cr-channel parameters: Czolbe et al.'s published
/// `rgb_watson_fft_trial0.pth`, decoded (docs/methods.md#watson-dft).
pub const RGB_CR: WatsonParams = WatsonParams {
    log_threshold: [
        [-2.9297, 0.1977, 0.8983, 1.0067, -1.2929],
        [0.1527, 0.3757, 0.5762, 0.5794, 0.0621],
        [0.9187, 0.6816, 0.5842, 0.6438, 0.4298],
        [1.1420, 0.7636, 0.6990, 0.5263, -0.0348],
        [-1.7403, 0.3233, 0.3750, 0.3448, 0.0211],
        [1.1309, 0.7366, 0.6732, 0.4854, -0.0401],
        [0.9356, 0.6653, 0.6897, 0.6461, 0.4244],
        [0.1314, 0.3017, 0.5821, 0.5971, 0.0673],
    ],
    alpha: 1.51346,
    logit_contrast: -3.01316,
    beta: 0.58634,
    log_phase_weight: [
        [0.4521, -5.0297, -5.2753, -4.4590, -2.0071],
        [-4.9649, -5.6962, -5.6829, -4.8764, -4.0954],
        [-5.3903, -5.8441, -5.3766, -4.4474, -3.8610],
        [-4.5779, -5.1270, -4.5703, -3.4737, -2.8574],
        [-1.9255, -4.4435, -3.9576, -2.9269, -2.2682],
        [-4.5459, -5.1332, -4.6113, -3.4294, -2.8533],
        [-5.3758, -5.8152, -5.4515, -4.3887, -3.8577],
        [-4.9390, -5.6569, -5.7138, -4.8977, -4.1220],
    ],
};

/// Pretrained softmax weights of the Y, Cb, Cr distances (docs/methods.md#watson-dft; the
/// published softmax values, used directly).
pub const RGB_CHANNEL_WEIGHTS: [f64; 3] = [0.3509, 0.3011, 0.3480];

/// The purely real bins (u, v) of an 8×5 one-sided block spectrum; their phase is
/// 0 or π, so the reference gives them phase weight 0.
pub const REAL_BINS: [(usize, usize); 4] =
    [(0, 0), (0, HALF - 1), (HALF - 1, 0), (HALF - 1, HALF - 1)];

impl WatsonParams {
    /// Base thresholds `t = exp(t̃)`.
    pub fn threshold(&self) -> [[f64; HALF]; BLOCK] {
        self.log_threshold.map(|row| row.map(f64::exp))
    }

    /// Contrast-masking exponent `w = sigmoid(w̃)`.
    pub fn contrast_exponent(&self) -> f64 {
        1.0 / (1.0 + (-self.logit_contrast).exp())
    }

    /// Phase weights `exp(w̃_φ)` with the real bins set to 0.
    pub fn phase_weight(&self) -> [[f64; HALF]; BLOCK] {
        let mut w = self.log_phase_weight.map(|row| row.map(f64::exp));
        for (u, v) in REAL_BINS {
            w[u][v] = 0.0;
        }
        w
    }
}

/// The parameter sets (one per channel) and their combination weights for a
/// colour option and channel count. Panics on a combination the option
/// validation rejects (1 channel with RGB, 3 with grey, other counts).
pub fn parameter_sets(
    color: WatsonColor,
    channels: usize,
) -> (&'static [WatsonParams], &'static [f64]) {
    const GRAY_SET: [WatsonParams; 1] = [GRAY];
    const RGB_SET: [WatsonParams; 3] = [RGB_Y, RGB_CB, RGB_CR];
    let rgb = match color {
        WatsonColor::Auto => channels == 3,
        WatsonColor::Gray => false,
        WatsonColor::Rgb => true,
    };
    if rgb {
        assert_eq!(channels, 3, "Watson-DFT RGB parameters need 3 channels");
        (&RGB_SET, &RGB_CHANNEL_WEIGHTS)
    } else {
        assert_eq!(channels, 1, "Watson-DFT grey parameters need 1 channel");
        (&GRAY_SET, &[1.0])
    }
}

/// The Watson-DFT loss for images of one size and channel count, with its
/// constant block-DFT matrices and parameter tensors.
#[derive(Debug, Clone)]
pub struct WatsonDftLoss<B: Backend> {
    /// The unshifted block DFT (left side scaled by 1/64).
    plain: SeparableDft<B>,
    /// With the shift option: the block DFT after each replicate-pad-and-crop,
    /// index `row_offset · 8 + column_offset`; empty otherwise.
    shifted: Vec<SeparableDft<B>>,
    /// Convert RGB to YCbCr before the transform.
    ycbcr: bool,
    channels: usize,
    height: usize,
    width: usize,
    /// `t`, shape `[1, C, 1, 8, 1, 5]`.
    threshold: Tensor<B, 6>,
    /// `w_φ`, shape `[1, C, 1, 8, 1, 5]`.
    phase_weight: Tensor<B, 6>,
    /// α per channel, `[1, C, 1, 1, 1, 1]`.
    alpha: Tensor<B, 6>,
    /// `w` per channel, `[1, C, 1, 1, 1, 1]`.
    contrast_exponent: Tensor<B, 6>,
    /// β per channel, `[1, C]`.
    beta: Tensor<B, 2>,
    /// Channel combination weights, `[1, C]`.
    channel_weights: Tensor<B, 2>,
}

/// A constant tensor from f64 values.
fn constant<B: Backend, const D: usize>(
    values: Vec<f64>,
    shape: [usize; D],
    device: &B::Device,
) -> Tensor<B, D> {
    let v: Vec<f32> = values.into_iter().map(|x| x as f32).collect();
    Tensor::from_data(TensorData::new(v, shape), device)
}

/// One 8×5 table per channel, flattened channel-major.
fn tables(tables: impl Iterator<Item = [[f64; HALF]; BLOCK]>) -> Vec<f64> {
    tables.flat_map(|t| t.into_iter().flatten()).collect()
}

/// The block DFT of `height × width` images after shifting rows by
/// `row_offset` and columns by `column_offset` (replicate at the edges).
fn block_dft<B: Backend>(
    height: usize,
    width: usize,
    (row_offset, column_offset): (isize, isize),
    device: &B::Device,
) -> SeparableDft<B> {
    let rows: Vec<usize> = (0..BLOCK).collect();
    let columns: Vec<usize> = (0..HALF).collect();
    let left = AxisMatrix::block_dft(height, BLOCK, &rows)
        .scaled(1.0 / (BLOCK * BLOCK) as f64)
        .after(&AxisMatrix::clamped_shift(height, row_offset));
    let right = AxisMatrix::block_dft(width, BLOCK, &columns)
        .after(&AxisMatrix::clamped_shift(width, column_offset));
    SeparableDft::new(&left, &right, device)
}

/// RGB `[B, 3, H, W]` to YCbCr with the reference's coefficients and offsets
/// (docs/methods.md#watson-dft).
fn to_ycbcr<B: Backend>(x: Tensor<B, 4>) -> Tensor<B, 4> {
    let [b, _, h, w] = x.dims();
    let channel = |c: usize| x.clone().slice([0..b, c..c + 1, 0..h, 0..w]);
    let (r, g, bl) = (channel(0), channel(1), channel(2));
    let mix = |cr: f64, cg: f64, cb: f64, offset: f64| {
        r.clone().mul_scalar(cr) + g.clone().mul_scalar(cg) + bl.clone().mul_scalar(cb) + offset
    };
    Tensor::cat(
        vec![
            mix(0.299, 0.587, 0.114, 0.0),
            mix(-0.1687, -0.3313, 0.5, 0.5),
            mix(0.5, -0.4187, -0.0813, 0.5),
        ],
        1,
    )
}

/// `x^p` for positive `x` and a per-channel exponent tensor (broadcast).
fn pow_positive<B: Backend, const D: usize>(x: Tensor<B, D>, p: Tensor<B, D>) -> Tensor<B, D> {
    (x.log() * p).exp()
}

/// The reference's two-way "soft maximum" `(a·eᵃ + b·eᵇ)/(eᵃ + eᵇ)`, computed
/// with the larger value subtracted inside the exponentials.
fn soft_max<B: Backend, const D: usize>(a: Tensor<B, D>, b: Tensor<B, D>) -> Tensor<B, D> {
    let top = a.clone().max_pair(b.clone());
    let ea = (a.clone() - top.clone()).exp();
    let eb = (b.clone() - top).exp();
    (a * ea.clone() + b * eb.clone()) / (ea + eb)
}

impl<B: Backend> WatsonDftLoss<B> {
    /// Builds the loss for `channels × height × width` images (`height`, `width`
    /// multiples of 8; 1 channel grey, 3 channels RGB, as `opts.color` allows).
    /// With `opts.shift` the 64 shifted block DFTs are prepared as well.
    pub fn new(
        opts: &WatsonDftTerm,
        channels: usize,
        height: usize,
        width: usize,
        device: &B::Device,
    ) -> Self {
        assert!(
            height.is_multiple_of(BLOCK) && width.is_multiple_of(BLOCK) && height > 0 && width > 0,
            "Watson-DFT needs image sides that are multiples of 8"
        );
        let (params, weights) = parameter_sets(opts.color, channels);
        let c = params.len();
        let shifted = if opts.shift {
            let offsets = 0..2 * SHIFT_PAD as isize;
            offsets
                .clone()
                .flat_map(|r| offsets.clone().map(move |s| (r, s)))
                .map(|(r, s)| {
                    let pad = SHIFT_PAD as isize;
                    block_dft(height, width, (r - pad, s - pad), device)
                })
                .collect()
        } else {
            Vec::new()
        };
        let per_channel = |f: fn(&WatsonParams) -> f64| params.iter().map(f).collect::<Vec<_>>();
        WatsonDftLoss {
            plain: block_dft(height, width, (0, 0), device),
            shifted,
            ycbcr: c == 3,
            channels,
            height,
            width,
            threshold: constant(
                tables(params.iter().map(WatsonParams::threshold)),
                [1, c, 1, BLOCK, 1, HALF],
                device,
            ),
            phase_weight: constant(
                tables(params.iter().map(WatsonParams::phase_weight)),
                [1, c, 1, BLOCK, 1, HALF],
                device,
            ),
            alpha: constant(per_channel(|p| p.alpha), [1, c, 1, 1, 1, 1], device),
            contrast_exponent: constant(
                per_channel(WatsonParams::contrast_exponent),
                [1, c, 1, 1, 1, 1],
                device,
            ),
            beta: constant(per_channel(|p| p.beta), [1, c], device),
            channel_weights: constant(weights.to_vec(), [1, c], device),
        }
    }

    /// The mean over the batch of the per-image distances (the reference sums
    /// them: `sum = batch × value`). `shift = Some((row, column))` crops both
    /// replicate-padded images at that offset (each in `0..8`; `(4, 4)` is no
    /// shift) and needs the loss built with `opts.shift`; `None` compares the
    /// images as they are.
    pub fn forward(
        &self,
        recon: Tensor<B, 4>,
        target: Tensor<B, 4>,
        shift: Option<(usize, usize)>,
    ) -> Tensor<B, 1> {
        self.distance_per_image(recon, target, shift).mean()
    }

    /// The Watson-DFT distance `D[n]` of every image, `[B]` (see [`Self::forward`]).
    /// `L̄` is the mean over this whole batch.
    pub fn distance_per_image(
        &self,
        recon: Tensor<B, 4>,
        target: Tensor<B, 4>,
        shift: Option<(usize, usize)>,
    ) -> Tensor<B, 1> {
        let [b, c, h, w] = recon.dims();
        assert_eq!(
            (c, h, w),
            (self.channels, self.height, self.width),
            "Watson-DFT loss built for another image size"
        );
        assert_eq!(
            target.dims(),
            recon.dims(),
            "recon and target differ in shape"
        );
        let (recon, target) = if self.ycbcr {
            (to_ycbcr(recon), to_ycbcr(target))
        } else {
            (recon, target)
        };
        // One transform for both: target first (c⁰), reconstruction second (c¹).
        let (re, im) = self
            .transform(shift)
            .forward(Tensor::cat(vec![target, recon], 0));
        let blocks = [2 * b, c, h / BLOCK, BLOCK, w / BLOCK, HALF];
        let (re, im) = (re.reshape(blocks), im.reshape(blocks));
        let amplitude =
            ((re.clone() + EPS).powi_scalar(2) + (im.clone() + EPS).powi_scalar(2)).sqrt();
        let phase = im.atan2(re + EPS);
        let halves = |x: Tensor<B, 6>| {
            let [_, c, kh, u, kw, v] = x.dims();
            let part = |i: usize| {
                x.clone()
                    .slice([i * b..(i + 1) * b, 0..c, 0..kh, 0..u, 0..kw, 0..v])
            };
            (part(0), part(1))
        };
        let (a0, a1) = halves(amplitude);
        let (p0, p1) = halves(phase);
        let mask = self.masking_thresholds(a0.clone());
        let distance = self.amplitude_distance(a0, a1, mask) + self.phase_distance(p0, p1);
        (distance * self.channel_weights.clone())
            .sum_dim(1)
            .reshape([b])
    }

    /// The block DFT for a shift (or none).
    fn transform(&self, shift: Option<(usize, usize)>) -> &SeparableDft<B> {
        match shift {
            None => &self.plain,
            Some((row, column)) => {
                let side = 2 * SHIFT_PAD;
                assert!(row < side && column < side, "shift offsets run over 0..8");
                assert!(
                    !self.shifted.is_empty(),
                    "Watson-DFT loss built without the shift option"
                );
                &self.shifted[row * side + column]
            }
        }
    }

    /// The masking thresholds `m` from the target amplitudes `a⁰`
    /// (`[B, C, Kh, 8, Kw, 5]`): luminance masking by each block's DC relative to
    /// the batch mean, then contrast masking with the soft maximum.
    fn masking_thresholds(&self, a0: Tensor<B, 6>) -> Tensor<B, 6> {
        let [b, c, kh, _, kw, _] = a0.dims();
        let dc = a0.clone().slice([0..b, 0..c, 0..kh, 0..1, 0..kw, 0..1]);
        let mean_dc = dc
            .clone()
            .swap_dims(0, 1)
            .reshape([c, b * kh * kw])
            .mean_dim(1)
            .reshape([1, c, 1, 1, 1, 1]);
        let luminance = pow_positive((dc + EPS) / (mean_dc + EPS), self.alpha.clone());
        let t_l = self.threshold.clone() * luminance;
        let w = self.contrast_exponent.clone();
        let contrast =
            pow_positive(a0.abs() + EPS, w.clone()) * pow_positive(t_l.clone(), w.neg() + 1.0);
        soft_max(t_l, contrast)
    }

    /// `D_amp = (Σ_{k,u,v} [(|(a⁰ − a¹)/m| + EPS)^β + EPS])^(1/β)` per image and
    /// channel, `[B, C]`.
    fn amplitude_distance(
        &self,
        a0: Tensor<B, 6>,
        a1: Tensor<B, 6>,
        mask: Tensor<B, 6>,
    ) -> Tensor<B, 2> {
        let [b, c, kh, u, kw, v] = a0.dims();
        let beta = self.beta.clone().reshape([1, c, 1, 1, 1, 1]);
        let pooled = pow_positive(((a0 - a1) / mask).abs() + EPS, beta) + EPS;
        let sum = pooled
            .reshape([b, c, kh * u * kw * v])
            .sum_dim(2)
            .reshape([b, c]);
        pow_positive(sum, self.beta.clone().recip())
    }

    /// `D_ph = Σ_{k,u,v} w_φ · acos(cos(φ⁰ − φ¹)·(1 − 1e-7))` per image and channel,
    /// `[B, C]`.
    fn phase_distance(&self, p0: Tensor<B, 6>, p1: Tensor<B, 6>) -> Tensor<B, 2> {
        let [b, c, kh, u, kw, v] = p0.dims();
        let angle = ((p0 - p1).cos().mul_scalar(ACOS_SHRINK)).acos() * self.phase_weight.clone();
        angle
            .reshape([b, c, kh * u * kw * v])
            .sum_dim(2)
            .reshape([b, c])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loss::testing::{assert_finite_on_edge_cases, check_gradient, scalar, tensor4, Ad};
    use crate::spectral::dft::{dft2_direct, test_values};
    use burn::backend::Flex;

    /// Coefficients of one channel image: `[block][u][v]` as (Re, Im).
    type BlockSpectra = Vec<[[(f64, f64); HALF]; BLOCK]>;

    /// Per-block one-sided DFTs by `dft2_direct` on each 8×8 block, divided by 64.
    fn block_spectra(img: &[f64], h: usize, w: usize) -> BlockSpectra {
        let mut out = Vec::new();
        for bi in 0..h / BLOCK {
            for bj in 0..w / BLOCK {
                let mut block = vec![0.0; BLOCK * BLOCK];
                for r in 0..BLOCK {
                    for c in 0..BLOCK {
                        block[r * BLOCK + c] = img[(bi * BLOCK + r) * w + bj * BLOCK + c];
                    }
                }
                let (re, im) = dft2_direct(&block, BLOCK, BLOCK);
                let mut spectrum = [[(0.0, 0.0); HALF]; BLOCK];
                for (u, row) in spectrum.iter_mut().enumerate() {
                    for (v, bin) in row.iter_mut().enumerate() {
                        let k = u * BLOCK + v;
                        *bin = (re[k] / 64.0, im[k] / 64.0);
                    }
                }
                out.push(spectrum);
            }
        }
        out
    }

    fn amplitude((re, im): (f64, f64)) -> f64 {
        ((re + EPS).powi(2) + (im + EPS).powi(2)).sqrt()
    }

    fn phase((re, im): (f64, f64)) -> f64 {
        im.atan2(re + EPS)
    }

    /// docs/methods.md#watson-dft in plain f64 for one channel: `D[n]` of every image, with
    /// `L̄` over all images given.
    fn channel_distances(
        recon: &[Vec<f64>],
        target: &[Vec<f64>],
        h: usize,
        w: usize,
        p: &WatsonParams,
    ) -> Vec<f64> {
        let c1: Vec<BlockSpectra> = recon.iter().map(|x| block_spectra(x, h, w)).collect();
        let c0: Vec<BlockSpectra> = target.iter().map(|x| block_spectra(x, h, w)).collect();
        let dcs: Vec<f64> = c0.iter().flatten().map(|s| amplitude(s[0][0])).collect();
        let mean_dc = dcs.iter().sum::<f64>() / dcs.len() as f64;
        let t = p.log_threshold;
        let w_c = 1.0 / (1.0 + (-p.logit_contrast).exp());
        let mut out = Vec::new();
        for (s0, s1) in c0.iter().zip(&c1) {
            let (mut pooled, mut phase_sum) = (0.0, 0.0);
            for (b0, b1) in s0.iter().zip(s1) {
                let dc = amplitude(b0[0][0]);
                for u in 0..BLOCK {
                    for v in 0..HALF {
                        let (a0, a1) = (amplitude(b0[u][v]), amplitude(b1[u][v]));
                        let t_l = t[u][v].exp() * ((dc + EPS) / (mean_dc + EPS)).powf(p.alpha);
                        let contrast = (a0.abs() + EPS).powf(w_c) * t_l.powf(1.0 - w_c);
                        let (ea, eb) = (t_l.exp(), contrast.exp());
                        let m = (t_l * ea + contrast * eb) / (ea + eb);
                        pooled += (((a0 - a1) / m).abs() + EPS).powf(p.beta) + EPS;
                        let real_bin = (u == 0 || u == 4) && (v == 0 || v == 4);
                        if !real_bin {
                            let dphi = phase(b0[u][v]) - phase(b1[u][v]);
                            phase_sum +=
                                p.log_phase_weight[u][v].exp() * (dphi.cos() * (1.0 - 1e-7)).acos();
                        }
                    }
                }
            }
            out.push(pooled.powf(1.0 / p.beta) + phase_sum);
        }
        out
    }

    /// Replicate-pad by 4 and crop at (row, column) with explicit loops.
    fn pad_and_crop(img: &[f64], h: usize, w: usize, (sr, sc): (usize, usize)) -> Vec<f64> {
        let (ph, pw) = (h + 8, w + 8);
        let mut padded = vec![0.0; ph * pw];
        for i in 0..ph {
            for j in 0..pw {
                let si = (i as isize - 4).clamp(0, h as isize - 1) as usize;
                let sj = (j as isize - 4).clamp(0, w as isize - 1) as usize;
                padded[i * pw + j] = img[si * w + sj];
            }
        }
        let mut out = vec![0.0; h * w];
        for i in 0..h {
            for j in 0..w {
                out[i * w + j] = padded[(i + sr) * pw + j + sc];
            }
        }
        out
    }

    /// Per-pixel YCbCr of three planes.
    fn ycbcr_planes(planes: &[Vec<f64>]) -> Vec<Vec<f64>> {
        let rows = [
            [0.299, 0.587, 0.114, 0.0],
            [-0.1687, -0.3313, 0.5, 0.5],
            [0.5, -0.4187, -0.0813, 0.5],
        ];
        rows.iter()
            .map(|k| {
                (0..planes[0].len())
                    .map(|i| k[0] * planes[0][i] + k[1] * planes[1][i] + k[2] * planes[2][i] + k[3])
                    .collect()
            })
            .collect()
    }

    /// Per-image distances of `[B, C, H, W]` data, the whole pipeline in f64.
    fn reference(
        recon: &[f64],
        target: &[f64],
        [b, c, h, w]: [usize; 4],
        shift: Option<(usize, usize)>,
    ) -> Vec<f64> {
        // planes[n][ch] after the optional shift and colour conversion.
        let planes = |x: &[f64]| -> Vec<Vec<Vec<f64>>> {
            (0..b)
                .map(|n| {
                    let chans: Vec<Vec<f64>> = (0..c)
                        .map(|ch| {
                            let img = &x[(n * c + ch) * h * w..(n * c + ch + 1) * h * w];
                            match shift {
                                Some(s) => pad_and_crop(img, h, w, s),
                                None => img.to_vec(),
                            }
                        })
                        .collect();
                    if c == 3 {
                        ycbcr_planes(&chans)
                    } else {
                        chans
                    }
                })
                .collect()
        };
        let (pr, pt) = (planes(recon), planes(target));
        let (params, weights): (Vec<WatsonParams>, Vec<f64>) = if c == 3 {
            (vec![RGB_Y, RGB_CB, RGB_CR], RGB_CHANNEL_WEIGHTS.to_vec())
        } else {
            (vec![GRAY], vec![1.0])
        };
        let mut total = vec![0.0; b];
        for ch in 0..c {
            let r: Vec<Vec<f64>> = pr.iter().map(|p| p[ch].clone()).collect();
            let t: Vec<Vec<f64>> = pt.iter().map(|p| p[ch].clone()).collect();
            for (n, d) in channel_distances(&r, &t, h, w, &params[ch])
                .into_iter()
                .enumerate()
            {
                total[n] += weights[ch] * d;
            }
        }
        total
    }

    fn opts(color: WatsonColor, shift: bool) -> WatsonDftTerm {
        WatsonDftTerm {
            weight: 1.0,
            color,
            shift,
        }
    }

    fn per_image<B: Backend>(
        loss: &WatsonDftLoss<B>,
        x: &[f64],
        y: &[f64],
        shape: [usize; 4],
        shift: Option<(usize, usize)>,
    ) -> Vec<f64> {
        loss.distance_per_image(tensor4(x, shape), tensor4(y, shape), shift)
            .into_data()
            .to_vec::<f32>()
            .unwrap()
            .into_iter()
            .map(f64::from)
            .collect()
    }

    fn assert_close(got: &[f64], want: &[f64], rel: f64, what: &str) {
        assert_eq!(got.len(), want.len());
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() <= rel * w.abs(), "{what}: {g} vs {w}");
        }
    }

    /// Value against the f64 reference, grey and RGB, with and without a shift.
    #[test]
    fn value_matches_f64_reference() {
        let device = Default::default();
        for (shape, color) in [
            ([2, 1, 16, 16], WatsonColor::Gray),
            ([2, 3, 16, 16], WatsonColor::Auto),
            ([1, 3, 16, 8], WatsonColor::Rgb),
        ] {
            let n: usize = shape.iter().product();
            let x = test_values(21, n);
            let y = test_values(22, n);
            let loss = WatsonDftLoss::<Flex>::new(
                &opts(color, true),
                shape[1],
                shape[2],
                shape[3],
                &device,
            );
            for shift in [None, Some((0, 7)), Some((6, 1)), Some((4, 4))] {
                let want = reference(&x, &y, shape, shift);
                let got = per_image(&loss, &x, &y, shape, shift);
                assert_close(&got, &want, 2e-4, &format!("{shape:?} {shift:?}"));
                let mean = scalar(loss.forward(tensor4(&x, shape), tensor4(&y, shape), shift));
                let want_mean = want.iter().sum::<f64>() / shape[0] as f64;
                assert!((mean - want_mean).abs() <= 2e-4 * want_mean);
            }
            // A real shift changes the value; (4, 4) is the identity crop.
            let plain = reference(&x, &y, shape, None);
            assert_close(
                &reference(&x, &y, shape, Some((4, 4))),
                &plain,
                1e-12,
                "identity crop",
            );
            assert!((reference(&x, &y, shape, Some((0, 7)))[0] - plain[0]).abs() > 1e-3 * plain[0]);
        }
    }

    #[test]
    fn gradient_matches_finite_differences() {
        let shape = [1, 1, 8, 16];
        let n = 8 * 16;
        // Textured images, well apart: no amplitude near 0, no phase difference near 0 or π.
        let x: Vec<f64> = test_values(31, n).iter().map(|v| 0.2 + 0.6 * v).collect();
        let y = test_values(32, n);
        let loss = WatsonDftLoss::<Ad>::new(
            &opts(WatsonColor::Gray, true),
            1,
            8,
            16,
            &Default::default(),
        );
        let target = tensor4::<Ad>(&y, shape);
        for shift in [None, Some((2, 5))] {
            check_gradient(
                |r| loss.forward(r, target.clone(), shift),
                |r| reference(r, &y, shape, shift)[0],
                &x,
                shape,
                1e-4,
                2e-3,
            );
        }
    }

    /// Watson(x, x) is only the guard terms: `(K·40·(EPS^β + EPS))^(1/β)` plus the
    /// phase weights times `acos(1 − 1e-7)` (with the factor rounded to f32).
    #[test]
    fn identical_images_give_only_guard_terms() {
        let shape = [2, 1, 16, 16];
        let n = 2 * 16 * 16;
        let x = test_values(41, n);
        let y = test_values(42, n);
        let loss = WatsonDftLoss::<Flex>::new(
            &opts(WatsonColor::Auto, false),
            1,
            16,
            16,
            &Default::default(),
        );
        let same = per_image(&loss, &x, &x, shape, None);
        let different = per_image(&loss, &y, &x, shape, None);
        let blocks = 4.0;
        let amp = (blocks * 40.0 * (EPS.powf(GRAY.beta) + EPS)).powf(1.0 / GRAY.beta);
        let weight_sum: f64 = GRAY.phase_weight().iter().flatten().sum();
        let phase = blocks * weight_sum * ((ACOS_SHRINK as f32) as f64).acos();
        for (s, d) in same.iter().zip(&different) {
            assert!(
                (s - (amp + phase)).abs() < 0.02 * (amp + phase),
                "{s} vs {}",
                amp + phase
            );
            assert!(*s < 1e-3 * d, "{s} vs {d}");
        }
    }

    /// `L̄` is the batch mean, so image 0's distance changes when a brighter image
    /// joins its batch (the reference's behaviour), and the f64 reference agrees.
    #[test]
    fn luminance_mean_depends_on_the_batch() {
        let device = Default::default();
        let (h, w) = (8, 16);
        let x = test_values(51, 2 * h * w);
        let mut y = test_values(52, 2 * h * w);
        y[h * w..].iter_mut().for_each(|v| *v = 0.5 + 0.5 * *v);
        let loss = WatsonDftLoss::<Flex>::new(&opts(WatsonColor::Gray, false), 1, h, w, &device);
        let alone = per_image(&loss, &x[..h * w], &y[..h * w], [1, 1, h, w], None)[0];
        let together = per_image(&loss, &x, &y, [2, 1, h, w], None);
        assert!(
            (alone - together[0]).abs() > 1e-3 * alone,
            "{alone} vs {}",
            together[0]
        );
        assert_close(
            &together,
            &reference(&x, &y, [2, 1, h, w], None),
            2e-4,
            "batch of 2",
        );
    }

    #[test]
    fn finite_on_edge_cases() {
        for (shape, color) in [
            ([2, 1, 8, 8], WatsonColor::Gray),
            ([1, 3, 8, 16], WatsonColor::Rgb),
        ] {
            let loss = WatsonDftLoss::<Ad>::new(
                &opts(color, true),
                shape[1],
                shape[2],
                shape[3],
                &Default::default(),
            );
            assert_finite_on_edge_cases(shape, |r, t| loss.forward(r, t, None));
            assert_finite_on_edge_cases(shape, |r, t| loss.forward(r, t, Some((0, 7))));
        }
    }

    /// The transcribed logits give the contrast exponents docs/methods.md#watson-dft states,
    /// the colour weights sum to 1, and the real bins carry no phase weight.
    #[test]
    fn pretrained_tables_match_the_spec() {
        for (p, w) in [
            (GRAY, 0.2057),
            (RGB_Y, 0.2626),
            (RGB_CB, 0.0461),
            (RGB_CR, 0.0468),
        ] {
            assert!((p.contrast_exponent() - w).abs() < 1e-4);
            let pw = p.phase_weight();
            assert!(REAL_BINS.iter().all(|&(u, v)| pw[u][v] == 0.0));
            assert!((pw[1][1] - p.log_phase_weight[1][1].exp()).abs() < 1e-15);
        }
        assert!((RGB_CHANNEL_WEIGHTS.iter().sum::<f64>() - 1.0).abs() < 1e-9);
        assert_eq!(parameter_sets(WatsonColor::Auto, 1).0, &[GRAY]);
        assert_eq!(parameter_sets(WatsonColor::Auto, 3).1, &RGB_CHANNEL_WEIGHTS);
    }
}
