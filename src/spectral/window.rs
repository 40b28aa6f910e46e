//! 1-D windows and filter taps shared by the losses: Hann tapers (for Fuoli's
//! and Dalal's windowed spectra) and the normalised Gaussian of SSIM and of the
//! Wiener blur kernel.

use std::f64::consts::TAU;

/// Which Hann definition a loss uses (docs/methods.md#fuoli-loss): they differ at the ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HannKind {
    /// `0.5 − 0.5·cos(2πn/N)` (torch's default `hann_window`): zero at n = 0 only.
    Periodic,
    /// `0.5 − 0.5·cos(2πn/(N−1))` (numpy `hanning`): zero at both ends.
    Symmetric,
}

/// The Hann window of length `n`.
pub fn hann(n: usize, kind: HannKind) -> Vec<f64> {
    let period = match kind {
        HannKind::Periodic => n as f64,
        HannKind::Symmetric => n.saturating_sub(1) as f64,
    };
    if n <= 1 || period == 0.0 {
        return vec![1.0; n];
    }
    (0..n)
        .map(|i| 0.5 - 0.5 * (TAU * i as f64 / period).cos())
        .collect()
}

/// Gaussian taps at offsets `−(size−1)/2 … (size−1)/2` with standard deviation
/// `sigma`, normalised to sum 1 (SSIM's 11-tap, σ = 1.5 window; the Wiener kernel).
pub fn gaussian_taps(size: usize, sigma: f64) -> Vec<f64> {
    let centre = (size as f64 - 1.0) / 2.0;
    let raw: Vec<f64> = (0..size)
        .map(|i| {
            let d = i as f64 - centre;
            (-d * d / (2.0 * sigma * sigma)).exp()
        })
        .collect();
    let total: f64 = raw.iter().sum();
    raw.into_iter().map(|v| v / total).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hann_variants_match_their_definitions() {
        let p = hann(8, HannKind::Periodic);
        let s = hann(8, HannKind::Symmetric);
        assert_eq!(p[0], 0.0);
        assert!((p[4] - 1.0).abs() < 1e-15, "periodic peaks at N/2");
        assert!(
            s[0] == 0.0 && s[7].abs() < 1e-15,
            "symmetric is zero at both ends"
        );
        // Symmetric window is a mirror image.
        for i in 0..8 {
            assert!((s[i] - s[7 - i]).abs() < 1e-15);
        }
        assert_eq!(hann(1, HannKind::Symmetric), vec![1.0]);
    }

    #[test]
    fn gaussian_taps_sum_to_one_and_are_symmetric() {
        let g = gaussian_taps(11, 1.5);
        assert!((g.iter().sum::<f64>() - 1.0).abs() < 1e-15);
        for i in 0..11 {
            assert!((g[i] - g[10 - i]).abs() < 1e-17);
        }
        // Ratio between neighbours follows exp(-(d² − (d−1)²)/(2σ²)).
        let want = (-(25.0 - 16.0) / (2.0 * 2.25f64)).exp();
        assert!((g[0] / g[1] - want).abs() < 1e-12);
    }
}
