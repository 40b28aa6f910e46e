//! Where every node's files live and the DONE marker that says a node directory
//! is complete. The results layout is defined here and nowhere else.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::atomic::write_atomic;
use crate::pipeline::key::NodeKey;

/// Folder of `results/<pipeline>/` that holds one folder per training run.
pub const RUNS_DIR: &str = "runs";
/// Folder of a run that holds one folder per eval of it.
pub const EVALS_DIR: &str = "eval";
/// The pipeline's results table, `results/<pipeline>/summary.csv` (an eval's
/// own summary has the same name, see `crate::eval::run::SUMMARY_FILE`).
pub const PIPELINE_SUMMARY_FILE: &str = "summary.csv";

/// `<pipeline_dir>/runs/`: the run folders of a pipeline's results folder.
pub fn runs_dir_of(pipeline_dir: &Path) -> PathBuf {
    pipeline_dir.join(RUNS_DIR)
}

/// `<run_dir>/eval/`: the eval folders of a run folder.
pub fn evals_dir_of(run_dir: &Path) -> PathBuf {
    run_dir.join(EVALS_DIR)
}

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
/// Why the last attempt at a node failed (written when it fails, removed when
/// it is attempted again), so that `runner show` can say.
pub const FAILED_FILE: &str = "failed.json";
/// Folder of `results/<pipeline>/` that holds the report node's DONE.
pub const REPORT_DIR: &str = ".report";
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
    /// Every file the node wrote (relative to its directory) with its size and
    /// hash, so that a result whose bytes are not the ones written is never used.
    /// Absent in markers of runner versions before it; those results' keys
    /// (an older key format) never match a planned node, so they are only listed.
    #[serde(default)]
    pub files: BTreeMap<String, FileRecord>,
}

/// The size and hash of one file a node wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileRecord {
    /// Length in bytes.
    pub size: u64,
    /// blake3 of the contents, lowercase hex.
    pub blake3: String,
}

/// How closely [`check_done`] looks at a node's files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Depth {
    /// Each recorded file exists with its recorded size (cheap: planning).
    Sizes,
    /// Each recorded file's bytes hash to the recorded blake3 (before a file is used).
    Hashes,
}

/// Why a directory does not hold a usable result for a key.
#[derive(Debug, Clone, PartialEq)]
pub enum NotDone {
    /// No DONE, a DONE that does not parse, or one for another key.
    Absent,
    /// DONE is there but files it records are missing or altered: one line each
    /// (`model.safetensors altered: 3000000 bytes, DONE recorded 8123456`).
    Altered(Vec<String>),
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
        runs_dir_of(&self.pipeline_dir(pipeline)).join(train.short())
    }

    /// `results/<pipeline>/runs/<T>/eval/<E>/`.
    pub fn eval_dir(&self, pipeline: &str, train: &NodeKey, eval: &NodeKey) -> PathBuf {
        evals_dir_of(&self.run_dir(pipeline, train)).join(eval.short())
    }

    /// `results/<pipeline>/logs/`: the batch jobs' log files.
    pub fn logs_dir(&self, pipeline: &str) -> PathBuf {
        self.pipeline_dir(pipeline).join(LOGS_DIR)
    }

    /// `results/<pipeline>/.report/`: the report node's marker directory.
    pub fn report_dir(&self, pipeline: &str) -> PathBuf {
        self.pipeline_dir(pipeline).join(REPORT_DIR)
    }
}

/// The DONE record of `dir`, if it exists and parses.
pub fn read_done(dir: &Path) -> Option<DoneRecord> {
    let text = std::fs::read_to_string(dir.join(DONE_FILE)).ok()?;
    serde_json::from_str(&text).ok()
}

/// Whether `dir` holds a complete result for `key` whose files have their
/// recorded sizes.
pub fn is_done(dir: &Path, key: &NodeKey) -> bool {
    check_done(dir, key, Depth::Sizes).is_ok()
}

/// The DONE record of `dir` if it is for `key` and the files it records pass
/// the check of `depth`.
pub fn check_done(dir: &Path, key: &NodeKey, depth: Depth) -> Result<DoneRecord, NotDone> {
    let done = read_done(dir)
        .filter(|d| &d.key == key)
        .ok_or(NotDone::Absent)?;
    let altered = altered_files(dir, &done, depth);
    if altered.is_empty() {
        Ok(done)
    } else {
        Err(NotDone::Altered(altered))
    }
}

/// The files of `done` (in `dir`) that are missing or differ from the record,
/// one line each; empty when all match.
pub fn altered_files(dir: &Path, done: &DoneRecord, depth: Depth) -> Vec<String> {
    let mut out = Vec::new();
    for (name, record) in &done.files {
        let path = dir.join(name);
        let size = match std::fs::metadata(&path) {
            Ok(meta) if meta.is_file() => meta.len(),
            Ok(_) => {
                out.push(format!("{name} is not a file"));
                continue;
            }
            Err(_) => {
                out.push(format!("{name} missing"));
                continue;
            }
        };
        if size != record.size {
            out.push(format!(
                "{name} altered: {size} bytes, DONE recorded {}",
                record.size
            ));
            continue;
        }
        if depth == Depth::Hashes {
            match hash_file(&path) {
                Ok(hash) if hash == record.blake3 => {}
                Ok(hash) => out.push(format!(
                    "{name} altered: blake3 {}…, DONE recorded {}…",
                    &hash[..12],
                    record.blake3.get(..12).unwrap_or(&record.blake3)
                )),
                Err(e) => out.push(format!("{name} unreadable: {e}")),
            }
        }
    }
    out
}

/// blake3 of the file at `path`, lowercase hex.
pub fn hash_file(path: &Path) -> std::io::Result<String> {
    let mut hasher = blake3::Hasher::new();
    hasher.update_reader(std::fs::File::open(path)?)?;
    Ok(hasher.finalize().to_hex().to_string())
}

/// Marks `dir` complete, recording the size and blake3 of each of `files`
/// (paths relative to `dir`). Call only after every file is in place.
pub fn write_done(
    dir: &Path,
    key: NodeKey,
    kind: &str,
    config: &serde_json::Value,
    files: &[String],
) -> std::io::Result<()> {
    let mut records = BTreeMap::new();
    for name in files {
        let path = dir.join(name);
        let size = std::fs::metadata(&path)
            .map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", path.display())))?
            .len();
        let blake3 = hash_file(&path)
            .map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
        records.insert(name.clone(), FileRecord { size, blake3 });
    }
    let record = DoneRecord {
        key,
        kind: kind.to_string(),
        config: config.clone(),
        runner_version: env!("CARGO_PKG_VERSION").to_string(),
        finished_unix: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0),
        files: records,
    };
    let text = serde_json::to_string_pretty(&record).map_err(std::io::Error::other)?;
    write_atomic(&dir.join(DONE_FILE), text.as_bytes())
}

/// Removes the temporary files an interrupted atomic write left in `dir`
/// (`.tmp*`, see [`crate::atomic`]). Call under the node's lock, before the node
/// is computed: no other writer can be using them then.
pub fn remove_temporaries(dir: &Path) -> std::io::Result<()> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    for entry in entries {
        let entry = entry?;
        let is_temp = entry
            .file_name()
            .to_str()
            .is_some_and(|n| n.starts_with(crate::atomic::TEMP_PREFIX));
        if is_temp && entry.file_type()?.is_file() {
            std::fs::remove_file(entry.path())?;
        }
    }
    Ok(())
}

/// Removes the DONE marker (and the record of an earlier failure) before a
/// node is (re)computed in `dir`, so that an interrupted re-run never looks
/// complete.
pub fn clear_done(dir: &Path) -> std::io::Result<()> {
    for name in [DONE_FILE, FAILED_FILE] {
        match std::fs::remove_file(dir.join(name)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
    }
    Ok(())
}

/// How the last attempt at a node failed (`failed.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FailureRecord {
    /// The error.
    pub message: String,
    /// Seconds since the Unix epoch when it failed.
    pub failed_unix: u64,
}

/// Records in `dir` that the node failed with `message` (best effort: the
/// disk may be why it failed).
pub fn write_failure(dir: &Path, message: &str) {
    let record = FailureRecord {
        message: message.to_string(),
        failed_unix: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0),
    };
    if let Ok(text) = serde_json::to_string_pretty(&record) {
        let _ = write_atomic(&dir.join(FAILED_FILE), text.as_bytes());
    }
}

/// The failure recorded in `dir`, if any.
pub fn read_failure(dir: &Path) -> Option<FailureRecord> {
    let text = std::fs::read_to_string(dir.join(FAILED_FILE)).ok()?;
    serde_json::from_str(&text).ok()
}
