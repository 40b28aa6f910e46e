//! Talking to Slurm: the cluster profile, the arguments of a batch job, the
//! commands (`sbatch`, `squeue`, `sacct`, `scancel`) and how their output
//! reads. Nothing here knows about pipelines or nodes; the Slurm executor
//! ([`crate::dag::slurm`]) builds on it.
//!
//! Written here, through Slurm's own commands, as Snakemake's Slurm plugin,
//! Nextflow and submitit do: their machine-readable output is stable across
//! Slurm versions and needs nothing at build time, while the Rust bindings of
//! libslurm (`slurm` 0.1.3 on crates.io, from 2018) need the C library and
//! headers of the cluster's exact version.

pub mod batch;
pub mod commands;
pub mod profile;
pub mod state;

pub use commands::Slurm;
pub use profile::Profile;
pub use state::JobState;
