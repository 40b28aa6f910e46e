//! What every reconstruction term provides: its options (read from the pipeline
//! file), its checks, its version and how it is built and evaluated.
//!
//! A term is one file in `src/loss/` that defines an options struct implementing
//! [`TermOptions`] and a built form implementing [`TermLoss`], plus one line in
//! [`super::registry`]. Everything else (the YAML enum, the mix, the keys, the
//! tests and benches that iterate every term, `runner terms`) follows from that.

use std::fmt;

use burn::tensor::{backend::Backend, Tensor};
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::params::LossParams;
use crate::model::vae::VaeOutput;
use crate::pipeline::schema::ConfigIssue;

/// Where a term compares images, which decides its factor when the pipeline sets
/// `loss.alpha` (Björk's mix: spatial terms get 1 - alpha, frequency terms alpha).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Domain {
    /// Pixel space (BCE, MSE, L1, SSIM).
    Spatial,
    /// A transform of the images (Fourier, DCT blocks, spectra).
    Frequency,
}

impl Domain {
    /// `spatial` or `frequency`.
    pub fn name(self) -> &'static str {
        match self {
            Domain::Spatial => "spatial",
            Domain::Frequency => "frequency",
        }
    }
}

/// The size of the images a term is built for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageShape {
    /// Channels (1 grey, 3 RGB).
    pub channels: usize,
    /// Rows.
    pub height: usize,
    /// Columns.
    pub width: usize,
}

/// A trainable parameter that a term adds to the loss (trained by the loss's own
/// optimiser, saved beside the network, see [`LossParams`]). A cell may have at
/// most one of each kind.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LearnedParameter {
    /// One global ln sigma, starting at ln `start_sigma`.
    LogSigma {
        /// The sigma it starts from.
        start_sigma: f64,
    },
    /// A head G(z) predicting a `kernel_size` x `kernel_size` blur kernel per
    /// image, starting at the Gaussian of `kernel_sigma`.
    KernelHead {
        /// Kernel side.
        kernel_size: usize,
        /// Standard deviation of the starting Gaussian.
        kernel_sigma: f64,
    },
}

impl LearnedParameter {
    /// Whether `self` and `other` are the same kind of parameter.
    pub fn same_kind(&self, other: &LearnedParameter) -> bool {
        std::mem::discriminant(self) == std::mem::discriminant(other)
    }
}

/// What a term sees of one training step.
pub struct TermInput<'a, B: Backend> {
    /// The forward pass (logits, mu, log-variance, z).
    pub out: &'a VaeOutput<B>,
    /// The reconstruction the terms compare with the data: `sigmoid(logits)`,
    /// pixel values in [0, 1], or the raw logits with `loss.input: logits`
    /// (docs/methods.md#loss-input). Terms defined on probabilities (`bce`) read
    /// `out.logits` instead.
    pub recon: &'a Tensor<B, 4>,
    /// The data, pixel values in [0, 1].
    pub target: &'a Tensor<B, 4>,
    /// The loss's own trainable parameters.
    pub params: &'a LossParams<B>,
    /// Training step (terms with per-step randomness draw it from the step, so
    /// a resumed run draws the same).
    pub step: u64,
    /// The training seed.
    pub seed: u64,
}

/// A term's options as written under its name in `loss.terms` (`{ffl: {...}}`).
///
/// Options are plain data with serde defaults; the struct is what the pipeline
/// file holds and what the keys hash, so renaming or removing a field changes
/// every key that uses the term.
pub trait TermOptions:
    Default + Clone + fmt::Debug + PartialEq + Serialize + DeserializeOwned
{
    /// The term's key in the pipeline file (`ffl`); must match the registry
    /// variant's snake_case name (a test checks it).
    const NAME: &'static str;
    /// Spatial or frequency: which factor `loss.alpha` gives it.
    const DOMAIN: Domain;
    /// Version of the term's code. Part of the keys of the nodes that use it:
    /// bump it when a change alters results (see `crate::code_version`).
    const VERSION: u32;
    /// One line for `runner terms`: what the term computes.
    const SUMMARY: &'static str;

    /// The term's weight in the mix (>= 0, checked by the mix).
    fn weight(&self) -> f64;

    /// Checks the options against the image size; `at` is the term's key path
    /// (`loss.terms.2.stft`) for the message. The weight is checked by the mix.
    fn check(&self, _image: ImageShape, _at: &str) -> Result<(), ConfigIssue> {
        Ok(())
    }

    /// The trainable parameter these options ask for, with the setting that asks
    /// for it (`sigma_mode: learned`) for messages; `None` for most terms.
    fn learned_parameter(&self) -> Option<(LearnedParameter, &'static str)> {
        None
    }

    /// Builds the term for images of `image`, with its constant matrices.
    fn build<B: Backend>(&self, image: ImageShape, device: &B::Device) -> Box<dyn TermLoss<B>>;
}

/// A term ready to evaluate.
pub trait TermLoss<B: Backend>: fmt::Debug {
    /// The term's value (unweighted) for one step.
    fn forward(&self, input: &TermInput<B>) -> Tensor<B, 1>;

    /// For a term with a learned blur kernel: its value under `kernels` with the
    /// VAE's outputs detached (the kernel head's half of the alternation).
    /// `None` for every other term.
    fn kernel_objective(
        &self,
        _recon: Tensor<B, 4>,
        _target: Tensor<B, 4>,
        _kernels: Tensor<B, 4>,
    ) -> Option<Tensor<B, 1>> {
        None
    }
}
