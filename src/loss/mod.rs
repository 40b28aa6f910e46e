//! Reconstruction losses and the KL term, each a small function or struct with
//! typed options, and the weighted mix a pipeline declares.

pub mod ai;
pub mod bce;
pub mod ffl;
pub mod fft;
pub mod fuoli;
pub mod kl;
pub mod mix;
pub mod params;
pub mod pixel;
pub mod ssim;
pub mod stft;
#[cfg(test)]
pub(crate) mod testing;
pub mod watson;
pub mod wiener;

pub use mix::{LossMix, LossValues};
pub use params::LossParams;
