//! Bredell et al.'s blur-error term (docs/methods.md#wiener-loss): a Gaussian likelihood whose
//! precision is the Wiener deconvolution filter of a blur kernel k, diagonal in
//! the (orthonormal) Fourier basis.
//!
//! Per image and channel, with K the DFT of k zero-padded to H×W and ΔX the ortho
//! DFT of x̂ − x:
//!   g_ω = |K_ω|² / (|K_ω|² + C)²,
//!   L = ½ Σ_ω g_ω |ΔX_ω|² − ½ Σ_ω ln g_ω,
//! where the log-determinant uses the floored form ln(|K|² + δ) − 2 ln(|K|² + C) so
//! that a kernel with exact spectral zeros stays finite. Summed over channels,
//! mean over the batch. g depends on |K| only, so where the kernel sits inside
//! the padded frame (its phase) does not matter.
//!
//! The kernel is either a fixed normalised Gaussian or one kernel per image
//! predicted from z by [`KernelHead`] (trained in alternation with the VAE, see
//! `train::run`).

use super::term::{Domain, ImageShape, LearnedParameter, TermInput, TermLoss, TermOptions};
use burn::module::Module;
use burn::nn::Linear;
use burn::tensor::activation::softmax;
use burn::tensor::{backend::Backend, Tensor, TensorData};
use serde::{Deserialize, Serialize};

use crate::pipeline::check::{positive, require};
use crate::pipeline::schema::ConfigIssue;
use crate::spectral::axis::AxisMatrix;
use crate::spectral::tensor::{Normalization, SeparableDft};
use crate::spectral::window::gaussian_taps;

/// Where the Wiener term's blur kernel comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum WienerKernel {
    /// A fixed normalised Gaussian of `kernel_size` and `kernel_sigma`.
    Fixed,
    /// Predicted per image from z by a kernel head G(z), trained in alternation
    /// with the VAE (docs/methods.md#wiener-loss); starts at the fixed Gaussian.
    Learned,
}

/// Options of Bredell et al.'s Wiener-weighted likelihood term (docs/methods.md#wiener-loss):
/// 1/2 sum g |dX|^2 - 1/2 sum ln g per image and channel (ortho DFT), mean over the batch,
/// with g = |K|^2 / (|K|^2 + C)^2.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct WienerTerm {
    /// Weight in the mix (>= 0).
    pub weight: f64,
    /// Kernel side (odd, <= image side).
    pub kernel_size: usize,
    /// Standard deviation of the Gaussian kernel (> 0).
    pub kernel_sigma: f64,
    /// Wiener regulariser C (> 0).
    pub c: f64,
    /// Include the -1/2 sum ln g log-determinant (matters for a learned kernel).
    pub log_det: bool,
    /// Floor delta inside ln(|K|^2 + delta) of the log-determinant (> 0).
    pub log_det_floor: f64,
    /// Fixed or learned kernel.
    pub kernel: WienerKernel,
}

impl Default for WienerTerm {
    fn default() -> Self {
        WienerTerm {
            weight: 1.0,
            kernel_size: 15,
            kernel_sigma: 2.0,
            c: 0.01,
            log_det: true,
            log_det_floor: 1e-8,
            kernel: WienerKernel::Fixed,
        }
    }
}

impl TermOptions for WienerTerm {
    const NAME: &'static str = "wiener";
    const DOMAIN: Domain = Domain::Frequency;
    const VERSION: u32 = 1;
    const SUMMARY: &'static str =
        "Bredell's Wiener-filter-weighted Gaussian likelihood of the error spectrum";

    fn weight(&self) -> f64 {
        self.weight
    }

    fn check(&self, image: ImageShape, at: &str) -> Result<(), ConfigIssue> {
        let size = image.height.min(image.width);
        require(
            self.kernel_size % 2 == 1 && self.kernel_size <= size,
            &format!("{at}.kernel_size"),
            || {
                format!(
                    "{at}.kernel_size must be odd and <= the image side {size}, got {}",
                    self.kernel_size
                )
            },
        )?;
        positive(self.kernel_sigma, &format!("{at}.kernel_sigma"))?;
        positive(self.c, &format!("{at}.c"))?;
        positive(self.log_det_floor, &format!("{at}.log_det_floor"))
    }

    fn learned_parameter(&self) -> Option<(LearnedParameter, &'static str)> {
        let head = LearnedParameter::KernelHead {
            kernel_size: self.kernel_size,
            kernel_sigma: self.kernel_sigma,
        };
        (self.kernel == WienerKernel::Learned).then_some((head, "kernel: learned"))
    }

    fn build<B: Backend>(&self, image: ImageShape, device: &B::Device) -> Box<dyn TermLoss<B>> {
        Box::new(WienerTermLoss {
            loss: WienerLoss::new(self, image.height, image.width, device),
            learned: self.kernel == WienerKernel::Learned,
        })
    }
}

/// The built Wiener term: the loss and whether its kernel comes from G(z).
#[derive(Debug, Clone)]
pub struct WienerTermLoss<B: Backend> {
    loss: WienerLoss<B>,
    learned: bool,
}

impl<B: Backend> TermLoss<B> for WienerTermLoss<B> {
    fn forward(&self, input: &TermInput<B>) -> Tensor<B, 1> {
        // A learned kernel comes per image from G(z); the fixed one is built in.
        let kernels = match &input.params.kernel_head {
            Some(head) if self.learned => Some(head.forward(input.out.z.clone())),
            _ => None,
        };
        self.loss
            .forward(input.recon.clone(), input.target.clone(), kernels)
    }

    fn kernel_objective(
        &self,
        recon: Tensor<B, 4>,
        target: Tensor<B, 4>,
        kernels: Tensor<B, 4>,
    ) -> Option<Tensor<B, 1>> {
        self.learned
            .then(|| self.loss.forward(recon, target, Some(kernels)))
    }
}

/// The normalised `size × size` Gaussian kernel (outer product of the 1-D taps),
/// row-major.
pub fn gaussian_kernel(size: usize, sigma: f64) -> Vec<f64> {
    let taps = gaussian_taps(size, sigma);
    taps.iter()
        .flat_map(|a| taps.iter().map(move |b| a * b))
        .collect()
}

/// The Wiener-weighted likelihood term for images of one size.
#[derive(Debug, Clone)]
pub struct WienerLoss<B: Backend> {
    /// Transfer function of a `k × k` kernel on the `H × W` frame.
    kernel_dft: SeparableDft<B>,
    /// Orthonormal DFT of the images.
    image_dft: SeparableDft<B>,
    /// The fixed Gaussian kernel `[1, 1, k, k]`.
    fixed_kernel: Tensor<B, 4>,
    c: f64,
    log_det: bool,
    floor: f64,
}

impl<B: Backend> WienerLoss<B> {
    /// Builds the constant matrices for `height × width` images.
    pub fn new(opts: &WienerTerm, height: usize, width: usize, device: &B::Device) -> Self {
        let k = opts.kernel_size;
        let kernel: Vec<f32> = gaussian_kernel(k, opts.kernel_sigma)
            .into_iter()
            .map(|v| v as f32)
            .collect();
        WienerLoss {
            kernel_dft: SeparableDft::new(
                &AxisMatrix::padded_dft(height, k),
                &AxisMatrix::padded_dft(width, k),
                device,
            ),
            image_dft: SeparableDft::full(height, width, Normalization::Ortho, device),
            fixed_kernel: Tensor::from_data(TensorData::new(kernel, [1, 1, k, k]), device),
            c: opts.c,
            log_det: opts.log_det,
            floor: opts.log_det_floor,
        }
    }

    /// The fixed Gaussian kernel, `[1, 1, k, k]`.
    pub fn fixed_kernel(&self) -> Tensor<B, 4> {
        self.fixed_kernel.clone()
    }

    /// The loss of `recon` against `target` (`[B, C, H, W]`) under `kernels`
    /// (`[B, 1, k, k]`, one per image, or `[1, 1, k, k]` shared; `None` = the
    /// fixed Gaussian).
    pub fn forward(
        &self,
        recon: Tensor<B, 4>,
        target: Tensor<B, 4>,
        kernels: Option<Tensor<B, 4>>,
    ) -> Tensor<B, 1> {
        let [b, c, _, _] = recon.dims();
        let kernels = kernels.unwrap_or_else(|| self.fixed_kernel.clone());
        let (kre, kim) = self.kernel_dft.forward(kernels);
        let power = kre.powi_scalar(2) + kim.powi_scalar(2); // |K|², [b or 1, 1, H, W]
        let g = power.clone() / (power.clone().add_scalar(self.c)).powi_scalar(2);
        let (dre, dim) = self.image_dft.forward(recon - target);
        let error = dre.powi_scalar(2) + dim.powi_scalar(2); // [B, C, H, W]
        let weighted = (error * g).sum().mul_scalar(0.5 / b as f64);
        if !self.log_det {
            return weighted;
        }
        // −½ Σ ln g per image and channel; a shared kernel counts once per image.
        let log_g = power.clone().add_scalar(self.floor).log()
            - power.add_scalar(self.c).log().mul_scalar(2.0);
        let kernels_in_batch = log_g.dims()[0];
        let per_batch = b as f64 / kernels_in_batch as f64;
        weighted
            - log_g
                .sum()
                .mul_scalar(0.5 * c as f64 * per_batch / b as f64)
    }
}

/// G(z): predicts a normalised, positive `k × k` blur kernel for each latent code
/// (a linear map to k² logits, softmax). Initialised to output the fixed Gaussian
/// for every z (zero weights, log-kernel bias), so training starts from the
/// fixed-kernel loss.
#[derive(Module, Debug)]
pub struct KernelHead<B: Backend> {
    logits: Linear<B>,
    size: usize,
}

impl<B: Backend> KernelHead<B> {
    /// A head for `latent`-dimensional codes and `size × size` kernels starting at
    /// the Gaussian of `sigma`.
    pub fn new(latent: usize, size: usize, sigma: f64, device: &B::Device) -> Self {
        let bias: Vec<f32> = gaussian_kernel(size, sigma)
            .into_iter()
            .map(|v| v.ln() as f32)
            .collect();
        let weight = Tensor::<B, 2>::zeros([latent, size * size], device);
        let bias = Tensor::<B, 1>::from_data(TensorData::new(bias, [size * size]), device);
        let logits = Linear {
            weight: burn::module::Param::from_tensor(weight),
            bias: Some(burn::module::Param::from_tensor(bias)),
        };
        KernelHead { logits, size }
    }

    /// Kernels `[B, 1, k, k]` for codes `z` (`[B, n]`).
    pub fn forward(&self, z: Tensor<B, 2>) -> Tensor<B, 4> {
        let [b, _] = z.dims();
        softmax(self.logits.forward(z), 1).reshape([b, 1, self.size, self.size])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loss::testing::{assert_finite_on_edge_cases, check_gradient, scalar, tensor4, Ad};
    use crate::spectral::dft::{dft2_direct, test_values};
    use burn::backend::Flex;

    fn opts(size: usize, sigma: f64, log_det: bool) -> WienerTerm {
        WienerTerm {
            kernel_size: size,
            kernel_sigma: sigma,
            log_det,
            ..WienerTerm::default()
        }
    }

    /// Independent f64 value: direct DFTs of the zero-padded kernel and of the
    /// error image, the formula summed per image and channel, mean over images.
    fn reference(
        recon: &[f64],
        target: &[f64],
        kernels: &[Vec<f64>],
        [b, c, h, w]: [usize; 4],
        o: &WienerTerm,
    ) -> f64 {
        let k = o.kernel_size;
        let mut total = 0.0;
        for img in 0..b {
            let kernel = &kernels[img.min(kernels.len() - 1)];
            let mut padded = vec![0.0; h * w];
            for a in 0..k {
                for bb in 0..k {
                    padded[a * w + bb] = kernel[a * k + bb];
                }
            }
            let (kre, kim) = dft2_direct(&padded, h, w);
            for ch in 0..c {
                let off = (img * c + ch) * h * w;
                let diff: Vec<f64> = (0..h * w)
                    .map(|i| recon[off + i] - target[off + i])
                    .collect();
                let (dre, dim) = dft2_direct(&diff, h, w);
                for i in 0..h * w {
                    let p = kre[i] * kre[i] + kim[i] * kim[i];
                    let g = p / (p + o.c).powi(2);
                    let e = (dre[i] * dre[i] + dim[i] * dim[i]) / (h * w) as f64;
                    total += 0.5 * g * e;
                    if o.log_det {
                        total -= 0.5 * ((p + o.log_det_floor).ln() - 2.0 * (p + o.c).ln());
                    }
                }
            }
        }
        total / b as f64
    }

    #[test]
    fn value_matches_direct_dft_with_fixed_and_per_image_kernels() {
        let shape = [2, 2, 8, 6];
        let n: usize = shape.iter().product();
        let (x, y) = (test_values(1, n), test_values(2, n));
        for log_det in [false, true] {
            let o = opts(5, 1.2, log_det);
            let loss = WienerLoss::<Flex>::new(&o, 8, 6, &Default::default());
            let got = scalar(loss.forward(tensor4(&x, shape), tensor4(&y, shape), None));
            let want = reference(&x, &y, &[gaussian_kernel(5, 1.2)], shape, &o);
            assert!(
                (got - want).abs() < 1e-4 * want.abs().max(1.0),
                "{got} vs {want}"
            );

            // Two different (unnormalised, positive) kernels, one per image.
            let k1 = test_values(5, 25);
            let k2 = test_values(6, 25);
            let both: Vec<f64> = k1.iter().chain(&k2).copied().collect();
            let got = scalar(loss.forward(
                tensor4(&x, shape),
                tensor4(&y, shape),
                Some(tensor4(&both, [2, 1, 5, 5])),
            ));
            let want = reference(&x, &y, &[k1.clone(), k2.clone()], shape, &o);
            assert!(
                (got - want).abs() < 1e-4 * want.abs().max(1.0),
                "{got} vs {want}"
            );
        }
    }

    /// With a delta kernel (size 1) K = 1 everywhere, so the weighted term is the
    /// squared error scaled by 1/(2(1+C)²) (Parseval, ortho DFT).
    #[test]
    fn delta_kernel_gives_scaled_squared_error() {
        let shape = [3, 1, 6, 7];
        let n: usize = shape.iter().product();
        let (x, y) = (test_values(3, n), test_values(4, n));
        let o = opts(1, 1.0, false);
        let loss = WienerLoss::<Flex>::new(&o, 6, 7, &Default::default());
        let got = scalar(loss.forward(tensor4(&x, shape), tensor4(&y, shape), None));
        let sse: f64 = x.iter().zip(&y).map(|(a, b)| (a - b).powi(2)).sum();
        let want = sse / 3.0 * 0.5 / (1.0 + o.c).powi(2);
        assert!((got - want).abs() < 1e-5 * want, "{got} vs {want}");
    }

    #[test]
    fn gradients_match_finite_differences() {
        let shape = [1, 1, 6, 5];
        let n: usize = shape.iter().product();
        let (x, y) = (test_values(7, n), test_values(8, n));
        let o = opts(3, 0.8, true);
        let loss = WienerLoss::<Ad>::new(&o, 6, 5, &Default::default());
        let kernel = gaussian_kernel(3, 0.8);
        check_gradient(
            |r| loss.forward(r, tensor4(&y, shape), None),
            |r| reference(r, &y, std::slice::from_ref(&kernel), shape, &o),
            &x,
            shape,
            1e-3,
            2e-3,
        );
        // Gradient with respect to the kernel (what trains G), log-det included.
        let k0 = test_values(9, 9)
            .iter()
            .map(|v| v + 0.2)
            .collect::<Vec<_>>();
        check_gradient(
            |k| loss.forward(tensor4(&x, shape), tensor4(&y, shape), Some(k)),
            |k| reference(&x, &y, &[k.to_vec()], shape, &o),
            &k0,
            [1, 1, 3, 3],
            1e-3,
            5e-3,
        );
    }

    #[test]
    fn finite_on_degenerate_inputs_and_kernels() {
        let o = opts(3, 1.0, true);
        let loss = WienerLoss::<Ad>::new(&o, 8, 8, &Default::default());
        assert_finite_on_edge_cases([2, 1, 8, 8], |r, t| loss.forward(r, t, None));
        // A kernel with exact spectral zeros (a 2-tap box has K = 0 at Nyquist).
        let mut box_kernel = vec![0.0; 9];
        box_kernel[0] = 0.5;
        box_kernel[1] = 0.5;
        let x = test_values(1, 64);
        let value = loss.forward(
            tensor4(&x, [1, 1, 8, 8]),
            tensor4(&vec![0.0; 64], [1, 1, 8, 8]),
            Some(tensor4(&box_kernel, [1, 1, 3, 3])),
        );
        assert!(scalar(value).is_finite());
    }

    #[test]
    fn kernel_head_starts_at_the_gaussian_and_is_normalised() {
        let device = Default::default();
        let head = KernelHead::<Flex>::new(4, 5, 1.5, &device);
        let z = tensor4::<Flex>(&test_values(2, 12), [3, 4, 1, 1]).reshape([3, 4]);
        let k = head.forward(z).into_data().to_vec::<f32>().unwrap();
        let want = gaussian_kernel(5, 1.5);
        for img in 0..3 {
            let s: f32 = k[img * 25..(img + 1) * 25].iter().sum();
            assert!((s - 1.0).abs() < 1e-5);
            for i in 0..25 {
                assert!((k[img * 25 + i] as f64 - want[i]).abs() < 1e-6);
            }
        }
    }
}
