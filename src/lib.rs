//! runner: declarative pipelines for spectral-loss VAE experiments.
//!
//! Data flows one way: YAML file -> typed [`pipeline`] cells -> [`dag`] plan ->
//! executor -> store -> [`report`]. The [`dag`] engine plans and runs nodes
//! without knowing what they compute: [`work`] says that (datasets in [`data`],
//! training in [`train`], metrics in [`eval`], tables and plots in [`report`]),
//! and [`slurm`] lets the engine run nodes as Slurm jobs. The networks live in
//! [`model`], the losses in [`loss`], all Fourier maths in [`spectral`]; [`tensorboard`] writes the curves
//! for TensorBoard.

pub mod atomic;
pub mod backend;
pub mod cli;
pub mod code_version;
pub mod dag;
pub mod data;
pub mod device;
pub mod eval;
pub mod exit;
pub mod fetch;
pub mod inspect;
pub mod interrupt;
pub mod loss;
pub mod model;
pub mod pipeline;
pub mod progress;
pub mod report;
pub mod slurm;
pub mod spectral;
pub mod tensorboard;
pub mod train;
pub mod weights;
pub mod work;
