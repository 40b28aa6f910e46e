//! Training: the loop, its learning-rate schedules, and resumable checkpoints.

pub mod adam;
pub mod checkpoint;
pub mod run;
pub mod schedule;

pub use run::{train, TrainError};
