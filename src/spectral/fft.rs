//! Fast 2-D FFT of real images and numpy-style `fftshift`, for the CPU metrics.
//!
//! The metrics run outside the autodiff graph over a thousand test images, so they
//! use a real FFT instead of the O(HW(H+W)) matrix form of [`super::dft`]. Both follow
//! the same (numpy `fft2`, unnormalised) convention; the tests tie them together
//! through [`super::dft::dft2_direct`].

use std::fmt;
use std::sync::Arc;

use realfft::{RealFftPlanner, RealToComplex};
use rustfft::num_complex::Complex;
use rustfft::{Fft, FftPlanner};

/// A planned full 2-D FFT of real `h×w` images.
///
/// Plan once per image size and share it: the plans are `Arc`s, so the struct is
/// `Send + Sync` and cheap to clone, and [`Fft2::forward`] takes `&self` so many rayon
/// workers can use one instance. Each call allocates its own work buffers for that
/// reason (no lock, no thread-local state); at the image sizes used here (≤ 128²) the
/// allocation is small next to the transform itself.
#[derive(Clone)]
pub struct Fft2 {
    height: usize,
    width: usize,
    /// Real-to-complex FFT along each row (length `width`, `width/2 + 1` outputs).
    rows: Arc<dyn RealToComplex<f64>>,
    /// Complex FFT along each of the `width/2 + 1` retained columns (length `height`).
    cols: Arc<dyn Fft<f64>>,
}

impl fmt::Debug for Fft2 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Fft2")
            .field("height", &self.height)
            .field("width", &self.width)
            .finish_non_exhaustive()
    }
}

impl Fft2 {
    /// Plans the transforms for `height×width` images. Panics if either is zero.
    pub fn new(height: usize, width: usize) -> Self {
        assert!(
            height > 0 && width > 0,
            "FFT size must be positive, got {height}x{width}"
        );
        let rows = RealFftPlanner::<f64>::new().plan_fft_forward(width);
        let cols = FftPlanner::<f64>::new().plan_fft_forward(height);
        Fft2 {
            height,
            width,
            rows,
            cols,
        }
    }

    /// Image height the transform was planned for.
    pub fn height(&self) -> usize {
        self.height
    }

    /// Image width the transform was planned for.
    pub fn width(&self) -> usize {
        self.width
    }

    /// Full unnormalised 2-D DFT of a real row-major image (numpy `fft2` convention):
    /// `X[u,v] = Σ_r Σ_c x[r,c] · exp(−i2π(u·r/H + v·c/W))`, returned as (Re, Im), each
    /// `height×width` row-major, not shifted.
    ///
    /// Accepts `f32` or `f64` pixels; the arithmetic is f64 throughout because the
    /// metrics subtract spectra of similar images and sum thousands of squares.
    /// Panics if `img.len() != height·width`.
    pub fn forward<T: Copy + Into<f64>>(&self, img: &[T]) -> (Vec<f64>, Vec<f64>) {
        let (h, w) = (self.height, self.width);
        assert_eq!(img.len(), h * w, "image length must be {h}x{w}");
        let half = w / 2 + 1;

        // 1. Real FFT of each row. The results are written transposed (column-major
        //    half spectrum, `half` columns of length h) so that step 2 can run all
        //    column FFTs as one contiguous batched call.
        let mut row_in = self.rows.make_input_vec();
        let mut row_out = self.rows.make_output_vec();
        let mut row_scratch = self.rows.make_scratch_vec();
        let mut columns = vec![Complex::new(0.0, 0.0); half * h];
        for r in 0..h {
            for (dst, &src) in row_in.iter_mut().zip(&img[r * w..(r + 1) * w]) {
                *dst = src.into();
            }
            self.rows
                .process_with_scratch(&mut row_in, &mut row_out, &mut row_scratch)
                .expect("buffer lengths come from the plan itself");
            for (v, value) in row_out.iter().enumerate() {
                columns[v * h + r] = *value;
            }
        }

        // 2. Complex FFT down each retained column (rustfft processes a buffer that is
        //    a whole number of transform lengths chunk by chunk).
        let mut col_scratch = vec![Complex::new(0.0, 0.0); self.cols.get_inplace_scratch_len()];
        self.cols
            .process_with_scratch(&mut columns, &mut col_scratch);

        // 3. Expand to the full spectrum. For real input X[u,v] = conj(X[−u,−v]), so
        //    the columns v > W/2 that the real FFT did not produce are mirrors of the
        //    columns W−v ≤ W/2 that it did.
        let mut re = vec![0.0; h * w];
        let mut im = vec![0.0; h * w];
        for u in 0..h {
            for v in 0..w {
                let value = if v < half {
                    columns[v * h + u]
                } else {
                    columns[(w - v) * h + (h - u) % h].conj()
                };
                re[u * w + v] = value.re;
                im[u * w + v] = value.im;
            }
        }
        (re, im)
    }
}

/// Row-major index, in the `fftshift`ed layout, of element `(r, c)` of an unshifted
/// `h×w` array: numpy's `fftshift` rolls rows by ⌊h/2⌋ and columns by ⌊w/2⌋, so
/// `(r, c)` moves to `((r + ⌊h/2⌋) mod h, (c + ⌊w/2⌋) mod w)`.
pub fn shifted_index(r: usize, c: usize, h: usize, w: usize) -> usize {
    ((r + h / 2) % h) * w + (c + w / 2) % w
}

/// numpy `fft.fftshift` over both axes of a row-major `h×w` array: moves the DC term
/// (index 0, 0) to (⌊h/2⌋, ⌊w/2⌋). Returns a new array.
pub fn fftshift<T: Copy>(data: &[T], h: usize, w: usize) -> Vec<T> {
    assert_eq!(data.len(), h * w, "array length must be {h}x{w}");
    let mut out = data.to_vec();
    for r in 0..h {
        for c in 0..w {
            out[shifted_index(r, c, h, w)] = data[r * w + c];
        }
    }
    out
}

/// numpy `fft.ifftshift` over both axes: the inverse of [`fftshift`] (they differ for
/// odd sizes, where the roll is by ⌈n/2⌉ instead of ⌊n/2⌋).
pub fn ifftshift<T: Copy>(data: &[T], h: usize, w: usize) -> Vec<T> {
    assert_eq!(data.len(), h * w, "array length must be {h}x{w}");
    let mut out = data.to_vec();
    for r in 0..h {
        for c in 0..w {
            out[r * w + c] = data[shifted_index(r, c, h, w)];
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spectral::dft::{dft2_direct, test_values};

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn fft2_is_send_and_sync() {
        assert_send_sync::<Fft2>();
    }

    #[test]
    fn forward_matches_direct_dft() {
        let sizes = [
            (4, 6),
            (7, 5),
            (8, 8),
            (28, 28),
            (1, 1),
            (1, 7),
            (6, 1),
            (5, 2),
            (3, 9),
        ];
        for (seed, (h, w)) in sizes.into_iter().enumerate() {
            let x = test_values(seed as u64 + 10, h * w);
            let img: Vec<f32> = x.iter().map(|&v| v as f32).collect();
            let exact: Vec<f64> = img.iter().map(|&v| v as f64).collect();
            let (re, im) = Fft2::new(h, w).forward(&img);
            let (dre, dim) = dft2_direct(&exact, h, w);
            let scale = dre
                .iter()
                .zip(&dim)
                .map(|(a, b)| a.hypot(*b))
                .fold(1.0, f64::max);
            for i in 0..h * w {
                let err = (re[i] - dre[i]).abs().max((im[i] - dim[i]).abs());
                assert!(err < 1e-9 * scale, "{h}x{w} at {i}: error {err}");
            }
        }
    }

    #[test]
    fn forward_accepts_f64_and_agrees_with_f32_path() {
        let img: Vec<f32> = test_values(5, 35).iter().map(|&v| v as f32).collect();
        let wide: Vec<f64> = img.iter().map(|&v| v as f64).collect();
        let fft = Fft2::new(5, 7);
        assert_eq!(fft.forward(&img), fft.forward(&wide));
    }

    #[test]
    fn parseval() {
        for (h, w) in [(28, 28), (32, 32), (7, 5), (64, 64)] {
            let x: Vec<f64> = test_values(h as u64, h * w)
                .iter()
                .map(|v| v - 0.3)
                .collect();
            let (re, im) = Fft2::new(h, w).forward(&x);
            let spectral: f64 = re.iter().zip(&im).map(|(a, b)| a * a + b * b).sum();
            let spatial: f64 = x.iter().map(|v| v * v).sum();
            let expected = (h * w) as f64 * spatial;
            assert!((spectral - expected).abs() < 1e-10 * expected, "{h}x{w}");
        }
    }

    #[test]
    fn fftshift_matches_numpy_roll() {
        // 1-D views: numpy.fft.fftshift(arange(5)) = [3 4 0 1 2], arange(6) → [3 4 5 0 1 2].
        let odd: Vec<usize> = (0..5).collect();
        assert_eq!(fftshift(&odd, 1, 5), vec![3, 4, 0, 1, 2]);
        assert_eq!(fftshift(&odd, 5, 1), vec![3, 4, 0, 1, 2]);
        let even: Vec<usize> = (0..6).collect();
        assert_eq!(fftshift(&even, 1, 6), vec![3, 4, 5, 0, 1, 2]);
        // numpy.fft.ifftshift(arange(5)) = [2 3 4 0 1].
        assert_eq!(ifftshift(&odd, 1, 5), vec![2, 3, 4, 0, 1]);

        // 2-D: numpy.fft.fftshift(arange(12).reshape(3, 4)) =
        // [[10 11 8 9], [2 3 0 1], [6 7 4 5]].
        let grid: Vec<usize> = (0..12).collect();
        assert_eq!(
            fftshift(&grid, 3, 4),
            vec![10, 11, 8, 9, 2, 3, 0, 1, 6, 7, 4, 5]
        );
        // DC lands at (⌊h/2⌋, ⌊w/2⌋).
        for (h, w) in [(3, 4), (4, 3), (5, 5), (6, 6)] {
            let grid: Vec<usize> = (0..h * w).collect();
            let shifted = fftshift(&grid, h, w);
            assert_eq!(shifted[(h / 2) * w + w / 2], 0);
            assert_eq!(ifftshift(&shifted, h, w), grid);
        }
    }
}
