//! `runner show KEY`: everything about one train or eval node — its resolved
//! config, provenance, batch jobs (ids, states, logs), eval metrics, and the
//! files in its folder with sizes.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Result;

use super::jobs::{activity, history};
use super::lookup::{find_node, FoundNode};
use super::scan::{is_resumable, subdirs};
use super::text::{aligned, bytes, short_number};
use crate::dag::provenance::{rfc3339_utc, PROVENANCE_FILE};
use crate::dag::store::{evals_dir_of, read_failure, Store};
use crate::eval::run::{read_summary, SUMMARY_FILE};

/// Every file under `dir` (recursively) with its size, paths relative to `dir`.
pub fn files_with_sizes(dir: &Path) -> Vec<(PathBuf, u64)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.filter_map(|e| e.ok()) {
            let Ok(meta) = entry.path().symlink_metadata() else {
                continue;
            };
            if meta.is_dir() {
                stack.push(entry.path());
            } else {
                let rel = entry.path().strip_prefix(dir).map(Path::to_path_buf);
                out.push((rel.unwrap_or_else(|_| entry.path()), meta.len()));
            }
        }
    }
    out.sort();
    out
}

/// The metrics section: the eval's summary, or each eval's of a train run.
fn metrics_text(node: &FoundNode) -> String {
    let evals: Vec<PathBuf> = if node.kind == "eval" {
        vec![node.path.clone()]
    } else {
        subdirs(&evals_dir_of(&node.path))
            .into_iter()
            .map(|(_, p)| p)
            .collect()
    };
    let mut out = String::new();
    for eval in evals {
        if !eval.join(SUMMARY_FILE).is_file() {
            continue;
        }
        if node.kind == "train" {
            let name = eval.file_name().map(|n| n.to_string_lossy().into_owned());
            let _ = writeln!(out, "  eval {}:", name.unwrap_or_default());
        }
        match read_summary(&eval) {
            Ok(rows) => {
                let mut lines = vec![vec![
                    "metric".to_string(),
                    "mean".to_string(),
                    "std".to_string(),
                ]];
                for (metric, mean, std) in rows {
                    lines.push(vec![metric, short_number(mean), short_number(std)]);
                }
                out.push_str(&aligned(&lines, "  "));
            }
            Err(e) => {
                let _ = writeln!(out, "  (unreadable: {e:#})");
            }
        }
    }
    if out.is_empty() {
        out.push_str("  (no eval summary)\n");
    }
    out
}

/// A file's text, indented, or a placeholder when it is missing.
fn file_section(path: &Path) -> String {
    match std::fs::read_to_string(path) {
        Ok(text) => text.lines().map(|l| format!("  {l}\n")).collect::<String>(),
        Err(_) => format!("  (no {})\n", path.display()),
    }
}

/// The full description of node `node`.
pub fn describe_node(node: &FoundNode) -> String {
    let mut out = String::new();
    let failure = read_failure(&node.path);
    let state = match activity(&node.path) {
        Some(busy) => busy.label(),
        None if node.done.is_some() => "done".to_string(),
        None if failure.is_some() => "failed".to_string(),
        None if is_resumable(&node.path) => {
            "resumable: a re-run continues from its checkpoint".to_string()
        }
        None => "incomplete (no DONE)".to_string(),
    };
    let _ = writeln!(out, "{} {} ({})", node.kind, node.key_text(), state);
    if let Some(failure) = failure {
        let _ = writeln!(
            out,
            "failed:   {} ({})",
            failure.message,
            rfc3339_utc(failure.failed_unix)
        );
    }
    let _ = writeln!(out, "pipeline: {}", node.pipeline);
    let _ = writeln!(out, "folder:   {}", node.path.display());
    // The resolved config lives in the run folder, also for an eval.
    let config = node
        .run_dir
        .as_ref()
        .unwrap_or(&node.path)
        .join("config.yaml");
    let _ = writeln!(out, "\nconfig ({}):", config.display());
    out.push_str(&file_section(&config));
    let _ = writeln!(out, "\nprovenance:");
    out.push_str(&file_section(&node.path.join(PROVENANCE_FILE)));
    out.push_str(&history(&node.path));
    let _ = writeln!(out, "\nmetrics:");
    out.push_str(&metrics_text(node));
    let _ = writeln!(out, "\nfiles:");
    let files: Vec<Vec<String>> = files_with_sizes(&node.path)
        .into_iter()
        .map(|(p, n)| vec![bytes(n), p.display().to_string()])
        .collect();
    out.push_str(&aligned(&files, "  "));
    out
}

/// `runner show KEY`.
pub fn show(store: &Store, key: &str) -> Result<String> {
    Ok(describe_node(&find_node(store, key)?))
}
