//! Commands that look at results already on disk: `diff`, `ls`, `show`,
//! `verify` and `gc`. They read the store (and `gc` deletes from it); none runs
//! a node.

pub mod diff;
pub mod diff_format;
pub mod gc;
pub mod jobs;
pub mod listing;
pub mod lookup;
pub mod scan;
pub mod show;
pub mod source;
pub mod table;
pub mod text;
pub mod verify;
