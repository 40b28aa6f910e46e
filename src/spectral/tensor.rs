//! The 2-D DFT inside the autodiff graph, as two real matrix products per side
//! (LOSSES.md §1). No FFT op is needed, it works for any size, and the gradient is
//! the same matrices transposed.

use burn::tensor::{backend::Backend, Tensor, TensorData};

use super::dft::cos_sin_matrices;

/// DFT normalisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Normalization {
    /// Unnormalised (numpy "backward").
    Backward,
    /// Multiplied by 1/sqrt(H*W).
    Ortho,
}

/// Constant matrices of a full 2-D DFT of H x W images.
///
/// `left` stacks [C_H; S_H] (2H x H) and `right` stacks [C_W | S_W] (W x 2W), so one
/// left and one right product give all four partial products
/// `[[C X C, C X S], [S X C, S X S]]`; then Re = CXC - SXS and Im = -(SXC + CXS).
#[derive(Debug, Clone)]
pub struct Dft2<B: Backend> {
    left_t: Tensor<B, 2>,
    right: Tensor<B, 2>,
    height: usize,
    width: usize,
}

impl<B: Backend> Dft2<B> {
    /// Builds the matrices for `height` x `width` images on `device`.
    pub fn new(height: usize, width: usize, norm: Normalization, device: &B::Device) -> Self {
        let scale = match norm {
            Normalization::Backward => 1.0,
            Normalization::Ortho => 1.0 / ((height * width) as f64).sqrt(),
        };
        // The left factor is applied to transposed data, so store its transpose
        // (H x 2H): column block 0 = C_H^T = C_H, column block 1 = S_H.
        let (ch, sh) = cos_sin_matrices(height);
        let mut left_t = vec![0f32; height * 2 * height];
        for r in 0..height {
            for c in 0..height {
                left_t[r * 2 * height + c] = (ch[c * height + r] * scale) as f32;
                left_t[r * 2 * height + height + c] = (sh[c * height + r] * scale) as f32;
            }
        }
        let (cw, sw) = cos_sin_matrices(width);
        let mut right = vec![0f32; width * 2 * width];
        for r in 0..width {
            for c in 0..width {
                right[r * 2 * width + c] = cw[r * width + c] as f32;
                right[r * 2 * width + width + c] = sw[r * width + c] as f32;
            }
        }
        Dft2 {
            left_t: Tensor::from_data(TensorData::new(left_t, [height, 2 * height]), device),
            right: Tensor::from_data(TensorData::new(right, [width, 2 * width]), device),
            height,
            width,
        }
    }

    /// Real and imaginary parts of the DFT of every (batch, channel) image of `x`
    /// (`[B, C, H, W]`); both outputs have the shape of `x`.
    pub fn forward(&self, x: Tensor<B, 4>) -> (Tensor<B, 4>, Tensor<B, 4>) {
        let [b, c, h, w] = x.dims();
        assert_eq!(
            (h, w),
            (self.height, self.width),
            "DFT built for another size"
        );
        let n = b * c;
        // Right products: [n*H, W] x [W, 2W] -> [n*H, 2W] = [X C_W | X S_W].
        let xr = x.reshape([n * h, w]).matmul(self.right.clone());
        // Left products on the transposed data: [n, 2W, H] -> [n*2W, H] x [H, 2H].
        let xt = xr
            .reshape([n, h, 2 * w])
            .swap_dims(1, 2)
            .reshape([n * 2 * w, h]);
        let y = xt
            .matmul(self.left_t.clone())
            .reshape([n, 2 * w, 2 * h])
            .swap_dims(1, 2); // [n, 2H, 2W]
        let cxc = y.clone().slice([0..n, 0..h, 0..w]);
        let cxs = y.clone().slice([0..n, 0..h, w..2 * w]);
        let sxc = y.clone().slice([0..n, h..2 * h, 0..w]);
        let sxs = y.slice([0..n, h..2 * h, w..2 * w]);
        let re = (cxc - sxs).reshape([b, c, h, w]);
        let im = (sxc + cxs).neg().reshape([b, c, h, w]);
        (re, im)
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
                let dft = Dft2::<Flex>::new(h, w, norm, &device);
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
