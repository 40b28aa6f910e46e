//! Binary cross-entropy on decoder logits (docs/methods.md#bce).

use super::term::{Domain, ImageShape, TermInput, TermLoss, TermOptions};
use burn::tensor::{backend::Backend, Tensor};
use serde::{Deserialize, Serialize};

/// Options of the binary cross-entropy term (mean over every element, as IRMAE).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct BceTerm {
    /// Weight in the mix (>= 0).
    pub weight: f64,
}

impl Default for BceTerm {
    fn default() -> Self {
        BceTerm { weight: 1.0 }
    }
}

impl TermOptions for BceTerm {
    const NAME: &'static str = "bce";
    const DOMAIN: Domain = Domain::Spatial;
    const VERSION: u32 = 1;
    const SUMMARY: &'static str =
        "binary cross-entropy of sigmoid(logits) against the data, mean over every element";

    fn weight(&self) -> f64 {
        self.weight
    }

    fn build<B: Backend>(&self, _image: ImageShape, _device: &B::Device) -> Box<dyn TermLoss<B>> {
        Box::new(BceLoss)
    }
}

/// The built BCE term: it has no constants.
#[derive(Debug, Clone, Copy)]
pub struct BceLoss;

impl<B: Backend> TermLoss<B> for BceLoss {
    /// BCE works on the logits, not on the reconstruction, for stability.
    fn forward(&self, input: &TermInput<B>) -> Tensor<B, 1> {
        bce_mean(input.out.logits.clone(), input.target.clone())
    }
}

/// Element-wise BCE of `sigmoid(logits)` against soft targets `x` in [0, 1], in the
/// stable logit form `max(l, 0) - l*x + ln(1 + exp(-|l|))` (finite for any logit).
pub fn bce_with_logits<B: Backend>(logits: Tensor<B, 4>, target: Tensor<B, 4>) -> Tensor<B, 4> {
    let positive = logits.clone().clamp_min(0.0);
    let soft_plus = (logits.clone().abs().neg().exp() + 1.0).log();
    positive - logits * target + soft_plus
}

/// IRMAE's reduction: the mean over every element (batch x C x H x W).
pub fn bce_mean<B: Backend>(logits: Tensor<B, 4>, target: Tensor<B, 4>) -> Tensor<B, 1> {
    bce_with_logits(logits, target).mean()
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::Flex;
    use burn::tensor::TensorData;

    #[test]
    fn matches_naive_formula_and_stays_finite() {
        let logits = [-30.0f32, -3.0, -0.5, 0.0, 0.7, 4.0, 30.0, 80.0];
        let targets = [0.0f32, 0.2, 1.0, 0.5, 0.0, 1.0, 0.3, 1.0];
        let device = Default::default();
        let l =
            Tensor::<Flex, 4>::from_data(TensorData::new(logits.to_vec(), [1, 1, 2, 4]), &device);
        let t =
            Tensor::<Flex, 4>::from_data(TensorData::new(targets.to_vec(), [1, 1, 2, 4]), &device);
        let got = bce_with_logits(l, t).into_data().to_vec::<f32>().unwrap();
        for i in 0..logits.len() {
            let (z, x) = (logits[i] as f64, targets[i] as f64);
            // ln sigmoid(z) = -ln(1 + e^-z), ln(1 - sigmoid(z)) = -z - ln(1 + e^-z);
            // in f64 these are exact enough for |z| <= 80.
            let log_p = -((-z).exp().ln_1p());
            let log_q = -z - (-z).exp().ln_1p();
            let want = -(x * log_p + (1.0 - x) * log_q);
            assert!(got[i].is_finite());
            assert!(
                (got[i] as f64 - want).abs() < 1e-4 * (1.0 + want.abs()),
                "z={z} x={x}: {} vs {want}",
                got[i]
            );
        }
    }

    /// d BCE / d logits = (sigmoid(l) - x) / N, checked by finite differences of
    /// the f64 formula.
    #[test]
    fn gradient_matches_finite_differences() {
        use crate::loss::testing::{check_gradient, tensor4, Ad};
        use crate::spectral::dft::test_values;
        let shape = [2, 1, 2, 3];
        let logits: Vec<f64> = test_values(51, 12).iter().map(|v| 8.0 * v - 4.0).collect();
        let target = test_values(52, 12);
        check_gradient(
            |l| bce_mean(l, tensor4::<Ad>(&target, shape)),
            |l| {
                l.iter()
                    .zip(&target)
                    .map(|(z, x)| z.max(0.0) - z * x + (-z.abs()).exp().ln_1p())
                    .sum::<f64>()
                    / 12.0
            },
            &logits,
            shape,
            1e-4,
            1e-3,
        );
    }
}
