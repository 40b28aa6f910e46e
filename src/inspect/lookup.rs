//! Finds a train or eval node directory by a full key or a unique prefix of
//! one, searching every pipeline under the results folder.

use std::path::PathBuf;

use anyhow::{bail, Result};

use super::scan::scan_all;
use crate::dag::store::{DoneRecord, Store};

/// A train or eval node directory found on disk.
#[derive(Debug, Clone)]
pub struct FoundNode {
    /// The pipeline it belongs to.
    pub pipeline: String,
    /// "train" or "eval".
    pub kind: &'static str,
    /// Folder name (short key).
    pub short: String,
    /// Its directory.
    pub path: PathBuf,
    /// For an eval, its run directory.
    pub run_dir: Option<PathBuf>,
    /// Its DONE record, when complete.
    pub done: Option<DoneRecord>,
}

impl FoundNode {
    /// The full key when known (from DONE), else the short one.
    pub fn key_text(&self) -> String {
        self.done
            .as_ref()
            .map_or(self.short.clone(), |d| d.key.to_string())
    }

    /// One line naming it, for candidate lists.
    pub fn describe(&self) -> String {
        format!(
            "{} {} in {} ({})",
            self.kind,
            self.short,
            self.pipeline,
            self.path.display()
        )
    }
}

/// Every train and eval node directory under the results folder.
pub fn all_nodes(store: &Store) -> Vec<FoundNode> {
    let mut out = Vec::new();
    for pipeline in scan_all(store) {
        for run in pipeline.runs {
            for eval in run.evals {
                out.push(FoundNode {
                    pipeline: pipeline.name.clone(),
                    kind: "eval",
                    short: eval.short,
                    path: eval.path,
                    run_dir: Some(run.path.clone()),
                    done: eval.done,
                });
            }
            out.push(FoundNode {
                pipeline: pipeline.name.clone(),
                kind: "train",
                short: run.short,
                path: run.path,
                run_dir: None,
                done: run.done,
            });
        }
    }
    out
}

/// Whether `text` could be (a prefix of) a node key.
pub fn looks_like_key(text: &str) -> bool {
    (4..=64).contains(&text.len()) && text.chars().all(|c| c.is_ascii_hexdigit())
}

/// The one node whose key starts with `prefix`; none or several is an error
/// listing the candidates.
pub fn find_node(store: &Store, prefix: &str) -> Result<FoundNode> {
    let prefix = prefix.to_ascii_lowercase();
    if prefix.is_empty() || !prefix.chars().all(|c| c.is_ascii_hexdigit()) {
        bail!("`{prefix}` is not a node key: keys are hex digits (see `runner ls`)");
    }
    let matches: Vec<FoundNode> = all_nodes(store)
        .into_iter()
        .filter(|n| n.key_text().starts_with(&prefix) || n.short.starts_with(&prefix))
        .collect();
    match matches.len() {
        1 => Ok(matches.into_iter().next().expect("one match")),
        0 => bail!(
            "no train or eval node under {} has a key starting with {prefix} (see `runner ls`)",
            store.results_dir.display()
        ),
        n => {
            let list: Vec<String> = matches
                .iter()
                .map(|m| format!("  {}", m.describe()))
                .collect();
            bail!(
                "key prefix {prefix} is ambiguous: {n} nodes match; give more digits:\n{}",
                list.join("\n")
            )
        }
    }
}
