//! Pipeline files: the typed schema, reading and checking a file, overrides and
//! sweeps, the content keys derived from resolved configs, and library error
//! wording rewritten in runner's words ([`messages`]).
//!
//! [`load::load_pipeline`] is the entry point: it reads a YAML file, applies
//! `-o key=value` overrides, expands the sweep grid and returns one
//! [`schema::ResolvedPipeline`] per cell, or one [`load::ConfigError`] that says
//! where the problem is.

pub mod check;
pub mod dataset;
pub mod display;
pub mod json_schema;
pub mod key;
pub mod load;
pub mod locate;
pub mod messages;
pub mod named;
pub mod overrides;
pub mod resolve;
pub mod schema;
pub mod select;
pub mod suggest;
pub mod sweep;

pub use key::{node_key, NodeKey};
pub use load::{load_pipeline, Cell, ConfigError, LoadedPipeline};
pub use schema::{Pipeline, ResolvedPipeline};
