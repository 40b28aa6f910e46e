//! `runner data list`: each dataset, where the readers expect it, and whether
//! it is there and verified.

use std::fs;
use std::path::Path;

use super::install::DOWNLOADS;
use super::sources::{Checksums, Dataset, Install};
use super::verify;

/// The state of one dataset under a root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    /// Installed by `runner data get`, every file verified.
    Verified,
    /// Files are there, but no get verified them (copied by hand, or a
    /// marker for other checksums).
    Unverified,
    /// A download stopped midway: this many bytes are kept.
    Partial(u64),
    /// Nothing there.
    Missing,
}

/// The state of `dataset` under `root`.
pub fn state(dataset: Dataset, root: &Path, sums: &Checksums) -> State {
    if verify::is_verified(dataset, root, sums) {
        return State::Verified;
    }
    let base = dataset.base(root);
    let present = dataset.resources().iter().any(|r| match r.install {
        Install::File => base.join(r.file).is_file(),
        Install::TarGz { dir, .. } | Install::Zip { dir, .. } => base.join(dir).is_dir(),
    });
    if present {
        return State::Unverified;
    }
    let partial: u64 = dataset
        .resources()
        .iter()
        .filter_map(|r| fs::metadata(root.join(DOWNLOADS).join(format!("{}.part", r.file))).ok())
        .map(|m| m.len())
        .sum();
    if partial > 0 {
        State::Partial(partial)
    } else {
        State::Missing
    }
}

/// The table `runner data list` prints.
pub fn table(root: &Path, sums: &Checksums) -> String {
    let mut rows = vec![[
        "dataset".to_string(),
        "size".to_string(),
        "folder".to_string(),
        "state".to_string(),
    ]];
    for d in Dataset::ALL {
        let name = d.name();
        let state = match state(d, root, sums) {
            State::Verified => "verified".to_string(),
            State::Unverified => {
                format!("present, not verified (`runner data get {name}` checks it)")
            }
            State::Partial(n) => {
                format!("partial download ({n} bytes; `runner data get {name}` resumes)")
            }
            State::Missing => format!("missing (`runner data get {name}`)"),
        };
        rows.push([
            name.to_string(),
            d.size().to_string(),
            d.folder(root).display().to_string(),
            state,
        ]);
    }
    let widths: Vec<usize> = (0..3)
        .map(|c| rows.iter().map(|r| r[c].len()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for r in &rows {
        out.push_str(&format!(
            "{:w0$}  {:w1$}  {:w2$}  {}\n",
            r[0],
            r[1],
            r[2],
            r[3],
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2]
        ));
    }
    out
}
