//! The DFT as real matrices (docs/methods.md#matrix-dft) and a direct double-sum DFT.
//!
//! The autodiff losses cannot call an FFT, so they express the 2-D DFT of a real
//! H×W image X as matrix products with constant matrices:
//! `Re F = C_H·X·C_W − S_H·X·S_W` and `Im F = −(S_H·X·C_W + C_H·X·S_W)`.
//! [`cos_sin_matrices`] builds `C_n` and `S_n`; the tensor side converts them.

use std::f64::consts::TAU;

/// The cosine and sine DFT matrices of length `n`, each `n×n` row-major:
/// `C[k][j] = cos(2πkj/n)` and `S[k][j] = sin(2πkj/n)`. Both are symmetric.
///
/// The angle is taken from `(k·j) mod n` rather than `k·j` so that the argument of
/// `cos`/`sin` stays in `[0, 2π)`: for large `k·j` the product `2π·k·j/n` would lose
/// low-order bits and entries that must be equal (e.g. by symmetry) would differ.
pub fn cos_sin_matrices(n: usize) -> (Vec<f64>, Vec<f64>) {
    let mut c = vec![0.0; n * n];
    let mut s = vec![0.0; n * n];
    for k in 0..n {
        for j in 0..n {
            let angle = TAU * ((k * j) % n) as f64 / n as f64;
            let (sin, cos) = angle.sin_cos();
            c[k * n + j] = cos;
            s[k * n + j] = sin;
        }
    }
    (c, s)
}

/// Direct O((H·W)²) 2-D DFT of a real `h×w` row-major image:
/// `X[u,v] = Σ_r Σ_c x[r,c] · exp(−i2π(u·r/H + v·c/W))`, returned as (Re, Im), both
/// `h×w` row-major (numpy `fft2` layout, unnormalised).
///
/// This is the test reference of the crate: it shares no code with the FFT or the
/// matrix form, so agreement with it checks both. Too slow for anything else.
pub fn dft2_direct(img: &[f64], h: usize, w: usize) -> (Vec<f64>, Vec<f64>) {
    assert_eq!(img.len(), h * w, "image length must be h*w");
    let mut re = vec![0.0; h * w];
    let mut im = vec![0.0; h * w];
    for u in 0..h {
        for v in 0..w {
            let (mut sr, mut si) = (0.0, 0.0);
            for r in 0..h {
                // Reduce each phase modulo the period before scaling, as in
                // `cos_sin_matrices`, so the reference itself is accurate.
                let row_phase = ((u * r) % h) as f64 / h as f64;
                for c in 0..w {
                    let phase = row_phase + ((v * c) % w) as f64 / w as f64;
                    let (sin, cos) = (TAU * phase).sin_cos();
                    let x = img[r * w + c];
                    sr += x * cos;
                    si -= x * sin;
                }
            }
            re[u * w + v] = sr;
            im[u * w + v] = si;
        }
    }
    (re, im)
}

/// Deterministic pseudo-random values in `[0, 1)` for tests across the crate
/// (a 64-bit LCG, top 53 bits), so tests need no random-number dependency.
#[cfg(test)]
pub(crate) fn test_values(seed: u64, n: usize) -> Vec<f64> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15).wrapping_add(1);
    (0..n)
        .map(|_| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (state >> 11) as f64 / (1u64 << 53) as f64
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Row-major `a (m×k) · b (k×n)`.
    fn matmul(a: &[f64], b: &[f64], m: usize, k: usize, n: usize) -> Vec<f64> {
        let mut out = vec![0.0; m * n];
        for i in 0..m {
            for l in 0..k {
                let a_il = a[i * k + l];
                for j in 0..n {
                    out[i * n + j] += a_il * b[l * n + j];
                }
            }
        }
        out
    }

    fn max_abs_diff(a: &[f64], b: &[f64]) -> f64 {
        a.iter()
            .zip(b)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f64::max)
    }

    #[test]
    fn matrices_are_symmetric_with_unit_norm_entries() {
        for n in [1, 2, 3, 4, 7, 8, 28, 64] {
            let (c, s) = cos_sin_matrices(n);
            for k in 0..n {
                for j in 0..n {
                    assert_eq!(c[k * n + j], c[j * n + k]);
                    assert_eq!(s[k * n + j], s[j * n + k]);
                    let e = c[k * n + j].powi(2) + s[k * n + j].powi(2);
                    assert!((e - 1.0).abs() < 1e-15);
                }
            }
            // Row/column 0 is the DC basis vector: exactly (1, 0).
            assert!(c[..n].iter().all(|&v| v == 1.0));
            assert!(s[..n].iter().all(|&v| v == 0.0));
        }
    }

    #[test]
    fn direct_dft_of_impulse_and_constant() {
        let (h, w) = (3, 4);
        let mut img = vec![0.0; h * w];
        img[0] = 1.0;
        let (re, im) = dft2_direct(&img, h, w);
        assert!(re.iter().all(|&v| (v - 1.0).abs() < 1e-15));
        assert!(im.iter().all(|&v| v.abs() < 1e-15));

        let (re, im) = dft2_direct(&[2.0; 12], h, w);
        assert!((re[0] - 24.0).abs() < 1e-12);
        assert!(re[1..].iter().all(|&v| v.abs() < 1e-12));
        assert!(im.iter().all(|&v| v.abs() < 1e-12));
    }

    #[test]
    fn matmul_form_equals_direct_dft() {
        for (seed, (h, w)) in [(4, 6), (7, 5), (8, 8), (1, 5), (6, 1), (12, 10)]
            .into_iter()
            .enumerate()
        {
            let x = test_values(seed as u64, h * w);
            let (ch, sh) = cos_sin_matrices(h);
            let (cw, sw) = cos_sin_matrices(w);
            let cxc = matmul(&matmul(&ch, &x, h, h, w), &cw, h, w, w);
            let sxs = matmul(&matmul(&sh, &x, h, h, w), &sw, h, w, w);
            let sxc = matmul(&matmul(&sh, &x, h, h, w), &cw, h, w, w);
            let cxs = matmul(&matmul(&ch, &x, h, h, w), &sw, h, w, w);
            let re: Vec<f64> = cxc.iter().zip(&sxs).map(|(a, b)| a - b).collect();
            let im: Vec<f64> = sxc.iter().zip(&cxs).map(|(a, b)| -(a + b)).collect();
            let (dre, dim) = dft2_direct(&x, h, w);
            assert!(max_abs_diff(&re, &dre) < 1e-12, "{h}x{w} real part");
            assert!(max_abs_diff(&im, &dim) < 1e-12, "{h}x{w} imaginary part");
        }
    }

    #[test]
    fn test_values_are_in_unit_interval_and_vary() {
        let v = test_values(3, 1000);
        assert!(v.iter().all(|&x| (0.0..1.0).contains(&x)));
        let mean = v.iter().sum::<f64>() / v.len() as f64;
        assert!((mean - 0.5).abs() < 0.05);
        assert_ne!(test_values(1, 5), test_values(2, 5));
    }
}
