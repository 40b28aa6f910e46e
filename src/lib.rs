//! runner: declarative pipelines for spectral-loss VAE experiments.
//!
//! Data flows one way: YAML file -> typed [`pipeline`] cells -> [`dag`] plan ->
//! executor -> store. The networks live in [`model`], the losses in [`loss`], all
//! Fourier maths in [`spectral`], training in [`train`], metrics in [`eval`].

pub mod atomic;
pub mod backend;
pub mod cli;
pub mod dag;
pub mod data;
pub mod device;
pub mod eval;
pub mod inspect;
pub mod interrupt;
pub mod loss;
pub mod model;
pub mod pipeline;
pub mod progress;
pub mod report;
pub mod slurm;
pub mod spectral;
pub mod train;
pub mod weights;
pub mod work;
