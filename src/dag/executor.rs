//! Runs the nodes of a [`Plan`] that are not fresh: parents first, up to `jobs` at
//! once, each under its node lock, each committing with its DONE marker last. A
//! failed node skips its dependents while the other cells go on.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::path::Path;
use std::sync::{mpsc, Arc, Mutex};
use std::time::Instant;

use anyhow::{anyhow, Context};

use super::lock::NodeLock;
use super::plan::{NodeKind, NodeState, Plan};
use super::provenance::{unix_now, Provenance};
use super::store::{clear_done, is_done, write_done, Store};
use crate::atomic::write_atomic;
use crate::data::{self, cache, DataError, Dataset};
use crate::eval::run::evaluate;
use crate::pipeline::key::NodeKey;
use crate::pipeline::schema::DatasetSpec;
use crate::progress::Progress;
use crate::report::write_report;
use crate::train::device::{self, Device};
use crate::train::{train, TrainError};

/// How to execute a plan.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Re-run every node even when fresh.
    pub force: bool,
    /// Nodes run at once.
    pub jobs: usize,
    /// Draw progress bars (when stderr is a terminal).
    pub progress: bool,
    /// The command line that re-runs this pipeline (without cell overrides).
    pub rerun_command: String,
}

/// What happened, for the final summary and the exit code.
#[derive(Debug, Default)]
pub struct RunSummary {
    /// Nodes computed in this invocation.
    pub ran: usize,
    /// Nodes found fresh (including ones another runner finished meanwhile).
    pub fresh: usize,
    /// (node description, error, command that re-runs it).
    pub failed: Vec<(String, String, String)>,
    /// Nodes not run because a parent failed.
    pub skipped: usize,
    /// Ctrl-C was pressed.
    pub interrupted: bool,
    /// A problem with the user's input data (exit code 2).
    pub input_error: Option<String>,
}

/// How one node ended.
enum Outcome {
    Ran,
    AlreadyDone,
    Failed(String),
    Interrupted,
    InputError(String),
}

/// Datasets loaded in this process, shared by the nodes that need them.
#[derive(Default)]
struct DatasetMemo {
    loaded: Mutex<HashMap<NodeKey, Arc<Dataset>>>,
}

impl DatasetMemo {
    /// Keeps `ds` in memory under `key` and returns the shared copy.
    fn remember(&self, key: NodeKey, ds: Dataset) -> Arc<Dataset> {
        let ds = Arc::new(ds);
        let mut loaded = self.loaded.lock().unwrap_or_else(|e| e.into_inner());
        loaded.insert(key, ds.clone());
        ds
    }

    /// The dataset of `key` if it is already in memory.
    fn recall(&self, key: &NodeKey) -> Option<Arc<Dataset>> {
        let loaded = self.loaded.lock().unwrap_or_else(|e| e.into_inner());
        loaded.get(key).cloned()
    }

    /// Builds `spec` into `dir` under its lock (unless another runner just did).
    fn build(
        &self,
        spec: &DatasetSpec,
        key: NodeKey,
        dir: &Path,
        config: &serde_json::Value,
        force: bool,
        progress: &Progress,
    ) -> Result<bool, DataError> {
        let io = |e: anyhow::Error| DataError::Io {
            path: dir.to_path_buf(),
            source: std::io::Error::other(format!("{e:#}")),
        };
        let _lock = NodeLock::acquire(dir, || {
            progress.println(format!(
                "waiting for another runner building dataset {}",
                key.short()
            ))
        })
        .map_err(io)?;
        if !force && is_done(dir, &key) {
            if let Ok(ds) = cache::load(dir) {
                self.remember(key, ds);
                return Ok(false);
            }
        }
        clear_done(dir).map_err(|e| io(e.into()))?;
        let ds = data::build(spec)?;
        cache::save(dir, &ds).map_err(|e| io(anyhow!(e)))?;
        write_done(dir, key, "dataset", config).map_err(|e| io(e.into()))?;
        self.remember(key, ds);
        Ok(true)
    }

    /// The dataset of `key`: from memory, else from the verified cache, else rebuilt
    /// (a truncated or altered cache entry is never used).
    fn get(
        &self,
        spec: &DatasetSpec,
        key: NodeKey,
        dir: &Path,
        config: &serde_json::Value,
        progress: &Progress,
    ) -> Result<Arc<Dataset>, DataError> {
        if let Some(ds) = self.recall(&key) {
            return Ok(ds);
        }
        match cache::load(dir) {
            Ok(ds) => return Ok(self.remember(key, ds)),
            Err(e) => progress.println(format!(
                "dataset cache {} unusable ({e}); rebuilding",
                dir.display()
            )),
        }
        self.build(spec, key, dir, config, true, progress)?;
        self.recall(&key).ok_or_else(|| DataError::Io {
            path: dir.to_path_buf(),
            source: std::io::Error::other("dataset was built but is not in memory"),
        })
    }
}

/// One line describing node `i`: kind, short key and cell label.
fn describe(plan: &Plan, i: usize) -> String {
    let node = &plan.nodes[i];
    let label = plan.node_label(i);
    let mut text = format!("{:<7} {}", node.kind.name(), node.key.short());
    if !label.is_empty() {
        let _ = write!(text, "  [{label}]");
    }
    text
}

/// The command that re-runs the cells of node `i`.
fn rerun_command(plan: &Plan, i: usize, base: &str) -> String {
    let node = &plan.nodes[i];
    let mut cmd = base.to_string();
    if node.kind != NodeKind::Report && node.cells.len() == 1 {
        for o in &plan.pipeline.cells[node.cells[0]].overrides {
            let _ = write!(cmd, " -o {o}");
        }
    }
    cmd
}

/// The provenance of train or eval node `i`, run on `device`, started at
/// `started_unix`.
fn node_provenance(plan: &Plan, i: usize, device: Device, started_unix: u64) -> Provenance {
    let node = &plan.nodes[i];
    let cell_nodes = plan.cell_nodes[node.cells[0]];
    let cfg = &plan.pipeline.cells[node.cells[0]].config;
    let mut parents = BTreeMap::new();
    parents.insert("dataset".to_string(), plan.nodes[cell_nodes.dataset].key);
    let seed = if node.kind == NodeKind::Eval {
        parents.insert("train".to_string(), plan.nodes[cell_nodes.train].key);
        cfg.eval.seed
    } else {
        cfg.train.seed
    };
    Provenance::finished_now(
        node.kind.name(),
        node.key,
        parents,
        seed,
        &device.description(),
        started_unix,
    )
}

/// Runs one node (called on a worker thread).
fn run_node(
    plan: &Plan,
    i: usize,
    store: &Store,
    memo: &DatasetMemo,
    opts: &RunOptions,
    progress: &Progress,
    outcomes: &[Option<bool>],
) -> Outcome {
    let node = &plan.nodes[i];
    let cell = &plan.pipeline.cells[node.cells[0]];
    let cfg = &cell.config;
    let data_node = &plan.nodes[plan.cell_nodes[node.cells[0]].dataset];
    let failed = |e: anyhow::Error| Outcome::Failed(format!("{e:#}"));
    match node.kind {
        NodeKind::Dataset => match memo.build(
            &cfg.dataset,
            node.key,
            &node.dir,
            &node.config,
            opts.force,
            progress,
        ) {
            Ok(true) => Outcome::Ran,
            Ok(false) => Outcome::AlreadyDone,
            Err(e @ (DataError::MissingFile { .. } | DataError::Malformed { .. })) => {
                Outcome::InputError(e.to_string())
            }
            Err(e) => Outcome::Failed(e.to_string()),
        },
        NodeKind::Train | NodeKind::Eval => {
            let lock = NodeLock::acquire(&node.dir, || {
                progress.println(format!(
                    "waiting for another runner on {}",
                    describe(plan, i)
                ))
            });
            let _lock = match lock {
                Ok(lock) => lock,
                Err(e) => return failed(e),
            };
            if !opts.force && is_done(&node.dir, &node.key) {
                return Outcome::AlreadyDone;
            }
            let data = match memo.get(
                &cfg.dataset,
                data_node.key,
                &data_node.dir,
                &data_node.config,
                progress,
            ) {
                Ok(data) => data,
                Err(e) => return Outcome::InputError(e.to_string()),
            };
            // Checked when the pipeline was loaded; resolved again for this node.
            let device = match device::resolve(cfg.train.device) {
                Ok(device) => device,
                Err(e) => return Outcome::InputError(format!("train.device: {e}")),
            };
            let started = unix_now();
            let result = (|| -> Result<(), TrainError> {
                clear_done(&node.dir).context("clearing DONE")?;
                std::fs::create_dir_all(&node.dir)
                    .with_context(|| format!("creating {}", node.dir.display()))?;
                if node.kind == NodeKind::Train {
                    let yaml = serde_saphyr::to_string(cfg)
                        .map_err(|e| anyhow!("serialising config: {e}"))?;
                    write_atomic(&node.dir.join("config.yaml"), yaml.as_bytes())
                        .context("writing config.yaml")?;
                    let label = format!("train {}", &node.key.short()[..8]);
                    train(cfg, &data.train, &node.dir, &label, progress, device)?;
                } else {
                    let run_dir = &plan.nodes[node.deps[0]].dir;
                    evaluate(cfg, &data.test, run_dir, &node.dir, device)?;
                }
                node_provenance(plan, i, device, started)
                    .write(&node.dir)
                    .context("writing provenance.json")?;
                write_done(&node.dir, node.key, node.kind.name(), &node.config)
                    .context("writing DONE")?;
                Ok(())
            })();
            match result {
                Ok(()) => Outcome::Ran,
                Err(TrainError::Interrupted) => Outcome::Interrupted,
                Err(e) => Outcome::Failed(format!("{e:#}")),
            }
        }
        NodeKind::Report => match write_report(plan, store, outcomes) {
            Ok(warnings) => {
                for warning in warnings {
                    progress.println(format!("  warning: {warning}"));
                }
                Outcome::Ran
            }
            Err(e) => failed(e),
        },
    }
}

/// The message of a caught panic.
fn panic_text(panic: &(dyn std::any::Any + Send)) -> String {
    let message = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("no message");
    format!("internal error (panic): {message}")
}

/// Checks the input files of every dataset node that will run, before anything
/// is written; the first problem is returned as a message.
pub fn check_inputs(plan: &Plan, force: bool) -> Result<(), String> {
    let to_run = plan.to_run(force);
    for (i, node) in plan.nodes.iter().enumerate() {
        if node.kind == NodeKind::Dataset && to_run[i] {
            let spec = &plan.pipeline.cells[node.cells[0]].config.dataset;
            data::check_inputs(spec).map_err(|e| e.to_string())?;
        }
    }
    Ok(())
}

/// Executes `plan`: runs every node that is not fresh (all with `force`).
pub fn execute(plan: &Plan, store: &Store, opts: &RunOptions) -> RunSummary {
    let progress = Progress::new(opts.progress);
    let to_run = plan.to_run(opts.force);
    let n = plan.nodes.len();
    // Some(true): result available; Some(false): failed or skipped; None: pending.
    let mut outcomes: Vec<Option<bool>> = (0..n).map(|i| (!to_run[i]).then_some(true)).collect();
    let mut summary = RunSummary {
        fresh: to_run.iter().filter(|r| !**r).count(),
        ..Default::default()
    };
    let total_to_run = to_run.iter().filter(|r| **r).count();
    let memo = DatasetMemo::default();
    let mut started = vec![false; n];
    let mut stop = false;
    let jobs = opts.jobs.max(1);

    std::thread::scope(|scope| {
        let (tx, rx) = mpsc::channel::<(usize, Outcome, f64)>();
        let mut running = 0usize;
        let mut finished = 0usize;
        loop {
            // Launch every ready node while there is room.
            if !stop {
                for i in 0..n {
                    if running >= jobs {
                        break;
                    }
                    if started[i] || outcomes[i].is_some() {
                        continue;
                    }
                    let node = &plan.nodes[i];
                    let deps_done = node.deps.iter().all(|&d| outcomes[d].is_some());
                    if !deps_done {
                        continue;
                    }
                    let deps_ok = node.deps.iter().all(|&d| outcomes[d] == Some(true));
                    // The report runs with whatever cells have results.
                    if !deps_ok && node.kind != NodeKind::Report {
                        outcomes[i] = Some(false);
                        summary.skipped += 1;
                        continue;
                    }
                    started[i] = true;
                    running += 1;
                    progress.println(format!(
                        "[{}/{}] {} ...",
                        finished + running,
                        total_to_run,
                        describe(plan, i)
                    ));
                    let tx = tx.clone();
                    let (memo, progress, outcomes_now) = (&memo, &progress, outcomes.clone());
                    scope.spawn(move || {
                        let start = Instant::now();
                        // A panic inside a backend (e.g. the GPU out of memory) fails
                        // this node, not the run: the others go on.
                        let outcome =
                            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                                run_node(plan, i, store, memo, opts, progress, &outcomes_now)
                            }))
                            .unwrap_or_else(|panic| Outcome::Failed(panic_text(panic.as_ref())));
                        let _ = tx.send((i, outcome, start.elapsed().as_secs_f64()));
                    });
                }
            }
            if running == 0 {
                break;
            }
            let Ok((i, outcome, secs)) = rx.recv() else {
                break;
            };
            running -= 1;
            finished += 1;
            let what = describe(plan, i);
            match outcome {
                Outcome::Ran => {
                    summary.ran += 1;
                    outcomes[i] = Some(true);
                    progress.println(format!("  done    {what} ({secs:.1}s)"));
                }
                Outcome::AlreadyDone => {
                    summary.fresh += 1;
                    outcomes[i] = Some(true);
                    progress.println(format!("  fresh   {what} (finished by another runner)"));
                }
                Outcome::Failed(err) => {
                    outcomes[i] = Some(false);
                    progress.println(format!("  FAILED  {what}: {err}"));
                    summary
                        .failed
                        .push((what, err, rerun_command(plan, i, &opts.rerun_command)));
                }
                Outcome::Interrupted => {
                    outcomes[i] = Some(false);
                    summary.interrupted = true;
                    stop = true;
                }
                Outcome::InputError(err) => {
                    outcomes[i] = Some(false);
                    summary.input_error.get_or_insert(err);
                    stop = true;
                }
            }
            if crate::interrupt::requested() {
                summary.interrupted = true;
                stop = true;
            }
        }
    });
    summary
}

/// Prints the plan (used by `--dry-run`): every node with its state and reason.
pub fn describe_plan(plan: &Plan, force: bool) -> String {
    let to_run = plan.to_run(force);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "plan for {} ({} cells, {} nodes) from {}",
        plan.pipeline.name,
        plan.pipeline.cells.len(),
        plan.nodes.len(),
        plan.pipeline.file.display()
    );
    for (i, node) in plan.nodes.iter().enumerate() {
        let state = match (&node.state, to_run[i]) {
            (NodeState::Fresh, true) if force => "forced".to_string(),
            (NodeState::Fresh, true) => "stale".to_string(),
            (state, _) => state.name().to_string(),
        };
        let _ = writeln!(out, "  {state:<8} {}", describe(plan, i));
        match &node.state {
            NodeState::Stale(reasons) => {
                for reason in reasons {
                    let _ = writeln!(out, "             changed: {reason}");
                }
            }
            NodeState::Fresh if to_run[i] && !force => {
                let _ = writeln!(out, "             an input is being recomputed");
            }
            _ => {}
        }
    }
    let count = to_run.iter().filter(|r| **r).count();
    let _ = writeln!(out, "{count} to run, {} fresh", plan.nodes.len() - count);
    out
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
