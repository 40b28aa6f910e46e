//! Where every node's files live and the DONE marker that says a node directory
//! is complete. The results layout is defined here and nowhere else.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::atomic::write_atomic;
use crate::pipeline::key::NodeKey;

/// Name of the completion marker, written last in every node directory.
pub const DONE_FILE: &str = "DONE";
/// The node as a job (kind, key, resolved config, parents), written before it
/// is handed to an executor that runs it in another process (`runner node`).
pub const NODE_SPEC_FILE: &str = "node.json";
/// The batch jobs submitted for a node (job ids, times, log paths, states).
pub const JOB_FILE: &str = "job.json";
/// How the last `runner node` process for a node ended (exit code, message).
pub const JOB_EXIT_FILE: &str = "job_exit.json";
/// Folder of `results/<pipeline>/` that holds the batch jobs' logs.
pub const LOGS_DIR: &str = "logs";
/// The detached Slurm driver of a pipeline (`results/<pipeline>/driver.json`).
pub const DRIVER_FILE: &str = "driver.json";

/// The two roots: the dataset cache and the results tree.
#[derive(Debug, Clone)]
pub struct Store {
    /// `.runner/cache` by default.
    pub cache_dir: PathBuf,
    /// `results` by default.
    pub results_dir: PathBuf,
}

/// What the DONE marker records.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DoneRecord {
    /// The node's full key.
    pub key: NodeKey,
    /// Node kind (dataset, train, eval, report).
    pub kind: String,
    /// Everything the node depends on (its own config subset and its ancestors'),
    /// used to explain why a later node differs.
    pub config: serde_json::Value,
    /// runner version that wrote it.
    pub runner_version: String,
    /// Seconds since the Unix epoch when it finished.
    pub finished_unix: u64,
}

impl Store {
    /// A store rooted at the given folders.
    pub fn new(cache_dir: impl Into<PathBuf>, results_dir: impl Into<PathBuf>) -> Self {
        Store {
            cache_dir: cache_dir.into(),
            results_dir: results_dir.into(),
        }
    }

    /// `.runner/cache/datasets/<D>/`.
    pub fn dataset_dir(&self, key: &NodeKey) -> PathBuf {
        self.cache_dir.join("datasets").join(key.short())
    }

    /// `results/<pipeline>/`.
    pub fn pipeline_dir(&self, pipeline: &str) -> PathBuf {
        self.results_dir.join(pipeline)
    }

    /// `results/<pipeline>/runs/<T>/`.
    pub fn run_dir(&self, pipeline: &str, train: &NodeKey) -> PathBuf {
        self.pipeline_dir(pipeline).join("runs").join(train.short())
    }

    /// `results/<pipeline>/runs/<T>/eval/<E>/`.
    pub fn eval_dir(&self, pipeline: &str, train: &NodeKey, eval: &NodeKey) -> PathBuf {
        self.run_dir(pipeline, train)
            .join("eval")
            .join(eval.short())
    }

    /// `results/<pipeline>/logs/`: the batch jobs' log files.
    pub fn logs_dir(&self, pipeline: &str) -> PathBuf {
        self.pipeline_dir(pipeline).join(LOGS_DIR)
    }

    /// `results/<pipeline>/.report/`: the report node's marker directory.
    pub fn report_dir(&self, pipeline: &str) -> PathBuf {
        self.pipeline_dir(pipeline).join(".report")
    }
}

/// The DONE record of `dir`, if it exists and parses.
pub fn read_done(dir: &Path) -> Option<DoneRecord> {
    let text = std::fs::read_to_string(dir.join(DONE_FILE)).ok()?;
    serde_json::from_str(&text).ok()
}

/// Whether `dir` holds a complete result for `key`.
pub fn is_done(dir: &Path, key: &NodeKey) -> bool {
    read_done(dir).is_some_and(|done| &done.key == key)
}

/// Marks `dir` complete. Call only after every other file is in place.
pub fn write_done(
    dir: &Path,
    key: NodeKey,
    kind: &str,
    config: &serde_json::Value,
) -> std::io::Result<()> {
    let record = DoneRecord {
        key,
        kind: kind.to_string(),
        config: config.clone(),
        runner_version: env!("CARGO_PKG_VERSION").to_string(),
        finished_unix: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0),
    };
    let text = serde_json::to_string_pretty(&record).map_err(std::io::Error::other)?;
    write_atomic(&dir.join(DONE_FILE), text.as_bytes())
}

/// Removes the DONE marker before a node is (re)computed in `dir`, so that an
/// interrupted re-run never looks complete.
pub fn clear_done(dir: &Path) -> std::io::Result<()> {
    match std::fs::remove_file(dir.join(DONE_FILE)) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}
