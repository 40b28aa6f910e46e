//! Dalal's short-time Fourier loss (docs/methods.md#stft-loss).
//!
//! Windows of side `f` start at `i·s` for `i` in `0..K`, `K = ⌊(H−f)/s⌋ + 1` (the
//! same along the width). Each window is optionally tapered by the 2-D window
//! `sqrt(outer(hann, hann)) = outer(sqrt(hann), sqrt(hann))` with numpy's symmetric
//! Hann, then transformed:
//!
//! * [`StftMode::Paper2d`]: the 2-D DFT of the window, frequencies `u, v < f/2`;
//! * [`StftMode::CodeRows`]: what the reference code computes (`fft2d` of an NHWC
//!   patch transforms (W, C)): a 1-D DFT along the width of each row, keeping the
//!   first `f/2` rows of the window and its first `f/2` width frequencies.
//!
//! Both are one separable transform `L · X · Rᵀ` with the taper baked into the
//! constant axis matrices, so every window of a batch comes out of one product.
//! With amplitude `A = |F|` and phase `P = atan2(Im, Re + phase_epsilon)`, the loss of
//! an image is `Σ (phase_weight·|ΔP| + amplitude_weight·|ΔA|)·W` over windows, kept
//! coefficients and channels, with `W[a, b] = a/(f/2−1) · b/(f/2−1)` (numpy's
//! `outer(linspace(0, 1, f/2), linspace(0, 1, f/2))`, `a` the first kept index) or all
//! ones; the value is the mean over the batch.
//!
//! Gradient guards: the amplitude is `sqrt(Re² + Im² + 1e-12)`, so its gradient is
//! bounded by 1 everywhere and is 0 at `F = 0` (the value moves by at most 1e-6, the
//! scale of the code's phase epsilon). The phase keeps the reference's behaviour: at
//! `F = 0` (blank MNIST windows) `∂P/∂Im = 1/phase_epsilon ≈ 1e6`, finite but large;
//! with `phase_epsilon = 0` it is 0/0 there. The phase difference is not wrapped, so
//! it jumps by 2π when a coefficient crosses the negative real axis.

use super::term::{Domain, ImageShape, TermInput, TermLoss, TermOptions};
use burn::tensor::{backend::Backend, Tensor, TensorData};
use serde::{Deserialize, Serialize};

use crate::pipeline::check::{non_negative, positive, require};
use crate::pipeline::schema::ConfigIssue;
use crate::spectral::axis::AxisMatrix;
use crate::spectral::tensor::{guarded_magnitude, SeparableDft};
use crate::spectral::window::{hann, HannKind};

/// Which transform Dalal's STFT loss applies to each window (docs/methods.md#stft-loss).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum StftMode {
    /// The paper: 2-D DFT of each window, frequencies (u, v) < (f/2, f/2).
    Paper2d,
    /// The reference code: a 1-D DFT along each row of the window, first f/2 rows
    /// and first f/2 frequencies.
    CodeRows,
}

/// How Dalal's STFT loss weights frequencies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FrequencyWeighting {
    /// W[a, b] = a/(f/2 - 1) * b/(f/2 - 1), zero on the first row and column.
    Linear,
    /// All ones.
    None,
}

/// Options of Dalal's short-time Fourier loss: sum over windows and kept
/// frequencies of (phase_weight |dP| + amplitude_weight |dA|) W, per image,
/// mean over the batch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct StftTerm {
    /// Weight in the mix (>= 0); Dalal's lambda_freq.
    pub weight: f64,
    /// Window side f (even, <= image side).
    pub window: usize,
    /// Stride s between windows (>= 1).
    pub stride: usize,
    /// Apply the 2-D Hann taper sqrt(outer(hann, hann)) (symmetric Hann, as the code's
    /// switched-off branch); the paper uses one, the code does not.
    pub hann: bool,
    /// Weight of the amplitude differences.
    pub amplitude_weight: f64,
    /// Weight of the (raw) phase differences; the paper's lambda.
    pub phase_weight: f64,
    /// Frequency weighting W.
    pub frequency_weighting: FrequencyWeighting,
    /// Paper (2-D) or reference-code (row) transform.
    pub mode: StftMode,
    /// Added to the real part before the phase is taken (the code's 1e-6).
    pub phase_epsilon: f64,
}

impl Default for StftTerm {
    fn default() -> Self {
        StftTerm {
            weight: 1.0,
            window: 16,
            stride: 4,
            hann: true,
            amplitude_weight: 1.0,
            phase_weight: 1.0,
            frequency_weighting: FrequencyWeighting::Linear,
            mode: StftMode::Paper2d,
            phase_epsilon: 1e-6,
        }
    }
}

impl TermOptions for StftTerm {
    const NAME: &'static str = "stft";
    const DOMAIN: Domain = Domain::Frequency;
    const VERSION: u32 = 1;
    const SUMMARY: &'static str =
        "Dalal's short-time Fourier loss: weighted amplitude and phase L1 over sliding windows";

    fn weight(&self) -> f64 {
        self.weight
    }

    fn check(&self, image: ImageShape, at: &str) -> Result<(), ConfigIssue> {
        let size = image.height.min(image.width);
        require(
            self.window >= 4 && self.window.is_multiple_of(2) && self.window <= size,
            &format!("{at}.window"),
            || {
                format!(
                    "{at}.window must be even, >= 4 and <= the image side {size}, got {}",
                    self.window
                )
            },
        )?;
        require(self.stride >= 1, &format!("{at}.stride"), || {
            format!("{at}.stride must be >= 1, got {}", self.stride)
        })?;
        non_negative(self.amplitude_weight, &format!("{at}.amplitude_weight"))?;
        non_negative(self.phase_weight, &format!("{at}.phase_weight"))?;
        // atan2's gradient at an exactly zero coefficient is 0/0 without it.
        positive(self.phase_epsilon, &format!("{at}.phase_epsilon"))
    }

    fn build<B: Backend>(&self, image: ImageShape, device: &B::Device) -> Box<dyn TermLoss<B>> {
        Box::new(StftLoss::new(self, image.height, image.width, device))
    }
}

impl<B: Backend> TermLoss<B> for StftLoss<B> {
    fn forward(&self, input: &TermInput<B>) -> Tensor<B, 1> {
        StftLoss::forward(self, input.recon.clone(), input.target.clone())
    }
}

/// Added to `Re² + Im²` under the amplitude's square root (see the module docs).
const AMPLITUDE_FLOOR: f64 = 1e-12;

/// Dalal's STFT loss for images of one size.
#[derive(Debug, Clone)]
pub struct StftLoss<B: Backend> {
    transform: SeparableDft<B>,
    /// `W` for every output coefficient, `[1, 1, P, Q]`.
    weights: Tensor<B, 4>,
    amplitude_weight: f64,
    phase_weight: f64,
    phase_epsilon: f64,
}

/// Start of every window of `len` samples at `stride` that fits in `n` samples.
fn window_starts(n: usize, len: usize, stride: usize) -> Vec<usize> {
    (0..=(n - len) / stride).map(|i| i * stride).collect()
}

/// numpy's `linspace(0, 1, n)` (`[0]` for `n = 1`).
fn linspace01(n: usize) -> Vec<f64> {
    if n == 1 {
        return vec![0.0];
    }
    (0..n).map(|i| i as f64 / (n - 1) as f64).collect()
}

impl<B: Backend> StftLoss<B> {
    /// Builds the windowed-transform matrices and the weights for `height` × `width`
    /// images.
    ///
    /// Panics unless the window is even, at least 2 and no larger than either side,
    /// and the stride is at least 1.
    pub fn new(opts: &StftTerm, height: usize, width: usize, device: &B::Device) -> Self {
        let (f, s) = (opts.window, opts.stride);
        assert!(
            f >= 2 && f % 2 == 0,
            "STFT window must be even and >= 2, got {f}"
        );
        assert!(
            f <= height && f <= width,
            "STFT window {f} larger than the {height}x{width} image"
        );
        assert!(s >= 1, "STFT stride must be >= 1");
        let half = f / 2;
        let kept: Vec<usize> = (0..half).collect();
        let taper: Vec<f64> = if opts.hann {
            // sqrt of the outer product of symmetric Hann windows = outer product of
            // their square roots; clamp the end zeros' rounding before the root.
            hann(f, HannKind::Symmetric)
                .into_iter()
                .map(|v| v.max(0.0).sqrt())
                .collect()
        } else {
            vec![1.0; f]
        };
        let starts_h = window_starts(height, f, s);
        let starts_w = window_starts(width, f, s);
        let right = AxisMatrix::windowed_dft(width, &starts_w, f, &kept, &taper);
        let left = match opts.mode {
            StftMode::Paper2d => AxisMatrix::windowed_dft(height, &starts_h, f, &kept, &taper),
            StftMode::CodeRows => {
                // Rows start..start+f/2 of each window, each scaled by its taper value.
                let mut re = vec![0.0; starts_h.len() * half * height];
                for (i, &start) in starts_h.iter().enumerate() {
                    for a in 0..half {
                        re[(i * half + a) * height + start + a] = taper[a];
                    }
                }
                AxisMatrix::real(starts_h.len() * half, height, re)
            }
        };
        let line = match opts.frequency_weighting {
            FrequencyWeighting::Linear => linspace01(half),
            FrequencyWeighting::None => vec![1.0; half],
        };
        // Rows and columns are window-major: index `i·(f/2) + a` has weight line[a].
        let (p, q) = (left.rows, right.rows);
        let weights: Vec<f32> = (0..p)
            .flat_map(|r| (0..q).map(move |c| (r, c)))
            .map(|(r, c)| (line[r % half] * line[c % half]) as f32)
            .collect();
        StftLoss {
            transform: SeparableDft::new(&left, &right, device),
            weights: Tensor::from_data(TensorData::new(weights, [1, 1, p, q]), device),
            amplitude_weight: opts.amplitude_weight,
            phase_weight: opts.phase_weight,
            phase_epsilon: opts.phase_epsilon,
        }
    }

    /// The loss between reconstructions `recon` and targets `target` (both
    /// `[B, C, H, W]`): the weighted L1 of window amplitudes and phases per image,
    /// mean over the batch.
    pub fn forward(&self, recon: Tensor<B, 4>, target: Tensor<B, 4>) -> Tensor<B, 1> {
        let b = recon.dims()[0];
        // Both batches through one transform.
        let (re, im) = self.transform.forward(Tensor::cat(vec![recon, target], 0));
        let difference = |t: Tensor<B, 4>| (t.clone().narrow(0, 0, b) - t.narrow(0, b, b)).abs();
        let mut per_coefficient: Option<Tensor<B, 4>> = None;
        let mut add = |term: Tensor<B, 4>| {
            per_coefficient = Some(match per_coefficient.take() {
                Some(sum) => sum + term,
                None => term,
            });
        };
        // A zero weight skips its term entirely (no atan2 in the graph).
        if self.amplitude_weight != 0.0 {
            let amplitude = guarded_magnitude(re.clone(), im.clone(), AMPLITUDE_FLOOR);
            add(difference(amplitude).mul_scalar(self.amplitude_weight));
        }
        if self.phase_weight != 0.0 {
            let phase = im.atan2(re.add_scalar(self.phase_epsilon));
            add(difference(phase).mul_scalar(self.phase_weight));
        }
        match per_coefficient {
            Some(t) => (t * self.weights.clone()).sum().div_scalar(b as f64),
            None => Tensor::zeros([1], &self.weights.device()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loss::testing::{
        assert_finite_on_edge_cases, autodiff_gradient, check_gradient, scalar, tensor4, Ad,
    };
    use crate::spectral::dft::{dft2_direct, test_values};
    use crate::spectral::tensor::Normalization;
    use burn::backend::Flex;
    use std::f64::consts::TAU;

    fn opts(window: usize, stride: usize, hann: bool, mode: StftMode) -> StftTerm {
        StftTerm {
            weight: 1.0,
            window,
            stride,
            hann,
            amplitude_weight: 0.7,
            phase_weight: 1.3,
            frequency_weighting: FrequencyWeighting::Linear,
            mode,
            phase_epsilon: 1e-6,
        }
    }

    /// The kept coefficients of one `h × w` image channel as (Re, Im, weight), from
    /// an explicit loop over windows: cut the patch, taper it by the 2-D
    /// sqrt(outer(hanning, hanning)), direct DFT (2-D, or 1-D per row).
    fn reference_coefficients(img: &[f64], h: usize, w: usize, o: &StftTerm) -> Vec<[f64; 3]> {
        let (f, s, half) = (o.window, o.stride, o.window / 2);
        let hanning: Vec<f64> = (0..f)
            .map(|n| 0.5 - 0.5 * (TAU * n as f64 / (f - 1) as f64).cos())
            .collect();
        let line = |a: usize| match o.frequency_weighting {
            FrequencyWeighting::Linear if half > 1 => a as f64 / (half - 1) as f64,
            FrequencyWeighting::Linear => 0.0,
            FrequencyWeighting::None => 1.0,
        };
        let mut out = Vec::new();
        for i in 0..(h - f) / s + 1 {
            for j in 0..(w - f) / s + 1 {
                let mut patch = vec![0.0; f * f];
                for a in 0..f {
                    for b in 0..f {
                        let t = if o.hann {
                            (hanning[a] * hanning[b]).max(0.0).sqrt()
                        } else {
                            1.0
                        };
                        patch[a * f + b] = t * img[(i * s + a) * w + j * s + b];
                    }
                }
                match o.mode {
                    StftMode::Paper2d => {
                        let (re, im) = dft2_direct(&patch, f, f);
                        for u in 0..half {
                            for v in 0..half {
                                out.push([re[u * f + v], im[u * f + v], line(u) * line(v)]);
                            }
                        }
                    }
                    StftMode::CodeRows => {
                        for a in 0..half {
                            let (re, im) = dft2_direct(&patch[a * f..(a + 1) * f], 1, f);
                            for v in 0..half {
                                out.push([re[v], im[v], line(a) * line(v)]);
                            }
                        }
                    }
                }
            }
        }
        out
    }

    /// The loss from per-channel coefficient lists of `x` and `y`.
    fn loss_from_coefficients(
        cx: &[Vec<[f64; 3]>],
        cy: &[Vec<[f64; 3]>],
        batch: usize,
        o: &StftTerm,
    ) -> f64 {
        let phase = |c: &[f64; 3]| c[1].atan2(c[0] + o.phase_epsilon);
        let amp = |c: &[f64; 3]| c[0].hypot(c[1]);
        let mut total = 0.0;
        for (a, b) in cx.iter().zip(cy) {
            for (p, q) in a.iter().zip(b) {
                total += (o.phase_weight * (phase(p) - phase(q)).abs()
                    + o.amplitude_weight * (amp(p) - amp(q)).abs())
                    * p[2];
            }
        }
        total / batch as f64
    }

    fn per_channel(x: &[f64], [b, c, h, w]: [usize; 4], o: &StftTerm) -> Vec<Vec<[f64; 3]>> {
        (0..b * c)
            .map(|k| reference_coefficients(&x[k * h * w..(k + 1) * h * w], h, w, o))
            .collect()
    }

    fn reference_loss(x: &[f64], y: &[f64], shape: [usize; 4], o: &StftTerm) -> f64 {
        loss_from_coefficients(
            &per_channel(x, shape, o),
            &per_channel(y, shape, o),
            shape[0],
            o,
        )
    }

    fn value(o: &StftTerm, x: &[f64], y: &[f64], shape: [usize; 4]) -> f64 {
        let loss = StftLoss::<Flex>::new(o, shape[2], shape[3], &Default::default());
        scalar(loss.forward(tensor4(x, shape), tensor4(y, shape)))
    }

    #[test]
    fn values_match_a_loop_over_windows() {
        let shape = [2, 2, 13, 11];
        let n: usize = shape.iter().product();
        let (x, y) = (test_values(1, n), test_values(2, n));
        for mode in [StftMode::Paper2d, StftMode::CodeRows] {
            for hann in [false, true] {
                for (window, stride) in [(4, 3), (8, 2), (6, 5)] {
                    for weighting in [FrequencyWeighting::Linear, FrequencyWeighting::None] {
                        let mut o = opts(window, stride, hann, mode);
                        o.frequency_weighting = weighting;
                        let got = value(&o, &x, &y, shape);
                        let want = reference_loss(&x, &y, shape, &o);
                        assert!(
                            (got - want).abs() < 1e-4 * want.max(1.0),
                            "{mode:?} hann={hann} f={window} s={stride} {weighting:?}: \
                             {got} vs {want}"
                        );
                    }
                }
            }
        }
    }

    /// The issue's identity: one full-image window is the plain DFT loss, i.e. the
    /// same amplitude/phase L1 on the full 2-D DFT restricted to u, v < f/2.
    #[test]
    fn one_full_image_window_equals_the_plain_dft_loss() {
        let (b, c, side) = (3, 1, 10);
        let shape = [b, c, side, side];
        let n: usize = shape.iter().product();
        let (x, y) = (test_values(3, n), test_values(4, n));
        let half = side / 2;
        let device = Default::default();
        let full = SeparableDft::<Flex>::full(side, side, Normalization::Backward, &device);
        for stride in [1, 3] {
            for weighting in [FrequencyWeighting::Linear, FrequencyWeighting::None] {
                let mut o = opts(side, stride, false, StftMode::Paper2d);
                o.frequency_weighting = weighting;
                let line: Vec<f64> = match weighting {
                    FrequencyWeighting::Linear => linspace01(half),
                    FrequencyWeighting::None => vec![1.0; half],
                };
                // f64: direct full DFT of each image.
                let coefficients = |v: &[f64]| -> Vec<Vec<[f64; 3]>> {
                    (0..b * c)
                        .map(|k| {
                            let (re, im) =
                                dft2_direct(&v[k * side * side..(k + 1) * side * side], side, side);
                            (0..half * half)
                                .map(|m| {
                                    let (u, v) = (m / half, m % half);
                                    [re[u * side + v], im[u * side + v], line[u] * line[v]]
                                })
                                .collect()
                        })
                        .collect()
                };
                let plain = loss_from_coefficients(&coefficients(&x), &coefficients(&y), b, &o);
                let got = value(&o, &x, &y, shape);
                assert!(
                    (got - plain).abs() < 1e-5 * plain,
                    "stride {stride} {weighting:?}: {got} vs {plain}"
                );
                // Tensor: the crate's full DFT, sliced to u, v < f/2.
                let (w_amp, w_phase) = (o.amplitude_weight, o.phase_weight);
                let spectra = |v: &[f64]| {
                    let (re, im) = full.forward(tensor4::<Flex>(v, shape));
                    let cut = |t: Tensor<Flex, 4>| t.slice([0..b, 0..c, 0..half, 0..half]);
                    let (re, im) = (cut(re), cut(im));
                    let amp = (re.clone().powi_scalar(2) + im.clone().powi_scalar(2)).sqrt();
                    (amp, im.atan2(re.add_scalar(o.phase_epsilon)))
                };
                let ((ax, px), (ay, py)) = (spectra(&x), spectra(&y));
                let weights: Vec<f32> = (0..half * half)
                    .map(|m| (line[m / half] * line[m % half]) as f32)
                    .collect();
                let weights = Tensor::<Flex, 4>::from_data(
                    TensorData::new(weights, [1, 1, half, half]),
                    &device,
                );
                let tensor_plain = scalar(
                    (((px - py).abs().mul_scalar(w_phase) + (ax - ay).abs().mul_scalar(w_amp))
                        * weights)
                        .sum()
                        .div_scalar(b as f64),
                );
                assert!(
                    (got - tensor_plain).abs() < 1e-5 * plain,
                    "stride {stride} {weighting:?}: {got} vs tensor {tensor_plain}"
                );
            }
        }
    }

    /// Whether every kept coefficient of `x` and `y` is where the loss is smooth for
    /// a finite-difference step of 1e-4 (which moves any coefficient by at most
    /// ~1e-4): exactly-real ones (DC of a real row or window, whose phase stays 0)
    /// have Re well above 0 or are 0 in both images; the others have |F| well above 0, stay off the negative
    /// real axis, and differ between the images in amplitude and phase.
    fn smooth(x: &[f64], y: &[f64], shape: [usize; 4], o: &StftTerm) -> bool {
        let phase = |c: &[f64; 3]| c[1].atan2(c[0] + o.phase_epsilon);
        let amp = |c: &[f64; 3]| c[0].hypot(c[1]);
        let (cx, cy) = (per_channel(x, shape, o), per_channel(y, shape, o));
        cx.iter().flatten().zip(cy.iter().flatten()).all(|(p, q)| {
            if p[1] == 0.0 && q[1] == 0.0 {
                // Exactly 0 in both (a row the taper zeroes) stays 0: ΔP = ΔA = 0.
                return (p[0] == 0.0 && q[0] == 0.0) || (p[0] > 0.1 && q[0] > 0.1);
            }
            [p, q]
                .iter()
                .all(|c| amp(c) > 0.05 && (c[0] > 0.0 || c[1].abs() > 5e-3))
                && (phase(p) - phase(q)).abs() > 1e-3
                && (amp(p) - amp(q)).abs() > 1e-3
        })
    }

    #[test]
    fn gradient_matches_finite_differences() {
        let shape = [2, 1, 10, 9];
        let n: usize = shape.iter().product();
        let configs: Vec<StftTerm> = [StftMode::Paper2d, StftMode::CodeRows]
            .into_iter()
            .flat_map(|mode| {
                [false, true].map(|hann| StftTerm {
                    frequency_weighting: FrequencyWeighting::None,
                    ..opts(4, 3, hann, mode)
                })
            })
            .collect();
        // A large positive mean keeps the exactly-real DC terms far from 0; the
        // first seed whose other coefficients all stay clear of |F| = 0, the branch
        // cut and the kinks of |ΔP|, |ΔA| gives the test point.
        let image =
            |seed: u64| -> Vec<f64> { test_values(seed, n).iter().map(|v| 2.0 + v).collect() };
        let seed = (0..200)
            .find(|&s| {
                configs
                    .iter()
                    .all(|o| smooth(&image(s), &image(s + 1000), shape, o))
            })
            .expect("no smooth test point among 200 seeds");
        let (x, y) = (image(seed), image(seed + 1000));
        for o in &configs {
            let loss = StftLoss::<Ad>::new(o, shape[2], shape[3], &Default::default());
            check_gradient(
                |r| loss.forward(r, tensor4(&y, shape)),
                |r| reference_loss(r, &y, shape, o),
                &x,
                shape,
                1e-4,
                2e-3,
            );
        }
    }

    #[test]
    fn finite_on_edge_cases() {
        for mode in [StftMode::Paper2d, StftMode::CodeRows] {
            for hann in [false, true] {
                let loss =
                    StftLoss::<Ad>::new(&opts(8, 4, hann, mode), 16, 16, &Default::default());
                assert_finite_on_edge_cases([2, 1, 16, 16], |r, t| loss.forward(r, t));
            }
        }
        let defaults = StftLoss::<Ad>::new(&StftTerm::default(), 28, 28, &Default::default());
        assert_finite_on_edge_cases([2, 1, 28, 28], |r, t| defaults.forward(r, t));
    }

    /// The reference's behaviour at F = 0: the phase of (1e-6 + 0i) has
    /// ∂P/∂Im = 1e6, so a blank reconstruction against a textured target gets a
    /// large but finite gradient; the floored amplitude's gradient there is 0.
    #[test]
    fn gradient_at_zero_spectrum_is_large_but_finite() {
        let shape = [1, 1, 8, 8];
        let target = test_values(8, 64);
        let zero = vec![0.0; 64];
        let mut o = opts(8, 1, false, StftMode::CodeRows);
        o.frequency_weighting = FrequencyWeighting::None;
        let largest = |o: &StftTerm| {
            let loss = StftLoss::<Ad>::new(o, 8, 8, &Default::default());
            autodiff_gradient(|r| loss.forward(r, tensor4(&target, shape)), &zero, shape)
                .into_iter()
                .map(f64::abs)
                .fold(0.0, f64::max)
        };
        (o.amplitude_weight, o.phase_weight) = (0.0, 1.0);
        let phase = largest(&o);
        assert!(phase.is_finite() && phase > 1e5, "phase gradient {phase}");
        (o.amplitude_weight, o.phase_weight) = (1.0, 0.0);
        let amplitude = largest(&o);
        // The floored amplitude has zero gradient at F = 0.
        assert_eq!(amplitude, 0.0);
    }

    #[test]
    fn identical_inputs_give_zero_and_weights_follow_linspace() {
        let shape = [2, 1, 12, 12];
        let x = test_values(9, 2 * 144);
        for mode in [StftMode::Paper2d, StftMode::CodeRows] {
            assert_eq!(value(&opts(8, 2, true, mode), &x, &x, shape), 0.0);
        }
        assert_eq!(linspace01(4), vec![0.0, 1.0 / 3.0, 2.0 / 3.0, 1.0]);
        assert_eq!(linspace01(1), vec![0.0]);
        // f = 2 keeps only the DC term, whose linear weight is 0.
        let y = test_values(10, 2 * 144);
        assert_eq!(
            value(&opts(2, 1, false, StftMode::Paper2d), &x, &y, shape),
            0.0
        );
        assert_eq!(window_starts(28, 16, 4), vec![0, 4, 8, 12]);
        assert_eq!(window_starts(28, 28, 4), vec![0]);
    }
}
