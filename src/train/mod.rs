//! Training: the loop, the backend choice and the saved model.

pub mod checkpoint;
pub mod run;
pub mod schedule;

/// The CPU backend (burn's pure-Rust flex backend).
pub type CpuBackend = burn::backend::Flex;
/// The CPU backend with autodiff, used for training.
pub type TrainBackend = burn::backend::Autodiff<CpuBackend>;

pub use run::{train, TrainError};
