//! The plan (which nodes exist, their keys, and whether each is fresh) and the
//! executor that runs the stale ones. Planning never runs anything.

pub mod executor;
pub mod lock;
pub mod plan;
pub mod provenance;
pub mod store;

pub use executor::{execute, RunOptions, RunSummary};
pub use plan::{build_plan, NodeKind, NodeState, Plan};
pub use store::Store;
