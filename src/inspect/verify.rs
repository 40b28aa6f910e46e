//! `runner verify`: hashes every file that finished nodes recorded in their
//! DONE and lists the ones whose bytes are not the ones written.

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};

use super::lookup::{find_node, looks_like_key};
use super::scan::{is_pipeline_dir, scan_all, scan_pipeline, subdirs, PipelineDir};
use super::source::pipeline_results_dir;
use super::text::count;
use crate::dag::store::{altered_files, read_done, Depth, Store, REPORT_DIR};

/// One node folder that was checked.
#[derive(Debug, Clone)]
pub struct Checked {
    /// Its folder.
    pub dir: PathBuf,
    /// Its kind as DONE records it.
    pub kind: String,
    /// Files its DONE records.
    pub files: usize,
    /// One line per missing or altered file.
    pub problems: Vec<String>,
}

/// What `runner verify` found.
#[derive(Debug, Clone, Default)]
pub struct VerifyReport {
    /// Every node folder with a DONE.
    pub checked: Vec<Checked>,
    /// Node folders without a DONE (incomplete; nothing to verify).
    pub incomplete: usize,
}

impl VerifyReport {
    /// Whether any file is missing or altered.
    pub fn altered(&self) -> bool {
        self.checked.iter().any(|c| !c.problems.is_empty())
    }

    /// The listing: each altered node with its files, then one summary line.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for c in self.checked.iter().filter(|c| !c.problems.is_empty()) {
            out.push_str(&format!("ALTERED {} {}\n", c.kind, c.dir.display()));
            for p in &c.problems {
                out.push_str(&format!("          {p}\n"));
            }
        }
        let files: usize = self.checked.iter().map(|c| c.files).sum();
        let bad = self
            .checked
            .iter()
            .filter(|c| !c.problems.is_empty())
            .count();
        out.push_str(&format!(
            "verified {} ({}): {}",
            count(self.checked.len(), "node"),
            count(files, "file"),
            if bad == 0 {
                "all intact".to_string()
            } else {
                format!(
                    "{bad} altered; run their pipelines again to recompute them \
                     (a plan treats them as stale)"
                )
            }
        ));
        if self.incomplete > 0 {
            out.push_str(&format!(
                "; {} without DONE not checked",
                count(self.incomplete, "incomplete folder")
            ));
        }
        out.push('\n');
        out
    }
}

/// Verifies what `target` names: a pipeline YAML file or results folder (its
/// runs, evals, report and the datasets its cells use), a node key prefix, or,
/// with none, everything under the results folder and the dataset cache.
pub fn verify(store: &Store, target: Option<&str>) -> Result<VerifyReport> {
    let dirs = match target {
        None => {
            let mut dirs = dataset_dirs(store, None);
            for pipeline in scan_all(store) {
                dirs.extend(pipeline_node_dirs(&pipeline));
            }
            dirs
        }
        Some(arg) => target_dirs(store, arg)?,
    };
    let mut report = VerifyReport::default();
    for dir in dirs {
        match read_done(&dir) {
            Some(done) => report.checked.push(Checked {
                problems: altered_files(&dir, &done, Depth::Hashes),
                files: done.files.len(),
                kind: done.kind,
                dir,
            }),
            None => report.incomplete += 1,
        }
    }
    Ok(report)
}

/// The node folders `arg` names.
fn target_dirs(store: &Store, arg: &str) -> Result<Vec<PathBuf>> {
    let path = Path::new(arg);
    let pipeline_dir = if path.is_file() {
        Some(pipeline_results_dir(path, store)?)
    } else if path.is_dir() {
        if !is_pipeline_dir(path) {
            bail!(
                "{} is not a pipeline's results folder (no summary.csv, cells.json or runs/)",
                path.display()
            );
        }
        Some(path.to_path_buf())
    } else {
        None
    };
    if let Some(dir) = pipeline_dir {
        if !dir.is_dir() {
            bail!(
                "{} does not exist: the pipeline has no results yet",
                dir.display()
            );
        }
        let pipeline = scan_pipeline(&dir);
        let mut dirs = dataset_dirs(store, Some(&pipeline));
        dirs.extend(pipeline_node_dirs(&pipeline));
        return Ok(dirs);
    }
    if !looks_like_key(arg) {
        bail!("{arg}: no such file or folder, and not a node key");
    }
    let prefix = arg.to_ascii_lowercase();
    let datasets: Vec<PathBuf> = dataset_dirs(store, None)
        .into_iter()
        .filter(|d| {
            d.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(&prefix))
        })
        .collect();
    if datasets.len() == 1 {
        return Ok(datasets);
    }
    Ok(vec![find_node(store, &prefix)?.path])
}

/// Dataset cache folders: all of them, or those `pipeline`'s cells use.
fn dataset_dirs(store: &Store, pipeline: Option<&PipelineDir>) -> Vec<PathBuf> {
    let all = subdirs(&store.cache_dir.join("datasets"));
    match pipeline {
        None => all.into_iter().map(|(_, path)| path).collect(),
        Some(p) => {
            let mut used: Vec<PathBuf> = p
                .cells
                .values()
                .map(|c| store.dataset_dir(&c.dataset))
                .filter(|d| d.is_dir())
                .collect();
            used.sort();
            used.dedup();
            used
        }
    }
}

/// A pipeline's run and eval folders and its report marker folder.
fn pipeline_node_dirs(pipeline: &PipelineDir) -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    for run in &pipeline.runs {
        dirs.push(run.path.clone());
        dirs.extend(run.evals.iter().map(|e| e.path.clone()));
    }
    let report = pipeline.path.join(REPORT_DIR);
    if report.is_dir() {
        dirs.push(report);
    }
    dirs
}
