//! The maths of the evaluation: Björk et al.'s reconstruction errors, PSNR and
//! SSIM, the statistics of the radial spectra, and the mean / std helpers. The
//! metrics built on them (name, version, aggregation) are in
//! [`crate::eval::metric`].
//!
//! All functions take one image at a time as channel-first (`C×H×W`) `f32` slices and
//! compute in f64; batching and parallelism are left to the caller ([`per_image`]).
//! The Fourier maths comes from [`crate::spectral`], the same module the losses use.

use rayon::prelude::*;

use crate::spectral::ai::log_magnitude_profile;
use crate::spectral::color::to_gray;
use crate::spectral::fft::Fft2;
use crate::spectral::radial::RadialBins;
use crate::spectral::window::gaussian_taps;

/// Root of the mean squared difference over all `C·H·W` values of one image pair.
pub fn rmse_spatial(x: &[f32], y: &[f32]) -> f64 {
    assert_eq!(x.len(), y.len(), "images differ in length");
    let sse: f64 = squared_error_pixels(x, y).sum();
    (sse / x.len() as f64).sqrt()
}

/// PSNR in dB of `y` against `x` for pixel range 1: `10·log10(1 / MSE)` over all
/// `C·H·W` values (TensorFlow's `tf.image.psnr` with `max_val = 1`); `+inf` for
/// identical images, as TensorFlow.
pub fn psnr(x: &[f32], y: &[f32]) -> f64 {
    let mse = rmse_spatial(x, y).powi(2);
    -10.0 * mse.log10()
}

/// SSIM's Gaussian window (11 taps, σ = 1.5, as `tf.image.ssim`) for one image
/// size, built once and shared by every image of an evaluation.
#[derive(Debug, Clone)]
pub struct SsimWindow {
    taps: Vec<f64>,
    h: usize,
    w: usize,
}

impl SsimWindow {
    /// The window for valid positions of `h × w` images (each side ≥ 11).
    pub fn new(h: usize, w: usize) -> SsimWindow {
        let taps = gaussian_taps(11, 1.5);
        assert!(
            h >= taps.len() && w >= taps.len(),
            "SSIM needs images of at least 11x11"
        );
        SsimWindow { taps, h, w }
    }
}

/// SSIM of `y` against `x` (`C×H×W`), TensorFlow's definition with `max_val = 1`:
/// the mean of the SSIM map over valid window positions and channels
/// (C1 = 0.01², C2 = 0.03², biased local moments). The same formula as the `ssim`
/// loss term, on the CPU in f64.
///
/// The five local moments (means of x, y, x², y², xy) come from one separable
/// pass: along rows, the five sums of each window are taken together while the
/// pixels are read once; down the columns, each moment plane is filtered row by
/// row (contiguous, so the compiler vectorises it).
pub fn ssim(window: &SsimWindow, x: &[f32], y: &[f32], channels: usize) -> f64 {
    assert_eq!(x.len(), y.len(), "images differ in length");
    let (c1, c2) = (0.01f64.powi(2), 0.03f64.powi(2));
    let (h, w, taps) = (window.h, window.w, &window.taps);
    assert_eq!(
        x.len(),
        channels * h * w,
        "image size differs from the window's"
    );
    let k = taps.len();
    let (p, q) = (h + 1 - k, w + 1 - k);
    // Row-filtered moments: plane m holds h × q values.
    let mut rows = vec![0.0f64; 5 * h * q];
    // Column-filtered moments: plane m holds p × q values.
    let mut local = vec![0.0f64; 5 * p * q];
    let mut total = 0.0;
    for ch in 0..channels {
        let (xc, yc) = (&x[ch * h * w..][..h * w], &y[ch * h * w..][..h * w]);
        for i in 0..h {
            let (xr, yr) = (&xc[i * w..][..w], &yc[i * w..][..w]);
            for b in 0..q {
                let mut s = [0.0f64; 5];
                for (t, (&xv, &yv)) in taps.iter().zip(xr[b..].iter().zip(&yr[b..])) {
                    let (a, v) = (xv as f64, yv as f64);
                    let (ta, tv) = (t * a, t * v);
                    s[0] += ta;
                    s[1] += tv;
                    s[2] += ta * a;
                    s[3] += tv * v;
                    s[4] += ta * v;
                }
                for (m, value) in s.into_iter().enumerate() {
                    rows[m * h * q + i * q + b] = value;
                }
            }
        }
        local.fill(0.0);
        for m in 0..5 {
            let (src, dst) = (
                &rows[m * h * q..][..h * q],
                &mut local[m * p * q..][..p * q],
            );
            for a in 0..p {
                let out = &mut dst[a * q..][..q];
                for (t, row) in taps.iter().zip(src[a * q..].chunks_exact(q)) {
                    for (o, &v) in out.iter_mut().zip(row) {
                        *o += t * v;
                    }
                }
            }
        }
        let plane = |m: usize| &local[m * p * q..][..p * q];
        let (mu_a, mu_b, aa, bb, ab) = (plane(0), plane(1), plane(2), plane(3), plane(4));
        for i in 0..p * q {
            let (ma, mb) = (mu_a[i], mu_b[i]);
            let (va, vb, cov) = (aa[i] - ma * ma, bb[i] - mb * mb, ab[i] - ma * mb);
            total += (2.0 * ma * mb + c1) * (2.0 * cov + c2)
                / ((ma * ma + mb * mb + c1) * (va + vb + c2));
        }
    }
    total / (channels * p * q) as f64
}

/// Squared difference of every value, `(x_i − y_i)²` in f64.
///
/// Björk's "spatial RMSE" numbers match the mean ± std of these over all pixels of
/// the test batch (a mean squared error, with no root); chain the iterators of all
/// images into [`mean_std`] to get that statistic.
pub fn squared_error_pixels<'a>(x: &'a [f32], y: &'a [f32]) -> impl Iterator<Item = f64> + 'a {
    assert_eq!(x.len(), y.len(), "images differ in length");
    x.iter().zip(y).map(|(&a, &b)| {
        let d = a as f64 - b as f64;
        d * d
    })
}

/// Mean and population standard deviation (ddof = 0, numpy's default) of `values`,
/// by Welford's single-pass update, which stays accurate when the mean is large
/// relative to the spread (the naive Σx² − n·mean² cancels catastrophically).
/// Returns `(NaN, NaN)` for no values, like numpy.
pub fn mean_std(values: impl IntoIterator<Item = f64>) -> (f64, f64) {
    let mut n = 0u64;
    let mut mean = 0.0;
    let mut m2 = 0.0; // Σ (x − mean)², updated incrementally.
    for v in values {
        n += 1;
        let delta = v - mean;
        mean += delta / n as f64;
        m2 += delta * (v - mean);
    }
    if n == 0 {
        return (f64::NAN, f64::NAN);
    }
    (mean, (m2 / n as f64).sqrt())
}

/// Count, mean and Σ(x − mean)² of `values` (two passes: accurate and simple), the
/// per-group input of [`pooled_mean_std`].
pub fn moments(values: &[f64]) -> (usize, f64, f64) {
    let n = values.len();
    if n == 0 {
        return (0, 0.0, 0.0);
    }
    let mean = values.iter().sum::<f64>() / n as f64;
    let m2 = values.iter().map(|v| (v - mean) * (v - mean)).sum();
    (n, mean, m2)
}

/// Mean and population std over the union of groups given by their [`moments`],
/// merged with Chan et al.'s pairwise update, so the groups (e.g. the images of a
/// batch) can be computed in parallel. `(NaN, NaN)` when there are no values.
pub fn pooled_mean_std(groups: &[(usize, f64, f64)]) -> (f64, f64) {
    let (mut n, mut mean, mut m2) = (0usize, 0.0f64, 0.0f64);
    for &(nb, mean_b, m2_b) in groups.iter().filter(|g| g.0 > 0) {
        let total = n + nb;
        let delta = mean_b - mean;
        mean += delta * nb as f64 / total as f64;
        m2 += m2_b + delta * delta * (n as f64) * (nb as f64) / total as f64;
        n = total;
    }
    if n == 0 {
        return (f64::NAN, f64::NAN);
    }
    (mean, (m2 / n as f64).sqrt())
}

/// RMSE in the 2-D Fourier domain: per channel, the unnormalised DFTs of `x` and `y`;
/// real and imaginary parts count as separate numbers, so
/// `sqrt(Σ_c Σ_uv (ΔRe² + ΔIm²) / (2·C·H·W))`.
///
/// By Parseval this equals `sqrt(H·W/2) · rmse_spatial(x, y)`; it is computed through
/// the FFT anyway so the metric is literally the one the paper describes. The DFT is
/// linear, so the spectrum of the f64 difference is used: one transform instead of
/// two, and no cancellation between two large, nearly equal spectra.
pub fn rmse_fft2(fft: &Fft2, x: &[f32], y: &[f32], channels: usize) -> f64 {
    let n = fft.height() * fft.width();
    assert_eq!(x.len(), y.len(), "images differ in length");
    assert_eq!(x.len(), channels * n, "image length must be C·H·W");
    let mut sse = 0.0;
    for c in 0..channels {
        let range = c * n..(c + 1) * n;
        let diff: Vec<f64> = x[range.clone()]
            .iter()
            .zip(&y[range])
            .map(|(&a, &b)| a as f64 - b as f64)
            .collect();
        let (re, im) = fft.forward(&diff);
        sse += re.iter().chain(&im).map(|v| v * v).sum::<f64>();
    }
    (sse / (2 * channels * n) as f64).sqrt()
}

/// The AI-domain profile of one image: to grey, then the log-magnitude radial
/// profile ([`log_magnitude_profile`], not min–max normalised).
pub fn ai_profile(fft: &Fft2, bins: &RadialBins, img: &[f32], channels: usize) -> Vec<f64> {
    let (h, w) = (fft.height(), fft.width());
    log_magnitude_profile(fft, bins, &to_gray(img, channels, h, w))
}

/// RMSE in the AI domain: the RMSE over the bins of the two images' [`ai_profile`]s.
pub fn rmse_ai(fft: &Fft2, bins: &RadialBins, x: &[f32], y: &[f32], channels: usize) -> f64 {
    rmse(
        &ai_profile(fft, bins, x, channels),
        &ai_profile(fft, bins, y, channels),
    )
}

/// Root mean squared difference of two equally long f64 vectors (e.g. two
/// [`ai_profile`]s).
pub fn rmse(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len(), "vectors differ in length");
    let sse: f64 = a.iter().zip(b).map(|(p, q)| (p - q) * (p - q)).sum();
    (sse / a.len() as f64).sqrt()
}

/// Per-bin statistics of a set of radial profiles (the "average AI power spectrum"
/// plot: mean line with a ±std band).
#[derive(Debug, Clone, PartialEq)]
pub struct SpectrumStats {
    /// Mean over the images, per bin.
    pub mean: Vec<f64>,
    /// Population standard deviation (ddof = 0) over the images, per bin.
    pub std: Vec<f64>,
}

/// Per-bin mean and population std over `profiles` (all of one length). No profiles
/// give empty statistics.
pub fn profile_stats(profiles: &[Vec<f64>]) -> SpectrumStats {
    let len = profiles.first().map_or(0, Vec::len);
    assert!(
        profiles.iter().all(|p| p.len() == len),
        "profiles differ in length"
    );
    let (mean, std) = (0..len)
        .map(|b| mean_std(profiles.iter().map(|p| p[b])))
        .unzip();
    SpectrumStats { mean, std }
}

/// `f(0), …, f(n−1)` evaluated in parallel on the rayon pool, in index order. Use it
/// to compute a per-image metric over a batch.
pub fn per_image<F: Fn(usize) -> f64 + Sync + Send>(n: usize, f: F) -> Vec<f64> {
    (0..n).into_par_iter().map(f).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spectral::dft::{dft2_direct, test_values};

    fn image(seed: u64, len: usize) -> Vec<f32> {
        test_values(seed, len).iter().map(|&v| v as f32).collect()
    }

    #[test]
    fn psnr_known_values() {
        // MSE 0.01 -> 20 dB; MSE 0.25 -> 10·log10(4) dB; identical -> +inf (as TF).
        assert!((psnr(&[0.0; 6], &[0.1; 6]) - 20.0).abs() < 1e-5);
        let got = psnr(&[0.0, 1.0], &[0.5, 0.5]);
        assert!((got - 10.0 * 4f64.log10()).abs() < 1e-9);
        assert_eq!(psnr(&[0.3; 4], &[0.3; 4]), f64::INFINITY);
    }

    /// Direct SSIM: explicit loops over every valid 11×11 window with the 2-D
    /// Gaussian weights written out, per channel, mean over windows and channels.
    fn ssim_direct(x: &[f32], y: &[f32], c: usize, h: usize, w: usize) -> f64 {
        let g: Vec<f64> = (0..11)
            .map(|i| (-((i as f64 - 5.0).powi(2)) / 4.5).exp())
            .collect();
        let norm: f64 = g.iter().sum::<f64>().powi(2);
        let (c1, c2) = (1e-4, 9e-4);
        let (mut total, mut count) = (0.0, 0);
        for ch in 0..c {
            for r in 0..=h - 11 {
                for q in 0..=w - 11 {
                    let (mut ma, mut mb, mut aa, mut bb, mut ab) = (0.0, 0.0, 0.0, 0.0, 0.0);
                    for i in 0..11 {
                        for j in 0..11 {
                            let k = g[i] * g[j] / norm;
                            let a = x[ch * h * w + (r + i) * w + q + j] as f64;
                            let b = y[ch * h * w + (r + i) * w + q + j] as f64;
                            ma += k * a;
                            mb += k * b;
                            aa += k * a * a;
                            bb += k * b * b;
                            ab += k * a * b;
                        }
                    }
                    let (va, vb, cov) = (aa - ma * ma, bb - mb * mb, ab - ma * mb);
                    total += (2.0 * ma * mb + c1) * (2.0 * cov + c2)
                        / ((ma * ma + mb * mb + c1) * (va + vb + c2));
                    count += 1;
                }
            }
        }
        total / count as f64
    }

    #[test]
    fn ssim_matches_direct_windows_and_hand_worked_cases() {
        let (c, h, w) = (2, 14, 13);
        let x = image(61, c * h * w);
        let y = image(62, c * h * w);
        let window = SsimWindow::new(h, w);
        let got = ssim(&window, &x, &y, c);
        let want = ssim_direct(&x, &y, c, h, w);
        assert!((got - want).abs() < 1e-12, "{got} vs {want}");
        assert!((ssim(&window, &x, &x, c) - 1.0).abs() < 1e-12);
        // Constant images: no variance, SSIM = (2ab + C1) / (a² + b² + C1).
        let (a, b) = (0.25f32, 0.75f32);
        let got = ssim(&window, &vec![a; c * h * w], &vec![b; c * h * w], c);
        let (a, b) = (a as f64, b as f64);
        let want = (2.0 * a * b + 1e-4) / (a * a + b * b + 1e-4);
        assert!((got - want).abs() < 1e-9, "{got} vs {want}");
    }

    #[test]
    fn rmse_spatial_known_value() {
        let x = [0.0, 0.0, 1.0, 1.0];
        let y = [0.0, 1.0, 1.0, 0.0];
        assert!((rmse_spatial(&x, &y) - 0.5f64.sqrt()).abs() < 1e-15);
        assert_eq!(rmse_spatial(&x, &x), 0.0);
        let sq: Vec<f64> = squared_error_pixels(&x, &y).collect();
        assert_eq!(sq, vec![0.0, 1.0, 0.0, 1.0]);
    }

    #[test]
    fn mean_std_matches_two_pass_and_numpy() {
        // numpy: mean([2,4,4,4,5,5,7,9]) = 5, std = 2.
        let (m, s) = mean_std([2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]);
        assert!((m - 5.0).abs() < 1e-15 && (s - 2.0).abs() < 1e-15);
        let (m, s) = mean_std([3.5]);
        assert_eq!((m, s), (3.5, 0.0));
        let (m, s) = mean_std(std::iter::empty());
        assert!(m.is_nan() && s.is_nan());
        // Large offset: Welford keeps the spread that a naive formula would lose.
        let values: Vec<f64> = test_values(9, 1000).iter().map(|v| 1e9 + v).collect();
        let mean2 = values.iter().sum::<f64>() / 1000.0;
        let std2 = (values.iter().map(|v| (v - mean2).powi(2)).sum::<f64>() / 1000.0).sqrt();
        let (m, s) = mean_std(values.iter().copied());
        assert!((m - mean2).abs() < 1e-6);
        assert!((s - std2).abs() < 1e-6 * std2, "{s} vs {std2}");
    }

    #[test]
    fn rmse_fft2_parseval_identity() {
        for (seed, (c, h, w)) in [(1, 28, 28), (3, 64, 64), (1, 32, 32), (3, 7, 5)]
            .into_iter()
            .enumerate()
        {
            let n = c * h * w;
            let x = image(seed as u64, n);
            let y = image(seed as u64 + 100, n);
            let fft = Fft2::new(h, w);
            let got = rmse_fft2(&fft, &x, &y, c);
            let expected = ((h * w) as f64 / 2.0).sqrt() * rmse_spatial(&x, &y);
            assert!(
                (got - expected).abs() < 1e-12 * expected,
                "{c}x{h}x{w}: {got} vs {expected}"
            );
            assert_eq!(rmse_fft2(&fft, &x, &x, c), 0.0);
        }
    }

    #[test]
    fn rmse_fft2_matches_direct_dft_of_each_image() {
        let (c, h, w) = (3, 6, 5);
        let x = image(7, c * h * w);
        let y = image(8, c * h * w);
        let mut sse = 0.0;
        for ch in 0..c {
            let plane = |img: &[f32]| -> Vec<f64> {
                img[ch * h * w..(ch + 1) * h * w]
                    .iter()
                    .map(|&v| v as f64)
                    .collect()
            };
            let (xr, xi) = dft2_direct(&plane(&x), h, w);
            let (yr, yi) = dft2_direct(&plane(&y), h, w);
            for i in 0..h * w {
                sse += (xr[i] - yr[i]).powi(2) + (xi[i] - yi[i]).powi(2);
            }
        }
        let expected = (sse / (2 * c * h * w) as f64).sqrt();
        let got = rmse_fft2(&Fft2::new(h, w), &x, &y, c);
        assert!((got - expected).abs() < 1e-12 * expected);
    }

    #[test]
    fn rmse_ai_zero_for_identical_and_positive_otherwise() {
        for (c, h, w) in [(1, 28, 28), (3, 64, 64), (1, 32, 32)] {
            let fft = Fft2::new(h, w);
            let bins = RadialBins::durall(h, w);
            let x = image(h as u64, c * h * w);
            let y = image(h as u64 + 1, c * h * w);
            assert_eq!(rmse_ai(&fft, &bins, &x, &x, c), 0.0);
            let d = rmse_ai(&fft, &bins, &x, &y, c);
            assert!(d.is_finite() && d > 0.0);
        }
    }

    #[test]
    fn rmse_ai_uses_grey_profiles() {
        let (c, h, w) = (3, 16, 16);
        let fft = Fft2::new(h, w);
        let bins = RadialBins::durall(h, w);
        let x = image(41, c * h * w);
        let y = image(42, c * h * w);
        let px = log_magnitude_profile(&fft, &bins, &to_gray(&x, c, h, w));
        let py = log_magnitude_profile(&fft, &bins, &to_gray(&y, c, h, w));
        let expected = (px
            .iter()
            .zip(&py)
            .map(|(a, b)| (a - b).powi(2))
            .sum::<f64>()
            / px.len() as f64)
            .sqrt();
        assert_eq!(rmse_ai(&fft, &bins, &x, &y, c), expected);
    }

    #[test]
    fn profile_stats_per_bin() {
        let profiles = vec![vec![1.0, 10.0], vec![3.0, 10.0], vec![5.0, 10.0]];
        let stats = profile_stats(&profiles);
        assert_eq!(stats.mean, vec![3.0, 10.0]);
        assert!((stats.std[0] - (8.0f64 / 3.0).sqrt()).abs() < 1e-15);
        assert_eq!(stats.std[1], 0.0);
        assert_eq!(
            profile_stats(&[]),
            SpectrumStats {
                mean: vec![],
                std: vec![]
            }
        );
    }

    #[test]
    fn per_image_keeps_order() {
        let v = per_image(1000, |i| i as f64 * 0.5);
        assert_eq!(v.len(), 1000);
        assert!(v.iter().enumerate().all(|(i, &x)| x == i as f64 * 0.5));
    }

    #[test]
    fn pooled_moments_equal_the_moments_of_all_values() {
        let values = test_values(7, 1000);
        let shifted: Vec<f64> = values.iter().map(|v| 1e3 + v * v).collect();
        for data in [&values, &shifted] {
            let groups: Vec<(usize, f64, f64)> = [0..1, 1..1, 1..250, 250..999, 999..1000]
                .into_iter()
                .map(|r| moments(&data[r]))
                .collect();
            let (mean, std) = pooled_mean_std(&groups);
            let (m, s) = mean_std(data.iter().copied());
            assert!(
                (mean - m).abs() <= 1e-12 * m.abs().max(1.0),
                "{mean} vs {m}"
            );
            assert!((std - s).abs() <= 1e-9 * s, "{std} vs {s}");
        }
        assert!(pooled_mean_std(&[]).0.is_nan());
        assert!(pooled_mean_std(&[moments(&[])]).1.is_nan());
    }
}
