//! `runner data get|list`: the raw datasets, downloaded from their official
//! sources, verified against their published checksums and installed where
//! the readers in [`crate::data`] look for them, crash-safely.
//!
//! One job per module: [`sources`] (the table of files, checksums and
//! sources), [`download`] (HTTP with resume) and [`drive`] (Google Drive's
//! confirmation pages), [`verify`] (MD5 and the marker), [`unpack`] (archives
//! into a temporary sibling, renamed into place), [`install`] (one get, in
//! order), [`status`] (`runner data list`), [`hint`] (the command the readers' messages name), [`report`] (progress output) and
//! [`error`] (messages and exit codes).
//!
//! What a get may leave when it stops at any moment (Ctrl-C, SIGTERM, kill -9,
//! a full disk, a failed source): a `<root>/downloads/<file>.part` that the
//! next get resumes with HTTP Range, a verified archive there that it unpacks
//! without downloading, a `*.corrupt` file kept aside, or a hidden temporary
//! folder it removes. A reader's folder is only ever made by a rename of
//! complete, verified content.

pub mod download;
pub mod drive;
pub mod error;
pub mod hint;
pub mod install;
pub mod report;
pub mod sources;
pub mod status;
pub mod unpack;
pub mod verify;

pub use error::FetchError;
pub use install::{get, GetOptions};
pub use sources::Dataset;
