//! What is on disk under the results folder: pipelines, their cell records, and
//! the train and eval node directories found there. Shared by `ls`, `show`,
//! `diff` and `gc`; reads only, never writes.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::jobs::activity;
use crate::dag::plan::{CellRecord, CELLS_FILE};
use crate::dag::store::{
    evals_dir_of, read_done, runs_dir_of, DoneRecord, Store, PIPELINE_SUMMARY_FILE, RUNS_DIR,
};
use crate::train::checkpoint::CHECKPOINT_FILE;

/// An eval directory `runs/<T>/eval/<E>/`.
#[derive(Debug, Clone)]
pub struct EvalDir {
    /// Folder name: the eval key's short form.
    pub short: String,
    /// Its path.
    pub path: PathBuf,
    /// Its DONE record, when complete.
    pub done: Option<DoneRecord>,
}

/// A train run directory `runs/<T>/` and its evals.
#[derive(Debug, Clone)]
pub struct RunDir {
    /// Folder name: the train key's short form.
    pub short: String,
    /// Its path.
    pub path: PathBuf,
    /// Its DONE record, when complete.
    pub done: Option<DoneRecord>,
    /// Its eval directories, by name.
    pub evals: Vec<EvalDir>,
}

/// One pipeline's results folder.
#[derive(Debug, Clone)]
pub struct PipelineDir {
    /// Pipeline name (the folder name).
    pub name: String,
    /// `results/<name>/`.
    pub path: PathBuf,
    /// `cells.json`: each cell label's last complete keys.
    pub cells: BTreeMap<String, CellRecord>,
    /// Run directories, by name.
    pub runs: Vec<RunDir>,
}

/// Sub-directories of `dir` sorted by name (empty when unreadable); names
/// starting with `.` (temporary and marker folders) are left out.
pub fn subdirs(dir: &Path) -> Vec<(String, PathBuf)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<(String, PathBuf)> = entries
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .filter_map(|e| {
            let name = e.file_name().to_str()?.to_string();
            (!name.starts_with('.')).then(|| (name, e.path()))
        })
        .collect();
    out.sort();
    out
}

/// Whether the training in run folder `dir` was interrupted and a re-run
/// would continue it: a checkpoint and no DONE.
pub fn is_resumable(dir: &Path) -> bool {
    read_done(dir).is_none() && dir.join(CHECKPOINT_FILE).is_file()
}

/// Whether `dir` looks like a pipeline's results folder.
pub fn is_pipeline_dir(dir: &Path) -> bool {
    [PIPELINE_SUMMARY_FILE, CELLS_FILE, RUNS_DIR]
        .iter()
        .any(|f| dir.join(f).exists())
}

/// The run directories under `pipeline_dir/runs/`.
pub fn scan_runs(pipeline_dir: &Path) -> Vec<RunDir> {
    subdirs(&runs_dir_of(pipeline_dir))
        .into_iter()
        .map(|(short, path)| RunDir {
            done: read_done(&path),
            evals: subdirs(&evals_dir_of(&path))
                .into_iter()
                .map(|(short, path)| EvalDir {
                    done: read_done(&path),
                    short,
                    path,
                })
                .collect(),
            short,
            path,
        })
        .collect()
}

/// `path/cells.json` (empty when absent or unreadable).
fn read_cells(path: &Path) -> BTreeMap<String, CellRecord> {
    std::fs::read_to_string(path.join(CELLS_FILE))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default()
}

/// The pipeline folder at `path` (named by its last component).
pub fn scan_pipeline(path: &Path) -> PipelineDir {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    PipelineDir {
        name,
        path: path.to_path_buf(),
        cells: read_cells(path),
        runs: scan_runs(path),
    }
}

/// Every pipeline folder under the results folder.
pub fn scan_all(store: &Store) -> Vec<PipelineDir> {
    subdirs(&store.results_dir)
        .into_iter()
        .filter(|(_, path)| is_pipeline_dir(path))
        .map(|(_, path)| scan_pipeline(&path))
        .collect()
}

impl RunDir {
    /// Whether this run or one of its evals is being computed (its lock is
    /// held) or has a batch job queued.
    pub fn is_busy(&self) -> bool {
        activity(&self.path).is_some() || self.evals.iter().any(|e| activity(&e.path).is_some())
    }
}

impl PipelineDir {
    /// Whether any node of this pipeline is being computed or queued.
    pub fn is_busy(&self) -> bool {
        self.runs.iter().any(RunDir::is_busy)
    }
}
