//! Evaluation: metrics on a fixed test batch and the spectrum file.

pub mod metrics;
pub mod run;

pub use run::{evaluate, EvalSummary};
