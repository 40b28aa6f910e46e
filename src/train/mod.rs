//! Training: the loop, the backend choice and the saved model.

pub mod checkpoint;
pub mod run;
pub mod schedule;

/// The CPU backend (burn's pure-Rust flex backend).
pub type CpuBackend = burn::backend::Flex;
/// The CPU backend with autodiff, used for training.
pub type TrainBackend = burn::backend::Autodiff<CpuBackend>;

pub use run::{train, TrainError};

use crate::pipeline::schema::DeviceChoice;

/// The device a node with `choice` runs on, as recorded in provenance. The one
/// place that maps the config's choice to a device: this build has only the CPU
/// backend, so every choice runs on "cpu".
pub fn device_name(choice: DeviceChoice) -> &'static str {
    match choice {
        DeviceChoice::Auto | DeviceChoice::Cpu => "cpu",
    }
}
