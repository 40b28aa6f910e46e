//! What a `runner diff` argument names, turned into the CSV file to read: a
//! CSV file itself; a folder holding `summary.csv` (a pipeline's results or an
//! eval); a run folder with one eval; a pipeline YAML file (its
//! `results/<name>/summary.csv`); or a node key prefix.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Result};

use super::lookup::{find_node, looks_like_key};
use super::scan::subdirs;
use crate::dag::store::{evals_dir_of, Store};
use crate::eval::run::SUMMARY_FILE;
use crate::pipeline::load::load_pipeline;

/// The summary.csv of the single eval under run folder `run`.
fn single_eval_summary(run: &Path) -> Result<PathBuf> {
    let evals: Vec<PathBuf> = subdirs(&evals_dir_of(run))
        .into_iter()
        .map(|(_, p)| p.join(SUMMARY_FILE))
        .filter(|p| p.is_file())
        .collect();
    match evals.as_slice() {
        [one] => Ok(one.clone()),
        [] => bail!(
            "{} holds no summary.csv and no finished eval",
            run.display()
        ),
        many => {
            let list: Vec<String> = many.iter().map(|p| format!("  {}", p.display())).collect();
            bail!(
                "{} has {} evals; name one of:\n{}",
                run.display(),
                many.len(),
                list.join("\n")
            )
        }
    }
}

/// Whether `path` names a pipeline YAML file.
fn is_yaml(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("yaml") || e.eq_ignore_ascii_case("yml"))
}

/// `results/<name>/` of the pipeline in YAML file `path`.
pub fn pipeline_results_dir(path: &Path, store: &Store) -> Result<PathBuf> {
    let loaded = load_pipeline(path, &[]).map_err(|e| anyhow!("{e}"))?;
    Ok(store.pipeline_dir(&loaded.name))
}

/// The CSV file that `arg` names.
pub fn resolve_table(arg: &str, store: &Store) -> Result<PathBuf> {
    let path = Path::new(arg);
    if path.is_file() {
        if !is_yaml(path) {
            return Ok(path.to_path_buf());
        }
        let summary = pipeline_results_dir(path, store)?.join(SUMMARY_FILE);
        if !summary.is_file() {
            bail!(
                "{} has no results yet: {} does not exist (run the pipeline first)",
                path.display(),
                summary.display()
            );
        }
        return Ok(summary);
    }
    if path.is_dir() {
        let summary = path.join(SUMMARY_FILE);
        if summary.is_file() {
            return Ok(summary);
        }
        return single_eval_summary(path);
    }
    if looks_like_key(arg) {
        let node = find_node(store, arg)?;
        let summary = node.path.join(SUMMARY_FILE);
        return if node.kind == "eval" {
            if summary.is_file() {
                Ok(summary)
            } else {
                bail!("eval {} has no {SUMMARY_FILE} yet", node.path.display())
            }
        } else {
            single_eval_summary(&node.path)
        };
    }
    bail!("{arg}: no such file or directory")
}
