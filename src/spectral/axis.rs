//! Constant per-axis matrices for separable transforms of images.
//!
//! Every Fourier-domain loss in the crate is `Y = L · X · Rᵀ` for an image `X` and
//! two complex matrices, one per axis ([`AxisMatrix`], `outputs × inputs`): the
//! full DFT, an fftshifted DFT, a one-sided DFT, non-overlapping block DFTs
//! (Watson, FFL patches), overlapping windowed DFTs (STFT) with a taper, plain
//! row selections, and real Toeplitz blurs (SSIM's Gaussian). docs/methods.md#matrix-dft
//! says why this covers them all; [`crate::spectral::tensor::SeparableDft`] evaluates it
//! with matrix products inside the autodiff graph.

use std::f64::consts::TAU;

/// A complex `rows × cols` matrix acting on one image axis (`cols` = input length),
/// row-major, stored as real and imaginary parts.
#[derive(Debug, Clone, PartialEq)]
pub struct AxisMatrix {
    /// Number of outputs.
    pub rows: usize,
    /// Input length along the axis.
    pub cols: usize,
    /// Real parts, row-major.
    pub re: Vec<f64>,
    /// Imaginary parts, row-major.
    pub im: Vec<f64>,
}

impl AxisMatrix {
    /// A real matrix from row-major entries.
    pub fn real(rows: usize, cols: usize, re: Vec<f64>) -> AxisMatrix {
        assert_eq!(re.len(), rows * cols, "matrix data must be rows*cols");
        AxisMatrix {
            rows,
            cols,
            im: vec![0.0; re.len()],
            re,
        }
    }

    /// The unnormalised DFT of length `n`: entry `[k][j] = exp(−i2π·kj/n)`.
    pub fn dft(n: usize) -> AxisMatrix {
        let frequencies: Vec<usize> = (0..n).collect();
        AxisMatrix::windowed_dft(n, &[0], n, &frequencies, &vec![1.0; n])
    }

    /// DFTs of windows of `len` samples starting at each of `starts`, each sample
    /// multiplied by `taper[j]`, evaluated at `frequencies` (indices `0..len`).
    /// Rows are ordered window-major: row `w·F + f` is frequency `frequencies[f]`
    /// of window `w`. With one window at 0 and all frequencies this is the DFT.
    pub fn windowed_dft(
        input_len: usize,
        starts: &[usize],
        len: usize,
        frequencies: &[usize],
        taper: &[f64],
    ) -> AxisMatrix {
        assert_eq!(taper.len(), len, "taper length must equal window length");
        let rows = starts.len() * frequencies.len();
        let mut re = vec![0.0; rows * input_len];
        let mut im = vec![0.0; rows * input_len];
        for (w, &start) in starts.iter().enumerate() {
            assert!(start + len <= input_len, "window runs past the input");
            for (f, &freq) in frequencies.iter().enumerate() {
                let row = w * frequencies.len() + f;
                for j in 0..len {
                    // Reduce k·j modulo len first so the angle stays in [0, 2π).
                    let angle = TAU * ((freq * j) % len) as f64 / len as f64;
                    let (sin, cos) = angle.sin_cos();
                    re[row * input_len + start + j] = taper[j] * cos;
                    im[row * input_len + start + j] = -taper[j] * sin;
                }
            }
        }
        AxisMatrix {
            rows,
            cols: input_len,
            re,
            im,
        }
    }

    /// DFTs of the `n / block` non-overlapping blocks of length `block`, keeping
    /// `frequencies` of each (Watson's 8-point blocks, FFL's patches).
    pub fn block_dft(n: usize, block: usize, frequencies: &[usize]) -> AxisMatrix {
        assert!(
            block > 0 && n.is_multiple_of(block),
            "axis length must be a multiple of the block"
        );
        let starts: Vec<usize> = (0..n / block).map(|b| b * block).collect();
        AxisMatrix::windowed_dft(n, &starts, block, frequencies, &vec![1.0; block])
    }

    /// The `n`-point DFT of a signal of `k <= n` samples zero-padded to `n`:
    /// entry `[u][j] = exp(−i2π·uj/n)` for `j < k` (`n × k`). Used for the
    /// transfer function of a small blur kernel on an `n`-sample image axis.
    pub fn padded_dft(n: usize, k: usize) -> AxisMatrix {
        assert!(k <= n, "kernel longer than the axis");
        let full = AxisMatrix::dft(n);
        let keep = |v: &[f64]| -> Vec<f64> {
            (0..n)
                .flat_map(|u| v[u * n..u * n + k].iter().copied())
                .collect()
        };
        AxisMatrix {
            rows: n,
            cols: k,
            re: keep(&full.re),
            im: keep(&full.im),
        }
    }

    /// A 0/1 matrix picking the input samples `indices`, in order.
    pub fn selection(input_len: usize, indices: &[usize]) -> AxisMatrix {
        let mut re = vec![0.0; indices.len() * input_len];
        for (row, &i) in indices.iter().enumerate() {
            re[row * input_len + i] = 1.0;
        }
        AxisMatrix::real(indices.len(), input_len, re)
    }

    /// Correlation with `taps` (odd length) as a banded Toeplitz matrix:
    /// `out[i] = Σ_k taps[k]·x[i + k − pad]`, samples outside the input read as zero.
    /// `pad = 0` gives the VALID output (`n − taps + 1` samples); `pad = taps/2`
    /// gives the zero-padded SAME output (`n` samples).
    pub fn correlation(n: usize, taps: &[f64], pad: usize) -> AxisMatrix {
        let size = taps.len();
        let rows = (n + 2 * pad)
            .checked_sub(size - 1)
            .expect("filter longer than the padded input");
        let mut re = vec![0.0; rows * n];
        for i in 0..rows {
            for (k, &t) in taps.iter().enumerate() {
                let j = (i + k) as isize - pad as isize;
                if (0..n as isize).contains(&j) {
                    re[i * n + j as usize] = t;
                }
            }
        }
        AxisMatrix::real(rows, n, re)
    }

    /// The matrix with every entry multiplied by `factor`.
    pub fn scaled(mut self, factor: f64) -> AxisMatrix {
        self.re.iter_mut().for_each(|v| *v *= factor);
        self.im.iter_mut().for_each(|v| *v *= factor);
        self
    }

    /// The matrix with its rows reordered: row `i` of the result is row `order[i]`.
    pub fn rows_reordered(&self, order: &[usize]) -> AxisMatrix {
        let c = self.cols;
        let pick = |v: &[f64]| -> Vec<f64> {
            order
                .iter()
                .flat_map(|&r| v[r * c..(r + 1) * c].iter().copied())
                .collect()
        };
        AxisMatrix {
            rows: order.len(),
            cols: c,
            re: pick(&self.re),
            im: pick(&self.im),
        }
    }

    /// Whether every imaginary part is zero (the tensor side then skips it).
    pub fn is_real(&self) -> bool {
        self.im.iter().all(|&v| v == 0.0)
    }

    /// A replicate-padded shift of length `n`: `out[i] = x[clamp(i + offset, 0, n − 1)]`.
    /// Cropping an image padded by `p` at start `s` is the offset `s − p` (Watson's
    /// random-shift wrapper, docs/methods.md#watson-dft).
    pub fn clamped_shift(n: usize, offset: isize) -> AxisMatrix {
        let last = n as isize - 1;
        let indices: Vec<usize> = (0..n as isize)
            .map(|i| (i + offset).clamp(0, last) as usize)
            .collect();
        AxisMatrix::selection(n, &indices)
    }

    /// The product `self · first`: applying `first`, then `self` (e.g. a DFT after
    /// a selection, folded into one constant matrix).
    pub fn after(&self, first: &AxisMatrix) -> AxisMatrix {
        assert_eq!(self.cols, first.rows, "inner matrix sizes differ");
        let (rows, inner, cols) = (self.rows, self.cols, first.cols);
        let mut re = vec![0.0; rows * cols];
        let mut im = vec![0.0; rows * cols];
        for r in 0..rows {
            for k in 0..inner {
                let (ar, ai) = (self.re[r * inner + k], self.im[r * inner + k]);
                for c in 0..cols {
                    let (br, bi) = (first.re[k * cols + c], first.im[k * cols + c]);
                    re[r * cols + c] += ar * br - ai * bi;
                    im[r * cols + c] += ar * bi + ai * br;
                }
            }
        }
        AxisMatrix { rows, cols, re, im }
    }
}

#[cfg(test)]
/// Test reference: `L · X · Rᵀ` in f64 for a real `X`, as (Re, Im).
pub(crate) fn apply(l: &AxisMatrix, r: &AxisMatrix, x: &[f64]) -> (Vec<f64>, Vec<f64>) {
    let (p, h, q, w) = (l.rows, l.cols, r.rows, r.cols);
    let mut re = vec![0.0; p * q];
    let mut im = vec![0.0; p * q];
    for a in 0..p {
        for b in 0..q {
            for i in 0..h {
                for j in 0..w {
                    let (lr, li) = (l.re[a * h + i], l.im[a * h + i]);
                    let (rr, ri) = (r.re[b * w + j], r.im[b * w + j]);
                    let v = x[i * w + j];
                    re[a * q + b] += v * (lr * rr - li * ri);
                    im[a * q + b] += v * (lr * ri + li * rr);
                }
            }
        }
    }
    (re, im)
}

/// The frequency order of `fftshift` for length `n`: position `i` of a shifted
/// spectrum holds frequency `(i + n − n/2) mod n` (DC lands at `n/2`).
pub fn shifted_frequencies(n: usize) -> Vec<usize> {
    (0..n).map(|i| (i + n - n / 2) % n).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spectral::dft::{cos_sin_matrices, dft2_direct, test_values};
    use crate::spectral::fft::fftshift;

    #[test]
    fn dft_matrix_is_cos_minus_i_sin() {
        let (c, s) = cos_sin_matrices(7);
        let m = AxisMatrix::dft(7);
        assert_eq!(m.re, c);
        let neg: Vec<f64> = s.iter().map(|v| -v).collect();
        assert_eq!(m.im, neg);
    }

    #[test]
    fn separable_full_and_shifted_dft_match_direct() {
        let (h, w) = (6, 5);
        let x = test_values(9, h * w);
        let (dre, dim) = dft2_direct(&x, h, w);
        let (re, im) = apply(&AxisMatrix::dft(h), &AxisMatrix::dft(w), &x);
        for k in 0..h * w {
            assert!((re[k] - dre[k]).abs() < 1e-12 && (im[k] - dim[k]).abs() < 1e-12);
        }
        let lh = AxisMatrix::dft(h).rows_reordered(&shifted_frequencies(h));
        let lw = AxisMatrix::dft(w).rows_reordered(&shifted_frequencies(w));
        let (sre, sim) = apply(&lh, &lw, &x);
        let (wre, wim) = (fftshift(&dre, h, w), fftshift(&dim, h, w));
        for k in 0..h * w {
            assert!((sre[k] - wre[k]).abs() < 1e-12 && (sim[k] - wim[k]).abs() < 1e-12);
        }
    }

    #[test]
    fn windowed_dft_matches_a_loop_over_windows() {
        let (h, w, len, stride) = (9, 7, 4, 2);
        let x = test_values(4, h * w);
        let starts_h: Vec<usize> = (0..=(h - len) / stride).map(|i| i * stride).collect();
        let starts_w: Vec<usize> = (0..=(w - len) / stride).map(|i| i * stride).collect();
        let taper = [0.3, 1.0, 0.8, 0.1];
        let freqs = [0, 1];
        let l = AxisMatrix::windowed_dft(h, &starts_h, len, &freqs, &taper);
        let r = AxisMatrix::windowed_dft(w, &starts_w, len, &freqs, &taper);
        let (re, im) = apply(&l, &r, &x);
        for (wi, &sh) in starts_h.iter().enumerate() {
            for (wj, &sw) in starts_w.iter().enumerate() {
                let mut patch = vec![0.0; len * len];
                for a in 0..len {
                    for b in 0..len {
                        patch[a * len + b] = x[(sh + a) * w + sw + b] * taper[a] * taper[b];
                    }
                }
                let (pre, pim) = dft2_direct(&patch, len, len);
                for &u in &freqs {
                    for &v in &freqs {
                        let out = (wi * 2 + u) * r.rows + wj * 2 + v;
                        assert!((re[out] - pre[u * len + v]).abs() < 1e-12);
                        assert!((im[out] - pim[u * len + v]).abs() < 1e-12);
                    }
                }
            }
        }
    }

    #[test]
    fn correlation_valid_and_same_match_loops() {
        let taps = [0.2, 0.5, 0.3];
        let x = test_values(2, 6);
        let valid = AxisMatrix::correlation(6, &taps, 0);
        assert_eq!((valid.rows, valid.cols), (4, 6));
        let same = AxisMatrix::correlation(6, &taps, 1);
        assert_eq!(same.rows, 6);
        for i in 0..6 {
            let mut want = 0.0;
            for (k, tap) in taps.iter().enumerate() {
                let j = i as isize + k as isize - 1;
                if (0..6).contains(&j) {
                    want += tap * x[j as usize];
                }
            }
            let got: f64 = (0..6).map(|j| same.re[i * 6 + j] * x[j]).sum();
            assert!((got - want).abs() < 1e-15);
            if i < 4 {
                let got: f64 = (0..6).map(|j| valid.re[i * 6 + j] * x[j]).sum();
                let want: f64 = (0..3).map(|k| taps[k] * x[i + k]).sum();
                assert!((got - want).abs() < 1e-15);
            }
        }
        assert!(same.is_real() && !AxisMatrix::dft(4).is_real());
    }

    #[test]
    fn padded_dft_equals_dft_of_zero_padded_signal() {
        let (n, k) = (7, 3);
        let kernel = test_values(8, k * k);
        let mut padded = vec![0.0; n * n];
        for a in 0..k {
            for b in 0..k {
                padded[a * n + b] = kernel[a * k + b];
            }
        }
        let (dre, dim) = dft2_direct(&padded, n, n);
        let m = AxisMatrix::padded_dft(n, k);
        let (re, im) = apply(&m, &m, &kernel);
        for i in 0..n * n {
            assert!((re[i] - dre[i]).abs() < 1e-12 && (im[i] - dim[i]).abs() < 1e-12);
        }
    }

    #[test]
    fn clamped_shift_replicates_the_edges() {
        let m = AxisMatrix::clamped_shift(4, -2);
        let x = [10.0, 20.0, 30.0, 40.0];
        let out: Vec<f64> = (0..4)
            .map(|i| (0..4).map(|j| m.re[i * 4 + j] * x[j]).sum())
            .collect();
        assert_eq!(out, vec![10.0, 10.0, 10.0, 20.0]);
        let m = AxisMatrix::clamped_shift(4, 3);
        assert_eq!(&m.re[4..8], &[0., 0., 0., 1.]);
        assert!(m.is_real());
    }

    #[test]
    fn after_is_the_complex_matrix_product() {
        let (h, w) = (6, 5);
        let x = test_values(11, h * w);
        let shift_h = AxisMatrix::clamped_shift(h, 2);
        let shift_w = AxisMatrix::clamped_shift(w, -1);
        let dft_h = AxisMatrix::windowed_dft(h, &[0, 2], 4, &[0, 1, 3], &[0.5, 1.0, 1.0, 0.5]);
        let dft_w = AxisMatrix::dft(w).scaled(0.5);
        // Shift the image explicitly, then transform it.
        let mut shifted = vec![0.0; h * w];
        for i in 0..h {
            for j in 0..w {
                let si = (i + 2).min(h - 1);
                let sj = j.saturating_sub(1);
                shifted[i * w + j] = x[si * w + sj];
            }
        }
        let (want_re, want_im) = apply(&dft_h, &dft_w, &shifted);
        let (re, im) = apply(&dft_h.after(&shift_h), &dft_w.after(&shift_w), &x);
        for k in 0..want_re.len() {
            assert!((re[k] - want_re[k]).abs() < 1e-12 && (im[k] - want_im[k]).abs() < 1e-12);
        }
        // Complex · complex: the DFT twice is n times the index reversal.
        let twice = AxisMatrix::dft(4).after(&AxisMatrix::dft(4));
        for r in 0..4 {
            for c in 0..4 {
                let want = if (r + c) % 4 == 0 { 4.0 } else { 0.0 };
                assert!((twice.re[r * 4 + c] - want).abs() < 1e-12);
                assert!(twice.im[r * 4 + c].abs() < 1e-12);
            }
        }
    }

    #[test]
    fn selection_and_blocks() {
        let s = AxisMatrix::selection(5, &[3, 0]);
        assert_eq!(s.re, vec![0., 0., 0., 1., 0., 1., 0., 0., 0., 0.]);
        let b = AxisMatrix::block_dft(8, 4, &[0, 1, 2]);
        assert_eq!((b.rows, b.cols), (6, 8));
        // Second block's DC row sums samples 4..8 only.
        assert_eq!(&b.re[3 * 8..4 * 8], &[0., 0., 0., 0., 1., 1., 1., 1.]);
        assert_eq!(shifted_frequencies(5), vec![3, 4, 0, 1, 2]);
        assert_eq!(shifted_frequencies(4), vec![2, 3, 0, 1]);
    }
}
