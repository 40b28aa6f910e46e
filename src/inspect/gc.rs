//! `runner gc`: finds what can go — run and eval folders that no pipeline's
//! `cells.json` references (results of old configs), incomplete node folders
//! (no DONE), stale temporary files of atomic writes, stale lock files, and
//! cached datasets that no `cells.json` references — and deletes it only when
//! asked. A node whose lock is held, or for which a batch job is queued, is
//! never touched, and while any node of a
//! pipeline is locked (the pipeline is running) its unreferenced folders and
//! all unreferenced datasets are kept: they may be results not yet recorded.

use std::collections::HashSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use super::jobs::{activity, Activity};
use super::scan::{is_resumable, scan_all, subdirs, PipelineDir};
use super::show::files_with_sizes;
use super::text::{aligned, bytes};
use crate::atomic::TEMP_PREFIX;
use crate::dag::lock::NodeLock;
use crate::dag::store::{evals_dir_of, Store};

/// Temporary files younger than this may still be being written.
pub const TEMP_MIN_AGE: Duration = Duration::from_secs(10 * 60);
/// Name suffix of node lock files.
const LOCK_SUFFIX: &str = ".lock";

/// Why something can be deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// A complete run or eval folder no `cells.json` references.
    Orphan,
    /// A node folder without DONE.
    Incomplete,
    /// A leftover temporary file of an atomic write.
    TempFile,
    /// A lock file whose node folder is gone.
    StaleLock,
    /// A cached dataset no `cells.json` references.
    UnusedDataset,
}

impl Reason {
    /// Short name for the listing.
    pub fn name(&self) -> &'static str {
        match self {
            Reason::Orphan => "orphan",
            Reason::Incomplete => "incomplete",
            Reason::TempFile => "temp file",
            Reason::StaleLock => "stale lock",
            Reason::UnusedDataset => "unused dataset",
        }
    }
}

/// One thing gc would delete.
#[derive(Debug, Clone, PartialEq)]
pub struct GcItem {
    /// File or folder.
    pub path: PathBuf,
    /// Why.
    pub reason: Reason,
    /// Bytes it frees.
    pub bytes: u64,
}

/// What gc would delete, and what it leaves alone and why.
#[derive(Debug, Clone, Default)]
pub struct GcPlan {
    /// To delete.
    pub items: Vec<GcItem>,
    /// Kept although unreferenced or incomplete: (path, why).
    pub skipped: Vec<(PathBuf, String)>,
}

/// Total size of the files under `path` (or of the file itself).
fn size_of(path: &Path) -> u64 {
    match path.symlink_metadata() {
        Ok(meta) if meta.is_dir() => files_with_sizes(path).iter().map(|(_, n)| n).sum(),
        Ok(meta) => meta.len(),
        Err(_) => 0,
    }
}

impl GcPlan {
    /// Adds a folder or file to delete.
    fn delete(&mut self, path: &Path, reason: Reason) {
        self.items.push(GcItem {
            path: path.to_path_buf(),
            reason,
            bytes: size_of(path),
        });
    }

    /// Records something kept.
    fn keep(&mut self, path: &Path, why: &str) {
        self.skipped.push((path.to_path_buf(), why.to_string()));
    }

    /// Whether `path` is inside (or is) something already to delete.
    fn covers(&self, path: &Path) -> bool {
        self.items.iter().any(|i| path.starts_with(&i.path))
    }

    /// Bytes freed by deleting every item.
    pub fn total_bytes(&self) -> u64 {
        self.items.iter().map(|i| i.bytes).sum()
    }
}

const LOCKED: &str = "locked: a runner is computing it";
const QUEUED: &str = "a batch job is queued for it";
const RUNNING: &str = "unreferenced, but its pipeline is running (may not be recorded yet)";

/// Keeps `dir` (recording why) when a process or a batch job is on it or on
/// one of the node folders `inside` it; returns whether it did.
fn keep_busy(plan: &mut GcPlan, dir: &Path, inside: &[&Path]) -> bool {
    let found = std::iter::once(dir)
        .chain(inside.iter().copied())
        .find_map(activity);
    match found {
        Some(Activity::Running(_)) => plan.keep(dir, LOCKED),
        Some(Activity::Queued(_)) => plan.keep(dir, QUEUED),
        None => return false,
    }
    true
}

const RESUMABLE: &str =
    "resumable: a re-run continues from its checkpoint (--include-resumable deletes it)";

/// The run and eval folders of one pipeline that can go; an interrupted
/// training that a re-run would continue only with `include_resumable`.
fn plan_pipeline(plan: &mut GcPlan, pipeline: &PipelineDir, include_resumable: bool) {
    let trains: HashSet<String> = pipeline.cells.values().map(|r| r.train.short()).collect();
    let evals: HashSet<(String, String)> = pipeline
        .cells
        .values()
        .map(|r| (r.train.short(), r.eval.short()))
        .collect();
    let running = pipeline.is_busy();
    for run in &pipeline.runs {
        let referenced = trains.contains(&run.short);
        if !referenced || run.done.is_none() {
            let inside: Vec<&Path> = run.evals.iter().map(|e| e.path.as_path()).collect();
            if keep_busy(plan, &run.path, &inside) {
                continue;
            }
            if run.done.is_none() && is_resumable(&run.path) && !include_resumable {
                plan.keep(&run.path, RESUMABLE);
            } else if run.done.is_none() {
                plan.delete(&run.path, Reason::Incomplete);
            } else if running {
                plan.keep(&run.path, RUNNING);
            } else {
                plan.delete(&run.path, Reason::Orphan);
            }
            continue;
        }
        for eval in &run.evals {
            let referenced = evals.contains(&(run.short.clone(), eval.short.clone()));
            if referenced && eval.done.is_some() || keep_busy(plan, &eval.path, &[]) {
                continue;
            }
            if eval.done.is_none() {
                plan.delete(&eval.path, Reason::Incomplete);
            } else if running {
                plan.keep(&eval.path, RUNNING);
            } else {
                plan.delete(&eval.path, Reason::Orphan);
            }
        }
    }
}

/// Whether file `path` was modified less than [`TEMP_MIN_AGE`] ago.
fn is_recent(path: &Path) -> bool {
    path.metadata()
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| SystemTime::now().duration_since(t).ok())
        .is_none_or(|age| age < TEMP_MIN_AGE)
}

/// The node folder a lock file belongs to (`<dir>.lock` -> `<dir>`).
fn locked_dir(lock_file: &Path) -> Option<PathBuf> {
    let name = lock_file.file_name()?.to_str()?;
    Some(lock_file.with_file_name(name.strip_suffix(LOCK_SUFFIX)?))
}

/// Temporary files and stale lock files anywhere under `root`.
fn plan_leftovers(plan: &mut GcPlan, root: &Path) {
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok()).map(|e| e.path()).collect();
        paths.sort();
        for path in paths {
            if plan.covers(&path) {
                continue;
            }
            let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
                continue;
            };
            let Ok(meta) = path.symlink_metadata() else {
                continue;
            };
            if meta.is_dir() {
                stack.push(path);
            } else if name.starts_with(TEMP_PREFIX) {
                if is_recent(&path) {
                    plan.keep(&path, "temporary file younger than 10 minutes");
                } else {
                    plan.delete(&path, Reason::TempFile);
                }
            } else if let Some(node_dir) = locked_dir(&path) {
                if !node_dir.exists() && !NodeLock::is_held(&node_dir) {
                    plan.delete(&path, Reason::StaleLock);
                }
            }
        }
    }
}

/// Everything gc would delete under the store's results and dataset cache
/// (interrupted trainings that could resume only with `include_resumable`).
pub fn plan_gc(store: &Store, include_resumable: bool) -> GcPlan {
    let mut plan = GcPlan::default();
    let pipelines = scan_all(store);
    let datasets = subdirs(&store.cache_dir.join("datasets"));
    let any_running = pipelines.iter().any(PipelineDir::is_busy)
        || datasets.iter().any(|(_, p)| activity(p).is_some());
    for pipeline in &pipelines {
        plan_pipeline(&mut plan, pipeline, include_resumable);
    }
    let used: HashSet<String> = pipelines
        .iter()
        .flat_map(|p| p.cells.values().map(|r| r.dataset.short()))
        .collect();
    for (short, path) in &datasets {
        if used.contains(short) {
            continue;
        }
        if keep_busy(&mut plan, path, &[]) {
            continue;
        }
        if any_running {
            plan.keep(path, "unreferenced, but a pipeline is running");
        } else {
            plan.delete(path, Reason::UnusedDataset);
        }
    }
    plan_leftovers(&mut plan, &store.results_dir);
    plan_leftovers(&mut plan, &store.cache_dir);
    plan
}

/// Deletes node folder `dir` while holding its lock and those of the eval
/// folders inside it; `Ok(false)` when one is held by another process.
fn delete_node_dir(dir: &Path) -> anyhow::Result<bool> {
    let mut locks = Vec::new();
    let mut dirs = vec![dir.to_path_buf()];
    dirs.extend(subdirs(&evals_dir_of(dir)).into_iter().map(|(_, p)| p));
    for d in &dirs {
        match NodeLock::try_acquire(d)? {
            Some(lock) => locks.push(lock),
            None => return Ok(false),
        }
    }
    std::fs::remove_dir_all(dir)?;
    // The lock file is a sibling; remove it while still holding it.
    let _ = std::fs::remove_file(NodeLock::path_for(dir));
    drop(locks);
    Ok(true)
}

/// Deletes one item; `Ok(false)` when it became locked meanwhile.
fn delete_item(item: &GcItem) -> anyhow::Result<bool> {
    match item.reason {
        Reason::Orphan | Reason::Incomplete | Reason::UnusedDataset => delete_node_dir(&item.path),
        Reason::StaleLock => {
            let Some(dir) = locked_dir(&item.path) else {
                return Ok(false);
            };
            match NodeLock::try_acquire(&dir)? {
                Some(lock) => {
                    std::fs::remove_file(&item.path)?;
                    drop(lock);
                    Ok(true)
                }
                None => Ok(false),
            }
        }
        Reason::TempFile => {
            std::fs::remove_file(&item.path)?;
            Ok(true)
        }
    }
}

/// What deleting did.
#[derive(Debug, Default)]
pub struct GcOutcome {
    /// Items deleted.
    pub deleted: usize,
    /// Bytes freed.
    pub freed: u64,
    /// Items that could not be deleted: (path, why).
    pub failed: Vec<(PathBuf, String)>,
}

/// Deletes every item of `plan`.
pub fn apply(plan: &GcPlan) -> GcOutcome {
    let mut outcome = GcOutcome::default();
    for item in &plan.items {
        match delete_item(item) {
            Ok(true) => {
                outcome.deleted += 1;
                outcome.freed += item.bytes;
            }
            Ok(false) => outcome
                .failed
                .push((item.path.clone(), "locked by a runner; kept".to_string())),
            Err(e) => outcome.failed.push((item.path.clone(), format!("{e:#}"))),
        }
    }
    outcome
}

/// The listing of a plan (what would be deleted and what is kept).
pub fn render_plan(plan: &GcPlan, dry_run: bool) -> String {
    let mut out = String::new();
    if plan.items.is_empty() {
        out.push_str("nothing to delete\n");
    } else {
        let verb = if dry_run { "would delete" } else { "deleting" };
        let _ = writeln!(out, "{verb}:");
        let rows: Vec<Vec<String>> = plan
            .items
            .iter()
            .map(|i| {
                vec![
                    i.reason.name().to_string(),
                    bytes(i.bytes),
                    i.path.display().to_string(),
                ]
            })
            .collect();
        out.push_str(&aligned(&rows, "  "));
    }
    if !plan.skipped.is_empty() {
        let _ = writeln!(out, "kept:");
        for (path, why) in &plan.skipped {
            let _ = writeln!(out, "  {} ({why})", path.display());
        }
    }
    if dry_run {
        let _ = writeln!(
            out,
            "{} item(s), {} would be freed (dry run: nothing deleted; `runner gc --yes` deletes)",
            plan.items.len(),
            bytes(plan.total_bytes())
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_files_map_to_their_node_folder() {
        assert_eq!(
            locked_dir(Path::new("results/p/runs/abc.lock")),
            Some(PathBuf::from("results/p/runs/abc"))
        );
        assert_eq!(locked_dir(Path::new("results/p/summary.csv")), None);
    }

    #[test]
    fn old_temp_files_and_stale_locks_go_young_ones_stay() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("p/runs/live")).unwrap();
        std::fs::write(root.join("p/runs/live.lock"), b"").unwrap();
        std::fs::write(root.join("p/runs/gone.lock"), b"").unwrap();
        std::fs::write(root.join("p/.tmpYOUNG"), b"young").unwrap();
        let old = root.join("p/runs/live/.tmpOLD123");
        std::fs::write(&old, b"12345678").unwrap();
        let an_hour_ago = SystemTime::now() - Duration::from_secs(3600);
        std::fs::File::options()
            .write(true)
            .open(&old)
            .unwrap()
            .set_modified(an_hour_ago)
            .unwrap();
        let mut plan = GcPlan::default();
        plan_leftovers(&mut plan, root);
        let items: Vec<(PathBuf, Reason, u64)> = plan
            .items
            .iter()
            .map(|i| {
                (
                    i.path.strip_prefix(root).unwrap().to_path_buf(),
                    i.reason,
                    i.bytes,
                )
            })
            .collect();
        assert_eq!(
            items,
            [
                (PathBuf::from("p/runs/gone.lock"), Reason::StaleLock, 0),
                (PathBuf::from("p/runs/live/.tmpOLD123"), Reason::TempFile, 8),
            ]
        );
        assert_eq!(plan.skipped.len(), 1);
        assert!(plan.skipped[0].0.ends_with(".tmpYOUNG"));
        let outcome = apply(&plan);
        assert_eq!((outcome.deleted, outcome.freed), (2, 8));
        assert!(!old.exists() && !root.join("p/runs/gone.lock").exists());
        assert!(root.join("p/runs/live.lock").exists());
    }

    #[test]
    fn a_held_lock_keeps_its_folder() {
        let dir = tempfile::tempdir().unwrap();
        let node = dir.path().join("runs/abc");
        std::fs::create_dir_all(&node).unwrap();
        let held = NodeLock::acquire(&node, || {}).unwrap();
        assert!(!delete_node_dir(&node).unwrap());
        assert!(node.exists());
        drop(held);
        assert!(delete_node_dir(&node).unwrap());
        assert!(!node.exists() && !NodeLock::path_for(&node).exists());
    }
}
