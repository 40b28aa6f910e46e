//! Durall's azimuthal integration: averaging a centred 2-D spectrum over rings.
//!
//! Reproduces the binning of the `azimuthalAverage` routine in Durall et al.'s code
//! (docs/methods.md#azimuthal-profile):
//! * centre at ((W−1)/2, (H−1)/2) in (x = column, y = row) of the `fftshift`ed
//!   spectrum — half a pixel off the shifted DC position for even sizes, kept as is
//!   because the published profiles depend on it;
//! * a pixel at distance r from the centre belongs to ring ⌊r⌋;
//! * the profile value of a ring is the mean over its pixels;
//! * the innermost and the outermost non-empty rings are dropped (the reference
//!   code's cumulative-sum differencing skips its first and last run of equal ⌊r⌋).
//!
//! The bin assignment is computed once per image size and then reused both for
//! per-image profiles on the CPU and as constant averaging matrices for the
//! differentiable AI loss.

use std::collections::BTreeSet;

use super::fft::shifted_index;

/// The ring (bin) structure of Durall's azimuthal average for one image size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RadialBins {
    height: usize,
    width: usize,
    /// Kept-bin index of each pixel of the shifted spectrum (row-major).
    bin_of_pixel: Vec<Option<usize>>,
    /// The same map expressed on the unshifted (plain `fft2`) layout.
    bin_of_unshifted: Vec<Option<usize>>,
    /// Pixels per kept bin.
    counts: Vec<usize>,
    /// ⌊r⌋ of each kept bin.
    radii: Vec<usize>,
}

impl RadialBins {
    /// Bins of an `h×w` shifted spectrum following Durall's code.
    ///
    /// Kept lengths: 28×28 → 18, 32×32 → 20, 64×64 → 43, 128×128 → 88. Sizes too
    /// small to have three distinct rings give an empty profile.
    pub fn durall(h: usize, w: usize) -> RadialBins {
        let cx = (w as f64 - 1.0) / 2.0;
        let cy = (h as f64 - 1.0) / 2.0;
        // `sqrt` of an exactly representable sum of squares is correctly rounded,
        // so pixels lying exactly on an integer radius (odd sizes) land in that ring
        // rather than the one below it.
        let ring: Vec<usize> = (0..h * w)
            .map(|p| {
                let (y, x) = ((p / w) as f64, (p % w) as f64);
                ((x - cx).powi(2) + (y - cy).powi(2)).sqrt() as usize
            })
            .collect();

        // Rings that actually contain pixels, in increasing radius; a radius with no
        // pixel is not a bin (as in the reference, which only sees radii present).
        let present: Vec<usize> = ring
            .iter()
            .copied()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let radii: Vec<usize> = if present.len() > 2 {
            present[1..present.len() - 1].to_vec()
        } else {
            Vec::new()
        };
        let kept_index = |r: usize| radii.binary_search(&r).ok();

        let bin_of_pixel: Vec<Option<usize>> = ring.iter().map(|&r| kept_index(r)).collect();
        let mut counts = vec![0; radii.len()];
        for b in bin_of_pixel.iter().flatten() {
            counts[*b] += 1;
        }
        let mut bin_of_unshifted = vec![None; h * w];
        for r in 0..h {
            for c in 0..w {
                bin_of_unshifted[r * w + c] = bin_of_pixel[shifted_index(r, c, h, w)];
            }
        }
        RadialBins {
            height: h,
            width: w,
            bin_of_pixel,
            bin_of_unshifted,
            counts,
            radii,
        }
    }

    /// Number of kept bins, i.e. the length of a profile.
    pub fn len(&self) -> usize {
        self.counts.len()
    }

    /// True when no bin is kept (images too small for a profile).
    pub fn is_empty(&self) -> bool {
        self.counts.is_empty()
    }

    /// Spectrum height the bins were built for.
    pub fn height(&self) -> usize {
        self.height
    }

    /// Spectrum width the bins were built for.
    pub fn width(&self) -> usize {
        self.width
    }

    /// Kept-bin index of every pixel of the SHIFTED spectrum (row-major); `None` for
    /// pixels in the dropped innermost and outermost rings.
    pub fn bin_of_pixel(&self) -> &[Option<usize>] {
        &self.bin_of_pixel
    }

    /// Kept-bin index of every pixel of the UNSHIFTED spectrum (plain `fft2` layout).
    pub fn bin_of_pixel_unshifted(&self) -> &[Option<usize>] {
        &self.bin_of_unshifted
    }

    /// Number of pixels in each kept bin (all non-zero).
    pub fn counts(&self) -> &[usize] {
        &self.counts
    }

    /// Ring radius ⌊r⌋ of each kept bin (1, 2, … for the sizes used here), the
    /// "spatial frequency" axis of the spectrum plots.
    pub fn radii(&self) -> &[usize] {
        &self.radii
    }

    /// Radial profile of a SHIFTED `h×w` spectrum: the mean over each kept bin.
    pub fn profile(&self, shifted: &[f64]) -> Vec<f64> {
        self.average(&self.bin_of_pixel, shifted)
    }

    /// Radial profile of an UNSHIFTED spectrum; equals
    /// `profile(&fftshift(spectrum, h, w))` without materialising the shift.
    pub fn profile_unshifted(&self, spectrum: &[f64]) -> Vec<f64> {
        self.average(&self.bin_of_unshifted, spectrum)
    }

    fn average(&self, bins: &[Option<usize>], values: &[f64]) -> Vec<f64> {
        assert_eq!(
            values.len(),
            self.height * self.width,
            "spectrum length must be {}x{}",
            self.height,
            self.width
        );
        let mut sums = vec![0.0; self.len()];
        for (b, v) in bins.iter().zip(values) {
            if let Some(b) = b {
                sums[*b] += v;
            }
        }
        sums.iter()
            .zip(&self.counts)
            .map(|(s, &n)| s / n as f64)
            .collect()
    }

    /// The averaging as a matrix: `len × (h·w)` row-major with `R[b][p] = 1/count_b`
    /// when pixel `p` of the SHIFTED spectrum is in bin `b`, else 0, so that
    /// `profile = R · vec(shifted)`. Constant, hence usable inside autodiff.
    pub fn averaging_matrix(&self) -> Vec<f64> {
        self.matrix(&self.bin_of_pixel)
    }

    /// Like [`RadialBins::averaging_matrix`] but indexed by the UNSHIFTED spectrum:
    /// the `fftshift` permutation is folded into the columns, so the loss can apply
    /// it straight to the output of the matrix-form DFT with no permutation op.
    pub fn averaging_matrix_unshifted(&self) -> Vec<f64> {
        self.matrix(&self.bin_of_unshifted)
    }

    fn matrix(&self, bins: &[Option<usize>]) -> Vec<f64> {
        let n = self.height * self.width;
        let mut m = vec![0.0; self.len() * n];
        for (p, b) in bins.iter().enumerate() {
            if let Some(b) = b {
                m[b * n + p] = 1.0 / self.counts[*b] as f64;
            }
        }
        m
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::spectral::dft::test_values;
    use crate::spectral::fft::fftshift;

    /// Independent re-implementation: group pixel values by ⌊r⌋ in a map, drop the
    /// smallest and largest key, average the rest in key order.
    fn naive_profile(shifted: &[f64], h: usize, w: usize) -> Vec<f64> {
        let (cx, cy) = ((w as f64 - 1.0) / 2.0, (h as f64 - 1.0) / 2.0);
        let mut rings: HashMap<i64, Vec<f64>> = HashMap::new();
        for y in 0..h {
            for x in 0..w {
                let r = (x as f64 - cx).hypot(y as f64 - cy);
                rings
                    .entry(r.floor() as i64)
                    .or_default()
                    .push(shifted[y * w + x]);
            }
        }
        let mut keys: Vec<i64> = rings.keys().copied().collect();
        keys.sort_unstable();
        if keys.len() < 3 {
            return Vec::new();
        }
        keys[1..keys.len() - 1]
            .iter()
            .map(|k| rings[k].iter().sum::<f64>() / rings[k].len() as f64)
            .collect()
    }

    fn mat_vec(m: &[f64], v: &[f64]) -> Vec<f64> {
        m.chunks(v.len())
            .map(|row| row.iter().zip(v).map(|(a, b)| a * b).sum())
            .collect()
    }

    fn assert_close(a: &[f64], b: &[f64], tol: f64) {
        assert_eq!(a.len(), b.len());
        for (x, y) in a.iter().zip(b) {
            assert!((x - y).abs() <= tol * (1.0 + y.abs()), "{x} vs {y}");
        }
    }

    #[test]
    fn durall_profile_lengths() {
        for (n, len) in [(28, 18), (32, 20), (64, 43), (128, 88)] {
            let bins = RadialBins::durall(n, n);
            assert_eq!(bins.len(), len, "{n}x{n}");
            // Square even sizes keep rings 1…len.
            assert_eq!(bins.radii(), (1..=len).collect::<Vec<_>>().as_slice());
        }
    }

    #[test]
    fn kept_bins_are_non_empty_and_partition_the_kept_pixels() {
        for (h, w) in [
            (28, 28),
            (32, 32),
            (64, 64),
            (128, 128),
            (7, 5),
            (9, 9),
            (16, 10),
        ] {
            let bins = RadialBins::durall(h, w);
            assert!(bins.counts().iter().all(|&c| c > 0), "{h}x{w}");
            let kept = bins.bin_of_pixel().iter().filter(|b| b.is_some()).count();
            assert_eq!(bins.counts().iter().sum::<usize>(), kept);
            // Bin 0 of the even-size layout holds the 4 pixels around the centre,
            // including the shifted DC at (h/2, w/2).
            assert_eq!(bins.bin_of_pixel()[(h / 2) * w + w / 2], None);
        }
    }

    #[test]
    fn matches_naive_reimplementation() {
        let sizes = [
            (28, 28),
            (32, 32),
            (64, 64),
            (7, 5),
            (5, 7),
            (9, 9),
            (16, 10),
            (3, 3),
            (2, 2),
            (1, 1),
        ];
        for (seed, (h, w)) in sizes.into_iter().enumerate() {
            let spectrum: Vec<f64> = test_values(seed as u64, h * w)
                .iter()
                .map(|v| 100.0 * v - 20.0)
                .collect();
            let bins = RadialBins::durall(h, w);
            assert_close(
                &bins.profile(&spectrum),
                &naive_profile(&spectrum, h, w),
                1e-12,
            );
        }
    }

    #[test]
    fn profile_of_constant_is_constant() {
        let bins = RadialBins::durall(32, 32);
        let p = bins.profile(&vec![-3.25; 32 * 32]);
        assert_eq!(p.len(), 20);
        assert!(p.iter().all(|&v| (v + 3.25).abs() < 1e-12));
    }

    #[test]
    fn averaging_matrices_agree_with_profile() {
        for (h, w) in [(28, 28), (32, 32), (7, 5), (16, 10)] {
            let bins = RadialBins::durall(h, w);
            let n = h * w;
            let m = bins.averaging_matrix();
            let mu = bins.averaging_matrix_unshifted();
            assert_eq!(m.len(), bins.len() * n);
            for row in m.chunks(n).chain(mu.chunks(n)) {
                assert!((row.iter().sum::<f64>() - 1.0).abs() < 1e-12);
            }

            let spectrum: Vec<f64> = test_values(n as u64, n).iter().map(|v| 50.0 * v).collect();
            // Shifted matrix on a shifted spectrum.
            assert_close(&mat_vec(&m, &spectrum), &bins.profile(&spectrum), 1e-12);
            // Unshifted matrix on the unshifted spectrum = profile of its fftshift.
            let expected = bins.profile(&fftshift(&spectrum, h, w));
            assert_close(&mat_vec(&mu, &spectrum), &expected, 1e-12);
            assert_close(&bins.profile_unshifted(&spectrum), &expected, 1e-12);
        }
    }
}
