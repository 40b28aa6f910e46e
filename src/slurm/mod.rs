//! Talking to Slurm: the cluster profile, the arguments of a batch job, the
//! commands (`sbatch`, `squeue`, `sacct`, `scancel`) and how their output
//! reads. Nothing here knows about pipelines or nodes; the Slurm executor
//! ([`crate::dag::slurm`]) builds on it.

pub mod batch;
pub mod commands;
pub mod profile;
pub mod state;

pub use commands::Slurm;
pub use profile::Profile;
pub use state::JobState;
