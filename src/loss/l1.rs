//! The L1 (Laplace-likelihood) term.

use burn::tensor::{backend::Backend, Tensor};
use serde::{Deserialize, Serialize};

use super::pixel::{l1, PixelReduction};
use super::term::{Domain, ImageShape, TermInput, TermLoss, TermOptions};

/// Options of the L1 (Laplace-likelihood) term.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct L1Term {
    /// Weight in the mix (>= 0).
    pub weight: f64,
    /// Reduction.
    pub reduction: PixelReduction,
}

impl Default for L1Term {
    fn default() -> Self {
        L1Term {
            weight: 1.0,
            reduction: PixelReduction::Mean,
        }
    }
}

impl TermOptions for L1Term {
    const NAME: &'static str = "l1";
    const DOMAIN: Domain = Domain::Spatial;
    const VERSION: u32 = 1;
    const SUMMARY: &'static str = "absolute pixel error (Laplace likelihood with b = 1)";

    fn weight(&self) -> f64 {
        self.weight
    }

    fn build<B: Backend>(&self, _image: ImageShape, _device: &B::Device) -> Box<dyn TermLoss<B>> {
        Box::new(self.clone())
    }
}

/// The options are all the built term needs.
impl<B: Backend> TermLoss<B> for L1Term {
    fn forward(&self, input: &TermInput<B>) -> Tensor<B, 1> {
        l1(input.recon.clone(), input.target.clone(), self.reduction)
    }
}
