//! Björk et al.'s FFT agreement loss (docs/methods.md#fft-loss):
//! L_f = (1/n) sum (Im F{x} - Im F{x^})^2 + (1/n) sum (Re F{x} - Re F{x^})^2,
//! with n the number of pixels, per image and channel, then the mean over the
//! batch and channels. With the unnormalised DFT it equals the per-image sum of
//! squared pixel errors (Parseval); with `ortho` it equals the pixel MSE.

use super::term::{Domain, ImageShape, TermInput, TermLoss, TermOptions};
use burn::tensor::{backend::Backend, Tensor};
use serde::{Deserialize, Serialize};

use crate::spectral::tensor::{Normalization, SeparableDft};

/// DFT normalisation of the FFT loss.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FftNorm {
    /// Unnormalised DFT (numpy "backward"): L_f equals the per-image SSE.
    Backward,
    /// Orthonormal DFT (1/sqrt(HW)): L_f equals the per-image pixel MSE.
    Ortho,
}

/// Options of Björk's FFT agreement loss (docs/methods.md#fft-loss).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct FftTerm {
    /// Weight in the mix (>= 0).
    pub weight: f64,
    /// DFT normalisation.
    pub norm: FftNorm,
}

impl Default for FftTerm {
    fn default() -> Self {
        FftTerm {
            weight: 1.0,
            norm: FftNorm::Backward,
        }
    }
}

impl TermOptions for FftTerm {
    const NAME: &'static str = "fft";
    const DOMAIN: Domain = Domain::Frequency;
    const VERSION: u32 = 1;
    const SUMMARY: &'static str =
        "Björk's 2-D FFT agreement: squared differences of Re and Im, (1/n) sum per image";

    fn weight(&self) -> f64 {
        self.weight
    }

    fn build<B: Backend>(&self, image: ImageShape, device: &B::Device) -> Box<dyn TermLoss<B>> {
        Box::new(FftLoss::new(image.height, image.width, self.norm, device))
    }
}

impl<B: Backend> TermLoss<B> for FftLoss<B> {
    fn forward(&self, input: &TermInput<B>) -> Tensor<B, 1> {
        FftLoss::forward(self, input.recon.clone(), input.target.clone())
    }
}

/// The FFT loss for images of one size.
#[derive(Debug, Clone)]
pub struct FftLoss<B: Backend> {
    dft: SeparableDft<B>,
}

impl<B: Backend> FftLoss<B> {
    /// Builds the constant DFT matrices for `height` x `width` images.
    pub fn new(height: usize, width: usize, norm: FftNorm, device: &B::Device) -> Self {
        let norm = match norm {
            FftNorm::Backward => Normalization::Backward,
            FftNorm::Ortho => Normalization::Ortho,
        };
        FftLoss {
            dft: SeparableDft::full(height, width, norm, device),
        }
    }

    /// The loss between reconstructions `recon` and targets `target` (both pixel
    /// values `[B, C, H, W]`).
    pub fn forward(&self, recon: Tensor<B, 4>, target: Tensor<B, 4>) -> Tensor<B, 1> {
        let [b, c, h, w] = recon.dims();
        let (re, im) = self.dft.forward(recon - target);
        let pixels = (h * w) as f64;
        // (1/n) sum over frequencies, per image and channel; mean over b*c.
        (re.powi_scalar(2) + im.powi_scalar(2))
            .sum()
            .div_scalar(pixels * (b * c) as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spectral::dft::{dft2_direct, test_values};
    use burn::backend::{Autodiff, Flex};
    use burn::tensor::TensorData;

    type Ad = Autodiff<Flex>;

    fn tensor<B: Backend>(v: &[f64], shape: [usize; 4]) -> Tensor<B, 4> {
        let f: Vec<f32> = v.iter().map(|x| *x as f32).collect();
        Tensor::from_data(TensorData::new(f, shape), &Default::default())
    }

    /// The loss computed independently: direct f64 DFT sums, mean over images.
    fn reference(x: &[f64], y: &[f64], images: usize, h: usize, w: usize, ortho: bool) -> f64 {
        let n = h * w;
        let scale2 = if ortho { 1.0 / n as f64 } else { 1.0 };
        let mut total = 0.0;
        for i in 0..images {
            let (xr, xi) = dft2_direct(&x[i * n..(i + 1) * n], h, w);
            let (yr, yi) = dft2_direct(&y[i * n..(i + 1) * n], h, w);
            let s: f64 = (0..n)
                .map(|k| (xr[k] - yr[k]).powi(2) + (xi[k] - yi[k]).powi(2))
                .sum();
            total += s * scale2 / n as f64;
        }
        total / images as f64
    }

    #[test]
    fn value_matches_direct_dft_and_parseval() {
        let (b, c, h, w) = (3, 2, 6, 8);
        let x = test_values(1, b * c * h * w);
        let y = test_values(2, b * c * h * w);
        let n = h * w;
        for (norm, ortho) in [(FftNorm::Backward, false), (FftNorm::Ortho, true)] {
            let loss = FftLoss::<Flex>::new(h, w, norm, &Default::default());
            let got: f64 = loss
                .forward(tensor(&x, [b, c, h, w]), tensor(&y, [b, c, h, w]))
                .into_scalar()
                .into();
            let want = reference(&x, &y, b * c, h, w, ortho);
            assert!(
                (got - want).abs() < 1e-4 * want.abs(),
                "{norm:?}: {got} vs {want}"
            );
            // Parseval: backward = per-image SSE, ortho = per-image pixel MSE.
            let sse: f64 =
                x.iter().zip(&y).map(|(a, b)| (a - b).powi(2)).sum::<f64>() / (b * c) as f64;
            let expected = if ortho { sse / n as f64 } else { sse };
            assert!(
                (got - expected).abs() < 1e-4 * expected,
                "{norm:?} Parseval: {got} vs {expected}"
            );
        }
    }

    #[test]
    fn gradient_matches_finite_differences() {
        let (b, c, h, w) = (1, 1, 5, 4);
        let x = test_values(3, b * c * h * w);
        let y = test_values(4, b * c * h * w);
        let loss = FftLoss::<Ad>::new(h, w, FftNorm::Backward, &Default::default());
        let xt = tensor::<Ad>(&x, [b, c, h, w]).require_grad();
        let value = loss.forward(xt.clone(), tensor(&y, [b, c, h, w]));
        let grads = value.backward();
        let grad = xt
            .grad(&grads)
            .unwrap()
            .into_data()
            .to_vec::<f32>()
            .unwrap();
        let eps = 1e-3;
        for k in 0..x.len() {
            let mut plus = x.clone();
            plus[k] += eps;
            let mut minus = x.clone();
            minus[k] -= eps;
            let fd = (reference(&plus, &y, 1, h, w, false) - reference(&minus, &y, 1, h, w, false))
                / (2.0 * eps);
            assert!(
                (grad[k] as f64 - fd).abs() < 1e-3 * (1.0 + fd.abs()),
                "k={k}: {} vs {fd}",
                grad[k]
            );
        }
    }

    #[test]
    fn finite_on_edge_cases() {
        let loss = FftLoss::<Ad>::new(8, 8, FftNorm::Backward, &Default::default());
        crate::loss::testing::assert_finite_on_edge_cases([2, 1, 8, 8], |r, t| loss.forward(r, t));
    }
}
