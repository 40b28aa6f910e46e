//! Parameters that belong to the loss rather than to the VAE: the global ln sigma
//! of a learned-sigma Gaussian term and the kernel head G(z) of a learned-kernel
//! Wiener term. Trained by their own optimizer (see `train::run`) and saved
//! beside the network weights under the `loss.` prefix.

use burn::module::{Module, Param};
use burn::tensor::{backend::Backend, Tensor, TensorData};

use super::term::LearnedParameter;
use super::wiener::KernelHead;
use crate::pipeline::schema::LossConfig;

/// Trainable loss parameters of one pipeline cell (both absent for most losses).
#[derive(Module, Debug)]
pub struct LossParams<B: Backend> {
    /// ln sigma of the `mse` term with `sigma_mode: learned`.
    pub log_sigma: Option<Param<Tensor<B, 1>>>,
    /// G(z) of the `wiener` term with `kernel: learned`.
    pub kernel_head: Option<KernelHead<B>>,
}

impl<B: Backend> LossParams<B> {
    /// The parameters `cfg` needs, at their starting values (ln of the configured
    /// sigma; a head that outputs the configured Gaussian). `latent` is the code size.
    /// Validation allows at most one learned term of each kind.
    pub fn new(cfg: &LossConfig, latent: usize, device: &B::Device) -> Self {
        let mut params = LossParams {
            log_sigma: None,
            kernel_head: None,
        };
        for (parameter, _) in cfg.terms.iter().filter_map(|t| t.learned_parameter()) {
            match parameter {
                LearnedParameter::LogSigma { start_sigma } => {
                    let value = vec![start_sigma.ln() as f32];
                    let t = Tensor::from_data(TensorData::new(value, [1]), device);
                    params.log_sigma = Some(Param::from_tensor(t));
                }
                LearnedParameter::KernelHead {
                    kernel_size,
                    kernel_sigma,
                } => {
                    params.kernel_head =
                        Some(KernelHead::new(latent, kernel_size, kernel_sigma, device));
                }
            }
        }
        params
    }

    /// The current ln sigma, if a term learns one.
    pub fn log_sigma(&self) -> Option<Tensor<B, 1>> {
        self.log_sigma.as_ref().map(|p| p.val())
    }
}
