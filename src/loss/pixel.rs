//! The pixel-space likelihoods behind the `mse` and `l1` terms: Gaussian with a
//! fixed, per-image optimal or learned sigma, and Laplace; and how they reduce
//! element-wise errors.

use burn::tensor::{backend::Backend, Tensor};

use serde::{Deserialize, Serialize};

/// How a pixel-space term reduces its element-wise errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PixelReduction {
    /// Mean over every element (PyTorch's default `reduction='mean'`).
    Mean,
    /// Sum over each image, mean over the batch (a per-image log-likelihood).
    SumPerImage,
}

/// Reduces element-wise errors `e` (`[B, C, H, W]`) as `reduction` says: the mean
/// over every element, or the sum over each image averaged over the batch.
fn reduce<B: Backend>(e: Tensor<B, 4>, reduction: PixelReduction) -> Tensor<B, 1> {
    match reduction {
        PixelReduction::Mean => e.mean(),
        PixelReduction::SumPerImage => {
            let batch = e.dims()[0] as f64;
            e.sum().div_scalar(batch)
        }
    }
}

/// Squared error scaled by 1/(2 sigma^2): with `SumPerImage` this is the Gaussian
/// negative log-likelihood of each image up to a constant; with `Mean` and sigma^2 =
/// 1/2 it is PyTorch's `MSELoss`.
pub fn mse<B: Backend>(
    recon: Tensor<B, 4>,
    target: Tensor<B, 4>,
    sigma: f64,
    reduction: PixelReduction,
) -> Tensor<B, 1> {
    let e = (recon - target)
        .powi_scalar(2)
        .div_scalar(2.0 * sigma * sigma);
    reduce(e, reduction)
}

/// Smallest per-pixel variance the optimal-sigma likelihood uses, so that a perfect
/// reconstruction (SSE = 0) gives a finite value and gradient.
pub const OPTIMAL_VARIANCE_FLOOR: f64 = 1e-8;

/// Per-image sum of squared errors `[B, 1]` and the pixels per image D.
fn per_image_sse<B: Backend>(recon: Tensor<B, 4>, target: Tensor<B, 4>) -> (Tensor<B, 2>, f64) {
    let [b, c, h, w] = recon.dims();
    let d = c * h * w;
    let sse = (recon - target).powi_scalar(2).reshape([b, d]).sum_dim(1);
    (sse, d as f64)
}

/// Mean over the batch of per-image negative log-likelihoods `[B, 1]`; with the
/// `Mean` reduction also divided by the pixels per image D.
fn reduce_nll<B: Backend>(nll: Tensor<B, 2>, d: f64, reduction: PixelReduction) -> Tensor<B, 1> {
    let per_image = nll.mean();
    match reduction {
        PixelReduction::SumPerImage => per_image,
        PixelReduction::Mean => per_image.div_scalar(d),
    }
}

/// Gaussian negative log-likelihood with each image's maximum-likelihood sigma,
/// sigma^2 = SSE / D (sigma-VAE's "optimal sigma"):
/// `(D/2) · (ln(2π · SSE/D) + 1)` per image, SSE/D floored at
/// [`OPTIMAL_VARIANCE_FLOOR`].
pub fn mse_optimal_sigma<B: Backend>(
    recon: Tensor<B, 4>,
    target: Tensor<B, 4>,
    reduction: PixelReduction,
) -> Tensor<B, 1> {
    let (sse, d) = per_image_sse(recon, target);
    let nll = sse
        .div_scalar(d)
        .add_scalar(OPTIMAL_VARIANCE_FLOOR)
        .log()
        .add_scalar(std::f64::consts::TAU.ln() + 1.0)
        .mul_scalar(d / 2.0);
    reduce_nll(nll, d, reduction)
}

/// Gaussian negative log-likelihood with one trained global `log_sigma` (`[1]`):
/// `SSE / (2 sigma^2) + D ln sigma + (D/2) ln 2π` per image.
pub fn mse_learned_sigma<B: Backend>(
    recon: Tensor<B, 4>,
    target: Tensor<B, 4>,
    log_sigma: Tensor<B, 1>,
    reduction: PixelReduction,
) -> Tensor<B, 1> {
    let (sse, d) = per_image_sse(recon, target);
    let log_sigma = log_sigma.unsqueeze::<2>(); // [1, 1], broadcast over images
    let precision = log_sigma.clone().mul_scalar(-2.0).exp();
    let nll = sse.mul(precision).mul_scalar(0.5)
        + log_sigma
            .mul_scalar(d)
            .add_scalar(d / 2.0 * std::f64::consts::TAU.ln());
    reduce_nll(nll, d, reduction)
}

/// Absolute error (Laplace likelihood with b = 1, up to a constant).
pub fn l1<B: Backend>(
    recon: Tensor<B, 4>,
    target: Tensor<B, 4>,
    reduction: PixelReduction,
) -> Tensor<B, 1> {
    reduce((recon - target).abs(), reduction)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spectral::dft::test_values;
    use burn::backend::Flex;
    use burn::tensor::{ElementConversion, TensorData};

    fn tensor(v: &[f64], shape: [usize; 4]) -> Tensor<Flex, 4> {
        let f: Vec<f32> = v.iter().map(|x| *x as f32).collect();
        Tensor::from_data(TensorData::new(f, shape), &Default::default())
    }

    /// Per-image full Gaussian NLL in f64 with variance `var(image)`.
    fn gaussian_nll(x: &[f64], y: &[f64], d: usize, var: impl Fn(f64) -> f64) -> Vec<f64> {
        x.chunks(d)
            .zip(y.chunks(d))
            .map(|(a, b)| {
                let sse: f64 = a.iter().zip(b).map(|(p, q)| (p - q).powi(2)).sum();
                let v = var(sse);
                sse / (2.0 * v) + d as f64 / 2.0 * (std::f64::consts::TAU * v).ln()
            })
            .collect()
    }

    #[test]
    fn optimal_and_learned_sigma_match_the_gaussian_likelihood() {
        let shape = [3, 2, 4, 5];
        let d = 40;
        let n = 3 * d;
        let (x, y) = (test_values(21, n), test_values(22, n));
        let mean = |v: Vec<f64>| v.iter().sum::<f64>() / v.len() as f64;
        let close = |a: f64, b: f64| (a - b).abs() < 1e-4 * b.abs().max(1.0);
        // Optimal: the NLL at sigma^2 = SSE/D (floored), and no other sigma does better.
        let want = mean(gaussian_nll(&x, &y, d, |sse| {
            sse / d as f64 + OPTIMAL_VARIANCE_FLOOR
        }));
        let got: f64 = mse_optimal_sigma(
            tensor(&x, shape),
            tensor(&y, shape),
            PixelReduction::SumPerImage,
        )
        .into_scalar()
        .elem();
        assert!(close(got, want), "{got} vs {want}");
        for factor in [0.8, 1.25] {
            let other = mean(gaussian_nll(&x, &y, d, |sse| factor * sse / d as f64));
            assert!(other > want);
        }
        // Learned: the NLL at the given global sigma, both reductions.
        let log_sigma = -0.7f64;
        let var = (2.0 * log_sigma).exp();
        let want = mean(gaussian_nll(&x, &y, d, |_| var));
        let ls = Tensor::<Flex, 1>::from_data(
            TensorData::new(vec![log_sigma as f32], [1]),
            &Default::default(),
        );
        for (reduction, scale) in [
            (PixelReduction::SumPerImage, 1.0),
            (PixelReduction::Mean, d as f64),
        ] {
            let got: f64 =
                mse_learned_sigma(tensor(&x, shape), tensor(&y, shape), ls.clone(), reduction)
                    .into_scalar()
                    .elem();
            assert!(close(got * scale, want), "{reduction:?}: {got} vs {want}");
        }
    }

    #[test]
    fn sigma_likelihoods_have_finite_difference_gradients_and_survive_zero_error() {
        use crate::loss::testing::{assert_finite_on_edge_cases, check_gradient, tensor4, Ad};
        let shape = [2, 1, 3, 4];
        let d = 12;
        let (x, y) = (test_values(23, 24), test_values(24, 24));
        let mean = |v: Vec<f64>| v.iter().sum::<f64>() / v.len() as f64;
        check_gradient(
            |r| mse_optimal_sigma(r, tensor4::<Ad>(&y, shape), PixelReduction::SumPerImage),
            |r| {
                mean(gaussian_nll(r, &y, d, |sse| {
                    sse / d as f64 + OPTIMAL_VARIANCE_FLOOR
                }))
            },
            &x,
            shape,
            1e-4,
            2e-3,
        );
        assert_finite_on_edge_cases(shape, |r, t| mse_optimal_sigma(r, t, PixelReduction::Mean));
    }

    /// Fixed-sigma MSE and L1 gradients against finite differences of the f64 sums
    /// (L1 at points where no error is near its kink at 0).
    #[test]
    fn fixed_sigma_and_l1_gradients_match_finite_differences() {
        use crate::loss::testing::{check_gradient, tensor4, Ad};
        let shape = [2, 1, 3, 3];
        let x = test_values(41, 18);
        let y: Vec<f64> = test_values(42, 18)
            .iter()
            .zip(&x)
            .map(|(v, a)| if (v - a).abs() < 0.05 { a + 0.3 } else { *v })
            .collect();
        let sigma = 0.8;
        check_gradient(
            |r| {
                mse(
                    r,
                    tensor4::<Ad>(&y, shape),
                    sigma,
                    PixelReduction::SumPerImage,
                )
            },
            |r| {
                r.iter().zip(&y).map(|(a, b)| (a - b).powi(2)).sum::<f64>()
                    / (2.0 * sigma * sigma)
                    / 2.0
            },
            &x,
            shape,
            1e-4,
            1e-3,
        );
        check_gradient(
            |r| l1(r, tensor4::<Ad>(&y, shape), PixelReduction::Mean),
            |r| r.iter().zip(&y).map(|(a, b)| (a - b).abs()).sum::<f64>() / 18.0,
            &x,
            shape,
            1e-4,
            1e-3,
        );
    }

    #[test]
    fn values_match_direct_sums() {
        let shape = [3, 2, 4, 5];
        let n: usize = shape.iter().product();
        let (x, y) = (test_values(11, n), test_values(12, n));
        let sse: f64 = x.iter().zip(&y).map(|(a, b)| (a - b).powi(2)).sum();
        let sae: f64 = x.iter().zip(&y).map(|(a, b)| (a - b).abs()).sum();
        let get = |t: Tensor<Flex, 1>| -> f64 { t.into_scalar().into() };
        let close = |a: f64, b: f64| (a - b).abs() < 1e-5 * b.abs().max(1.0);
        assert!(close(
            get(mse(
                tensor(&x, shape),
                tensor(&y, shape),
                0.5f64.sqrt(),
                PixelReduction::Mean
            )),
            sse / n as f64
        ));
        assert!(close(
            get(mse(
                tensor(&x, shape),
                tensor(&y, shape),
                2.0,
                PixelReduction::SumPerImage
            )),
            sse / 8.0 / 3.0
        ));
        assert!(close(
            get(l1(
                tensor(&x, shape),
                tensor(&y, shape),
                PixelReduction::Mean
            )),
            sae / n as f64
        ));
        assert!(close(
            get(l1(
                tensor(&x, shape),
                tensor(&y, shape),
                PixelReduction::SumPerImage
            )),
            sae / 3.0
        ));
    }
}
