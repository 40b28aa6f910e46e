//! Evaluation: metrics on a fixed test batch and the spectrum file.

pub mod metrics;
pub mod run;
pub mod spectrum;

pub use run::{evaluate, EvalSummary};
