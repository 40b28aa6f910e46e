//! Reconstruction losses and the KL term, and the weighted mix a pipeline declares.
//!
//! Each reconstruction term is one file here: its options (as the pipeline file
//! writes them), its checks, its version and its computation, behind the
//! [`term::TermOptions`] and [`term::TermLoss`] traits; [`registry`] lists them.

pub mod ai;
pub mod bce;
pub mod ffl;
pub mod fft;
pub mod fuoli;
pub mod kl;
pub mod l1;
pub mod mix;
pub mod mse;
pub mod params;
pub mod pixel;
pub mod registry;
pub mod spectral_l1;
pub mod ssim;
pub mod stft;
pub mod term;
#[cfg(test)]
pub(crate) mod testing;
pub mod watson;
pub mod wiener;

pub use mix::{LossMix, LossValues};
pub use params::LossParams;
pub use registry::LossTerm;
