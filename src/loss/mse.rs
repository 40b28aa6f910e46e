//! The Gaussian-likelihood (MSE) term, with a fixed, per-image optimal or
//! learned sigma; the likelihoods themselves are in [`super::pixel`].

use burn::tensor::{backend::Backend, Tensor};
use serde::{Deserialize, Serialize};

use super::pixel::{mse, mse_learned_sigma, mse_optimal_sigma, PixelReduction};
use super::term::{Domain, ImageShape, LearnedParameter, TermInput, TermLoss, TermOptions};
use crate::pipeline::check::positive;
use crate::pipeline::schema::ConfigIssue;

/// How the Gaussian likelihood's sigma is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SigmaMode {
    /// `sigma` as written; the term is SSE / (2 sigma^2) (constants dropped).
    Fixed,
    /// Per image sigma^2 = SSE / D, its maximum-likelihood value; the term is the
    /// full negative log-likelihood (D/2) ln(2 pi e SSE / D) (sigma-VAE's "optimal sigma").
    Optimal,
    /// One global log sigma trained with the model (starting at ln `sigma`); the
    /// term is the full negative log-likelihood SSE / (2 sigma^2) + D ln sigma + (D/2) ln 2 pi.
    Learned,
}

/// Options of the Gaussian-likelihood (MSE) term: sum or mean of (x - x^)^2 / (2 sigma^2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct MseTerm {
    /// Weight in the mix (>= 0).
    pub weight: f64,
    /// Standard deviation (> 0) when `sigma_mode` is `fixed`; the starting value
    /// when it is `learned`. sqrt(1/2) with `mean` makes the term PyTorch's MSELoss.
    pub sigma: f64,
    /// Whether sigma is fixed, set to its per-image optimum, or trained.
    pub sigma_mode: SigmaMode,
    /// Reduction.
    pub reduction: PixelReduction,
}

impl Default for MseTerm {
    fn default() -> Self {
        MseTerm {
            weight: 1.0,
            sigma: std::f64::consts::FRAC_1_SQRT_2,
            sigma_mode: SigmaMode::Fixed,
            reduction: PixelReduction::Mean,
        }
    }
}

impl TermOptions for MseTerm {
    const NAME: &'static str = "mse";
    const DOMAIN: Domain = Domain::Spatial;
    const VERSION: u32 = 1;
    const SUMMARY: &'static str =
        "Gaussian likelihood: squared error / (2 sigma^2), sigma fixed, per-image optimal or learned";

    fn weight(&self) -> f64 {
        self.weight
    }

    fn check(&self, _image: ImageShape, at: &str) -> Result<(), ConfigIssue> {
        positive(self.sigma, &format!("{at}.sigma"))
    }

    fn learned_parameter(&self) -> Option<(LearnedParameter, &'static str)> {
        let log_sigma = LearnedParameter::LogSigma {
            start_sigma: self.sigma,
        };
        (self.sigma_mode == SigmaMode::Learned).then_some((log_sigma, "sigma_mode: learned"))
    }

    fn build<B: Backend>(&self, _image: ImageShape, _device: &B::Device) -> Box<dyn TermLoss<B>> {
        Box::new(self.clone())
    }
}

/// The options are all the built term needs.
impl<B: Backend> TermLoss<B> for MseTerm {
    fn forward(&self, input: &TermInput<B>) -> Tensor<B, 1> {
        let (r, t) = (input.recon.clone(), input.target.clone());
        match self.sigma_mode {
            SigmaMode::Fixed => mse(r, t, self.sigma, self.reduction),
            SigmaMode::Optimal => mse_optimal_sigma(r, t, self.reduction),
            SigmaMode::Learned => {
                // LossParams::new creates it for every term that asks for it.
                let log_sigma = input
                    .params
                    .log_sigma()
                    .expect("a learned-sigma term without its parameter");
                mse_learned_sigma(r, t, log_sigma, self.reduction)
            }
        }
    }
}
