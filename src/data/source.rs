//! What every dataset provides: the [`DatasetSource`] trait, the one [`Split`]
//! enum, and the checks that several datasets' resolutions share.
//!
//! A dataset owns everything about itself in its own module: its options as
//! written, its resolved spec (which implements [`DatasetSource`]), its reader and
//! its version. The registry (`super::registry`) lists the datasets; nothing else
//! names one.

use serde::de::DeserializeOwned;

use super::{DataError, ImageSet};
use crate::pipeline::schema::{Arch, ConfigIssue};

/// Which half of a dataset to read or generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Split {
    /// The images used for training.
    Train,
    /// The held-out images used for evaluation.
    Test,
}

/// A dataset, implemented by its resolved spec: the `dataset:` options it takes,
/// how they resolve, what images they describe and how those are read.
///
/// The spec is what gets hashed into the dataset key, so it holds every option
/// that changes the images, with defaults filled in, and nothing else.
pub trait DatasetSource: Sized + Sync {
    /// The value of `dataset.name` that selects this dataset. Must equal the
    /// registry variant's serde name (a registry test checks it).
    const NAME: &'static str;

    /// The options as written under `dataset:` besides `name`, every one optional.
    /// Typed with `deny_unknown_fields` and `default`; its field names are the
    /// keys this dataset accepts.
    type Options: DeserializeOwned + schemars::JsonSchema;

    /// Fills in defaults and checks values and rules between keys. Issues name
    /// the dotted key, e.g. `dataset.size`.
    fn resolve(options: Self::Options) -> Result<Self, ConfigIssue>;

    /// Image side in pixels.
    fn size(&self) -> u32;

    /// Channels per image (1 grey, 3 RGB).
    fn channels(&self) -> u32;

    /// Number of test images asked for; `None` when every file is used. The files
    /// may hold fewer; then all of them are used.
    fn test_images(&self) -> Option<u32>;

    /// Checks the user's input files, so that a missing or damaged file is
    /// reported before anything is written. Generated data has nothing to check.
    fn check_inputs(&self) -> Result<(), DataError>;

    /// Reads (or generates) one split. Called for both splits at once, from two
    /// threads.
    fn load(&self, split: Split) -> Result<ImageSet, DataError>;

    /// The network `model.arch: auto` picks for these images, or why none fits
    /// (one sentence saying which options would fit one).
    fn default_arch(&self) -> Result<Arch, String>;

    /// The code components the dataset node runs, as (name, version): the
    /// reader itself (named [`Self::NAME`]) and shared steps such as `resize`.
    /// Each becomes `dataset.<name>` in the node's key.
    fn versions(&self) -> Vec<(&'static str, u32)>;
}

/// Checks an image count of `dataset.<key>` against 1..=max.
pub fn check_count(value: u32, key: &str, max: Option<u32>) -> Result<(), ConfigIssue> {
    let path = format!("dataset.{key}");
    if value < 1 {
        return Err(ConfigIssue::new(
            path.clone(),
            format!("{path} must be >= 1, got {value}"),
        ));
    }
    match max {
        Some(max) if value > max => Err(ConfigIssue::new(
            path.clone(),
            format!("{path} must be at most {max}, got {value}"),
        )),
        _ => Ok(()),
    }
}

/// The data folder: as written (not empty), else `default`; required when there
/// is no default (`dataset` names the dataset in that message).
pub fn resolve_root(
    written: Option<String>,
    default: Option<&str>,
    dataset: &str,
) -> Result<String, ConfigIssue> {
    match (written, default) {
        (Some(root), _) if root.trim().is_empty() => Err(ConfigIssue::new(
            "dataset.root",
            "dataset.root must not be empty",
        )),
        (Some(root), _) => Ok(root),
        (None, Some(default)) => Ok(default.to_string()),
        (None, None) => Err(ConfigIssue::new(
            "dataset.root",
            format!("dataset.root is required for dataset '{dataset}' (the folder holding train/ and test/)"),
        )),
    }
}

/// Checks an output image side (any side >= 1; the network check comes later).
pub fn check_size(size: u32) -> Result<(), ConfigIssue> {
    if size < 1 {
        return Err(ConfigIssue::new(
            "dataset.size",
            format!("dataset.size must be >= 1, got {size}"),
        ));
    }
    Ok(())
}

/// Checks `dataset.channels`: 1 (grey) or 3 (RGB).
pub fn check_channels(channels: u32) -> Result<(), ConfigIssue> {
    if channels != 1 && channels != 3 {
        return Err(ConfigIssue::new(
            "dataset.channels",
            format!("dataset.channels must be 1 (grey) or 3 (RGB), got {channels}"),
        ));
    }
    Ok(())
}
