//! Evaluation: metrics on a fixed test batch and the spectrum file. The metrics
//! themselves (name, version, per-image value, aggregation) are in [`metric`];
//! the maths they share is in [`metrics`].

pub mod metric;
pub mod metrics;
pub mod run;
pub mod spectrum;

pub use run::{evaluate, EvalSummary};
