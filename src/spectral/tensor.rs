//! Separable linear transforms of image batches inside the autodiff graph, as
//! matrix products with constant matrices (docs/methods.md#matrix-dft). No FFT op is needed,
//! any size works, and the gradient is the same matrices transposed.
//!
//! [`Separable`] computes the real `L · X · Rᵀ` for every image of a batch;
//! [`SeparableDft`] does the complex version from two [`AxisMatrix`] values, so
//! the full DFT, block and windowed DFTs and blurs all share one code path.

use burn::tensor::{backend::Backend, Tensor, TensorData};

use super::axis::AxisMatrix;

/// DFT normalisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Normalization {
    /// Unnormalised (numpy "backward").
    Backward,
    /// Multiplied by 1/sqrt(H*W).
    Ortho,
}

/// `|F| = sqrt(Re² + Im² + floor)`: the magnitude of a spectrum with `floor > 0`
/// inside the root, so its gradient `(Re, Im) / |F|` stays finite (and is 0) at
/// `F = 0`. Shared by every loss that compares amplitudes.
pub fn guarded_magnitude<B: Backend, const D: usize>(
    re: Tensor<B, D>,
    im: Tensor<B, D>,
    floor: f64,
) -> Tensor<B, D> {
    (re.powi_scalar(2) + im.powi_scalar(2))
        .add_scalar(floor)
        .sqrt()
}

/// A real separable map `X ↦ L · X · Rᵀ` on `[B, C, H, W]` batches, with `L`
/// (`P × H`) and `R` (`Q × W`) constant.
#[derive(Debug, Clone)]
pub struct Separable<B: Backend> {
    left_t: Tensor<B, 2>,
    right_t: Tensor<B, 2>,
    input: (usize, usize),
    output: (usize, usize),
}

/// `m` (`rows × cols`, row-major) transposed into a `cols × rows` tensor.
fn transposed<B: Backend>(m: &[f64], rows: usize, cols: usize, device: &B::Device) -> Tensor<B, 2> {
    let mut t = vec![0f32; rows * cols];
    for r in 0..rows {
        for c in 0..cols {
            t[c * rows + r] = m[r * cols + c] as f32;
        }
    }
    Tensor::from_data(TensorData::new(t, [cols, rows]), device)
}

impl<B: Backend> Separable<B> {
    /// Builds the map from row-major `left` (`p × h`) and `right` (`q × w`).
    pub fn new(
        left: &[f64],
        (p, h): (usize, usize),
        right: &[f64],
        (q, w): (usize, usize),
        device: &B::Device,
    ) -> Self {
        assert_eq!(left.len(), p * h, "left matrix must be p*h");
        assert_eq!(right.len(), q * w, "right matrix must be q*w");
        Separable {
            left_t: transposed(left, p, h, device),
            right_t: transposed(right, q, w, device),
            input: (h, w),
            output: (p, q),
        }
    }

    /// The output size `(P, Q)` of each image.
    pub fn output_size(&self) -> (usize, usize) {
        self.output
    }

    /// `L · X · Rᵀ` for every (batch, channel) image of `x`: `[B, C, P, Q]`.
    pub fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        let [b, c, h, w] = x.dims();
        assert_eq!((h, w), self.input, "separable map built for another size");
        let (p, q) = self.output;
        let n = b * c;
        // Right product: [n*H, W] x [W, Q]; then the left one on the transposed
        // data: [n*Q, H] x [H, P].
        let xr = x.reshape([n * h, w]).matmul(self.right_t.clone());
        let xt = xr.reshape([n, h, q]).swap_dims(1, 2).reshape([n * q, h]);
        xt.matmul(self.left_t.clone())
            .reshape([n, q, p])
            .swap_dims(1, 2)
            .reshape([b, c, p, q])
    }
}

/// A complex separable transform `Y = L · X · Rᵀ` of real images, from two
/// [`AxisMatrix`] values; returns (Re Y, Im Y).
///
/// The real and imaginary parts of each side are stacked so that one [`Separable`]
/// product gives all partial products at once; a real side is not stacked.
#[derive(Debug, Clone)]
pub struct SeparableDft<B: Backend> {
    product: Separable<B>,
    left_complex: bool,
    right_complex: bool,
    output: (usize, usize),
}

/// `[Re; Im]` of `m` stacked by rows, or just `Re` when `m` is real.
fn stacked(m: &AxisMatrix) -> (Vec<f64>, usize, bool) {
    if m.is_real() {
        (m.re.clone(), m.rows, false)
    } else {
        let mut v = m.re.clone();
        v.extend_from_slice(&m.im);
        (v, 2 * m.rows, true)
    }
}

impl<B: Backend> SeparableDft<B> {
    /// Builds the transform from the left (rows) and right (columns) axis matrices.
    pub fn new(left: &AxisMatrix, right: &AxisMatrix, device: &B::Device) -> Self {
        let (l, lp, left_complex) = stacked(left);
        let (r, rq, right_complex) = stacked(right);
        SeparableDft {
            product: Separable::new(&l, (lp, left.cols), &r, (rq, right.cols), device),
            left_complex,
            right_complex,
            output: (left.rows, right.rows),
        }
    }

    /// The full 2-D DFT of `height × width` images.
    pub fn full(height: usize, width: usize, norm: Normalization, device: &B::Device) -> Self {
        let scale = match norm {
            Normalization::Backward => 1.0,
            Normalization::Ortho => 1.0 / ((height * width) as f64).sqrt(),
        };
        let left = AxisMatrix::dft(height).scaled(scale);
        SeparableDft::new(&left, &AxisMatrix::dft(width), device)
    }

    /// The output size `(P, Q)` of each image.
    pub fn output_size(&self) -> (usize, usize) {
        self.output
    }

    /// Real and imaginary parts of the transform of every (batch, channel) image
    /// of `x` (`[B, C, H, W]`), each `[B, C, P, Q]`.
    pub fn forward(&self, x: Tensor<B, 4>) -> (Tensor<B, 4>, Tensor<B, 4>) {
        let [b, c, _, _] = x.dims();
        let (p, q) = self.output;
        let y = self.product.forward(x);
        let block = |i: usize, j: usize| {
            y.clone()
                .slice([0..b, 0..c, i * p..(i + 1) * p, j * q..(j + 1) * q])
        };
        // With L = Lr + i·Li and R = Rr + i·Ri:
        // Re = Lr X Rrᵀ − Li X Riᵀ,  Im = Lr X Riᵀ + Li X Rrᵀ.
        match (self.left_complex, self.right_complex) {
            (true, true) => (block(0, 0) - block(1, 1), block(0, 1) + block(1, 0)),
            (false, true) => (block(0, 0), block(0, 1)),
            (true, false) => (block(0, 0), block(1, 0)),
            (false, false) => (block(0, 0), block(0, 0).zeros_like()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spectral::dft::dft2_direct;
    use burn::backend::Flex;

    fn values(seed: u64, n: usize) -> Vec<f64> {
        crate::spectral::dft::test_values(seed, n)
    }

    #[test]
    fn matches_direct_dft_on_random_images() {
        let device = Default::default();
        for (b, c, h, w) in [(2, 1, 8, 8), (1, 3, 6, 10), (3, 2, 7, 5), (1, 1, 32, 32)] {
            let x = values(h as u64 * 31 + w as u64, b * c * h * w);
            let xs: Vec<f32> = x.iter().map(|v| *v as f32).collect();
            let t = Tensor::<Flex, 4>::from_data(TensorData::new(xs, [b, c, h, w]), &device);
            for norm in [Normalization::Backward, Normalization::Ortho] {
                let dft = SeparableDft::<Flex>::full(h, w, norm, &device);
                let (re, im) = dft.forward(t.clone());
                let re = re.into_data().to_vec::<f32>().unwrap();
                let im = im.into_data().to_vec::<f32>().unwrap();
                let scale = match norm {
                    Normalization::Backward => 1.0,
                    Normalization::Ortho => 1.0 / ((h * w) as f64).sqrt(),
                };
                for img in 0..b * c {
                    let (dre, dim) = dft2_direct(&x[img * h * w..(img + 1) * h * w], h, w);
                    for k in 0..h * w {
                        let (got_re, got_im) =
                            (re[img * h * w + k] as f64, im[img * h * w + k] as f64);
                        let tol = 1e-4 * (h * w) as f64 * scale;
                        assert!(
                            (got_re - dre[k] * scale).abs() < tol,
                            "re {b}x{c}x{h}x{w} k={k}"
                        );
                        assert!(
                            (got_im - dim[k] * scale).abs() < tol,
                            "im {b}x{c}x{h}x{w} k={k}"
                        );
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod separable_tests {
    use super::*;
    use crate::spectral::axis::apply;
    use crate::spectral::dft::test_values;
    use burn::backend::Flex;

    /// Every combination of real and complex sides agrees with the f64 product.
    #[test]
    fn complex_and_real_sides_match_f64_products() {
        let device = Default::default();
        let (h, w) = (8, 6);
        let x = test_values(5, 2 * h * w);
        let xs: Vec<f32> = x.iter().map(|v| *v as f32).collect();
        let t = Tensor::<Flex, 4>::from_data(TensorData::new(xs, [2, 1, h, w]), &device);
        let complex_h =
            AxisMatrix::windowed_dft(h, &[0, 3], 5, &[0, 2, 4], &[0.1, 0.5, 1.0, 0.5, 0.1]);
        let complex_w = AxisMatrix::block_dft(w, 3, &[0, 1]);
        let real_h = AxisMatrix::correlation(h, &[0.25, 0.5, 0.25], 1);
        let real_w = AxisMatrix::selection(w, &[5, 1, 2]);
        for (l, r) in [
            (&complex_h, &complex_w),
            (&real_h, &complex_w),
            (&complex_h, &real_w),
            (&real_h, &real_w),
        ] {
            let dft = SeparableDft::<Flex>::new(l, r, &device);
            let (re, im) = dft.forward(t.clone());
            assert_eq!(re.dims(), [2, 1, l.rows, r.rows]);
            let re = re.into_data().to_vec::<f32>().unwrap();
            let im = im.into_data().to_vec::<f32>().unwrap();
            let n = l.rows * r.rows;
            for img in 0..2 {
                let (wre, wim) = apply(l, r, &x[img * h * w..(img + 1) * h * w]);
                for k in 0..n {
                    assert!((re[img * n + k] as f64 - wre[k]).abs() < 1e-5);
                    assert!((im[img * n + k] as f64 - wim[k]).abs() < 1e-5);
                }
            }
        }
    }
}
