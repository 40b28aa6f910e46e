//! Result tables written from finished nodes.

pub mod grid;
pub mod summary;
