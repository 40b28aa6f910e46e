//! What the engine knows of a node's work: [`NodeWork`], implemented one layer
//! up (datasets, training, evaluation, the report), and [`run_job`], the one
//! place that runs a job under its node lock and commits it with DONE. Local
//! worker threads and `runner node` (a batch job) both go through it.

use std::path::Path;

use super::job::JobSpec;
use super::lock::NodeLock;
use super::plan::Plan;
use super::store::{
    check_done, clear_done, remove_temporaries, write_done, write_failure, Depth, Store,
};
use crate::progress::Progress;

/// Why a node's work did not finish.
#[derive(Debug, Clone, PartialEq)]
pub enum WorkError {
    /// It failed (a diverging loss, an I/O error, a panic).
    Failed(String),
    /// The user's input is wrong (a missing or malformed data file, a device
    /// that does not exist here).
    Input(String),
    /// A stop was asked for and the work saved what it had: a re-run (or a
    /// resubmitted job) continues from there. `step`: a training node's saved
    /// steps.
    Stopped {
        /// What was saved.
        message: String,
        /// Steps completed and saved (training only).
        step: Option<u64>,
    },
}

/// Which device a node asks for, so that an executor can hand out GPUs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceNeed {
    /// It runs on the CPU.
    Cpu,
    /// Any one GPU.
    AnyGpu,
    /// This GPU.
    Gpu(usize),
}

/// What the work of one node gets besides its job.
#[derive(Clone)]
pub struct NodeContext {
    /// Where to print.
    pub progress: Progress,
    /// The GPU an executor assigned to this node, if any.
    pub gpu: Option<usize>,
    /// Recompute even when DONE is there.
    pub force: bool,
    /// CPU threads a node may use when its config does not say: the cores this
    /// process may use divided among the nodes that run at once.
    pub cpu_threads: usize,
    /// Wait when another process holds the node's lock; otherwise give up at
    /// once with [`Outcome::Busy`], so that the executor runs other nodes.
    pub wait_for_lock: bool,
}

/// The cores this process may use (its CPU affinity, e.g. a Slurm job's
/// allocation), at least 1.
pub fn usable_cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Each of `nodes` nodes running at once gets this many of the usable cores.
pub fn cores_per_node(nodes: usize) -> usize {
    (usable_cores() / nodes.max(1)).max(1)
}

/// What each node kind computes. The engine calls it and knows nothing else of
/// datasets, networks or reports.
pub trait NodeWork: Send + Sync {
    /// Checks the user's input files of `job` before anything is written.
    fn check_inputs(&self, job: &JobSpec) -> Result<(), String>;

    /// The device `job` asks for on this machine.
    fn device_need(&self, job: &JobSpec) -> DeviceNeed;

    /// Computes `job` into `dir` (which exists) and returns the files it wrote
    /// there (relative paths), whose sizes and hashes DONE records. Called under
    /// the node lock, after DONE and stale temporary files were removed; DONE is
    /// written by the caller on success.
    fn run(&self, job: &JobSpec, dir: &Path, ctx: &NodeContext) -> Result<Vec<String>, WorkError>;

    /// Writes the pipeline's report from the results known so far
    /// (`outcomes[i]`: `Some(true)` when node `i` has a result, `None` when
    /// this run left it out, `--only`); returns warnings (plots that could not
    /// be drawn).
    fn report(&self, plan: &Plan, outcomes: &[Option<bool>]) -> Result<Vec<String>, String>;
}

/// How one node ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Computed now.
    Ran,
    /// Found complete (another runner or job finished it meanwhile).
    AlreadyDone,
    /// Failed; the message says why.
    Failed(String),
    /// Bad input: the whole run stops (exit code 2).
    InputError(String),
    /// Another process holds its lock (and computes it); nothing was done.
    /// The scheduler runs other nodes and comes back to it.
    Busy,
    /// Stopped on request; what it had is saved.
    Stopped {
        /// What was saved.
        message: String,
        /// Steps completed and saved (training only).
        step: Option<u64>,
    },
}

impl Outcome {
    /// Whether the node's result is there.
    pub fn succeeded(&self) -> bool {
        matches!(self, Outcome::Ran | Outcome::AlreadyDone)
    }
}

/// The message of a caught panic.
pub fn panic_text(panic: &(dyn std::any::Any + Send)) -> String {
    let message = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("no message");
    format!("internal error (panic): {message}")
}

/// Runs `job` with `work` under its node lock: waits for another process that
/// holds the lock (or, unless `ctx.wait_for_lock`, returns [`Outcome::Busy`]), skips a node that is complete (unless `ctx.force`), removes
/// DONE and the temporary files a killed process left, runs the work and writes
/// DONE last, with the size and hash of every file the work wrote. A panic in the work (e.g. a GPU out
/// of memory inside a backend) fails this node only.
pub fn run_job(job: &JobSpec, store: &Store, work: &dyn NodeWork, ctx: &NodeContext) -> Outcome {
    let dir = job.dir(store);
    let lock = if ctx.wait_for_lock {
        NodeLock::acquire(&dir, || {
            ctx.progress
                .println(format!("waiting for another runner on {}", job.describe()))
        })
        .map(Some)
    } else {
        NodeLock::try_acquire(&dir)
    };
    let _lock = match lock {
        Ok(Some(lock)) => lock,
        Ok(None) => return Outcome::Busy,
        Err(e) => return Outcome::Failed(format!("{e:#}")),
    };
    // Another runner may have finished it meanwhile; a DONE whose files were
    // altered (why the plan made it stale) is recomputed.
    if !ctx.force && check_done(&dir, &job.key, Depth::Hashes).is_ok() {
        return Outcome::AlreadyDone;
    }
    let prepared = clear_done(&dir)
        .map_err(|e| format!("clearing DONE in {}: {e}", dir.display()))
        .and_then(|()| {
            remove_temporaries(&dir)
                .map_err(|e| format!("removing temporary files in {}: {e}", dir.display()))
        })
        .and_then(|()| {
            std::fs::create_dir_all(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))
        });
    if let Err(e) = prepared {
        return Outcome::Failed(e);
    }
    let result =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| work.run(job, &dir, ctx)))
            .unwrap_or_else(|panic| Err(WorkError::Failed(panic_text(panic.as_ref()))));
    match result {
        Ok(files) => match write_done(&dir, job.key, job.kind.name(), &job.config, &files) {
            Ok(()) => Outcome::Ran,
            Err(e) => Outcome::Failed(format!("writing DONE in {}: {e}", dir.display())),
        },
        Err(WorkError::Failed(e)) => {
            write_failure(&dir, &e);
            Outcome::Failed(e)
        }
        Err(WorkError::Input(e)) => Outcome::InputError(e),
        Err(WorkError::Stopped { message, step }) => Outcome::Stopped { message, step },
    }
}

#[cfg(test)]
mod tests {
    use super::panic_text;

    /// Panics carry a `&str` or a `String` (formatted) payload; both reach the
    /// failed node's message.
    #[test]
    fn caught_panics_keep_their_message() {
        let literal = std::panic::catch_unwind(|| panic!("out of memory")).unwrap_err();
        assert_eq!(
            panic_text(literal.as_ref()),
            "internal error (panic): out of memory"
        );
        let formatted = std::panic::catch_unwind(|| panic!("{} MiB", 12)).unwrap_err();
        assert!(panic_text(formatted.as_ref()).ends_with("12 MiB"));
    }
}
