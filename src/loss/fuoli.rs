//! Fuoli et al.'s Fourier-space loss (docs/methods.md#fuoli-loss): amplitude and phase L1 of the
//! Hann-windowed 2-D DFT over half the spectrum.
//!
//! Each image (per channel) is multiplied by the 2-D Hann window
//! `outer(hann_H, hann_W)` and transformed with the unnormalised DFT; rows
//! `u = 0 … H/2 − 1` of the UNSHIFTED spectrum, all columns, are kept (the paper's
//! half plane; by Hermitian symmetry it carries the amplitudes of the whole plane).
//! Per image: `amplitude_weight · mean | |F̂| − |F| | + phase_weight · mean |Δφ|`
//! over the kept bins (= 2/(UV)·Σ), with `Δφ` raw or wrapped to [0, π]; then the
//! mean over batch and channels. The window is separable, so it is a taper inside
//! the two per-axis DFT matrices and the row restriction is the left matrix's
//! frequency list: one matrix product gives everything.

use super::term::{Domain, ImageShape, TermInput, TermLoss, TermOptions};
use serde::{Deserialize, Serialize};
use std::f64::consts::PI;

use burn::tensor::{backend::Backend, Tensor};

use crate::pipeline::check::non_negative;
use crate::pipeline::schema::ConfigIssue;
use crate::spectral::axis::AxisMatrix;
use crate::spectral::tensor::{guarded_magnitude, SeparableDft};
use crate::spectral::window::{hann, HannKind};

/// Whether a phase difference is compared raw or wrapped to [0, pi].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PhaseDifference {
    /// |phi1 - phi0| as the formula is written (jumps by 2 pi at the branch cut).
    Raw,
    /// min(|d|, 2 pi - |d|), the angular distance.
    Wrapped,
}

/// Hann window definition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum HannWindow {
    /// 0.5 - 0.5 cos(2 pi n / N) (torch default).
    Periodic,
    /// 0.5 - 0.5 cos(2 pi n / (N - 1)) (numpy hanning).
    Symmetric,
}

/// Options of Fuoli et al.'s Fourier-space loss (docs/methods.md#fuoli-loss): Hann-windowed
/// 2-D DFT, L1 of amplitudes and of phases over half the spectrum.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct FuoliTerm {
    /// Weight in the mix (>= 0).
    pub weight: f64,
    /// Weight of the amplitude L1.
    pub amplitude_weight: f64,
    /// Weight of the phase L1.
    pub phase_weight: f64,
    /// Raw (the paper's formula) or wrapped phase difference.
    pub phase: PhaseDifference,
    /// Hann window definition.
    pub hann: HannWindow,
}

impl Default for FuoliTerm {
    fn default() -> Self {
        FuoliTerm {
            weight: 1.0,
            amplitude_weight: 1.0,
            phase_weight: 1.0,
            phase: PhaseDifference::Raw,
            hann: HannWindow::Periodic,
        }
    }
}

impl TermOptions for FuoliTerm {
    const NAME: &'static str = "fuoli";
    const DOMAIN: Domain = Domain::Frequency;
    const VERSION: u32 = 1;
    const SUMMARY: &'static str =
        "Fuoli's Fourier loss: L1 of amplitudes and of phases of the Hann-windowed DFT";

    fn weight(&self) -> f64 {
        self.weight
    }

    fn check(&self, _image: ImageShape, at: &str) -> Result<(), ConfigIssue> {
        non_negative(self.amplitude_weight, &format!("{at}.amplitude_weight"))?;
        non_negative(self.phase_weight, &format!("{at}.phase_weight"))
    }

    fn build<B: Backend>(&self, image: ImageShape, device: &B::Device) -> Box<dyn TermLoss<B>> {
        Box::new(FuoliLoss::new(self, image.height, image.width, device))
    }
}

impl<B: Backend> TermLoss<B> for FuoliLoss<B> {
    fn forward(&self, input: &TermInput<B>) -> Tensor<B, 1> {
        FuoliLoss::forward(self, input.recon.clone(), input.target.clone())
    }
}

/// Added to Re² + Im² under the square root: keeps d|F|/dF finite (zero) at F = 0.
const MAGNITUDE_TINY: f64 = 1e-20;

/// Added to Re inside atan2. burn's atan2 gives 0 at (0, 0) (Rust's `f32::atan2`)
/// but its gradient x/(x² + y²) is 0/0 = NaN there; with the shift the phase of a
/// zero coefficient is 0 with a finite gradient (1e6 at most), and any non-tiny
/// coefficient moves by about 1e-6/|F| rad. Dalal's code adds the same 1e-6.
const PHASE_EPSILON: f64 = 1e-6;

/// Fuoli's Fourier-space loss for images of one size.
#[derive(Debug, Clone)]
pub struct FuoliLoss<B: Backend> {
    /// Hann-tapered DFT, rows u < H/2, all columns.
    dft: SeparableDft<B>,
    amplitude_weight: f64,
    phase_weight: f64,
    phase: PhaseDifference,
}

impl<B: Backend> FuoliLoss<B> {
    /// Builds the windowed half-plane DFT matrices for `height` × `width` images
    /// (`height` ≥ 2, so that at least one row is kept).
    pub fn new(opts: &FuoliTerm, height: usize, width: usize, device: &B::Device) -> Self {
        assert!(
            height >= 2 && width >= 1,
            "{height}x{width} images are too small"
        );
        let kind = match opts.hann {
            HannWindow::Periodic => HannKind::Periodic,
            HannWindow::Symmetric => HannKind::Symmetric,
        };
        let half: Vec<usize> = (0..height / 2).collect();
        let all: Vec<usize> = (0..width).collect();
        let left = AxisMatrix::windowed_dft(height, &[0], height, &half, &hann(height, kind));
        let right = AxisMatrix::windowed_dft(width, &[0], width, &all, &hann(width, kind));
        FuoliLoss {
            dft: SeparableDft::new(&left, &right, device),
            amplitude_weight: opts.amplitude_weight,
            phase_weight: opts.phase_weight,
            phase: opts.phase,
        }
    }

    /// The loss between reconstructions `recon` and targets `target` (both pixel
    /// values `[B, C, H, W]`).
    pub fn forward(&self, recon: Tensor<B, 4>, target: Tensor<B, 4>) -> Tensor<B, 1> {
        let (amplitude, phase) = self.differences(recon, target);
        // Every image has the same number of kept bins, so the mean over all
        // elements is the mean over (batch, channel) of the per-image means.
        amplitude.mean().mul_scalar(self.amplitude_weight)
            + phase.mean().mul_scalar(self.phase_weight)
    }

    /// Per-bin `| |F̂| − |F| |` and phase differences (raw or wrapped), each
    /// `[B, C, H/2, W]`.
    fn differences(
        &self,
        recon: Tensor<B, 4>,
        target: Tensor<B, 4>,
    ) -> (Tensor<B, 4>, Tensor<B, 4>) {
        let batch = recon.dims()[0];
        // One transform for both sets of images.
        let (re, im) = self.dft.forward(Tensor::cat(vec![recon, target], 0));
        let amplitude = guarded_magnitude(re.clone(), im.clone(), MAGNITUDE_TINY);
        let phase = im.atan2(re.add_scalar(PHASE_EPSILON));
        let [n, c, p, q] = amplitude.dims();
        let first = |t: Tensor<B, 4>| t.slice([0..batch, 0..c, 0..p, 0..q]);
        let second = |t: Tensor<B, 4>| t.slice([batch..n, 0..c, 0..p, 0..q]);
        let amplitude_diff = (first(amplitude.clone()) - second(amplitude)).abs();
        let raw = (first(phase.clone()) - second(phase)).abs();
        let phase_diff = match self.phase {
            PhaseDifference::Raw => raw,
            // |Δφ| ∈ [0, 2π]: π − |π − |Δφ|| = min(|Δφ|, 2π − |Δφ|).
            PhaseDifference::Wrapped => raw.neg().add_scalar(PI).abs().neg().add_scalar(PI),
        };
        (amplitude_diff, phase_diff)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loss::testing::{assert_finite_on_edge_cases, check_gradient, scalar, tensor4, Ad};
    use crate::spectral::dft::{dft2_direct, test_values};
    use burn::backend::Flex;
    use std::f64::consts::TAU;

    fn opts(phase: PhaseDifference, hann: HannWindow) -> FuoliTerm {
        FuoliTerm {
            amplitude_weight: 0.7,
            phase_weight: 0.3,
            phase,
            hann,
            ..FuoliTerm::default()
        }
    }

    fn all_options() -> Vec<FuoliTerm> {
        let mut v = Vec::new();
        for phase in [PhaseDifference::Raw, PhaseDifference::Wrapped] {
            for hann in [HannWindow::Periodic, HannWindow::Symmetric] {
                v.push(opts(phase, hann));
            }
        }
        v
    }

    /// The Hann window written out (not the crate's `hann`).
    fn hann_ref(n: usize, kind: HannWindow) -> Vec<f64> {
        let period = match kind {
            HannWindow::Periodic => n as f64,
            HannWindow::Symmetric => (n - 1) as f64,
        };
        (0..n)
            .map(|i| 0.5 - 0.5 * (TAU * i as f64 / period).cos())
            .collect()
    }

    /// Kept half-plane (amplitude, phase) of every image: windowed, direct DFT,
    /// rows u < H/2 of the unshifted spectrum.
    fn half_spectra(x: &[f64], shape: [usize; 4], kind: HannWindow) -> Vec<Vec<(f64, f64)>> {
        let [b, c, h, w] = shape;
        let (hh, hw) = (hann_ref(h, kind), hann_ref(w, kind));
        (0..b * c)
            .map(|img| {
                let windowed: Vec<f64> = (0..h * w)
                    .map(|k| x[img * h * w + k] * hh[k / w] * hw[k % w])
                    .collect();
                let (re, im) = dft2_direct(&windowed, h, w);
                (0..h / 2 * w)
                    .map(|k| (re[k].hypot(im[k]), im[k].atan2(re[k])))
                    .collect()
            })
            .collect()
    }

    /// Per-bin phase distance as the option says.
    fn phase_distance(a: f64, b: f64, mode: PhaseDifference) -> f64 {
        let d = (a - b).abs();
        match mode {
            PhaseDifference::Raw => d,
            PhaseDifference::Wrapped => d.min(TAU - d),
        }
    }

    /// The loss in f64: per image weighted means over the kept bins, then the mean.
    fn reference(x: &[f64], y: &[f64], shape: [usize; 4], o: &FuoliTerm) -> f64 {
        let (sx, sy) = (
            half_spectra(x, shape, o.hann),
            half_spectra(y, shape, o.hann),
        );
        let per_image: Vec<f64> = sx
            .iter()
            .zip(&sy)
            .map(|(a, b)| {
                let bins = a.len() as f64;
                let amp: f64 = a.iter().zip(b).map(|(p, q)| (p.0 - q.0).abs()).sum::<f64>() / bins;
                let ph: f64 = a
                    .iter()
                    .zip(b)
                    .map(|(p, q)| phase_distance(p.1, q.1, o.phase))
                    .sum::<f64>()
                    / bins;
                o.amplitude_weight * amp + o.phase_weight * ph
            })
            .collect();
        per_image.iter().sum::<f64>() / per_image.len() as f64
    }

    /// Textured images whose kept real coefficients (DC and column W/2 of row 0)
    /// are clearly positive: the column checkerboard puts +H·W/16 into the Nyquist
    /// coefficient, so no real bin sits on atan2's branch cut.
    fn textured(seed: u64, shape: [usize; 4]) -> Vec<f64> {
        let w = shape[3];
        test_values(seed, shape.iter().product())
            .iter()
            .enumerate()
            .map(|(k, v)| 0.5 * v + 0.5 * (k % w).is_multiple_of(2) as u8 as f64)
            .collect()
    }

    /// Precondition of the f32 vs f64 comparisons: no kept bin is within 1e-3 rad
    /// of the branch cut, where rounding could flip the phase by 2π.
    fn assert_off_branch_cut(x: &[f64], shape: [usize; 4], kind: HannWindow) {
        for img in half_spectra(x, shape, kind) {
            assert!(
                img.iter().all(|(_, p)| PI - p.abs() > 1e-3),
                "bin on the branch cut"
            );
        }
    }

    #[test]
    fn value_matches_reference_for_both_windows_and_phase_modes() {
        let shape = [2, 2, 8, 12];
        let (x, y) = (textured(61, shape), textured(62, shape));
        for o in all_options() {
            assert_off_branch_cut(&x, shape, o.hann);
            assert_off_branch_cut(&y, shape, o.hann);
            let loss = FuoliLoss::<Flex>::new(&o, 8, 12, &Default::default());
            let got = scalar(loss.forward(tensor4(&x, shape), tensor4(&y, shape)));
            let want = reference(&x, &y, shape, &o);
            assert!((got - want).abs() < 1e-4 * want, "{o:?}: {got} vs {want}");
        }
    }

    #[test]
    fn wrapped_phase_is_at_most_raw_and_at_most_pi() {
        // The reconstruction is the target shifted by 2 columns (keeping the
        // checkerboard's parity): phases rotate by about 2π·2v/W, so many bins'
        // raw difference exceeds π.
        let shape = [1, 1, 8, 12];
        let y = textured(71, shape);
        let x: Vec<f64> = (0..96)
            .map(|k| y[(k / 12) * 12 + (k % 12 + 2) % 12])
            .collect();
        assert_off_branch_cut(&x, shape, HannWindow::Periodic);
        assert_off_branch_cut(&y, shape, HannWindow::Periodic);
        let diff = |mode| {
            let loss = FuoliLoss::<Flex>::new(
                &opts(mode, HannWindow::Periodic),
                8,
                12,
                &Default::default(),
            );
            let (_, phase) = loss.differences(tensor4(&x, shape), tensor4(&y, shape));
            phase.into_data().to_vec::<f32>().unwrap()
        };
        let (raw, wrapped) = (diff(PhaseDifference::Raw), diff(PhaseDifference::Wrapped));
        let crossing = raw.iter().filter(|&&r| r as f64 > PI + 0.1).count();
        assert!(
            crossing >= 5,
            "only {crossing} bins with a raw difference above π"
        );
        for (&r, &wr) in raw.iter().zip(&wrapped) {
            let (r, wr) = (r as f64, wr as f64);
            assert!(wr <= r + 1e-6 && wr <= PI + 1e-6, "raw {r}, wrapped {wr}");
            assert!((wr - r.min(TAU - r)).abs() < 1e-5, "raw {r}, wrapped {wr}");
        }
        // Whole-loss values agree with the f64 reference in both modes and differ.
        let value = |mode| {
            let o = FuoliTerm {
                amplitude_weight: 0.0,
                phase_weight: 1.0,
                ..opts(mode, HannWindow::Periodic)
            };
            let loss = FuoliLoss::<Flex>::new(&o, 8, 12, &Default::default());
            let got = scalar(loss.forward(tensor4(&x, shape), tensor4(&y, shape)));
            let want = reference(&x, &y, shape, &o);
            assert!(
                (got - want).abs() < 1e-4 * want,
                "{mode:?}: {got} vs {want}"
            );
            got
        };
        let (raw_value, wrapped_value) =
            (value(PhaseDifference::Raw), value(PhaseDifference::Wrapped));
        assert!(
            wrapped_value < raw_value - 0.1,
            "{wrapped_value} vs {raw_value}"
        );
    }

    #[test]
    fn gradient_matches_finite_differences() {
        let shape = [2, 1, 8, 6];
        let (x, y) = (textured(81, shape), textured(82, shape));
        for o in [
            opts(PhaseDifference::Raw, HannWindow::Periodic),
            opts(PhaseDifference::Wrapped, HannWindow::Symmetric),
        ] {
            assert_off_branch_cut(&x, shape, o.hann);
            assert_off_branch_cut(&y, shape, o.hann);
            let loss = FuoliLoss::<Ad>::new(&o, 8, 6, &Default::default());
            let yt = tensor4::<Ad>(&y, shape);
            check_gradient(
                |xt| loss.forward(xt, yt.clone()),
                |xp| reference(xp, &y, shape, &o),
                &x,
                shape,
                1e-4,
                1e-2,
            );
        }
    }

    #[test]
    fn finite_on_edge_cases() {
        for o in all_options() {
            let loss = FuoliLoss::<Ad>::new(&o, 8, 8, &Default::default());
            assert_finite_on_edge_cases([2, 2, 8, 8], |r, t| loss.forward(r, t));
        }
    }
}
