//! Durall's 1-D "AI" spectrum of one grey image (docs/methods.md#azimuthal-profile).

use super::fft::Fft2;
use super::radial::RadialBins;

/// Added to the complex spectrum (to its real part) before the log, as in Durall's
/// code (`fshift += 1e-8`).
pub const SPECTRUM_EPS: f64 = 1e-8;

/// Radial profile of the log-magnitude spectrum of a grey `h×w` image:
/// F = unnormalised `fft2`, `fftshift`, F ← F + 1e-8, spectrum = 20·ln|F| (natural
/// log, as in the reference code despite the decibel-like factor 20), then the
/// azimuthal mean over `bins`. The profile is NOT min–max normalised (Björk's RMSEs
/// are only plausible on raw values, docs/methods.md#ai-rmse).
///
/// A coefficient equal to exactly −1e-8 would give −∞, as in the reference.
/// `fft` and `bins` must be built for the image size.
pub fn log_magnitude_profile(fft: &Fft2, bins: &RadialBins, gray: &[f32]) -> Vec<f64> {
    assert_eq!(
        (fft.height(), fft.width()),
        (bins.height(), bins.width()),
        "FFT and bins built for different sizes"
    );
    let (re, im) = fft.forward(gray);
    // The element-wise log commutes with the shift, so average on the unshifted
    // layout through the unshifted bin map instead of copying the spectrum.
    let spectrum: Vec<f64> = re
        .iter()
        .zip(&im)
        // 20·ln|F| = 10·ln|F|²: no square root, and no `hypot` (whose overflow-safe
        // scaling costs more than the FFT itself here; |F|² of [0,1] images cannot
        // overflow).
        .map(|(&re, &im)| {
            let re = re + SPECTRUM_EPS;
            10.0 * (re * re + im * im).ln()
        })
        .collect();
    bins.profile_unshifted(&spectrum)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spectral::dft::{dft2_direct, test_values};
    use crate::spectral::fft::fftshift;

    #[test]
    fn matches_step_by_step_reference() {
        for (h, w) in [(28, 28), (8, 8), (7, 9)] {
            let gray: Vec<f32> = test_values(h as u64 * 31, h * w)
                .iter()
                .map(|&v| v as f32)
                .collect();
            let exact: Vec<f64> = gray.iter().map(|&v| v as f64).collect();
            let (re, im) = dft2_direct(&exact, h, w);
            let (re, im) = (fftshift(&re, h, w), fftshift(&im, h, w));
            let spectrum: Vec<f64> = re
                .iter()
                .zip(&im)
                .map(|(r, i)| 20.0 * ((r + 1e-8).powi(2) + i * i).sqrt().ln())
                .collect();
            let bins = RadialBins::durall(h, w);
            let expected = bins.profile(&spectrum);
            let got = log_magnitude_profile(&Fft2::new(h, w), &bins, &gray);
            assert_eq!(got.len(), expected.len());
            for (a, b) in got.iter().zip(&expected) {
                assert!((a - b).abs() < 1e-9, "{h}x{w}: {a} vs {b}");
            }
        }
    }

    #[test]
    fn constant_image_has_flat_epsilon_floor() {
        // All energy sits in DC (bin 0, dropped); every other coefficient is ~0, so
        // the profile is 20·ln(1e-8) ≈ −368.4 wherever the FFT's round-off is far
        // below 1e-8.
        let (h, w) = (16, 16);
        let bins = RadialBins::durall(h, w);
        let p = log_magnitude_profile(&Fft2::new(h, w), &bins, &vec![0.5; h * w]);
        let floor = 20.0 * 1e-8f64.ln();
        assert_eq!(p.len(), bins.len());
        assert!(p.iter().all(|&v| (v - floor).abs() < 1e-6), "{p:?}");
    }
}
