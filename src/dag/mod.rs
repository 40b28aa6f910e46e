//! The engine: the plan (which nodes exist, their keys, whether each is fresh
//! and why), the store (where results live, DONE markers, node locks) and the
//! executors that run stale nodes, here on threads ([`local`]) or as Slurm
//! batch jobs ([`slurm`]). The engine does not know what a node computes: it
//! calls the [`work::NodeWork`] implemented one layer up. Planning never runs
//! anything.

pub mod executor;
pub mod gpu;
pub mod job;
pub mod local;
pub mod lock;
pub mod plan;
pub mod provenance;
pub mod slurm;
pub mod store;
pub mod work;

pub use executor::{execute, Executor, RunOptions, RunSummary};
pub use plan::{build_plan, NodeKind, NodeState, Plan};
pub use store::Store;
