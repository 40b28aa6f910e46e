//! The KL divergence of N(mu, exp(logvar)) from N(0, I) (docs/methods.md#kl-term).

use burn::tensor::{backend::Backend, Tensor};

use crate::pipeline::schema::KlConvention;

/// Version of the KL term.
/// Part of the keys of the nodes that use it: bump it when a change alters
/// results (see `crate::code_version`).
pub const VERSION: u32 = 1;

/// KL term under `convention`:
/// - `IrmaeMean`: -mean over batch x latent of (1 + logvar - mu^2 - exp(logvar)), no 1/2;
/// - `SumHalf`: -1/2 sum over latent of the same, then the mean over the batch.
pub fn kl_divergence<B: Backend>(
    mu: Tensor<B, 2>,
    logvar: Tensor<B, 2>,
    convention: KlConvention,
) -> Tensor<B, 1> {
    let [_, n] = mu.dims();
    let inner = logvar.clone() + 1.0 - mu.powi_scalar(2) - logvar.exp();
    match convention {
        KlConvention::IrmaeMean => inner.mean().neg(),
        KlConvention::SumHalf => inner.mean().mul_scalar(-0.5 * n as f64),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::Flex;
    use burn::tensor::TensorData;

    #[test]
    fn both_conventions_match_the_formula() {
        let mu = [0.5f32, -1.0, 0.0, 2.0, 0.1, -0.3];
        let logvar = [0.0f32, -1.0, 0.5, 1.0, -2.0, 0.2];
        let device = Default::default();
        let t =
            |v: &[f32]| Tensor::<Flex, 2>::from_data(TensorData::new(v.to_vec(), [2, 3]), &device);
        let terms: Vec<f64> = (0..6)
            .map(|i| {
                let (m, l) = (mu[i] as f64, logvar[i] as f64);
                1.0 + l - m * m - l.exp()
            })
            .collect();
        let irmae: f64 = kl_divergence(t(&mu), t(&logvar), KlConvention::IrmaeMean)
            .into_scalar()
            .into();
        assert!((irmae - -terms.iter().sum::<f64>() / 6.0).abs() < 1e-5);
        let half: f64 = kl_divergence(t(&mu), t(&logvar), KlConvention::SumHalf)
            .into_scalar()
            .into();
        assert!((half - -0.5 * terms.iter().sum::<f64>() / 2.0).abs() < 1e-5);
        // KL of the prior itself is zero.
        let zero: f64 = kl_divergence(t(&[0.0; 6]), t(&[0.0; 6]), KlConvention::SumHalf)
            .into_scalar()
            .into();
        assert!(zero.abs() < 1e-7);
    }
}

#[cfg(test)]
mod gradient_tests {
    use super::*;
    use crate::loss::testing::check_gradient;
    use crate::spectral::dft::test_values;

    /// d KL / d mu and d KL / d logvar against finite differences of the f64
    /// formula, for both conventions (mu and logvar packed into one [2, 1, B, n]).
    #[test]
    fn gradient_matches_finite_differences() {
        let (b, n) = (3, 4);
        let packed: Vec<f64> = test_values(31, 2 * b * n)
            .iter()
            .map(|v| 2.0 * v - 1.0)
            .collect();
        for convention in [KlConvention::IrmaeMean, KlConvention::SumHalf] {
            let reference = |p: &[f64]| -> f64 {
                let (mu, logvar) = p.split_at(b * n);
                let sum: f64 = mu
                    .iter()
                    .zip(logvar)
                    .map(|(m, l)| 1.0 + l - m * m - l.exp())
                    .sum();
                match convention {
                    KlConvention::IrmaeMean => -sum / (b * n) as f64,
                    KlConvention::SumHalf => -0.5 * sum / b as f64,
                }
            };
            check_gradient(
                |p| {
                    let mu = p.clone().narrow(0, 0, 1).reshape([b, n]);
                    let logvar = p.narrow(0, 1, 1).reshape([b, n]);
                    kl_divergence(mu, logvar, convention)
                },
                reference,
                &packed,
                [2, 1, b, n],
                1e-4,
                1e-3,
            );
        }
    }
}
