//! Result tables written from finished nodes.

pub mod summary;
